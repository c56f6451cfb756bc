//! Index creation and every write: exact bodies, `refresh=wait_for`, optimistic concurrency.

use imgtag_core::{BBox, Catalog, Error, ImageId, Label};
use imgtag_opensearch::OpenSearchCatalog;
use serde_json::json;

use crate::replies::*;
use crate::server::{expect, Fake};
use crate::*;

/// The mapping, spelled out: a change to it must be deliberate.
fn mapping() -> serde_json::Value {
    let stored = json!({"type": "keyword", "index": false, "doc_values": false});
    json!({"mappings": {"dynamic": "strict", "properties": {
        "owner": {"type": "keyword"}, "id": {"type": "keyword"}, "name": stored,
        "blob_key": stored, "content_type": {"type": "keyword"}, "size": {"type": "long"},
        "width": {"type": "integer"}, "height": {"type": "integer"},
        "sha256": {"type": "keyword"}, "status": {"type": "keyword"}, "failure_reason": stored,
        "labels": {"type": "nested", "properties": {
            "name": {"type": "keyword"}, "confidence": {"type": "float"},
            "source": {"type": "keyword"}, "boxes": {"type": "object", "enabled": false}}},
        "tags": {"type": "keyword"},
        "created_at": {"type": "date"}, "updated_at": {"type": "date"}}}})
}

#[tokio::test]
async fn creating_the_index_is_idempotent() {
    let put = || expect("PUT", format!("/{INDEX}")).body(mapping());
    let fake = Fake::start(vec![
        put().reply(
            200,
            json!({"acknowledged": true, "shards_acknowledged": true, "index": INDEX}),
        ),
        // Another instance created it first, or a restart: fine.
        put().reply(400, already_exists()),
        // Anything else is not.
        put().reply(
            403,
            json!({"error": {"type": "security_exception",
            "reason": "no permissions for [indices:admin/create]"}, "status": 403}),
        ),
    ])
    .await;
    let cfg = OpenSearchConfig::new(&fake.url, INDEX);
    OpenSearchCatalog::connect(&cfg).await.unwrap();
    OpenSearchCatalog::connect(&cfg).await.unwrap();
    let err = OpenSearchCatalog::connect(&cfg).await.unwrap_err();
    assert!(
        matches!(&err, Error::Internal(m) if m.contains("403") && m.contains("permissions")),
        "{err:?}"
    );
    fake.finish();
    // A bad index name never reaches the cluster.
    let bad = OpenSearchConfig::new(&fake.url, "Images/../x");
    assert!(OpenSearchCatalog::connect(&bad).await.is_err());
}

#[tokio::test]
async fn a_new_image_is_created_and_searchable_on_return() {
    let id = ImageId::new();
    let doc = json!({
        "id": id.as_str(), "owner": "alice", "name": "cat.jpg",
        "blob_key": format!("images/alice/{id}"), "content_type": "image/jpeg",
        "size": 1234, "width": 640, "height": 480, "sha256": "ab".repeat(32),
        "status": "pending", "failure_reason": null, "labels": [], "tags": [],
        "created_at": "2026-11-26T02:00:00.123Z", "updated_at": "*"
    });
    let fake = Fake::start(vec![
        expect("GET", format!("/{INDEX}/_doc/{id}")).reply(404, not_found(id.as_str())),
        expect("PUT", format!("/{INDEX}/_create/{id}"))
            .query("refresh", "wait_for")
            .body(doc)
            .reply(201, written(id.as_str(), "created", 0)),
    ])
    .await;
    let c = catalog(&fake.url, Auth::None).await;
    c.upsert_image(&new_image("alice", &id)).await.unwrap();
    fake.finish();
}

#[tokio::test]
async fn an_id_held_by_another_owner_conflicts_without_a_write() {
    let id = ImageId::new();
    let fake = Fake::start(vec![expect("GET", format!("/{INDEX}/_doc/{id}")).reply(
        200,
        found(id.as_str(), 4, source(id.as_str(), "bob", &[], "pending")),
    )])
    .await;
    let c = catalog(&fake.url, Auth::None).await;
    let err = c.upsert_image(&new_image("alice", &id)).await.unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    fake.finish();
}

#[tokio::test]
async fn labels_are_written_over_the_version_read_and_retried_on_409() {
    let id = ImageId::new();
    let path = format!("/{INDEX}/_doc/{id}");
    let stored = source(
        id.as_str(),
        "alice",
        &[("pet", 1.0, "manual"), ("cat", 0.9, "auto")],
        "pending",
    );
    // The manual `pet` stays (over the auto one); `cat` goes; the new labels are sorted by
    // confidence, boxes kept; `tags` mirrors the label names.
    let mut want = stored.clone();
    want["labels"] = json!([
        {"name": "pet", "confidence": 1.0, "source": "manual"},
        {"name": "face", "confidence": 0.8, "source": "auto",
         "boxes": [{"x": 0.25, "y": 0.5, "w": 0.125, "h": 0.25}]},
        {"name": "dog", "confidence": 0.6, "source": "auto"}
    ]);
    want["tags"] = json!(["pet", "face", "dog"]);
    want["status"] = json!("tagged");
    want["updated_at"] = json!("*");
    let put = |seq: u64| {
        expect("PUT", path.clone())
            .query("if_seq_no", seq)
            .query("if_primary_term", 1)
            .query("refresh", "wait_for")
            .body(want.clone())
    };
    let fake = Fake::start(vec![
        expect("GET", path.clone()).reply(200, found(id.as_str(), 5, stored.clone())),
        // Someone else wrote in between: read again, write over the new version.
        put(5).reply(409, conflict(id.as_str())),
        expect("GET", path.clone()).reply(200, found(id.as_str(), 6, stored.clone())),
        put(6).reply(200, written(id.as_str(), "updated", 7)),
    ])
    .await;
    let c = catalog(&fake.url, Auth::None).await;
    let mut face = Label::auto(tag("face"), 0.8);
    face.boxes = vec![BBox {
        x: 0.25,
        y: 0.5,
        w: 0.125,
        h: 0.25,
    }];
    let labels = [
        Label::auto(tag("dog"), 0.6),
        face,
        Label::auto(tag("pet"), 0.3),
    ];
    assert!(c
        .set_auto_labels(&owner("alice"), &id, &labels)
        .await
        .unwrap());
    fake.finish();
}

#[tokio::test]
async fn endless_conflicts_end_as_unavailable() {
    let id = ImageId::new();
    let path = format!("/{INDEX}/_doc/{id}");
    let mut script = Vec::new();
    for seq in 0..10 {
        let src = source(id.as_str(), "alice", &[], "pending");
        script.push(expect("GET", path.clone()).reply(200, found(id.as_str(), seq, src)));
        script.push(
            expect("PUT", path.clone())
                .query("if_seq_no", seq)
                .query("if_primary_term", 1)
                .query("refresh", "wait_for")
                .body(json!("*"))
                .reply(409, conflict(id.as_str())),
        );
    }
    let fake = Fake::start(script).await;
    let c = catalog(&fake.url, Auth::None).await;
    let err = c
        .mark_failed(&owner("alice"), &id, "boom")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
    fake.finish();
}

#[tokio::test]
async fn delete_checks_the_owner_and_the_version() {
    let id = ImageId::new();
    let path = format!("/{INDEX}/_doc/{id}");
    let src = source(id.as_str(), "alice", &[("cat", 0.9, "auto")], "tagged");
    let fake = Fake::start(vec![
        // bob: alice's image is absent for him; nothing is deleted.
        expect("GET", path.clone()).reply(200, found(id.as_str(), 3, src.clone())),
        // alice: deleted at the version read.
        expect("GET", path.clone()).reply(200, found(id.as_str(), 3, src.clone())),
        expect("DELETE", path.clone())
            .query("if_seq_no", 3)
            .query("if_primary_term", 1)
            .query("refresh", "wait_for")
            .reply(200, written(id.as_str(), "deleted", 4)),
        // Gone.
        expect("GET", path.clone()).reply(404, not_found(id.as_str())),
    ])
    .await;
    let c = catalog(&fake.url, Auth::None).await;
    assert!(!c.delete_image(&owner("bob"), &id).await.unwrap());
    assert!(c.delete_image(&owner("alice"), &id).await.unwrap());
    assert!(!c.delete_image(&owner("alice"), &id).await.unwrap());
    fake.finish();
}
