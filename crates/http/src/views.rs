//! JSON shapes of the API's answers (the seed's fields first, extensions after). They are typed
//! and derive `ToSchema`, so the OpenAPI description is generated from what is really sent.

use imgtag_core::ports::{thumb_key, THUMB_SIZES};
use imgtag_core::{Error, Image, ImageStatus, Label};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;

/// A tag on an image with the tagger's confidence.
#[derive(Serialize, ToSchema)]
pub(crate) struct LabelView {
    #[schema(example = "cat")]
    name: String,
    /// In [0, 1]; manual tags have 1.
    #[schema(example = 0.94)]
    confidence: f64,
    /// `auto` (from the tagger) or `manual` (added by the user).
    #[schema(example = "auto")]
    source: &'static str,
    /// Where the label was found (detector labels such as `face`, `person`, `cup`); omitted for
    /// whole-image labels. (`default` marks it optional in the OpenAPI schema.)
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    boxes: Vec<BoxView>,
    /// How many were found: the number of `boxes` (three people, two cups); omitted with them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 2)]
    count: Option<usize>,
}

/// A region of the image as fractions of its (EXIF-oriented) width and height, origin top left.
#[derive(Serialize, ToSchema)]
pub(crate) struct BoxView {
    /// Left edge, in [0, 1].
    #[schema(example = 0.35)]
    x: f64,
    /// Top edge, in [0, 1].
    #[schema(example = 0.16)]
    y: f64,
    /// Width, in [0, 1].
    #[schema(example = 0.19)]
    w: f64,
    /// Height, in [0, 1].
    #[schema(example = 0.19)]
    h: f64,
}

/// One image: `id`, `tags`, `fileUrl` (the seed's), then extensions.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ImageView {
    #[schema(example = "01a21471fd9d71c890ba9a212b01fc7f")]
    id: String,
    /// Label names, most confident first.
    tags: Vec<String>,
    /// Short-lived signed URL of the file, usable in `<img src>`.
    file_url: String,
    /// Signed URL of a JPEG at most 256 px on the long side; `null` until the image is tagged.
    thumbnail_url: Option<String>,
    /// Signed URL of a JPEG at most 1024 px on the long side; `null` until the image is tagged.
    preview_url: Option<String>,
    name: String,
    /// `pending`, `tagged` or `failed`.
    #[schema(example = "tagged")]
    status: &'static str,
    /// Why tagging failed (status `failed` only).
    failure_reason: Option<String>,
    labels: Vec<LabelView>,
    /// RFC 3339.
    created_at: String,
    updated_at: String,
    width: Option<u32>,
    height: Option<u32>,
    content_type: String,
    size: u64,
    sha256: String,
}

fn label_view(l: &Label) -> LabelView {
    LabelView {
        name: l.name.to_string(),
        confidence: (f64::from(l.confidence) * 10000.0).round() / 10000.0,
        source: l.source.as_str(),
        boxes: l
            .boxes
            .iter()
            .map(|b| {
                let r = |v: f32| (f64::from(v) * 10000.0).round() / 10000.0;
                BoxView {
                    x: r(b.x),
                    y: r(b.y),
                    w: r(b.w),
                    h: r(b.h),
                }
            })
            .collect(),
        count: (!l.boxes.is_empty()).then_some(l.boxes.len()),
    }
}

pub(crate) async fn image_json(state: &AppState, img: &Image) -> Result<ImageView, Error> {
    let file_url = state
        .app
        .blobs
        .presign_get(
            &img.blob_key,
            &img.content_type,
            state.app.settings.url_ttl(),
        )
        .await?;
    let time =
        |t: &chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let [thumbnail_url, preview_url] = [THUMB_SIZES[0], THUMB_SIZES[1]];
    Ok(ImageView {
        id: img.id.to_string(),
        tags: img.tags().into_iter().map(String::from).collect(),
        file_url,
        thumbnail_url: thumb_url(state, img, thumbnail_url).await?,
        preview_url: thumb_url(state, img, preview_url).await?,
        name: img.name.clone(),
        status: img.status.as_str(),
        failure_reason: img.failure_reason.clone(),
        labels: img.labels.iter().map(label_view).collect(),
        created_at: time(&img.created_at),
        updated_at: time(&img.updated_at),
        width: img.width,
        height: img.height,
        content_type: img.content_type.clone(),
        size: img.size,
        sha256: img.sha256.clone(),
    })
}

/// A signed URL of one of the image's thumbnails, if it was made.
/// The signed URL of a thumbnail. Tagging makes thumbnails before it marks an image `tagged`,
/// so no per-image existence check (a stat locally, an S3 HEAD on AWS, twice per image) runs on
/// listings; a thumbnail that could not be made is answered with the original (`files.rs`).
async fn thumb_url(state: &AppState, img: &Image, size: u32) -> Result<Option<String>, Error> {
    if state.app.thumbnailer.is_none() || img.status != ImageStatus::Tagged {
        return Ok(None);
    }
    let key = thumb_key(&img.owner, &img.id, size);
    let url = state
        .app
        .blobs
        .presign_get(&key, "image/jpeg", state.app.settings.url_ttl())
        .await?;
    Ok(Some(url))
}

pub(crate) async fn images_json(state: &AppState, imgs: &[Image]) -> Result<Vec<ImageView>, Error> {
    let mut out = Vec::with_capacity(imgs.len());
    for img in imgs {
        out.push(image_json(state, img).await?);
    }
    Ok(out)
}

/// A page of images.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ImageList {
    pub images: Vec<ImageView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// `{"message": ...}` answers (sign-up, delete).
#[derive(Serialize, ToSchema)]
pub(crate) struct Message {
    #[schema(example = "Created")]
    pub message: String,
}

/// A signed-in session.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionView {
    /// Bearer token (a JWT).
    pub token: String,
    /// Exchange at `POST /token/refresh` for a new session (rotates).
    pub refresh_token: Option<String>,
    /// Seconds until `token` expires.
    pub expires_in: u64,
}
