//! Catalog checks: one image's life (insert, upsert, conflict, status, delete, isolation).

use std::sync::Arc;

use super::*;

pub(super) async fn upsert_then_get_round_trips(c: Arc<dyn Catalog>) {
    let alice = owner("alice");
    let img = add(&c, &alice).await;
    let got = get(&c, &alice, &img.id).await;
    assert_eq!(got.id, img.id);
    assert_eq!(got.owner, alice);
    assert_eq!(got.name, img.name);
    assert_eq!(got.blob_key, img.blob_key);
    assert_eq!(got.content_type, img.content_type);
    assert_eq!(
        (got.size, got.width, got.height),
        (1234, Some(640), Some(480))
    );
    assert_eq!(got.sha256, img.sha256);
    assert_eq!(got.status, ImageStatus::Pending);
    assert_eq!(got.failure_reason, None);
    assert!(got.labels.is_empty());
    assert_eq!(
        got.created_at.timestamp_millis(),
        img.created_at.timestamp_millis()
    );
    // Unknown dimensions stay unknown.
    let mut bare = new_image(&alice);
    (bare.width, bare.height) = (None, None);
    c.upsert_image(&bare).await.unwrap();
    let got = get(&c, &alice, &bare.id).await;
    assert_eq!((got.width, got.height), (None, None));
}

pub(super) async fn owners_are_isolated(c: Arc<dyn Catalog>) {
    let (alice, bob) = (owner("alice"), owner("bob"));
    let id = add_tagged(&c, &alice, &[("cat", 0.9)]).await;
    let cat = tag("cat");
    assert!(c.get_image(&bob, &id).await.unwrap().is_none());
    assert!(!c.delete_image(&bob, &id).await.unwrap());
    assert!(!c
        .set_auto_labels(&bob, &id, &[Label::auto(tag("dog"), 0.5)])
        .await
        .unwrap());
    assert!(!c.mark_failed(&bob, &id, "x").await.unwrap());
    assert!(!c.mark_pending(&bob, &id).await.unwrap());
    assert!(!c.add_manual_label(&bob, &id, &tag("dog")).await.unwrap());
    assert!(!c.remove_label(&bob, &id, &cat).await.unwrap());
    assert!(ids(&c, &bob, ImageQuery::default()).await.is_empty());
    let q = ImageQuery {
        all_tags: vec![cat.clone()],
        ..Default::default()
    };
    assert!(ids(&c, &bob, q).await.is_empty());
    assert!(counts(&c, &bob).await.is_empty());
    // Nothing bob did touched alice's image.
    let img = get(&c, &alice, &id).await;
    assert_eq!(img.status, ImageStatus::Tagged);
    assert_eq!(img.tags(), vec!["cat"]);
    assert_eq!(counts(&c, &alice).await, pairs(&[("cat", 1)]));
}

pub(super) async fn id_of_another_owner_conflicts(c: Arc<dyn Catalog>) {
    let (alice, bob) = (owner("alice"), owner("bob"));
    let img = add(&c, &alice).await;
    let theft = NewImage {
        owner: bob.clone(),
        name: "mine.jpg".into(),
        ..img.clone()
    };
    match c.upsert_image(&theft).await {
        Err(Error::Conflict(_)) => {}
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(get(&c, &alice, &img.id).await.name, "cat.jpg");
    assert!(c.get_image(&bob, &img.id).await.unwrap().is_none());
}

pub(super) async fn upsert_existing_resets_but_keeps_manual(c: Arc<dyn Catalog>) {
    let alice = owner("alice");
    let img = add(&c, &alice).await;
    let auto = [
        Label::auto(tag("cat"), 0.9),
        Label::auto(tag("animal"), 0.8),
    ];
    assert!(c.set_auto_labels(&alice, &img.id, &auto).await.unwrap());
    assert!(c
        .add_manual_label(&alice, &img.id, &tag("favourite"))
        .await
        .unwrap());
    assert!(c.mark_failed(&alice, &img.id, "boom").await.unwrap());
    let again = NewImage {
        name: "new.png".into(),
        size: 99,
        content_type: "image/png".into(),
        ..img.clone()
    };
    c.upsert_image(&again).await.unwrap();
    let got = get(&c, &alice, &img.id).await;
    assert_eq!(
        (got.name.as_str(), got.size, got.content_type.as_str()),
        ("new.png", 99, "image/png")
    );
    assert_eq!(got.status, ImageStatus::Pending);
    assert_eq!(got.failure_reason, None);
    assert_eq!(
        label_set(&got),
        [("favourite".to_string(), "manual")].into()
    );
    assert_eq!(counts(&c, &alice).await, pairs(&[("favourite", 1)]));
    assert_eq!(ids(&c, &alice, ImageQuery::default()).await.len(), 1);
}

pub(super) async fn absent_image_gives_false_or_none(c: Arc<dyn Catalog>) {
    let alice = owner("alice");
    let id = ImageId::new();
    assert!(c.get_image(&alice, &id).await.unwrap().is_none());
    assert!(!c.delete_image(&alice, &id).await.unwrap());
    assert!(!c
        .set_auto_labels(&alice, &id, &[Label::auto(tag("cat"), 0.9)])
        .await
        .unwrap());
    assert!(!c.mark_failed(&alice, &id, "x").await.unwrap());
    assert!(!c.mark_pending(&alice, &id).await.unwrap());
    assert!(!c.add_manual_label(&alice, &id, &tag("cat")).await.unwrap());
    assert!(!c.remove_label(&alice, &id, &tag("cat")).await.unwrap());
    // None of that created anything.
    assert!(c.get_image(&alice, &id).await.unwrap().is_none());
    assert!(ids(&c, &alice, ImageQuery::default()).await.is_empty());
    assert!(counts(&c, &alice).await.is_empty());
}

pub(super) async fn status_transitions(c: Arc<dyn Catalog>) {
    let alice = owner("alice");
    let img = add(&c, &alice).await;
    assert!(c
        .mark_failed(&alice, &img.id, "truncated JPEG")
        .await
        .unwrap());
    let got = get(&c, &alice, &img.id).await;
    assert_eq!(got.status, ImageStatus::Failed);
    assert_eq!(got.failure_reason.as_deref(), Some("truncated JPEG"));
    assert!(c.mark_pending(&alice, &img.id).await.unwrap());
    let got = get(&c, &alice, &img.id).await;
    assert_eq!(
        (got.status, got.failure_reason),
        (ImageStatus::Pending, None)
    );
    assert!(c.mark_failed(&alice, &img.id, "again").await.unwrap());
    assert!(c
        .set_auto_labels(&alice, &img.id, &[Label::auto(tag("cat"), 0.5)])
        .await
        .unwrap());
    let got = get(&c, &alice, &img.id).await;
    assert_eq!(
        (got.status, got.failure_reason),
        (ImageStatus::Tagged, None)
    );
}

pub(super) async fn delete_removes_image_and_labels(c: Arc<dyn Catalog>) {
    let o = owner("alice");
    let id = add_tagged(&c, &o, &[("cat", 0.9)]).await;
    assert!(c.add_manual_label(&o, &id, &tag("pet")).await.unwrap());
    assert!(c.delete_image(&o, &id).await.unwrap());
    assert!(
        !c.delete_image(&o, &id).await.unwrap(),
        "second delete finds nothing"
    );
    assert!(c.get_image(&o, &id).await.unwrap().is_none());
    assert!(counts(&c, &o).await.is_empty());
    let q = ImageQuery {
        any_tags: tags(&["cat", "pet"]),
        ..Default::default()
    };
    assert!(ids(&c, &o, q).await.is_empty());
}

pub(super) async fn find_by_sha256_per_owner(c: Arc<dyn Catalog>) {
    let (alice, bob) = (owner("alice"), owner("bob"));
    let mut a = new_image(&alice);
    a.sha256 = "0f".repeat(32);
    c.upsert_image(&a).await.unwrap();
    let other = add(&c, &alice).await;
    let found = c.find_by_sha256(&alice, &a.sha256).await.unwrap();
    assert_eq!(found.map(|i| i.id), Some(a.id.clone()));
    assert_eq!(
        c.find_by_sha256(&alice, &other.sha256)
            .await
            .unwrap()
            .map(|i| i.id),
        Some(other.id.clone())
    );
    assert!(c.find_by_sha256(&bob, &a.sha256).await.unwrap().is_none());
    assert!(c
        .find_by_sha256(&alice, &"11".repeat(32))
        .await
        .unwrap()
        .is_none());
    assert!(c.delete_image(&alice, &a.id).await.unwrap());
    assert!(c.find_by_sha256(&alice, &a.sha256).await.unwrap().is_none());
}
