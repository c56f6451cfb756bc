//! Secrets every instance must share (the JWT signing key, the URL-signing key), kept in
//! PostgreSQL so that any number of instances sign and verify with the same keys.

use imgtag_core::{Error, Result};
use sqlx::PgPool;

use crate::db::db_err;
use crate::PgDb;

/// The JWT signing key (Ed25519, PKCS#8 DER).
pub(crate) const JWT_KEY: &str = "jwt-ed25519";
/// The HMAC secret for upload policies and file URLs of a shared local blob folder.
pub const URL_SIGNING_KEY: &str = "url-signing";

/// The secret named `name`, created from `make` if no instance has stored one yet. Race-free:
/// instances starting together may each make a candidate, but only the first insert lands
/// and everyone reads that one back.
pub(crate) async fn shared_secret(
    pool: &PgPool,
    name: &str,
    make: impl FnOnce() -> Result<Vec<u8>>,
) -> Result<Vec<u8>> {
    if let Some(s) = read(pool, name).await? {
        return Ok(s);
    }
    sqlx::query("INSERT INTO shared_keys (name, secret) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(name)
        .bind(make()?)
        .execute(pool)
        .await
        .map_err(db_err)?;
    read(pool, name)
        .await?
        .ok_or_else(|| Error::Internal(format!("shared key {name} vanished")))
}

async fn read(pool: &PgPool, name: &str) -> Result<Option<Vec<u8>>> {
    sqlx::query_scalar("SELECT secret FROM shared_keys WHERE name = $1")
        .bind(name)
        .fetch_optional(pool)
        .await
        .map_err(db_err)
}

impl PgDb {
    /// A random 32-byte secret stored under `name`, the same for every instance on this
    /// database (created by the first one to ask). For [`URL_SIGNING_KEY`] among others.
    pub async fn shared_secret(&self, name: &str) -> Result<Vec<u8>> {
        shared_secret(self.pool(), name, || {
            Ok(rand::Rng::gen::<[u8; 32]>(&mut rand::rngs::OsRng).to_vec())
        })
        .await
    }
}
