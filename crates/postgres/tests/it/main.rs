//! Tests of the PostgreSQL adapters against a real server (`IMGTAG_PG_URL`; `scripts/test`
//! starts a private cluster): the port conformance suites, then what only a database shared
//! by several instances promises. One test binary (modules below) so the crate links once.

mod accounts;
mod conformance;
mod import;
mod instances;
mod plans;
mod versions;

use std::sync::Mutex;

use imgtag_postgres::testing::{config, drop_schema, unique_schema};
use imgtag_postgres::PgDb;

/// Fresh schemas on one server, each migrated and empty, dropped again by `cleanup`.
pub struct Schemas {
    url: String,
    made: Mutex<Vec<String>>,
}

impl Schemas {
    pub fn new(url: &str) -> Self {
        Schemas {
            url: url.to_string(),
            made: Mutex::new(Vec::new()),
        }
    }

    /// A new schema's name (not created yet: `open` creates it).
    pub fn name(&self) -> String {
        let s = unique_schema();
        self.made.lock().unwrap().push(s.clone());
        s
    }

    /// A database handle (its own pool, as another instance would have) on `schema`.
    pub async fn open(&self, schema: &str) -> PgDb {
        PgDb::connect(&config(&self.url, schema))
            .await
            .expect("connect to IMGTAG_PG_URL")
    }

    /// A handle on a new, empty schema.
    pub async fn fresh(&self) -> PgDb {
        let s = self.name();
        self.open(&s).await
    }

    /// Drops every schema made here (not reached when a test fails: its data stays to look at).
    pub async fn cleanup(self) {
        for s in self.made.into_inner().unwrap() {
            drop_schema(&self.url, &s).await.expect("drop test schema");
        }
    }
}
