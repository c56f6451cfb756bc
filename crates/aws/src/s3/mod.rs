//! [`BlobStore`] on Amazon S3 or any S3-compatible endpoint. Clients upload straight to the
//! bucket with the pre-signed POST form (or PUT URL) and download through pre-signed GET URLs,
//! so the bucket stays private and image bytes never pass through the API.

mod creds;
mod post_policy;
mod put;

use std::time::Duration;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use bytes::Bytes;
use chrono::Utc;
use imgtag_core::{BlobKey, BlobStore, ByteStream, Error, Result, UploadForm, UploadPolicy};
use std::sync::Arc;

use creds::CredentialsCache;
use post_policy::{PostPolicy, SigningCredentials};

/// Objects in one S3 bucket.
#[derive(Clone)]
pub struct S3BlobStore {
    client: aws_sdk_s3::Client,
    bucket: String,
    region: String,
    creds: Arc<CredentialsCache>,
}

impl std::fmt::Debug for S3BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3BlobStore")
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .finish()
    }
}

/// Error codes that mean "no such object" (HeadObject has no body, so the SDK names it
/// `NotFound`).
const NOT_FOUND: &[&str] = &["NoSuchKey", "NotFound"];
const TRANSIENT: &[&str] = &[
    "SlowDown",
    "ServiceUnavailable",
    "InternalError",
    "RequestTimeout",
    "RequestTimeTooSkewed",
];

fn is_not_found<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    e.code().is_some_and(|c| NOT_FOUND.contains(&c))
}

/// Maps an SDK error: network trouble and throttling are `Unavailable` (retrying may help),
/// anything else (missing bucket, denied, bad credentials) is `Internal`.
pub(crate) fn s3_err<E, R>(op: &'static str, e: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let code = e.code().map(str::to_string);
    crate::sdk_error::sdk_err(format!("S3 {op}"), code.as_deref(), e, TRANSIENT)
}

impl S3BlobStore {
    /// A store over `bucket`. `force_path_style` puts the bucket in the path
    /// (`http://host/bucket/key`), which emulators and most S3-compatible stores need.
    pub fn new(config: &SdkConfig, bucket: impl Into<String>, force_path_style: bool) -> Self {
        let s3 = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(force_path_style)
            .build();
        S3BlobStore {
            client: aws_sdk_s3::Client::from_conf(s3),
            bucket: bucket.into(),
            region: config
                .region()
                .map(|r| r.to_string())
                .unwrap_or_else(|| "us-east-1".into()),
            creds: Arc::new(CredentialsCache::new(config.credentials_provider())),
        }
    }

    /// The bucket name.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    fn presigning(expires_in: Duration) -> Result<PresigningConfig> {
        PresigningConfig::expires_in(expires_in)
            .map_err(|e| Error::invalid("invalid-expiry", format!("cannot presign: {e}")))
    }

    async fn presign_put(&self, key: &BlobKey, expires_in: Duration) -> Result<String> {
        let req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .presigned(Self::presigning(expires_in)?)
            .await
            .map_err(|e| s3_err("presign PutObject", e))?;
        Ok(req.uri().to_string())
    }
}

/// The bucket's own URL (the POST target), from a pre-signed URL of `key` in it: whatever
/// addressing the SDK chose (virtual-hosted, path-style, custom endpoint) carries over.
fn bucket_url(object_url: &str, key: &BlobKey) -> Result<String> {
    let without_query = object_url.split('?').next().unwrap_or_default();
    without_query
        .strip_suffix(key.as_str())
        .filter(|base| base.ends_with('/'))
        .map(str::to_string)
        .ok_or_else(|| Error::Internal(format!("unexpected pre-signed URL {without_query}")))
}

#[async_trait]
impl BlobStore for S3BlobStore {
    #[tracing::instrument(skip_all, fields(key = %key), err)]
    async fn put(&self, key: &BlobKey, body: ByteStream) -> Result<u64> {
        self.put_stream(key, body).await
    }

    #[tracing::instrument(skip_all, fields(key = %key), err)]
    async fn get(&self, key: &BlobKey) -> Result<Bytes> {
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await
            .map_err(|e| {
                if is_not_found(&e) {
                    Error::NotFound("object")
                } else {
                    s3_err("GetObject", e)
                }
            })?;
        let body = out
            .body
            .collect()
            .await
            .map_err(|e| Error::Unavailable(format!("S3 GetObject body: {e}")))?;
        Ok(body.into_bytes())
    }

    async fn get_stream(&self, key: &BlobKey) -> Result<(ByteStream, u64)> {
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await
            .map_err(|e| {
                if is_not_found(&e) {
                    Error::NotFound("object")
                } else {
                    s3_err("GetObject", e)
                }
            })?;
        let len = out.content_length().unwrap_or(0).max(0) as u64;
        // Stops after the first error: a broken download is not resumed.
        let stream = futures::stream::unfold(Some(out.body), |body| async move {
            let mut body = body?;
            match body.try_next().await {
                Ok(Some(chunk)) => Some((Ok(chunk), Some(body))),
                Ok(None) => None,
                Err(e) => Some((Err(std::io::Error::other(e)), None)),
            }
        });
        Ok((Box::pin(stream), len))
    }

    #[tracing::instrument(skip_all, fields(key = %key), err)]
    async fn delete(&self, key: &BlobKey) -> Result<()> {
        // S3 answers 204 for an absent key too: idempotent as the contract wants.
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await
            .map_err(|e| s3_err("DeleteObject", e))?;
        Ok(())
    }

    async fn exists(&self, key: &BlobKey) -> Result<bool> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(s3_err("HeadObject", e)),
        }
    }

    async fn presign_get(
        &self,
        key: &BlobKey,
        content_type: &str,
        expires_in: Duration,
    ) -> Result<String> {
        let req = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .response_content_type(content_type)
            .presigned(Self::presigning(expires_in)?)
            .await
            .map_err(|e| s3_err("presign GetObject", e))?;
        Ok(req.uri().to_string())
    }

    async fn presign_upload(&self, p: &UploadPolicy) -> Result<UploadForm> {
        let now = Utc::now();
        let expires_at = now + chrono::Duration::from_std(p.expires_in).unwrap_or_default();
        let put_url = self.presign_put(&p.key, p.expires_in).await?;
        let creds = self.creds.get().await?;
        // S3 checks the Content-Type condition against this form field only, so it is always
        // sent: the declared type, or the bare prefix range when the client declared none. The
        // real type is sniffed from the bytes when the upload is ingested.
        let content_type = match &p.content_type {
            Some(ct) if ct.starts_with(&p.content_type_prefix) => ct.clone(),
            _ => format!("{}*", p.content_type_prefix),
        };
        let policy = PostPolicy {
            bucket: &self.bucket,
            key: p.key.as_str(),
            content_type_prefix: &p.content_type_prefix,
            content_type: &content_type,
            min_size: p.min_size,
            max_size: p.max_size,
            expires_at,
        };
        let signing = SigningCredentials {
            access_key_id: creds.access_key_id(),
            secret_access_key: creds.secret_access_key(),
            session_token: creds.session_token(),
            region: &self.region,
        };
        Ok(UploadForm {
            url: bucket_url(&put_url, &p.key)?,
            fields: post_policy::form_fields(&policy, &signing, now),
            put_url: Some(put_url),
            expires_at,
        })
    }

    fn uploads_bypass_app(&self) -> bool {
        true
    }

    fn stored_object(&self, key: &BlobKey) -> Option<imgtag_core::StoredObject> {
        Some(imgtag_core::StoredObject {
            bucket: self.bucket.clone(),
            key: key.as_str().to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_url_is_the_object_url_without_the_key() {
        let k = BlobKey::parse("images/a/b").unwrap();
        assert_eq!(
            bucket_url("http://127.0.0.1:5100/bkt/images/a/b?X-Amz-Signature=1", &k).unwrap(),
            "http://127.0.0.1:5100/bkt/"
        );
        assert_eq!(
            bucket_url(
                "https://bkt.s3.eu-west-1.amazonaws.com/images/a/b?x-id=PutObject",
                &k
            )
            .unwrap(),
            "https://bkt.s3.eu-west-1.amazonaws.com/"
        );
        assert!(bucket_url("https://h/other?x", &k).is_err());
    }
}
