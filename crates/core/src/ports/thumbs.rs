use async_trait::async_trait;
use bytes::Bytes;

use crate::domain::{ImageId, Owner};
use crate::ports::BlobKey;

/// Long sides, in pixels, of the thumbnails made for every tagged image. The first is the
/// gallery's `thumbnailUrl`, the second the detail view's `previewUrl`.
pub const THUMB_SIZES: [u32; 2] = [256, 1024];

/// Blob key of an image's thumbnail: `thumbs/<owner>/<id>/<size>.jpg`.
pub fn thumb_key(owner: &Owner, id: &ImageId, size: u32) -> BlobKey {
    BlobKey::parse(&format!("thumbs/{owner}/{id}/{size}.jpg")).expect("owner and id are key-safe")
}

/// The owner and image of a [`thumb_key`], `None` for any other key.
pub fn parse_thumb_key(key: &BlobKey) -> Option<(Owner, ImageId)> {
    let mut parts = key.as_str().strip_prefix("thumbs/")?.split('/');
    let (owner, id, file) = (parts.next()?, parts.next()?, parts.next()?);
    let size: u32 = file.strip_suffix(".jpg")?.parse().ok()?;
    if parts.next().is_some() || !THUMB_SIZES.contains(&size) {
        return None;
    }
    Some((Owner::parse(owner).ok()?, ImageId::parse(id).ok()?))
}

/// Makes downscaled JPEG copies of an image.
///
/// Contract:
/// - `thumbnail` MUST apply the EXIF orientation, keep the aspect ratio, make the long side
///   `max_side` pixels or the original's, whichever is smaller (never upscale), and return
///   `image/jpeg` bytes.
/// - It MUST return `Err(reason)` for bytes it cannot decode, never panic; callers treat a
///   failure as "no thumbnail", not as a failed image.
#[async_trait]
pub trait Thumbnailer: Send + Sync {
    async fn thumbnail(&self, image: Bytes, max_side: u32) -> Result<Bytes, String>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumb_keys_parse_back_and_nothing_else_does() {
        let owner = Owner::parse("alice_1").unwrap();
        let id = ImageId::new();
        for size in THUMB_SIZES {
            assert_eq!(
                parse_thumb_key(&thumb_key(&owner, &id, size)),
                Some((owner.clone(), id.clone()))
            );
        }
        for other in [
            format!("images/{owner}/{id}"),
            format!("thumbs/{owner}/{id}/99.jpg"),
            format!("thumbs/{owner}/{id}/256.png"),
            format!("thumbs/{owner}/{id}/256.jpg/x"),
            format!("thumbs/{owner}/not-an-id/256.jpg"),
        ] {
            assert_eq!(
                parse_thumb_key(&BlobKey::parse(&other).unwrap()),
                None,
                "{other}"
            );
        }
    }
}
