//! Reused answers (`answers.rs` in imgtag-http): a repeated listing is the same page, signed
//! links included, and any write, from this server or another process on the same data,
//! shows at once.

use std::time::Duration;

use imgtag_core::{ImageId, Owner, TagName};
use imgtag_local::SqliteDb;

use crate::helpers::{fixture, spawn_app, spawn_app_with, tags, TestApp};

const WAIT: Duration = Duration::from_secs(10);

async fn text(app: &TestApp, path: &str, token: &str) -> String {
    let r = app.get(path, token).await;
    assert_eq!(r.status(), 200, "GET {path}");
    r.text().await.unwrap()
}

/// Uploads the cat photo and waits for its tags; returns (owner, id) as stored.
async fn tagged_cat(app: &TestApp, token: &str) -> (Owner, ImageId) {
    let (id, status) = app
        .upload(token, fixture("chelsea.jpg"), "image/jpeg")
        .await;
    assert_eq!(status, 204);
    let img = app.wait_tagged(token, &id, WAIT).await;
    assert_eq!(img["status"], "tagged");
    // `/files/images/<owner>/<id>?...`: the owner is the account's id, not its name.
    let url = img["fileUrl"].as_str().unwrap();
    let owner = url
        .split("/files/images/")
        .nth(1)
        .unwrap()
        .split('/')
        .next();
    (
        Owner::parse(owner.unwrap()).unwrap(),
        ImageId::parse(&id).unwrap(),
    )
}

#[tokio::test]
async fn a_repeated_listing_is_reused_until_anything_writes() {
    let app = spawn_app().await;
    let token = app.user("alice").await;
    let (owner, id) = tagged_cat(&app, &token).await;

    let page = text(&app, "/images?tags=cat", &token).await;
    let counts = text(&app, "/tags", &token).await;
    // The same request by another user is theirs, not alice's reused.
    let bob = app.user("bob").await;
    assert_eq!(
        text(&app, "/images?tags=cat", &bob).await,
        r#"{"images":[],"nextCursor":null}"#
    );
    assert_eq!(
        text(&app, "/tags", &bob).await,
        r#"{"tags":[],"counts":{}}"#
    );
    // Freshly signed links would carry a later `expires` a second on.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(text(&app, "/images?tags=cat", &token).await, page);
    assert_eq!(text(&app, "/tags", &token).await, counts);

    // Another process writes to the same catalog: both answers change at once.
    let other = SqliteDb::open_in_dir(&app.data_dir).unwrap().catalog();
    let fav = TagName::parse("favourite").unwrap();
    assert!(
        imgtag_core::Catalog::add_manual_label(&other, &owner, &id, &fav)
            .await
            .unwrap()
    );
    let page2: serde_json::Value =
        serde_json::from_str(&text(&app, "/images?tags=cat", &token).await).unwrap();
    assert!(tags(&page2["images"][0]).contains(&"favourite".to_string()));
    let counts2: serde_json::Value =
        serde_json::from_str(&text(&app, "/tags", &token).await).unwrap();
    assert_eq!(counts2["counts"]["favourite"], 1);

    // This server's own write too.
    let r = app
        .client
        .delete(format!("{}/images/{id}", app.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page3: serde_json::Value =
        serde_json::from_str(&text(&app, "/images?tags=cat", &token).await).unwrap();
    assert_eq!(page3["images"], serde_json::json!([]));
    let counts3: serde_json::Value =
        serde_json::from_str(&text(&app, "/tags", &token).await).unwrap();
    assert_eq!(counts3["tags"], serde_json::json!([]));
}

#[tokio::test]
async fn reuse_can_be_turned_off() {
    let app = spawn_app_with(|c| c.http.answer_cache_mb = 0).await;
    let alice = app.user("alice").await;
    tagged_cat(&app, &alice).await;
    let page = text(&app, "/images?tags=cat", &alice).await;
    assert!(page.contains("fileUrl"));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_ne!(
        text(&app, "/images?tags=cat", &alice).await,
        page,
        "signed anew, later expiry"
    );
}
