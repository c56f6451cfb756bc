//! [`imgtag_core::Catalog`] on SQLite: reads (one image, filtered pages, tag counts).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use imgtag_core::{
    BlobKey, Cursor, Error, Image, ImageId, ImageQuery, ImageStatus, Label, LabelSource, Owner,
    Page, Result, TagCount, TagName,
};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};

use crate::catalog_query::list_sql;
use crate::db::sql_err;

pub(crate) const IMAGE_COLUMNS: &str =
    "id, owner, name, blob_key, content_type, size, width, height, \
                             sha256, status, failure_reason, created_at, updated_at";

fn corrupt(what: &str) -> Error {
    Error::Internal(format!("corrupt catalog row: {what}"))
}

fn parse_ts(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| corrupt("timestamp"))
}

/// Raw columns, converted to domain types outside the rusqlite closure so that a bad value
/// becomes an `Error` rather than a panic.
struct RawImage {
    cols: [String; 5],
    size: i64,
    width: Option<u32>,
    height: Option<u32>,
    sha256: String,
    status: String,
    failure_reason: Option<String>,
    created_at: String,
    updated_at: String,
}

fn raw_image(r: &Row<'_>) -> rusqlite::Result<RawImage> {
    Ok(RawImage {
        cols: [r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?],
        size: r.get(5)?,
        width: r.get(6)?,
        height: r.get(7)?,
        sha256: r.get(8)?,
        status: r.get(9)?,
        failure_reason: r.get(10)?,
        created_at: r.get(11)?,
        updated_at: r.get(12)?,
    })
}

impl RawImage {
    fn into_image(self, labels: Vec<Label>) -> Result<Image> {
        let [id, owner, name, blob_key, content_type] = self.cols;
        Ok(Image {
            id: ImageId::parse(&id).map_err(|_| corrupt("id"))?,
            owner: Owner::parse(&owner).map_err(|_| corrupt("owner"))?,
            name,
            blob_key: BlobKey::parse(&blob_key).map_err(|_| corrupt("blob_key"))?,
            content_type,
            size: u64::try_from(self.size).map_err(|_| corrupt("size"))?,
            width: self.width,
            height: self.height,
            sha256: self.sha256,
            status: ImageStatus::parse(&self.status).ok_or_else(|| corrupt("status"))?,
            failure_reason: self.failure_reason,
            labels,
            created_at: parse_ts(&self.created_at)?,
            updated_at: parse_ts(&self.updated_at)?,
        })
    }
}

/// Labels of `ids`, each list sorted by confidence (highest first), then name.
fn labels_of(conn: &Connection, ids: &[String]) -> Result<HashMap<String, Vec<Label>>> {
    let mut out: HashMap<String, Vec<Label>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let mut stmt = conn
        .prepare_cached(&labels_sql(ids.len()))
        .map_err(sql_err)?;
    let rows = stmt
        .query_map(params_from_iter(ids), |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, f64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })
        .map_err(sql_err)?;
    for row in rows {
        let (id, name, confidence, source, boxes) = row.map_err(sql_err)?;
        out.entry(id).or_default().push(Label {
            name: TagName::parse(&name).map_err(|_| corrupt("label name"))?,
            confidence: confidence as f32,
            source: LabelSource::parse(&source).ok_or_else(|| corrupt("label source"))?,
            boxes: match boxes {
                Some(json) => serde_json::from_str(&json).map_err(|_| corrupt("label boxes"))?,
                None => Vec::new(),
            },
        });
    }
    Ok(out)
}

/// The labels of `n` images, by primary key.
pub(crate) fn labels_sql(n: usize) -> String {
    let marks = vec!["?"; n].join(",");
    format!(
        "SELECT image_id, name, confidence, source, boxes FROM labels WHERE image_id IN ({marks})
         ORDER BY confidence DESC, name ASC"
    )
}

/// A label's boxes as stored in `labels.boxes`: a JSON array, NULL when there are none.
pub(crate) fn boxes_to_sql(boxes: &[imgtag_core::BBox]) -> Result<Option<String>> {
    if boxes.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(boxes)
        .map(Some)
        .map_err(|e| imgtag_core::Error::Internal(format!("label boxes: {e}")))
}

pub(crate) fn get(conn: &mut Connection, owner: &Owner, id: &ImageId) -> Result<Option<Image>> {
    let sql = format!("SELECT {IMAGE_COLUMNS} FROM images WHERE id = ?1 AND owner = ?2");
    let Some(raw) = conn
        .query_row(&sql, params![id.as_str(), owner.as_str()], raw_image)
        .optional()
        .map_err(sql_err)?
    else {
        return Ok(None);
    };
    let mut labels = labels_of(conn, &[id.to_string()])?;
    raw.into_image(labels.remove(id.as_str()).unwrap_or_default())
        .map(Some)
}

pub(crate) fn by_sha256(
    conn: &mut Connection,
    owner: &Owner,
    sha256: &str,
) -> Result<Option<Image>> {
    let id: Option<String> = conn
        .query_row(
            "SELECT id FROM images WHERE owner = ?1 AND sha256 = ?2 ORDER BY id DESC LIMIT 1",
            params![owner.as_str(), sha256],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql_err)?;
    match id {
        Some(id) => {
            let id = ImageId::parse(&id).map_err(|_| Error::internal("corrupt image id"))?;
            get(conn, owner, &id)
        }
        None => Ok(None),
    }
}

pub(crate) fn list(conn: &mut Connection, owner: &Owner, q: &ImageQuery) -> Result<Page> {
    let Some((sql, args)) = list_sql(conn, owner, q)? else {
        return Ok(Page {
            images: Vec::new(),
            next: None,
        });
    };
    let mut raws = {
        let mut stmt = conn.prepare_cached(&sql).map_err(sql_err)?;
        let rows = stmt
            .query_map(params_from_iter(args), raw_image)
            .map_err(sql_err)?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sql_err)?
    };
    let more = raws.len() > q.limit;
    raws.truncate(q.limit);
    let ids: Vec<String> = raws.iter().map(|r| r.cols[0].clone()).collect();
    let mut labels = labels_of(conn, &ids)?;
    let images = raws
        .into_iter()
        .map(|r| {
            let l = labels.remove(&r.cols[0]).unwrap_or_default();
            r.into_image(l)
        })
        .collect::<Result<Vec<_>>>()?;
    let next = match images.last() {
        Some(last) if more => Some(Cursor(last.id.clone())),
        _ => None,
    };
    Ok(Page { images, next })
}

pub(crate) fn counts(
    conn: &mut Connection,
    owner: &Owner,
    prefix: Option<&str>,
    limit: usize,
) -> Result<Vec<TagCount>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let (sql, args) = counts_sql(owner, prefix, limit);
    let mut stmt = conn.prepare_cached(sql).map_err(sql_err)?;
    let rows = stmt
        .query_map(params_from_iter(args), |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })
        .map_err(sql_err)?;
    rows.map(|row| {
        let (name, n) = row.map_err(sql_err)?;
        Ok(TagCount {
            name: TagName::parse(&name).map_err(|_| corrupt("label name"))?,
            count: n as u64,
        })
    })
    .collect()
}

/// The statement `counts` runs. Two texts, not `?2 IS NULL OR ...`, so that each gets its own
/// plan: without a prefix the (owner, n DESC, name) index yields rows already in order; with
/// one, the primary key's (owner, name) range narrows the scan. `substr` makes the prefix
/// match exact for every name (char(1114111) is the highest code point).
pub(crate) fn counts_sql(
    owner: &Owner,
    prefix: Option<&str>,
    limit: i64,
) -> (&'static str, Vec<Value>) {
    let o = Value::Text(owner.to_string());
    match prefix {
        None => (
            "SELECT name, n FROM tag_counts WHERE owner = ?1
             ORDER BY n DESC, name ASC LIMIT ?2",
            vec![o, Value::Integer(limit)],
        ),
        Some(p) => (
            "SELECT name, n FROM tag_counts
             WHERE owner = ?1 AND name >= ?2 AND name < ?2 || char(1114111)
               AND substr(name, 1, length(?2)) = ?2
             ORDER BY n DESC, name ASC LIMIT ?3",
            vec![o, Value::Text(p.to_string()), Value::Integer(limit)],
        ),
    }
}
