//! [`JobQueue`] on SQLite: a durable table of jobs.
//!
//! A job is `waiting` (due at `due_at`), `running` (leased until `lease_until`) or `dead`
//! (failed for good, kept with its error). A claimed job's id is `<row>.<attempt>`: the attempt
//! number acts as a lease token, so a worker whose lease expired and whose job was handed to
//! another worker cannot complete, retry or fail the newer attempt.

use std::time::Duration;

use async_trait::async_trait;
use imgtag_core::{ClaimedJob, Job, JobQueue, Result};
use rusqlite::{params, OptionalExtension, TransactionBehavior};

use crate::db::{now_millis, sql_err, SqliteDb};

/// The durable job queue on the embedded database.
#[derive(Debug, Clone)]
pub struct SqliteQueue {
    db: SqliteDb,
}

impl SqliteQueue {
    /// A queue over `db`.
    pub fn new(db: SqliteDb) -> Self {
        SqliteQueue { db }
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

/// `<row>.<attempt>` → (row, attempt); anything else names no job.
fn parse_id(id: &str) -> Option<(i64, i64)> {
    let (row, attempt) = id.split_once('.')?;
    Some((row.parse().ok()?, attempt.parse().ok()?))
}

#[async_trait]
impl JobQueue for SqliteQueue {
    #[tracing::instrument(skip_all, fields(job.key = %job.key()), err)]
    async fn enqueue(&self, job: &Job) -> Result<()> {
        let key = job.key();
        let payload = serde_json::to_string(job).map_err(imgtag_core::Error::internal)?;
        self.db
            .call(move |conn| {
                let now = now_millis();
                // The partial unique index on waiting keys makes this the dedup.
                conn.execute(
                    "INSERT INTO jobs (key, payload, state, attempt, due_at, created_at, updated_at)
                     VALUES (?1, ?2, 'waiting', 0, ?3, ?3, ?3)
                     ON CONFLICT (key) WHERE state = 'waiting' DO NOTHING",
                    params![key, payload, now],
                )
                .map_err(sql_err)?;
                Ok(())
            })
            .await
    }

    #[tracing::instrument(skip_all, err)]
    async fn claim(&self, lease: Duration) -> Result<Option<ClaimedJob>> {
        let lease = millis(lease);
        self.db
            .call(move |conn| loop {
                let now = now_millis();
                // One statement picks and leases the oldest due job: waiting and due, or
                // running with an expired lease (its worker died).
                let row: Option<(i64, String, i64)> = conn
                    .query_row(
                        "UPDATE jobs SET state = 'running', attempt = attempt + 1,
                            lease_until = ?1 + ?2, updated_at = ?1
                         WHERE id = (SELECT id FROM jobs
                                     WHERE (state = 'waiting' AND due_at <= ?1)
                                        OR (state = 'running' AND lease_until <= ?1)
                                     ORDER BY id LIMIT 1)
                         RETURNING id, payload, attempt",
                        params![now, lease],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                    )
                    .optional()
                    .map_err(sql_err)?;
                let Some((id, payload, attempt)) = row else {
                    return Ok(None);
                };
                match serde_json::from_str::<Job>(&payload) {
                    Ok(job) => {
                        return Ok(Some(ClaimedJob {
                            id: format!("{id}.{attempt}"),
                            job,
                            attempt: u32::try_from(attempt).unwrap_or(u32::MAX),
                        }))
                    }
                    // A payload this build cannot read would be claimed forever: dead-letter
                    // it and look for the next job.
                    Err(e) => {
                        tracing::error!(job.id = id, error = %e, "unreadable job payload");
                        conn.execute(
                            "UPDATE jobs SET state = 'dead', lease_until = NULL,
                                last_error = ?2, updated_at = ?3 WHERE id = ?1",
                            params![id, format!("unreadable payload: {e}"), now],
                        )
                        .map_err(sql_err)?;
                    }
                }
            })
            .await
    }

    #[tracing::instrument(skip_all, fields(job.id = id), err)]
    async fn complete(&self, id: &str) -> Result<()> {
        let Some((row, attempt)) = parse_id(id) else {
            return Ok(());
        };
        self.db
            .call(move |conn| {
                conn.execute(
                    "DELETE FROM jobs WHERE id = ?1 AND attempt = ?2 AND state = 'running'",
                    params![row, attempt],
                )
                .map_err(sql_err)?;
                Ok(())
            })
            .await
    }

    #[tracing::instrument(skip_all, fields(job.id = id), err)]
    async fn retry(&self, id: &str, delay: Duration, error: &str) -> Result<()> {
        let Some((row, attempt)) = parse_id(id) else {
            return Ok(());
        };
        let (delay, error) = (millis(delay), error.to_string());
        self.db
            .call(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(sql_err)?;
                let now = now_millis();
                let key: Option<String> = tx
                    .query_row(
                        "SELECT key FROM jobs WHERE id = ?1 AND attempt = ?2 AND state = 'running'",
                        params![row, attempt],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(sql_err)?;
                let Some(key) = key else { return Ok(()) };
                let twin: bool = tx
                    .query_row(
                        "SELECT 1 FROM jobs WHERE key = ?1 AND state = 'waiting'",
                        [&key],
                        |_| Ok(()),
                    )
                    .optional()
                    .map_err(sql_err)?
                    .is_some();
                if twin {
                    // The same work was enqueued again while this attempt ran; that waiting
                    // job is due sooner and does it, so this one just goes away.
                    tx.execute("DELETE FROM jobs WHERE id = ?1", [row])
                        .map_err(sql_err)?;
                } else {
                    tx.execute(
                        "UPDATE jobs SET state = 'waiting', due_at = ?2 + ?3, lease_until = NULL,
                            last_error = ?4, updated_at = ?2 WHERE id = ?1",
                        params![row, now, delay, error],
                    )
                    .map_err(sql_err)?;
                }
                tx.commit().map_err(sql_err)
            })
            .await
    }

    #[tracing::instrument(skip_all, fields(job.id = id), err)]
    async fn fail(&self, id: &str, error: &str) -> Result<()> {
        let Some((row, attempt)) = parse_id(id) else {
            return Ok(());
        };
        let error = error.to_string();
        self.db
            .call(move |conn| {
                conn.execute(
                    "UPDATE jobs SET state = 'dead', lease_until = NULL, last_error = ?3,
                        updated_at = ?4
                     WHERE id = ?1 AND attempt = ?2 AND state = 'running'",
                    params![row, attempt, error, now_millis()],
                )
                .map_err(sql_err)?;
                Ok(())
            })
            .await
    }

    #[tracing::instrument(skip_all, err)]
    async fn recover(&self) -> Result<u64> {
        self.db
            .call(|conn| {
                // Expire the leases rather than resetting to `waiting`: the job keeps its
                // attempt count and cannot collide with a waiting twin of the same key.
                let n = conn
                    .execute(
                        "UPDATE jobs SET lease_until = 0 WHERE state = 'running'",
                        [],
                    )
                    .map_err(sql_err)?;
                Ok(n as u64)
            })
            .await
    }

    #[tracing::instrument(skip_all, err)]
    async fn pending(&self) -> Result<u64> {
        self.db
            .call(|conn| {
                conn.query_row(
                    "SELECT COUNT(*) FROM jobs WHERE state IN ('waiting', 'running')",
                    [],
                    |r| r.get::<_, i64>(0),
                )
                .map(|n| n as u64)
                .map_err(sql_err)
            })
            .await
    }
}

impl SqliteQueue {
    /// Dead-lettered jobs with their last error, oldest first (operators, tests).
    pub async fn dead_letters(&self) -> Result<Vec<(Job, String)>> {
        self.db
            .call(|conn| {
                let mut stmt = conn
                    .prepare(
                        "SELECT payload, COALESCE(last_error, '') FROM jobs
                         WHERE state = 'dead' ORDER BY id",
                    )
                    .map_err(sql_err)?;
                let rows = stmt
                    .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                    .map_err(sql_err)?;
                let mut out = Vec::new();
                for row in rows {
                    let (payload, err) = row.map_err(sql_err)?;
                    if let Ok(job) = serde_json::from_str(&payload) {
                        out.push((job, err));
                    }
                }
                Ok(out)
            })
            .await
    }
}
