//! [`Catalog`] on SQLite: writes. Reads live in `catalog_read.rs`.
//!
//! Tag counts live in `tag_counts`, kept by triggers on `labels` (migration 5) in the same
//! transaction as every label write, so no write path here has to remember them.

use async_trait::async_trait;
use chrono::{SecondsFormat, Utc};
use imgtag_core::{
    Catalog, Error, Image, ImageId, ImageQuery, Label, NewImage, Owner, Page, Result, TagCount,
    TagName,
};
use rusqlite::{params, OptionalExtension, Transaction};

use crate::catalog_read;
use crate::db::{sql_err, SqliteDb};

/// The image index on the embedded database.
#[derive(Debug, Clone)]
pub struct SqliteCatalog {
    pub(crate) db: SqliteDb,
}

impl SqliteCatalog {
    /// A catalog over `db` (whose schema `SqliteDb::open` has already migrated).
    pub fn new(db: SqliteDb) -> Self {
        SqliteCatalog { db }
    }
}

/// Timestamps are stored as RFC 3339 text with nanoseconds: exact round trip, and text order
/// equals time order.
pub(crate) fn ts(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// Whether (owner, id) exists. Another owner's image counts as absent.
fn owned(tx: &Transaction<'_>, owner: &Owner, id: &ImageId) -> Result<bool> {
    tx.query_row(
        "SELECT 1 FROM images WHERE id = ?1 AND owner = ?2",
        params![id.as_str(), owner.as_str()],
        |_| Ok(()),
    )
    .optional()
    .map(|r| r.is_some())
    .map_err(sql_err)
}

fn touch(tx: &Transaction<'_>, id: &ImageId) -> Result<()> {
    tx.execute(
        "UPDATE images SET updated_at = ?2 WHERE id = ?1",
        params![id.as_str(), ts(Utc::now())],
    )
    .map_err(sql_err)?;
    Ok(())
}

fn upsert(tx: &Transaction<'_>, img: &NewImage) -> Result<()> {
    let holder: Option<String> = tx
        .query_row(
            "SELECT owner FROM images WHERE id = ?1",
            [img.id.as_str()],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql_err)?;
    let now = ts(Utc::now());
    match holder {
        Some(o) if o != img.owner.as_str() => {
            return Err(Error::Conflict(format!("image id {} is taken", img.id)))
        }
        // A re-upload: new file, tagging starts over, manual labels stay. `created_at` keeps
        // the first upload's time, which is also what the id encodes.
        Some(_) => {
            tx.execute(
                "UPDATE images SET name = ?2, blob_key = ?3, content_type = ?4, size = ?5,
                    width = ?6, height = ?7, sha256 = ?8, status = 'pending',
                    failure_reason = NULL, updated_at = ?9
                 WHERE id = ?1",
                params![
                    img.id.as_str(),
                    img.name,
                    img.blob_key.as_str(),
                    img.content_type,
                    img.size as i64,
                    img.width,
                    img.height,
                    img.sha256,
                    now
                ],
            )
            .map_err(sql_err)?;
            tx.execute(
                "DELETE FROM labels WHERE image_id = ?1 AND source = 'auto'",
                [img.id.as_str()],
            )
            .map_err(sql_err)?;
        }
        None => {
            tx.execute(
                "INSERT INTO images (id, owner, name, blob_key, content_type, size, width,
                    height, sha256, status, failure_reason, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending', NULL, ?10, ?11)",
                params![
                    img.id.as_str(),
                    img.owner.as_str(),
                    img.name,
                    img.blob_key.as_str(),
                    img.content_type,
                    img.size as i64,
                    img.width,
                    img.height,
                    img.sha256,
                    ts(img.created_at),
                    now
                ],
            )
            .map_err(sql_err)?;
        }
    }
    Ok(())
}

fn replace_auto(tx: &Transaction<'_>, owner: &Owner, id: &ImageId, labels: &[Label]) -> Result<()> {
    tx.execute(
        "DELETE FROM labels WHERE image_id = ?1 AND source = 'auto'",
        [id.as_str()],
    )
    .map_err(sql_err)?;
    // A name already labelled `manual` keeps its manual label (the WHERE on the upsert);
    // a name given twice keeps its highest confidence.
    let mut ins = tx
        .prepare_cached(
            "INSERT INTO labels (image_id, owner, name, confidence, source, boxes)
             VALUES (?1, ?2, ?3, ?4, 'auto', ?5)
             ON CONFLICT (image_id, name) DO UPDATE
                SET confidence = max(confidence, excluded.confidence),
                    boxes = CASE WHEN excluded.confidence > confidence
                                 THEN excluded.boxes ELSE boxes END
                WHERE source = 'auto'",
        )
        .map_err(sql_err)?;
    for l in labels {
        let c = if l.confidence.is_finite() {
            l.confidence.clamp(0.0, 1.0)
        } else {
            0.0
        };
        ins.execute(params![
            id.as_str(),
            owner.as_str(),
            l.name.as_str(),
            c as f64,
            crate::catalog_read::boxes_to_sql(&l.boxes)?
        ])
        .map_err(sql_err)?;
    }
    drop(ins);
    tx.execute(
        "UPDATE images SET status = 'tagged', failure_reason = NULL, updated_at = ?2
         WHERE id = ?1",
        params![id.as_str(), ts(Utc::now())],
    )
    .map_err(sql_err)?;
    Ok(())
}

impl SqliteCatalog {
    /// Runs `f` in one write transaction if (owner, id) exists; `Ok(false)` otherwise.
    async fn with_image<F>(&self, owner: &Owner, id: &ImageId, f: F) -> Result<bool>
    where
        F: FnOnce(&Transaction<'_>, &Owner, &ImageId) -> Result<()> + Send + 'static,
    {
        let (owner, id) = (owner.clone(), id.clone());
        self.db
            .call(move |conn| {
                // IMMEDIATE takes the write lock up front, so the existence check and the
                // write see the same state even if another process writes too.
                let tx = conn
                    .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                    .map_err(sql_err)?;
                if !owned(&tx, &owner, &id)? {
                    return Ok(false);
                }
                f(&tx, &owner, &id)?;
                tx.commit().map_err(sql_err)?;
                Ok(true)
            })
            .await
    }
}

#[async_trait]
impl Catalog for SqliteCatalog {
    #[tracing::instrument(skip_all, fields(image.id = %image.id), err)]
    async fn upsert_image(&self, image: &NewImage) -> Result<()> {
        let image = image.clone();
        self.db
            .call(move |conn| {
                let tx = conn
                    .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                    .map_err(sql_err)?;
                upsert(&tx, &image)?;
                tx.commit().map_err(sql_err)
            })
            .await
    }

    #[tracing::instrument(skip_all, fields(image.id = %id), err)]
    async fn get_image(&self, owner: &Owner, id: &ImageId) -> Result<Option<Image>> {
        let (owner, id) = (owner.clone(), id.clone());
        self.db
            .call_read(move |conn| catalog_read::get(conn, &owner, &id))
            .await
    }

    #[tracing::instrument(skip_all, fields(image.id = %id), err)]
    async fn delete_image(&self, owner: &Owner, id: &ImageId) -> Result<bool> {
        self.with_image(owner, id, |tx, _, id| {
            // Labels go with the image (also ON DELETE CASCADE; explicit so counts never
            // depend on the foreign_keys pragma being on).
            tx.execute("DELETE FROM labels WHERE image_id = ?1", [id.as_str()])
                .map_err(sql_err)?;
            tx.execute("DELETE FROM images WHERE id = ?1", [id.as_str()])
                .map_err(sql_err)?;
            Ok(())
        })
        .await
    }

    #[tracing::instrument(skip_all, err)]
    async fn list_images(&self, owner: &Owner, query: &ImageQuery) -> Result<Page> {
        query.check()?;
        let (owner, query) = (owner.clone(), query.clone());
        self.db
            .call_read(move |conn| catalog_read::list(conn, &owner, &query))
            .await
    }

    #[tracing::instrument(skip_all, fields(image.id = %id, labels = labels.len()), err)]
    async fn set_auto_labels(&self, owner: &Owner, id: &ImageId, labels: &[Label]) -> Result<bool> {
        let labels = labels.to_vec();
        self.with_image(owner, id, move |tx, owner, id| {
            replace_auto(tx, owner, id, &labels)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(image.id = %id), err)]
    async fn mark_failed(&self, owner: &Owner, id: &ImageId, reason: &str) -> Result<bool> {
        let reason = reason.to_string();
        self.with_image(owner, id, move |tx, _, id| {
            tx.execute(
                "UPDATE images SET status = 'failed', failure_reason = ?2, updated_at = ?3
                 WHERE id = ?1",
                params![id.as_str(), reason, ts(Utc::now())],
            )
            .map_err(sql_err)?;
            Ok(())
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(image.id = %id), err)]
    async fn mark_pending(&self, owner: &Owner, id: &ImageId) -> Result<bool> {
        self.with_image(owner, id, |tx, _, id| {
            tx.execute(
                "UPDATE images SET status = 'pending', failure_reason = NULL, updated_at = ?2
                 WHERE id = ?1",
                params![id.as_str(), ts(Utc::now())],
            )
            .map_err(sql_err)?;
            Ok(())
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(image.id = %id, tag = %tag), err)]
    async fn add_manual_label(&self, owner: &Owner, id: &ImageId, tag: &TagName) -> Result<bool> {
        let tag = tag.clone();
        self.with_image(owner, id, move |tx, owner, id| {
            tx.execute(
                "INSERT INTO labels (image_id, owner, name, confidence, source)
                 VALUES (?1, ?2, ?3, 1.0, 'manual')
                 ON CONFLICT (image_id, name) DO UPDATE SET confidence = 1.0, source = 'manual'",
                params![id.as_str(), owner.as_str(), tag.as_str()],
            )
            .map_err(sql_err)?;
            touch(tx, id)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(image.id = %id, tag = %tag), err)]
    async fn remove_label(&self, owner: &Owner, id: &ImageId, tag: &TagName) -> Result<bool> {
        let tag = tag.clone();
        self.with_image(owner, id, move |tx, _, id| {
            tx.execute(
                "DELETE FROM labels WHERE image_id = ?1 AND name = ?2",
                params![id.as_str(), tag.as_str()],
            )
            .map_err(sql_err)?;
            touch(tx, id)
        })
        .await
    }

    /// `catalog_versions` (migration 7), moved by triggers; 0 before the owner's first write.
    async fn version(&self, owner: &Owner) -> Result<Option<u64>> {
        let owner = owner.clone();
        self.db
            .call_read_brief(move |conn| {
                let v: Option<i64> = conn
                    .prepare_cached("SELECT v FROM catalog_versions WHERE owner = ?1")
                    .and_then(|mut s| s.query_row([owner.as_str()], |r| r.get(0)).optional())
                    .map_err(sql_err)?;
                Ok(Some(v.unwrap_or(0) as u64))
            })
            .await
    }

    async fn find_by_sha256(&self, owner: &Owner, sha256: &str) -> Result<Option<Image>> {
        let (owner, sha256) = (owner.clone(), sha256.to_string());
        self.db
            .call_read(move |conn| catalog_read::by_sha256(conn, &owner, &sha256))
            .await
    }

    #[tracing::instrument(skip_all, err)]
    async fn tag_counts(
        &self,
        owner: &Owner,
        prefix: Option<&str>,
        limit: usize,
    ) -> Result<Vec<TagCount>> {
        let owner = owner.clone();
        let prefix = prefix.map(str::to_lowercase).filter(|p| !p.is_empty());
        self.db
            .call_read(move |conn| catalog_read::counts(conn, &owner, prefix.as_deref(), limit))
            .await
    }

    #[tracing::instrument(skip_all, fields(image.id = %image.id), err)]
    async fn put_record(&self, image: &Image) -> Result<bool> {
        let image = image.clone();
        self.db
            .call(move |conn| {
                let tx = conn
                    .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                    .map_err(sql_err)?;
                let stored = crate::catalog_import::put(&tx, &image)?;
                tx.commit().map_err(sql_err)?;
                Ok(stored)
            })
            .await
    }

    /// One transaction per batch: a commit (and its fsync) per image would make a large
    /// import take hours.
    async fn put_records(&self, images: &[Image]) -> Result<usize> {
        let images = images.to_vec();
        self.db
            .call(move |conn| {
                let tx = conn
                    .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                    .map_err(sql_err)?;
                let mut stored = 0;
                for img in &images {
                    stored += usize::from(crate::catalog_import::put(&tx, img)?);
                }
                tx.commit().map_err(sql_err)?;
                Ok(stored)
            })
            .await
    }
}
