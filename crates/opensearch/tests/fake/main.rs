//! Contract tests: the adapter against a scripted HTTP fake that checks every request it
//! sends (method, path, query, JSON body) and answers in the documented reply shapes. No
//! OpenSearch or Elasticsearch can run on the CI machine; `tests/conformance.rs` runs the full
//! `Catalog` suite against a real cluster when `IMGTAG_TEST_OPENSEARCH_URL` is set.

mod auth;
mod errors;
mod reads;
mod replies;
mod server;
mod writes;

use imgtag_core::{BlobKey, ImageId, NewImage, Owner, TagName};
use imgtag_opensearch::{Auth, OpenSearchCatalog, OpenSearchConfig};

use replies::INDEX;

pub fn owner(s: &str) -> Owner {
    Owner::parse(s).unwrap()
}

pub fn tag(s: &str) -> TagName {
    TagName::parse(s).unwrap()
}

pub fn config(url: &str) -> OpenSearchConfig {
    OpenSearchConfig {
        create_index: false,
        ..OpenSearchConfig::new(url, INDEX)
    }
}

/// A catalog on the fake that does not create the index (tests script that separately).
pub async fn catalog(url: &str, auth: Auth) -> OpenSearchCatalog {
    OpenSearchCatalog::connect(&OpenSearchConfig {
        auth,
        ..config(url)
    })
    .await
    .unwrap()
}

pub fn new_image(o: &str, id: &ImageId) -> NewImage {
    let o = owner(o);
    NewImage {
        blob_key: BlobKey::for_image(&o, id),
        id: id.clone(),
        owner: o,
        name: "cat.jpg".into(),
        content_type: "image/jpeg".into(),
        size: 1234,
        width: Some(640),
        height: Some(480),
        sha256: "ab".repeat(32),
        created_at: chrono::DateTime::parse_from_rfc3339("2026-11-26T02:00:00.123Z")
            .unwrap()
            .into(),
    }
}
