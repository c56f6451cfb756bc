use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::AppState;

/// Self-description with absolute URLs, as the seed's root route gives; browsers navigating
/// here (`Accept: text/html`) get the web page instead.
#[utoipa::path(get, path = "/", tag = "meta",
    responses(
        (status = 200, body = Object, description = "`{\"endpoints\":[{title, method, url, auth}]}`; the web page (HTML) for `Accept: text/html`"),
    ))]
pub(crate) async fn index(State(st): State<AppState>, headers: HeaderMap) -> Response {
    if crate::web::wants_html(&headers) {
        return crate::web::page(State(st)).await;
    }
    let mut resp = describe(&st).into_response();
    // Caches must keep the page and the JSON apart.
    resp.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    resp
}

fn describe(st: &AppState) -> Json<Value> {
    let u = &st.public_url;
    let e = |title: &str, method: &str, path: &str, auth: bool| json!({"title": title, "method": method, "url": format!("{u}{path}"), "auth": auth});
    Json(json!({"endpoints": [
        e("Sign up", "POST", "/signup", false),
        e("Sign in", "POST", "/signin", false),
        e("Refresh a session", "POST", "/token/refresh", false),
        e("Create a pre-signed upload (or upload an image body directly)", "POST", "/images", true),
        e("List images (tags, anyTags, notTags, minConfidence, limit, cursor)", "GET", "/images", true),
        e("Get an image", "GET", "/images/{id}", true),
        e("Delete an image", "DELETE", "/images/{id}", true),
        e("Add a manual tag", "PUT", "/images/{id}/tags/{tag}", true),
        e("Remove a tag", "DELETE", "/images/{id}/tags/{tag}", true),
        e("Tag an image again", "POST", "/images/{id}/retag", true),
        e("List tags by image count (prefix, limit)", "GET", "/tags", true),
        e("Images with a tag", "GET", "/tags/{tag}/images", true),
        e("Token verification keys", "GET", "/.well-known/jwks.json", false),
        e("Health", "GET", "/healthz", false),
        e("Web page (browsers)", "GET", "/app/", false),
        e("OpenAPI description", "GET", "/openapi.json", false),
        e("Interactive API docs", "GET", "/docs", false),
    ]}))
}

/// Liveness and queue depth.
#[utoipa::path(get, path = "/healthz", tag = "meta",
    responses(
        (status = 200, body = Object, description = "`{\"status\":\"ok\",\"pendingJobs\":n}`"),
        (status = 503, body = crate::error::ErrorBody),
    ))]
pub(crate) async fn healthz(State(st): State<AppState>) -> Result<Json<Value>, ApiError> {
    let pending = st.app.queue.pending().await?;
    Ok(Json(json!({"status": "ok", "pendingJobs": pending})))
}
