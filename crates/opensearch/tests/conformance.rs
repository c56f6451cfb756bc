//! The full `Catalog` conformance suite against a real OpenSearch / Elasticsearch cluster,
//! when `IMGTAG_TEST_OPENSEARCH_URL` names one (see `imgtag_opensearch::testing`). Each check
//! gets a fresh index, deleted at the end.
//!
//! ```sh
//! IMGTAG_TEST_OPENSEARCH_URL=http://127.0.0.1:9200 \
//!   cargo test -p imgtag-opensearch --test conformance -- --nocapture
//! ```

use std::sync::{Arc, Mutex};

use imgtag_core::Catalog;
use imgtag_opensearch::testing::{config, delete_index, opensearch_url, unique_index};
use imgtag_opensearch::{OpenSearchCatalog, OpenSearchConfig};

#[tokio::test]
async fn catalog_conformance() {
    let Some(url) = opensearch_url() else {
        return;
    };
    let made: Arc<Mutex<Vec<OpenSearchConfig>>> = Arc::default();
    let result = {
        let made = made.clone();
        let url = url.clone();
        futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(
            imgtag_core::testkit::catalog::run(move || {
                let (made, url) = (made.clone(), url.clone());
                async move {
                    let cfg = config(&url, &unique_index()).await.expect("test config");
                    made.lock().unwrap().push(cfg.clone());
                    let c = OpenSearchCatalog::connect(&cfg)
                        .await
                        .unwrap_or_else(|e| panic!("connecting to {url}: {e}"));
                    Arc::new(c) as Arc<dyn Catalog>
                }
            }),
        ))
        .await
    };
    let configs = made.lock().unwrap().clone();
    for cfg in configs {
        if let Err(e) = delete_index(&cfg).await {
            eprintln!("could not delete test index {}: {e}", cfg.index);
        }
    }
    if let Err(p) = result {
        std::panic::resume_unwind(p);
    }
}
