//! The bearer-token extractor.

use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};
use imgtag_core::{Caller, Error};

use crate::{ApiError, AppState};

/// The verified caller of a protected route.
///
/// A front end that has already verified the caller (the Lambda entry point, from API
/// Gateway's authorizer claims) puts an `Auth` into the request *extensions*; the extractor
/// then trusts it and skips the bearer check. Extensions are set only by code in this process,
/// never from anything a client sends, so this path cannot be forged over HTTP.
#[derive(Debug, Clone)]
pub struct Auth(pub Caller);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(verified) = parts.extensions.get::<Auth>() {
            return Ok(verified.clone());
        }
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, rest) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            })
            .filter(|t| !t.is_empty())
            .ok_or(ApiError(Error::Unauthorized))?;
        // Whatever the adapter says, a failed verification is a plain 401: no detail leaks.
        match state.app.accounts.verify(token).await {
            Ok(caller) => Ok(Auth(caller)),
            Err(Error::Unavailable(m)) => Err(ApiError(Error::Unavailable(m))),
            Err(_) => Err(ApiError(Error::Unauthorized)),
        }
    }
}
