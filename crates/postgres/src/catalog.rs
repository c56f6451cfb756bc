//! [`Catalog`] on PostgreSQL: the port, inserts and re-uploads. Label changes live in
//! `catalog_write.rs`, reads in `catalog_read.rs`, tag counters in `counts.rs`.

use async_trait::async_trait;
use imgtag_core::{
    Catalog, Error, Image, ImageId, ImageQuery, Label, NewImage, Owner, Page, Result, TagCount,
    TagName,
};
use sqlx::PgPool;

use crate::catalog_read;
use crate::catalog_write::{self, write, Write};
use crate::counts;
use crate::db::{db_err, text};

/// The image index on PostgreSQL, shared by every instance that points at the database.
#[derive(Debug, Clone)]
pub struct PgCatalog {
    pool: PgPool,
}

impl PgCatalog {
    /// A catalog over `pool`, whose schema `PgDb::connect` has already migrated.
    pub(crate) fn new(pool: PgPool) -> Self {
        PgCatalog { pool }
    }

    pub(crate) fn pool(&self) -> &PgPool {
        &self.pool
    }
}

impl PgCatalog {
    /// Inserts a new image; `false` if the id exists already (for anyone).
    async fn insert(&self, img: &NewImage) -> Result<bool> {
        let size = i64::try_from(img.size).map_err(|_| Error::invalid("too-large", "size"))?;
        let done = sqlx::query(
            "INSERT INTO images (id, owner, name, blob_key, content_type, size, width, height,
                sha256, status, failure_reason, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', NULL, $10, now())
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(img.id.as_str())
        .bind(img.owner.as_str())
        .bind(text(&img.name))
        .bind(img.blob_key.as_str())
        .bind(text(&img.content_type))
        .bind(size)
        .bind(img.width.map(i64::from))
        .bind(img.height.map(i64::from))
        .bind(img.sha256.as_str())
        .bind(img.created_at)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    /// A re-upload of an existing image: new file, tagging starts over, manual labels stay.
    /// `created_at` keeps the first upload's time, which is also what the id encodes.
    async fn replace(&self, img: &NewImage) -> Result<Replaced> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let holder: Option<String> =
            sqlx::query_scalar("SELECT owner FROM images WHERE id = $1 FOR UPDATE")
                .bind(img.id.as_str())
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
        match holder {
            None => return Ok(Replaced::Gone),
            Some(o) if o != img.owner.as_str() => return Ok(Replaced::Taken),
            Some(_) => {}
        }
        let before = counts::names_of(&mut tx, &img.id).await?;
        let size = i64::try_from(img.size).map_err(|_| Error::invalid("too-large", "size"))?;
        sqlx::query(
            "UPDATE images SET name = $2, blob_key = $3, content_type = $4, size = $5,
                width = $6, height = $7, sha256 = $8, status = 'pending',
                failure_reason = NULL, updated_at = now()
             WHERE id = $1",
        )
        .bind(img.id.as_str())
        .bind(text(&img.name))
        .bind(img.blob_key.as_str())
        .bind(text(&img.content_type))
        .bind(size)
        .bind(img.width.map(i64::from))
        .bind(img.height.map(i64::from))
        .bind(img.sha256.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        catalog_write::drop_auto(&mut tx, &img.id).await?;
        let after = counts::names_of(&mut tx, &img.id).await?;
        counts::update(&mut tx, &img.owner, &before, &after).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(Replaced::Done)
    }

    /// Sets the status of (owner, id); `false` if absent.
    async fn set_status(&self, owner: &Owner, id: &ImageId, reason: Option<&str>) -> Result<bool> {
        let (status, reason) = match reason {
            Some(r) => ("failed", Some(text(r))),
            None => ("pending", None),
        };
        let done = sqlx::query(
            "UPDATE images SET status = $3, failure_reason = $4, updated_at = now()
             WHERE id = $1 AND owner = $2",
        )
        .bind(id.as_str())
        .bind(owner.as_str())
        .bind(status)
        .bind(reason)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }
}

enum Replaced {
    Done,
    Taken,
    /// Deleted between our insert attempt and the lock: insert again.
    Gone,
}

#[async_trait]
impl Catalog for PgCatalog {
    #[tracing::instrument(skip_all, fields(image.id = %image.id), err)]
    async fn upsert_image(&self, image: &NewImage) -> Result<()> {
        // Insert-or-lock instead of a check then insert: two instances upserting the same id
        // at once cannot both insert, and a concurrent delete only means one more round.
        for _ in 0..3 {
            if self.insert(image).await? {
                return Ok(());
            }
            match self.replace(image).await? {
                Replaced::Done => return Ok(()),
                Replaced::Taken => {
                    return Err(Error::Conflict(format!("image id {} is taken", image.id)))
                }
                Replaced::Gone => continue,
            }
        }
        Err(Error::Unavailable(format!(
            "image {} changed concurrently, try again",
            image.id
        )))
    }

    #[tracing::instrument(skip_all, fields(image.id = %id), err)]
    async fn get_image(&self, owner: &Owner, id: &ImageId) -> Result<Option<Image>> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        catalog_read::get(&mut conn, owner, id).await
    }

    #[tracing::instrument(skip_all, fields(image.id = %id), err)]
    async fn delete_image(&self, owner: &Owner, id: &ImageId) -> Result<bool> {
        write(&self.pool, owner, id, Write::Delete).await
    }

    #[tracing::instrument(skip_all, err)]
    async fn list_images(&self, owner: &Owner, query: &ImageQuery) -> Result<Page> {
        query.check()?;
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        catalog_read::list(&mut conn, owner, query).await
    }

    #[tracing::instrument(skip_all, fields(image.id = %id, labels = labels.len()), err)]
    async fn set_auto_labels(&self, owner: &Owner, id: &ImageId, labels: &[Label]) -> Result<bool> {
        write(&self.pool, owner, id, Write::SetAuto(labels)).await
    }

    #[tracing::instrument(skip_all, fields(image.id = %id), err)]
    async fn mark_failed(&self, owner: &Owner, id: &ImageId, reason: &str) -> Result<bool> {
        self.set_status(owner, id, Some(reason)).await
    }

    #[tracing::instrument(skip_all, fields(image.id = %id), err)]
    async fn mark_pending(&self, owner: &Owner, id: &ImageId) -> Result<bool> {
        self.set_status(owner, id, None).await
    }

    #[tracing::instrument(skip_all, fields(image.id = %id, tag = %tag), err)]
    async fn add_manual_label(&self, owner: &Owner, id: &ImageId, tag: &TagName) -> Result<bool> {
        write(&self.pool, owner, id, Write::AddManual(tag)).await
    }

    #[tracing::instrument(skip_all, fields(image.id = %id, tag = %tag), err)]
    async fn remove_label(&self, owner: &Owner, id: &ImageId, tag: &TagName) -> Result<bool> {
        write(&self.pool, owner, id, Write::Remove(tag)).await
    }

    /// `catalog_versions` (migration 7), moved by triggers on images and labels inside the
    /// writing transaction; 0 before the owner's first write.
    async fn version(&self, owner: &Owner) -> Result<Option<u64>> {
        let v: Option<i64> = sqlx::query_scalar("SELECT v FROM catalog_versions WHERE owner = $1")
            .bind(owner.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        // `as`: one u64 per i64, so distinct versions stay distinct.
        Ok(Some(v.unwrap_or(0) as u64))
    }

    async fn find_by_sha256(&self, owner: &Owner, sha256: &str) -> Result<Option<Image>> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        catalog_read::by_sha256(&mut conn, owner, sha256).await
    }

    #[tracing::instrument(skip_all, err)]
    async fn tag_counts(
        &self,
        owner: &Owner,
        prefix: Option<&str>,
        limit: usize,
    ) -> Result<Vec<TagCount>> {
        let prefix = prefix.map(str::to_lowercase).filter(|p| !p.is_empty());
        // No tag holds NUL (PostgreSQL text cannot), so nothing starts with it.
        if prefix.as_deref().is_some_and(|p| p.contains('\0')) {
            return Ok(Vec::new());
        }
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        catalog_read::counts(&mut conn, owner, prefix.as_deref(), limit).await
    }

    #[tracing::instrument(skip_all, fields(image.id = %image.id), err)]
    async fn put_record(&self, image: &Image) -> Result<bool> {
        crate::catalog_import::put(&self.pool, image).await
    }

    /// One transaction per batch, a statement per table rather than per image
    /// (`catalog_import.rs`).
    #[tracing::instrument(skip_all, fields(images = images.len()), err)]
    async fn put_records(&self, images: &[Image]) -> Result<usize> {
        crate::catalog_import::put_many(&self.pool, images).await
    }
}
