use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{ImageId, Owner};
use crate::error::Result;

/// Work for the background workers. Serialised as JSON by queue adapters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Job {
    TagImage {
        owner: Owner,
        image: ImageId,
    },
    /// Waits for an upload that goes straight to storage (S3) and records it once it is there;
    /// given up at `until` (the upload's expiry plus a grace period).
    IngestUpload {
        owner: Owner,
        image: ImageId,
        name: String,
        until: DateTime<Utc>,
    },
}

impl Job {
    /// Jobs with the same key are the same work: enqueueing one while an equal one waits is a
    /// no-op.
    pub fn key(&self) -> String {
        match self {
            Job::TagImage { owner, image } => format!("tag:{owner}:{image}"),
            Job::IngestUpload { owner, image, .. } => format!("ingest:{owner}:{image}"),
        }
    }
}

/// A job handed to one worker until its lease expires.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub id: String,
    pub job: Job,
    /// 1 on the first attempt.
    pub attempt: u32,
}

/// A durable job queue.
///
/// Contract (checked by `testkit::queue`):
/// - `enqueue` is durable once it returns `Ok`. Enqueueing a job whose key equals a job that is
///   waiting (not yet claimed) adds nothing. (Or, where the service cannot know what waits:
///   every enqueue is kept and equal jobs run one after another, see
///   `testkit::queue::Duplicates`; job handlers are idempotent either way.)
/// - `claim` hands out the oldest due job to exactly one caller, incrementing its attempt count,
///   and leases it for `lease` (or longer: SQS rounds up to whole seconds); a job whose lease
///   expired without `complete`/`retry`/`fail` is claimable again (a crashed worker loses no
///   job). Returns `None` when no job is due.
/// - `complete` removes the job. `retry` makes it due again after `delay`. `fail` removes it from
///   the queue and records the error (dead letter). All three are no-ops on unknown ids.
/// - `recover` makes every job leased by an earlier run of this same process claimable at once
///   (a single-process queue after a restart); a queue shared by several processes relies on
///   lease expiry and returns 0.
/// - `pending` counts jobs not yet completed or failed.
#[async_trait]
pub trait JobQueue: Send + Sync {
    async fn enqueue(&self, job: &Job) -> Result<()>;
    async fn claim(&self, lease: Duration) -> Result<Option<ClaimedJob>>;
    async fn complete(&self, id: &str) -> Result<()>;
    async fn retry(&self, id: &str, delay: Duration, error: &str) -> Result<()>;
    async fn fail(&self, id: &str, error: &str) -> Result<()>;
    async fn recover(&self) -> Result<u64>;
    async fn pending(&self) -> Result<u64>;
}
