//! The one mapping from an AWS SDK error to the domain error, shared by the adapters: whether
//! retrying may help decides between `Unavailable` (503, jobs retried) and `Internal`.

// Every SDK crate re-exports the same smithy types; any one names them.
use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use imgtag_core::Error;

/// `Unavailable` for network trouble, timeouts, unreadable responses and the error codes
/// `transient` accepts (throttling, 5xx codes); `Internal` for the rest (missing resource,
/// denied, bad credentials). `what` names the call in the message (`S3 GetObject`).
pub(crate) fn sdk_err<E, R>(
    what: impl std::fmt::Display,
    code: Option<&str>,
    e: SdkError<E, R>,
    transient: &[&str],
) -> Error
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let retry = matches!(
        e,
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_)
    ) || code.is_some_and(|c| transient.contains(&c));
    let msg = format!("{what}: {}", DisplayErrorContext(&e));
    if retry {
        Error::Unavailable(msg)
    } else {
        Error::Internal(msg)
    }
}
