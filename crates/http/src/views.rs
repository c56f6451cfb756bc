//! JSON shapes of the API's answers (the seed's fields first, extensions after).

use imgtag_core::{Error, Image, Label};
use serde_json::{json, Value};

use crate::AppState;

fn label_json(l: &Label) -> Value {
    json!({
        "name": l.name,
        "confidence": (f64::from(l.confidence) * 10000.0).round() / 10000.0,
        "source": l.source.as_str(),
    })
}

/// One image: `id`, `tags`, `fileUrl` (the seed's), then extensions.
pub(crate) async fn image_json(state: &AppState, img: &Image) -> Result<Value, Error> {
    let file_url = state
        .app
        .blobs
        .presign_get(
            &img.blob_key,
            &img.content_type,
            state.app.settings.url_ttl(),
        )
        .await?;
    Ok(json!({
        "id": img.id,
        "tags": img.tags(),
        "fileUrl": file_url,
        "name": img.name,
        "status": img.status.as_str(),
        "failureReason": img.failure_reason,
        "labels": img.labels.iter().map(label_json).collect::<Vec<_>>(),
        "createdAt": img.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "updatedAt": img.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "width": img.width,
        "height": img.height,
        "contentType": img.content_type,
        "size": img.size,
        "sha256": img.sha256,
    }))
}

pub(crate) async fn images_json(state: &AppState, imgs: &[Image]) -> Result<Vec<Value>, Error> {
    let mut out = Vec::with_capacity(imgs.len());
    for img in imgs {
        out.push(image_json(state, img).await?);
    }
    Ok(out)
}
