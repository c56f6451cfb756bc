//! Uploads that go straight to storage (S3 pre-signed POST/PUT) never pass through
//! `accept_upload`, so the application learns of them here: `ingest_upload` reads the stored
//! object, checks it like `accept_upload` checks a body, and records it. Two things call it:
//! the `IngestUpload` job that `create_upload` enqueues (a worker polls until the object
//! exists or the upload expires), and an S3 ObjectCreated event handler. Both may run for one
//! upload; the second finds the image already recorded.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;

use super::inspect::inspect;
use super::worker::JobRun;
use super::App;
use super::TagOutcome;
use crate::domain::{Image, ImageId, ImageStatus, Owner};
use crate::error::{Error, Result};
use crate::ports::{BlobKey, ClaimedJob, Job};

/// How long after an upload's expiry it is still watched: a POST that S3 accepted just before
/// the expiry may take this long to finish on a slow link.
const GRACE: Duration = Duration::from_secs(600);
/// Polls start quick (an upload from a nearby client lands in well under a second) and slow
/// down to this.
const MAX_POLL: Duration = Duration::from_secs(5);

/// What one look at a direct upload found.
#[derive(Debug, Clone)]
pub enum IngestOutcome {
    /// Stored and valid: recorded as `pending`, tagging enqueued.
    Recorded(Box<Image>),
    /// The catalog already has the image (the other path recorded it first).
    AlreadyKnown,
    /// No object yet.
    NotYetUploaded,
    /// Not an acceptable image (type, size): the object was deleted, nothing recorded.
    Rejected(String),
}

impl App {
    /// Enqueues the watch for a direct upload of `id` that expires at `expires_at`.
    pub(super) async fn watch_upload(
        &self,
        owner: &Owner,
        id: &ImageId,
        name: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        let grace = chrono::Duration::from_std(GRACE).expect("small duration");
        self.queue
            .enqueue(&Job::IngestUpload {
                owner: owner.clone(),
                image: id.clone(),
                name: name.to_string(),
                until: expires_at + grace,
            })
            .await?;
        self.wake.notify_one();
        Ok(())
    }

    /// Records the object stored at the image key `key` if it is a valid upload. Idempotent.
    /// `Err` is a transient failure (storage or catalog unreachable).
    #[tracing::instrument(skip_all, fields(key = %key), err)]
    pub async fn ingest_upload(&self, key: &BlobKey, name: &str) -> Result<IngestOutcome> {
        self.ingest_upload_then(key, name, true).await
    }

    /// [`App::ingest_upload`]; `enqueue_tagging` false when the caller tags the image itself.
    async fn ingest_upload_then(
        &self,
        key: &BlobKey,
        name: &str,
        enqueue_tagging: bool,
    ) -> Result<IngestOutcome> {
        let (owner, id) = key
            .image_parts()
            .ok_or_else(|| Error::invalid("invalid-key", "not an image upload key"))?;
        if self.catalog.get_image(&owner, &id).await?.is_some() {
            return Ok(IngestOutcome::AlreadyKnown);
        }
        let body = match self.blobs.get_stream(key).await {
            Ok((body, _len)) => body,
            Err(Error::NotFound(_)) => return Ok(IngestOutcome::NotYetUploaded),
            Err(e) => return Err(e),
        };
        let (mut checked, report) = inspect(body, 1, self.settings.max_upload_bytes);
        let mut read_error = None;
        while let Some(chunk) = checked.next().await {
            if let Err(e) = chunk {
                read_error = Some(e);
                break;
            }
        }
        let report = std::mem::take(&mut *report.lock().expect("inspection lock"));
        if let Some(rejected) = report.rejected {
            let reason = rejected.to_string();
            tracing::warn!(%reason, "direct upload rejected; deleting it");
            self.blobs.delete(key).await?;
            return Ok(IngestOutcome::Rejected(reason));
        }
        if let Some(e) = read_error {
            return Err(Error::Unavailable(format!(
                "reading the upload failed: {e}"
            )));
        }
        let image = self
            .record_upload(key, &owner, &id, name, report, enqueue_tagging)
            .await?;
        tracing::info!("direct upload recorded");
        Ok(IngestOutcome::Recorded(Box::new(image)))
    }

    /// Runs one `IngestUpload` job: done once the upload is recorded or rejected; polled again
    /// while absent (or storage fails) until `until`, then dropped.
    pub(super) async fn run_ingest_job(
        &self,
        claimed: &ClaimedJob,
        owner: &Owner,
        id: &ImageId,
        name: &str,
        until: DateTime<Utc>,
    ) -> Result<JobRun> {
        let key = BlobKey::for_image(owner, id);
        let outcome = self.ingest_upload(&key, name).await;
        let expired = Utc::now() > until;
        let delay = poll_delay(claimed.attempt);
        match outcome {
            Ok(IngestOutcome::NotYetUploaded) if expired => {
                tracing::debug!(image = %id, "upload never arrived");
                self.queue.complete(&claimed.id).await?;
            }
            Ok(IngestOutcome::NotYetUploaded) => {
                let why = "waiting for the upload";
                self.queue.retry(&claimed.id, delay, why).await?;
                return Ok(JobRun::Retrying);
            }
            Ok(_) => self.queue.complete(&claimed.id).await?,
            Err(e) if expired => {
                let reason = format!("could not ingest the upload: {e}");
                self.queue.fail(&claimed.id, &reason).await?;
            }
            Err(e) => {
                tracing::warn!(error = %e, attempt = claimed.attempt, "ingest will be retried");
                self.queue.retry(&claimed.id, delay, &e.to_string()).await?;
                return Ok(JobRun::Retrying);
            }
        }
        Ok(JobRun::Finished)
    }
}

/// What [`App::ingest_event`] did with one stored object.
#[derive(Debug, Clone, PartialEq)]
pub enum EventOutcome {
    /// Recorded (if new) and tagged in this call, with this many auto labels.
    Tagged(usize),
    /// Already tagged or failed: a redelivered event, nothing redone.
    AlreadyDone,
    /// Tagging marked the image `failed` for good (bad image, missing file).
    Failed(String),
    /// Not an acceptable image: deleted, nothing recorded.
    Rejected(String),
    /// No such object (deleted since the event was sent): nothing recorded.
    Missing,
    /// The image was deleted while this ran.
    Gone,
}

impl App {
    /// The event-driven path (S3 `ObjectCreated` → SQS → a Lambda function, where no worker
    /// drains the job queue): records the upload if new, then tags it at once while it is
    /// `pending`. Idempotent: an image already tagged or failed is left alone. `Err` is
    /// transient: the event should be delivered again.
    #[tracing::instrument(skip_all, fields(key = %key), err)]
    pub async fn ingest_event(&self, key: &BlobKey) -> Result<EventOutcome> {
        let (owner, id) = key
            .image_parts()
            .ok_or_else(|| Error::invalid("invalid-key", "not an image upload key"))?;
        // Tagged right below (and again on a redelivered event while still `pending`): a
        // tagging job as well would only run the tagger a second time.
        match self.ingest_upload_then(key, "", false).await? {
            IngestOutcome::NotYetUploaded => return Ok(EventOutcome::Missing),
            IngestOutcome::Rejected(reason) => return Ok(EventOutcome::Rejected(reason)),
            IngestOutcome::Recorded(_) | IngestOutcome::AlreadyKnown => {}
        }
        let Some(image) = self.catalog.get_image(&owner, &id).await? else {
            return Ok(EventOutcome::Gone);
        };
        if image.status != ImageStatus::Pending {
            return Ok(EventOutcome::AlreadyDone);
        }
        Ok(match self.tag_image(&owner, &id).await? {
            TagOutcome::Tagged(n) => EventOutcome::Tagged(n),
            TagOutcome::Failed(reason) => EventOutcome::Failed(reason),
            TagOutcome::Gone => EventOutcome::Gone,
        })
    }

    /// The last delivery of an event failed with `error`: marks the image `failed` with the
    /// reason, so its owner sees why instead of a `pending` image forever. An image that is
    /// not `pending` keeps its state. `false` when nothing was marked (nothing recorded).
    pub async fn give_up_event(&self, key: &BlobKey, attempts: u32, error: &str) -> Result<bool> {
        let Some((owner, id)) = key.image_parts() else {
            return Ok(false);
        };
        match self.catalog.get_image(&owner, &id).await? {
            Some(image) if image.status == ImageStatus::Pending => {
                let reason = format!("tagging failed after {attempts} attempts: {error}");
                tracing::warn!(%reason, image = %id, "giving up on the upload event");
                self.catalog.mark_failed(&owner, &id, &reason).await
            }
            _ => Ok(false),
        }
    }
}

fn poll_delay(attempt: u32) -> Duration {
    (Duration::from_millis(250) * attempt.max(1)).min(MAX_POLL)
}

#[cfg(test)]
mod tests {
    use super::poll_delay;
    use std::time::Duration;

    #[test]
    fn polls_slow_down_to_a_ceiling() {
        assert_eq!(poll_delay(1), Duration::from_millis(250));
        assert_eq!(poll_delay(4), Duration::from_secs(1));
        assert_eq!(poll_delay(1000), Duration::from_secs(5));
    }
}
