//! Black-box: the seed's client sequence against `imgtag serve` wired to S3 + Cognito +
//! DynamoDB on the moto emulator. Uploads go straight to the emulator's S3 with the returned
//! form; the server's own workers notice the object (the `IngestUpload` watch), tag it with
//! the built-in model and index it in DynamoDB.
//!
//! `IMGTAG_MOTO_URL=http://127.0.0.1:5100 cargo test -p imgtag --features aws --test aws`

#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;

use std::time::{Duration, Instant};

use helpers::{fixture, spawn_app_with, tags, TestApp};
use imgtag_aws::testing;
use imgtag_server::config::{
    AccountsBackend, AwsConfig, BlobsConfig, CatalogConfig, CognitoConfig, DynamoConfig, S3Config,
};
use serde_json::{json, Value};

/// The server on the emulator: a fresh bucket, user pool and table.
async fn spawn_on_moto(url: &str) -> (TestApp, String) {
    // The SDK's default credential chain reads these; the emulator accepts any.
    for (k, v) in [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ] {
        if std::env::var_os(k).is_none() {
            std::env::set_var(k, v);
        }
    }
    let sdk = testing::sdk_config(url).await;
    let bucket = testing::unique("imgtag-e2e");
    testing::create_bucket(&sdk, &bucket).await;
    let (pool, client) = testing::create_user_pool(&sdk).await;
    let table = testing::unique("imgtag-e2e");
    let app = spawn_app_with(|c| {
        c.aws = AwsConfig {
            region: Some("us-east-1".into()),
            endpoint_url: Some(url.to_string()),
        };
        c.blobs = BlobsConfig::S3(S3Config {
            bucket: bucket.clone(),
            force_path_style: true,
            region: None,
            endpoint_url: None,
        });
        c.catalog = CatalogConfig::Dynamodb(DynamoConfig {
            table,
            create_table: true,
            region: None,
            endpoint_url: None,
        });
        c.accounts = AccountsBackend::Cognito(CognitoConfig {
            user_pool_id: pool,
            client_id: client,
            issuer: None,
            jwks_url: None,
            auto_confirm: true,
            min_password_len: 6,
            region: None,
            endpoint_url: None,
        });
    })
    .await;
    (app, bucket)
}

async fn sign_up_and_in(app: &TestApp, name: &str) -> String {
    let creds = json!({"username": name, "password": "Abc123!"});
    let r = app.post_json("/signup", creds.clone(), None).await;
    assert_eq!(r.status(), 201);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"message": "Created"})
    );
    let r = app.post_json("/signin", creds, None).await;
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn seed_client_sequence_on_s3_cognito_and_dynamodb() {
    let Some(url) = testing::moto_url() else {
        return;
    };
    let (app, bucket) = spawn_on_moto(&url).await;
    let token = sign_up_and_in(&app, "test").await;
    // A taken name is the seed's 400.
    let r = app
        .post_json(
            "/signup",
            json!({"username": "TEST", "password": "Abc123!"}),
            None,
        )
        .await;
    assert_eq!(r.status(), 400);

    let r = app.post_json("/images", json!({}), Some(&token)).await;
    assert_eq!(r.status(), 201);
    let ticket: Value = r.json().await.unwrap();
    let form = &ticket["formConfig"];
    assert_eq!(form["uploadUrl"], format!("{url}/{bucket}/"));
    for f in [
        "key",
        "Policy",
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Signature",
    ] {
        assert!(
            form["formFields"].get(f).is_some(),
            "formFields lacks {f}: {form}"
        );
    }
    let r = app
        .post_form(&ticket, fixture("chelsea.jpg"), "image/jpeg")
        .await;
    assert!(
        r.status() == 204 || r.status() == 201,
        "S3 answered {}",
        r.status()
    );

    // The workers notice the object, tag it, and index it.
    let start = Instant::now();
    let tag_list = loop {
        let body = app.get_json("/tags", &token).await;
        let list = body["tags"].as_array().unwrap().clone();
        if !list.is_empty() || start.elapsed() > Duration::from_secs(60) {
            break list;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let names: Vec<&str> = tag_list.iter().filter_map(Value::as_str).collect();
    assert!(names.contains(&"cat"), "no cat among {names:?}");

    let r = app.get("/tags/cat/images", &token).await;
    assert_eq!(r.status(), 308);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let path = location
        .rsplit_once("/images")
        .map(|(_, q)| format!("/images{q}"));
    let listing = app.get_json(&path.unwrap(), &token).await;
    let images = listing["images"].as_array().unwrap();
    assert_eq!(images.len(), 1, "{listing}");
    let img = &images[0];
    assert_eq!(img["id"], ticket["id"]);
    assert_eq!(img["status"], "tagged");
    assert_eq!(img["contentType"], "image/jpeg");
    assert!(tags(img).iter().any(|t| t == "cat"));

    // fileUrl is a pre-signed GET on the bucket, with the image's real type.
    let file = app
        .client
        .get(img["fileUrl"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), 200);
    assert_eq!(file.headers()["content-type"], "image/jpeg");
    assert_eq!(file.bytes().await.unwrap().to_vec(), fixture("chelsea.jpg"));
    assert!(img["thumbnailUrl"]
        .as_str()
        .is_some_and(|u| u.starts_with(&url)));

    // Another user sees nothing of it.
    let other = sign_up_and_in(&app, "other").await;
    assert_eq!(app.get_json("/tags", &other).await["tags"], json!([]));
    let id = img["id"].as_str().unwrap();
    assert_eq!(
        app.get(&format!("/images/{id}"), &other).await.status(),
        404
    );

    // Deleting removes the index entries and the object.
    let r = app
        .client
        .delete(format!("{}/images/{id}", app.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(app.get_json("/tags", &token).await["tags"], json!([]));
    let gone = app
        .client
        .get(img["fileUrl"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    // 404, or 403 where the reader may not list the bucket (S3's rule; moto follows it).
    assert!(
        [403, 404].contains(&gone.status().as_u16()),
        "the object is still there: {}",
        gone.status()
    );
}

#[tokio::test]
async fn non_images_uploaded_to_s3_are_dropped() {
    let Some(url) = testing::moto_url() else {
        return;
    };
    let (app, _) = spawn_on_moto(&url).await;
    let token = sign_up_and_in(&app, "mallory").await;
    let r = app
        .post_json("/images", json!({"contentType": "image/png"}), Some(&token))
        .await;
    let ticket: Value = r.json().await.unwrap();
    assert_eq!(
        ticket["formConfig"]["formFields"]["Content-Type"],
        "image/png"
    );
    // moto does not enforce the policy; the server still refuses what is not an image.
    let r = app
        .post_form(&ticket, b"<html>not an image</html>".to_vec(), "image/png")
        .await;
    assert!(r.status().is_success());
    let id = ticket["id"].as_str().unwrap();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        assert_eq!(
            app.get(&format!("/images/{id}"), &token).await.status(),
            404
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let listing = app.get_json("/images", &token).await;
    assert_eq!(listing["images"], json!([]));
}
