//! What must survive closing and reopening the database file and the data directory.

use std::time::Duration;

use chrono::Utc;
use imgtag_core::{
    Accounts, BlobKey, Catalog, ImageId, ImageQuery, ImageStatus, Job, JobQueue, Label, NewImage,
    Owner, TagName,
};
use imgtag_local::{SqliteDb, DB_FILE, KEY_FILE};

use crate::{accounts_in, Dirs};

fn image(owner: &Owner) -> NewImage {
    let id = ImageId::new();
    NewImage {
        blob_key: BlobKey::for_image(owner, &id),
        id,
        owner: owner.clone(),
        name: "cat.jpg".into(),
        content_type: "image/jpeg".into(),
        size: 10,
        width: None,
        height: None,
        sha256: "00".repeat(32),
        created_at: Utc::now(),
    }
}

#[tokio::test]
async fn catalog_and_queue_survive_reopen() {
    let dirs = Dirs::new();
    let dir = dirs.fresh();
    let alice = Owner::parse("alice").unwrap();
    let img = image(&alice);
    let (j1, j2) = (
        Job::TagImage {
            owner: alice.clone(),
            image: img.id.clone(),
        },
        Job::TagImage {
            owner: alice.clone(),
            image: ImageId::new(),
        },
    );
    {
        let db = SqliteDb::open_in_dir(&dir).unwrap();
        let (cat, q) = (db.catalog(), db.queue());
        cat.upsert_image(&img).await.unwrap();
        let labels = [Label::auto(TagName::parse("cat").unwrap(), 0.9)];
        assert!(cat.set_auto_labels(&alice, &img.id, &labels).await.unwrap());
        q.enqueue(&j1).await.unwrap();
        q.enqueue(&j2).await.unwrap();
        // j1 is "running" when the process dies.
        let c = q.claim(Duration::from_secs(3600)).await.unwrap().unwrap();
        assert_eq!(c.job, j1);
    }
    assert!(dir.join(DB_FILE).exists());

    let db = SqliteDb::open_in_dir(&dir).unwrap();
    let (cat, q) = (db.catalog(), db.queue());
    let got = cat
        .get_image(&alice, &img.id)
        .await
        .unwrap()
        .expect("image survived");
    assert_eq!(got.status, ImageStatus::Tagged);
    assert_eq!(got.tags(), vec!["cat"]);
    let counts = cat.tag_counts(&alice, None, 10).await.unwrap();
    assert_eq!((counts[0].name.as_str(), counts[0].count), ("cat", 1));
    assert_eq!(q.pending().await.unwrap(), 2);
    // The interrupted job is picked up again after recovery, before the newer one.
    assert_eq!(q.recover().await.unwrap(), 1);
    let c = q.claim(Duration::from_secs(60)).await.unwrap().unwrap();
    assert_eq!((c.job, c.attempt), (j1, 2));
    let c = q.claim(Duration::from_secs(60)).await.unwrap().unwrap();
    assert_eq!((c.job, c.attempt), (j2, 1));
}

#[tokio::test]
async fn two_handles_on_one_file_see_each_other() {
    let dirs = Dirs::new();
    let dir = dirs.fresh();
    let (a, b) = (
        SqliteDb::open_in_dir(&dir).unwrap(),
        SqliteDb::open_in_dir(&dir).unwrap(),
    );
    let alice = Owner::parse("alice").unwrap();
    let img = image(&alice);
    a.catalog().upsert_image(&img).await.unwrap();
    let page = b
        .catalog()
        .list_images(
            &alice,
            &ImageQuery {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page.images.len(), 1);
}

#[test]
fn schema_is_migrated_once_in_wal_mode() {
    let dirs = Dirs::new();
    let dir = dirs.fresh();
    drop(SqliteDb::open_in_dir(&dir).unwrap());
    drop(SqliteDb::open_in_dir(&dir).unwrap());
    let conn = rusqlite::Connection::open(dir.join(DB_FILE)).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 7, "every migration ran, once");
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    // A database from a newer build is refused rather than misread.
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    assert!(SqliteDb::open_in_dir(&dir).is_err());
}

#[cfg(unix)]
#[tokio::test]
async fn jwt_key_is_private_and_reused() {
    use std::os::unix::fs::PermissionsExt;
    let dirs = Dirs::new();
    let dir = dirs.fresh();
    let (token, refresh, jwks, owner) = {
        let (_db, a) = accounts_in(&dir);
        a.sign_up("alice", "Abc123!").await.unwrap();
        let s = a.sign_in("alice", "Abc123!").await.unwrap();
        let owner = a.verify(&s.token).await.unwrap().owner;
        (s.token, s.refresh_token.unwrap(), a.jwks().unwrap(), owner)
    };
    let key = dir.join(KEY_FILE);
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "key file mode {mode:o}");
    let pem = std::fs::read_to_string(&key).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));

    // Reopen: same key, old tokens still verify, refresh tokens still work.
    let (_db, a) = accounts_in(&dir);
    assert_eq!(
        std::fs::read_to_string(&key).unwrap(),
        pem,
        "key was regenerated"
    );
    assert_eq!(a.jwks().unwrap(), jwks);
    assert_eq!(a.verify(&token).await.unwrap().owner, owner);
    assert!(a.refresh(&refresh).await.is_ok());
    drop((_db, a));

    // A loosened mode is tightened again on start.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (_db, a) = accounts_in(&dir);
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    drop((_db, a));

    // A new key (deleted file) means old tokens are foreign.
    std::fs::remove_file(&key).unwrap();
    let (_db, a) = accounts_in(&dir);
    assert_ne!(a.jwks().unwrap(), jwks);
    assert!(matches!(
        a.verify(&token).await,
        Err(imgtag_core::Error::Unauthorized)
    ));
}
