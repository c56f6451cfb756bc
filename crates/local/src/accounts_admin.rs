//! The administrative side of local accounts (`imgtag user ...`): lookup, listing, removal
//! and password changes, straight on the `users` table.

use chrono::{DateTime, Utc};
use imgtag_core::{Error, Owner, Result, UserInfo, UserRecord};
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

/// Every account with its hash, ordered by username (`imgtag migrate`).
pub(crate) async fn export(db: &SqliteDb) -> Result<Vec<UserRecord>> {
    let rows: Vec<(String, String, String, String)> = db
        .call(|conn| {
            let mut st = conn
                .prepare(
                    "SELECT id, username, password_hash, created_at FROM users
                     ORDER BY username_lower",
                )
                .map_err(sql_err)?;
            let rows = st
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .map_err(sql_err)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(sql_err)
        })
        .await?;
    rows.into_iter()
        .map(|(id, username, password_hash, created)| {
            Ok(UserRecord {
                owner: Owner::parse(&id).map_err(|_| Error::internal("corrupt user id"))?,
                username,
                password_hash,
                created_at: DateTime::parse_from_rfc3339(&created)
                    .map_err(|_| Error::internal("corrupt user creation time"))?
                    .with_timezone(&Utc),
            })
        })
        .collect()
}

/// Stores an exported account as is; `false` if it is there already, `Conflict` if its
/// username or id belongs to another account.
pub(crate) async fn import(db: &SqliteDb, user: UserRecord) -> Result<bool> {
    db.call(move |conn| {
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(sql_err)?;
        let lower = user.username.to_ascii_lowercase();
        let by_name: Option<String> = tx
            .query_row(
                "SELECT id FROM users WHERE username_lower = ?1",
                [&lower],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql_err)?;
        match by_name {
            Some(id) if id == user.owner.as_str() => return Ok(false),
            Some(_) => {
                return Err(Error::Conflict(format!(
                    "username {} belongs to another account",
                    user.username
                )))
            }
            None => {}
        }
        let r = tx.execute(
            "INSERT INTO users (id, username, username_lower, password_hash, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                user.owner.as_str(),
                user.username,
                lower,
                user.password_hash,
                user.created_at.to_rfc3339()
            ],
        );
        match r {
            Ok(_) => {}
            // The id is taken under another name.
            Err(e) if crate::db::is_unique_violation(&e) => {
                return Err(Error::Conflict(format!(
                    "account id {} belongs to another username",
                    user.owner
                )))
            }
            Err(e) => return Err(sql_err(e)),
        }
        tx.commit().map_err(sql_err)?;
        Ok(true)
    })
    .await
}
