//! Catalog check: `version` moves with every write an owner's answers depend on.

use std::sync::Arc;

use super::*;

/// Runs `write`, then asserts the owner's version is not what it was before.
async fn moves<Fut: std::future::Future>(
    c: &Arc<dyn Catalog>,
    o: &Owner,
    what: &str,
    write: impl FnOnce() -> Fut,
) {
    let before = c.version(o).await.unwrap();
    write().await;
    let after = c.version(o).await.unwrap();
    assert_ne!(before, after, "version did not move on {what}");
}

pub(super) async fn version_moves_on_every_write(c: Arc<dyn Catalog>) {
    let alice = owner("alice");
    // `None` is allowed (answers are then never reused); there is nothing more to check.
    if c.version(&alice).await.unwrap().is_none() {
        return;
    }
    let img = new_image(&alice);
    let id = img.id.clone();
    moves(&c, &alice, "upsert", || c.upsert_image(&img)).await;
    let labels = [Label::auto(tag("cat"), 0.9), Label::auto(tag("pet"), 0.6)];
    moves(&c, &alice, "set_auto_labels", || {
        c.set_auto_labels(&alice, &id, &labels)
    })
    .await;
    let cat = tag("cat");
    moves(&c, &alice, "add_manual_label", || {
        c.add_manual_label(&alice, &id, &cat)
    })
    .await;
    moves(&c, &alice, "remove_label", || {
        c.remove_label(&alice, &id, &cat)
    })
    .await;
    moves(&c, &alice, "mark_failed", || {
        c.mark_failed(&alice, &id, "no")
    })
    .await;
    moves(&c, &alice, "mark_pending", || c.mark_pending(&alice, &id)).await;
    moves(&c, &alice, "re-upload", || c.upsert_image(&img)).await;
    moves(&c, &alice, "delete", || c.delete_image(&alice, &id)).await;
    let mut rec = record(&alice);
    rec.labels = vec![Label::auto(tag("dog"), 0.8)];
    moves(&c, &alice, "put_record", || c.put_record(&rec)).await;
    let batch = [record(&alice), record(&alice)];
    moves(&c, &alice, "put_records", || c.put_records(&batch)).await;

    // Reads leave it alone, so reusing an answer is possible at all.
    let v = c.version(&alice).await.unwrap();
    ids(&c, &alice, ImageQuery::default()).await;
    counts(&c, &alice).await;
    assert_eq!(c.version(&alice).await.unwrap(), v);
}
