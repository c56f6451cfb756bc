//! Search bodies. Query DSL: <https://opensearch.org/docs/latest/query-dsl/> and
//! <https://www.elastic.co/guide/en/elasticsearch/reference/current/query-dsl.html>; the same
//! JSON on both. Everything is a `bool` *filter* (no scoring), always scoped to the owner.

use imgtag_core::{ImageQuery, Owner, TagName};
use serde_json::{json, Value};

/// Buckets per composite-aggregation page when counting tags.
pub(crate) const COUNT_PAGE: usize = 1000;

/// "has tag `t`": the flat `tags` keyword, or with a threshold one nested label carrying both
/// the name and a confidence ≥ `min` (nested, so the two conditions hold on the same label).
fn has_any(tags: &[TagName], min: Option<f32>) -> Value {
    let names: Vec<&str> = tags.iter().map(TagName::as_str).collect();
    match min {
        None => json!({"terms": {"tags": names}}),
        Some(min) => {
            // The shortest decimal of the f32 (0.3, not 0.30000001192…), as it was given.
            let min: f64 = min.to_string().parse().unwrap_or(min as f64);
            json!({"nested": {"path": "labels", "query": {"bool": {"filter": [
                {"terms": {"labels.name": names}},
                {"range": {"labels.confidence": {"gte": min}}}
            ]}}}})
        }
    }
}

fn owner_filter(owner: &Owner) -> Value {
    json!({"term": {"owner": owner.as_str()}})
}

/// The `bool` query of a listing: AND over `all_tags`, OR over `any_tags`, NOT over
/// `not_tags` (NOT ignores the threshold: any label of that name excludes the image).
pub(crate) fn filter(owner: &Owner, q: &ImageQuery) -> Value {
    let mut filter = vec![owner_filter(owner)];
    for t in &q.all_tags {
        filter.push(has_any(std::slice::from_ref(t), q.min_confidence));
    }
    if !q.any_tags.is_empty() {
        filter.push(has_any(&q.any_tags, q.min_confidence));
    }
    let mut b = json!({"filter": filter});
    if !q.not_tags.is_empty() {
        b["must_not"] = json!([has_any(&q.not_tags, None)]);
    }
    json!({"bool": b})
}

/// One page of a listing, newest first. Image ids are UUIDv7, so `id` descending is creation
/// order and, being unique, a total order on its own: `search_after` on it needs nothing but
/// the id the cursor holds, and a cursor whose image was deleted still works. One more hit
/// than `limit` is asked for to learn whether a next page exists; no method needs a hit
/// total, so the cluster is spared counting one (`track_total_hits: false`).
pub(crate) fn list_body(owner: &Owner, q: &ImageQuery) -> Value {
    let mut body = json!({
        "size": q.limit + 1,
        "track_total_hits": false,
        "query": filter(owner, q),
        "sort": [{"id": "desc"}]
    });
    if let Some(after) = &q.after {
        body["search_after"] = json!([after.0.as_str()]);
    }
    body
}

/// The owner's newest image with this content hash.
pub(crate) fn sha256_body(owner: &Owner, sha256: &str) -> Value {
    json!({
        "size": 1,
        "track_total_hits": false,
        "query": {"bool": {"filter": [owner_filter(owner), {"term": {"sha256": sha256}}]}},
        "sort": [{"id": "desc"}]
    })
}

/// One page of tag counts: a `composite` aggregation over `tags`, scoped to the owner (and to
/// images with a tag starting with `prefix`, which only narrows the documents: buckets are
/// filtered by prefix again by the caller). A composite aggregation pages through *every*
/// term with exact per-bucket counts, where a `terms` aggregation returns a top-N (10 by
/// default) whose counts may be approximate across shards. Order and `limit` are applied once
/// all pages are in: counts are per image, so the vocabulary of one owner is small.
pub(crate) fn counts_body(owner: &Owner, prefix: Option<&str>, after: Option<&Value>) -> Value {
    let mut filter = vec![owner_filter(owner)];
    if let Some(p) = prefix.filter(|p| !p.is_empty()) {
        // `prefix` is literal: no wildcard characters to escape.
        filter.push(json!({"prefix": {"tags": p}}));
    }
    let mut composite = json!({
        "size": COUNT_PAGE,
        "sources": [{"tag": {"terms": {"field": "tags"}}}]
    });
    if let Some(after) = after {
        composite["after"] = after.clone();
    }
    json!({
        "size": 0,
        "track_total_hits": false,
        "query": {"bool": {"filter": filter}},
        "aggs": {"tags": {"composite": composite}}
    })
}
