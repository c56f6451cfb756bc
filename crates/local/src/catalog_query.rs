//! The statement behind a page of images (`Catalog::list_images`), built apart from running it
//! so that tests can `EXPLAIN QUERY PLAN` exactly what the adapter runs.
//!
//! With required tags the page is driven from the labels index of the rarest of them (by its
//! `tag_counts` row): a rare tag touches few rows whatever the owner's library size. Without,
//! it walks the owner's images newest first. Both page by the keyset `id < after`, never OFFSET;
//! image ids are time-ordered, so id order is upload order.

use imgtag_core::{Cursor, ImageQuery, Owner, Result, TagName};
use rusqlite::types::Value;
use rusqlite::{params, Connection, OptionalExtension};

use crate::catalog_read::IMAGE_COLUMNS;
use crate::db::sql_err;

/// The SQL and arguments `list` runs for `q`, one row more than the page (that row tells
/// whether another page exists without a COUNT); `None` when a required tag is on none of the
/// owner's images, so the page is empty without a query.
pub(crate) fn list_sql(
    conn: &Connection,
    owner: &Owner,
    q: &ImageQuery,
) -> Result<Option<(String, Vec<Value>)>> {
    // `min_confidence` only qualifies the labels that make an image match; NOT excludes on
    // any label, whatever its confidence.
    let conf = Value::Real(q.min_confidence.map(f64::from).unwrap_or(f64::NEG_INFINITY));
    let mut args = vec![Value::Text(owner.to_string())];
    let cols = IMAGE_COLUMNS.replace(", ", ", i.");
    match rarest(conn, owner, &q.all_tags)? {
        Rarest::Absent => Ok(None),
        Rarest::NoTags => {
            let mut sql = format!("SELECT i.{cols} FROM images i WHERE i.owner = ?");
            push_after(&mut sql, &mut args, q, "i.id");
            Ok(Some(finish(sql, args, &[], q, conf, "i.id")))
        }
        Rarest::Tag(at) => {
            // CROSS JOIN fixes the loop order: labels outside, images by primary key inside.
            let mut sql = format!(
                "SELECT i.{cols} FROM labels d CROSS JOIN images i ON i.id = d.image_id \
                 WHERE d.owner = ? AND d.name = ? AND d.confidence >= ? AND i.owner = d.owner"
            );
            args.push(Value::Text(q.all_tags[at].to_string()));
            args.push(conf.clone());
            push_after(&mut sql, &mut args, q, "d.image_id");
            // The driving tag needs no EXISTS; a repeat of it later does no harm.
            let mut rest = q.all_tags.clone();
            rest.remove(at);
            Ok(Some(finish(sql, args, &rest, q, conf, "d.image_id")))
        }
    }
}

fn push_after(sql: &mut String, args: &mut Vec<Value>, q: &ImageQuery, col: &str) {
    if let Some(Cursor(after)) = &q.after {
        sql.push_str(&format!(" AND {col} < ?"));
        args.push(Value::Text(after.to_string()));
    }
}

/// Adds the tag filters not yet applied, the order and the limit.
fn finish(
    mut sql: String,
    mut args: Vec<Value>,
    all: &[TagName],
    q: &ImageQuery,
    conf: Value,
    order: &str,
) -> (String, Vec<Value>) {
    for tag in all {
        sql.push_str(
            " AND EXISTS (SELECT 1 FROM labels l WHERE l.image_id = i.id AND l.name = ? \
             AND l.confidence >= ?)",
        );
        args.push(Value::Text(tag.to_string()));
        args.push(conf.clone());
    }
    if !q.any_tags.is_empty() {
        let marks = placeholders(&mut args, &q.any_tags);
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM labels l WHERE l.image_id = i.id AND l.name IN ({marks}) \
             AND l.confidence >= ?)"
        ));
        args.push(conf);
    }
    if !q.not_tags.is_empty() {
        let marks = placeholders(&mut args, &q.not_tags);
        sql.push_str(&format!(
            " AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.image_id = i.id \
             AND l.name IN ({marks}))"
        ));
    }
    sql.push_str(&format!(" ORDER BY {order} DESC LIMIT ?"));
    args.push(Value::Integer(q.limit as i64 + 1));
    (sql, args)
}

fn placeholders(args: &mut Vec<Value>, tags: &[TagName]) -> String {
    let marks: Vec<&str> = tags
        .iter()
        .map(|t| {
            args.push(Value::Text(t.to_string()));
            "?"
        })
        .collect();
    marks.join(",")
}

enum Rarest {
    NoTags,
    /// A required tag is on none of the owner's images.
    Absent,
    /// The index in `all_tags` of the tag on the fewest images.
    Tag(usize),
}

fn rarest(conn: &Connection, owner: &Owner, all: &[TagName]) -> Result<Rarest> {
    let mut stmt = conn
        .prepare_cached("SELECT n FROM tag_counts WHERE owner = ?1 AND name = ?2")
        .map_err(sql_err)?;
    let mut best: Option<(i64, usize)> = None;
    for (at, tag) in all.iter().enumerate() {
        let n: i64 = stmt
            .query_row(params![owner.as_str(), tag.as_str()], |r| r.get(0))
            .optional()
            .map_err(sql_err)?
            .unwrap_or(0);
        if n == 0 {
            return Ok(Rarest::Absent);
        }
        if best.is_none_or(|(m, _)| n < m) {
            best = Some((n, at));
        }
    }
    Ok(best.map_or(Rarest::NoTags, |(_, at)| Rarest::Tag(at)))
}

/// What `list_images` runs for one query, and SQLite's plans for it.
#[doc(hidden)]
#[derive(Debug)]
pub struct ListExplain {
    /// The page query.
    pub sql: String,
    /// Its arguments, `Debug`-formatted (`Text("cat")`, `Real(0.5)`, ...).
    pub args: Vec<String>,
    /// `EXPLAIN QUERY PLAN` detail lines of the page query.
    pub page: Vec<String>,
    /// The same for the query that reads the page's labels.
    pub labels: Vec<String>,
}

/// `EXPLAIN QUERY PLAN` of what `list_images` and `tag_counts` run, for tests that keep the
/// hot queries on their indexes (the plan is what a user's latency depends on).
impl crate::SqliteCatalog {
    /// `None` when the page needs no query (a required tag the owner never used).
    #[doc(hidden)]
    pub async fn explain_list(&self, owner: &Owner, q: &ImageQuery) -> Result<Option<ListExplain>> {
        let (owner, q) = (owner.clone(), q.clone());
        self.db
            .call(move |conn| {
                let Some((sql, args)) = list_sql(conn, &owner, &q)? else {
                    return Ok(None);
                };
                let ids = vec![Value::Text("a".into()), Value::Text("b".into())];
                Ok(Some(ListExplain {
                    args: args.iter().map(|a| format!("{a:?}")).collect(),
                    page: plan(conn, &sql, args)?,
                    labels: plan(conn, &crate::catalog_read::labels_sql(2), ids)?,
                    sql,
                }))
            })
            .await
    }

    /// The plan lines of the tag counts query.
    #[doc(hidden)]
    pub async fn explain_counts(&self, owner: &Owner, prefix: Option<&str>) -> Result<Vec<String>> {
        let (owner, prefix) = (owner.clone(), prefix.map(str::to_string));
        self.db
            .call(move |conn| {
                let (sql, args) = crate::catalog_read::counts_sql(&owner, prefix.as_deref(), 10);
                plan(conn, sql, args)
            })
            .await
    }
}

fn plan(conn: &Connection, sql: &str, args: Vec<Value>) -> Result<Vec<String>> {
    let mut stmt = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .map_err(sql_err)?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(3))
        .map_err(sql_err)?;
    rows.collect::<rusqlite::Result<_>>().map_err(sql_err)
}
