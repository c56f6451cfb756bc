//! One SQLite database file shared by the catalog, the job queue and the accounts.
//!
//! SQLite calls block, so every call runs on tokio's blocking pool. All writes go through a
//! single connection behind a mutex: SQLite serialises writers anyway, and one writer means no
//! `SQLITE_BUSY` between our own statements. `busy_timeout` still matters when another process
//! (an `imgtag` CLI command, a backup) holds the file. Catalog reads on a file use a small pool
//! of read-only connections (`read_pool.rs`), so they never queue behind a write.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use imgtag_core::{Error, Result};
use rusqlite::{Connection, ErrorCode};

use crate::migrations;
use crate::read_pool::ReadPool;

/// How long a statement waits for another connection's lock before giving up.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The name of the database file inside the data directory.
pub const DB_FILE: &str = "imgtag.db";

/// A handle on the embedded database. Cheap to clone; clones share the connections.
#[derive(Clone)]
pub struct SqliteDb {
    conn: Arc<Mutex<Connection>>,
    /// Catalog reads; `None` (reads share the writer) in memory, where connections cannot
    /// share a database, and when opened read-only.
    readers: Option<Arc<ReadPool>>,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for SqliteDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteDb")
            .field("path", &self.path)
            .field("readers", &self.readers.as_ref().map(|r| r.size()))
            .finish()
    }
}

impl SqliteDb {
    /// Opens (creating if needed) the database file at `path` and brings its schema up to date,
    /// with one read connection per core.
    pub fn open(path: &Path) -> Result<Self> {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Self::open_with_readers(path, cores)
    }

    /// As [`SqliteDb::open`], with `readers` read-only connections for catalog reads (0: reads
    /// share the writer's connection).
    pub fn open_with_readers(path: &Path, readers: usize) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::Internal(format!("cannot create {}: {e}", dir.display())))?;
        }
        let conn = Connection::open(path).map_err(sql_err)?;
        // WAL lets readers in other processes proceed during a write; `synchronous = FULL`
        // makes every committed transaction durable, which the queue contract requires
        // ("durable once `enqueue` returns").
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql_err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sql_err)?;
        let mut db = Self::setup(conn, Some(path.to_path_buf()))?;
        // Opened after the migration, so every reader sees this build's schema.
        if readers > 0 {
            db.readers = Some(Arc::new(ReadPool::open(path, readers)?));
        }
        Ok(db)
    }

    /// Opens an existing database file for reading only (`imgtag migrate`'s source): no schema
    /// or journal change, and with an empty write-ahead log (a cleanly stopped server) nothing
    /// at all is written to the file or its folder. The schema must be this build's.
    pub fn open_read_only(path: &Path) -> Result<Self> {
        use rusqlite::OpenFlags;
        if !path.is_file() {
            return Err(Error::Internal(format!(
                "no database at {}",
                path.display()
            )));
        }
        let wal = std::fs::metadata(format!("{}-wal", path.display()));
        let wal_empty = wal.map(|m| m.len() == 0).unwrap_or(true);
        // `immutable` skips locking and the shared-memory file; only sound when every commit
        // is in the main file. Otherwise a plain read-only open reads the log as well.
        let mode = if wal_empty { "immutable=1" } else { "mode=ro" };
        let uri = format!("file:{}?{mode}", uri_path(path));
        let conn = Connection::open_with_flags(
            uri,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
        )
        .map_err(sql_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql_err)?;
        migrations::check_current(&conn)?;
        Ok(SqliteDb {
            conn: Arc::new(Mutex::new(conn)),
            readers: None,
            path: Some(path.to_path_buf()),
        })
    }

    /// Opens `imgtag.db` inside `data_dir`.
    pub fn open_in_dir(data_dir: &Path) -> Result<Self> {
        Self::open(&data_dir.join(DB_FILE))
    }

    /// A private in-memory database (tests).
    pub fn open_in_memory() -> Result<Self> {
        Self::setup(Connection::open_in_memory().map_err(sql_err)?, None)
    }

    fn setup(mut conn: Connection, path: Option<PathBuf>) -> Result<Self> {
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(sql_err)?;
        migrations::migrate(&mut conn)?;
        Ok(SqliteDb {
            conn: Arc::new(Mutex::new(conn)),
            readers: None,
            path,
        })
    }

    /// The database file, `None` for an in-memory database.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Runs `f` with the connection on the blocking pool.
    pub(crate) async fn call<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            // A panic inside `f` poisons the mutex; the connection itself is still sound
            // (an open transaction was rolled back when its guard unwound), so carry on.
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| Error::Internal(format!("database task failed: {e}")))?
    }

    /// Runs the read-only `f` on a read connection, or on the writer's when there is no pool.
    /// Each statement sees the last committed state (what `call` has returned from).
    pub(crate) async fn call_read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let Some(pool) = self.readers.clone() else {
            return self.call(f).await;
        };
        tokio::task::spawn_blocking(move || pool.with(f))
            .await
            .map_err(|e| Error::Internal(format!("database task failed: {e}")))?
    }

    /// `call_read` for a lookup of a row or two that SQLite answers from memory in
    /// microseconds: run here on an idle read connection, when one is free, rather than pay
    /// the blocking pool's two thread switches (most of such a request's cost under load).
    pub(crate) async fn call_read_brief<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let f = match &self.readers {
            Some(pool) => match pool.try_with(f) {
                Ok(answer) => return answer,
                Err(f) => f,
            },
            None => f,
        };
        self.call_read(f).await
    }
}

/// `path` for a `file:` URI: the characters a URI gives a meaning to are percent-encoded.
fn uri_path(path: &Path) -> String {
    let mut out = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            '%' | '?' | '#' => out.push_str(&format!("%{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Maps a SQLite error to the domain error: lock contention is worth a retry, anything else
/// is a bug or a broken disk.
pub(crate) fn sql_err(e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            Error::Unavailable(format!("database busy: {e}"))
        }
        _ => Error::Internal(format!("sqlite: {e}")),
    }
}

/// True for a UNIQUE / PRIMARY KEY violation.
pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

/// Milliseconds since the Unix epoch (queue and throttle clocks).
pub(crate) fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
