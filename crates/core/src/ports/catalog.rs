use async_trait::async_trait;
use base64::Engine;
use chrono::{DateTime, Utc};

use crate::domain::{Image, ImageId, Label, Owner, TagName};
use crate::error::{Error, Result};
use crate::BlobKey;

/// A newly uploaded image, before tagging.
#[derive(Debug, Clone)]
pub struct NewImage {
    pub id: ImageId,
    pub owner: Owner,
    pub name: String,
    pub blob_key: BlobKey,
    pub content_type: String,
    pub size: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub sha256: String,
    pub created_at: DateTime<Utc>,
}

/// Position after the last image of a page. Opaque to clients (base64url of the image id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(pub ImageId);

impl Cursor {
    pub fn encode(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("v1:{}", self.0))
    }
    pub fn decode(s: &str) -> Result<Self> {
        let bad = || Error::invalid("invalid-cursor", "invalid cursor");
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| bad())?;
        let raw = String::from_utf8(raw).map_err(|_| bad())?;
        let id = raw.strip_prefix("v1:").ok_or_else(bad)?;
        Ok(Cursor(ImageId::parse(id).map_err(|_| bad())?))
    }
}

/// A filtered, paged listing of one owner's images, newest first.
#[derive(Debug, Clone, Default)]
pub struct ImageQuery {
    /// Every one of these tags must be on the image.
    pub all_tags: Vec<TagName>,
    /// At least one of these tags must be on the image (ignored when empty).
    pub any_tags: Vec<TagName>,
    /// None of these tags may be on the image.
    pub not_tags: Vec<TagName>,
    /// Labels below this confidence do not count for `all_tags` / `any_tags`.
    pub min_confidence: Option<f32>,
    /// 1..=1000.
    pub limit: usize,
    /// Start after this image (exclusive).
    pub after: Option<Cursor>,
}

impl ImageQuery {
    /// Most tags one query may name: keeps the generated query (and its cost) bounded.
    pub const MAX_TAGS: usize = 100;

    /// Rejects a query outside the contract (`invalid-limit`, `too-many-tags`,
    /// `invalid-confidence`); every catalog checks it before touching its store.
    pub fn check(&self) -> Result<()> {
        if !(1..=1000).contains(&self.limit) {
            return Err(Error::invalid(
                "invalid-limit",
                "limit must be between 1 and 1000",
            ));
        }
        if self.all_tags.len() + self.any_tags.len() + self.not_tags.len() > Self::MAX_TAGS {
            return Err(Error::invalid(
                "too-many-tags",
                format!("at most {} tags per query", Self::MAX_TAGS),
            ));
        }
        if self
            .min_confidence
            .is_some_and(|c| !(0.0..=1.0).contains(&c))
        {
            return Err(Error::invalid(
                "invalid-confidence",
                "minConfidence must be between 0 and 1",
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub struct Page {
    pub images: Vec<Image>,
    /// Present when more images may follow.
    pub next: Option<Cursor>,
}

/// A tag and the number of the owner's images that carry it.
#[derive(Debug, Clone, PartialEq)]
pub struct TagCount {
    pub name: TagName,
    pub count: u64,
}

/// The index of images and their labels.
///
/// Contract (checked by `testkit::catalog`):
/// - Every method is scoped to `owner`: another owner's image behaves exactly like an absent one.
/// - `upsert_image` inserts, or for an existing (owner, id) replaces the file metadata, sets the
///   status back to `pending`, clears the failure reason and drops `auto` labels (manual ones
///   stay). Ids are unique across owners: an id held by another owner MUST give `Conflict`.
/// - `set_auto_labels` atomically replaces the image's `auto` labels with `labels` (a name that
///   has a `manual` label keeps the manual one), sets status `tagged`; calling it twice with the
///   same labels gives the same state. Returns `false` if the image does not exist.
/// - `mark_failed` / `mark_pending` set the status (and reason); `false` if absent.
/// - `add_manual_label` adds or upgrades a label to `manual` with confidence 1.0; `remove_label`
///   removes the label whatever its source. Both return `false` if the image does not exist.
/// - `delete_image` removes the image and its labels; `false` if absent.
/// - `find_by_sha256` returns one of the owner's images with that content hash (lower-case
///   hex), if any; the newest when there are several.
/// - `list_images` returns images newest first (id descending), at most `limit`, `next` set iff
///   more images match after the last one returned.
/// - `tag_counts` counts, per tag, the owner's images carrying it, exactly, at all times (no tag
///   with count 0 is ever returned), ordered by count descending then name ascending; `prefix`
///   filters names starting with it.
/// - `put_record` (`imgtag migrate`) stores a complete image as is: same id, owner, file
///   metadata, status and failure reason, `created_at` and `updated_at` (to the millisecond at
///   least), and every label with its source, confidence and boxes, in one atomic write that
///   moves tag counts with it. Returns `true` when stored, `false` when the owner already has an
///   image with that id (nothing is changed, so a re-run is harmless); an id held by another
///   owner MUST give `Conflict`. The default gives `Invalid` code `unsupported`.
/// - `version`, when `Some`, is a number that differs after every write to the owner's images
///   or labels (by any process sharing the store) from what it was before, so an answer
///   computed after reading version `v` may be reused while `version` still returns `v`.
///   Another owner's writes may move it too. `None` (the default): the adapter cannot tell,
///   and callers must not reuse answers.
#[async_trait]
pub trait Catalog: Send + Sync {
    async fn upsert_image(&self, image: &NewImage) -> Result<()>;
    async fn get_image(&self, owner: &Owner, id: &ImageId) -> Result<Option<Image>>;
    async fn delete_image(&self, owner: &Owner, id: &ImageId) -> Result<bool>;
    async fn list_images(&self, owner: &Owner, query: &ImageQuery) -> Result<Page>;
    async fn set_auto_labels(&self, owner: &Owner, id: &ImageId, labels: &[Label]) -> Result<bool>;
    async fn mark_failed(&self, owner: &Owner, id: &ImageId, reason: &str) -> Result<bool>;
    async fn mark_pending(&self, owner: &Owner, id: &ImageId) -> Result<bool>;
    async fn add_manual_label(&self, owner: &Owner, id: &ImageId, tag: &TagName) -> Result<bool>;
    async fn remove_label(&self, owner: &Owner, id: &ImageId, tag: &TagName) -> Result<bool>;
    async fn find_by_sha256(&self, owner: &Owner, sha256: &str) -> Result<Option<Image>>;
    async fn tag_counts(
        &self,
        owner: &Owner,
        prefix: Option<&str>,
        limit: usize,
    ) -> Result<Vec<TagCount>>;
    async fn put_record(&self, image: &Image) -> Result<bool> {
        let _ = image;
        Err(Error::invalid(
            "unsupported",
            "this catalog backend cannot import images as they are",
        ))
    }
    async fn version(&self, owner: &Owner) -> Result<Option<u64>> {
        let _ = owner;
        Ok(None)
    }
    /// Bulk form of `put_record` (`bench/catalog`, large imports): stores each image as
    /// `put_record` would and returns how many were stored. Adapters may write a batch in one
    /// transaction; after an error, a re-run skips what was stored.
    async fn put_records(&self, images: &[Image]) -> Result<usize> {
        let mut stored = 0;
        for img in images {
            stored += usize::from(self.put_record(img).await?);
        }
        Ok(stored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = Cursor(ImageId::new());
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        for bad in ["", "!!", "djE6Li4vZXRj", "bm9wZQ"] {
            assert!(Cursor::decode(bad).is_err(), "{bad:?} accepted");
        }
    }
}
