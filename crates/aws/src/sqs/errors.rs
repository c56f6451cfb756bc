//! SDK errors mapped to the domain error, and the errors that mean "no such claimed job".

use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use imgtag_core::Error;

/// Error codes that say "try again later", not "your request is wrong".
const TRANSIENT: &[&str] = &[
    "RequestThrottled",
    "ThrottlingException",
    "ServiceUnavailable",
    "InternalError",
    "InternalFailure",
    "KmsThrottled",
];

/// The code without the query-protocol prefix (`AWS.SimpleQueueService.NonExistentQueue`).
fn short_code<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> Option<&str> {
    e.code().map(|c| c.rsplit('.').next().unwrap_or(c))
}

/// Maps an SDK error: network trouble, throttling and 5xx are `Unavailable` (retrying may
/// help), anything else (a missing queue, denied, bad credentials) is `Internal`.
pub(super) fn sqs_err<E, R>(op: &'static str, e: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let code = short_code(&e).map(str::to_string);
    crate::sdk_error::sdk_err(format!("SQS {op}"), code.as_deref(), e, TRANSIENT)
}

/// The receipt handle names no message this caller holds: never issued, already deleted, or
/// the message was handed out again since (its lease expired). `complete` / `retry` / `fail`
/// are no-ops then, as the port's contract says.
pub(super) fn is_unknown_handle<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    match short_code(e) {
        Some("ReceiptHandleIsInvalid" | "MessageNotInflight" | "InvalidIdFormat") => true,
        // AWS answers a stale handle on ChangeMessageVisibility this way.
        Some("InvalidParameterValue") => e
            .message()
            .is_some_and(|m| m.to_ascii_lowercase().contains("receipt")),
        _ => false,
    }
}
