//! Bad input: each gets a clear 4xx JSON error and changes nothing that is stored.

use std::time::Duration;

use base64::Engine;
use serde_json::{json, Value};

use crate::helpers::{fixture, spawn_app, spawn_app_with, TestApp};

async fn error(r: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(r.status(), status, "expected {status} {code}");
    let body: Value = r.json().await.expect("JSON error body");
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    body
}

/// Files stored under the data directory's blob store.
fn stored_files(app: &TestApp) -> usize {
    fn count(p: &std::path::Path) -> usize {
        std::fs::read_dir(p).map_or(0, |rd| {
            rd.flatten()
                .map(|e| {
                    if e.path().is_dir() {
                        count(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
    }
    count(&app.data_dir.join("blobs"))
}

async fn image_count(app: &TestApp, token: &str) -> usize {
    app.get_json("/images", token).await["images"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn account_errors_are_400_json_and_create_nothing() {
    let app = spawn_app().await;
    let raw = |body: &'static str| {
        app.client
            .post(format!("{}/signup", app.url))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    error(
        raw("{\"username\": \"x\",").await.unwrap(),
        400,
        "invalid-json",
    )
    .await;
    error(
        raw("{\"username\": \"dave\"}").await.unwrap(),
        400,
        "invalid-body",
    )
    .await;
    let weak = json!({"username": "dave", "password": "12345"});
    error(
        app.post_json("/signup", weak, None).await,
        400,
        "weak-password",
    )
    .await;
    let bad_name = json!({"username": "../dave", "password": "Abc123!"});
    error(
        app.post_json("/signup", bad_name, None).await,
        400,
        "invalid-username",
    )
    .await;

    // None of those created the user.
    let creds = json!({"username": "dave", "password": "Abc123!"});
    error(
        app.post_json("/signin", creds.clone(), None).await,
        400,
        "bad-credentials",
    )
    .await;
    assert_eq!(
        app.post_json("/signup", creds.clone(), None).await.status(),
        201
    );
    let dup = json!({"username": "DAVE", "password": "Other123!"});
    error(app.post_json("/signup", dup, None).await, 400, "conflict").await;
    let wrong = json!({"username": "dave", "password": "wrong-password"});
    let unknown = json!({"username": "nobody", "password": "Abc123!"});
    let a = error(
        app.post_json("/signin", wrong, None).await,
        400,
        "bad-credentials",
    )
    .await;
    let b = error(
        app.post_json("/signin", unknown, None).await,
        400,
        "bad-credentials",
    )
    .await;
    assert_eq!(a, b, "unknown user and wrong password must look alike");
    assert_eq!(app.post_json("/signin", creds, None).await.status(), 201);
}

fn b64(v: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

#[tokio::test]
async fn bad_tokens_get_401_with_the_seeds_headers() {
    let app = spawn_app_with(|c| {
        c.accounts = imgtag_server::config::AccountsBackend::Local(imgtag_local::AccountsConfig {
            token_ttl_secs: 1,
            ..Default::default()
        })
    })
    .await;
    let other = spawn_app().await;
    let token = app.user("erin").await;
    let foreign = other.user("erin").await;
    let parts: Vec<&str> = token.split('.').collect();
    let payload: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[1])
            .unwrap(),
    )
    .unwrap();
    let mut forged = payload.clone();
    forged["sub"] = json!("someone-else");
    let tampered = format!("{}.{}.{}", parts[0], b64(&forged), parts[2]);
    let alg_none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        parts[1]
    );
    let hs256 = format!(
        "{}.{}.{}",
        b64(&json!({"alg": "HS256", "typ": "JWT"})),
        parts[1],
        parts[2]
    );

    for bad in [
        tampered.as_str(),
        alg_none.as_str(),
        hs256.as_str(),
        foreign.as_str(),
        "garbage",
        "",
    ] {
        let r = app
            .client
            .get(format!("{}/images", app.url))
            .bearer_auth(bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["www-authenticate"], "Bearer realm=\"imgtag\"");
        assert_eq!(r.headers()["access-control-allow-origin"], "*");
        assert!(r.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .to_lowercase()
            .contains("www-authenticate"));
        let body = error(r, 401, "unauthorized").await;
        assert_eq!(body["message"], "Unauthorized");
    }
    let r = app
        .client
        .get(format!("{}/tags", app.url))
        .send()
        .await
        .unwrap();
    error(r, 401, "unauthorized").await;

    assert_eq!(app.get("/images", &token).await.status(), 200);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    error(app.get("/images", &token).await, 401, "unauthorized").await;
}

#[tokio::test]
async fn upload_tampering_is_refused_and_stores_nothing() {
    let app = spawn_app_with(|c| c.app.max_upload_bytes = 100_000).await;
    let token = app.user("frank").await;
    let ticket = || async {
        app.post_json("/images", json!({"name": "../../etc/passwd"}), Some(&token))
            .await
            .json::<Value>()
            .await
            .unwrap()
    };
    let cat = fixture("chelsea.jpg");

    // Another key than the signed one, including a traversal attempt.
    for key in [
        "images/frank/0190a0b0c0d0e0f0a0b0c0d0e0f0a0b0",
        "images/../../signing.key",
    ] {
        let mut t = ticket().await;
        t["formConfig"]["formFields"]["Key"] = json!(key);
        error(
            app.post_form(&t, cat.clone(), "image/jpeg").await,
            403,
            "forbidden",
        )
        .await;
    }
    // A policy rewritten to last longer no longer matches its signature.
    let mut t = ticket().await;
    let policy = t["formConfig"]["formFields"]["Policy"].as_str().unwrap();
    let mut doc: Value = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(policy)
            .unwrap(),
    )
    .unwrap();
    doc["expiration"] = json!("2099-01-01T00:00:00.000Z");
    t["formConfig"]["formFields"]["Policy"] =
        json!(base64::engine::general_purpose::STANDARD.encode(doc.to_string()));
    error(
        app.post_form(&t, cat.clone(), "image/jpeg").await,
        403,
        "forbidden",
    )
    .await;
    // A declared type outside image/*.
    let t = ticket().await;
    error(
        app.post_form(&t, cat.clone(), "text/html").await,
        403,
        "forbidden",
    )
    .await;
    // Too large for the policy's content-length-range.
    let t = ticket().await;
    error(
        app.post_form(&t, fixture("coffee.png"), "image/png").await,
        413,
        "too-large",
    )
    .await;
    // Bytes that are no image, whatever the declared type says.
    let t = ticket().await;
    error(
        app.post_form(&t, b"<html>not a photo</html>".to_vec(), "image/jpeg")
            .await,
        415,
        "unsupported-media-type",
    )
    .await;
    let r = app
        .client
        .post(format!("{}/images", app.url))
        .bearer_auth(&token)
        .header("content-type", "image/png")
        .body("GIF? no, text")
        .send()
        .await
        .unwrap();
    error(r, 415, "unsupported-media-type").await;
    // A pre-signed PUT aimed at another key, or with its limit raised.
    let t = ticket().await;
    let put = t["putUrl"].as_str().unwrap();
    let elsewhere = put.replace(
        t["id"].as_str().unwrap(),
        "0190a0b0c0d0e0f0a0b0c0d0e0f0a0b0",
    );
    let r = app
        .client
        .put(elsewhere)
        .header("content-type", "image/jpeg")
        .body(cat.clone())
        .send()
        .await
        .unwrap();
    error(r, 403, "forbidden").await;
    let raised = put.replace("maxSize=100000", "maxSize=900000");
    let r = app
        .client
        .put(raised)
        .header("content-type", "image/png")
        .body(fixture("coffee.png"))
        .send()
        .await
        .unwrap();
    error(r, 403, "forbidden").await;
    let r = app
        .client
        .put(format!("{}/uploads/images/..%2F..%2Fsigning.key", app.url))
        .body(cat.clone())
        .send()
        .await
        .unwrap();
    assert!(
        matches!(r.status().as_u16(), 400 | 403 | 404),
        "{}",
        r.status()
    );

    assert_eq!(stored_files(&app), 0, "a refused upload left a file");
    assert_eq!(image_count(&app, &token).await, 0);

    // The name is display-only: directories are dropped.
    let t = ticket().await;
    assert_eq!(app.post_form(&t, cat, "image/jpeg").await.status(), 204);
    let listing = app.get_json("/images", &token).await;
    assert_eq!(listing["images"][0]["name"], "passwd");
    assert_eq!(stored_files(&app), 1);
}

#[tokio::test]
async fn expired_upload_policies_and_file_urls_are_refused() {
    let app = spawn_app_with(|c| {
        c.app.upload_ttl_secs = 1;
        c.app.url_ttl_secs = 1;
    })
    .await;
    let token = app.user("gina").await;
    let t: Value = app
        .post_json("/images", json!({}), Some(&token))
        .await
        .json()
        .await
        .unwrap();
    let direct = app
        .client
        .post(format!("{}/images", app.url))
        .bearer_auth(&token)
        .header("content-type", "image/jpeg")
        .body(fixture("chelsea.jpg"))
        .send()
        .await
        .unwrap();
    let file_url = direct.json::<Value>().await.unwrap()["fileUrl"]
        .as_str()
        .unwrap()
        .to_string();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    error(
        app.post_form(&t, fixture("chelsea.jpg"), "image/jpeg")
            .await,
        403,
        "forbidden",
    )
    .await;
    error(
        app.client.get(&file_url).send().await.unwrap(),
        403,
        "forbidden",
    )
    .await;
    let tampered = file_url.replace("contentType=image%2Fjpeg", "contentType=text%2Fhtml");
    error(
        app.client.get(&tampered).send().await.unwrap(),
        403,
        "forbidden",
    )
    .await;
    assert_eq!(image_count(&app, &token).await, 1);
}

#[tokio::test]
async fn truncated_image_is_accepted_then_marked_failed_with_a_reason() {
    let app = spawn_app().await;
    let token = app.user("hank").await;
    let mut cat = fixture("chelsea.jpg");
    cat.truncate(cat.len() / 3);
    let (id, status) = app.upload(&token, cat, "image/jpeg").await;
    assert_eq!(status, 204);
    let img = app.wait_tagged(&token, &id, Duration::from_secs(10)).await;
    assert_eq!(img["status"], "failed");
    assert!(
        img["failureReason"].as_str().is_some_and(|r| !r.is_empty()),
        "{img}"
    );
    assert!(img["tags"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn bad_query_parameters_and_ids_are_rejected() {
    let app = spawn_app().await;
    let token = app.user("ivy").await;
    for q in [
        "limit=0",
        "limit=1001",
        "limit=abc",
        "minConfidence=2",
        "tags=a%2Fb",
    ] {
        let code = if q.starts_with("limit") {
            "invalid-limit"
        } else if q.starts_with("min") {
            "invalid-min-confidence"
        } else {
            "invalid-tag"
        };
        error(app.get(&format!("/images?{q}"), &token).await, 400, code).await;
    }
    for c in ["garbage", "djE6Li4vLi4vZXRj", "%00"] {
        error(
            app.get(&format!("/images?cursor={c}"), &token).await,
            400,
            "invalid-cursor",
        )
        .await;
    }
    for id in [
        "..%2F..%2Fsigning.key",
        "not-an-id",
        "0190a0b0c0d0e0f0a0b0c0d0e0f0a0b0",
    ] {
        error(
            app.get(&format!("/images/{id}"), &token).await,
            404,
            "not-found",
        )
        .await;
    }
    let r = app
        .client
        .get(format!(
            "{}/files/..%2Fsigning.key?contentType=x&expires=9999999999&signature=00",
            app.url
        ))
        .send()
        .await
        .unwrap();
    assert!(matches!(r.status().as_u16(), 403 | 404), "{}", r.status());
    let r = app
        .client
        .post(format!("{}/images", app.url))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"contentType\": \"text/html\"}")
        .send()
        .await
        .unwrap();
    error(r, 400, "invalid-content-type").await;
    let r = app
        .client
        .request(reqwest::Method::OPTIONS, format!("{}/images", app.url))
        .header("origin", "http://example.test")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        )
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
}

#[tokio::test]
async fn repeated_failed_sign_ins_are_slowed_down() {
    let app = spawn_app().await;
    app.user("lena").await;
    let wrong = json!({"username": "lena", "password": "not-her-password"});
    for _ in 0..imgtag_local::FREE_FAILURES {
        error(
            app.post_json("/signin", wrong.clone(), None).await,
            400,
            "bad-credentials",
        )
        .await;
    }
    error(
        app.post_json("/signin", wrong, None).await,
        429,
        "rate-limited",
    )
    .await;
    // Even the right password waits: guessing gains nothing during the window.
    let right = json!({"username": "LENA", "password": "Abc123!"});
    let r = app.post_json("/signin", right, None).await;
    assert!(
        r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    error(r, 429, "rate-limited").await;
}
