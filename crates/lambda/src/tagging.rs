//! The tagging function: SQS batches from two queues. S3 `ObjectCreated` notifications: every
//! S3 record of every message is recorded and tagged ([`App::ingest_event`], idempotent, so a
//! redelivered message changes nothing). Jobs (a JSON [`Job`] body, from the job queue that
//! `POST /images/{id}/retag` sends to): run by [`crate::jobs`]. A message that fails
//! transiently is reported in `batchItemFailures`, so SQS redelivers only that one; on its
//! last attempt (receive count at `app.max_attempts`, the queues' `maxReceiveCount`) the image
//! is marked `failed` with the reason instead, and the message is dropped.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use imgtag_core::services::{App, EventOutcome};
use imgtag_core::{BlobKey, Job};
use lambda_runtime::{Error, LambdaEvent};

/// Handles one SQS batch; never fails as a whole, so good messages are not redelivered.
pub async fn handle(app: &App, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
    let mut response = SqsBatchResponse::default();
    for message in &event.payload.records {
        if let Err(error) = handle_message(app, message).await {
            let id = message.message_id.clone().unwrap_or_default();
            tracing::warn!(message = %id, %error, "message will be delivered again");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    Ok(response)
}

/// `Err` (with the reason) when the message must come back.
async fn handle_message(app: &App, message: &SqsMessage) -> Result<(), String> {
    let body = message.body.as_deref().unwrap_or("");
    let value: serde_json::Value =
        serde_json::from_str(body).map_err(|e| format!("not JSON: {e}"))?;
    // S3 sends this once when a notification is configured; there is nothing to ingest.
    if value.get("Event").and_then(|e| e.as_str()) == Some("s3:TestEvent") {
        return Ok(());
    }
    // Jobs are internally tagged by `type`; S3 notifications have `Records` instead.
    if value.get("type").is_some() {
        let job: Job = serde_json::from_value(value).map_err(|e| format!("not a job: {e}"))?;
        return crate::jobs::run(app, job, receive_count(message)).await;
    }
    // Only the fields read below: `aws_lambda_events::s3::S3Event` insists on fields that
    // emulators (moto) leave out, such as `userIdentity`.
    let event: S3Notification =
        serde_json::from_value(value).map_err(|e| format!("not an S3 event: {e}"))?;
    let attempt = receive_count(message);
    let last = attempt >= app.settings.max_attempts;
    let mut failed = Vec::new();
    for record in &event.records {
        let created = record.event_name.starts_with("ObjectCreated");
        let Some(raw) = Some(record.s3.object.key.as_str()).filter(|_| created) else {
            continue;
        };
        let decoded = decode_key(raw);
        // Only image uploads concern us; a stray object will never become one, so retrying
        // would only fill the dead-letter queue.
        let Some(key) = BlobKey::parse(&decoded)
            .ok()
            .filter(|k| k.image_parts().is_some())
        else {
            tracing::info!(key = %decoded, "not an image upload key; skipped");
            continue;
        };
        let error = match app.ingest_event(&key).await {
            Ok(EventOutcome::Missing) => "the uploaded object is missing".to_string(),
            Ok(outcome) => {
                tracing::info!(key = %key.as_str(), ?outcome, "upload event handled");
                continue;
            }
            Err(e) => e.to_string(),
        };
        if last {
            // Marking failed is the outcome of the last attempt; if even that fails, the
            // message must come back (and then goes to the dead-letter queue).
            app.give_up_event(&key, attempt, &error)
                .await
                .map_err(|e| format!("{}: {error}; marking it failed: {e}", key.as_str()))?;
        } else {
            failed.push(format!("{}: {error}", key.as_str()));
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("; "))
    }
}

#[derive(serde::Deserialize)]
struct S3Notification {
    #[serde(rename = "Records", default)]
    records: Vec<S3Record>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct S3Record {
    #[serde(default)]
    event_name: String,
    s3: S3Entity,
}

#[derive(serde::Deserialize)]
struct S3Entity {
    object: S3Object,
}

#[derive(serde::Deserialize)]
struct S3Object {
    key: String,
}

/// SQS's `ApproximateReceiveCount`: 1 on the first delivery.
fn receive_count(message: &SqsMessage) -> u32 {
    message
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
}

/// S3 notification keys are URL-encoded form values: `+` is a space, `%XX` a byte (moto
/// encodes `/` too).
pub fn decode_key(raw: &str) -> String {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::decode_key;

    #[test]
    fn keys_are_url_decoded() {
        assert_eq!(decode_key("images%2Fu-1%2Fabc"), "images/u-1/abc");
        assert_eq!(decode_key("a+b%2Bc"), "a b+c");
        assert_eq!(decode_key("images/u/x"), "images/u/x");
    }
}
