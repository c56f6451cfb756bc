//! [`imgtag_core::Catalog`] on PostgreSQL: reads (one image, filtered pages, tag counts).

use std::collections::HashMap;

use imgtag_core::{
    BlobKey, Cursor, Error, Image, ImageId, ImageQuery, ImageStatus, Label, LabelSource, Owner,
    Page, Result, TagCount, TagName,
};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use crate::catalog_query::{bind, counts_sql, list_sql};
use crate::db::db_err;

pub(crate) const IMAGE_COLUMNS: &str = "id, owner, name, blob_key, content_type, size, width, \
                                        height, sha256, status, failure_reason, created_at, \
                                        updated_at";

fn corrupt(what: &str) -> Error {
    Error::Internal(format!("corrupt catalog row: {what}"))
}

fn col<'r, T>(row: &'r PgRow, i: usize) -> Result<T>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(i).map_err(db_err)
}

fn dim(v: Option<i64>) -> Result<Option<u32>> {
    v.map(|d| u32::try_from(d).map_err(|_| corrupt("dimension")))
        .transpose()
}

/// An image row (columns in `IMAGE_COLUMNS` order) with its labels.
fn image(row: &PgRow, labels: Vec<Label>) -> Result<Image> {
    let id: String = col(row, 0)?;
    let owner: String = col(row, 1)?;
    let blob_key: String = col(row, 3)?;
    let size: i64 = col(row, 5)?;
    let status: String = col(row, 9)?;
    Ok(Image {
        id: ImageId::parse(&id).map_err(|_| corrupt("id"))?,
        owner: Owner::parse(&owner).map_err(|_| corrupt("owner"))?,
        name: col(row, 2)?,
        blob_key: BlobKey::parse(&blob_key).map_err(|_| corrupt("blob_key"))?,
        content_type: col(row, 4)?,
        size: u64::try_from(size).map_err(|_| corrupt("size"))?,
        width: dim(col(row, 6)?)?,
        height: dim(col(row, 7)?)?,
        sha256: col(row, 8)?,
        status: ImageStatus::parse(&status).ok_or_else(|| corrupt("status"))?,
        failure_reason: col(row, 10)?,
        labels,
        created_at: col(row, 11)?,
        updated_at: col(row, 12)?,
    })
}

/// The labels of a page's images (`$1`: their ids), one row per image with a column of
/// arrays per field: a page of 50 images is 50 rows instead of 250 (sqlx's per-row work was
/// most of the server's own cost of a page). One aggregation feeds every array the same rows
/// in the same order, so the arrays line up.
pub(crate) const LABELS_SQL: &str = "SELECT image_id, array_agg(name), array_agg(confidence), \
                                     array_agg(source), array_agg(boxes::text) \
                                     FROM labels WHERE image_id = ANY($1) GROUP BY image_id";

/// Labels of `ids`, each list sorted by confidence (highest first), then name.
async fn labels_of(conn: &mut PgConnection, ids: &[String]) -> Result<HashMap<String, Vec<Label>>> {
    let mut out: HashMap<String, Vec<Label>> = HashMap::with_capacity(ids.len());
    if ids.is_empty() {
        return Ok(out);
    }
    let rows = sqlx::query(LABELS_SQL)
        .bind(ids)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    for row in rows {
        let id: String = col(&row, 0)?;
        let names: Vec<String> = col(&row, 1)?;
        let confidences: Vec<f32> = col(&row, 2)?;
        let sources: Vec<String> = col(&row, 3)?;
        let boxes: Vec<Option<String>> = col(&row, 4)?;
        let n = names.len();
        if confidences.len() != n || sources.len() != n || boxes.len() != n {
            return Err(corrupt("label arrays"));
        }
        let mut labels = Vec::with_capacity(n);
        for (((name, confidence), source), boxes) in
            names.iter().zip(confidences).zip(&sources).zip(boxes)
        {
            labels.push(Label {
                name: TagName::parse(name).map_err(|_| corrupt("label name"))?,
                confidence,
                source: LabelSource::parse(source).ok_or_else(|| corrupt("label source"))?,
                boxes: match boxes {
                    Some(json) => {
                        serde_json::from_str(&json).map_err(|_| corrupt("label boxes"))?
                    }
                    None => Vec::new(),
                },
            });
        }
        // Stored confidences are finite (a CHECK keeps them in [0, 1]); names compare by
        // bytes, as the "C" collation does.
        labels.sort_by(|a, b| {
            b.confidence
                .total_cmp(&a.confidence)
                .then_with(|| a.name.cmp(&b.name))
        });
        out.insert(id, labels);
    }
    Ok(out)
}

/// A label's boxes for `labels.boxes` (cast to jsonb in SQL); NULL when there are none.
pub(crate) fn boxes_to_sql(boxes: &[imgtag_core::BBox]) -> Result<Option<String>> {
    if boxes.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(boxes)
        .map(Some)
        .map_err(|e| imgtag_core::Error::Internal(format!("label boxes: {e}")))
}

pub(crate) async fn get(
    conn: &mut PgConnection,
    owner: &Owner,
    id: &ImageId,
) -> Result<Option<Image>> {
    let sql = format!("SELECT {IMAGE_COLUMNS} FROM images WHERE id = $1 AND owner = $2");
    let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.as_str())
        .bind(owner.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?
    else {
        return Ok(None);
    };
    let mut labels = labels_of(conn, &[id.to_string()]).await?;
    image(&row, labels.remove(id.as_str()).unwrap_or_default()).map(Some)
}

pub(crate) async fn by_sha256(
    conn: &mut PgConnection,
    owner: &Owner,
    sha256: &str,
) -> Result<Option<Image>> {
    let id: Option<String> = sqlx::query_scalar(
        "SELECT id FROM images WHERE owner = $1 AND sha256 = $2 ORDER BY id DESC LIMIT 1",
    )
    .bind(owner.as_str())
    .bind(sha256)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?;
    match id {
        Some(id) => {
            get(
                conn,
                owner,
                &ImageId::parse(&id).map_err(|_| corrupt("id"))?,
            )
            .await
        }
        None => Ok(None),
    }
}

/// One page of `owner`'s images matching `q` (already checked), newest first.
pub(crate) async fn list(conn: &mut PgConnection, owner: &Owner, q: &ImageQuery) -> Result<Page> {
    let (sql, args) = list_sql(owner, q);
    let mut rows = bind(sqlx::query(sqlx::AssertSqlSafe(sql)), &args)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    let more = rows.len() > q.limit;
    rows.truncate(q.limit);
    let ids = rows
        .iter()
        .map(|r| col::<String>(r, 0))
        .collect::<Result<Vec<_>>>()?;
    let mut labels = labels_of(conn, &ids).await?;
    let images = rows
        .iter()
        .zip(&ids)
        .map(|(r, id)| image(r, labels.remove(id).unwrap_or_default()))
        .collect::<Result<Vec<_>>>()?;
    let next = match images.last() {
        Some(last) if more => Some(Cursor(last.id.clone())),
        _ => None,
    };
    Ok(Page { images, next })
}

pub(crate) async fn counts(
    conn: &mut PgConnection,
    owner: &Owner,
    prefix: Option<&str>,
    limit: usize,
) -> Result<Vec<TagCount>> {
    let (sql, args) = counts_sql(owner, prefix);
    let row = bind(sqlx::query(sql), &args)
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)?;
    // NULL arrays: no tags.
    let names: Vec<String> = col::<Option<_>>(&row, 0)?.unwrap_or_default();
    let ns: Vec<i64> = col::<Option<_>>(&row, 1)?.unwrap_or_default();
    if names.len() != ns.len() {
        return Err(corrupt("tag counts"));
    }
    let mut counts = names
        .iter()
        .zip(ns)
        .map(|(name, n)| {
            Ok(TagCount {
                name: TagName::parse(name).map_err(|_| corrupt("tag name"))?,
                count: u64::try_from(n).map_err(|_| corrupt("tag count"))?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    // Names compare by bytes, as the "C" collation does.
    counts.sort_unstable_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    counts.truncate(limit);
    Ok(counts)
}
