//! Black-box: `imgtag serve` with `[tagger] type = "clarifai"` pointed at a local fake of
//! Clarifai's v2 predict endpoint, the key read from a `[secrets] type = "dir"` source.
//!
//! `cargo test -p imgtag --features clarifai --test clarifai`

#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Router;
use base64::Engine;
use helpers::{fixture, spawn_app_with, tags, TestApp};
use imgtag_server::config::{ClarifaiConfig, SecretsConfig, TaggerConfig};
use imgtag_server::{Application, Config};
use serde_json::{json, Value};

/// (Authorization header, JSON body) of each request the fake received.
type Seen = Arc<Mutex<Vec<(String, Value)>>>;

/// A fake answering every request with `status` and `body`; returns its URL.
async fn fake_clarifai(status: u16, body: Value) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let state = (StatusCode::from_u16(status).unwrap(), body, seen.clone());
    let app = Router::new()
        .fallback(
            |State((status, body, seen)): State<(StatusCode, Value, Seen)>,
             headers: HeaderMap,
             req: axum::body::Bytes| async move {
                let auth = headers
                    .get("authorization")
                    .map(|v| v.to_str().unwrap().to_string())
                    .unwrap_or_default();
                let json = serde_json::from_slice(&req).unwrap_or(Value::Null);
                seen.lock().unwrap().push((auth, json));
                (status, axum::Json(body))
            },
        )
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

/// Points `config` at the fake, with the key in a secrets directory that lives as long as
/// the returned guard.
fn use_clarifai(config: &mut Config, url: &str, key: Option<&str>) -> tempfile::TempDir {
    let secrets = tempfile::tempdir().unwrap();
    if let Some(k) = key {
        std::fs::write(secrets.path().join("clarifai_key"), format!("{k}\n")).unwrap();
    }
    config.secrets = SecretsConfig::Dir {
        dir: secrets.path().to_path_buf(),
    };
    config.tagger = TaggerConfig::Clarifai(ClarifaiConfig {
        base_url: url.to_string(),
        key_parameter: "clarifai_key".into(),
        min_confidence: 0.5,
        ..ClarifaiConfig::default()
    });
    config.app.max_attempts = 2;
    secrets
}

async fn spawn(url: &str) -> (TestApp, tempfile::TempDir) {
    let mut guard = None;
    let app = spawn_app_with(|c| guard = Some(use_clarifai(c, url, Some("pat-e2e")))).await;
    (app, guard.unwrap())
}

#[tokio::test]
async fn uploads_are_tagged_with_clarifai_concepts() {
    let body = json!({
        "status": {"code": 10000, "description": "Ok"},
        "outputs": [{
            "status": {"code": 10000, "description": "Ok"},
            "data": {"concepts": [
                {"id": "ai_1", "name": "cat", "value": 0.98},
                {"id": "ai_2", "name": "animal", "value": 0.93},
                {"id": "ai_3", "name": "blur", "value": 0.2}
            ]}
        }]
    });
    let (url, seen) = fake_clarifai(200, body).await;
    let (app, _secrets) = spawn(&url).await;
    let token = app.user("alice").await;
    let photo = fixture("chelsea.jpg");
    let (id, status) = app.upload(&token, photo.clone(), "image/jpeg").await;
    assert_eq!(status, 204);
    let img = app.wait_tagged(&token, &id, Duration::from_secs(30)).await;
    assert_eq!(img["status"], "tagged", "{img}");
    assert_eq!(tags(&img), vec!["cat", "animal"]);

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1, "one predict call per image");
    assert_eq!(seen[0].0, "Key pat-e2e");
    let b64 = base64::engine::general_purpose::STANDARD.encode(&photo);
    assert_eq!(seen[0].1["inputs"][0]["data"]["image"]["base64"], b64);
}

#[tokio::test]
async fn a_clarifai_outage_ends_failed_with_the_reason_after_the_retries() {
    let (url, seen) = fake_clarifai(503, json!({"message": "unavailable"})).await;
    let (app, _secrets) = spawn(&url).await;
    let token = app.user("bob").await;
    let (id, _) = app
        .upload(&token, fixture("chelsea.jpg"), "image/jpeg")
        .await;
    let img = app.wait_tagged(&token, &id, Duration::from_secs(30)).await;
    assert_eq!(img["status"], "failed", "{img}");
    let reason = img["failureReason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("Clarifai") && reason.contains("503"),
        "{img}"
    );
    assert_eq!(seen.lock().unwrap().len(), 2, "max_attempts = 2");
}

#[tokio::test]
async fn a_missing_key_stops_the_server_at_start_with_a_clear_error() {
    let (url, _) = fake_clarifai(200, json!({})).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.server.addr = "127.0.0.1:0".into();
    config.server.data_dir = dir.path().to_path_buf();
    let _secrets = use_clarifai(&mut config, &url, None);
    let err = match Application::build(config).await {
        Ok(_) => panic!("started without a Clarifai key"),
        Err(e) => format!("{e:#}"),
    };
    assert!(
        err.contains("clarifai_key") && err.contains("key_parameter"),
        "{err}"
    );
}
