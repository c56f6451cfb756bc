//! Catalog checks: `put_record`, which `imgtag migrate` uses to copy images as they are.

use std::sync::Arc;

use chrono::Duration;

use super::*;

/// An image as another catalog would hand it out: tagged a while ago, one manual label.
pub(super) fn record(o: &Owner) -> Image {
    let n = new_image(o);
    let created = now_ms() - Duration::days(3);
    Image {
        id: n.id,
        owner: n.owner,
        name: n.name,
        blob_key: n.blob_key,
        content_type: n.content_type,
        size: n.size,
        width: n.width,
        height: None,
        sha256: "cd".repeat(32),
        status: ImageStatus::Tagged,
        failure_reason: None,
        labels: vec![
            Label::manual(tag("pet")),
            Label::auto(tag("cat"), 0.875),
            Label::auto(tag("animal"), 0.5),
        ],
        created_at: created,
        updated_at: created + Duration::hours(5),
    }
}

fn assert_same(got: &Image, want: &Image) {
    assert_eq!(
        (&got.id, &got.owner, &got.name, &got.blob_key),
        (&want.id, &want.owner, &want.name, &want.blob_key)
    );
    assert_eq!(
        (&got.content_type, got.size, got.width, got.height),
        (&want.content_type, want.size, want.width, want.height)
    );
    assert_eq!(
        (&got.sha256, got.status, &got.failure_reason),
        (&want.sha256, want.status, &want.failure_reason)
    );
    let ms = |i: &Image| {
        (
            i.created_at.timestamp_millis(),
            i.updated_at.timestamp_millis(),
        )
    };
    assert_eq!(ms(got), ms(want), "timestamps kept");
    let labels = |i: &Image| -> Vec<(String, &'static str, f32)> {
        i.labels
            .iter()
            .map(|l| (l.name.to_string(), l.source.as_str(), l.confidence))
            .collect()
    };
    assert_eq!(labels(got), labels(want), "labels kept, by confidence");
}

pub(super) async fn put_record_keeps_everything(c: Arc<dyn Catalog>) {
    let alice = owner("alice");
    let tagged = record(&alice);
    let failed = Image {
        status: ImageStatus::Failed,
        failure_reason: Some("not an image".into()),
        labels: vec![Label::manual(tag("receipt"))],
        ..record(&alice)
    };
    let pending = Image {
        status: ImageStatus::Pending,
        labels: Vec::new(),
        ..record(&alice)
    };
    for img in [&tagged, &failed, &pending] {
        assert!(c.put_record(img).await.unwrap(), "stored");
        assert_same(&get(&c, &alice, &img.id).await, img);
    }
    assert_eq!(
        counts(&c, &alice).await,
        pairs(&[("animal", 1), ("cat", 1), ("pet", 1), ("receipt", 1)])
    );
    let q = ImageQuery {
        all_tags: tags(&["cat"]),
        ..Default::default()
    };
    assert_eq!(ids(&c, &alice, q).await, set(&[&tagged.id]));
    let found = c.find_by_sha256(&alice, &tagged.sha256).await.unwrap();
    assert!(found.is_some(), "found by hash");
    // Later writes treat it like any other image.
    assert!(c
        .remove_label(&alice, &tagged.id, &tag("cat"))
        .await
        .unwrap());
    assert_eq!(
        counts(&c, &alice).await,
        pairs(&[("animal", 1), ("pet", 1), ("receipt", 1)])
    );
}

pub(super) async fn put_record_again_changes_nothing(c: Arc<dyn Catalog>) {
    let (alice, bob) = (owner("alice"), owner("bob"));
    let img = record(&alice);
    assert!(c.put_record(&img).await.unwrap());
    let other = Image {
        name: "renamed.jpg".into(),
        status: ImageStatus::Pending,
        labels: vec![Label::auto(tag("dog"), 0.25)],
        ..img.clone()
    };
    assert!(!c.put_record(&other).await.unwrap(), "a re-run skips it");
    assert_same(&get(&c, &alice, &img.id).await, &img);
    assert_eq!(
        counts(&c, &alice).await,
        pairs(&[("animal", 1), ("cat", 1), ("pet", 1)])
    );
    // The id belongs to alice: bob's copy conflicts and stays invisible to him.
    let stolen = Image {
        owner: bob.clone(),
        ..img.clone()
    };
    assert!(matches!(
        c.put_record(&stolen).await,
        Err(Error::Conflict(_))
    ));
    assert!(c.get_image(&bob, &img.id).await.unwrap().is_none());
    assert!(counts(&c, &bob).await.is_empty());
}

pub(super) async fn put_records_stores_a_batch_like_put_record(c: Arc<dyn Catalog>) {
    let alice = owner("alice");
    let (a, b) = (record(&alice), record(&alice));
    assert!(c.put_record(&a).await.unwrap());
    let batch = [a.clone(), b.clone(), b.clone()];
    assert_eq!(
        c.put_records(&batch).await.unwrap(),
        1,
        "only b is new, once"
    );
    assert_same(&get(&c, &alice, &b.id).await, &b);
    assert_eq!(
        counts(&c, &alice).await,
        pairs(&[("animal", 2), ("cat", 2), ("pet", 2)])
    );
    assert_eq!(c.put_records(&[]).await.unwrap(), 0);
}
