//! [`Catalog`] on PostgreSQL: writes. Reads live in `catalog_read.rs`, tag counters in
//! `counts.rs`.
//!
//! Every write to an existing image runs in one transaction that first locks the image row
//! (`FOR UPDATE`): writes to one image are serialised, so the label set read before and after
//! the change is exact, and the tag counters move by exactly that difference.

use async_trait::async_trait;
use imgtag_core::{
    Catalog, Error, Image, ImageId, ImageQuery, Label, NewImage, Owner, Page, Result, TagCount,
    TagName,
};
use sqlx::{PgConnection, PgPool};

use crate::catalog_read;
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
}

/// A change to one existing image's labels (or the image itself).
enum Write<'a> {
    SetAuto(&'a [Label]),
    AddManual(&'a TagName),
    Remove(&'a TagName),
    Delete,
}

/// Locks (owner, id) for the rest of the transaction; `false` if absent or another owner's.
async fn lock(tx: &mut PgConnection, owner: &Owner, id: &ImageId) -> Result<bool> {
    let found = sqlx::query("SELECT 1 FROM images WHERE id = $1 AND owner = $2 FOR UPDATE")
        .bind(id.as_str())
        .bind(owner.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
    Ok(found.is_some())
}

async fn touch(tx: &mut PgConnection, id: &ImageId) -> Result<()> {
    sqlx::query("UPDATE images SET updated_at = now() WHERE id = $1")
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

async fn drop_auto(tx: &mut PgConnection, id: &ImageId) -> Result<()> {
    sqlx::query("DELETE FROM labels WHERE image_id = $1 AND source = 'auto'")
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Replaces the auto labels. A name given twice keeps its highest confidence; a name that
/// has a manual label keeps the manual one (auto labels are gone, so a conflict is manual).
async fn replace_auto(
    tx: &mut PgConnection,
    owner: &Owner,
    id: &ImageId,
    labels: &[Label],
) -> Result<()> {
    drop_auto(tx, id).await?;
    let mut best: std::collections::BTreeMap<&str, f32> = Default::default();
    for l in labels {
        let c = if l.confidence.is_finite() {
            l.confidence.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let e = best.entry(l.name.as_str()).or_insert(c);
        *e = e.max(c);
    }
    let (names, confs): (Vec<&str>, Vec<f32>) = best.into_iter().unzip();
    sqlx::query(
        "INSERT INTO labels (image_id, owner, name, confidence, source)
         SELECT $1, $2, l.name, l.confidence, 'auto'
         FROM unnest($3::text[], $4::real[]) AS l (name, confidence)
         ON CONFLICT (image_id, name) DO NOTHING",
    )
    .bind(id.as_str())
    .bind(owner.as_str())
    .bind(names)
    .bind(confs)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    sqlx::query(
        "UPDATE images SET status = 'tagged', failure_reason = NULL, updated_at = now()
         WHERE id = $1",
    )
    .bind(id.as_str())
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    Ok(())
}

async fn apply(tx: &mut PgConnection, owner: &Owner, id: &ImageId, write: Write<'_>) -> Result<()> {
    match write {
        Write::SetAuto(labels) => replace_auto(tx, owner, id, labels).await,
        Write::AddManual(tag) => {
            sqlx::query(
                "INSERT INTO labels (image_id, owner, name, confidence, source)
                 VALUES ($1, $2, $3, 1.0, 'manual')
                 ON CONFLICT (image_id, name) DO UPDATE SET confidence = 1.0, source = 'manual'",
            )
            .bind(id.as_str())
            .bind(owner.as_str())
            .bind(tag.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            touch(tx, id).await
        }
        Write::Remove(tag) => {
            sqlx::query("DELETE FROM labels WHERE image_id = $1 AND name = $2")
                .bind(id.as_str())
                .bind(tag.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            touch(tx, id).await
        }
        // Labels go with the image (ON DELETE CASCADE); their counts were read before.
        Write::Delete => {
            sqlx::query("DELETE FROM images WHERE id = $1")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            Ok(())
        }
    }
}

impl PgCatalog {
    /// Runs `write` on (owner, id) in one transaction with the tag counters; `Ok(false)` if
    /// the image does not exist for `owner`.
    async fn write(&self, owner: &Owner, id: &ImageId, write: Write<'_>) -> Result<bool> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        if !lock(&mut tx, owner, id).await? {
            return Ok(false);
        }
        let before = counts::names_of(&mut tx, id).await?;
        apply(&mut tx, owner, id, write).await?;
        let after = counts::names_of(&mut tx, id).await?;
        counts::update(&mut tx, owner, &before, &after).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

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
        drop_auto(&mut tx, &img.id).await?;
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
        self.write(owner, id, Write::Delete).await
    }

    #[tracing::instrument(skip_all, err)]
    async fn list_images(&self, owner: &Owner, query: &ImageQuery) -> Result<Page> {
        catalog_read::check_query(query)?;
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        catalog_read::list(&mut conn, owner, query).await
    }

    #[tracing::instrument(skip_all, fields(image.id = %id, labels = labels.len()), err)]
    async fn set_auto_labels(&self, owner: &Owner, id: &ImageId, labels: &[Label]) -> Result<bool> {
        self.write(owner, id, Write::SetAuto(labels)).await
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
        self.write(owner, id, Write::AddManual(tag)).await
    }

    #[tracing::instrument(skip_all, fields(image.id = %id, tag = %tag), err)]
    async fn remove_label(&self, owner: &Owner, id: &ImageId, tag: &TagName) -> Result<bool> {
        self.write(owner, id, Write::Remove(tag)).await
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
}
