//! The HTTP side: one JSON request, authenticated, and the mapping of cluster errors to the
//! domain's. Error bodies have the same shape on OpenSearch and Elasticsearch:
//! `{"error": {"root_cause": [..], "type": "...", "reason": "..."}, "status": N}`
//! (<https://opensearch.org/docs/latest/api-reference/>,
//! <https://www.elastic.co/guide/en/elasticsearch/reference/current/common-options.html>).

use base64::Engine;
use imgtag_core::{Error, Result};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::{Auth, OpenSearchConfig};

/// An authenticated client for one cluster.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    auth: Auth,
}

/// A response: the status and the parsed JSON body (`Null` when empty).
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl Reply {
    /// The `error.type` of an error body, e.g. `index_not_found_exception`.
    pub fn error_type(&self) -> &str {
        self.body["error"]["type"].as_str().unwrap_or("")
    }
}

impl Client {
    pub fn new(config: &OpenSearchConfig) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(Error::internal)?;
        Ok(Client {
            http,
            base: config.url.trim_end_matches('/').to_string(),
            auth: config.auth.clone(),
        })
    }

    /// Sends `method path?query` with an optional JSON body. Transport failures are
    /// `Unavailable`; every status comes back as a [`Reply`] for the caller to judge.
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Reply> {
        let mut url = reqwest::Url::parse(&format!("{}{path}", self.base))
            .map_err(|e| Error::Internal(format!("opensearch url: {e}")))?;
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        let bytes = match body {
            Some(b) => serde_json::to_vec(b).map_err(Error::internal)?,
            None => Vec::new(),
        };
        let mut req = self.http.request(method.clone(), url.clone());
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        match &self.auth {
            Auth::None => {}
            Auth::Basic { username, password } => {
                req = req.header("authorization", basic(username, password.expose()));
            }
            Auth::SigV4(signer) => {
                let host = match url.port() {
                    Some(p) => format!("{}:{p}", url.host_str().unwrap_or("")),
                    None => url.host_str().unwrap_or("").to_string(),
                };
                let mut signed = vec![("host", host.as_str())];
                if body.is_some() {
                    signed.push(("content-type", "application/json"));
                }
                let headers = signer
                    .headers(method.as_str(), url.as_str(), &signed, &bytes)
                    .await?;
                for (k, v) in headers {
                    req = req.header(k, v);
                }
            }
        }
        let resp = req.body(bytes).send().await.map_err(|e| {
            Error::Unavailable(format!("opensearch {method} {path}: {}", transport(&e)))
        })?;
        let status = resp.status();
        let text = resp
            .text()
            .await
            .map_err(|e| Error::Unavailable(format!("opensearch {method} {path}: {e}")))?;
        let body = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok(Reply { status, body })
    }

    /// Like [`Client::send`], but any non-2xx status is an error (see [`failure`]).
    pub(crate) async fn ok(
        &self,
        index: &str,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value> {
        let reply = self.send(method, path, query, body).await?;
        if reply.status.is_success() {
            Ok(reply.body)
        } else {
            Err(failure(index, &reply))
        }
    }
}

/// The domain error for an unexpected reply: throttling (429) and server errors (5xx) are
/// `Unavailable` so callers retry; a missing index says how to fix it.
pub(crate) fn failure(index: &str, reply: &Reply) -> Error {
    let kind = reply.error_type();
    let reason = reply.body["error"]["reason"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| reply.body.to_string());
    let status = reply.status.as_u16();
    if status == 429 || reply.status.is_server_error() {
        return Error::Unavailable(format!("opensearch {status} {kind}: {reason}"));
    }
    if kind == "index_not_found_exception" {
        return Error::Internal(format!(
            "opensearch index `{index}` does not exist: create it with imgtag's mapping or set \
             `create_index = true` in [catalog]"
        ));
    }
    if status == 401 || status == 403 {
        return Error::Internal(format!(
            "opensearch refused the request ({status}): check [catalog.auth] and the role's \
             permissions on index `{index}`: {reason}"
        ));
    }
    Error::Internal(format!("opensearch {status} {kind}: {reason}"))
}

fn transport(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        format!("cannot connect: {e}")
    } else {
        e.to_string()
    }
}

/// `Basic base64(user:password)` (RFC 7617).
fn basic(user: &str, password: &str) -> String {
    let raw = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}
