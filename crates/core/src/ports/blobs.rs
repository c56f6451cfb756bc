use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::Stream;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A stream of body chunks. An `Err` item aborts the write that consumes it.
pub type ByteStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// A blob key: `/`-separated segments of `[A-Za-z0-9._-]`, no empty, `.` or `..` segment, at
/// most 512 bytes. Parsing is the only path-traversal defence adapters need.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BlobKey(String);

impl BlobKey {
    pub fn parse(s: &str) -> Result<Self> {
        let seg_ok = |seg: &str| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        };
        if s.len() <= 512 && s.split('/').all(seg_ok) {
            Ok(BlobKey(s.to_owned()))
        } else {
            Err(Error::invalid(
                "invalid-key",
                format!("invalid object key {s:?}"),
            ))
        }
    }

    /// The key of an uploaded original: `images/<owner>/<id>`.
    pub fn for_image(owner: &crate::Owner, id: &crate::ImageId) -> Self {
        BlobKey(format!("images/{owner}/{id}"))
    }

    /// Inverse of [`BlobKey::for_image`].
    pub fn image_parts(&self) -> Option<(crate::Owner, crate::ImageId)> {
        let mut it = self.0.split('/');
        match (it.next(), it.next(), it.next(), it.next()) {
            (Some("images"), Some(o), Some(i), None) => {
                Some((crate::Owner::parse(o).ok()?, crate::ImageId::parse(i).ok()?))
            }
            _ => None,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for BlobKey {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        BlobKey::parse(&s)
    }
}
impl From<BlobKey> for String {
    fn from(k: BlobKey) -> String {
        k.0
    }
}
impl std::fmt::Display for BlobKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a pre-signed upload must satisfy.
#[derive(Debug, Clone)]
pub struct UploadPolicy {
    pub key: BlobKey,
    /// Display name carried with the upload (signed, so the target can trust it).
    pub name: String,
    /// Required prefix of the upload's `Content-Type` (`image/`).
    pub content_type_prefix: String,
    /// The type the client declared, if any. Adapters whose upload target checks a
    /// `Content-Type` form field (S3) pre-fill it, so a client need not add one.
    pub content_type: Option<String>,
    pub min_size: u64,
    pub max_size: u64,
    pub expires_in: Duration,
}

/// A pre-signed upload in the seed's shape: POST `url` as multipart/form-data with every
/// field of `fields`, then a `file` part; or PUT the body to `put_url`.
#[derive(Debug, Clone, Serialize)]
pub struct UploadForm {
    pub url: String,
    /// Ordered as the client should send them.
    pub fields: Vec<(String, String)>,
    pub put_url: Option<String>,
    pub expires_at: DateTime<Utc>,
}

/// Where an object lives in an S3-compatible bucket, for services that read it from there
/// themselves (Rekognition takes an `S3Object` instead of the bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub bucket: String,
    pub key: String,
}

/// Object storage.
///
/// Contract:
/// - `put` consumes the whole stream and stores it at `key`, replacing any previous object,
///   atomically: readers see the old object or the complete new one, never a part. If the
///   stream yields an error, `put` returns an error and the previous state is unchanged. When
///   `put` returns `Ok`, the object is durable (survives a crash).
/// - `get` returns the whole object, or [`Error::NotFound`] if absent.
/// - `delete` is idempotent: deleting an absent key is `Ok`.
/// - `presign_get` returns a URL that serves the object without other credentials until it
///   expires, with the given `Content-Type`.
/// - `presign_upload` returns a form whose use by a client results in a `put` at the policy's
///   key, and only if every condition of the policy holds.
#[async_trait]
pub trait BlobStore: Send + Sync {
    async fn put(&self, key: &BlobKey, body: ByteStream) -> Result<u64>;
    async fn get(&self, key: &BlobKey) -> Result<Bytes>;
    /// Streams the object with its length (downloads); same errors as `get`. The default reads
    /// the whole object; adapters that can stream override it.
    async fn get_stream(&self, key: &BlobKey) -> Result<(ByteStream, u64)> {
        let b = self.get(key).await?;
        let len = b.len() as u64;
        Ok((bytes_stream(b), len))
    }
    async fn delete(&self, key: &BlobKey) -> Result<()>;
    async fn exists(&self, key: &BlobKey) -> Result<bool>;
    async fn presign_get(
        &self,
        key: &BlobKey,
        content_type: &str,
        expires_in: Duration,
    ) -> Result<String>;
    async fn presign_upload(&self, policy: &UploadPolicy) -> Result<UploadForm>;
    /// `true` when a client's use of [`BlobStore::presign_upload`] stores the object without
    /// passing through this application (S3): nothing calls `accept_upload` then, so the
    /// application must learn of the upload itself (see `App::ingest_upload`).
    fn uploads_bypass_app(&self) -> bool {
        false
    }
    /// The bucket and key `key` is stored at, when other services can read it there (S3);
    /// `None` (the default) when only this store can (files on disk).
    fn stored_object(&self, key: &BlobKey) -> Option<StoredObject> {
        let _ = key;
        None
    }
}

/// Wraps a byte slice as a [`ByteStream`] (tests and small bodies).
pub fn bytes_stream(b: impl Into<Bytes>) -> ByteStream {
    let b: Bytes = b.into();
    Box::pin(futures::stream::once(async move { Ok(b) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_reject_traversal() {
        for bad in [
            "", "/a", "a/", "a//b", "../x", "a/../b", "a/./b", "a b", "a\\b", "%2e%2e",
        ] {
            assert!(BlobKey::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(BlobKey::parse("images/alice/0190a0b0c0d0e0f0a0b0c0d0e0f0a0b0").is_ok());
    }

    #[test]
    fn image_keys_round_trip() {
        let o = crate::Owner::parse("alice").unwrap();
        let id = crate::ImageId::new();
        let k = BlobKey::for_image(&o, &id);
        assert_eq!(k.image_parts(), Some((o, id)));
        assert_eq!(BlobKey::parse("thumbs/a/b").unwrap().image_parts(), None);
    }
}
