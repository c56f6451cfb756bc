//! The catalog and queue conformance suites, each check on a fresh schema.

use std::sync::Arc;

use imgtag_core::testkit::{catalog, queue};
use imgtag_core::{Catalog, JobQueue};
use imgtag_postgres::testing::pg_url;

use crate::Schemas;

#[tokio::test]
async fn catalog_on_postgres() {
    let Some(url) = pg_url() else { return };
    let schemas = Schemas::new(&url);
    catalog::run(|| {
        let s = &schemas;
        async move { Arc::new(s.fresh().await.catalog()) as Arc<dyn Catalog> }
    })
    .await;
    schemas.cleanup().await;
}

#[tokio::test]
async fn queue_on_postgres() {
    let Some(url) = pg_url() else { return };
    let schemas = Schemas::new(&url);
    queue::run(
        || {
            let s = &schemas;
            async move { Arc::new(s.fresh().await.queue()) as Arc<dyn JobQueue> }
        },
        // Shared by several instances: leases expire, `recover` releases nothing.
        queue::Recovery::LeaseExpiry,
    )
    .await;
    schemas.cleanup().await;
}
