use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use imgtag_core::ports::parse_thumb_key;
use imgtag_core::{BlobKey, Error};

use crate::error::ApiError;
use crate::AppState;

/// Serves a blob named by a signed URL (the local stand-in for a pre-signed S3 GET).
#[utoipa::path(get, path = "/files/{key}", tag = "uploads",
    params(("key" = String, Path, description = "Blob key, may contain `/`; the query carries the signature")),
    responses(
        (status = 200, body = super::upload::ImageBytes, content_type = "image/*", description = "The file, with its real content type"),
        (status = 403, body = crate::error::ErrorBody, description = "Bad or expired signature"),
        (status = 404, body = crate::error::ErrorBody),
    ))]
pub(crate) async fn get_file(
    State(st): State<AppState>,
    Path(key): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let signer = st.signer.as_ref().ok_or(Error::NotFound("route"))?;
    let key = BlobKey::parse(&key).map_err(|_| Error::NotFound("file"))?;
    let mut content_type = signer.verify_file(&key, &q, chrono::Utc::now())?;
    let (stream, len) = match st.app.blobs.get_stream(&key).await {
        Err(Error::NotFound(_)) => {
            // A thumbnail the tagger could not make (or an image tagged before thumbnails
            // existed): the original stands in, while the image exists.
            let (owner, id) = parse_thumb_key(&key).ok_or(Error::NotFound("file"))?;
            let img = st
                .app
                .catalog
                .get_image(&owner, &id)
                .await?
                .ok_or(Error::NotFound("file"))?;
            content_type = img.content_type.clone();
            st.app.blobs.get_stream(&img.blob_key).await?
        }
        other => other?,
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_LENGTH, len.to_string()),
            // The URL is unique per signature and expiry, so the browser may keep it privately.
            (
                header::CACHE_CONTROL,
                "private, max-age=600, immutable".to_string(),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        axum::body::Body::from_stream(stream),
    )
        .into_response())
}
