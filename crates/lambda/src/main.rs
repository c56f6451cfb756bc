//! `bootstrap`: the one binary of every imgtag function (`provided.al2023`).
//! `IMGTAG_LAMBDA_HANDLER` = `api` | `tagging` | `presignup` picks the entry point; the rest of
//! the configuration is `IMGTAG__SECTION__KEY` variables, as for `imgtag serve`.

use anyhow::Context;
use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    imgtag_server::telemetry::init();
    let which = std::env::var("IMGTAG_LAMBDA_HANDLER").unwrap_or_default();
    match which.as_str() {
        "api" => api().await,
        "tagging" => tagging().await,
        // Needs no configuration: confirming a sign-up touches no adapter.
        "presignup" => lambda_runtime::run(service_fn(imgtag_lambda::presignup::handle)).await,
        other => Err(format!(
            "IMGTAG_LAMBDA_HANDLER must be api, tagging or presignup (got {other:?})"
        )
        .into()),
    }
}

async fn api() -> Result<(), lambda_runtime::Error> {
    let config = imgtag_lambda::load_config()?;
    // REST API events carry the stage in the path (`/Prod/images`); the Router lives at the
    // root unless a base path is configured, so drop the stage by default.
    if config.http.normalised_base().is_empty()
        && std::env::var_os("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH").is_none()
    {
        std::env::set_var("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH", "true");
    }
    let state = imgtag_lambda::load_state(&config)
        .await
        .context("wiring the adapters")?;
    let router = imgtag_http::router(state);
    lambda_http::run(lambda_http::service_fn(move |req| {
        imgtag_lambda::api::handle(router.clone(), req)
    }))
    .await
}

async fn tagging() -> Result<(), lambda_runtime::Error> {
    let config = imgtag_lambda::load_config()?;
    let state = imgtag_lambda::load_state(&config)
        .await
        .context("wiring the adapters")?;
    let app = state.app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<_>| {
        let app = app.clone();
        async move { imgtag_lambda::tagging::handle(&app, event).await }
    }))
    .await
}
