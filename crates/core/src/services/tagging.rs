//! The `tag_image` job: blob → tagger → catalog.

use super::App;
use crate::domain::{ImageId, Owner};
use crate::error::{Error, Result};
use crate::ports::TagError;

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
        match self.tagger.tag(bytes).await {
            Ok(predictions) => {
                let labels = self.settings.labels.apply(&predictions);
                if self.catalog.set_auto_labels(owner, id, &labels).await? {
                    tracing::info!(labels = labels.len(), tagger = self.tagger.name(), "tagged");
                    Ok(TagOutcome::Tagged(labels.len()))
                } else {
                    Ok(TagOutcome::Gone)
                }
            }
            Err(TagError::BadImage(reason)) => self.fail_permanently(owner, id, &reason).await,
            Err(TagError::Unavailable(reason)) => Err(Error::Unavailable(reason)),
        }
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
