//! `Catalog::put_record` on SQLite: stores a complete image as it was elsewhere (`imgtag
//! migrate`), status, timestamps and labels included.

use imgtag_core::{Error, Image, Result};
use rusqlite::{params, OptionalExtension, Transaction};

use crate::catalog::ts;
use crate::db::sql_err;

/// Inserts `img` with its labels; `false` if the owner has that id already, `Conflict` if
/// another owner does.
pub(crate) fn put(tx: &Transaction<'_>, img: &Image) -> Result<bool> {
    let holder: Option<String> = tx
        .query_row(
            "SELECT owner FROM images WHERE id = ?1",
            [img.id.as_str()],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql_err)?;
    match holder {
        Some(o) if o == img.owner.as_str() => return Ok(false),
        Some(_) => return Err(Error::Conflict(format!("image id {} is taken", img.id))),
        None => {}
    }
    tx.execute(
        "INSERT INTO images (id, owner, name, blob_key, content_type, size, width, height,
            sha256, status, failure_reason, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
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
            img.status.as_str(),
            img.failure_reason,
            ts(img.created_at),
            ts(img.updated_at),
        ],
    )
    .map_err(sql_err)?;
    // A name twice in `labels` keeps its first entry: labels arrive sorted by confidence.
    let mut ins = tx
        .prepare_cached(
            "INSERT INTO labels (image_id, owner, name, confidence, source, boxes)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (image_id, name) DO NOTHING",
        )
        .map_err(sql_err)?;
    for l in &img.labels {
        ins.execute(params![
            img.id.as_str(),
            img.owner.as_str(),
            l.name.as_str(),
            l.confidence as f64,
            l.source.as_str(),
            crate::catalog_read::boxes_to_sql(&l.boxes)?,
        ])
        .map_err(sql_err)?;
    }
    Ok(true)
}
