//! The index and its explicit mapping. `dynamic: strict` makes a document with a field the
//! mapping does not know fail loudly instead of growing the mapping behind our back.
//! Field types: <https://opensearch.org/docs/latest/field-types/>,
//! <https://www.elastic.co/guide/en/elasticsearch/reference/current/mapping-types.html>.

use imgtag_core::Result;
use reqwest::Method;
use serde_json::{json, Value};

use crate::client::{failure, Client};

/// The body of `PUT /<index>`: the mapping of [`crate::doc::Doc`].
pub fn index_body() -> Value {
    // Stored for display only: neither indexed nor aggregatable.
    let stored = json!({"type": "keyword", "index": false, "doc_values": false});
    json!({
        "mappings": {
            "dynamic": "strict",
            "properties": {
                "owner": {"type": "keyword"},
                "id": {"type": "keyword"},
                "name": stored,
                "blob_key": stored,
                "content_type": {"type": "keyword"},
                "size": {"type": "long"},
                "width": {"type": "integer"},
                "height": {"type": "integer"},
                "sha256": {"type": "keyword"},
                "status": {"type": "keyword"},
                "failure_reason": stored,
                // Nested, so "cat with confidence ≥ 0.5" matches within one label.
                "labels": {
                    "type": "nested",
                    "properties": {
                        "name": {"type": "keyword"},
                        "confidence": {"type": "float"},
                        "source": {"type": "keyword"},
                        "boxes": {"type": "object", "enabled": false}
                    }
                },
                "tags": {"type": "keyword"},
                "created_at": {"type": "date"},
                "updated_at": {"type": "date"}
            }
        }
    })
}

/// Creates `index` with the mapping; an index that already exists is fine (400
/// `resource_already_exists_exception`, also when another instance won the race). An
/// existing index's mapping is not checked or changed.
pub(crate) async fn ensure_index(client: &Client, index: &str) -> Result<()> {
    let reply = client
        .send(Method::PUT, &format!("/{index}"), &[], Some(&index_body()))
        .await?;
    if reply.status.is_success() || reply.error_type() == "resource_already_exists_exception" {
        return Ok(());
    }
    Err(failure(index, &reply))
}

/// Index names the cluster accepts and that need no escaping in a path: lower case letters,
/// digits, `-`, `_`, `.`, not starting with `-`, `_`, `+` or `.`.
pub(crate) fn valid_index(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.starts_with(['-', '_', '.'])
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
}
