//! Raw SQL for tests that watch a database from outside the adapters (the server's scale-out
//! test installs triggers that log every job claim and every tagging run), so those tests
//! need no sqlx dependency of their own.

use imgtag_core::Result;

use crate::db::db_err;
use crate::PgDb;

/// Runs `sql` (several statements allowed, no binds).
pub async fn exec(db: &PgDb, sql: &str) -> Result<()> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(db.pool())
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Rows of (text, bigint) from a query such as `SELECT key, count(*) ... GROUP BY key`.
pub async fn pairs(db: &PgDb, sql: &str) -> Result<Vec<(String, i64)>> {
    sqlx::query_as(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_all(db.pool())
        .await
        .map_err(db_err)
}

/// The single bigint a query such as `SELECT count(*) ...` returns.
pub async fn scalar(db: &PgDb, sql: &str) -> Result<i64> {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(db.pool())
        .await
        .map_err(db_err)
}
