//! The statements behind a page of images and the tag counts, assembled apart from running
//! them so that tests can EXPLAIN exactly what the adapter runs (`explain_list`,
//! `explain_counts`): the hot queries must stay index-only at any library size.

use imgtag_core::{Cursor, ImageQuery, Owner, Result, TagName};

use crate::catalog_read::{IMAGE_COLUMNS, LABELS_SQL};
use crate::db::db_err;
use crate::PgCatalog;

fn names(tags: &[TagName]) -> Vec<String> {
    let mut v: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
    v.sort();
    v.dedup();
    v
}

/// A value for one placeholder of an assembled query.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Text(String),
    Texts(Vec<String>),
    Real(f32),
    Int(i64),
}

pub(crate) type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// Binds `args` in order.
pub(crate) fn bind<'q>(mut query: PgQuery<'q>, args: &[Arg]) -> PgQuery<'q> {
    for a in args {
        query = match a {
            Arg::Text(v) => query.bind(v),
            Arg::Texts(v) => query.bind(v),
            Arg::Real(v) => query.bind(v),
            Arg::Int(v) => query.bind(v),
        };
    }
    query
}

/// The page query for `q` (already checked) and its arguments, one row more than the page
/// (that row tells whether another page exists without a COUNT). Apart from running it so
/// that tests can EXPLAIN exactly this.
///
/// The SQL is assembled from fixed fragments with numbered placeholders; every value is an
/// argument. One `EXISTS` per required tag: the planner turns each into a semi-join and,
/// knowing each tag's frequency, either walks the owner's images newest first and probes
/// their labels (a common tag) or merges the tags' index-only scans of
/// `labels_owner_name_conf`, newest first, and fetches only the matching images (rare tags).
pub(crate) fn list_sql(owner: &Owner, q: &ImageQuery) -> (String, Vec<Arg>) {
    // `min_confidence` only qualifies the labels that make an image match; NOT excludes on
    // any label, whatever its confidence.
    let conf = q.min_confidence.unwrap_or(0.0);
    let mut sql = format!("SELECT {IMAGE_COLUMNS} FROM images i WHERE i.owner = $1");
    let mut args = vec![Arg::Text(owner.to_string())];
    let push = |args: &mut Vec<Arg>, a: Arg| {
        args.push(a);
        format!("${}", args.len())
    };
    if let Some(Cursor(after)) = &q.after {
        sql += &format!(
            " AND i.id < {}",
            push(&mut args, Arg::Text(after.to_string()))
        );
    }
    let conf_p = push(&mut args, Arg::Real(conf));
    let has = |name_cond: String| {
        format!(
            " EXISTS (SELECT 1 FROM labels l WHERE l.owner = i.owner AND l.image_id = i.id \
             AND {name_cond} AND l.confidence >= {conf_p})"
        )
    };
    for t in names(&q.all_tags) {
        let p = push(&mut args, Arg::Text(t));
        sql += &format!(" AND{}", has(format!("l.name = {p}")));
    }
    let any = names(&q.any_tags);
    if !any.is_empty() {
        let p = push(&mut args, Arg::Texts(any));
        sql += &format!(" AND{}", has(format!("l.name = ANY({p})")));
    }
    let not = names(&q.not_tags);
    if !not.is_empty() {
        sql += &format!(
            " AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.owner = i.owner \
             AND l.image_id = i.id AND l.name = ANY({}))",
            push(&mut args, Arg::Texts(not))
        );
    }
    sql += &format!(
        " ORDER BY i.id DESC LIMIT {}",
        push(&mut args, Arg::Int(q.limit as i64 + 1))
    );
    (sql, args)
}

/// The tag counts query and its arguments: all of the owner's counters (a few hundred rows,
/// whatever the library's size), index-only from the primary key (`n` is included), as one
/// row of two arrays (names, counts); the caller orders them by count and keeps `limit`.
/// Rust sorts those rows in ~10 µs where a Sort node took ~0.1 ms, and one row of arrays
/// spares sqlx's per-row work, which was most of the server's own cost of `GET /tags`.
/// A prefix narrows the scan to its range of names in the index condition: `starts_with`
/// implies the range when the prefix is known at planning, and the explicit lower bound
/// keeps part of it in a generic plan.
pub(crate) fn counts_sql(owner: &Owner, prefix: Option<&str>) -> (&'static str, Vec<Arg>) {
    let owner = Arg::Text(owner.to_string());
    match prefix {
        None => (
            "SELECT array_agg(name), array_agg(n) FROM tag_counts WHERE owner = $1 AND n > 0",
            vec![owner],
        ),
        // `starts_with` matches literally (no LIKE wildcards).
        Some(p) => (
            "SELECT array_agg(name), array_agg(n) FROM tag_counts
             WHERE owner = $1 AND name >= $2 AND starts_with(name, $2) AND n > 0",
            vec![owner, Arg::Text(p.to_string())],
        ),
    }
}

/// What `list_images` runs for one query, and PostgreSQL's plans for it.
#[doc(hidden)]
#[derive(Debug)]
pub struct ListExplain {
    /// The page query.
    pub sql: String,
    /// `EXPLAIN` lines of the page query, planned for these arguments.
    pub page: Vec<String>,
    /// The same for the query that reads the page's labels.
    pub labels: Vec<String>,
}

/// `EXPLAIN` of what `list_images` and `tag_counts` run, for tests that keep the hot queries
/// on their indexes (the plan is what a user's latency depends on).
impl PgCatalog {
    #[doc(hidden)]
    pub async fn explain_list(&self, owner: &Owner, q: &ImageQuery) -> Result<ListExplain> {
        let (sql, args) = list_sql(owner, q);
        let ids = Arg::Texts(vec!["a".into(), "b".into()]);
        Ok(ListExplain {
            page: self.explain(&sql, &args).await?,
            labels: self.explain(LABELS_SQL, &[ids]).await?,
            sql,
        })
    }

    /// The plan lines of the tag counts query.
    #[doc(hidden)]
    pub async fn explain_counts(&self, owner: &Owner, prefix: Option<&str>) -> Result<Vec<String>> {
        let (sql, args) = counts_sql(owner, prefix);
        self.explain(sql, &args).await
    }

    async fn explain(&self, sql: &str, args: &[Arg]) -> Result<Vec<String>> {
        let explain = format!("EXPLAIN {sql}");
        let rows = bind(sqlx::query(sqlx::AssertSqlSafe(explain)), args)
            .fetch_all(self.pool())
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|r| sqlx::Row::try_get::<String, _>(r, 0).map_err(db_err))
            .collect()
    }
}
