//! `Catalog::version` on PostgreSQL (migration 7): a counter per owner that triggers move in
//! the writing transaction, so another instance's write, or a tool's outside imgtag, moves
//! what this instance reads; a bulk import moves it once per statement, not once per row; and
//! writers landing on several owners at once never deadlock on the counters.

use std::sync::Arc;

use chrono::Utc;
use imgtag_core::{
    BlobKey, Catalog, Image, ImageId, ImageQuery, ImageStatus, Label, NewImage, Owner, TagName,
};
use imgtag_postgres::testing::pg_url;
use imgtag_postgres::testing_sql::{exec, scalar};

use crate::Schemas;

fn owner(s: &str) -> Owner {
    Owner::parse(s).unwrap()
}

fn tag(s: &str) -> TagName {
    TagName::parse(s).unwrap()
}

fn new_image(o: &Owner) -> NewImage {
    let id = ImageId::new();
    NewImage {
        blob_key: BlobKey::for_image(o, &id),
        id,
        owner: o.clone(),
        name: "cat.jpg".into(),
        content_type: "image/jpeg".into(),
        size: 10,
        width: None,
        height: None,
        sha256: "ab".repeat(32),
        created_at: Utc::now(),
    }
}

fn record(o: &Owner, labels: &[&str]) -> Image {
    let id = ImageId::new();
    Image {
        blob_key: BlobKey::for_image(o, &id),
        id,
        owner: o.clone(),
        name: "x.jpg".into(),
        content_type: "image/jpeg".into(),
        size: 1,
        width: None,
        height: None,
        sha256: "cd".repeat(32),
        status: ImageStatus::Tagged,
        failure_reason: None,
        labels: labels.iter().map(|l| Label::auto(tag(l), 0.8)).collect(),
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}

async fn v(c: &dyn Catalog, o: &Owner) -> u64 {
    c.version(o)
        .await
        .unwrap()
        .expect("PostgreSQL knows its version")
}

#[tokio::test]
async fn writes_from_anywhere_move_the_version() {
    let Some(url) = pg_url() else { return };
    let schemas = Schemas::new(&url);
    let s = schemas.name();
    let (db_a, db_b) = (schemas.open(&s).await, schemas.open(&s).await);
    let (a, b) = (db_a.catalog(), db_b.catalog());
    let (alice, bob) = (owner("alice"), owner("bob"));
    // No row yet: 0, a number all the same (answers before the first write may be reused).
    assert_eq!(a.version(&alice).await.unwrap(), Some(0));

    // Another instance (its own pool) writes; this one sees the move at once.
    let img = new_image(&alice);
    b.upsert_image(&img).await.unwrap();
    let v1 = v(&a, &alice).await;
    assert_ne!(v1, 0);
    b.set_auto_labels(&alice, &img.id, &[Label::auto(tag("cat"), 0.9)])
        .await
        .unwrap();
    let v2 = v(&a, &alice).await;
    assert_ne!(v2, v1);
    // The counter is per owner: bob's answers stay reusable.
    assert_eq!(v(&a, &bob).await, 0);

    // A write outside imgtag, from a session whose search_path does not hold the schema
    // (the trigger finds its table all the same), also moves it, when it commits.
    exec(
        &db_a,
        &format!(
            "BEGIN; SET LOCAL search_path TO pg_catalog;
             UPDATE \"{s}\".labels SET confidence = 0.5 WHERE owner = 'alice';
             COMMIT;"
        ),
    )
    .await
    .unwrap();
    let v3 = v(&a, &alice).await;
    assert_ne!(v3, v2);
    // Reads and writes that change no row leave it alone.
    let page = ImageQuery {
        limit: 50,
        ..Default::default()
    };
    a.list_images(&alice, &page).await.unwrap();
    a.tag_counts(&alice, None, 100).await.unwrap();
    assert!(!a
        .mark_failed(&alice, &ImageId::new(), "gone")
        .await
        .unwrap());
    assert_eq!(v(&b, &alice).await, v3);
    schemas.cleanup().await;
}

#[tokio::test]
async fn a_bulk_import_moves_the_version_once_per_statement() {
    let Some(url) = pg_url() else { return };
    let schemas = Schemas::new(&url);
    let db = schemas.fresh().await;
    let c = db.catalog();
    let (alice, bob) = (owner("alice"), owner("bob"));
    let batch: Vec<Image> = (0..200)
        .map(|i| record(if i % 2 == 0 { &alice } else { &bob }, &["cat", "pet"]))
        .collect();
    assert_eq!(c.put_records(&batch).await.unwrap(), 200);
    // One INSERT into images and one into labels, each moving each owner's counter once:
    // statement-level triggers, not 300 upserts per owner.
    assert_eq!(v(&c, &alice).await, 2);
    assert_eq!(v(&c, &bob).await, 2);
    // Images without labels: the labels statement is not even sent.
    c.put_records(&[record(&alice, &[])]).await.unwrap();
    assert_eq!(v(&c, &alice).await, 3);
    assert_eq!(v(&c, &bob).await, 2);
    let rows = scalar(&db, "SELECT count(*) FROM catalog_versions")
        .await
        .unwrap();
    assert_eq!(rows, 2);
    schemas.cleanup().await;
}

#[tokio::test]
async fn writers_on_several_owners_at_once_do_not_deadlock() {
    let Some(url) = pg_url() else { return };
    let schemas = Schemas::new(&url);
    let s = schemas.name();
    let catalogs: [Arc<dyn Catalog>; 2] = [
        Arc::new(schemas.open(&s).await.catalog()),
        Arc::new(schemas.open(&s).await.catalog()),
    ];
    let owners: Vec<Owner> = ["ann", "ben", "cat", "dan"].map(owner).to_vec();
    // Four writers, each importing batches that span every owner, listed in its own order,
    // while relabelling its images one by one: every counter is locked by several writers
    // at once, in whatever order their rows come.
    let writers = (0..4).map(|w| {
        let c = catalogs[w % 2].clone();
        let mut order = owners.clone();
        order.rotate_left(w);
        if w % 2 == 1 {
            order.reverse();
        }
        tokio::spawn(async move {
            for round in 0..15 {
                let batch: Vec<Image> = order.iter().map(|o| record(o, &["a", "b"])).collect();
                c.put_records(&batch).await.expect("import");
                let o = &order[round % order.len()];
                let id = &batch[round % batch.len()].id;
                let labels = [Label::auto(tag("c"), 0.7)];
                c.set_auto_labels(o, id, &labels).await.expect("relabel");
            }
        })
    });
    for r in futures::future::join_all(writers).await {
        r.unwrap();
    }
    for o in &owners {
        assert!(v(catalogs[0].as_ref(), o).await > 0);
    }
    schemas.cleanup().await;
}
