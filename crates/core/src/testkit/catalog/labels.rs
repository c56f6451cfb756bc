//! Catalog checks: auto and manual labels, and exact tag counts.

use std::sync::Arc;

use super::*;

pub(super) async fn set_auto_labels_replaces_and_is_idempotent(c: Arc<dyn Catalog>) {
    let alice = owner("alice");
    let id = add_tagged(&c, &alice, &[("animal", 0.8), ("cat", 0.9)]).await;
    let img = get(&c, &alice, &id).await;
    assert_eq!(img.status, ImageStatus::Tagged);
    assert_eq!(
        img.tags(),
        vec!["cat", "animal"],
        "labels sorted by confidence"
    );
    assert!((img.labels[0].confidence - 0.9).abs() < 1e-6);
    assert_eq!(img.labels[0].source, LabelSource::Auto);

    let dog = [Label::auto(tag("dog"), 0.7)];
    assert!(c.set_auto_labels(&alice, &id, &dog).await.unwrap());
    let once = get(&c, &alice, &id).await;
    assert_eq!(once.tags(), vec!["dog"]);
    assert!(c.set_auto_labels(&alice, &id, &dog).await.unwrap());
    let twice = get(&c, &alice, &id).await;
    assert_eq!((twice.status, &twice.labels), (once.status, &once.labels));
    assert_eq!(counts(&c, &alice).await, pairs(&[("dog", 1)]));
    // Empty labels: tagged, nothing left.
    assert!(c.set_auto_labels(&alice, &id, &[]).await.unwrap());
    let img = get(&c, &alice, &id).await;
    assert_eq!((img.status, img.labels.len()), (ImageStatus::Tagged, 0));
    assert!(counts(&c, &alice).await.is_empty());
}

pub(super) async fn manual_label_survives_retag(c: Arc<dyn Catalog>) {
    let alice = owner("alice");
    let id = add_tagged(&c, &alice, &[("cat", 0.9)]).await;
    assert!(c.add_manual_label(&alice, &id, &tag("pet")).await.unwrap());
    let auto = [Label::auto(tag("pet"), 0.3), Label::auto(tag("dog"), 0.6)];
    assert!(c.set_auto_labels(&alice, &id, &auto).await.unwrap());
    let img = get(&c, &alice, &id).await;
    assert_eq!(
        label_set(&img),
        [("pet".to_string(), "manual"), ("dog".to_string(), "auto")].into()
    );
    let pet = img
        .labels
        .iter()
        .find(|l| l.name.as_str() == "pet")
        .unwrap();
    assert_eq!(pet.confidence, 1.0);
    assert_eq!(counts(&c, &alice).await, pairs(&[("dog", 1), ("pet", 1)]));
}

pub(super) async fn add_manual_upgrades_auto(c: Arc<dyn Catalog>) {
    let alice = owner("alice");
    let id = add_tagged(&c, &alice, &[("cat", 0.4)]).await;
    assert!(c.add_manual_label(&alice, &id, &tag("cat")).await.unwrap());
    // Twice is the same as once.
    assert!(c.add_manual_label(&alice, &id, &tag("cat")).await.unwrap());
    let img = get(&c, &alice, &id).await;
    assert_eq!(img.labels, vec![Label::manual(tag("cat"))]);
    assert_eq!(counts(&c, &alice).await, pairs(&[("cat", 1)]));
}

pub(super) async fn remove_label_removes_any_source(c: Arc<dyn Catalog>) {
    let alice = owner("alice");
    let id = add_tagged(&c, &alice, &[("cat", 0.9), ("animal", 0.8)]).await;
    assert!(c.add_manual_label(&alice, &id, &tag("pet")).await.unwrap());
    assert!(c.remove_label(&alice, &id, &tag("cat")).await.unwrap());
    assert!(c.remove_label(&alice, &id, &tag("pet")).await.unwrap());
    // Removing a label the image does not have is fine and changes nothing.
    assert!(c.remove_label(&alice, &id, &tag("zebra")).await.unwrap());
    assert_eq!(get(&c, &alice, &id).await.tags(), vec!["animal"]);
    assert_eq!(counts(&c, &alice).await, pairs(&[("animal", 1)]));
}

pub(super) async fn counts_exact_through_changes(c: Arc<dyn Catalog>) {
    let o = owner("alice");
    let a = add_tagged(&c, &o, &[("cat", 0.9), ("animal", 0.8)]).await;
    let b = add_tagged(&c, &o, &[("dog", 0.9), ("animal", 0.8)]).await;
    let _ = add_tagged(&c, &o, &[("cat", 0.7)]).await;
    add_tagged(&c, &owner("bob"), &[("cat", 0.9)]).await;
    assert_eq!(
        counts(&c, &o).await,
        pairs(&[("animal", 2), ("cat", 2), ("dog", 1)])
    );
    assert!(c.delete_image(&o, &b).await.unwrap());
    assert_eq!(counts(&c, &o).await, pairs(&[("cat", 2), ("animal", 1)]));
    // Re-tag: old auto labels leave no orphans.
    assert!(c
        .set_auto_labels(&o, &a, &[Label::auto(tag("lion"), 0.6)])
        .await
        .unwrap());
    assert_eq!(counts(&c, &o).await, pairs(&[("cat", 1), ("lion", 1)]));
    assert!(c.add_manual_label(&o, &a, &tag("cat")).await.unwrap());
    assert_eq!(counts(&c, &o).await, pairs(&[("cat", 2), ("lion", 1)]));
    assert!(c.remove_label(&o, &a, &tag("lion")).await.unwrap());
    assert_eq!(counts(&c, &o).await, pairs(&[("cat", 2)]));
    // Re-upload drops auto labels but keeps the manual one.
    let again = NewImage {
        id: a.clone(),
        ..new_image(&o)
    };
    c.upsert_image(&again).await.unwrap();
    assert_eq!(counts(&c, &o).await, pairs(&[("cat", 2)]));
    assert!(c.delete_image(&o, &a).await.unwrap());
    assert_eq!(counts(&c, &o).await, pairs(&[("cat", 1)]));
    assert_eq!(counts(&c, &owner("bob")).await, pairs(&[("cat", 1)]));
}

pub(super) async fn counts_order_limit_and_prefix(c: Arc<dyn Catalog>) {
    let o = owner("alice");
    add_tagged(&c, &o, &[("cat", 0.9), ("car", 0.5), ("scat", 0.1)]).await;
    add_tagged(&c, &o, &[("cat", 0.9), ("dog", 0.5)]).await;
    add_tagged(&c, &o, &[("bird", 0.9), ("dog", 0.5), ("cat", 0.2)]).await;
    add_tagged(&c, &owner("bob"), &[("cab", 0.9)]).await;
    // Count descending, then name ascending.
    assert_eq!(
        counts(&c, &o).await,
        pairs(&[("cat", 3), ("dog", 2), ("bird", 1), ("car", 1), ("scat", 1)])
    );
    let top = c.tag_counts(&o, None, 2).await.unwrap();
    assert_eq!(
        top,
        vec![
            TagCount {
                name: tag("cat"),
                count: 3
            },
            TagCount {
                name: tag("dog"),
                count: 2
            }
        ]
    );
    let ca: Vec<String> = c
        .tag_counts(&o, Some("ca"), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect();
    assert_eq!(ca, vec!["cat", "car"]);
    assert!(c.tag_counts(&o, Some("zz"), 100).await.unwrap().is_empty());
    // A prefix with LIKE wildcards matches literally.
    assert!(c.tag_counts(&o, Some("c_t"), 100).await.unwrap().is_empty());
    assert!(c.tag_counts(&o, Some("%"), 100).await.unwrap().is_empty());
}
