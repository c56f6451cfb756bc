//! Bulk and administrative use cases for the command line (`imgtag import`, `imgtag user`,
//! `imgtag retag`). They go through the same ports and rules as the HTTP API.

use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::App;
use crate::domain::{Image, ImageId, ImageStatus, Owner, TagName};
use crate::error::{Error, Result};
use crate::ports::{bytes_stream, ImageQuery, Job};

/// What importing one file did.
#[derive(Debug)]
pub enum Imported {
    /// Stored and queued for tagging.
    New(Image),
    /// The owner already has these exact bytes; nothing was stored.
    Existing(Image),
}

const PAGE: usize = 500;

impl App {
    /// Stores `bytes` as a new image of `owner`, unless the owner already has an image with the
    /// same SHA-256. An existing image still `pending` is queued again (enqueue dedups), so an
    /// import interrupted between storing and queueing finishes on the next run.
    pub async fn import_bytes(&self, owner: &Owner, name: &str, bytes: Bytes) -> Result<Imported> {
        let sha256 = hex::encode(Sha256::digest(&bytes));
        if let Some(image) = self.catalog.find_by_sha256(owner, &sha256).await? {
            if image.status == ImageStatus::Pending {
                self.enqueue_tagging(owner, &image.id).await?;
            }
            return Ok(Imported::Existing(image));
        }
        self.upload_direct(owner, name, bytes_stream(bytes))
            .await
            .map(Imported::New)
    }

    async fn enqueue_tagging(&self, owner: &Owner, id: &ImageId) -> Result<()> {
        let job = Job::TagImage {
            owner: owner.clone(),
            image: id.clone(),
        };
        self.queue.enqueue(&job).await?;
        self.wake.notify_one();
        Ok(())
    }

    /// Ids of the owner's images, newest first, optionally only those carrying `tag`.
    pub async fn image_ids(&self, owner: &Owner, tag: Option<&TagName>) -> Result<Vec<ImageId>> {
        let mut ids = Vec::new();
        let mut query = ImageQuery {
            all_tags: tag.cloned().into_iter().collect(),
            limit: PAGE,
            ..Default::default()
        };
        loop {
            let page = self.catalog.list_images(owner, &query).await?;
            ids.extend(page.images.into_iter().map(|i| i.id));
            match page.next {
                Some(next) => query.after = Some(next),
                None => return Ok(ids),
            }
        }
    }

    /// Removes the account and every image it owns (files and thumbnails included). The
    /// images go first: if this stops half way, running it again finishes the job.
    pub async fn delete_user(&self, username: &str) -> Result<usize> {
        let user = self
            .accounts
            .find_user(username)
            .await?
            .ok_or(Error::NotFound("user"))?;
        let ids = self.image_ids(&user.owner, None).await?;
        for id in &ids {
            match self.delete_image(&user.owner, id.as_str()).await {
                Ok(_) | Err(Error::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        self.accounts.delete_user(username).await?;
        Ok(ids.len())
    }
}
