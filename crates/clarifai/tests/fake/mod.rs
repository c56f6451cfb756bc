//! A local stand-in for api.clarifai.com: answers every request with one scripted response
//! (HTTP status, JSON body, optional delay) and records what it was sent.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::Router;
use serde_json::{json, Value};

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
    pub body: Value,
}

#[derive(Clone)]
struct Script {
    status: StatusCode,
    body: Value,
    delay: Duration,
    seen: Arc<Mutex<Vec<Recorded>>>,
}

pub struct Fake {
    pub url: String,
    seen: Arc<Mutex<Vec<Recorded>>>,
}

impl Fake {
    pub async fn start(status: u16, body: Value) -> Fake {
        Fake::start_slow(status, body, Duration::ZERO).await
    }

    pub async fn start_slow(status: u16, body: Value, delay: Duration) -> Fake {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let script = Script {
            status: StatusCode::from_u16(status).unwrap(),
            body,
            delay,
            seen: seen.clone(),
        };
        let app = Router::new().fallback(answer).with_state(script);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Fake { url, seen }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.seen.lock().unwrap().clone()
    }
}

async fn answer(
    State(s): State<Script>,
    method: axum::http::Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    s.seen.lock().unwrap().push(Recorded {
        method: method.to_string(),
        path: uri.path().to_string(),
        authorization: headers
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_string()),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    });
    tokio::time::sleep(s.delay).await;
    (s.status, axum::Json(s.body))
}

/// A successful predict response as documented (trimmed to the fields that matter).
pub fn success(concepts: &[(&str, f32)]) -> Value {
    let concepts: Vec<Value> = concepts
        .iter()
        .enumerate()
        .map(|(i, (name, value))| json!({"id": format!("ai_{i}"), "name": name, "value": value, "app_id": "main"}))
        .collect();
    json!({
        "status": {"code": 10000, "description": "Ok", "req_id": "r1"},
        "outputs": [{
            "id": "o1",
            "status": {"code": 10000, "description": "Ok"},
            "model": {"id": "general-image-recognition", "name": "Image Recognition"},
            "input": {"id": "i1", "data": {"image": {"url": "https://samples.clarifai.com/placeholder.gif"}}},
            "data": {"concepts": concepts}
        }]
    })
}

/// A response whose call status is `call` and whose one output failed with `output`.
pub fn failed(call: (u32, &str), output: (u32, &str)) -> Value {
    json!({
        "status": {"code": call.0, "description": call.1, "req_id": "r2"},
        "outputs": [{
            "id": "o1",
            "status": {"code": output.0, "description": output.1},
            "data": {}
        }]
    })
}
