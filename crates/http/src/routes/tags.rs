use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde::Serialize;
use utoipa::ToSchema;

use crate::answers::{cached_json, AnswerCache};
use crate::error::{ApiError, ErrorBody};
use crate::{AppState, Auth};

/// The caller's tags by image count, most used first.
#[derive(Serialize, ToSchema)]
pub(crate) struct TagList {
    #[schema(example = json!(["animal", "cat"]))]
    tags: Vec<String>,
    /// Images per tag.
    #[schema(example = json!({"animal": 2, "cat": 1}))]
    counts: BTreeMap<String, u64>,
}

/// The caller's tags, most used first.
#[utoipa::path(get, path = "/tags", tag = "tags", security(("bearer" = [])),
    params(
        ("prefix" = Option<String>, Query, description = "Only tags starting with this (autocomplete)"),
        ("limit" = Option<u32>, Query, description = "At most this many tags"),
    ),
    responses(
        (status = 200, body = TagList),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
    ))]
pub(crate) async fn list(
    State(st): State<AppState>,
    Extension(answers): Extension<Arc<AnswerCache>>,
    Auth(caller): Auth,
    RawQuery(raw): RawQuery,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let owner = &caller.owner;
    cached_json(&st, &answers, owner, "tags", raw.as_deref(), || async {
        let counts = st
            .app
            .tag_counts(
                owner,
                q.get("prefix").map(String::as_str),
                q.get("limit").map(String::as_str),
            )
            .await?;
        Ok(TagList {
            tags: counts.iter().map(|c| c.name.to_string()).collect(),
            counts: counts
                .iter()
                .map(|c| (c.name.to_string(), c.count))
                .collect(),
        })
    })
    .await
}

/// The seed's route; answered with a permanent redirect to the filtered listing.
#[utoipa::path(get, path = "/tags/{tag}/images", tag = "tags", security(("bearer" = [])),
    params(("tag" = String, Path, description = "Tag")),
    responses(
        (status = 308, description = "`Location: <base>/images?tags=<tag>`"),
        (status = 401, body = ErrorBody),
    ))]
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
