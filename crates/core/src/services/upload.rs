//! Uploads: pre-signed forms, and accepting bytes into storage + catalog + queue.

use chrono::Utc;

use super::inspect::{inspect, Inspection};
use super::App;
use crate::domain::{clean_name, Image, ImageId, Owner};
use crate::error::{Error, Result};
use crate::ports::{BlobKey, ByteStream, Job, NewImage, UploadForm, UploadPolicy};
use crate::sniff;

/// A pre-signed upload for a new image id.
#[derive(Debug, Clone)]
pub struct UploadTicket {
    pub id: ImageId,
    pub form: UploadForm,
}

/// Limits an accepted upload was signed with.
#[derive(Debug, Clone)]
pub struct UploadLimits {
    pub min_size: u64,
    pub max_size: u64,
}

impl App {
    /// Signs an upload of one new image for `owner`.
    #[tracing::instrument(skip_all, fields(owner = %owner), err)]
    pub async fn create_upload(
        &self,
        owner: &Owner,
        name: Option<&str>,
        content_type: Option<&str>,
    ) -> Result<UploadTicket> {
        if let Some(ct) = content_type {
            if !ct.starts_with("image/") {
                return Err(Error::invalid(
                    "invalid-content-type",
                    "contentType must start with image/",
                ));
            }
        }
        let id = ImageId::new();
        let policy = UploadPolicy {
            key: BlobKey::for_image(owner, &id),
            // Empty when the client gave none; the upload target may then use the file's own name.
            name: name.map(clean_name).unwrap_or_default(),
            content_type_prefix: "image/".to_string(),
            content_type: content_type.map(str::to_string),
            min_size: 1,
            max_size: self.settings.max_upload_bytes,
            expires_in: self.settings.upload_ttl(),
        };
        let form = self.blobs.presign_upload(&policy).await?;
        if self.blobs.uploads_bypass_app() && self.settings.poll_direct_uploads {
            self.watch_upload(owner, &id, &policy.name, form.expires_at)
                .await?;
        }
        Ok(UploadTicket { id, form })
    }

    /// Stores the bytes of an upload whose signature the caller has verified, records the image
    /// as `pending` and enqueues its tagging, as an S3 ObjectCreated event would. Rejected bytes
    /// (too large, not an image) leave storage and catalog unchanged.
    #[tracing::instrument(skip_all, fields(key = %key), err)]
    pub async fn accept_upload(
        &self,
        key: &BlobKey,
        name: &str,
        body: ByteStream,
        limits: UploadLimits,
    ) -> Result<Image> {
        let (owner, id) = key
            .image_parts()
            .ok_or_else(|| Error::invalid("invalid-key", "not an image upload key"))?;
        let max = limits.max_size.min(self.settings.max_upload_bytes);
        let (body, report) = inspect(body, limits.min_size, max);
        let put = self.blobs.put(key, body).await;
        let report = std::mem::take(&mut *report.lock().expect("inspection lock"));
        if let Some(rejected) = report.rejected {
            return Err(rejected);
        }
        put?;
        self.record_upload(key, &owner, &id, name, report, true)
            .await
    }

    /// Records an inspected, stored upload as `pending` and, if `enqueue_tagging`, enqueues
    /// its tagging.
    pub(super) async fn record_upload(
        &self,
        key: &BlobKey,
        owner: &Owner,
        id: &ImageId,
        name: &str,
        report: Inspection,
        enqueue_tagging: bool,
    ) -> Result<Image> {
        let format = report
            .format
            .ok_or_else(|| Error::internal("upload not inspected"))?;
        let (width, height) = sniff::dimensions(&report.head).unzip();
        let new = NewImage {
            id: id.clone(),
            owner: owner.clone(),
            name: clean_name(name),
            blob_key: key.clone(),
            content_type: format.mime().to_string(),
            size: report.size,
            width,
            height,
            sha256: report.sha256,
            created_at: Utc::now(),
        };
        self.catalog.upsert_image(&new).await?;
        if enqueue_tagging {
            self.queue
                .enqueue(&Job::TagImage {
                    owner: owner.clone(),
                    image: id.clone(),
                })
                .await?;
            self.wake.notify_one();
        }
        self.catalog
            .get_image(owner, id)
            .await?
            .ok_or_else(|| Error::internal("image vanished after upload"))
    }

    /// One-step upload: the request body is the image.
    pub async fn upload_direct(
        &self,
        owner: &Owner,
        name: &str,
        body: ByteStream,
    ) -> Result<Image> {
        let key = BlobKey::for_image(owner, &ImageId::new());
        let limits = UploadLimits {
            min_size: 1,
            max_size: self.settings.max_upload_bytes,
        };
        self.accept_upload(&key, name, body, limits).await
    }
}
