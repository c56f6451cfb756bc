//! Route table. Handlers live in one file per feature.

mod accounts;
mod docs;
mod files;
mod images;
mod meta;
mod openapi;
mod tags;
mod upload;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use axum::Router;

use crate::AppState;

pub(crate) use meta::index;
pub use openapi::spec;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(meta::index))
        .route("/healthz", get(meta::healthz))
        .route("/openapi.json", get(docs::spec_json))
        .route("/docs", get(docs::page))
        .route("/docs/{file}", get(docs::asset))
        .route("/signup", post(accounts::signup))
        .route("/signin", post(accounts::signin))
        .route("/token/refresh", post(accounts::refresh))
        .route("/.well-known/jwks.json", get(accounts::jwks))
        .route("/images", post(upload::create).get(images::list))
        .route("/images/{id}", get(images::get_one).delete(images::delete))
        .route(
            "/images/{id}/tags/{tag}",
            put(images::add_tag).delete(images::remove_tag),
        )
        .route("/images/{id}/retag", post(images::retag))
        .route("/tags", get(tags::list))
        .route("/tags/{tag}/images", get(tags::images_by_tag))
        // Upload bodies are streamed and capped by the upload policy, not by axum's limit.
        .route(
            "/uploads",
            post(upload::post_form).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/uploads/{*key}",
            put(upload::put_object).layer(DefaultBodyLimit::disable()),
        )
        .route("/files/{*key}", get(files::get_file))
        .merge(crate::web::routes())
}
