//! [`Accounts`] on PostgreSQL: the embedded adapter's behaviour (argon2id hashes, Ed25519
//! JWTs with a `kid`, rotating refresh tokens stored hashed, sign-in throttling per username)
//! with everything an instance needs in the database, so any instance verifies any other's
//! tokens. Hashing, tokens and policies are `imgtag_local`'s own code.

use std::sync::Arc;

use async_trait::async_trait;
use imgtag_core::{Accounts, Caller, Error, Owner, Result, Session, UserInfo, UserRecord};
use imgtag_local::jwt::JwtKeys;
use imgtag_local::{
    check_password, check_username, hash_token, new_refresh_token, password, AccountsConfig,
    MAX_PASSWORD_LEN,
};
use sqlx::PgPool;

use crate::accounts_admin as admin;
use crate::accounts_keys::{shared_secret, JWT_KEY};
use crate::accounts_throttle as throttle;
use crate::db::{db_err, sqlstate};
use crate::PgDb;

/// User accounts shared by every instance on one database.
pub struct PgAccounts {
    pool: PgPool,
    keys: Arc<JwtKeys>,
    cfg: AccountsConfig,
}

impl std::fmt::Debug for PgAccounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgAccounts")
            .field("cfg", &self.cfg)
            .finish()
    }
}

impl PgDb {
    /// Accounts on this database. The JWT signing key is read from it, or created there by
    /// the first instance to start, so every instance signs with the same key.
    pub async fn accounts(&self, cfg: AccountsConfig) -> Result<PgAccounts> {
        let der = shared_secret(self.pool(), JWT_KEY, JwtKeys::generate_pkcs8_der).await?;
        Ok(PgAccounts {
            pool: self.pool().clone(),
            keys: Arc::new(JwtKeys::from_pkcs8_der(&der)?),
            cfg,
        })
    }
}

impl PgAccounts {
    /// A new ID token and a new refresh token (stored hashed) for a user.
    async fn session(&self, user_id: String, username: String) -> Result<Session> {
        let owner = Owner::parse(&user_id).map_err(|_| Error::internal("corrupt user id"))?;
        let token = self
            .keys
            .issue(&owner, &username, self.cfg.token_ttl_secs)?;
        let refresh = new_refresh_token();
        let ttl_ms = i64::try_from(self.cfg.refresh_ttl_secs.saturating_mul(1000))
            .unwrap_or(i64::MAX)
            .min(3_153_600_000_000);
        // Expired tokens are swept here rather than by a timer.
        sqlx::query("DELETE FROM refresh_tokens WHERE expires_at <= now()")
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, user_id, expires_at)
             VALUES ($1, $2, now() + $3::float8 * interval '1 millisecond')",
        )
        .bind(hash_token(&refresh))
        .bind(&user_id)
        .bind(ttl_ms as f64)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(Session {
            token,
            refresh_token: Some(refresh),
            expires_in: self.cfg.token_ttl_secs,
        })
    }
}

#[async_trait]
impl Accounts for PgAccounts {
    #[tracing::instrument(skip_all, err)]
    async fn sign_up(&self, username: &str, password: &str) -> Result<()> {
        check_username(username)?;
        check_password(self.cfg.min_password_len, password)?;
        let hash = password::hash(password.to_string()).await?;
        let r = sqlx::query(
            "INSERT INTO users (id, username, username_lower, password_hash, created_at)
             VALUES ($1, $2, $3, $4, now())",
        )
        .bind(uuid::Uuid::new_v4().simple().to_string())
        .bind(username)
        .bind(username.to_ascii_lowercase())
        .bind(hash)
        .execute(&self.pool)
        .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) if sqlstate(&e).as_deref() == Some("23505") => {
                Err(Error::Conflict("User already exists".into()))
            }
            Err(e) => Err(db_err(e)),
        }
    }

    #[tracing::instrument(skip_all, err)]
    async fn sign_in(&self, username: &str, password: &str) -> Result<Session> {
        let bad = || Error::BadCredentials("Incorrect username or password.".into());
        let lower = username.to_ascii_lowercase();
        // The answer for a malformed name is the same as for an unknown one.
        if check_username(username).is_err() || password.len() > MAX_PASSWORD_LEN {
            return Err(bad());
        }
        if let Some(wait) = throttle::check(&self.pool, &lower).await? {
            return Err(Error::RateLimited(wait));
        }
        let user: Option<(String, String, String)> = sqlx::query_as(
            "SELECT id, username, password_hash FROM users WHERE username_lower = $1",
        )
        .bind(&lower)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        // An unknown user costs one hash verification too, so timing does not tell.
        let stored = user.as_ref().map(|u| u.2.clone());
        let ok = password::verify(password.to_string(), stored).await?;
        match user {
            Some((id, name, _)) if ok => {
                throttle::reset(&self.pool, &lower).await?;
                self.session(id, name).await
            }
            _ => {
                throttle::record_failure(&self.pool, &lower).await?;
                Err(bad())
            }
        }
    }

    #[tracing::instrument(skip_all, err)]
    async fn refresh(&self, refresh_token: &str) -> Result<Session> {
        // Rotation: the token is consumed by the statement that checks it, so it works
        // exactly once even when two instances receive it at the same moment.
        let user: Option<(String, String)> = sqlx::query_as(
            "WITH used AS (
                DELETE FROM refresh_tokens WHERE token_hash = $1 AND expires_at > now()
                RETURNING user_id
             )
             SELECT u.id, u.username FROM users u JOIN used ON u.id = used.user_id",
        )
        .bind(hash_token(refresh_token))
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
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
        admin::find(&self.pool, username).await
    }

    async fn list_users(&self) -> Result<Vec<UserInfo>> {
        admin::list(&self.pool).await
    }

    #[tracing::instrument(skip_all, err)]
    async fn delete_user(&self, username: &str) -> Result<bool> {
        admin::delete(&self.pool, username).await
    }

    #[tracing::instrument(skip_all, err)]
    async fn set_password(&self, username: &str, password: &str) -> Result<()> {
        check_password(self.cfg.min_password_len, password)?;
        admin::set_password(&self.pool, username, password).await
    }

    async fn export_users(&self) -> Result<Vec<UserRecord>> {
        admin::export(&self.pool).await
    }

    #[tracing::instrument(skip_all, fields(owner = %user.owner), err)]
    async fn import_user(&self, user: UserRecord) -> Result<bool> {
        check_username(&user.username)?;
        admin::import(&self.pool, user).await
    }
}
