//! [`imgtag_core::Catalog`] on PostgreSQL: changes to one existing image's labels, each in
//! one transaction with the tag counters.
//!
//! The transaction first locks the image row (`FOR UPDATE`): writes to one image are
//! serialised, so the label set read before and after the change is exact, and the tag
//! counters move by exactly that difference.

use imgtag_core::{ImageId, Label, Owner, Result, TagName};
use sqlx::{PgConnection, PgPool};

use crate::counts;
use crate::db::db_err;

/// A change to one existing image's labels (or the image itself).
pub(crate) enum Write<'a> {
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

pub(crate) async fn drop_auto(tx: &mut PgConnection, id: &ImageId) -> Result<()> {
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
    // Per name: the highest confidence, with that label's boxes.
    let mut best: std::collections::BTreeMap<&str, (f32, &Label)> = Default::default();
    for l in labels {
        let c = if l.confidence.is_finite() {
            l.confidence.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let e = best.entry(l.name.as_str()).or_insert((c, l));
        if c > e.0 {
            *e = (c, l);
        }
    }
    let (mut names, mut confs, mut boxes) = (Vec::new(), Vec::new(), Vec::new());
    for (name, (c, l)) in best {
        names.push(name);
        confs.push(c);
        boxes.push(crate::catalog_read::boxes_to_sql(&l.boxes)?);
    }
    sqlx::query(
        "INSERT INTO labels (image_id, owner, name, confidence, source, boxes)
         SELECT $1, $2, l.name, l.confidence, 'auto', l.boxes::jsonb
         FROM unnest($3::text[], $4::real[], $5::text[]) AS l (name, confidence, boxes)
         ON CONFLICT (image_id, name) DO NOTHING",
    )
    .bind(id.as_str())
    .bind(owner.as_str())
    .bind(names)
    .bind(confs)
    .bind(boxes)
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

/// Runs `write` on (owner, id) in one transaction with the tag counters; `Ok(false)` if
/// the image does not exist for `owner`.
pub(crate) async fn write(
    pool: &PgPool,
    owner: &Owner,
    id: &ImageId,
    write: Write<'_>,
) -> Result<bool> {
    let mut tx = pool.begin().await.map_err(db_err)?;
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
