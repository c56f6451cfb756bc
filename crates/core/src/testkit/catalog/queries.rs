//! Catalog checks: tag filters, the confidence threshold, paging with cursors.

use std::sync::Arc;

use super::*;

/// a: cat+animal, b: dog+animal, c: cat, d: no labels.
pub(super) async fn zoo(c: &Arc<dyn Catalog>, o: &Owner) -> [ImageId; 4] {
    [
        add_tagged(c, o, &[("cat", 0.9), ("animal", 0.8)]).await,
        add_tagged(c, o, &[("dog", 0.9), ("animal", 0.8)]).await,
        add_tagged(c, o, &[("cat", 0.7)]).await,
        add(c, o).await.id,
    ]
}

pub(super) async fn query_all_tags(c: Arc<dyn Catalog>) {
    let o = owner("alice");
    let [a, b, cc, d] = zoo(&c, &o).await;
    let q = |t: &[&str]| ImageQuery {
        all_tags: tags(t),
        ..Default::default()
    };
    assert_eq!(ids(&c, &o, q(&["cat", "animal"])).await, set(&[&a]));
    assert_eq!(ids(&c, &o, q(&["animal"])).await, set(&[&a, &b]));
    assert_eq!(ids(&c, &o, q(&["cat"])).await, set(&[&a, &cc]));
    assert_eq!(ids(&c, &o, q(&["cat", "zebra"])).await, set(&[]));
    assert_eq!(ids(&c, &o, q(&[])).await, set(&[&a, &b, &cc, &d]));
}

pub(super) async fn query_any_tags(c: Arc<dyn Catalog>) {
    let o = owner("alice");
    let [a, b, cc, _] = zoo(&c, &o).await;
    let q = |t: &[&str]| ImageQuery {
        any_tags: tags(t),
        ..Default::default()
    };
    assert_eq!(ids(&c, &o, q(&["cat", "dog"])).await, set(&[&a, &b, &cc]));
    assert_eq!(ids(&c, &o, q(&["dog", "zebra"])).await, set(&[&b]));
    assert_eq!(ids(&c, &o, q(&["zebra"])).await, set(&[]));
    // AND with all_tags.
    let both = ImageQuery {
        all_tags: tags(&["animal"]),
        any_tags: tags(&["cat", "zebra"]),
        ..Default::default()
    };
    assert_eq!(ids(&c, &o, both).await, set(&[&a]));
}

pub(super) async fn query_not_tags(c: Arc<dyn Catalog>) {
    let o = owner("alice");
    let [a, b, cc, d] = zoo(&c, &o).await;
    let not = |t: &[&str]| ImageQuery {
        not_tags: tags(t),
        ..Default::default()
    };
    assert_eq!(ids(&c, &o, not(&["cat"])).await, set(&[&b, &d]));
    assert_eq!(ids(&c, &o, not(&["cat", "dog"])).await, set(&[&d]));
    assert_eq!(ids(&c, &o, not(&["zebra"])).await, set(&[&a, &b, &cc, &d]));
    let q = ImageQuery {
        all_tags: tags(&["animal"]),
        not_tags: tags(&["dog"]),
        ..Default::default()
    };
    assert_eq!(ids(&c, &o, q).await, set(&[&a]));
}

pub(super) async fn query_min_confidence(c: Arc<dyn Catalog>) {
    let o = owner("alice");
    let hi = add_tagged(&c, &o, &[("cat", 0.9)]).await;
    let lo = add_tagged(&c, &o, &[("cat", 0.3), ("dog", 0.95)]).await;
    let man = add(&c, &o).await.id;
    assert!(c.add_manual_label(&o, &man, &tag("cat")).await.unwrap());
    let q = |all: &[&str], any: &[&str], min: f32| ImageQuery {
        all_tags: tags(all),
        any_tags: tags(any),
        min_confidence: Some(min),
        ..Default::default()
    };
    assert_eq!(ids(&c, &o, q(&["cat"], &[], 0.5)).await, set(&[&hi, &man]));
    assert_eq!(ids(&c, &o, q(&[], &["cat"], 0.5)).await, set(&[&hi, &man]));
    assert_eq!(
        ids(&c, &o, q(&[], &["cat", "dog"], 0.5)).await,
        set(&[&hi, &lo, &man])
    );
    // The threshold itself counts.
    assert_eq!(
        ids(&c, &o, q(&["cat"], &[], 0.3)).await,
        set(&[&hi, &lo, &man])
    );
    assert_eq!(
        ids(&c, &o, q(&["cat"], &[], 0.0)).await,
        set(&[&hi, &lo, &man])
    );
    assert_eq!(ids(&c, &o, q(&["cat"], &[], 1.0)).await, set(&[&man]));
}

pub(super) async fn walk(
    c: &Arc<dyn Catalog>,
    o: &Owner,
    q: ImageQuery,
) -> (Vec<ImageId>, Vec<usize>) {
    let (mut seen, mut sizes) = (Vec::new(), Vec::new());
    let mut after: Option<Cursor> = None;
    loop {
        let page = c
            .list_images(
                o,
                &ImageQuery {
                    after: after.clone(),
                    ..q.clone()
                },
            )
            .await
            .unwrap();
        assert!(page.images.len() <= q.limit, "page longer than limit");
        sizes.push(page.images.len());
        seen.extend(page.images.iter().map(|i| i.id.clone()));
        match page.next {
            Some(next) => {
                assert_eq!(
                    Some(&next.0),
                    page.images.last().map(|i| &i.id),
                    "cursor ≠ last id"
                );
                // Round trip through the opaque form clients see.
                after = Some(Cursor::decode(&next.encode()).unwrap());
            }
            None => break,
        }
        assert!(sizes.len() < 100, "paging does not end");
    }
    (seen, sizes)
}

pub(super) async fn paging_covers_everything_once(c: Arc<dyn Catalog>) {
    let o = owner("alice");
    let mut all = Vec::new();
    for _ in 0..21 {
        all.push(add(&c, &o).await.id);
    }
    add(&c, &owner("bob")).await;
    all.sort();
    all.reverse();
    let (seen, sizes) = walk(
        &c,
        &o,
        ImageQuery {
            limit: 7,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(seen, all, "newest first, every image once");
    // 21 = 3 × 7: the third page is full and has no `next`.
    assert_eq!(sizes, vec![7, 7, 7]);
    let (seen, sizes) = walk(
        &c,
        &o,
        ImageQuery {
            limit: 5,
            ..Default::default()
        },
    )
    .await;
    assert_eq!((seen, sizes), (all.clone(), vec![5, 5, 5, 5, 1]));
    let (seen, sizes) = walk(
        &c,
        &o,
        ImageQuery {
            limit: 1000,
            ..Default::default()
        },
    )
    .await;
    assert_eq!((seen, sizes), (all, vec![21]));
}

pub(super) async fn paging_with_filters(c: Arc<dyn Catalog>) {
    let o = owner("alice");
    let mut even = Vec::new();
    for i in 0..16 {
        if i % 2 == 0 {
            even.push(add_tagged(&c, &o, &[("even", 0.9)]).await);
        } else {
            add_tagged(&c, &o, &[("odd", 0.9)]).await;
        }
    }
    even.sort();
    even.reverse();
    let q = ImageQuery {
        all_tags: tags(&["even"]),
        limit: 3,
        ..Default::default()
    };
    let (seen, sizes) = walk(&c, &o, q).await;
    assert_eq!(seen, even);
    assert_eq!(sizes, vec![3, 3, 2]);
    let q = ImageQuery {
        not_tags: tags(&["odd"]),
        limit: 4,
        ..Default::default()
    };
    assert_eq!(walk(&c, &o, q).await, (even, vec![4, 4]));
}

pub(super) async fn cursor_survives_deleted_image(c: Arc<dyn Catalog>) {
    let o = owner("alice");
    let mut all = Vec::new();
    for _ in 0..5 {
        all.push(add(&c, &o).await.id);
    }
    all.sort();
    all.reverse();
    let first = c
        .list_images(
            &o,
            &ImageQuery {
                limit: 2,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let next = first.next.expect("more pages");
    assert!(c.delete_image(&o, &next.0).await.unwrap());
    let rest = c
        .list_images(
            &o,
            &ImageQuery {
                limit: 10,
                after: Some(next),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let rest: Vec<ImageId> = rest.images.into_iter().map(|i| i.id).collect();
    assert_eq!(rest, all[2..].to_vec());
}
