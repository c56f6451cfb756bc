//! imgtag adapters on PostgreSQL, for several stateless `imgtag serve` instances sharing one
//! database: a [`Catalog`](imgtag_core::Catalog) ([`PgCatalog`]) and a
//! [`JobQueue`](imgtag_core::JobQueue) ([`PgQueue`]) with leases that expire, and
//! [`Accounts`](imgtag_core::Accounts) ([`PgAccounts`]) with the signing keys every instance
//! shares, over one connection pool ([`PgDb`]). The schema is embedded (`migrations/`) and
//! applied on connect.
//!
//! Semantics match the SQLite adapters in `imgtag-local`; both run the same conformance
//! suites from `imgtag_core::testkit`.

mod accounts;
mod accounts_admin;
mod accounts_keys;
mod accounts_throttle;
mod catalog;
mod catalog_import;
mod catalog_query;
mod catalog_read;
mod catalog_write;
mod counts;
mod db;
mod queue;
#[doc(hidden)]
pub mod testing;
#[doc(hidden)]
pub mod testing_sql;

pub use accounts::PgAccounts;
pub use accounts_keys::URL_SIGNING_KEY;
pub use catalog::PgCatalog;
#[doc(hidden)]
pub use catalog_query::ListExplain;
pub use db::{PgConfig, PgDb};
pub use queue::PgQueue;
