//! The API function: API Gateway proxy events (REST and HTTP APIs) → the same axum Router as
//! `imgtag serve`.
//!
//! Behind API Gateway's Cognito authorizer the gateway has verified the token already: the
//! caller is taken from the authorizer claims and handed to the Router as a verified
//! [`Auth`] in the request extensions (which no client can set). Without an authorizer
//! context (public routes, a function URL, a direct invoke) the Router verifies the bearer
//! token itself.

use std::convert::Infallible;

use axum::http::{header, HeaderValue};
use axum::response::Response;
use axum::Router;
use imgtag_core::{Caller, Owner};
use imgtag_http::Auth;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde_json::Value;
use tower::ServiceExt;

/// Serves one API Gateway request through `router`.
pub async fn handle(router: Router, request: Request) -> Result<Response, Infallible> {
    let caller = request.request_context_ref().and_then(authorizer_caller);
    let stage = stripped_stage(&request);
    let mut request = request.map(axum::body::Body::new);
    if let Some(caller) = caller {
        request.extensions_mut().insert(Auth(caller));
    }
    let mut response = router.oneshot(request).await?;
    if let Some(stage) = stage {
        restage_location(&mut response, &stage);
    }
    Ok(response)
}

/// The caller from the Cognito authorizer's claims: REST APIs put them in
/// `requestContext.authorizer.claims`, HTTP APIs in `requestContext.authorizer.jwt.claims`.
/// Mirrors the bearer check: owner = `sub`, name = `name` (the username as typed) or
/// `cognito:username`. Claims without a usable `sub` give `None`, and the Router then
/// demands a bearer token as usual.
pub fn authorizer_caller(context: &RequestContext) -> Option<Caller> {
    let claim = |name: &str| -> Option<String> {
        match context {
            RequestContext::ApiGatewayV1(c) => match c.authorizer.fields.get("claims")? {
                Value::Object(claims) => claims.get(name)?.as_str().map(str::to_string),
                _ => None,
            },
            RequestContext::ApiGatewayV2(c) => c
                .authorizer
                .as_ref()?
                .jwt
                .as_ref()?
                .claims
                .get(name)
                .cloned(),
            _ => None,
        }
    };
    // Access tokens carry no `name`; only ID tokens are accepted, as in the bearer check.
    if claim("token_use").is_some_and(|u| u != "id") {
        return None;
    }
    let owner = Owner::parse(&claim("sub")?).ok()?;
    let username = claim("name").or_else(|| claim("cognito:username"))?;
    Some(Caller { owner, username })
}

/// The REST API stage `lambda_http` removed from the path (`AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH`),
/// if any.
fn stripped_stage(request: &Request) -> Option<String> {
    // Only then did lambda_http strip it.
    std::env::var_os("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH")?;
    match request.request_context_ref()? {
        RequestContext::ApiGatewayV1(c) => c.stage.clone().filter(|s| !s.is_empty()),
        _ => None,
    }
}

/// The Router's redirects are relative to its root; behind a stripped stage the client's root
/// is `/<stage>`, so `Location: /images?tags=cat` must become `/Prod/images?tags=cat`.
fn restage_location(response: &mut Response, stage: &str) {
    let Some(location) = response.headers().get(header::LOCATION) else {
        return;
    };
    let Ok(path) = location.to_str() else {
        return;
    };
    if path.starts_with('/') && !path.starts_with("//") {
        if let Ok(v) = HeaderValue::from_str(&format!("/{stage}{path}")) {
            response.headers_mut().insert(header::LOCATION, v);
        }
    }
}
