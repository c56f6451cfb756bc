use async_trait::async_trait;
use bytes::Bytes;

use crate::domain::{BBox, TagName};
use crate::ports::StoredObject;

/// One label proposed by a tagger.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub name: TagName,
    /// In [0, 1].
    pub confidence: f32,
    /// Regions the label was detected in; empty for whole-image labels.
    pub boxes: Vec<BBox>,
}

impl Prediction {
    /// A whole-image prediction (no boxes).
    pub fn new(name: TagName, confidence: f32) -> Self {
        Prediction {
            name,
            confidence,
            boxes: Vec::new(),
        }
    }
}

/// Why tagging did not produce labels.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TagError {
    /// The bytes cannot be tagged (corrupt, truncated, unsupported, too many pixels). Permanent:
    /// the job is not retried and the image is marked `failed` with this reason.
    #[error("{0}")]
    BadImage(String),
    /// A transient failure (remote service down, throttled). The job is retried with backoff.
    #[error("{0}")]
    Unavailable(String),
}

/// Image bytes → labels.
///
/// Contract:
/// - MUST return predictions with `confidence` in [0, 1], unique names, highest confidence first,
///   already filtered by the tagger's own floor / top-k settings.
/// - MUST return [`TagError::BadImage`] for input that can never be tagged, and
///   [`TagError::Unavailable`] only for failures a retry may fix. A remote tagger whose
///   credentials are refused returns `BadImage` with a reason naming the fix (retrying cannot
///   help; `retag` once the key is fixed).
/// - `tag_stored` MUST label the same image as `tag(image)`; a tagger that can read the stored
///   object itself (Rekognition from S3) MAY use `stored` instead of sending the bytes.
/// - MUST be deterministic for a given input and configuration (re-tagging is idempotent).
/// - MUST NOT block the async runtime: CPU-heavy work goes to a blocking thread.
#[async_trait]
pub trait Tagger: Send + Sync {
    /// Short name for logs and metrics ("builtin", "clarifai", ...).
    fn name(&self) -> &str;
    async fn tag(&self, image: Bytes) -> Result<Vec<Prediction>, TagError>;
    /// Like [`Tagger::tag`], with where the bytes are stored when the blob store can say
    /// ([`crate::BlobStore::stored_object`]). The tagging job calls this one.
    async fn tag_stored(
        &self,
        image: Bytes,
        stored: Option<&StoredObject>,
    ) -> Result<Vec<Prediction>, TagError> {
        let _ = stored;
        self.tag(image).await
    }
}
