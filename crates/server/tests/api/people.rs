//! People tags through the API: an uploaded portrait ends up with `person` and `face` labels
//! whose `boxes` locate the face, and whole-image labels carry no `boxes` field.

use std::time::Duration;

use serde_json::Value;

use crate::helpers::{fixture, spawn_app, tags};

/// Tagging runs the classifier and the face detector (debug build, shared CI machine).
const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn a_portrait_gets_person_and_face_labels_with_boxes() {
    let app = spawn_app().await;
    let token = app.user("alice").await;
    let (id, status) = app
        .upload(&token, fixture("grace_hopper.jpg"), "image/jpeg")
        .await;
    assert_eq!(status, 204);
    app.wait_tagged(&token, &id, WAIT).await;
    let img = app.get_json(&format!("/images/{id}"), &token).await;
    let t = tags(&img);
    for want in ["person", "face", "portrait"] {
        assert!(t.contains(&want.to_string()), "no {want} in {t:?}");
    }
    let labels = img["labels"].as_array().unwrap();
    let label = |n: &str| -> &Value { labels.iter().find(|l| l["name"] == n).unwrap() };
    for name in ["face", "person"] {
        let boxes = label(name)["boxes"].as_array().unwrap();
        assert_eq!(boxes.len(), 1, "{name}: {boxes:?}");
        let b = &boxes[0];
        let f = |k: &str| b[k].as_f64().unwrap();
        // Grace Hopper's face: upper middle of the photo, about a third of its height.
        assert!((0.25..0.75).contains(&(f("x") + f("w") / 2.0)), "{b}");
        assert!((0.1..0.5).contains(&(f("y") + f("h") / 2.0)), "{b}");
        assert!((0.15..0.5).contains(&f("h")), "{b}");
    }
    assert!(
        label("portrait").get("boxes").is_none(),
        "whole-image label has no boxes"
    );
    // The listing shows the same boxes.
    let list = app.get_json("/images", &token).await;
    let listed = &list["images"][0]["labels"];
    let face = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "face")
        .unwrap();
    assert_eq!(face["boxes"], label("face")["boxes"]);
}

#[tokio::test]
async fn the_openapi_description_documents_label_boxes() {
    let app = spawn_app().await;
    let r = app
        .client
        .get(format!("{}/openapi.json", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let spec: Value = r.json().await.unwrap();
    let schemas = &spec["components"]["schemas"];
    let boxes = &schemas["LabelView"]["properties"]["boxes"];
    assert_eq!(boxes["type"], "array", "{boxes}");
    assert!(
        boxes["items"]["$ref"]
            .as_str()
            .unwrap()
            .ends_with("/BoxView"),
        "{boxes}"
    );
    let required = schemas["LabelView"]["required"].as_array().unwrap();
    assert!(
        !required.contains(&Value::from("boxes")),
        "boxes is omitted when empty"
    );
    for k in ["x", "y", "w", "h"] {
        assert_eq!(schemas["BoxView"]["properties"][k]["type"], "number", "{k}");
    }
}
