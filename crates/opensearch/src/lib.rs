//! The imgtag [`Catalog`](imgtag_core::Catalog) on OpenSearch 2.x or Elasticsearch 8.x:
//! one document per image in one index (document id = image id), spoken to over the plain
//! REST API (`_doc`, `_create`, `_search`) so the same requests work on both, self-hosted
//! (no auth or basic auth) or on Amazon OpenSearch Service / Serverless (SigV4).
#![forbid(unsafe_code)]

mod catalog;
mod client;
mod doc;
mod mapping;
mod query;
mod sigv4;
pub mod testing;

use std::time::Duration;

use imgtag_core::SecretValue;

pub use catalog::OpenSearchCatalog;
pub use client::Client;
pub use mapping::index_body;
pub use sigv4::{default_chain, SigV4};

/// How requests authenticate.
#[derive(Debug, Clone, Default)]
pub enum Auth {
    /// No credentials (a cluster on a private network, or with security disabled).
    #[default]
    None,
    /// HTTP basic auth (OpenSearch security plugin, Elasticsearch native realm).
    Basic {
        username: String,
        password: SecretValue,
    },
    /// AWS Signature V4 (Amazon OpenSearch Service `es`, OpenSearch Serverless `aoss`).
    SigV4(SigV4),
}

/// When a write becomes visible to searches. Both values make every write searchable before
/// the call returns, so the tagging job never reports success ahead of `GET /images?tags=`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Refresh {
    /// `refresh=wait_for`: wait for the next scheduled refresh (cheap for the cluster).
    #[default]
    WaitFor,
    /// `refresh=true`: refresh the shard now (fast, costly under load; tests use it).
    Immediate,
}

impl Refresh {
    pub(crate) fn as_param(self) -> &'static str {
        match self {
            Refresh::WaitFor => "wait_for",
            Refresh::Immediate => "true",
        }
    }
}

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct OpenSearchConfig {
    /// e.g. `https://search-photos-abc.eu-west-1.es.amazonaws.com` or `http://127.0.0.1:9200`.
    pub url: String,
    /// The index holding one document per image (lower case).
    pub index: String,
    /// Create the index with imgtag's mapping at start-up when it does not exist.
    pub create_index: bool,
    pub auth: Auth,
    pub refresh: Refresh,
    pub timeout: Duration,
}

impl OpenSearchConfig {
    pub fn new(url: &str, index: &str) -> Self {
        OpenSearchConfig {
            url: url.trim_end_matches('/').to_string(),
            index: index.to_string(),
            create_index: true,
            auth: Auth::None,
            refresh: Refresh::WaitFor,
            timeout: Duration::from_secs(30),
        }
    }
}
