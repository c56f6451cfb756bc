//! Listing, filtering, manual tags, re-tagging, deletion and isolation between users.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{fixture, spawn_app, spawn_app_with, tags};

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn queries_tags_and_manual_edits_behave() {
    let app = spawn_app().await;
    let token = app.user("alice").await;
    let (cat, s1) = app
        .upload(&token, fixture("chelsea.jpg"), "image/jpeg")
        .await;
    let (coffee, s2) = app.upload(&token, fixture("coffee.png"), "image/png").await;
    assert_eq!((s1, s2), (204, 204));
    let cat_img = app.wait_tagged(&token, &cat, WAIT).await;
    let coffee_img = app.wait_tagged(&token, &coffee, WAIT).await;
    assert_eq!(cat_img["status"], "tagged");
    assert_eq!(coffee_img["status"], "tagged");
    assert_eq!(coffee_img["contentType"], "image/png");
    assert_eq!(
        (coffee_img["width"].as_u64(), coffee_img["height"].as_u64()),
        (Some(600), Some(400))
    );
    let coffee_tags = tags(&coffee_img);
    assert!(!coffee_tags.contains(&"cat".to_string()));

    let ids = |v: &Value| -> Vec<String> {
        v["images"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect()
    };
    // Newest first; AND, OR, NOT filters.
    assert_eq!(
        ids(&app.get_json("/images", &token).await),
        vec![coffee.clone(), cat.clone()]
    );
    assert_eq!(
        ids(&app.get_json("/images?tags=cat", &token).await),
        vec![cat.clone()]
    );
    assert_eq!(
        ids(&app.get_json("/images?tags=cat,animal", &token).await),
        vec![cat.clone()]
    );
    let ct = &coffee_tags[0];
    assert_eq!(
        ids(&app
            .get_json(&format!("/images?anyTags=cat,{ct}"), &token)
            .await)
        .len(),
        2
    );
    assert_eq!(
        ids(&app.get_json("/images?notTags=cat", &token).await),
        vec![coffee.clone()]
    );
    assert!(ids(&app
        .get_json("/images?tags=cat&minConfidence=1", &token)
        .await)
    .is_empty());

    // Paging with an opaque cursor visits each image once.
    let p1 = app.get_json("/images?limit=1", &token).await;
    let cursor = p1["nextCursor"].as_str().expect("next cursor");
    let p2 = app
        .get_json(&format!("/images?limit=1&cursor={cursor}"), &token)
        .await;
    assert_eq!(
        [ids(&p1), ids(&p2)].concat(),
        vec![coffee.clone(), cat.clone()]
    );
    assert!(p2["nextCursor"].is_null());

    // Tag counts follow every change exactly.
    let counts = app.get_json("/tags", &token).await;
    assert_eq!(counts["counts"]["cat"], 1);
    let r = app
        .client
        .put(format!("{}/images/{coffee}/tags/Favourite%20Mug", app.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = app
        .client
        .put(format!("{}/images/{cat}/tags/favourite%20mug", app.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let counts = app.get_json("/tags?prefix=fav", &token).await;
    assert_eq!(counts["tags"], json!(["favourite mug"]));
    assert_eq!(counts["counts"]["favourite mug"], 2);

    // Re-tagging keeps manual labels and restores the same auto labels.
    let r = app
        .client
        .post(format!("{}/images/{cat}/retag", app.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let again = app.wait_tagged(&token, &cat, WAIT).await;
    let mut before = tags(&cat_img);
    before.push("favourite mug".into());
    let mut after = tags(&again);
    before.sort();
    after.sort();
    assert_eq!(before, after);
    let manual: Vec<&Value> = again["labels"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["source"] == "manual")
        .collect();
    assert_eq!(manual.len(), 1);

    let r = app
        .client
        .delete(format!("{}/images/{cat}/tags/favourite%20mug", app.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        app.get_json("/tags", &token).await["counts"]["favourite mug"],
        1
    );

    // Deleting removes the image, its file and its tags.
    let file_url = again["fileUrl"].as_str().unwrap().to_string();
    let r = app
        .client
        .delete(format!("{}/images/{cat}", app.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap()["message"],
        format!("Deleted image: {cat}")
    );
    assert_eq!(
        app.get(&format!("/images/{cat}"), &token).await.status(),
        404
    );
    assert!(app.get_json("/tags", &token).await["counts"]
        .get("cat")
        .is_none());
    assert_eq!(app.client.get(file_url).send().await.unwrap().status(), 404);
}

#[tokio::test]
async fn users_never_see_each_others_images() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let (id, _) = app
        .upload(&alice, fixture("chelsea.jpg"), "image/jpeg")
        .await;
    app.wait_tagged(&alice, &id, WAIT).await;
    assert_eq!(app.get(&format!("/images/{id}"), &bob).await.status(), 404);
    assert!(app.get_json("/images", &bob).await["images"]
        .as_array()
        .unwrap()
        .is_empty());
    assert!(app.get_json("/tags", &bob).await["tags"]
        .as_array()
        .unwrap()
        .is_empty());
    for req in [
        app.client.delete(format!("{}/images/{id}", app.url)),
        app.client.put(format!("{}/images/{id}/tags/mine", app.url)),
        app.client.post(format!("{}/images/{id}/retag", app.url)),
    ] {
        let r = req.bearer_auth(&bob).send().await.unwrap();
        assert_eq!(r.status(), 404);
        assert_eq!(r.json::<Value>().await.unwrap()["code"], "not-found");
    }
    assert_eq!(
        app.get_json(&format!("/images/{id}"), &alice).await["status"],
        "tagged"
    );
}

#[tokio::test]
async fn direct_and_put_uploads_work_under_a_base_path() {
    let app = spawn_app_with(|c| c.http.base_path = "/Prod".into()).await;
    assert!(app.url.ends_with("/Prod"));
    let token = app.user("carol").await;

    let r = app
        .client
        .post(format!("{}/images", app.url))
        .bearer_auth(&token)
        .header("content-type", "image/jpeg")
        .header("x-file-name", "chelsea.jpg")
        .body(fixture("chelsea.jpg"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let direct: Value = r.json().await.unwrap();
    assert_eq!(direct["name"], "chelsea.jpg");
    assert_eq!(direct["status"], "pending");

    let ticket: Value = app
        .post_json("/images", json!({"name": "cup.png"}), Some(&token))
        .await
        .json()
        .await
        .unwrap();
    let r = app
        .client
        .put(ticket["putUrl"].as_str().unwrap())
        .header("content-type", "image/png")
        .body(fixture("coffee.png"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let put: Value = r.json().await.unwrap();
    assert_eq!(put["id"], ticket["id"]);
    assert_eq!(put["name"], "cup.png");

    let d = app
        .wait_tagged(&token, direct["id"].as_str().unwrap(), WAIT)
        .await;
    assert!(tags(&d).contains(&"cat".to_string()));
    let listing = app.get_json("/images", &token).await;
    assert_eq!(listing["images"].as_array().unwrap().len(), 2);
    let root = app
        .client
        .get(format!("{}/", app.url))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let urls: Vec<&str> = root["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["url"].as_str().unwrap())
        .collect();
    assert!(
        urls.contains(&format!("{}/signup", app.url).as_str()),
        "{urls:?}"
    );
}
