//! Services: the application's use cases, written against the ports only. [`App`] is the one
//! value handlers, workers and Lambda functions share.

mod admin;
mod images;
mod ingest;
mod inspect;
mod labels;
mod tagging;
mod upload;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::ports::{Accounts, BlobStore, Catalog, JobQueue, Tagger, Thumbnailer};

pub use admin::Imported;
pub use images::ListParams;
pub use ingest::{EventOutcome, IngestOutcome};
pub use labels::LabelPolicy;
pub use tagging::TagOutcome;
pub use upload::{UploadLimits, UploadTicket};
pub use worker::{run_workers, JobRun, Shutdown};

/// Behaviour knobs of the services (not of any adapter).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Largest accepted upload, in bytes.
    pub max_upload_bytes: u64,
    /// How long a pre-signed upload stays valid, in seconds.
    pub upload_ttl_secs: u64,
    /// How long `fileUrl` links stay valid, in seconds.
    pub url_ttl_secs: u64,
    /// Attempts per tagging job before the image is marked `failed`.
    pub max_attempts: u32,
    /// First retry delay in milliseconds; doubles with each attempt.
    pub retry_base_ms: u64,
    /// How long a claimed job is reserved for its worker, in seconds.
    pub job_lease_secs: u64,
    /// Renames and drops applied to every tagger's labels.
    pub labels: LabelPolicy,
    /// When uploads go straight to storage (S3), a worker polls for each signed upload and
    /// records it once it lands. Turn off where S3 event notifications call `ingest_upload`.
    pub poll_direct_uploads: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_upload_bytes: 20 * 1024 * 1024,
            upload_ttl_secs: 300,
            url_ttl_secs: 900,
            max_attempts: 5,
            retry_base_ms: 1000,
            job_lease_secs: 120,
            labels: LabelPolicy::default(),
            poll_direct_uploads: true,
        }
    }
}

impl Settings {
    pub fn upload_ttl(&self) -> Duration {
        Duration::from_secs(self.upload_ttl_secs)
    }
    pub fn url_ttl(&self) -> Duration {
        Duration::from_secs(self.url_ttl_secs)
    }
}

/// The application: ports plus settings. Cheap to clone.
#[derive(Clone)]
pub struct App {
    pub catalog: Arc<dyn Catalog>,
    pub blobs: Arc<dyn BlobStore>,
    pub queue: Arc<dyn JobQueue>,
    pub tagger: Arc<dyn Tagger>,
    pub accounts: Arc<dyn Accounts>,
    pub settings: Arc<Settings>,
    /// Makes thumbnails while tagging; without one, images have no `thumbnailUrl`.
    pub thumbnailer: Option<Arc<dyn Thumbnailer>>,
    /// Wakes idle workers when a job is enqueued, so tagging starts at once.
    pub(crate) wake: Arc<tokio::sync::Notify>,
}

impl App {
    pub fn new(
        catalog: Arc<dyn Catalog>,
        blobs: Arc<dyn BlobStore>,
        queue: Arc<dyn JobQueue>,
        tagger: Arc<dyn Tagger>,
        accounts: Arc<dyn Accounts>,
        settings: Settings,
    ) -> Self {
        App {
            catalog,
            blobs,
            queue,
            tagger,
            accounts,
            settings: Arc::new(settings),
            thumbnailer: None,
            wake: Arc::new(tokio::sync::Notify::new()),
        }
    }

    /// Adds thumbnail generation to the tagging job.
    pub fn with_thumbnailer(mut self, thumbnailer: Arc<dyn Thumbnailer>) -> Self {
        self.thumbnailer = Some(thumbnailer);
        self
    }
}
