//! SDK errors mapped to the domain error, and the back-off used when a transaction loses a
//! race.

use std::time::Duration;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{BuildError, DisplayErrorContext, ProvideErrorMetadata, SdkError};
use imgtag_core::Error;

/// Error codes that say "try again later", not "your request is wrong".
const TRANSIENT: &[&str] = &[
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "LimitExceededException",
    "TransactionInProgressException",
];

/// Maps an SDK error: network trouble and throttling are `Unavailable` (retrying may help),
/// anything else is `Internal` (a bug, a missing table, bad credentials).
pub(super) fn sdk<E>(op: &'static str, e: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let transient = match &e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        // A 5xx without a modelled code (a proxy, an overloaded endpoint) is transient too.
        _ => {
            e.code().is_some_and(|c| TRANSIENT.contains(&c))
                || e.raw_response()
                    .is_some_and(|r| r.status().is_server_error())
        }
    };
    let msg = format!("DynamoDB {op}: {}", DisplayErrorContext(&e));
    if transient {
        Error::Unavailable(msg)
    } else {
        Error::Internal(msg)
    }
}

/// Builders only fail when a required field is missing: a bug here, not bad input.
pub(super) fn build(e: BuildError) -> Error {
    Error::Internal(format!("DynamoDB request: {e}"))
}

/// Exponential back-off with jitter between optimistic-concurrency retries.
pub(super) struct Backoff {
    attempt: u32,
}

/// Enough to ride out a burst of writers on one image or one hot tag count.
const MAX_ATTEMPTS: u32 = 12;

impl Backoff {
    pub(super) fn new() -> Self {
        Backoff { attempt: 0 }
    }

    /// Sleeps before the next attempt, or gives up with `Unavailable`.
    pub(super) async fn wait(&mut self, what: &str) -> Result<(), Error> {
        self.attempt += 1;
        if self.attempt >= MAX_ATTEMPTS {
            return Err(Error::Unavailable(format!(
                "DynamoDB: {what} kept conflicting with concurrent writes; try again"
            )));
        }
        let cap_ms = (10u64 << self.attempt.min(7)).min(1000);
        // Half fixed, half random, so racing writers spread out.
        let ms = cap_ms / 2 + jitter(cap_ms / 2 + 1);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok(())
    }
}

/// A random number below `bound`, from the std hasher's per-instance random keys (no extra
/// dependency for a few bits of jitter).
fn jitter(bound: u64) -> u64 {
    use std::hash::BuildHasher;
    let h = std::collections::hash_map::RandomState::new().hash_one(std::time::Instant::now());
    h % bound.max(1)
}
