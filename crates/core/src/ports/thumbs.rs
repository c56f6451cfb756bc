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
