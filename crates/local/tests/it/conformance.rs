//! Every port's conformance suite on the embedded adapters, SQLite in a file.

use std::sync::Arc;

use imgtag_core::signing::Signer;
use imgtag_core::testkit::{accounts, blobs, catalog, queue};
use imgtag_core::{Accounts, BlobStore, Catalog, JobQueue};
use imgtag_local::{FsBlobStore, SqliteDb};

use crate::{accounts_in, Dirs};

#[tokio::test]
async fn catalog_on_sqlite_file() {
    let dirs = Dirs::new();
    catalog::run(|| {
        let dir = dirs.fresh();
        async move { Arc::new(SqliteDb::open_in_dir(&dir).unwrap().catalog()) as Arc<dyn Catalog> }
    })
    .await;
}

#[tokio::test]
async fn catalog_on_sqlite_in_memory() {
    catalog::run(|| async {
        Arc::new(SqliteDb::open_in_memory().unwrap().catalog()) as Arc<dyn Catalog>
    })
    .await;
}

#[tokio::test]
async fn queue_on_sqlite_file() {
    let dirs = Dirs::new();
    queue::run(
        || {
            let dir = dirs.fresh();
            async move { Arc::new(SqliteDb::open_in_dir(&dir).unwrap().queue()) as Arc<dyn JobQueue> }
        },
        queue::Recovery::Immediate,
    )
    .await;
}

#[tokio::test]
async fn blobs_on_filesystem() {
    let dirs = Dirs::new();
    blobs::run(|| {
        let dir = dirs.fresh();
        async move {
            let signer = Arc::new(Signer::new(b"test-secret".to_vec()));
            Arc::new(FsBlobStore::new(
                dir.join("blobs"),
                signer,
                "http://127.0.0.1:8080".into(),
            )) as Arc<dyn BlobStore>
        }
    })
    .await;
}

#[tokio::test]
async fn accounts_on_sqlite_file() {
    let dirs = Dirs::new();
    accounts::run(|| {
        let dir = dirs.fresh();
        async move { Arc::new(accounts_in(&dir).1) as Arc<dyn Accounts> }
    })
    .await;
}
