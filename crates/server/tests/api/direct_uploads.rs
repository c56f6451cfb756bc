//! Uploads that go straight to storage (S3) and never pass through `accept_upload`: the
//! `IngestUpload` watch that `create_upload` enqueues. Storage here is the filesystem store
//! claiming to be such a store; the client's direct upload is a `put` behind the app's back.
//! (The same flow on the S3 emulator is `tests/aws`.)

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use imgtag_core::services::{App, JobRun, Settings};
use imgtag_core::signing::Signer;
use imgtag_core::{
    bytes_stream, BlobKey, BlobStore, ByteStream, ImageStatus, Job, Owner, Prediction, Result,
    TagError, TagName, Tagger, UploadForm, UploadPolicy,
};
use imgtag_local::{AccountsConfig, FsBlobStore, LocalAccounts, SqliteDb};

use crate::helpers::fixture;

/// The filesystem store, posing as one whose uploads bypass the application.
struct Direct(FsBlobStore);

#[async_trait::async_trait]
impl BlobStore for Direct {
    async fn put(&self, key: &BlobKey, body: ByteStream) -> Result<u64> {
        self.0.put(key, body).await
    }
    async fn get(&self, key: &BlobKey) -> Result<Bytes> {
        self.0.get(key).await
    }
    async fn delete(&self, key: &BlobKey) -> Result<()> {
        self.0.delete(key).await
    }
    async fn exists(&self, key: &BlobKey) -> Result<bool> {
        self.0.exists(key).await
    }
    async fn presign_get(&self, key: &BlobKey, ct: &str, ttl: Duration) -> Result<String> {
        self.0.presign_get(key, ct, ttl).await
    }
    async fn presign_upload(&self, policy: &UploadPolicy) -> Result<UploadForm> {
        self.0.presign_upload(policy).await
    }
    fn uploads_bypass_app(&self) -> bool {
        true
    }
}

struct Cat;

#[async_trait::async_trait]
impl Tagger for Cat {
    fn name(&self) -> &str {
        "cat"
    }
    async fn tag(&self, _: Bytes) -> std::result::Result<Vec<Prediction>, TagError> {
        Ok(vec![Prediction::new(TagName::parse("cat").unwrap(), 0.9)])
    }
}

fn app(dir: &std::path::Path, poll: bool) -> App {
    let db = SqliteDb::open_in_dir(dir).unwrap();
    let signer = Arc::new(Signer::new(vec![7u8; 32]));
    let blobs = Direct(FsBlobStore::new(
        dir.join("blobs"),
        signer,
        "http://x".into(),
    ));
    App::new(
        Arc::new(db.catalog()),
        Arc::new(blobs),
        Arc::new(db.queue()),
        Arc::new(Cat),
        Arc::new(LocalAccounts::open(&db, dir, AccountsConfig::default()).unwrap()),
        Settings {
            poll_direct_uploads: poll,
            ..Settings::default()
        },
    )
}

/// Runs the next due job, waiting (briefly) for one to become due.
async fn next(app: &App) -> JobRun {
    for _ in 0..100 {
        match app.run_next().await.unwrap() {
            JobRun::Idle => tokio::time::sleep(Duration::from_millis(20)).await,
            run => return run,
        }
    }
    JobRun::Idle
}

#[tokio::test]
async fn a_direct_upload_is_noticed_recorded_and_tagged() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), true);
    let owner = Owner::parse("u1").unwrap();
    let ticket = app
        .create_upload(&owner, Some("cat.jpg"), Some("image/jpeg"))
        .await
        .unwrap();
    assert_eq!(
        app.queue.pending().await.unwrap(),
        1,
        "the upload is watched"
    );
    // Nothing uploaded yet: the watch waits.
    assert_eq!(next(&app).await, JobRun::Retrying);
    assert!(app
        .catalog
        .get_image(&owner, &ticket.id)
        .await
        .unwrap()
        .is_none());
    // The client's upload lands in storage.
    let key = BlobKey::for_image(&owner, &ticket.id);
    app.blobs
        .put(&key, bytes_stream(fixture("chelsea.jpg")))
        .await
        .unwrap();
    assert_eq!(next(&app).await, JobRun::Finished);
    let img = app
        .catalog
        .get_image(&owner, &ticket.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (img.status, img.name.as_str()),
        (ImageStatus::Pending, "cat.jpg")
    );
    assert_eq!(img.content_type, "image/jpeg");
    assert_eq!(next(&app).await, JobRun::Finished, "the tagging job");
    let img = app
        .catalog
        .get_image(&owner, &ticket.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((img.status, img.tags()), (ImageStatus::Tagged, vec!["cat"]));
    assert_eq!(app.queue.pending().await.unwrap(), 0);
}

#[tokio::test]
async fn what_is_not_an_image_is_deleted_and_never_listed() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), true);
    let owner = Owner::parse("u1").unwrap();
    let ticket = app.create_upload(&owner, None, None).await.unwrap();
    let key = BlobKey::for_image(&owner, &ticket.id);
    app.blobs
        .put(&key, bytes_stream(&b"<html>no</html>"[..]))
        .await
        .unwrap();
    assert_eq!(next(&app).await, JobRun::Finished);
    assert!(app
        .catalog
        .get_image(&owner, &ticket.id)
        .await
        .unwrap()
        .is_none());
    assert!(!app.blobs.exists(&key).await.unwrap());
    assert_eq!(app.queue.pending().await.unwrap(), 0);
}

#[tokio::test]
async fn an_upload_that_never_comes_is_given_up_after_its_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), true);
    let owner = Owner::parse("u1").unwrap();
    // Signed long ago: the watch ends at its first look.
    let job: Job = serde_json::from_value(serde_json::json!({
        "type": "ingest_upload",
        "owner": owner,
        "image": imgtag_core::ImageId::new(),
        "name": "",
        "until": "2001-01-01T00:00:00Z",
    }))
    .unwrap();
    app.queue.enqueue(&job).await.unwrap();
    assert_eq!(next(&app).await, JobRun::Finished);
    assert_eq!(app.queue.pending().await.unwrap(), 0);
}

#[tokio::test]
async fn watching_can_be_left_to_storage_events() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), false);
    let owner = Owner::parse("u1").unwrap();
    let ticket = app.create_upload(&owner, None, None).await.unwrap();
    assert_eq!(app.queue.pending().await.unwrap(), 0);
    // What an S3 event handler does instead.
    let key = BlobKey::for_image(&owner, &ticket.id);
    app.blobs
        .put(&key, bytes_stream(fixture("chelsea.jpg")))
        .await
        .unwrap();
    let outcome = app.ingest_upload(&key, "x.jpg").await.unwrap();
    assert!(matches!(
        outcome,
        imgtag_core::services::IngestOutcome::Recorded(_)
    ));
    let again = app.ingest_upload(&key, "x.jpg").await.unwrap();
    assert!(matches!(
        again,
        imgtag_core::services::IngestOutcome::AlreadyKnown
    ));
}
