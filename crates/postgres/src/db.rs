//! The connection pool shared by the catalog and the queue, migrations, and the mapping of
//! database errors to [`imgtag_core::Error`].

use std::borrow::Cow;
use std::time::Duration;

use imgtag_core::{Error, Result};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use crate::{PgCatalog, PgQueue};

/// Our own history table, so an application sharing the schema that also uses sqlx keeps its
/// `_sqlx_migrations` to itself.
const MIGRATIONS_TABLE: &str = "imgtag_schema_migrations";

/// A pooled connection idle this long is pinged before use.
const PING_AFTER_IDLE: Duration = Duration::from_secs(10);

/// How to reach the database.
#[derive(Clone)]
pub struct PgConfig {
    /// `postgres://user:password@host:port/database?sslmode=...`.
    pub url: String,
    /// A schema to keep imgtag's tables in (created if missing); `None` uses the server's
    /// `search_path` (normally `public`).
    pub schema: Option<String>,
    /// Connections per process; several instances each hold up to this many.
    pub max_connections: u32,
    /// How long a request waits for a free connection before failing as unavailable.
    pub acquire_timeout: Duration,
}

impl PgConfig {
    /// Defaults for `url`: 10 connections, 10 s acquire timeout, default schema.
    pub fn new(url: impl Into<String>) -> Self {
        PgConfig {
            url: url.into(),
            schema: None,
            max_connections: 10,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

// The URL may carry a password: never print it.
impl std::fmt::Debug for PgConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgConfig")
            .field("url", &"<redacted>")
            .field("schema", &self.schema)
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .finish()
    }
}

/// A pool on one PostgreSQL database with imgtag's schema. Cheap to clone.
#[derive(Debug, Clone)]
pub struct PgDb {
    pool: PgPool,
}

/// Schema names are spliced into SQL and the connection options, so only a plain identifier
/// is accepted.
fn check_schema(s: &str) -> Result<()> {
    let ok = !s.is_empty()
        && s.len() <= 63
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::Internal(format!(
            "invalid PostgreSQL schema name {s:?}: use lower-case letters, digits and _"
        )))
    }
}

impl PgDb {
    /// Connects (failing fast if the database is unreachable) and brings the schema up to
    /// date. Safe to call from several instances at once: migrations take an advisory lock.
    pub async fn connect(config: &PgConfig) -> Result<Self> {
        let mut options: PgConnectOptions = config.url.parse().map_err(|_| {
            Error::Internal("invalid PostgreSQL URL (expected postgres://...)".into())
        })?;
        options = options.application_name("imgtag");
        if let Some(schema) = &config.schema {
            check_schema(schema)?;
            options = options.options([("search_path", schema.as_str())]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections.max(1))
            .acquire_timeout(config.acquire_timeout)
            // sqlx pings every connection it hands out by default: a round trip as long as a
            // small query's, on every request. Only a connection idle long enough that a
            // database restart or a firewall may have dropped it is checked first; a busy one
            // that did break fails its query as `Unavailable` and is not reused.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_AFTER_IDLE {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options)
            .await
            .map_err(db_err)?;
        if let Some(schema) = &config.schema {
            // Checked above: a plain identifier.
            let sql = format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&pool)
                .await
                .map_err(db_err)?;
        }
        // Embedded at build time from migrations/ (no database needed to build).
        let mut migrator: Migrator = sqlx::migrate!("./migrations");
        migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
        migrator
            .run(&pool)
            .await
            .map_err(|e| Error::Internal(format!("PostgreSQL migrations: {e}")))?;
        Ok(PgDb { pool })
    }

    /// The image catalog on this database.
    pub fn catalog(&self) -> PgCatalog {
        PgCatalog::new(self.pool.clone())
    }

    /// The job queue on this database.
    pub fn queue(&self) -> PgQueue {
        PgQueue::new(self.pool.clone())
    }

    /// The underlying pool (health checks, tests).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Drops `schema` with everything in it (tests).
    #[doc(hidden)]
    pub async fn drop_schema(&self, schema: &str) -> Result<()> {
        check_schema(schema)?;
        let sql = format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// Closes every connection; later calls fail as unavailable.
    pub async fn close(&self) {
        self.pool.close().await
    }
}

/// The SQLSTATE of a database error, if it is one.
pub(crate) fn sqlstate(e: &sqlx::Error) -> Option<String> {
    match e {
        sqlx::Error::Database(d) => d.code().map(Cow::into_owned),
        _ => None,
    }
}

/// Maps a driver error: connection trouble, exhausted resources and transaction conflicts
/// are `Unavailable` (retrying may succeed); everything else is `Internal`. Unique violations
/// that the contract turns into `Conflict` are handled where they can occur.
pub(crate) fn db_err(e: sqlx::Error) -> Error {
    let transient = match &e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        // 08: connection exception, 53: insufficient resources, 57: operator intervention
        // (shutdown, cancel), 40001/40P01: serialization failure, deadlock.
        sqlx::Error::Database(_) => sqlstate(&e).is_some_and(|c| {
            c.starts_with("08")
                || c.starts_with("53")
                || c.starts_with("57")
                || c == "40001"
                || c == "40P01"
        }),
        _ => false,
    };
    if transient {
        Error::Unavailable(format!("PostgreSQL: {e}"))
    } else {
        Error::Internal(format!("PostgreSQL: {e}"))
    }
}

/// PostgreSQL text cannot hold NUL; free text (names, reasons, errors) drops it.
pub(crate) fn text(s: &str) -> Cow<'_, str> {
    if s.contains('\0') {
        Cow::Owned(s.replace('\0', ""))
    } else {
        Cow::Borrowed(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_plain_identifiers() {
        for ok in ["imgtag", "t_0123abc", "a"] {
            assert!(check_schema(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "Imgtag",
            "1abc",
            "a-b",
            "a\"b",
            "a;drop",
            &"x".repeat(64),
        ] {
            assert!(check_schema(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn nul_is_dropped_from_text() {
        assert_eq!(text("a\0b"), "ab");
        assert!(matches!(text("ab"), Cow::Borrowed("ab")));
    }
}
