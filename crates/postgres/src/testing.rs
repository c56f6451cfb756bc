//! Helpers for tests against a real PostgreSQL (this crate's and the server's).
//! Convention (as for the AWS emulator): `IMGTAG_PG_URL` points at a running server; when it
//! is unset a test prints a loud skip notice and returns, except under CI (`CI` set), where it
//! panics so a broken setup can never pass silently. `scripts/test` starts a private cluster
//! and sets it.

use imgtag_core::Result;

use crate::{PgConfig, PgDb};

/// The server's URL, or `None` (after the loud notice) when the test should be skipped.
pub fn pg_url() -> Option<String> {
    match std::env::var("IMGTAG_PG_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("IMGTAG_PG_URL is not set but CI is: PostgreSQL tests must not be skipped in CI")
        }
        _ => {
            eprintln!(
                "\n*** skipped: IMGTAG_PG_URL not set (run scripts/test, or point it at a \
                 PostgreSQL server: postgres://user@host:port/db) ***\n"
            );
            None
        }
    }
}

/// A schema name no other test (or test run) uses.
pub fn unique_schema() -> String {
    format!("t_{}", uuid::Uuid::new_v4().simple())
}

/// A config for `url` whose tables live in `schema`, with a small pool (tests open many).
pub fn config(url: &str, schema: &str) -> PgConfig {
    PgConfig {
        schema: Some(schema.to_string()),
        max_connections: 4,
        ..PgConfig::new(url)
    }
}

/// A migrated, empty database in a new schema of its own.
pub async fn fresh_db(url: &str) -> PgDb {
    PgDb::connect(&config(url, &unique_schema()))
        .await
        .expect("connect to IMGTAG_PG_URL")
}

/// Drops `schema` and everything in it (after a test, so a long-lived server stays clean).
pub async fn drop_schema(url: &str, schema: &str) -> Result<()> {
    let db = PgDb::connect(&PgConfig {
        max_connections: 1,
        ..PgConfig::new(url)
    })
    .await?;
    let r = db.drop_schema(schema).await;
    db.close().await;
    r
}
