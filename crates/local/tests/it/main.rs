//! Tests of the embedded adapters: the port conformance suites from `imgtag_core::testkit`,
//! then what only these adapters promise (files, restarts, throttling, key handling).
//! One test binary (modules below) so the crate links once.

mod accounts;
mod blobs;
mod conformance;
mod persistence;
mod plans;
mod queue;
mod read_pool;
mod tag_counts;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use imgtag_local::{AccountsConfig, LocalAccounts, SqliteDb};

/// Fresh numbered directories under one temporary root that lives as long as the value.
pub struct Dirs {
    root: tempfile::TempDir,
    next: AtomicUsize,
}

impl Default for Dirs {
    fn default() -> Self {
        Self::new()
    }
}

impl Dirs {
    pub fn new() -> Self {
        Dirs {
            root: tempfile::tempdir().unwrap(),
            next: AtomicUsize::new(0),
        }
    }

    pub fn fresh(&self) -> PathBuf {
        let p = self
            .root
            .path()
            .join(format!("d{}", self.next.fetch_add(1, Ordering::Relaxed)));
        std::fs::create_dir_all(&p).unwrap();
        p
    }
}

/// Accounts over a database file in `dir`, with the default config.
pub fn accounts_in(dir: &std::path::Path) -> (SqliteDb, LocalAccounts) {
    let db = SqliteDb::open_in_dir(dir).unwrap();
    let a = LocalAccounts::open(&db, dir, AccountsConfig::default()).unwrap();
    (db, a)
}
