//! The seed's own client sequence, unchanged.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{fixture, spawn_app, tags};

#[tokio::test]
async fn seed_client_sequence_tags_the_cat_and_finds_it_by_tag() {
    let app = spawn_app().await;
    let creds = json!({"username": "test", "password": "Abc123!"});

    let r = app.post_json("/signup", creds.clone(), None).await;
    assert_eq!(r.status(), 201);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"message": "Created"})
    );

    let r = app.post_json("/signin", creds, None).await;
    assert_eq!(r.status(), 201);
    let token = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();

    let r = app.post_json("/images", json!({}), Some(&token)).await;
    assert_eq!(r.status(), 201);
    let ticket: Value = r.json().await.unwrap();
    let fields = ticket["formConfig"]["formFields"].as_object().unwrap();
    for f in [
        "Key",
        "Policy",
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Signature",
    ] {
        assert!(fields.contains_key(f), "formFields lacks {f}");
    }
    let r = app
        .post_form(&ticket, fixture("chelsea.jpg"), "image/jpeg")
        .await;
    assert_eq!(r.status(), 204, "{}", r.text().await.unwrap());

    // The seed's client waits about a second, then asks for tags.
    let start = Instant::now();
    let tag_list = loop {
        let body = app.get_json("/tags", &token).await;
        let list = body["tags"].as_array().unwrap().clone();
        if !list.is_empty() || start.elapsed() > Duration::from_secs(1) {
            break list;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(!tag_list.is_empty(), "no tags within 1 s");
    let first = tag_list[0].as_str().unwrap();

    let r = app.get(&format!("/tags/{first}/images"), &token).await;
    assert_eq!(r.status(), 308);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let listing = app
        .get_json(location.trim_start_matches(&app.url_path()), &token)
        .await;
    let images = listing["images"].as_array().unwrap();
    let img = images
        .iter()
        .find(|i| i["id"] == ticket["id"])
        .expect("uploaded image listed under its first tag");
    assert_eq!(
        img["name"], "photo",
        "the file part's name is kept when none was signed"
    );
    let t = tags(img);
    assert!(t.contains(&first.to_string()));
    assert!(
        t.iter().any(|t| t == "cat"),
        "cat-related tag missing: {t:?}"
    );

    // fileUrl works without a token and serves the bytes with their real type.
    let file = app
        .client
        .get(img["fileUrl"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), 200);
    assert_eq!(file.headers()["content-type"], "image/jpeg");
    assert_eq!(file.bytes().await.unwrap().to_vec(), fixture("chelsea.jpg"));
}

impl crate::helpers::TestApp {
    /// The base path part of the URL ("" or "/Prod"), as the Location header carries it.
    pub fn url_path(&self) -> String {
        let after_scheme = self.url.split_once("://").unwrap().1;
        after_scheme
            .find('/')
            .map_or(String::new(), |i| after_scheme[i..].to_string())
    }
}
