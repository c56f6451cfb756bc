//! The one domain error type. The HTTP layer maps it to a status code in exactly one place.

/// Errors returned by services and ports.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input the caller can fix. `code` is a stable machine-readable identifier.
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// Absent, or owned by someone else (the two are indistinguishable on purpose).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Missing, invalid or expired credentials.
    #[error("Unauthorized")]
    Unauthorized,
    /// Sign-in failed: unknown user or wrong password (never says which).
    #[error("{0}")]
    BadCredentials(String),
    /// A signature is missing, wrong or expired, or a signed condition does not hold.
    #[error("{0}")]
    Forbidden(String),
    /// A unique value is taken (username).
    #[error("{0}")]
    Conflict(String),
    /// Body bigger than the configured limit.
    #[error("{0}")]
    TooLarge(String),
    /// Bytes that are not a supported image.
    #[error("{0}")]
    UnsupportedMedia(String),
    /// Too many attempts; retry after the given number of seconds.
    #[error("too many attempts, retry in {0} s")]
    RateLimited(u64),
    /// A dependency is temporarily unavailable; retrying may succeed.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A bug or an unexpected failure of a dependency. Details are logged, not shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Error::Invalid {
            code,
            message: message.into(),
        }
    }
    pub fn internal(e: impl std::fmt::Display) -> Self {
        Error::Internal(e.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
