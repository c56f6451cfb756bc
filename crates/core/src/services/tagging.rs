//! The `tag_image` job: blob → tagger → catalog.

use super::App;
use crate::domain::{ImageId, Owner};
use crate::error::{Error, Result};
use crate::ports::{bytes_stream, thumb_key, TagError, THUMB_SIZES};
use bytes::Bytes;

/// What one run of the tagging job did.
#[derive(Debug, Clone, PartialEq)]
pub enum TagOutcome {
    /// Labels stored; the count of auto labels.
    Tagged(usize),
    /// Marked `failed` permanently with this reason.
    Failed(String),
    /// The image was deleted meanwhile; nothing to do.
    Gone,
}

impl App {
    /// Tags one image. Idempotent: running it twice stores the same labels. `Err` means a
    /// transient failure that a retry may fix.
    #[tracing::instrument(skip_all, fields(owner = %owner, image = %id), err)]
    pub async fn tag_image(&self, owner: &Owner, id: &ImageId) -> Result<TagOutcome> {
        let Some(image) = self.catalog.get_image(owner, id).await? else {
            return Ok(TagOutcome::Gone);
        };
        let bytes = match self.blobs.get(&image.blob_key).await {
            Ok(b) => b,
            Err(Error::NotFound(_)) => {
                return self
                    .fail_permanently(owner, id, "the stored file is missing")
                    .await
            }
            Err(e) => return Err(e),
        };
        // Lets a tagger that reads the bucket itself (Rekognition) skip sending the bytes.
        let stored = self.blobs.stored_object(&image.blob_key);
        match self.tagger.tag_stored(bytes.clone(), stored.as_ref()).await {
            Ok(predictions) => {
                // Before the labels: once an image reads `tagged`, its thumbnails exist.
                self.make_thumbnails(owner, id, &bytes).await?;
                let labels = self.settings.labels.apply(&predictions);
                if self.catalog.set_auto_labels(owner, id, &labels).await? {
                    tracing::info!(labels = labels.len(), tagger = self.tagger.name(), "tagged");
                    Ok(TagOutcome::Tagged(labels.len()))
                } else {
                    // Deleted while we worked: its delete already ran, so drop what we made.
                    self.delete_thumbnails(owner, id).await?;
                    Ok(TagOutcome::Gone)
                }
            }
            Err(TagError::BadImage(reason)) => self.fail_permanently(owner, id, &reason).await,
            Err(TagError::Unavailable(reason)) => Err(Error::Unavailable(reason)),
        }
    }

    /// Stores one thumbnail per [`THUMB_SIZES`] entry. A thumbnail that cannot be made is
    /// logged and skipped (the original still shows); a store failure is transient (`Err`).
    async fn make_thumbnails(&self, owner: &Owner, id: &ImageId, bytes: &Bytes) -> Result<()> {
        let Some(thumbnailer) = &self.thumbnailer else {
            return Ok(());
        };
        for size in THUMB_SIZES {
            let key = thumb_key(owner, id, size);
            // Made once: a retried job does not redo finished thumbnails.
            if self.blobs.exists(&key).await? {
                continue;
            }
            match thumbnailer.thumbnail(bytes.clone(), size).await {
                Ok(jpeg) => {
                    self.blobs.put(&key, bytes_stream(jpeg)).await?;
                }
                Err(reason) => {
                    tracing::warn!(%reason, size, "no thumbnail");
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    pub(crate) async fn delete_thumbnails(&self, owner: &Owner, id: &ImageId) -> Result<()> {
        for size in THUMB_SIZES {
            self.blobs.delete(&thumb_key(owner, id, size)).await?;
        }
        Ok(())
    }

    async fn fail_permanently(
        &self,
        owner: &Owner,
        id: &ImageId,
        reason: &str,
    ) -> Result<TagOutcome> {
        tracing::warn!(%reason, "tagging failed permanently");
        if self.catalog.mark_failed(owner, id, reason).await? {
            Ok(TagOutcome::Failed(reason.to_string()))
        } else {
            Ok(TagOutcome::Gone)
        }
    }
}
