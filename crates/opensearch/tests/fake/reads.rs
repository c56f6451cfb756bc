//! Searches: AND / OR / NOT and the confidence threshold as `bool` filters, `search_after`
//! paging, tag counts from a composite aggregation, the content-hash lookup.

use imgtag_core::{Catalog, Cursor, ImageId, ImageQuery, ImageStatus, TagCount};
use serde_json::json;

use crate::replies::*;
use crate::server::{expect, Fake};
use crate::*;

fn with_min(names: &[&str], min: f64) -> serde_json::Value {
    json!({"nested": {"path": "labels", "query": {"bool": {"filter": [
        {"terms": {"labels.name": names}},
        {"range": {"labels.confidence": {"gte": min}}}
    ]}}}})
}

#[tokio::test]
async fn listing_filters_by_tags_and_pages_with_search_after() {
    let ids: Vec<ImageId> = (0..3).map(|_| ImageId::new()).collect();
    let (newest, middle, oldest) = (&ids[2], &ids[1], &ids[0]);
    let after = ImageId::new();
    let search = || expect("POST", format!("/{INDEX}/_search"));
    let src = |id: &ImageId| source(id.as_str(), "alice", &[("cat", 0.9, "auto")], "tagged");
    let fake = Fake::start(vec![
        search()
            .body(json!({
                "size": 3,
                "track_total_hits": false,
                "query": {"bool": {
                    "filter": [
                        {"term": {"owner": "alice"}},
                        with_min(&["cat"], 0.5),
                        with_min(&["dog", "bird"], 0.5)
                    ],
                    "must_not": [{"terms": {"tags": ["car"]}}]
                }},
                "sort": [{"id": "desc"}],
                "search_after": [after.as_str()]
            }))
            // limit + 1 hits: there is a next page.
            .reply(200, hits(&[src(newest), src(middle), src(oldest)])),
        search()
            .body(json!({
                "size": 3,
                "track_total_hits": false,
                "query": {"bool": {"filter": [
                    {"term": {"owner": "alice"}},
                    {"terms": {"tags": ["cat"]}}
                ]}},
                "sort": [{"id": "desc"}],
                "search_after": [middle.as_str()]
            }))
            .reply(200, hits(&[src(oldest)])),
    ])
    .await;
    let c = catalog(&fake.url, Auth::None).await;
    let q = ImageQuery {
        all_tags: vec![tag("cat")],
        any_tags: vec![tag("dog"), tag("bird")],
        not_tags: vec![tag("car")],
        min_confidence: Some(0.5),
        limit: 2,
        after: Some(Cursor(after)),
    };
    let page = c.list_images(&owner("alice"), &q).await.unwrap();
    let got: Vec<&ImageId> = page.images.iter().map(|i| &i.id).collect();
    assert_eq!(got, vec![newest, middle]);
    assert_eq!(page.next, Some(Cursor(middle.clone())));
    assert_eq!(page.images[0].tags(), vec!["cat"]);
    assert_eq!(page.images[0].status, ImageStatus::Tagged);
    let q = ImageQuery {
        all_tags: vec![tag("cat")],
        limit: 2,
        after: page.next,
        ..Default::default()
    };
    let page = c.list_images(&owner("alice"), &q).await.unwrap();
    assert_eq!(page.images.len(), 1);
    assert_eq!(page.next, None, "fewer than limit + 1 hits: last page");
    fake.finish();
}

#[tokio::test]
async fn counts_page_through_every_tag_of_the_owner() {
    let search = || expect("POST", format!("/{INDEX}/_search"));
    let body = |after: Option<&str>| {
        let mut composite =
            json!({"size": 1000, "sources": [{"tag": {"terms": {"field": "tags"}}}]});
        if let Some(a) = after {
            composite["after"] = json!({"tag": a});
        }
        json!({
            "size": 0,
            "track_total_hits": false,
            "query": {"bool": {"filter": [
                {"term": {"owner": "alice"}},
                {"prefix": {"tags": "ca"}}
            ]}},
            "aggs": {"tags": {"composite": composite}}
        })
    };
    // A full first page (more than any `terms` top-N would return), then the rest. Images
    // with a `ca…` tag bring their other tags along: those are dropped here.
    let mut first: Vec<(String, u64)> = (0..1000).map(|i| (format!("ca{i:04}"), 1)).collect();
    first[500].1 = 7;
    let rest = vec![
        ("car".to_string(), 7),
        ("cat".to_string(), 9),
        ("dog".to_string(), 12),
    ];
    let fake = Fake::start(vec![
        search()
            .body(body(None))
            .reply(200, buckets(&first, Some("ca0999"))),
        search()
            .body(body(Some("ca0999")))
            .reply(200, buckets(&rest, Some("dog"))),
    ])
    .await;
    let c = catalog(&fake.url, Auth::None).await;
    let top = c.tag_counts(&owner("alice"), Some("ca"), 3).await.unwrap();
    let want = |n: &str, count| TagCount {
        name: tag(n),
        count,
    };
    // Count descending, then name ascending; `dog` is not a `ca…` tag.
    assert_eq!(top, vec![want("cat", 9), want("ca0500", 7), want("car", 7)]);
    fake.finish();
}

#[tokio::test]
async fn the_newest_image_with_a_hash_is_found() {
    let id = ImageId::new();
    let sha = "0f".repeat(32);
    let body = json!({
        "size": 1,
        "track_total_hits": false,
        "query": {"bool": {"filter": [{"term": {"owner": "alice"}}, {"term": {"sha256": sha}}]}},
        "sort": [{"id": "desc"}]
    });
    let search = || expect("POST", format!("/{INDEX}/_search")).body(body.clone());
    let fake = Fake::start(vec![
        search().reply(200, hits(&[source(id.as_str(), "alice", &[], "pending")])),
        search().reply(200, hits(&[])),
    ])
    .await;
    let c = catalog(&fake.url, Auth::None).await;
    let got = c.find_by_sha256(&owner("alice"), &sha).await.unwrap();
    assert_eq!(got.map(|i| i.id), Some(id));
    assert!(c
        .find_by_sha256(&owner("alice"), &sha)
        .await
        .unwrap()
        .is_none());
    fake.finish();
}
