//! imgtag's HTTP API: one axum [`Router`] for the local server and for Lambda alike.
#![forbid(unsafe_code)]

mod answers;
mod auth;
mod error;
mod json_body;
mod routes;
mod views;
mod web;

use std::sync::Arc;

use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::Router;
use imgtag_core::services::App;
use imgtag_core::signing::Signer;
use serde::Deserialize;
use tower_http::cors::{AllowOrigin, CorsLayer};

pub use answers::AnswerCache;
pub use auth::Auth;
pub use error::ApiError;
/// The OpenAPI description of the router (what `GET /openapi.json` answers), for a base path.
pub use routes::spec as openapi_spec;

/// HTTP-level settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Path prefix all routes live under, e.g. `/Prod` to mirror an API Gateway stage.
    pub base_path: String,
    /// Allowed CORS origins; `*` allows any.
    pub cors_origins: Vec<String>,
    /// Memory for reusing `GET /images` and `GET /tags` answers until the caller's catalog
    /// changes (`answers.rs`), in MiB; 0 turns reuse off.
    pub answer_cache_mb: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            base_path: String::new(),
            cors_origins: vec!["*".to_string()],
            answer_cache_mb: 64,
        }
    }
}

impl HttpConfig {
    /// `base_path` normalised to `""` or `/segment...` without a trailing slash.
    pub fn normalised_base(&self) -> String {
        let t = self.base_path.trim_matches('/');
        if t.is_empty() {
            String::new()
        } else {
            format!("/{t}")
        }
    }
}

/// What every handler receives.
#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub config: Arc<HttpConfig>,
    /// Absolute URL of the API root including the base path, e.g. `http://127.0.0.1:8080/Prod`.
    pub public_url: Arc<str>,
    /// Present when this server is itself the upload target and file server (local blobs).
    pub signer: Option<Arc<Signer>>,
}

/// The whole API.
pub fn router(state: AppState) -> Router {
    let base = state.config.normalised_base();
    let cors = cors_layer(&state.config);
    // Reused pages keep at least 90 % of their signed URLs' lifetime, and never over a minute.
    let max_age = (state.app.settings.url_ttl() / 10).min(std::time::Duration::from_secs(60));
    let answers = Arc::new(AnswerCache::new(
        state.config.answer_cache_mb << 20,
        max_age,
    ));
    let api = routes::routes();
    let app = if base.is_empty() {
        api
    } else {
        // API Gateway serves the stage root both as `/Prod` and `/Prod/`.
        Router::new()
            .route(&format!("{base}/"), axum::routing::get(routes::index))
            .nest(&base, api)
    };
    app.with_state(state)
        .fallback(error::not_found)
        .layer(axum::Extension(answers))
        .layer(cors)
        .layer(tower_http::trace::TraceLayer::new_for_http())
}

fn cors_layer(config: &HttpConfig) -> CorsLayer {
    let origin = if config.cors_origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            config
                .cors_origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o).ok()),
        )
    };
    CorsLayer::new()
        .allow_origin(origin)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("x-file-name"),
        ])
        .expose_headers([header::WWW_AUTHENTICATE, header::LOCATION])
        .max_age(std::time::Duration::from_secs(600))
}
