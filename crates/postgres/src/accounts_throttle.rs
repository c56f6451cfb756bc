//! Sign-in throttling per username on PostgreSQL, shared by every instance: the same policy
//! as the embedded adapter ([`imgtag_local::throttle`]), with the database's clock: failures
//! are forgotten after [`FORGET_AFTER_SECS`], pruned on every failure.

use imgtag_core::Result;
use imgtag_local::throttle::{wait_secs, FORGET_AFTER_SECS};
use sqlx::PgPool;

use crate::db::db_err;

/// `Some(seconds)` if an attempt for `user` must wait.
pub(crate) async fn check(pool: &PgPool, user: &str) -> Result<Option<u64>> {
    let row: Option<(i64, i64)> = sqlx::query_as(
        "SELECT failures,
                (extract(epoch FROM now() - last_failure_at) * 1000)::bigint
         FROM signin_failures WHERE username_lower = $1",
    )
    .bind(user)
    .fetch_optional(pool)
    .await
    .map_err(db_err)?;
    let Some((failures, since_ms)) = row else {
        return Ok(None);
    };
    let left = wait_secs(failures) * 1000 - since_ms;
    // Rounded up: "retry in 0 s" would invite an immediate, refused retry.
    Ok((left > 0).then(|| ((left + 999) / 1000) as u64))
}

pub(crate) async fn record_failure(pool: &PgPool, user: &str) -> Result<()> {
    sqlx::query(
        "DELETE FROM signin_failures WHERE last_failure_at < now() - make_interval(secs => $1)",
    )
    .bind(FORGET_AFTER_SECS as f64)
    .execute(pool)
    .await
    .map_err(db_err)?;
    sqlx::query(
        "INSERT INTO signin_failures (username_lower, failures, last_failure_at)
         VALUES ($1, 1, now())
         ON CONFLICT (username_lower) DO UPDATE
            SET failures = signin_failures.failures + 1, last_failure_at = now()",
    )
    .bind(user)
    .execute(pool)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn reset(pool: &PgPool, user: &str) -> Result<()> {
    sqlx::query("DELETE FROM signin_failures WHERE username_lower = $1")
        .bind(user)
        .execute(pool)
        .await
        .map_err(db_err)?;
    Ok(())
}
