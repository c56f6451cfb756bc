//! `GET /openapi.json` and `GET /docs`: Swagger UI, embedded (fetched by
//! `tools/fetch_swagger_ui.sh`, never at build time) so the docs work offline.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use imgtag_core::Error;

use crate::error::{ApiError, ErrorBody};
use crate::AppState;

const BUNDLE: &str = include_str!("../../assets/swagger-ui/swagger-ui-bundle.js");
const CSS: &str = include_str!("../../assets/swagger-ui/swagger-ui.css");
const LICENSE: &str = include_str!("../../assets/swagger-ui/LICENSE");

/// The OpenAPI 3.1 description of this API.
#[utoipa::path(get, path = "/openapi.json", tag = "meta",
    responses((status = 200, body = Object, description = "This document")))]
pub(crate) async fn spec_json(State(st): State<AppState>) -> Response {
    Json(super::openapi::spec(&st.config.normalised_base())).into_response()
}

/// Interactive documentation (Swagger UI), working offline.
#[utoipa::path(get, path = "/docs", tag = "meta",
    responses((status = 200, content_type = "text/html", body = String, description = "An HTML page")))]
pub(crate) async fn page(State(st): State<AppState>) -> Response {
    let base = st.config.normalised_base();
    let html = format!(
        r##"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>imgtag API docs</title>
<link rel="icon" href="{base}/app/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="{base}/docs/swagger-ui.css">
</head><body><div id="ui"></div>
<script src="{base}/docs/swagger-ui-bundle.js"></script>
<script>
SwaggerUIBundle({{ url: "{base}/openapi.json", dom_id: "#ui", layout: "BaseLayout",
  presets: [SwaggerUIBundle.presets.apis], deepLinking: true, persistAuthorization: true,
  validatorUrl: null }});
</script></body></html>"##
    );
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        html,
    )
        .into_response()
}

/// Swagger UI's files (`swagger-ui-bundle.js`, `swagger-ui.css`, `LICENSE`).
#[utoipa::path(get, path = "/docs/{file}", tag = "meta",
    params(("file" = String, Path, description = "Asset name")),
    responses(
        (status = 200, body = String, description = "The asset"),
        (status = 404, body = ErrorBody),
    ))]
pub(crate) async fn asset(Path(file): Path<String>) -> Result<Response, ApiError> {
    let (ct, body) = match file.as_str() {
        "swagger-ui-bundle.js" => ("text/javascript; charset=utf-8", BUNDLE),
        "swagger-ui.css" => ("text/css; charset=utf-8", CSS),
        "LICENSE" => ("text/plain; charset=utf-8", LICENSE),
        _ => return Err(ApiError(Error::NotFound("file"))),
    };
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    // Same bytes for the life of the binary; an hour spares re-downloading 1.7 MB per visit.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    Ok(resp)
}
