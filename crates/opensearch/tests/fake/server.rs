//! A scripted stand-in for an OpenSearch / Elasticsearch node on 127.0.0.1:0. Each test lists
//! the exchanges it expects, in order: the request the adapter must send (method, path, query,
//! JSON body compared as `serde_json::Value`, where the string `"*"` matches any value) and
//! the reply to give. A request that does not match is answered with a 500 and reported when
//! the test calls [`Fake::finish`].

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use serde_json::{json, Value};

/// One expected request and its reply.
pub struct Exchange {
    pub method: &'static str,
    pub path: String,
    pub query: Vec<(&'static str, String)>,
    pub body: Option<Value>,
    pub status: u16,
    pub reply: Value,
}

/// `method path` with no query and no body, answered `200 {}`; refine with the methods below.
pub fn expect(method: &'static str, path: impl Into<String>) -> Exchange {
    Exchange {
        method,
        path: path.into(),
        query: Vec::new(),
        body: None,
        status: 200,
        reply: json!({}),
    }
}

impl Exchange {
    pub fn query(mut self, k: &'static str, v: impl ToString) -> Self {
        self.query.push((k, v.to_string()));
        self
    }
    pub fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }
    pub fn reply(mut self, status: u16, reply: Value) -> Self {
        (self.status, self.reply) = (status, reply);
        self
    }
}

/// A request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

#[derive(Default)]
struct State {
    script: VecDeque<Exchange>,
    seen: Vec<Seen>,
    errors: Vec<String>,
}

pub struct Fake {
    pub url: String,
    state: Arc<Mutex<State>>,
}

/// `expected` with `"*"` as a wildcard, compared with `actual`.
fn matches(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::String(s), _) if s == "*" => true,
        (Value::Object(e), Value::Object(a)) => {
            e.len() == a.len()
                && e.iter()
                    .all(|(k, v)| a.get(k).is_some_and(|av| matches(v, av)))
        }
        (Value::Array(e), Value::Array(a)) => {
            e.len() == a.len() && e.iter().zip(a).all(|(e, a)| matches(e, a))
        }
        _ => expected == actual,
    }
}

fn check(want: &Exchange, method: &Method, uri: &Uri, body: &[u8]) -> Result<(), String> {
    let query: BTreeMap<String, String> = uri
        .query()
        .map(|q| {
            form_urlencoded_pairs(q)
                .into_iter()
                .collect::<BTreeMap<_, _>>()
        })
        .unwrap_or_default();
    let want_query: BTreeMap<String, String> = want
        .query
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let got = format!("{method} {}", uri.path());
    if got != format!("{} {}", want.method, want.path) || query != want_query {
        return Err(format!(
            "expected {} {} {want_query:?}, got {got} {query:?}",
            want.method, want.path
        ));
    }
    let actual: Option<Value> = if body.is_empty() {
        None
    } else {
        Some(serde_json::from_slice(body).map_err(|e| format!("{got}: body not JSON: {e}"))?)
    };
    match (&want.body, &actual) {
        (None, None) => Ok(()),
        (Some(w), Some(a)) if matches(w, a) => Ok(()),
        _ => Err(format!(
            "{got}: body\n  expected {}\n  got      {}",
            want.body.as_ref().map_or("none".into(), |b| b.to_string()),
            actual.map_or("none".into(), |b| b.to_string())
        )),
    }
}

fn form_urlencoded_pairs(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

impl Fake {
    pub async fn start(script: Vec<Exchange>) -> Fake {
        let state = Arc::new(Mutex::new(State {
            script: script.into(),
            ..Default::default()
        }));
        let st = state.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let st = st.clone();
                async move {
                    let mut st = st.lock().unwrap();
                    st.seen.push(Seen {
                        headers,
                        body: body.to_vec(),
                    });
                    let Some(want) = st.script.pop_front() else {
                        st.errors
                            .push(format!("unexpected extra request {method} {uri}"));
                        return (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(json!({})))
                            .into_response();
                    };
                    if let Err(e) = check(&want, &method, &uri, &body) {
                        st.errors.push(e);
                        return (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(json!({})))
                            .into_response();
                    }
                    let status = StatusCode::from_u16(want.status).unwrap();
                    (status, axum::Json(want.reply)).into_response()
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Fake { url, state }
    }

    /// Every request seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    /// Panics if a request did not match or an expected one never came.
    pub fn finish(&self) {
        let st = self.state.lock().unwrap();
        assert!(
            st.errors.is_empty(),
            "wrong requests:\n{}",
            st.errors.join("\n")
        );
        let left: Vec<String> = st
            .script
            .iter()
            .map(|e| format!("{} {}", e.method, e.path))
            .collect();
        assert!(left.is_empty(), "expected requests never sent: {left:?}");
    }
}
