//! imgtag on AWS Lambda. One `bootstrap` binary serves three functions, picked by
//! `IMGTAG_LAMBDA_HANDLER`: `api` (the axum Router behind API Gateway), `tagging` (S3
//! `ObjectCreated` notifications delivered through SQS, and the jobs of the SQS job queue) and
//! `presignup` (the Cognito trigger).
//! The handlers are plain async functions so tests drive them with real event shapes, no
//! Lambda runtime needed.
#![forbid(unsafe_code)]

pub mod api;
mod jobs;
pub mod presignup;
pub mod tagging;

use anyhow::Context;
use imgtag_http::AppState;
use imgtag_server::{build_state, Config, Overrides};

/// The configuration of a function: defaults + `IMGTAG__SECTION__KEY` environment variables
/// (the template sets them), exactly as `imgtag serve` reads them.
pub fn load_config() -> anyhow::Result<Config> {
    Config::load(None, &Overrides::default()).context("reading IMGTAG__* configuration")
}

/// Wires the adapters once per execution environment (the cold start).
pub async fn load_state(config: &Config) -> anyhow::Result<AppState> {
    // Links the Router builds are relative to its root unless a public URL is configured.
    let root = config.server.public_url.as_deref().unwrap_or("");
    let public_url = format!(
        "{}{}",
        root.trim_end_matches('/'),
        config.http.normalised_base()
    );
    build_state(config, &public_url).await
}
