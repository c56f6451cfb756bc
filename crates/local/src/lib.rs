//! Embedded adapters for imgtag: everything the single `imgtag serve` binary needs, with no
//! external service.
//!
//! - [`SqliteDb`]: one SQLite file (`imgtag.db`) shared by
//!   - [`SqliteCatalog`] ([`imgtag_core::Catalog`]),
//!   - [`SqliteQueue`] ([`imgtag_core::JobQueue`]),
//!   - [`LocalAccounts`] ([`imgtag_core::Accounts`]);
//! - [`FsBlobStore`] ([`imgtag_core::BlobStore`]): files under a directory, with URLs signed by
//!   [`imgtag_core::signing::Signer`] and served by the server itself.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod accounts;
mod accounts_admin;
mod blobs;
mod catalog;
mod catalog_import;
mod catalog_query;
mod catalog_read;
mod db;
pub mod jwt;
mod migrations;
pub mod password;
mod queue;
mod read_pool;
pub mod throttle;

pub use accounts::{
    check_password, check_username, hash_token, new_refresh_token, AccountsConfig, LocalAccounts,
    MAX_PASSWORD_LEN,
};
pub use blobs::FsBlobStore;
pub use catalog::SqliteCatalog;
#[doc(hidden)]
pub use catalog_query::ListExplain;
pub use db::{SqliteDb, DB_FILE};
pub use jwt::KEY_FILE;
pub use queue::SqliteQueue;
pub use throttle::{FREE_FAILURES, MAX_WAIT_SECS};

impl SqliteDb {
    /// The catalog on this database.
    pub fn catalog(&self) -> SqliteCatalog {
        SqliteCatalog::new(self.clone())
    }

    /// The job queue on this database.
    pub fn queue(&self) -> SqliteQueue {
        SqliteQueue::new(self.clone())
    }
}
