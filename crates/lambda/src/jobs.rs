//! Jobs from the job queue (`[queue] type = "sqs"`, the template's `JobQueue`), delivered to
//! the tagging function by its second event source mapping. The API function enqueues them:
//! `POST /images/{id}/retag` marks the image `pending` and sends a `TagImage` job.
//!
//! - `TagImage`: tags the image if it is still `pending`, so a redelivered message (SQS is
//!   at-least-once; a batch retried after a partial failure) changes nothing. A transient
//!   failure sends the message back; on the last receive (`app.max_attempts`, the queue's
//!   `maxReceiveCount`) the image is marked `failed` with the reason instead, as for uploads.
//! - `IngestUpload`: acknowledged and dropped. Here S3 `ObjectCreated` events record direct
//!   uploads (and the template turns `poll_direct_uploads` off, so the API enqueues no such
//!   job); polling storage from a Lambda function would only burn receive counts and
//!   invocations until the upload lands, and the event records it anyway.

use imgtag_core::services::App;
use imgtag_core::{BlobKey, Error, ImageId, ImageStatus, Job, Owner};

/// Runs one job delivered for the `attempt`-th time. `Err` (with the reason) when the message
/// must come back.
pub(crate) async fn run(app: &App, job: Job, attempt: u32) -> Result<(), String> {
    match job {
        Job::TagImage { owner, image } => tag(app, &owner, &image, attempt).await,
        Job::IngestUpload { owner, image, .. } => {
            tracing::info!(%owner, %image, "upload watch dropped: S3 events record uploads here");
            Ok(())
        }
    }
}

async fn tag(app: &App, owner: &Owner, id: &ImageId, attempt: u32) -> Result<(), String> {
    let error = match tag_if_pending(app, owner, id).await {
        Ok(()) => return Ok(()),
        Err(e) => e.to_string(),
    };
    if attempt < app.settings.max_attempts {
        return Err(format!("{owner}/{id}: {error}"));
    }
    // Marking failed is the outcome of the last attempt; if even that fails, the message must
    // come back (and then goes to the dead-letter queue).
    app.give_up_event(&BlobKey::for_image(owner, id), attempt, &error)
        .await
        .map(drop)
        .map_err(|e| format!("{owner}/{id}: {error}; marking it failed: {e}"))
}

async fn tag_if_pending(app: &App, owner: &Owner, id: &ImageId) -> Result<(), Error> {
    match app.catalog.get_image(owner, id).await? {
        None => tracing::info!(%owner, image = %id, "image deleted before it was tagged"),
        Some(img) if img.status != ImageStatus::Pending => {
            // Tagged by an earlier delivery of this message (or failed for good since).
            tracing::info!(%owner, image = %id, status = ?img.status, "not pending; skipped");
        }
        Some(_) => {
            let outcome = app.tag_image(owner, id).await?;
            tracing::info!(%owner, image = %id, ?outcome, "tagging job done");
        }
    }
    Ok(())
}
