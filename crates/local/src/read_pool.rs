//! Read-only connections beside the one writer. In WAL mode a reader sees the last committed
//! state and neither waits for the writer nor blocks it, so `GET /images` and `GET /tags` keep
//! answering while a tagging job holds the write transaction.

use std::path::Path;
use std::sync::{Condvar, Mutex};

use imgtag_core::Result;
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};

use crate::db::{sql_err, BUSY_TIMEOUT};

/// A fixed set of idle connections; a caller takes one, or waits for one to come back.
pub(crate) struct ReadPool {
    idle: Mutex<Vec<Connection>>,
    returned: Condvar,
    size: usize,
}

impl ReadPool {
    /// `size` connections to the (already migrated) file at `path`.
    pub(crate) fn open(path: &Path, size: usize) -> Result<Self> {
        let mut idle = Vec::with_capacity(size);
        for _ in 0..size {
            // Read-write open, `query_only` on: a plain read-only connection could not
            // checkpoint or remove the log if it happens to close last.
            let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            let conn = Connection::open_with_flags(path, flags).map_err(sql_err)?;
            conn.busy_timeout(BUSY_TIMEOUT).map_err(sql_err)?;
            conn.pragma_update(None, "query_only", "ON")
                .map_err(sql_err)?;
            // Without it SQLite re-plans a cached statement whenever a bound value might
            // change the plan (a compile per listed page); the hot queries fix their plans.
            conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
                .map_err(sql_err)?;
            idle.push(conn);
        }
        Ok(ReadPool {
            idle: Mutex::new(idle),
            returned: Condvar::new(),
            size,
        })
    }

    /// Runs `f` on an idle connection (blocking until one is free).
    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let conn = {
            // Poisoning cannot leave the Vec half-changed (push and pop only): carry on.
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                match idle.pop() {
                    Some(c) => break c,
                    None => idle = self.returned.wait(idle).unwrap_or_else(|p| p.into_inner()),
                }
            }
        };
        self.run(conn, f)
    }

    /// Runs `f` on an idle connection if there is one; gives `f` back if all are busy.
    pub(crate) fn try_with<T, F>(&self, f: F) -> std::result::Result<Result<T>, F>
    where
        F: FnOnce(&mut Connection) -> Result<T>,
    {
        let conn = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        match conn {
            Some(conn) => Ok(self.run(conn, f)),
            None => Err(f),
        }
    }

    fn run<T>(&self, conn: Connection, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let mut lease = Lease {
            pool: self,
            conn: Some(conn),
        };
        f(lease.conn.as_mut().expect("held until drop"))
    }
}

/// Gives the connection back even when `f` panics, so the pool never shrinks.
struct Lease<'a> {
    pool: &'a ReadPool,
    conn: Option<Connection>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take() {
            let mut idle = self.pool.idle.lock().unwrap_or_else(|p| p.into_inner());
            idle.push(c);
            self.pool.returned.notify_one();
        }
    }
}

impl ReadPool {
    /// How many connections the pool holds.
    pub(crate) fn size(&self) -> usize {
        self.size
    }
}
