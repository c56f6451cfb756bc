//! People tags through the API: an uploaded portrait ends up with a `face` label whose box
//! locates the face and a `person` label boxing the body; people far away (no face) are
//! `person` with one box each and a `count`, and `people`; whole-image labels carry no `boxes`.

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
    let one_box = |name: &str| -> Value {
        let boxes = label(name)["boxes"].as_array().unwrap();
        assert_eq!(boxes.len(), 1, "{name}: {boxes:?}");
        assert_eq!(label(name)["count"], 1, "{name}");
        boxes[0].clone()
    };
    let (face, body) = (one_box("face"), one_box("person"));
    let f = |b: &Value, k: &str| b[k].as_f64().unwrap();
    // Grace Hopper's face: upper middle of the photo, about a third of its height.
    assert!(
        (0.25..0.75).contains(&(f(&face, "x") + f(&face, "w") / 2.0)),
        "{face}"
    );
    assert!(
        (0.1..0.5).contains(&(f(&face, "y") + f(&face, "h") / 2.0)),
        "{face}"
    );
    assert!((0.15..0.5).contains(&f(&face, "h")), "{face}");
    // `person` is boxed by the object detector: the whole body, face included.
    assert!(f(&body, "h") > 2.0 * f(&face, "h"), "{body} vs {face}");
    assert!(
        f(&body, "x") <= f(&face, "x") && f(&body, "y") <= f(&face, "y") + 0.05,
        "{body}"
    );
    assert!(
        label("portrait").get("boxes").is_none() && label("portrait").get("count").is_none(),
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
async fn people_without_faces_are_counted_with_a_box_each() {
    let app = spawn_app().await;
    let token = app.user("bob").await;
    let (id, status) = app
        .upload(&token, fixture("people-far.jpg"), "image/jpeg")
        .await;
    assert_eq!(status, 204);
    app.wait_tagged(&token, &id, WAIT).await;
    let img = app.get_json(&format!("/images/{id}"), &token).await;
    let t = tags(&img);
    assert!(
        t.contains(&"person".to_string()) && t.contains(&"people".to_string()),
        "{t:?}"
    );
    let labels = img["labels"].as_array().unwrap();
    let person = labels.iter().find(|l| l["name"] == "person").unwrap();
    let boxes = person["boxes"].as_array().unwrap();
    assert!(boxes.len() >= 2, "{person}");
    assert_eq!(person["count"], boxes.len(), "{person}");
    // Searching finds it by what the detector saw.
    let found = app.get_json("/images?tags=person,people", &token).await;
    assert_eq!(found["images"][0]["id"], id.as_str(), "{found}");
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
