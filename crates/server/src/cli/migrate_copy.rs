//! Copying one owner's images: file, thumbnails, catalog record, and a tagging job when the
//! image is still pending. Each image is skipped when the destination has its record, and its
//! record is written last, so an interrupted copy is finished by the next run.

use futures::{StreamExt, TryStreamExt};
use imgtag_core::{
    thumb_key, BlobKey, Error, Image, ImageQuery, ImageStatus, Job, Owner, THUMB_SIZES,
};

use super::migrate_open::Adapters;
use super::progress::Progress;

/// What happened to the images of a migration.
#[derive(Default)]
pub struct Tally {
    pub copied: u64,
    pub skipped: u64,
    pub queued: u64,
    pub missing_blobs: u64,
}

impl Tally {
    pub fn add(&mut self, o: Tally) {
        self.copied += o.copied;
        self.skipped += o.skipped;
        self.queued += o.queued;
        self.missing_blobs += o.missing_blobs;
    }
}

/// Every image of `owner` at the source, newest first.
pub async fn owner_images(side: &Adapters, owner: &Owner) -> anyhow::Result<Vec<Image>> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let q = ImageQuery {
            limit: 1000,
            after,
            ..Default::default()
        };
        let page = side.catalog.list_images(owner, &q).await?;
        out.extend(page.images);
        match page.next {
            Some(c) => after = Some(c),
            None => return Ok(out),
        }
    }
}

/// Copies `images` of `owner`, `parallel` at a time.
pub async fn copy_owner(
    src: &Adapters,
    dst: &Adapters,
    owner: &Owner,
    images: Vec<Image>,
    parallel: usize,
    progress: &Progress,
) -> anyhow::Result<Tally> {
    let outcomes: Vec<Outcome> = futures::stream::iter(images)
        .map(|img| async move {
            let r = copy_image(src, dst, img).await;
            progress.inc();
            r
        })
        .buffer_unordered(parallel)
        .try_collect()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut t = Tally::default();
    for o in outcomes {
        match o {
            Outcome::Skipped { queued } => {
                t.skipped += 1;
                t.queued += queued as u64;
            }
            Outcome::Copied {
                queued,
                missing_blob,
            } => {
                t.copied += 1;
                t.queued += queued as u64;
                t.missing_blobs += missing_blob as u64;
                if missing_blob {
                    progress.println(format!(
                        "warning: {owner}: the file of an image is missing at the source \
                         (record copied as is)"
                    ));
                }
            }
        }
    }
    Ok(t)
}

enum Outcome {
    Skipped { queued: bool },
    Copied { queued: bool, missing_blob: bool },
}

async fn copy_image(src: &Adapters, dst: &Adapters, img: Image) -> Result<Outcome, Error> {
    if let Some(there) = dst.catalog.get_image(&img.owner, &img.id).await? {
        // A run killed between the record and its job leaves the job to this run; the queue
        // drops a duplicate of a waiting job.
        let queued = there.status == ImageStatus::Pending;
        if queued {
            enqueue(dst, &img).await?;
        }
        return Ok(Outcome::Skipped { queued });
    }
    let missing_blob = !copy_blob(src, dst, &img.blob_key).await?;
    for size in THUMB_SIZES {
        copy_blob(src, dst, &thumb_key(&img.owner, &img.id, size)).await?;
    }
    // Another owner holding the id at the destination is a `Conflict`: stop, say which.
    if !dst.catalog.put_record(&img).await? {
        return Ok(Outcome::Skipped { queued: false });
    }
    let queued = img.status == ImageStatus::Pending;
    if queued {
        enqueue(dst, &img).await?;
    }
    Ok(Outcome::Copied {
        queued,
        missing_blob,
    })
}

async fn enqueue(dst: &Adapters, img: &Image) -> Result<(), Error> {
    let queue = dst.queue.as_ref().expect("the destination has a queue");
    queue
        .enqueue(&Job::TagImage {
            owner: img.owner.clone(),
            image: img.id.clone(),
        })
        .await
}

/// Streams one object across; `false` when the source has no such object.
async fn copy_blob(src: &Adapters, dst: &Adapters, key: &BlobKey) -> Result<bool, Error> {
    match src.blobs.get_stream(key).await {
        Ok((body, _len)) => {
            dst.blobs.put(key, body).await?;
            Ok(true)
        }
        Err(Error::NotFound(_)) => Ok(false),
        Err(e) => Err(e),
    }
}
