//! Sign-in throttling per username (known or not): after [`FREE_FAILURES`] consecutive
//! failures, each further attempt must wait 2^(n - FREE_FAILURES) seconds after the last
//! failure (capped at [`MAX_WAIT_SECS`]). The password is not even checked while waiting, so
//! guessing costs the attacker time, not us CPU. A success resets the count, and so does a day
//! without failures: rows older than [`FORGET_AFTER_SECS`] are pruned on every failure, so a
//! spray of made-up usernames cannot grow the table without bound.

use rusqlite::{params, OptionalExtension};

use crate::db::{now_millis, sql_err, SqliteDb};
use imgtag_core::Result;

/// Failures allowed before any wait.
pub const FREE_FAILURES: i64 = 5;
/// Longest wait, in seconds.
pub const MAX_WAIT_SECS: i64 = 15 * 60;

/// A username's failures are forgotten this long after its last one.
pub const FORGET_AFTER_SECS: i64 = 24 * 3600;

/// The wait in seconds after `failures` consecutive failures.
pub fn wait_secs(failures: i64) -> i64 {
    if failures < FREE_FAILURES {
        return 0;
    }
    let exp = (failures - FREE_FAILURES).min(20) as u32;
    2i64.pow(exp).min(MAX_WAIT_SECS)
}

/// `Some(seconds)` if an attempt for `user` must wait.
pub(crate) async fn check(db: &SqliteDb, user: &str) -> Result<Option<u64>> {
    let user = user.to_string();
    db.call(move |conn| {
        let row: Option<(i64, i64)> = conn
            .query_row(
                "SELECT failures, last_failure_at FROM signin_failures WHERE username_lower = ?1",
                [user],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(sql_err)?;
        let Some((failures, last)) = row else {
            return Ok(None);
        };
        let until = last + wait_secs(failures) * 1000;
        let left = until - now_millis();
        // Rounded up: "retry in 0 s" would invite an immediate, refused retry.
        Ok((left > 0).then(|| ((left + 999) / 1000) as u64))
    })
    .await
}

pub(crate) async fn record_failure(db: &SqliteDb, user: &str) -> Result<()> {
    let user = user.to_string();
    db.call(move |conn| {
        let now = now_millis();
        conn.execute(
            "DELETE FROM signin_failures WHERE last_failure_at < ?1",
            [now - FORGET_AFTER_SECS * 1000],
        )
        .map_err(sql_err)?;
        conn.execute(
            "INSERT INTO signin_failures (username_lower, failures, last_failure_at)
             VALUES (?1, 1, ?2)
             ON CONFLICT (username_lower) DO UPDATE
                SET failures = failures + 1, last_failure_at = excluded.last_failure_at",
            params![user, now],
        )
        .map_err(sql_err)?;
        Ok(())
    })
    .await
}

pub(crate) async fn reset(db: &SqliteDb, user: &str) -> Result<()> {
    let user = user.to_string();
    db.call(move |conn| {
        conn.execute(
            "DELETE FROM signin_failures WHERE username_lower = ?1",
            [user],
        )
        .map_err(sql_err)?;
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn rows(db: &SqliteDb) -> Vec<(String, i64)> {
        db.call(|conn| {
            let mut st = conn
                .prepare("SELECT username_lower, failures FROM signin_failures ORDER BY 1")
                .map_err(sql_err)?;
            let rows = st
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(sql_err)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(sql_err)?;
            Ok(rows)
        })
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn failures_older_than_a_day_are_forgotten() {
        let db = SqliteDb::open_in_memory().unwrap();
        let old = now_millis() - (FORGET_AFTER_SECS + 60) * 1000;
        let recent = now_millis() - 3600 * 1000;
        db.call(move |conn| {
            conn.execute(
                "INSERT INTO signin_failures VALUES ('sprayed', 9, ?1), ('maya', 12, ?1), \
                 ('recent', 7, ?2)",
                params![old, recent],
            )
            .map_err(sql_err)
        })
        .await
        .unwrap();
        record_failure(&db, "maya").await.unwrap();
        // The stale count restarts at 1 instead of 13; the sprayed name is gone; the recent
        // one stays.
        assert_eq!(
            rows(&db).await,
            [("maya".to_string(), 1), ("recent".to_string(), 7)]
        );
        assert_eq!(check(&db, "maya").await.unwrap(), None);
    }

    #[test]
    fn waits_grow_then_cap() {
        assert_eq!(wait_secs(0), 0);
        assert_eq!(wait_secs(4), 0);
        assert_eq!(wait_secs(5), 1);
        assert_eq!(wait_secs(6), 2);
        assert_eq!(wait_secs(10), 32);
        assert_eq!(wait_secs(15), MAX_WAIT_SECS);
        assert_eq!(wait_secs(1_000_000), MAX_WAIT_SECS);
    }
}
