use axum::extract::{Path, Query, State};
use axum::Json;
use imgtag_core::services::ListParams;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::views::{image_json, images_json};
use crate::{AppState, Auth};

pub(crate) async fn list(
    State(st): State<AppState>,
    Auth(caller): Auth,
    Query(params): Query<ListParams>,
) -> Result<Json<Value>, ApiError> {
    let page = st.app.list_images(&caller.owner, params).await?;
    Ok(Json(json!({
        "images": images_json(&st, &page.images).await?,
        "nextCursor": page.next.map(|c| c.encode()),
    })))
}

pub(crate) async fn get_one(
    State(st): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let img = st.app.get_image(&caller.owner, &id).await?;
    Ok(Json(image_json(&st, &img).await?))
}

pub(crate) async fn delete(
    State(st): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = st.app.delete_image(&caller.owner, &id).await?;
    Ok(Json(json!({"message": format!("Deleted image: {id}")})))
}

pub(crate) async fn add_tag(
    State(st): State<AppState>,
    Auth(caller): Auth,
    Path((id, tag)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let img = st.app.add_manual_tag(&caller.owner, &id, &tag).await?;
    Ok(Json(image_json(&st, &img).await?))
}

pub(crate) async fn remove_tag(
    State(st): State<AppState>,
    Auth(caller): Auth,
    Path((id, tag)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let img = st.app.remove_tag(&caller.owner, &id, &tag).await?;
    Ok(Json(image_json(&st, &img).await?))
}

pub(crate) async fn retag(
    State(st): State<AppState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<(axum::http::StatusCode, Json<Value>), ApiError> {
    let img = st.app.retag(&caller.owner, &id).await?;
    Ok((
        axum::http::StatusCode::ACCEPTED,
        Json(image_json(&st, &img).await?),
    ))
}
