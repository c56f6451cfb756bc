//! The worker's retry policy, with a tagger standing in for a remote service that is down
//! (the built-in model never fails transiently, so this one failure mode needs a stand-in).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use imgtag_core::services::{App, Settings};
use imgtag_core::signing::Signer;
use imgtag_core::{bytes_stream, ImageStatus, Owner, Prediction, TagError, TagName, Tagger};
use imgtag_local::{AccountsConfig, FsBlobStore, LocalAccounts, SqliteDb};

use crate::helpers::fixture;

/// Unavailable for the first `failures` calls, then answers `cat`.
struct Flaky {
    failures: u32,
    calls: AtomicU32,
}

#[async_trait::async_trait]
impl Tagger for Flaky {
    fn name(&self) -> &str {
        "flaky"
    }
    async fn tag(&self, _: Bytes) -> Result<Vec<Prediction>, TagError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) < self.failures {
            return Err(TagError::Unavailable("remote tagger returned 503".into()));
        }
        Ok(vec![Prediction::new(TagName::parse("cat").unwrap(), 0.9)])
    }
}

fn app(dir: &std::path::Path, tagger: Arc<Flaky>) -> App {
    let db = SqliteDb::open_in_dir(dir).unwrap();
    let signer = Arc::new(Signer::new(vec![7u8; 32]));
    let settings = Settings {
        max_attempts: 3,
        retry_base_ms: 0,
        ..Settings::default()
    };
    App::new(
        Arc::new(db.catalog()),
        Arc::new(FsBlobStore::new(
            dir.join("blobs"),
            signer,
            "http://x".into(),
        )),
        Arc::new(db.queue()),
        tagger,
        Arc::new(LocalAccounts::open(&db, dir, AccountsConfig::default()).unwrap()),
        settings,
    )
}

async fn upload(app: &App) -> (Owner, imgtag_core::ImageId) {
    let owner = Owner::parse("u1").unwrap();
    let img = app
        .upload_direct(&owner, "cat.jpg", bytes_stream(fixture("chelsea.jpg")))
        .await
        .unwrap();
    (owner, img.id)
}

#[tokio::test]
async fn transient_failures_are_retried_until_tagging_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let tagger = Arc::new(Flaky {
        failures: 2,
        calls: AtomicU32::new(0),
    });
    let app = app(dir.path(), tagger.clone());
    let (owner, id) = upload(&app).await;
    assert_eq!(app.drain().await.unwrap(), 3);
    let img = app.catalog.get_image(&owner, &id).await.unwrap().unwrap();
    assert_eq!(img.status, ImageStatus::Tagged);
    assert_eq!(img.tags(), vec!["cat"]);
    assert_eq!(tagger.calls.load(Ordering::SeqCst), 3);
    assert_eq!(app.queue.pending().await.unwrap(), 0);
}

#[tokio::test]
async fn exhausted_retries_mark_the_image_failed_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let tagger = Arc::new(Flaky {
        failures: u32::MAX,
        calls: AtomicU32::new(0),
    });
    let app = app(dir.path(), tagger.clone());
    let (owner, id) = upload(&app).await;
    app.drain().await.unwrap();
    let img = app.catalog.get_image(&owner, &id).await.unwrap().unwrap();
    assert_eq!(img.status, ImageStatus::Failed);
    let reason = img.failure_reason.unwrap();
    assert!(
        reason.contains("after 3 attempts") && reason.contains("503"),
        "{reason}"
    );
    assert_eq!(tagger.calls.load(Ordering::SeqCst), 3);
    assert_eq!(app.queue.pending().await.unwrap(), 0);
}
