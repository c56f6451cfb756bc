use std::sync::Arc;

use axum::extract::{Path, Query, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::{Extension, Json};
use imgtag_core::services::ListParams;

use crate::answers::{cached_json, AnswerCache};
use crate::error::{ApiError, ErrorBody};
use crate::views::{image_json, images_json, ImageList, ImageView, Message};
use crate::{AppState, Auth};

/// The caller's images, newest first, filtered by tags.
#[utoipa::path(get, path = "/images", tag = "images", security(("bearer" = [])),
    params(
        ("tags" = Option<String>, Query, description = "Comma-separated; images must have all of them"),
        ("anyTags" = Option<String>, Query, description = "Comma-separated; images must have at least one"),
        ("notTags" = Option<String>, Query, description = "Comma-separated; images must have none"),
        ("minConfidence" = Option<f64>, Query, description = "Tag filters count labels at least this confident (0-1)"),
        ("limit" = Option<u32>, Query, description = "Page size, 1-1000, default 50"),
        ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page"),
    ),
    responses(
        (status = 200, body = ImageList),
        (status = 400, body = ErrorBody, description = "Bad filter, limit or cursor"),
        (status = 401, body = ErrorBody),
    ))]
pub(crate) async fn list(
    State(st): State<AppState>,
    Extension(answers): Extension<Arc<AnswerCache>>,
    Auth(caller): Auth,
    RawQuery(raw): RawQuery,
    Query(params): Query<ListParams>,
) -> Result<Response, ApiError> {
    let owner = &caller.owner;
    cached_json(&st, &answers, owner, "images", raw.as_deref(), || async {
        let page = st.app.list_images(owner, params).await?;
        Ok(ImageList {
            images: images_json(&st, &page.images).await?,
            next_cursor: page.next.map(|c| c.encode()),
        })
    })
    .await
}

/// One of the caller's images.
#[utoipa::path(get, path = "/images/{id}", tag = "images", security(("bearer" = [])),
    params(("id" = String, Path, description = "Image id")),
    responses(
        (status = 200, body = ImageView),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "Absent or not the caller's"),
    ))]
pub(crate) async fn get_one(
    State(st): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<ImageView>, ApiError> {
    let img = st.app.get_image(&caller.owner, &id).await?;
    Ok(Json(image_json(&st, &img).await?))
}

/// Deletes the image, its file and its index entries.
#[utoipa::path(delete, path = "/images/{id}", tag = "images", security(("bearer" = [])),
    params(("id" = String, Path, description = "Image id")),
    responses(
        (status = 200, body = Message, description = "`Deleted image: <id>`"),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "Absent or not the caller's"),
    ))]
pub(crate) async fn delete(
    State(st): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<Message>, ApiError> {
    let id = st.app.delete_image(&caller.owner, &id).await?;
    Ok(Json(Message {
        message: format!("Deleted image: {id}"),
    }))
}

/// Adds a manual tag (confidence 1); re-tagging keeps it.
#[utoipa::path(put, path = "/images/{id}/tags/{tag}", tag = "images", security(("bearer" = [])),
    params(("id" = String, Path, description = "Image id"), ("tag" = String, Path, description = "Tag, 1-64 characters")),
    responses(
        (status = 200, body = ImageView),
        (status = 400, body = ErrorBody, description = "Invalid tag"),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub(crate) async fn add_tag(
    State(st): State<AppState>,
    Auth(caller): Auth,
    Path((id, tag)): Path<(String, String)>,
) -> Result<Json<ImageView>, ApiError> {
    let img = st.app.add_manual_tag(&caller.owner, &id, &tag).await?;
    Ok(Json(image_json(&st, &img).await?))
}

/// Removes a tag, manual or automatic.
#[utoipa::path(delete, path = "/images/{id}/tags/{tag}", tag = "images", security(("bearer" = [])),
    params(("id" = String, Path, description = "Image id"), ("tag" = String, Path, description = "Tag")),
    responses(
        (status = 200, body = ImageView),
        (status = 400, body = ErrorBody, description = "Invalid tag"),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub(crate) async fn remove_tag(
    State(st): State<AppState>,
    Auth(caller): Auth,
    Path((id, tag)): Path<(String, String)>,
) -> Result<Json<ImageView>, ApiError> {
    let img = st.app.remove_tag(&caller.owner, &id, &tag).await?;
    Ok(Json(image_json(&st, &img).await?))
}

/// Queues the image for tagging again: auto labels are replaced, manual ones kept.
#[utoipa::path(post, path = "/images/{id}/retag", tag = "images", security(("bearer" = [])),
    params(("id" = String, Path, description = "Image id")),
    responses(
        (status = 202, body = ImageView, description = "Queued; status is `pending`"),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub(crate) async fn retag(
    State(st): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<ImageView>), ApiError> {
    let img = st.app.retag(&caller.owner, &id).await?;
    Ok((StatusCode::ACCEPTED, Json(image_json(&st, &img).await?)))
}
