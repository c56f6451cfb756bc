//! [`Accounts`] on the embedded database: argon2id password hashes, Ed25519-signed JWTs,
//! rotating refresh tokens and sign-in throttling.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Utc;
use imgtag_core::{Accounts, Caller, Error, Owner, Result, Session, UserInfo};
use rand::RngCore;
use rusqlite::{params, OptionalExtension, TransactionBehavior};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::accounts_admin as admin;
use crate::db::{is_unique_violation, now_millis, sql_err, SqliteDb};
use crate::jwt::JwtKeys;
use crate::password;
use crate::throttle;

/// Account settings (`[accounts]` in the server's config).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccountsConfig {
    /// Shortest accepted password, in characters.
    pub min_password_len: usize,
    /// Lifetime of an ID token, in seconds.
    pub token_ttl_secs: u64,
    /// Lifetime of a refresh token, in seconds.
    pub refresh_ttl_secs: u64,
}

impl Default for AccountsConfig {
    fn default() -> Self {
        AccountsConfig {
            min_password_len: 6,
            token_ttl_secs: 3600,
            refresh_ttl_secs: 30 * 24 * 3600,
        }
    }
}

/// Longest accepted password: argon2 takes any length, but hashing megabytes on request is a
/// denial-of-service lever.
pub const MAX_PASSWORD_LEN: usize = 1024;
const MAX_USERNAME_LEN: usize = 128;

/// Local user accounts.
pub struct LocalAccounts {
    db: SqliteDb,
    keys: Arc<JwtKeys>,
    cfg: AccountsConfig,
}

impl std::fmt::Debug for LocalAccounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalAccounts")
            .field("cfg", &self.cfg)
            .finish()
    }
}

/// The username policy every imgtag accounts adapter applies (`Invalid` otherwise).
pub fn check_username(u: &str) -> Result<()> {
    let ok = (1..=MAX_USERNAME_LEN).contains(&u.len())
        && u.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@' | b'+'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "invalid-username",
            format!(
                "username must be 1-{MAX_USERNAME_LEN} characters: letters, digits and . _ - @ +"
            ),
        ))
    }
}

/// How a refresh token is stored: its SHA-256, hex (the token itself never is).
pub fn hash_token(t: &str) -> String {
    hex::encode(Sha256::digest(t.as_bytes()))
}

/// A new refresh token: 32 random bytes, base64url.
pub fn new_refresh_token() -> String {
    let mut raw = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    URL_SAFE_NO_PAD.encode(raw)
}

/// The password policy: `min_len` characters to [`MAX_PASSWORD_LEN`] bytes.
pub fn check_password(min_len: usize, p: &str) -> Result<()> {
    let n = p.chars().count();
    if n < min_len || p.len() > MAX_PASSWORD_LEN {
        return Err(Error::invalid(
            "weak-password",
            format!("password must be {min_len} to {MAX_PASSWORD_LEN} characters long"),
        ));
    }
    Ok(())
}

impl LocalAccounts {
    /// Accounts stored in `db`, tokens signed with the key in `data_dir` (created on first use).
    pub fn open(db: &SqliteDb, data_dir: &Path, cfg: AccountsConfig) -> Result<Self> {
        Ok(LocalAccounts {
            db: db.clone(),
            keys: Arc::new(JwtKeys::load_or_create(data_dir)?),
            cfg,
        })
    }

    /// Accounts stored in `db` that never touch the data folder: tokens are signed with a key
    /// that lives in memory only. For reading accounts out (`imgtag migrate`), not for serving.
    pub fn open_detached(db: &SqliteDb, cfg: AccountsConfig) -> Result<Self> {
        Ok(LocalAccounts {
            db: db.clone(),
            keys: Arc::new(JwtKeys::ephemeral()?),
            cfg,
        })
    }

    fn check_password(&self, p: &str) -> Result<()> {
        check_password(self.cfg.min_password_len, p)
    }

    /// A new ID token and a new refresh token (stored hashed) for a user.
    async fn session(&self, user_id: String, username: String) -> Result<Session> {
        let owner = Owner::parse(&user_id).map_err(|_| Error::internal("corrupt user id"))?;
        let token = self
            .keys
            .issue(&owner, &username, self.cfg.token_ttl_secs)?;
        let refresh = new_refresh_token();
        let (hash, ttl_ms) = (
            hash_token(&refresh),
            self.cfg.refresh_ttl_secs as i64 * 1000,
        );
        self.db
            .call(move |conn| {
                let now = now_millis();
                // Expired tokens are swept here rather than by a timer.
                conn.execute("DELETE FROM refresh_tokens WHERE expires_at <= ?1", [now])
                    .map_err(sql_err)?;
                conn.execute(
                    "INSERT INTO refresh_tokens (token_hash, user_id, expires_at, created_at)
                     VALUES (?1, ?2, ?3, ?4)",
                    params![hash, user_id, now.saturating_add(ttl_ms), now],
                )
                .map_err(sql_err)?;
                Ok(())
            })
            .await?;
        Ok(Session {
            token,
            refresh_token: Some(refresh),
            expires_in: self.cfg.token_ttl_secs,
        })
    }
}

#[async_trait]
impl Accounts for LocalAccounts {
    #[tracing::instrument(skip_all, err)]
    async fn sign_up(&self, username: &str, password: &str) -> Result<()> {
        check_username(username)?;
        self.check_password(password)?;
        let hash = password::hash(password.to_string()).await?;
        let (username, lower) = (username.to_string(), username.to_ascii_lowercase());
        let id = uuid::Uuid::new_v4().simple().to_string();
        self.db
            .call(move |conn| {
                let r = conn.execute(
                    "INSERT INTO users (id, username, username_lower, password_hash, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![id, username, lower, hash, Utc::now().to_rfc3339()],
                );
                match r {
                    Ok(_) => Ok(()),
                    Err(e) if is_unique_violation(&e) => {
                        Err(Error::Conflict("User already exists".into()))
                    }
                    Err(e) => Err(sql_err(e)),
                }
            })
            .await
    }

    #[tracing::instrument(skip_all, err)]
    async fn sign_in(&self, username: &str, password: &str) -> Result<Session> {
        let bad = || Error::BadCredentials("Incorrect username or password.".into());
        let lower = username.to_ascii_lowercase();
        // Cheap checks first, but the answer for a malformed name is the same as for an
        // unknown one: sign-in never says which part was wrong.
        if check_username(username).is_err() || password.len() > MAX_PASSWORD_LEN {
            return Err(bad());
        }
        if let Some(wait) = throttle::check(&self.db, &lower).await? {
            return Err(Error::RateLimited(wait));
        }
        let l = lower.clone();
        let user: Option<(String, String, String)> = self
            .db
            .call(move |conn| {
                conn.query_row(
                    "SELECT id, username, password_hash FROM users WHERE username_lower = ?1",
                    [l],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()
                .map_err(sql_err)
            })
            .await?;
        // An unknown user costs one hash verification too, so timing does not tell.
        let stored = user.as_ref().map(|u| u.2.clone());
        let ok = password::verify(password.to_string(), stored).await?;
        match user {
            Some((id, name, _)) if ok => {
                throttle::reset(&self.db, &lower).await?;
                self.session(id, name).await
            }
            _ => {
                throttle::record_failure(&self.db, &lower).await?;
                Err(bad())
            }
        }
    }

    #[tracing::instrument(skip_all, err)]
    async fn refresh(&self, refresh_token: &str) -> Result<Session> {
        let hash = hash_token(refresh_token);
        // Rotation: the presented token is consumed in the same statement that checks it, so
        // it works exactly once even under concurrent use.
        let user: Option<(String, String)> = self
            .db
            .call(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(sql_err)?;
                let user_id: Option<String> = tx
                    .query_row(
                        "DELETE FROM refresh_tokens WHERE token_hash = ?1 AND expires_at > ?2
                         RETURNING user_id",
                        params![hash, now_millis()],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(sql_err)?;
                let user = match user_id {
                    Some(id) => tx
                        .query_row("SELECT id, username FROM users WHERE id = ?1", [id], |r| {
                            Ok((r.get(0)?, r.get(1)?))
                        })
                        .optional()
                        .map_err(sql_err)?,
                    None => None,
                };
                tx.commit().map_err(sql_err)?;
                Ok(user)
            })
            .await?;
        let (id, name) = user.ok_or(Error::Unauthorized)?;
        self.session(id, name).await
    }

    async fn verify(&self, token: &str) -> Result<Caller> {
        self.keys.verify(token)
    }

    fn jwks(&self) -> Option<serde_json::Value> {
        Some(self.keys.jwks())
    }

    async fn find_user(&self, username: &str) -> Result<Option<UserInfo>> {
        admin::find(&self.db, username).await
    }

    async fn list_users(&self) -> Result<Vec<UserInfo>> {
        admin::list(&self.db).await
    }

    #[tracing::instrument(skip_all, err)]
    async fn delete_user(&self, username: &str) -> Result<bool> {
        admin::delete(&self.db, username).await
    }

    #[tracing::instrument(skip_all, err)]
    async fn set_password(&self, username: &str, password: &str) -> Result<()> {
        self.check_password(password)?;
        admin::set_password(&self.db, username, password).await
    }

    async fn export_users(&self) -> Result<Vec<imgtag_core::UserRecord>> {
        admin::export(&self.db).await
    }

    #[tracing::instrument(skip_all, fields(owner = %user.owner), err)]
    async fn import_user(&self, user: imgtag_core::UserRecord) -> Result<bool> {
        check_username(&user.username)?;
        admin::import(&self.db, user).await
    }
}
