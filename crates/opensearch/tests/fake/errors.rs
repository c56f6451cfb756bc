//! Cluster errors as the domain sees them: throttling and outages are `Unavailable` (callers
//! retry), a missing index says how to fix it.

use imgtag_core::{Catalog, Error, ImageId, ImageQuery};
use serde_json::json;

use crate::replies::*;
use crate::server::{expect, Fake};
use crate::*;

#[tokio::test]
async fn a_missing_index_says_how_to_fix_it() {
    let fake = Fake::start(vec![
        expect("POST", format!("/{INDEX}/_search"))
            .body(json!("*"))
            .reply(404, index_not_found()),
        expect("GET", format!("/{INDEX}/_doc/{}", "0".repeat(32))).reply(404, index_not_found()),
    ])
    .await;
    let c = catalog(&fake.url, Auth::None).await;
    let q = ImageQuery {
        limit: 10,
        ..Default::default()
    };
    for err in [
        c.list_images(&owner("alice"), &q).await.unwrap_err(),
        c.get_image(&owner("alice"), &ImageId::parse(&"0".repeat(32)).unwrap())
            .await
            .unwrap_err(),
    ] {
        assert!(
            matches!(&err, Error::Internal(m) if m.contains("`imgtag` does not exist") && m.contains("create_index")),
            "{err:?}"
        );
    }
    fake.finish();
}

#[tokio::test]
async fn throttling_and_outages_are_unavailable() {
    let id = ImageId::new();
    let get = || expect("GET", format!("/{INDEX}/_doc/{id}"));
    let fake = Fake::start(vec![
        // Elasticsearch / self-hosted OpenSearch.
        get().reply(429, rejected()),
        // Amazon OpenSearch Service's own throttling: no `error` object.
        get().reply(429, json!({"message": "Too Many Requests"})),
        get().reply(
            503,
            json!({"error": {"type": "cluster_block_exception",
            "reason": "blocked by: [SERVICE_UNAVAILABLE/2/no master];"}, "status": 503}),
        ),
    ])
    .await;
    let c = catalog(&fake.url, Auth::None).await;
    for _ in 0..3 {
        let err = c.get_image(&owner("alice"), &id).await.unwrap_err();
        assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
    }
    fake.finish();
    // Nothing listening.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let c = catalog(&url, Auth::None).await;
    let err = c.get_image(&owner("alice"), &id).await.unwrap_err();
    assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn a_document_that_breaks_the_mapping_is_an_internal_error() {
    let id = ImageId::new();
    let fake = Fake::start(vec![
        expect("GET", format!("/{INDEX}/_doc/{id}")).reply(404, not_found(id.as_str())),
        expect("PUT", format!("/{INDEX}/_create/{id}"))
            .query("refresh", "wait_for")
            .body(json!("*"))
            .reply(400, json!({"error": {"type": "strict_dynamic_mapping_exception",
                "reason": "mapping set to strict, dynamic introduction of [x] within [_doc] is not allowed"},
                "status": 400})),
    ])
    .await;
    let c = catalog(&fake.url, Auth::None).await;
    let err = c.upsert_image(&new_image("alice", &id)).await.unwrap_err();
    assert!(
        matches!(&err, Error::Internal(m) if m.contains("strict_dynamic_mapping_exception")),
        "{err:?}"
    );
    fake.finish();
}
