//! Streaming `put`: a body that fits in one part is a single PutObject; a longer one is a
//! multipart upload, one part in memory at a time. Either way S3 only shows the object once
//! it is complete (PutObject / CompleteMultipartUpload are atomic), and a failing stream
//! never creates or replaces anything: the single put is never sent, the multipart upload is
//! aborted.

use aws_sdk_s3::primitives::ByteStream as S3Body;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use imgtag_core::{BlobKey, ByteStream, Error, Result};

use super::{s3_err, S3BlobStore};

/// S3's minimum for every part but the last is 5 MiB; larger parts mean fewer requests.
pub(crate) const PART_SIZE: usize = 8 * 1024 * 1024;

/// A failed body stream. A producer can carry a domain error through the `io::Error` (e.g. the
/// HTTP layer's size limit as `Error::TooLarge`); it is passed on as is.
fn stream_err(e: std::io::Error) -> Error {
    if e.get_ref().is_some_and(|inner| inner.is::<Error>()) {
        if let Some(Ok(domain)) = e.into_inner().map(|i| i.downcast::<Error>()) {
            return *domain;
        }
        return Error::Internal("upload stream failed".into());
    }
    Error::invalid("upload-interrupted", format!("upload stream failed: {e}"))
}

/// Reads from `body` until `buf` holds at least `PART_SIZE` bytes or the stream ends.
/// Returns whether the stream ended.
async fn fill(body: &mut ByteStream, buf: &mut BytesMut) -> Result<bool> {
    while buf.len() < PART_SIZE {
        match body.next().await {
            Some(Ok(chunk)) => buf.extend_from_slice(&chunk),
            Some(Err(e)) => return Err(stream_err(e)),
            None => return Ok(true),
        }
    }
    Ok(false)
}

/// Aborts a multipart upload that did not complete, even when the `put` future is dropped
/// half-way (the client went away): parts of an unfinished upload would otherwise be billed
/// until a lifecycle rule removes them.
struct AbortGuard {
    store: Option<(S3BlobStore, String, String)>,
}

impl AbortGuard {
    fn disarm(&mut self) {
        self.store = None;
    }
}

impl Drop for AbortGuard {
    fn drop(&mut self) {
        if let Some((store, key, upload_id)) = self.store.take() {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move {
                    let r = store
                        .client
                        .abort_multipart_upload()
                        .bucket(&store.bucket)
                        .key(&key)
                        .upload_id(&upload_id)
                        .send()
                        .await;
                    if let Err(e) = r {
                        tracing::warn!(%key, error = %s3_err("AbortMultipartUpload", e), "abort failed");
                    }
                });
            }
        }
    }
}

impl S3BlobStore {
    pub(crate) async fn put_stream(&self, key: &BlobKey, mut body: ByteStream) -> Result<u64> {
        let mut buf = BytesMut::new();
        if fill(&mut body, &mut buf).await? {
            let len = buf.len() as u64;
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(key.as_str())
                .body(S3Body::from(buf.freeze()))
                .send()
                .await
                .map_err(|e| s3_err("PutObject", e))?;
            return Ok(len);
        }
        self.put_multipart(key, body, buf).await
    }

    async fn put_multipart(
        &self,
        key: &BlobKey,
        mut body: ByteStream,
        mut buf: BytesMut,
    ) -> Result<u64> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await
            .map_err(|e| s3_err("CreateMultipartUpload", e))?;
        let upload_id = created
            .upload_id()
            .ok_or_else(|| Error::Internal("S3 gave no multipart upload id".into()))?
            .to_string();
        let mut guard = AbortGuard {
            store: Some((self.clone(), key.to_string(), upload_id.clone())),
        };
        let mut parts = Vec::new();
        let mut total = 0u64;
        loop {
            let ended = fill(&mut body, &mut buf).await?;
            // Full parts go out as they fill; the remainder is the last part.
            while buf.len() >= PART_SIZE || (ended && !buf.is_empty()) {
                let take = buf.len().min(PART_SIZE);
                let part: Bytes = buf.split_to(take).freeze();
                total += part.len() as u64;
                let number = parts.len() as i32 + 1;
                let etag = self.upload_part(key, &upload_id, number, part).await?;
                parts.push(
                    CompletedPart::builder()
                        .part_number(number)
                        .e_tag(etag)
                        .build(),
                );
            }
            if ended {
                break;
            }
        }
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key.as_str())
            .upload_id(&upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| s3_err("CompleteMultipartUpload", e))?;
        guard.disarm();
        Ok(total)
    }

    async fn upload_part(
        &self,
        key: &BlobKey,
        upload_id: &str,
        number: i32,
        part: Bytes,
    ) -> Result<String> {
        let out = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(key.as_str())
            .upload_id(upload_id)
            .part_number(number)
            .body(S3Body::from(part))
            .send()
            .await
            .map_err(|e| s3_err("UploadPart", e))?;
        Ok(out.e_tag().unwrap_or_default().to_string())
    }
}
