//! Uploads: the seed's pre-signed POST form, a pre-signed PUT, and one-step direct upload.
//! This server is the upload target when blobs are local; it checks what S3 would check.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::TryStreamExt;
use imgtag_core::services::UploadLimits;
use imgtag_core::signing::VerifiedUpload;
use imgtag_core::{BlobKey, ByteStream, Error};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::error::{ApiError, JsonBody};
use crate::views::image_json;
use crate::{AppState, Auth};

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UploadRequest {
    name: Option<String>,
    content_type: Option<String>,
}

fn content_type(headers: &HeaderMap) -> &str {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn body_stream(body: Body) -> ByteStream {
    Box::pin(body.into_data_stream().map_err(std::io::Error::other))
}

/// `POST /images`: a pre-signed upload, or (with an `image/*` body) the upload itself.
pub(crate) async fn create(
    State(st): State<AppState>,
    Auth(caller): Auth,
    Query(q): Query<HashMap<String, String>>,
    req: Request,
) -> Result<Response, ApiError> {
    let ct = content_type(req.headers()).to_ascii_lowercase();
    if ct.starts_with("image/") {
        let name = req
            .headers()
            .get("x-file-name")
            .and_then(|v| v.to_str().ok())
            .or(q.get("name").map(String::as_str))
            .unwrap_or("image")
            .to_string();
        let img = st
            .app
            .upload_direct(&caller.owner, &name, body_stream(req.into_body()))
            .await?;
        return Ok((StatusCode::CREATED, Json(image_json(&st, &img).await?)).into_response());
    }
    let has_body = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .is_some_and(|v| v != "0")
        || req.headers().contains_key(header::TRANSFER_ENCODING);
    let body: UploadRequest = if has_body {
        use axum::extract::FromRequest;
        JsonBody::<UploadRequest>::from_request(req, &st).await?.0
    } else {
        UploadRequest::default()
    };
    let ticket = st
        .app
        .create_upload(
            &caller.owner,
            body.name.as_deref(),
            body.content_type.as_deref(),
        )
        .await?;
    let fields: Map<String, Value> = ticket
        .form
        .fields
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let answer = json!({
        "formConfig": {"uploadUrl": ticket.form.url, "formFields": fields},
        "id": ticket.id,
        "putUrl": ticket.form.put_url,
        "expiresAt": ticket.form.expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    });
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

fn signer(st: &AppState) -> Result<&imgtag_core::signing::Signer, Error> {
    st.signer.as_deref().ok_or(Error::NotFound("route"))
}

fn check_type(v: &VerifiedUpload, declared: &str) -> Result<(), Error> {
    if declared
        .to_ascii_lowercase()
        .starts_with(&v.content_type_prefix)
    {
        Ok(())
    } else {
        Err(Error::Forbidden(format!(
            "policy condition failed: Content-Type must start with {}",
            v.content_type_prefix
        )))
    }
}

fn limits(v: &VerifiedUpload) -> UploadLimits {
    UploadLimits {
        min_size: v.min_size,
        max_size: v.max_size,
    }
}

/// `POST /uploads`: multipart form with the signed fields, then `file` (S3 semantics: fields
/// after `file` are ignored). Answers 204 like S3.
pub(crate) async fn post_form(
    State(st): State<AppState>,
    req: Request,
) -> Result<StatusCode, ApiError> {
    let signer = signer(&st)?;
    let boundary = multer::parse_boundary(content_type(req.headers()))
        .map_err(|_| Error::invalid("invalid-form", "expected multipart/form-data"))?;
    let mut form = multer::Multipart::new(req.into_body().into_data_stream(), boundary);
    let mut fields = HashMap::new();
    let bad_form =
        |e: multer::Error| Error::invalid("invalid-form", format!("malformed form: {e}"));
    while let Some(field) = form.next_field().await.map_err(bad_form)? {
        let name = field.name().unwrap_or_default().to_ascii_lowercase();
        if name != "file" {
            if fields.len() > 64 {
                return Err(Error::invalid("invalid-form", "too many form fields").into());
            }
            let value = field.text().await.map_err(bad_form)?;
            if value.len() > 16 * 1024 {
                return Err(Error::invalid("invalid-form", "form field too long").into());
            }
            fields.insert(name, value);
            continue;
        }
        let verified = signer.verify_form(&fields, chrono::Utc::now())?;
        let declared = fields
            .get("content-type")
            .cloned()
            .or_else(|| field.content_type().map(|m| m.to_string()))
            .unwrap_or_default();
        check_type(&verified, &declared)?;
        let name = match (verified.name.as_str(), field.file_name()) {
            ("", Some(file_name)) => file_name.to_string(),
            (signed, _) => signed.to_string(),
        };
        let body: ByteStream = Box::pin(field.map_err(std::io::Error::other));
        st.app
            .accept_upload(&verified.key, &name, body, limits(&verified))
            .await?;
        return Ok(StatusCode::NO_CONTENT);
    }
    Err(Error::invalid("invalid-form", "the form has no file part").into())
}

/// `PUT /uploads/{key}?...signature`: the pre-signed PUT. Answers 200 with the image.
pub(crate) async fn put_object(
    State(st): State<AppState>,
    Path(key): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    req: Request,
) -> Result<Response, ApiError> {
    let signer = signer(&st)?;
    let key = BlobKey::parse(&key)?;
    let verified = signer.verify_put(&key, &q, chrono::Utc::now())?;
    check_type(&verified, content_type(req.headers()))?;
    let img = st
        .app
        .accept_upload(
            &key,
            &verified.name,
            body_stream(req.into_body()),
            limits(&verified),
        )
        .await?;
    Ok((StatusCode::OK, Json(image_json(&st, &img).await?)).into_response())
}
