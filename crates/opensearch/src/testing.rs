//! Helpers for tests against a real cluster. `IMGTAG_TEST_OPENSEARCH_URL` points at one
//! (e.g. `http://127.0.0.1:9200`); when it is unset the test prints a loud skip notice and
//! returns, **also under CI**: no OpenSearch or Elasticsearch can be installed on the CI
//! machine, where the HTTP-fake contract tests stand in.
//!
//! Optional: `IMGTAG_TEST_OPENSEARCH_USERNAME` / `_PASSWORD` (basic auth), or
//! `IMGTAG_TEST_OPENSEARCH_SIGV4=es|aoss` (SigV4 with the standard AWS credential chain and
//! `AWS_REGION`).

use imgtag_core::{Result, SecretValue};
use reqwest::Method;

use crate::{default_chain, Auth, Client, OpenSearchConfig, Refresh, SigV4};

/// The cluster's URL, or `None` (after the loud notice) when the test should be skipped.
pub fn opensearch_url() -> Option<String> {
    match std::env::var("IMGTAG_TEST_OPENSEARCH_URL") {
        Ok(url) if !url.is_empty() => Some(url.trim_end_matches('/').to_string()),
        _ => {
            // Straight to the stderr handle: the harness captures `eprintln!` of passing tests.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "\n*** skipped: IMGTAG_TEST_OPENSEARCH_URL not set: the Catalog conformance \
                 suite did NOT run against OpenSearch/Elasticsearch (point it at a cluster, \
                 e.g. http://127.0.0.1:9200) ***\n"
            );
            None
        }
    }
}

/// An index name no other test (or test run) uses.
pub fn unique_index() -> String {
    format!("imgtag-test-{}", uuid::Uuid::new_v4().simple())
}

/// A config for `url` and `index` with the auth the environment asks for. Writes use
/// `refresh=true`: as visible as `wait_for`, without waiting a refresh interval each time.
pub async fn config(url: &str, index: &str) -> Result<OpenSearchConfig> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let auth = if let Some(service) = var("IMGTAG_TEST_OPENSEARCH_SIGV4") {
        let (provider, region) = default_chain(None).await?;
        Auth::SigV4(SigV4::new(&service, &region, provider))
    } else if let Some(username) = var("IMGTAG_TEST_OPENSEARCH_USERNAME") {
        Auth::Basic {
            username,
            password: SecretValue::new(var("IMGTAG_TEST_OPENSEARCH_PASSWORD").unwrap_or_default()),
        }
    } else {
        Auth::None
    };
    Ok(OpenSearchConfig {
        auth,
        refresh: Refresh::Immediate,
        ..OpenSearchConfig::new(url, index)
    })
}

/// Deletes `index` (tests clean up after themselves); a missing index is fine.
pub async fn delete_index(config: &OpenSearchConfig) -> Result<()> {
    let client = Client::new(config)?;
    let reply = client
        .send(Method::DELETE, &format!("/{}", config.index), &[], None)
        .await?;
    if reply.status.is_success() || reply.status.as_u16() == 404 {
        Ok(())
    } else {
        Err(crate::client::failure(&config.index, &reply))
    }
}
