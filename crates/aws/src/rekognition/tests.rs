//! The real SDK client against a local fake Rekognition endpoint speaking AWS JSON 1.1
//! (`X-Amz-Target: RekognitionService.DetectLabels`), with the documented response shapes.

use std::sync::{Arc, Mutex};

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Router;
use base64::Engine;
use serde_json::{json, Value};

use super::*;

/// (X-Amz-Target, JSON body) of each request the fake received.
type Seen = Arc<Mutex<Vec<(Option<String>, Value)>>>;

#[derive(Clone)]
struct Fake {
    status: StatusCode,
    body: Value,
    seen: Seen,
}

async fn answer(
    State(f): State<Fake>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> impl IntoResponse {
    let target = headers
        .get("x-amz-target")
        .map(|v| v.to_str().unwrap().to_string());
    f.seen
        .lock()
        .unwrap()
        .push((target, serde_json::from_slice(&body).unwrap_or(Value::Null)));
    (
        f.status,
        [("content-type", "application/x-amz-json-1.1")],
        f.body.to_string(),
    )
}

/// Starts the fake; returns a tagger pointed at it (SDK retries off, so each call is one
/// request) and the log of (X-Amz-Target, JSON body) it received.
async fn start(status: u16, body: Value) -> (RekognitionTagger, Seen) {
    let fake = Fake {
        status: StatusCode::from_u16(status).unwrap(),
        body,
        seen: Arc::default(),
    };
    let seen = fake.seen.clone();
    let app = Router::new().fallback(answer).with_state(fake);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let config = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(url)
        .region(Region::new("us-east-1"))
        .test_credentials()
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    let settings = RekognitionSettings {
        min_confidence: 0.7,
        max_labels: 15,
    };
    (RekognitionTagger::new(&config, settings), seen)
}

/// DetectLabels' documented response, trimmed.
fn labels() -> Value {
    json!({
        "Labels": [
            {"Name": "Cat", "Confidence": 97.5, "Instances": [
                {"BoundingBox": {"Width": 0.5, "Height": 0.6, "Left": 0.1, "Top": 0.2}, "Confidence": 97.5}
            ], "Parents": [{"Name": "Pet"}, {"Name": "Animal"}, {"Name": "Mammal"}],
             "Aliases": [], "Categories": [{"Name": "Animals and Pets"}]},
            {"Name": "Animal", "Confidence": 80.0, "Instances": [], "Parents": []},
            {"Name": "Kitten", "Confidence": 88.25, "Instances": [], "Parents": [{"Name": "Cat"}]}
        ],
        "LabelModelVersion": "3.0"
    })
}

#[tokio::test]
async fn stored_images_are_sent_as_s3_objects_and_confidences_normalised() {
    let (t, seen) = start(200, labels()).await;
    let stored = StoredObject {
        bucket: "photos".into(),
        key: "images/alice/abc".into(),
    };
    let p = t
        .tag_stored(Bytes::from_static(b"unused"), Some(&stored))
        .await
        .unwrap();
    let got: Vec<(&str, f32)> = p.iter().map(|p| (p.name.as_str(), p.confidence)).collect();
    // Cat keeps its own score; Pet and Mammal are parents only (best child: Cat); Animal was
    // returned directly, so its own 80 stands.
    assert_eq!(
        got,
        vec![
            ("cat", 0.975),
            ("mammal", 0.975),
            ("pet", 0.975),
            ("kitten", 0.8825),
            ("animal", 0.8)
        ]
    );
    assert_eq!(p[0].boxes.len(), 1);

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].0.as_deref(),
        Some("RekognitionService.DetectLabels")
    );
    assert_eq!(
        seen[0].1,
        json!({
            "Image": {"S3Object": {"Bucket": "photos", "Name": "images/alice/abc"}},
            "MaxLabels": 15,
            "MinConfidence": 70.0
        })
    );
}

#[tokio::test]
async fn other_images_are_sent_as_bytes() {
    let (t, seen) = start(200, labels()).await;
    let bytes = Bytes::from_static(b"\x89PNG\r\n\x1a\n some png");
    assert!(!t.tag_stored(bytes.clone(), None).await.unwrap().is_empty());
    let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
    let body = &seen.lock().unwrap()[0].1;
    assert_eq!(body["Image"], json!({"Bytes": b64}));
}

#[tokio::test]
async fn invalid_images_are_permanent_failures() {
    for kind in [
        "InvalidImageFormatException",
        "ImageTooLargeException",
        "InvalidS3ObjectException",
    ] {
        let (t, _) = start(
            400,
            json!({"__type": kind, "Message": "Request has invalid image format"}),
        )
        .await;
        match t.tag(Bytes::from_static(b"x")).await {
            Err(TagError::BadImage(r)) => assert!(r.contains(kind), "{r}"),
            other => panic!("{kind}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn throttling_and_server_errors_are_transient() {
    let cases = [
        (
            400,
            json!({"__type": "ThrottlingException", "Message": "Slow down"}),
        ),
        (
            400,
            json!({"__type": "ProvisionedThroughputExceededException", "Message": "limit"}),
        ),
        (
            500,
            json!({"__type": "InternalServerError", "Message": "oops"}),
        ),
        (503, json!({})),
    ];
    for (status, body) in cases {
        let (t, _) = start(status, body.clone()).await;
        match t.tag(Bytes::from_static(b"x")).await {
            Err(TagError::Unavailable(_)) => {}
            other => panic!("{status} {body}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn access_denied_is_permanent_and_names_the_permission() {
    let (t, _) = start(
        400,
        json!({"__type": "AccessDeniedException", "Message": "not authorized"}),
    )
    .await;
    match t.tag(Bytes::from_static(b"x")).await {
        Err(TagError::BadImage(r)) => assert!(r.contains("rekognition:DetectLabels"), "{r}"),
        other => panic!("{other:?}"),
    }
}
