//! Reply bodies in the shapes the reference documentation gives, identical on OpenSearch 2.x
//! and Elasticsearch 8.x unless noted:
//! - get: <https://opensearch.org/docs/latest/api-reference/document-apis/get-documents/>
//! - index / create: <https://opensearch.org/docs/latest/api-reference/document-apis/index-document/>
//! - delete: <https://opensearch.org/docs/latest/api-reference/document-apis/delete-document/>
//! - search hits (`hits.total` object, `sort` values for `search_after`):
//!   <https://www.elastic.co/guide/en/elasticsearch/reference/current/paginate-search-results.html>
//! - composite aggregation (`after_key`, `buckets[].key`):
//!   <https://www.elastic.co/guide/en/elasticsearch/reference/current/search-aggregations-bucket-composite-aggregation.html>
//! - errors (`error.root_cause`, `error.type`, `status`): 409 version conflict
//!   (<https://opensearch.org/blog/error-logs/> "VersionConflictEngineException"), 429
//!   `es_rejected_execution_exception`
//!   (<https://www.elastic.co/guide/en/elasticsearch/reference/8.4/rejected-requests.html>),
//!   404 `index_not_found_exception`, 400 `resource_already_exists_exception`
//!   (<https://opensearch.org/docs/latest/api-reference/index-apis/create-index/>).

use serde_json::{json, Value};

pub const INDEX: &str = "imgtag";

/// A stored image document as imgtag writes it.
pub fn source(id: &str, owner: &str, labels: &[(&str, f64, &str)], status: &str) -> Value {
    let labels: Vec<Value> = labels
        .iter()
        .map(|(n, c, s)| json!({"name": n, "confidence": c, "source": s}))
        .collect();
    let tags: Vec<&str> = labels.iter().map(|l| l["name"].as_str().unwrap()).collect();
    json!({
        "id": id, "owner": owner, "name": "cat.jpg",
        "blob_key": format!("images/{owner}/{id}"), "content_type": "image/jpeg",
        "size": 1234, "width": 640, "height": 480, "sha256": "ab".repeat(32),
        "status": status, "failure_reason": null, "labels": labels, "tags": tags,
        "created_at": "2026-11-26T02:00:00.123Z", "updated_at": "2026-11-26T02:00:01.456Z"
    })
}

pub fn found(id: &str, seq_no: u64, source: Value) -> Value {
    json!({"_index": INDEX, "_id": id, "_version": seq_no + 1, "_seq_no": seq_no,
           "_primary_term": 1, "found": true, "_source": source})
}

pub fn not_found(id: &str) -> Value {
    json!({"_index": INDEX, "_id": id, "found": false})
}

pub fn written(id: &str, result: &str, seq_no: u64) -> Value {
    json!({"_index": INDEX, "_id": id, "_version": seq_no + 1, "result": result,
           "_shards": {"total": 2, "successful": 2, "failed": 0},
           "_seq_no": seq_no, "_primary_term": 1})
}

fn error(kind: &str, reason: &str, status: u16) -> Value {
    json!({"error": {"root_cause": [{"type": kind, "reason": reason, "index": INDEX}],
                     "type": kind, "reason": reason, "index": INDEX}, "status": status})
}

pub fn conflict(id: &str) -> Value {
    error(
        "version_conflict_engine_exception",
        &format!("[{id}]: version conflict, required seqNo [5], primary term [1]. current document has seqNo [6] and primary term [1]"),
        409,
    )
}

pub fn index_not_found() -> Value {
    error(
        "index_not_found_exception",
        &format!("no such index [{INDEX}]"),
        404,
    )
}

pub fn already_exists() -> Value {
    error(
        "resource_already_exists_exception",
        &format!("index [{INDEX}/x1y2z3] already exists"),
        400,
    )
}

pub fn rejected() -> Value {
    error(
        "es_rejected_execution_exception",
        "rejected execution of coordinating operation [shard_detail=[imgtag][0][P]]",
        429,
    )
}

/// A search reply: `hits` are `_source`s, each sorted by its id.
pub fn hits(sources: &[Value]) -> Value {
    let hits: Vec<Value> = sources
        .iter()
        .map(|s| json!({"_index": INDEX, "_id": s["id"], "_score": null, "_source": s, "sort": [s["id"]]}))
        .collect();
    json!({"took": 3, "timed_out": false,
           "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
           "hits": {"total": {"value": hits.len(), "relation": "eq"}, "max_score": null, "hits": hits}})
}

/// A composite-aggregation page named `tags` with source `tag`.
pub fn buckets(pairs: &[(String, u64)], after_key: Option<&str>) -> Value {
    let buckets: Vec<Value> = pairs
        .iter()
        .map(|(t, n)| json!({"key": {"tag": t}, "doc_count": n}))
        .collect();
    let mut agg = json!({"buckets": buckets});
    if let Some(k) = after_key {
        agg["after_key"] = json!({"tag": k});
    }
    json!({"took": 5, "timed_out": false,
           "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
           "hits": {"total": {"value": 3, "relation": "eq"}, "max_score": null, "hits": []},
           "aggregations": {"tags": agg}})
}
