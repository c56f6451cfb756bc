//! The one mapping from domain errors to HTTP responses.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use imgtag_core::Error;

/// Every error answer: a human message and a stable machine-readable code.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorBody {
    #[schema(example = "Image not found")]
    pub message: String,
    /// e.g. `not-found`, `unauthorized`, `invalid-tag`, `bad-credentials`, `too-large`.
    #[schema(example = "not-found")]
    pub code: String,
}

/// A domain error on its way to becoming a response.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = match &self.0 {
            Error::Invalid { code, message } => (StatusCode::BAD_REQUEST, *code, message.clone()),
            Error::NotFound(what) => (StatusCode::NOT_FOUND, "not-found", capitalise(what)),
            Error::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Unauthorized".into(),
            ),
            Error::BadCredentials(m) => (StatusCode::BAD_REQUEST, "bad-credentials", m.clone()),
            Error::Forbidden(m) => (StatusCode::FORBIDDEN, "forbidden", m.clone()),
            Error::Conflict(m) => (StatusCode::BAD_REQUEST, "conflict", m.clone()),
            Error::TooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, "too-large", m.clone()),
            Error::UnsupportedMedia(m) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                m.clone(),
            ),
            Error::RateLimited(_) => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                self.0.to_string(),
            ),
            Error::Unavailable(m) => {
                tracing::warn!(error = %m, "dependency unavailable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "Service unavailable, retry later".into(),
                )
            }
            Error::Internal(m) => {
                tracing::error!(error = %m, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Internal server error".into(),
                )
            }
        };
        let body = ErrorBody {
            message,
            code: code.to_string(),
        };
        let mut resp = (status, Json(body)).into_response();
        let headers = resp.headers_mut();
        match &self.0 {
            Error::Unauthorized => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"imgtag\""),
                );
            }
            Error::RateLimited(secs) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*secs));
            }
            _ => {}
        }
        resp
    }
}

fn capitalise(what: &str) -> String {
    let mut c = what.chars();
    match c.next() {
        Some(f) => format!("{}{} not found", f.to_uppercase(), c.as_str()),
        None => "Not found".into(),
    }
}

pub(crate) async fn not_found() -> ApiError {
    ApiError(Error::NotFound("route"))
}
