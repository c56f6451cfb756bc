use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use crate::error::ApiError;
use crate::{AppState, Auth};

pub(crate) async fn list(
    State(st): State<AppState>,
    Auth(caller): Auth,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let counts = st
        .app
        .tag_counts(
            &caller.owner,
            q.get("prefix").map(String::as_str),
            q.get("limit").map(String::as_str),
        )
        .await?;
    let tags: Vec<&str> = counts.iter().map(|c| c.name.as_str()).collect();
    let map: Map<String, Value> = counts
        .iter()
        .map(|c| (c.name.to_string(), json!(c.count)))
        .collect();
    Ok(Json(json!({"tags": tags, "counts": map})))
}

/// The seed's route; answered with a permanent redirect to the filtered listing.
pub(crate) async fn images_by_tag(
    State(st): State<AppState>,
    Auth(_): Auth,
    Path(tag): Path<String>,
) -> Response {
    let base = st.config.normalised_base();
    let enc: String = form_urlencoded::byte_serialize(tag.as_bytes()).collect();
    let location = format!("{base}/images?tags={enc}");
    (
        StatusCode::PERMANENT_REDIRECT,
        [(header::LOCATION, location)],
    )
        .into_response()
}
