use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::Owner;
use crate::error::{Error, Result};

/// Tokens returned by a successful sign-in or refresh.
#[derive(Debug, Clone, Serialize)]
pub struct Session {
    /// Bearer token for the API (a JWT).
    pub token: String,
    pub refresh_token: Option<String>,
    /// Seconds until `token` expires.
    pub expires_in: u64,
}

/// The caller, as established from a verified token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub owner: Owner,
    pub username: String,
}

/// An account, as administrators see it (`imgtag user list`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserInfo {
    pub owner: Owner,
    pub username: String,
    pub created_at: Option<DateTime<Utc>>,
}

/// An account with its password hash, for moving accounts between backends (`imgtag migrate`).
#[derive(Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub owner: Owner,
    pub username: String,
    /// A PHC string (argon2id for the embedded adapters).
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
}

// Hand-written so a hash never reaches a log line.
impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("owner", &self.owner)
            .field("username", &self.username)
            .field("password_hash", &"<redacted>")
            .field("created_at", &self.created_at)
            .finish()
    }
}

fn unsupported(what: &str) -> Error {
    Error::invalid(
        "unsupported",
        format!("this accounts backend cannot {what}"),
    )
}

/// User accounts and bearer tokens.
///
/// Contract (checked by `testkit::accounts`):
/// - `sign_up` MUST give `Conflict` for a username already taken (compared case-insensitively)
///   and `Invalid` for a bad username or a password shorter than the configured minimum.
/// - `sign_in` MUST give `BadCredentials` for an unknown user or a wrong password alike, and
///   MAY give `RateLimited` after repeated failures for one username.
/// - `verify` MUST give `Unauthorized` for a token that is malformed, expired, signed by another
///   key or algorithm (including `alg: none`) or issued for another audience.
/// - `refresh` exchanges a refresh token for a new session, `Unauthorized` if invalid. When
///   `rotates_refresh_tokens` is true the session carries a new refresh token and the used one
///   stops working; otherwise it carries the same token, which stays valid (Cognito).
/// - `jwks` returns the public keys that verify tokens, when the adapter issues them itself.
/// - Administration (the CLI, never HTTP): `find_user` looks a username up case-insensitively;
///   `list_users` returns every account ordered by username; `delete_user` removes the account
///   and invalidates its refresh tokens (`false` if absent); `set_password` applies the same
///   policy as `sign_up`, invalidates refresh tokens, and gives `NotFound` for an unknown user.
/// - Moving accounts (`imgtag migrate`): `export_users` returns every account with its password
///   hash, ordered by username; `import_user` stores one as is (same owner, hash and creation
///   time), gives `Ok(false)` when that owner already exists under that username (so a re-run is
///   harmless) and `Conflict` when the username belongs to another owner. Adapters that cannot
///   reveal or set hashes (Cognito) keep the defaults, which give `Invalid` code `unsupported`.
#[async_trait]
pub trait Accounts: Send + Sync {
    async fn sign_up(&self, username: &str, password: &str) -> Result<()>;
    async fn sign_in(&self, username: &str, password: &str) -> Result<Session>;
    async fn refresh(&self, refresh_token: &str) -> Result<Session>;
    async fn verify(&self, token: &str) -> Result<Caller>;
    fn jwks(&self) -> Option<serde_json::Value>;
    /// Whether `refresh` replaces the refresh token (see the contract above).
    fn rotates_refresh_tokens(&self) -> bool {
        true
    }
    async fn find_user(&self, username: &str) -> Result<Option<UserInfo>>;
    async fn list_users(&self) -> Result<Vec<UserInfo>>;
    async fn delete_user(&self, username: &str) -> Result<bool>;
    async fn set_password(&self, username: &str, password: &str) -> Result<()>;
    async fn export_users(&self) -> Result<Vec<UserRecord>> {
        Err(unsupported("export password hashes"))
    }
    async fn import_user(&self, user: UserRecord) -> Result<bool> {
        let _ = user;
        Err(unsupported("import password hashes"))
    }
}
