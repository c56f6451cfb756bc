//! The administrative side of local accounts (`imgtag user ...`): lookup, listing, removal
//! and password changes, straight on the `users` table.

use chrono::{DateTime, Utc};
use imgtag_core::{Error, Owner, Result, UserInfo};
use rusqlite::{params, OptionalExtension, Row};

use crate::db::{sql_err, SqliteDb};
use crate::password;

fn user_info(r: &Row<'_>) -> rusqlite::Result<(String, String, String)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
}

fn into_info((id, username, created): (String, String, String)) -> Result<UserInfo> {
    Ok(UserInfo {
        owner: Owner::parse(&id).map_err(|_| Error::internal("corrupt user id"))?,
        username,
        created_at: DateTime::parse_from_rfc3339(&created)
            .ok()
            .map(|t| t.with_timezone(&Utc)),
    })
}

pub(crate) async fn find(db: &SqliteDb, username: &str) -> Result<Option<UserInfo>> {
    let lower = username.to_ascii_lowercase();
    let row = db
        .call(move |conn| {
            conn.query_row(
                "SELECT id, username, created_at FROM users WHERE username_lower = ?1",
                [lower],
                user_info,
            )
            .optional()
            .map_err(sql_err)
        })
        .await?;
    row.map(into_info).transpose()
}

pub(crate) async fn list(db: &SqliteDb) -> Result<Vec<UserInfo>> {
    let rows = db
        .call(|conn| {
            let mut st = conn
                .prepare("SELECT id, username, created_at FROM users ORDER BY username_lower")
                .map_err(sql_err)?;
            let rows = st.query_map([], user_info).map_err(sql_err)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(sql_err)
        })
        .await?;
    rows.into_iter().map(into_info).collect()
}

pub(crate) async fn delete(db: &SqliteDb, username: &str) -> Result<bool> {
    let lower = username.to_ascii_lowercase();
    db.call(move |conn| {
        let tx = conn.transaction().map_err(sql_err)?;
        // Explicit rather than relying on ON DELETE CASCADE and the foreign_keys pragma.
        tx.execute(
            "DELETE FROM refresh_tokens WHERE user_id IN
               (SELECT id FROM users WHERE username_lower = ?1)",
            [&lower],
        )
        .map_err(sql_err)?;
        let n = tx
            .execute("DELETE FROM users WHERE username_lower = ?1", [&lower])
            .map_err(sql_err)?;
        tx.commit().map_err(sql_err)?;
        Ok(n > 0)
    })
    .await
}

/// Stores a new hash for an existing user (the caller checked the policy) and ends every
/// session the old password opened.
pub(crate) async fn set_password(db: &SqliteDb, username: &str, new: &str) -> Result<()> {
    if find(db, username).await?.is_none() {
        return Err(Error::NotFound("user"));
    }
    let hash = password::hash(new.to_string()).await?;
    let lower = username.to_ascii_lowercase();
    let changed = db
        .call(move |conn| {
            let tx = conn.transaction().map_err(sql_err)?;
            let n = tx
                .execute(
                    "UPDATE users SET password_hash = ?1 WHERE username_lower = ?2",
                    params![hash, lower],
                )
                .map_err(sql_err)?;
            tx.execute(
                "DELETE FROM refresh_tokens WHERE user_id IN
                   (SELECT id FROM users WHERE username_lower = ?1)",
                [&lower],
            )
            .map_err(sql_err)?;
            tx.commit().map_err(sql_err)?;
            Ok(n)
        })
        .await?;
    if changed == 0 {
        return Err(Error::NotFound("user"));
    }
    Ok(())
}
