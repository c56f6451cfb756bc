//! The browser face of the API: one page and its static modules, embedded in the binary so the
//! server needs no files on disk and no build step. The page talks to the API exactly as any
//! other client does (Bearer token, pre-signed uploads), so it exercises the public contract.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use imgtag_core::Error;

use crate::error::ApiError;
use crate::AppState;

/// `(file name, content type, body)` of every asset served under `/app/`.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../assets/web/style.css"),
    ),
    (
        "main.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/web/main.js"),
    ),
    (
        "api.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/web/api.js"),
    ),
    (
        "upload.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/web/upload.js"),
    ),
    (
        "gallery.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/web/gallery.js"),
    ),
    (
        "detail.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/web/detail.js"),
    ),
    (
        "dom.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/web/dom.js"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_str!("../assets/web/favicon.svg"),
    ),
];

const INDEX: &str = include_str!("../assets/web/index.html");

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/", get(page))
        .route("/app/{file}", get(asset))
}

/// True when the client prefers a page to JSON: browsers navigating send `text/html` first;
/// API clients (curl's `*/*`, fetch's default) do not.
pub(crate) fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

/// The web page, with the base path filled in so it works under an API Gateway-style stage.
#[utoipa::path(get, path = "/app/", tag = "meta",
    responses((status = 200, content_type = "text/html", body = String, description = "The web page")))]
pub(crate) async fn page(State(st): State<AppState>) -> Response {
    let base = html_escape(&st.config.normalised_base());
    let body = INDEX.replace("{{BASE}}", &base);
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            // Always revalidate: the page is tiny and must match the running server's API.
            (header::CACHE_CONTROL, "no-cache"),
            (header::VARY, "Accept"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        body,
    )
        .into_response()
}

/// The web page's modules, stylesheet and icon.
#[utoipa::path(get, path = "/app/{file}", tag = "meta",
    params(("file" = String, Path, description = "Asset name")),
    responses(
        (status = 200, body = String, description = "The asset"),
        (status = 404, body = crate::error::ErrorBody),
    ))]
pub(crate) async fn asset(Path(file): Path<String>) -> Result<Response, ApiError> {
    let (_, ct, body) = ASSETS
        .iter()
        .find(|(name, _, _)| *name == file)
        .ok_or(ApiError(Error::NotFound("file")))?;
    let mut resp = (StatusCode::OK, *body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(resp)
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
