//! Thumbnails: made once while tagging, served by signed URL with cache headers, deleted with
//! the image.

use std::time::Duration;

use crate::helpers::{fixture, spawn_app};

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn tagging_makes_thumbnails_that_go_with_the_image() {
    let app = spawn_app().await;
    let token = app.user("thumbs").await;
    let (id, status) = app
        .upload(&token, fixture("chelsea.jpg"), "image/jpeg")
        .await;
    assert_eq!(status, 204);
    let img = app.wait_tagged(&token, &id, WAIT).await;

    // 451×300 → 256 px on the long side; the 1024 preview does not upscale.
    let mut urls = Vec::new();
    for (field, want) in [("thumbnailUrl", (256, 170)), ("previewUrl", (451, 300))] {
        let url = img[field]
            .as_str()
            .unwrap_or_else(|| panic!("{field}: {img}"));
        let resp = app.client.get(url).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{field}");
        assert_eq!(resp.headers()["content-type"], "image/jpeg");
        let cache = resp.headers()["cache-control"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(cache.contains("max-age"), "{cache}");
        let body = resp.bytes().await.unwrap();
        let size = imagesize::blob_size(&body).unwrap();
        assert_eq!((size.width as u32, size.height as u32), want, "{field}");
        urls.push(url.to_string());
    }
    // Every image answer carries it, listings too.
    let list = app.get_json("/images", &token).await;
    assert!(list["images"][0]["thumbnailUrl"].is_string());

    let resp = app
        .client
        .delete(format!("{}/images/{id}", app.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    for url in urls {
        let resp = app.client.get(&url).send().await.unwrap();
        assert_eq!(resp.status(), 404, "thumbnail outlived its image: {url}");
    }
}

#[tokio::test]
async fn a_missing_thumbnail_is_answered_with_the_original() {
    let app = spawn_app().await;
    let token = app.user("nothumb").await;
    let original = fixture("chelsea.jpg");
    let (id, _) = app.upload(&token, original.clone(), "image/jpeg").await;
    app.wait_tagged(&token, &id, WAIT).await;
    // As if the thumbnailer had failed, or the image predates thumbnails.
    std::fs::remove_dir_all(app.data_dir.join("blobs").join("thumbs")).unwrap();
    let list = app.get_json("/images", &token).await;
    let url = list["images"][0]["thumbnailUrl"].as_str().unwrap();
    let resp = app.client.get(url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "image/jpeg");
    assert_eq!(resp.bytes().await.unwrap().as_ref(), original.as_slice());
    // Once the image is gone, so is the stand-in.
    let resp = app
        .client
        .delete(format!("{}/images/{id}", app.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(app.client.get(url).send().await.unwrap().status(), 404);
}
