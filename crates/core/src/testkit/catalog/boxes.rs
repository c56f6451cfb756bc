//! Catalog check: label boxes (where a detector found a `face`) are kept with the label.

use std::sync::Arc;

use super::*;
use crate::BBox;

fn close(a: &[BBox], b: &[BBox]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(p, q)| {
            [(p.x, q.x), (p.y, q.y), (p.w, q.w), (p.h, q.h)]
                .iter()
                .all(|(u, v)| (u - v).abs() < 1e-6)
        })
}

pub(super) async fn label_boxes_round_trip(c: Arc<dyn Catalog>) {
    let alice = owner("alice");
    let img = add(&c, &alice).await;
    let boxes = vec![
        BBox {
            x: 0.1,
            y: 0.2,
            w: 0.25,
            h: 0.3,
        },
        BBox {
            x: 0.6,
            y: 0.05,
            w: 0.125,
            h: 0.15,
        },
    ];
    let face = Label {
        boxes: boxes.clone(),
        ..Label::auto(tag("face"), 0.9)
    };
    let labels = [face, Label::auto(tag("cat"), 0.4)];
    assert!(c.set_auto_labels(&alice, &img.id, &labels).await.unwrap());
    let got = get(&c, &alice, &img.id).await;
    let by_name = |i: &Image, n: &str| i.labels.iter().find(|l| l.name.as_str() == n).cloned();
    let f = by_name(&got, "face").expect("face label");
    assert!(close(&f.boxes, &boxes), "get_image: {:?}", f.boxes);
    assert!(by_name(&got, "cat").unwrap().boxes.is_empty());
    // Listing returns the same labels as get.
    let q = ImageQuery {
        limit: 10,
        ..ImageQuery::default()
    };
    let page = c.list_images(&alice, &q).await.unwrap();
    let listed = page.images.iter().find(|i| i.id == img.id).unwrap();
    assert!(
        close(&by_name(listed, "face").unwrap().boxes, &boxes),
        "list_images"
    );
    // Re-tagging without boxes leaves none behind.
    let plain = [Label::auto(tag("face"), 0.8)];
    assert!(c.set_auto_labels(&alice, &img.id, &plain).await.unwrap());
    let again = get(&c, &alice, &img.id).await;
    assert!(by_name(&again, "face").unwrap().boxes.is_empty());
}
