//! Every port's conformance suite on the embedded adapters, SQLite in a file.

use std::sync::Arc;

use imgtag_core::signing::Signer;
use imgtag_core::testkit::{accounts, accounts_migrate, blobs, catalog, queue};
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

#[tokio::test]
async fn accounts_export_import_on_sqlite_file() {
    let dirs = Dirs::new();
    accounts_migrate::run(|| {
        let dir = dirs.fresh();
        async move { Arc::new(accounts_in(&dir).1) as Arc<dyn Accounts> }
    })
    .await;
}

/// What `imgtag migrate` reads a source folder with: everything readable, nothing written.
#[tokio::test]
async fn read_only_open_sees_everything_and_writes_nothing() {
    let dirs = Dirs::new();
    let dir = dirs.fresh();
    {
        let (db, a) = accounts_in(&dir);
        a.sign_up("rosa", accounts::PASSWORD).await.unwrap();
        let c = db.catalog();
        let o = imgtag_core::Owner::parse("rosa").unwrap();
        let img = imgtag_core::NewImage {
            id: imgtag_core::ImageId::new(),
            blob_key: imgtag_core::BlobKey::parse("images/rosa/x").unwrap(),
            owner: o,
            name: "x.jpg".into(),
            content_type: "image/jpeg".into(),
            size: 1,
            width: None,
            height: None,
            sha256: "ab".repeat(32),
            created_at: chrono::Utc::now(),
        };
        c.upsert_image(&img).await.unwrap();
    }
    let snapshot = || {
        let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let before = snapshot();
    {
        let db = SqliteDb::open_read_only(&dir.join(imgtag_local::DB_FILE)).unwrap();
        let a = imgtag_local::LocalAccounts::open_detached(&db, Default::default()).unwrap();
        let users = a.export_users().await.unwrap();
        assert_eq!(users.len(), 1);
        let o = users[0].owner.clone();
        let page = db
            .catalog()
            .list_images(
                &o,
                &imgtag_core::ImageQuery {
                    limit: 10,
                    ..Default::default()
                },
            )
            .await;
        // Owners are account ids, not names: this one has no images.
        assert!(page.unwrap().images.is_empty());
        let rosa = imgtag_core::Owner::parse("rosa").unwrap();
        let page = db
            .catalog()
            .list_images(
                &rosa,
                &imgtag_core::ImageQuery {
                    limit: 10,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(page.images.len(), 1);
        assert!(
            a.sign_up("sam", accounts::PASSWORD).await.is_err(),
            "read only"
        );
    }
    assert_eq!(snapshot(), before, "the folder is byte-for-byte unchanged");
}
