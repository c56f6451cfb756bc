//! `Catalog::put_record` on PostgreSQL: stores a complete image as it was elsewhere (`imgtag
//! migrate`), status, timestamps and labels included, with its tag counts, in one transaction.

use std::collections::BTreeSet;

use imgtag_core::{Error, Image, Result};
use sqlx::PgPool;

use crate::counts;
use crate::db::{db_err, text};

/// Inserts `img` with its labels; `false` if the owner has that id already, `Conflict` if
/// another owner does.
pub(crate) async fn put(pool: &PgPool, img: &Image) -> Result<bool> {
    let size = i64::try_from(img.size).map_err(|_| Error::invalid("too-large", "size"))?;
    let mut tx = pool.begin().await.map_err(db_err)?;
    let done = sqlx::query(
        "INSERT INTO images (id, owner, name, blob_key, content_type, size, width, height,
            sha256, status, failure_reason, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
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
    .bind(img.status.as_str())
    .bind(img.failure_reason.as_deref().map(text))
    .bind(img.created_at)
    .bind(img.updated_at)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    if done.rows_affected() == 0 {
        let holder: Option<String> = sqlx::query_scalar("SELECT owner FROM images WHERE id = $1")
            .bind(img.id.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        return match holder {
            Some(o) if o != img.owner.as_str() => {
                Err(Error::Conflict(format!("image id {} is taken", img.id)))
            }
            // The owner's (or deleted a moment ago, which a re-run settles).
            _ => Ok(false),
        };
    }
    // A name twice in `labels` keeps its first entry: labels arrive sorted by confidence.
    let mut seen = BTreeSet::new();
    let (mut names, mut confs, mut sources) = (Vec::new(), Vec::new(), Vec::new());
    let mut boxes = Vec::new();
    for l in &img.labels {
        if seen.insert(l.name.as_str().to_string()) {
            names.push(l.name.as_str());
            confs.push(l.confidence.clamp(0.0, 1.0));
            sources.push(l.source.as_str());
            boxes.push(crate::catalog_read::boxes_to_sql(&l.boxes)?);
        }
    }
    sqlx::query(
        "INSERT INTO labels (image_id, owner, name, confidence, source, boxes)
         SELECT $1, $2, l.name, l.confidence, l.source, l.boxes::jsonb
         FROM unnest($3::text[], $4::real[], $5::text[], $6::text[])
              AS l (name, confidence, source, boxes)",
    )
    .bind(img.id.as_str())
    .bind(img.owner.as_str())
    .bind(names)
    .bind(confs)
    .bind(sources)
    .bind(boxes)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    counts::update(&mut tx, &img.owner, &BTreeSet::new(), &seen).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(true)
}
