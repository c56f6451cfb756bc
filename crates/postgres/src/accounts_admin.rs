//! The administrative side of PostgreSQL accounts (`imgtag user ...`, `imgtag migrate`):
//! lookup, listing, removal, password changes, export and import, on the `users` table.

use chrono::{DateTime, Utc};
use imgtag_core::{Error, Owner, Result, UserInfo, UserRecord};
use imgtag_local::password;
use sqlx::PgPool;

use crate::db::{db_err, sqlstate};

type Row = (String, String, DateTime<Utc>);

fn owner(id: &str) -> Result<Owner> {
    Owner::parse(id).map_err(|_| Error::internal("corrupt user id"))
}

fn into_info((id, username, created): Row) -> Result<UserInfo> {
    Ok(UserInfo {
        owner: owner(&id)?,
        username,
        created_at: Some(created),
    })
}

pub(crate) async fn find(pool: &PgPool, username: &str) -> Result<Option<UserInfo>> {
    let row: Option<Row> =
        sqlx::query_as("SELECT id, username, created_at FROM users WHERE username_lower = $1")
            .bind(username.to_ascii_lowercase())
            .fetch_optional(pool)
            .await
            .map_err(db_err)?;
    row.map(into_info).transpose()
}

pub(crate) async fn list(pool: &PgPool) -> Result<Vec<UserInfo>> {
    let rows: Vec<Row> =
        sqlx::query_as("SELECT id, username, created_at FROM users ORDER BY username_lower")
            .fetch_all(pool)
            .await
            .map_err(db_err)?;
    rows.into_iter().map(into_info).collect()
}

/// Removes the account; its refresh tokens go with it (`ON DELETE CASCADE`).
pub(crate) async fn delete(pool: &PgPool, username: &str) -> Result<bool> {
    let n = sqlx::query("DELETE FROM users WHERE username_lower = $1")
        .bind(username.to_ascii_lowercase())
        .execute(pool)
        .await
        .map_err(db_err)?
        .rows_affected();
    Ok(n > 0)
}

/// Stores a new hash for an existing user (the caller checked the policy) and ends every
/// session the old password opened, in one transaction.
pub(crate) async fn set_password(pool: &PgPool, username: &str, new: &str) -> Result<()> {
    if find(pool, username).await?.is_none() {
        return Err(Error::NotFound("user"));
    }
    let hash = password::hash(new.to_string()).await?;
    let lower = username.to_ascii_lowercase();
    let mut tx = pool.begin().await.map_err(db_err)?;
    let id: Option<String> = sqlx::query_scalar(
        "UPDATE users SET password_hash = $1 WHERE username_lower = $2 RETURNING id",
    )
    .bind(hash)
    .bind(&lower)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_err)?;
    let Some(id) = id else {
        return Err(Error::NotFound("user"));
    };
    sqlx::query("DELETE FROM refresh_tokens WHERE user_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    Ok(())
}

pub(crate) async fn export(pool: &PgPool) -> Result<Vec<UserRecord>> {
    let rows: Vec<(String, String, String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT id, username, password_hash, created_at FROM users ORDER BY username_lower",
    )
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    rows.into_iter()
        .map(|(id, username, password_hash, created_at)| {
            Ok(UserRecord {
                owner: owner(&id)?,
                username,
                password_hash,
                created_at,
            })
        })
        .collect()
}

/// Stores an exported account as is; `false` if it is there already, `Conflict` if its
/// username or id belongs to another account.
pub(crate) async fn import(pool: &PgPool, user: UserRecord) -> Result<bool> {
    let lower = user.username.to_ascii_lowercase();
    let r = sqlx::query(
        "INSERT INTO users (id, username, username_lower, password_hash, created_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(user.owner.as_str())
    .bind(&user.username)
    .bind(&lower)
    .bind(&user.password_hash)
    .bind(user.created_at)
    .execute(pool)
    .await;
    match r {
        Ok(_) => Ok(true),
        // Taken: either this very account (a re-run) or someone else's name or id.
        Err(e) if sqlstate(&e).as_deref() == Some("23505") => {
            let by_name: Option<String> =
                sqlx::query_scalar("SELECT id FROM users WHERE username_lower = $1")
                    .bind(&lower)
                    .fetch_optional(pool)
                    .await
                    .map_err(db_err)?;
            match by_name {
                Some(id) if id == user.owner.as_str() => Ok(false),
                Some(_) => Err(Error::Conflict(format!(
                    "username {} belongs to another account",
                    user.username
                ))),
                None => Err(Error::Conflict(format!(
                    "account id {} belongs to another username",
                    user.owner
                ))),
            }
        }
        Err(e) => Err(db_err(e)),
    }
}
