//! Cognito's error codes mapped to the port's errors. Each operation decides what a code means
//! for it (a `UserNotFoundException` is "bad credentials" at sign-in but `NotFound` for an
//! administrator); what is left is transient (`Unavailable`) or a setup problem (`Internal`).

use aws_sdk_cognitoidentityprovider::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use imgtag_core::Error;

/// The one message for every failed sign-in: it never tells which part was wrong.
pub(super) const BAD_CREDENTIALS: &str = "Incorrect username or password.";

const TRANSIENT: &[&str] = &[
    "InternalErrorException",
    "ServiceUnavailable",
    "ThrottlingException",
];
const RATE_LIMITED: &[&str] = &[
    "TooManyRequestsException",
    "TooManyFailedAttemptsException",
    "LimitExceededException",
];
/// Cognito does not say how long to wait; a short pause is a fair hint to clients.
const RETRY_AFTER_SECS: u64 = 5;

/// The error code, when Cognito answered with one.
pub(super) fn code<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> Option<&str> {
    e.code()
}

/// Cognito's own message (safe to show: it describes the caller's input, e.g. the password
/// policy), or a fallback.
fn message<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>, fallback: &str) -> String {
    e.message()
        .filter(|m| !m.is_empty())
        .unwrap_or(fallback)
        .to_string()
}

/// Mappings shared by every operation, for codes the operation did not handle itself.
pub(super) fn other<E, R>(op: &'static str, e: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match e.code() {
        Some("InvalidPasswordException") => {
            Error::invalid("weak-password", message(&e, "the password is too weak"))
        }
        Some("InvalidParameterException") => {
            Error::invalid("invalid-input", message(&e, "invalid input"))
        }
        Some(c) if RATE_LIMITED.contains(&c) => Error::RateLimited(RETRY_AFTER_SECS),
        Some(c) if TRANSIENT.contains(&c) => {
            Error::Unavailable(format!("Cognito {op}: {}", DisplayErrorContext(&e)))
        }
        _ => match &e {
            SdkError::TimeoutError(_)
            | SdkError::DispatchFailure(_)
            | SdkError::ResponseError(_) => {
                Error::Unavailable(format!("Cognito {op}: {}", DisplayErrorContext(&e)))
            }
            _ => Error::Internal(format!("Cognito {op}: {}", DisplayErrorContext(&e))),
        },
    }
}
