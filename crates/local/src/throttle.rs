//! Sign-in throttling per username (known or not): after [`FREE_FAILURES`] consecutive
//! failures, each further attempt must wait 2^(n - FREE_FAILURES) seconds after the last
//! failure (capped at [`MAX_WAIT_SECS`]). The password is not even checked while waiting, so
//! guessing costs the attacker time, not us CPU. A success resets the count.

use rusqlite::{params, OptionalExtension};

use crate::db::{now_millis, sql_err, SqliteDb};
use imgtag_core::Result;

/// Failures allowed before any wait.
pub const FREE_FAILURES: i64 = 5;
/// Longest wait, in seconds.
pub const MAX_WAIT_SECS: i64 = 15 * 60;

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
        conn.execute(
            "INSERT INTO signin_failures (username_lower, failures, last_failure_at)
             VALUES (?1, 1, ?2)
             ON CONFLICT (username_lower) DO UPDATE
                SET failures = failures + 1, last_failure_at = excluded.last_failure_at",
            params![user, now_millis()],
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
