//! JSON request bodies, parsed the way the original API Gateway + Lambda stack parsed them.
//!
//! The guide's client (npm `request` with a `JSON.stringify` string body) sends no
//! `Content-Type`, and Python's `urllib` sends `application/x-www-form-urlencoded` with the same
//! JSON: API Gateway handed either body to the Lambda, which just parsed it. So a JSON-taking
//! route parses the body as JSON when the type is absent, JSON (`application/json`, `*+json`,
//! with any parameters), `text/plain` or form-urlencoded; any other declared type is a 415.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use imgtag_core::Error;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The one JSON extractor of every route; its rejections use the API's error shape.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = json_bytes(req, state).await?;
        Ok(JsonBody(parse(&bytes)?))
    }
}

/// Like [`JsonBody`], but an empty (or all-whitespace) body is `T::default()`: `POST /images`
/// takes its JSON details optionally.
pub struct OptionalJsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = json_bytes(req, state).await?;
        if bytes.trim_ascii().is_empty() {
            return Ok(OptionalJsonBody(T::default()));
        }
        Ok(OptionalJsonBody(parse(&bytes)?))
    }
}

/// Checks the declared type, then reads the body (within the router's body limit).
async fn json_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    check_type(req.headers())?;
    Bytes::from_request(req, state).await.map_err(|r| {
        let e = r.into_response();
        ApiError(if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Error::TooLarge("request body too large".into())
        } else {
            Error::invalid("invalid-body", "could not read the request body")
        })
    })
}

/// `Ok` when the declared `Content-Type` may carry JSON (see the module docs).
pub(crate) fn check_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let declared = value.to_str().unwrap_or("");
    let essence = declared
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let accepted = essence.is_empty()
        || essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
        || essence == "text/plain"
        || essence == "application/x-www-form-urlencoded";
    if accepted {
        Ok(())
    } else {
        Err(ApiError(Error::UnsupportedMedia(format!(
            "Content-Type {declared:?} cannot carry this route's JSON body; send application/json (or no Content-Type)"
        ))))
    }
}

/// Malformed JSON is `invalid-json`, well-formed JSON of the wrong shape `invalid-body`; both
/// name the problem and where it is.
fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError(match e.classify() {
            serde_json::error::Category::Data => {
                Error::invalid("invalid-body", format!("invalid request body: {e}"))
            }
            _ => Error::invalid("invalid-json", format!("malformed JSON body: {e}")),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(ct: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
        h
    }

    #[test]
    fn json_compatible_types_pass_and_others_are_415() {
        assert!(check_type(&HeaderMap::new()).is_ok());
        for ok in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/merge-patch+json",
            "text/plain;charset=UTF-8",
            "application/x-www-form-urlencoded",
            "",
        ] {
            assert!(check_type(&with(ok)).is_ok(), "{ok}");
        }
        for bad in [
            "application/xml",
            "multipart/form-data; boundary=x",
            "text/html",
        ] {
            let e = check_type(&with(bad)).unwrap_err();
            assert!(matches!(e.0, Error::UnsupportedMedia(_)), "{bad}");
        }
    }

    #[test]
    fn parse_errors_name_the_problem() {
        let e = parse::<serde_json::Value>(b"{\"a\":").unwrap_err();
        let Error::Invalid { code, message } = e.0 else {
            panic!("not invalid")
        };
        assert_eq!(code, "invalid-json");
        assert!(message.contains("EOF"), "{message}");
    }
}
