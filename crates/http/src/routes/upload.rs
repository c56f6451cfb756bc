//! Uploads: the seed's pre-signed POST form, a pre-signed PUT, and one-step direct upload.
//! This server is the upload target when blobs are local; it checks what S3 would check.

use std::collections::{BTreeMap, HashMap};

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::TryStreamExt;
use imgtag_core::services::UploadLimits;
use imgtag_core::signing::VerifiedUpload;
use imgtag_core::{BlobKey, ByteStream, Error};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody};
use crate::json_body::OptionalJsonBody;
use crate::views::{image_json, ImageView};
use crate::{AppState, Auth};

/// Optional details of a pre-signed upload.
#[derive(Deserialize, Default, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UploadRequest {
    /// File name to keep with the image.
    #[schema(example = "chelsea.jpg")]
    name: Option<String>,
    /// Must start with `image/`.
    #[schema(example = "image/jpeg")]
    content_type: Option<String>,
}

/// The image file itself.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub(crate) struct ImageBytes(#[allow(dead_code)] Vec<u8>);

/// An S3-style POST policy upload: send every `formFields` entry, then the `file` part.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FormConfig {
    upload_url: String,
    /// `Key`, `Policy`, `X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Signature`, ...
    form_fields: BTreeMap<String, String>,
}

/// A pre-signed upload (the seed's `formConfig`, plus a pre-signed PUT).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UploadTicket {
    form_config: FormConfig,
    /// Id the image will have.
    id: String,
    /// Pre-signed PUT alternative to the form.
    put_url: Option<String>,
    /// RFC 3339; the form and the PUT URL stop working then.
    expires_at: String,
}

/// Multipart form for the upload target: the signed fields, then `file`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct UploadForm {
    #[schema(rename = "Key")]
    key: String,
    #[schema(rename = "Policy")]
    policy: String,
    #[schema(rename = "X-Amz-Signature")]
    signature: String,
    /// Last part; fields after it are ignored, as S3 does.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
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

/// A pre-signed upload, or (with an `image/*` body) the upload itself.
#[utoipa::path(post, path = "/images", tag = "images", security(("bearer" = [])),
    params(("name" = Option<String>, Query, description = "File name for a direct `image/*` upload (or header `X-File-Name`)")),
    request_body(content(
        (UploadRequest = "application/json"),
        (ImageBytes = "image/*"),
    ), description = "Optional JSON for a pre-signed upload (read as JSON with no Content-Type, `application/json`, `text/plain` or form-urlencoded; no body or `{}` takes the defaults), or the image itself"),
    responses(
        (status = 201, body = UploadTicket, description = "A pre-signed upload; for an `image/*` body, the stored image (see `ImageView`)"),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody, description = "Not a supported image format, or a Content-Type that cannot carry JSON"),
    ))]
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
    // No body, an empty one or `{}`: a pre-signed upload with defaults (the seed sends none).
    let body: UploadRequest = {
        use axum::extract::FromRequest;
        OptionalJsonBody::<UploadRequest>::from_request(req, &st)
            .await?
            .0
    };
    let ticket = st
        .app
        .create_upload(
            &caller.owner,
            body.name.as_deref(),
            body.content_type.as_deref(),
        )
        .await?;
    let answer = UploadTicket {
        form_config: FormConfig {
            upload_url: ticket.form.url,
            form_fields: ticket.form.fields.into_iter().collect(),
        },
        id: ticket.id.to_string(),
        put_url: ticket.form.put_url,
        expires_at: ticket
            .form
            .expires_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    };
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

/// The upload target of the pre-signed form (S3 semantics: fields after `file` are ignored).
/// Answers 204 like S3.
#[utoipa::path(post, path = "/uploads", tag = "uploads",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 204, description = "Stored; tagging is queued"),
        (status = 400, body = ErrorBody, description = "Malformed form, too small"),
        (status = 403, body = ErrorBody, description = "Bad or expired signature, policy violated"),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
    ))]
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

/// The pre-signed PUT (`putUrl`). Answers 200 with the image.
#[utoipa::path(put, path = "/uploads/{key}", tag = "uploads",
    params(("key" = String, Path, description = "Blob key, may contain `/`; the query carries the signature")),
    request_body(content = ImageBytes, content_type = "image/*"),
    responses(
        (status = 200, body = ImageView),
        (status = 403, body = ErrorBody, description = "Bad or expired signature, wrong type"),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
    ))]
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
