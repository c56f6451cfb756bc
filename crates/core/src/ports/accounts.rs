use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::Owner;
use crate::error::Result;

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
}
