//! [`JobQueue`] on PostgreSQL, shared by every instance that points at the database.
//!
//! A job is `waiting`, `running` (leased until `lease_until`) or `dead` (failed for good).
//! `claim` takes the oldest due job with `FOR UPDATE SKIP LOCKED`, so concurrent claimers in
//! any number of processes each get a different job without waiting on each other; a job
//! whose lease expired (its instance crashed) is due again. A claimed job's id is
//! `<row>.<attempt>`: the attempt number is a lease token, so a worker whose lease expired
//! and whose job went to another worker cannot complete, retry or fail the newer attempt.
//! All times are the database's (`now()`), never an instance's clock.

use std::time::Duration;

use async_trait::async_trait;
use imgtag_core::{ClaimedJob, Error, Job, JobQueue, Result};
use sqlx::{PgPool, Row};

use crate::db::{db_err, sqlstate, text};

/// The durable job queue on PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgQueue {
    pool: PgPool,
}

impl PgQueue {
    /// A queue over `pool`, whose schema `PgDb::connect` has already migrated.
    pub(crate) fn new(pool: PgPool) -> Self {
        PgQueue { pool }
    }
}

fn millis(d: Duration) -> i64 {
    // Capped at ~100 years: `now() + interval` must stay a valid timestamp.
    i64::try_from(d.as_millis())
        .unwrap_or(i64::MAX)
        .min(3_153_600_000_000)
}

/// `<row>.<attempt>` → (row, attempt); anything else names no job.
fn parse_id(id: &str) -> Option<(i64, i32)> {
    let (row, attempt) = id.split_once('.')?;
    Some((row.parse().ok()?, attempt.parse().ok()?))
}

#[async_trait]
impl JobQueue for PgQueue {
    #[tracing::instrument(skip_all, fields(job.key = %job.key()), err)]
    async fn enqueue(&self, job: &Job) -> Result<()> {
        let payload = serde_json::to_string(job).map_err(Error::internal)?;
        // The partial unique index on waiting keys makes this the dedup. Durable on return:
        // the statement commits before `execute` resolves.
        sqlx::query(
            "INSERT INTO jobs (key, payload, state, due_at)
             VALUES ($1, $2::json, 'waiting', now())
             ON CONFLICT (key) WHERE state = 'waiting' DO NOTHING",
        )
        .bind(job.key())
        .bind(payload)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    #[tracing::instrument(skip_all, err)]
    async fn claim(&self, lease: Duration) -> Result<Option<ClaimedJob>> {
        loop {
            // One statement picks and leases the oldest due job: waiting and due, or running
            // with an expired lease. Rows another claimer holds are skipped, not waited for.
            let row = sqlx::query(
                "WITH next AS (
                    SELECT id FROM jobs
                    WHERE state IN ('waiting', 'running')
                      AND ((state = 'waiting' AND due_at <= now())
                           OR (state = 'running' AND lease_until <= now()))
                    ORDER BY id
                    LIMIT 1
                    FOR UPDATE SKIP LOCKED
                 )
                 UPDATE jobs j SET state = 'running', attempt = j.attempt + 1,
                    lease_until = now() + $1::float8 * interval '1 millisecond',
                    updated_at = now()
                 FROM next WHERE j.id = next.id
                 RETURNING j.id, j.payload::text, j.attempt",
            )
            .bind(millis(lease) as f64)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
            let Some(row) = row else { return Ok(None) };
            let id: i64 = row.try_get(0).map_err(db_err)?;
            let payload: String = row.try_get(1).map_err(db_err)?;
            let attempt: i32 = row.try_get(2).map_err(db_err)?;
            match serde_json::from_str::<Job>(&payload) {
                Ok(job) => {
                    return Ok(Some(ClaimedJob {
                        id: format!("{id}.{attempt}"),
                        job,
                        attempt: u32::try_from(attempt).unwrap_or(0),
                    }))
                }
                // A payload this build cannot read (written by a newer version?) would be
                // claimed forever: dead-letter it and look for the next job.
                Err(e) => {
                    tracing::error!(job.id = id, error = %e, "unreadable job payload");
                    sqlx::query(
                        "UPDATE jobs SET state = 'dead', lease_until = NULL, last_error = $2,
                            updated_at = now() WHERE id = $1",
                    )
                    .bind(id)
                    .bind(format!("unreadable payload: {e}"))
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                }
            }
        }
    }

    #[tracing::instrument(skip_all, fields(job.id = id), err)]
    async fn complete(&self, id: &str) -> Result<()> {
        let Some((row, attempt)) = parse_id(id) else {
            return Ok(());
        };
        sqlx::query("DELETE FROM jobs WHERE id = $1 AND attempt = $2 AND state = 'running'")
            .bind(row)
            .bind(attempt)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(job.id = id), err)]
    async fn retry(&self, id: &str, delay: Duration, error: &str) -> Result<()> {
        let Some((row, attempt)) = parse_id(id) else {
            return Ok(());
        };
        let back = sqlx::query(
            "UPDATE jobs SET state = 'waiting',
                due_at = now() + $3::float8 * interval '1 millisecond',
                lease_until = NULL, last_error = $4, updated_at = now()
             WHERE id = $1 AND attempt = $2 AND state = 'running'",
        )
        .bind(row)
        .bind(attempt)
        .bind(millis(delay) as f64)
        .bind(text(error))
        .execute(&self.pool)
        .await;
        match back {
            Ok(_) => Ok(()),
            // The same work was enqueued again while this attempt ran: that waiting job does
            // it (and is due sooner), so this one just goes away.
            Err(e) if sqlstate(&e).as_deref() == Some("23505") => self.complete(id).await,
            Err(e) => Err(db_err(e)),
        }
    }

    #[tracing::instrument(skip_all, fields(job.id = id), err)]
    async fn fail(&self, id: &str, error: &str) -> Result<()> {
        let Some((row, attempt)) = parse_id(id) else {
            return Ok(());
        };
        sqlx::query(
            "UPDATE jobs SET state = 'dead', lease_until = NULL, last_error = $3,
                updated_at = now()
             WHERE id = $1 AND attempt = $2 AND state = 'running'",
        )
        .bind(row)
        .bind(attempt)
        .bind(text(error))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// Several processes share this queue: a running job may belong to a live instance, so
    /// nothing is released early. A crashed instance's jobs come back when their leases end.
    async fn recover(&self) -> Result<u64> {
        Ok(0)
    }

    #[tracing::instrument(skip_all, err)]
    async fn pending(&self) -> Result<u64> {
        let n: i64 =
            sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state IN ('waiting', 'running')")
                .fetch_one(&self.pool)
                .await
                .map_err(db_err)?;
        Ok(n as u64)
    }
}

impl PgQueue {
    /// Dead-lettered jobs with their last error, oldest first (operators, tests).
    pub async fn dead_letters(&self) -> Result<Vec<(Job, String)>> {
        let rows = sqlx::query(
            "SELECT payload::text, COALESCE(last_error, '') FROM jobs
             WHERE state = 'dead' ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let mut out = Vec::new();
        for row in rows {
            let payload: String = row.try_get(0).map_err(db_err)?;
            let error: String = row.try_get(1).map_err(db_err)?;
            if let Ok(job) = serde_json::from_str(&payload) {
                out.push((job, error));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_or_name_nothing() {
        assert_eq!(parse_id("12.3"), Some((12, 3)));
        for bad in ["", "12", "a.1", "1.b", "1.2.3", "99999999999999999999.1"] {
            assert_eq!(parse_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn long_durations_are_capped() {
        assert_eq!(millis(Duration::from_millis(1500)), 1500);
        assert_eq!(millis(Duration::MAX), 3_153_600_000_000);
    }
}
