//! [`JobQueue`] on an Amazon SQS FIFO queue (`[queue] type = "sqs"`): the queue of a Lambda
//! deployment, where the API function enqueues (`POST /images/{id}/retag`) and the tagging
//! function consumes through its event source mapping; `imgtag serve` workers can drain it too.
//!
//! Mapping:
//! - `enqueue` → `SendMessage`: body = the job as JSON; `MessageGroupId` = the job key (hashed
//!   when longer than SQS's 128 characters), so equal jobs run one after another, never side by
//!   side; `MessageDeduplicationId` = a fresh UUID per call, which makes the SDK's own retries
//!   of one send idempotent and absorbs nothing else.
//! - `claim(lease)` → `ReceiveMessage` of one message (short poll) with `VisibilityTimeout` =
//!   the lease rounded *up* to whole seconds (1 s to 12 h); `attempt` = its
//!   `ApproximateReceiveCount`; the claimed id = its receipt handle. A body that is not a job
//!   is deleted with an error log (it would come back after every lease otherwise).
//! - `complete` → `DeleteMessage`; `retry(delay)` → `ChangeMessageVisibility(delay)` (rounded
//!   up); `fail` → logged at `warn` with the error, then deleted: no copy is kept (the tagging
//!   job marks its image `failed` with the reason before it calls `fail`; a consumer that dies
//!   mid-job leaves the message to the queue's redrive policy and dead-letter queue).
//! - `recover` → 0: the queue is shared, leases expire on their own.
//! - `pending` → `ApproximateNumberOfMessages` + `…NotVisible` + `…Delayed`.
//!
//! Why equal jobs are not deduplicated: SQS drops a message whose deduplication id was sent in
//! the last **5 minutes**, whether that first message still waits, runs or finished long ago.
//! With the job key as the id, a second re-tag within 5 minutes of the first would be answered
//! 202 (the image marked `pending`) and then never run: the image would stay `pending` for
//! good. So every enqueue is kept (the port's "an equal waiting job absorbs the enqueue" does
//! not hold; the conformance suite runs with [`Duplicates::SerialisedByKey`]) and consumers are
//! idempotent: a tagging job re-tags the same bytes, the Lambda consumer skips an image that
//! is no longer `pending`.
//!
//! Differences from AWS's guarantees the rest of the code relies on: FIFO order holds within a
//! message group only, so "oldest first" across jobs is SQS's best effort; short polling may
//! miss a due message now and then (the worker polls again); counts are approximate for about
//! a minute; a receipt handle from an earlier receive may not delete the message (the lease had
//! expired, so another consumer owns it: that is the contract's "unknown id").
//!
//! IAM: `sqs:SendMessage` to enqueue; `sqs:ReceiveMessage`, `sqs:ChangeMessageVisibility` and
//! `sqs:DeleteMessage` to run jobs; `sqs:GetQueueAttributes` for `pending` (`GET /healthz`).
//!
//! [`Duplicates::SerialisedByKey`]: imgtag_core::testkit::queue::Duplicates

mod errors;

use std::time::Duration;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use imgtag_core::{ClaimedJob, Job, JobQueue, Result};
use sha2::{Digest, Sha256};

use errors::{is_unknown_handle, sqs_err};

/// SQS's ceiling for a visibility timeout (12 hours), in seconds.
const MAX_VISIBILITY_SECS: u64 = 43_200;
/// SQS's ceiling for a message group id, in characters.
const MAX_GROUP_ID: usize = 128;

/// Jobs in one SQS FIFO queue.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl SqsQueue {
    /// A queue over the FIFO queue at `url` (`https://sqs.<region>.amazonaws.com/<account>/<name>.fifo`).
    pub fn new(config: &SdkConfig, url: impl Into<String>) -> Self {
        SqsQueue {
            client: aws_sdk_sqs::Client::new(config),
            url: url.into(),
        }
    }

    /// Creates (or finds) the FIFO queue `name` (`.fifo` is appended when missing) with
    /// explicit deduplication ids, for tests and hand-made setups; deployments create it in
    /// their template.
    pub async fn create_fifo(config: &SdkConfig, name: &str) -> Result<Self> {
        let client = aws_sdk_sqs::Client::new(config);
        let name = if name.ends_with(".fifo") {
            name.to_string()
        } else {
            format!("{name}.fifo")
        };
        let out = client
            .create_queue()
            .queue_name(name)
            .attributes(QueueAttributeName::FifoQueue, "true")
            .attributes(QueueAttributeName::ContentBasedDeduplication, "false")
            .send()
            .await
            .map_err(|e| sqs_err("CreateQueue", e))?;
        let url = out
            .queue_url()
            .ok_or_else(|| imgtag_core::Error::Internal("CreateQueue: no queue URL".into()))?;
        Ok(SqsQueue {
            url: url.to_string(),
            client,
        })
    }

    /// The queue's URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// Whole seconds, rounded up (a lease shorter than asked would hand a job out twice), capped
/// at SQS's maximum.
fn whole_secs(d: Duration) -> i32 {
    let secs = d.as_millis().div_ceil(1000) as u64;
    secs.min(MAX_VISIBILITY_SECS) as i32
}

/// The message group of a job: its key, or the key's SHA-256 when the key is too long.
fn group_id(job: &Job) -> String {
    let key = job.key();
    if key.len() <= MAX_GROUP_ID {
        key
    } else {
        hex::encode(Sha256::digest(key.as_bytes()))
    }
}

#[async_trait]
impl JobQueue for SqsQueue {
    #[tracing::instrument(skip_all, fields(job = %job.key()), err)]
    async fn enqueue(&self, job: &Job) -> Result<()> {
        let body = serde_json::to_string(job)
            .map_err(|e| imgtag_core::Error::Internal(format!("serialising a job: {e}")))?;
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .message_group_id(group_id(job))
            .message_deduplication_id(uuid::Uuid::new_v4().simple().to_string())
            .send()
            .await
            .map_err(|e| sqs_err("SendMessage", e))?;
        Ok(())
    }

    async fn claim(&self, lease: Duration) -> Result<Option<ClaimedJob>> {
        let visibility = whole_secs(lease).max(1);
        loop {
            let out = self
                .client
                .receive_message()
                .queue_url(&self.url)
                .max_number_of_messages(1)
                .wait_time_seconds(0)
                .visibility_timeout(visibility)
                .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
                .send()
                .await
                .map_err(|e| sqs_err("ReceiveMessage", e))?;
            let Some(msg) = out.messages.unwrap_or_default().into_iter().next() else {
                return Ok(None);
            };
            let Some(handle) = msg.receipt_handle().map(str::to_string) else {
                return Err(imgtag_core::Error::Internal(
                    "ReceiveMessage: a message without a receipt handle".into(),
                ));
            };
            let attempt = msg
                .attributes()
                .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                .and_then(|n| n.parse().ok())
                .unwrap_or(1);
            let body = msg.body().unwrap_or_default();
            match serde_json::from_str::<Job>(body) {
                Ok(job) => {
                    return Ok(Some(ClaimedJob {
                        id: handle,
                        job,
                        attempt,
                    }))
                }
                Err(e) => {
                    let head: String = body.chars().take(200).collect();
                    tracing::error!(error = %e, body = %head, "not a job; deleting the message");
                    self.complete(&handle).await?;
                }
            }
        }
    }

    async fn complete(&self, id: &str) -> Result<()> {
        if id.is_empty() {
            return Ok(());
        }
        match self
            .client
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_unknown_handle(&e) => Ok(()),
            Err(e) => Err(sqs_err("DeleteMessage", e)),
        }
    }

    async fn retry(&self, id: &str, delay: Duration, error: &str) -> Result<()> {
        if id.is_empty() {
            return Ok(());
        }
        tracing::debug!(%error, ?delay, "job due again later");
        match self
            .client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(id)
            .visibility_timeout(whole_secs(delay))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_unknown_handle(&e) => Ok(()),
            Err(e) => Err(sqs_err("ChangeMessageVisibility", e)),
        }
    }

    async fn fail(&self, id: &str, error: &str) -> Result<()> {
        if id.is_empty() {
            return Ok(());
        }
        tracing::warn!(%error, "job failed for good; removing it from the queue");
        self.complete(id).await
    }

    async fn recover(&self) -> Result<u64> {
        Ok(0)
    }

    async fn pending(&self) -> Result<u64> {
        let names = [
            QueueAttributeName::ApproximateNumberOfMessages,
            QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
            QueueAttributeName::ApproximateNumberOfMessagesDelayed,
        ];
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(&self.url)
            .set_attribute_names(Some(names.to_vec()))
            .send()
            .await
            .map_err(|e| sqs_err("GetQueueAttributes", e))?;
        let attrs = out.attributes.unwrap_or_default();
        Ok(names
            .iter()
            .filter_map(|n| attrs.get(n)?.parse::<u64>().ok())
            .sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imgtag_core::{ImageId, Owner};

    #[test]
    fn leases_round_up_to_whole_seconds_within_sqs_limits() {
        assert_eq!(whole_secs(Duration::ZERO), 0);
        assert_eq!(whole_secs(Duration::from_millis(1)), 1);
        assert_eq!(whole_secs(Duration::from_millis(1000)), 1);
        assert_eq!(whole_secs(Duration::from_millis(1001)), 2);
        assert_eq!(whole_secs(Duration::from_secs(86_400)), 43_200);
    }

    #[test]
    fn group_ids_fit_sqs() {
        let short = Job::TagImage {
            owner: Owner::parse("alice").unwrap(),
            image: ImageId::new(),
        };
        assert_eq!(group_id(&short), short.key());
        let long = Job::TagImage {
            owner: Owner::parse(&"o".repeat(128)).unwrap(),
            image: ImageId::new(),
        };
        let g = group_id(&long);
        assert_eq!(g.len(), 64);
        assert_eq!(g, group_id(&long), "stable for equal jobs");
    }
}
