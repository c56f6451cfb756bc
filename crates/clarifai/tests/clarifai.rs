//! The Clarifai tagger against a local fake speaking the documented v2 predict shapes.

mod fake;

use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use fake::Fake;
use imgtag_clarifai::{ClarifaiSettings, ClarifaiTagger};
use imgtag_core::{Prediction, SecretValue, TagError, Tagger};
use serde_json::json;

const IMAGE: &[u8] = b"\xff\xd8\xff\xe0 not really a jpeg, the fake does not look";

fn tagger(fake: &Fake, edit: impl FnOnce(&mut ClarifaiSettings)) -> ClarifaiTagger {
    let mut s = ClarifaiSettings {
        base_url: fake.url.clone(),
        ..ClarifaiSettings::default()
    };
    edit(&mut s);
    ClarifaiTagger::new(s, &SecretValue::new("pat-123")).unwrap()
}

fn names(p: &[Prediction]) -> Vec<(&str, f32)> {
    p.iter().map(|p| (p.name.as_str(), p.confidence)).collect()
}

#[tokio::test]
async fn concepts_become_unique_valid_tags_above_the_floor_highest_first() {
    let fake = Fake::start(
        200,
        fake::success(&[
            ("pet", 0.9),
            ("cat", 0.99),
            ("Animal", 0.95),
            ("no person", 0.6),
            ("cute", 0.3),
            ("indoors/outdoors", 0.8),
            ("CAT", 0.7),
        ]),
    )
    .await;
    let t = tagger(&fake, |s| s.min_confidence = 0.5);
    let p = t.tag(Bytes::from_static(IMAGE)).await.unwrap();
    assert_eq!(
        names(&p),
        vec![
            ("cat", 0.99),
            ("animal", 0.95),
            ("pet", 0.9),
            ("no person", 0.6)
        ]
    );

    let reqs = fake.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.method, "POST");
    assert_eq!(
        r.path,
        "/v2/users/clarifai/apps/main/models/general-image-recognition/outputs"
    );
    assert_eq!(r.authorization.as_deref(), Some("Key pat-123"));
    let b64 = base64::engine::general_purpose::STANDARD.encode(IMAGE);
    assert_eq!(
        r.body,
        json!({"inputs": [{"data": {"image": {"base64": b64}}}]})
    );
}

#[tokio::test]
async fn user_app_model_and_version_are_configurable_and_urls_are_sent_as_urls() {
    let fake = Fake::start(200, fake::success(&[("dog", 0.8)])).await;
    let t = tagger(&fake, |s| {
        s.user_id = "me".into();
        s.app_id = "photos".into();
        s.model = "pets".into();
        s.model_version = Some("v7".into());
    });
    let p = t
        .tag_url("https://bucket.example/x.jpg?sig=1")
        .await
        .unwrap();
    assert_eq!(names(&p), vec![("dog", 0.8)]);
    let r = &fake.requests()[0];
    assert_eq!(
        r.path,
        "/v2/users/me/apps/photos/models/pets/versions/v7/outputs"
    );
    assert_eq!(
        r.body,
        json!({"inputs": [{"data": {"image": {"url": "https://bucket.example/x.jpg?sig=1"}}}]})
    );
}

#[tokio::test]
async fn a_failed_output_in_a_mixed_status_is_a_bad_image() {
    let fake = Fake::start(
        200,
        fake::failed((10010, "Mixed Success"), (30002, "Download failed")),
    )
    .await;
    let err = tagger(&fake, |_| {}).tag(Bytes::from_static(IMAGE)).await;
    match err {
        Err(TagError::BadImage(r)) => assert!(r.contains("30002"), "{r}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_image_clarifai_cannot_decode_is_a_bad_image() {
    let fake = Fake::start(
        400,
        fake::failed((10020, "Failure"), (30100, "Invalid image: decode failed")),
    )
    .await;
    match tagger(&fake, |_| {}).tag(Bytes::from_static(IMAGE)).await {
        Err(TagError::BadImage(r)) => {
            assert!(
                r.contains("could not read the image") && r.contains("30100"),
                "{r}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_refused_key_is_permanent_and_says_what_to_fix() {
    // As Clarifai answers a bad `Authorization` header; and a 200 carrying a key error code.
    let cases = [
        (
            401,
            json!({"status": {"code": 11102, "description": "Invalid request", "details": "API key not found"}}),
        ),
        (
            200,
            json!({"status": {"code": 11008, "description": "Invalid API key or Invalid API key/application pair"}, "outputs": []}),
        ),
    ];
    for (http, body) in cases {
        let fake = Fake::start(http, body).await;
        match tagger(&fake, |_| {}).tag(Bytes::from_static(IMAGE)).await {
            Err(TagError::BadImage(r)) => {
                assert!(
                    r.contains("refused the API key") && r.contains("key_parameter"),
                    "{r}"
                );
                assert!(!r.contains("pat-123"), "the key leaked into {r}");
            }
            other => panic!("HTTP {http}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn throttling_and_outages_are_transient() {
    let cases = [
        (
            429,
            json!({"status": {"code": 11005, "description": "Making too many requests"}}),
        ),
        (503, json!({"message": "upstream unavailable"})),
        (
            200,
            json!({"status": {"code": 10030, "description": "Try the request again"}}),
        ),
    ];
    for (http, body) in cases {
        let fake = Fake::start(http, body).await;
        match tagger(&fake, |_| {}).tag(Bytes::from_static(IMAGE)).await {
            Err(TagError::Unavailable(_)) => {}
            other => panic!("HTTP {http}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_slow_answer_is_a_transient_timeout() {
    let fake = Fake::start_slow(200, fake::success(&[("cat", 0.9)]), Duration::from_secs(3)).await;
    let t = tagger(&fake, |s| s.timeout = Duration::from_millis(300));
    match t.tag(Bytes::from_static(IMAGE)).await {
        Err(TagError::Unavailable(r)) => assert!(r.contains("did not answer within"), "{r}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn nothing_listening_is_transient() {
    let t = ClarifaiTagger::new(
        ClarifaiSettings {
            base_url: "http://127.0.0.1:9".into(),
            ..ClarifaiSettings::default()
        },
        &SecretValue::new("pat-123"),
    )
    .unwrap();
    assert!(matches!(
        t.tag(Bytes::from_static(IMAGE)).await,
        Err(TagError::Unavailable(_))
    ));
    assert!(!format!("{t:?}").contains("pat-123"));
}
