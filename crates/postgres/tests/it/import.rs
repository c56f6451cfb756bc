//! `put_records` on PostgreSQL writes a whole batch in one transaction (one statement per
//! table): the tag counters it moves must equal a recount of the labels, also with batches
//! of several owners landing at once, and an id another owner holds must store nothing.

use chrono::{Duration, Utc};
use imgtag_core::{BlobKey, Catalog, Error, Image, ImageId, ImageStatus, Label, Owner, TagName};
use imgtag_postgres::testing::pg_url;
use imgtag_postgres::testing_sql::pairs;
use imgtag_postgres::PgDb;

use crate::Schemas;

fn owner(s: &str) -> Owner {
    Owner::parse(s).unwrap()
}

/// Image `i`: 2-4 labels, one of them named twice (the first entry is kept), every 5th manual.
fn image(o: &Owner, i: usize) -> Image {
    let id = ImageId::new();
    let tag = |n: usize| TagName::parse(&format!("tag-{n}")).unwrap();
    let mut labels = vec![
        Label::auto(tag(i % 7), 0.9),
        Label::auto(tag(10 + i % 3), 0.6),
    ];
    if i.is_multiple_of(5) {
        labels.push(Label::manual(tag(20)));
    }
    labels.push(Label::auto(tag(i % 7), 0.4));
    let created = Utc::now() - Duration::minutes(i as i64);
    Image {
        blob_key: BlobKey::for_image(o, &id),
        id,
        owner: o.clone(),
        name: format!("p{i}.jpg"),
        content_type: "image/jpeg".into(),
        size: 100,
        width: Some(40),
        height: None,
        sha256: format!("{i:064x}"),
        status: ImageStatus::Tagged,
        failure_reason: None,
        labels,
        created_at: created,
        updated_at: created,
    }
}

/// `tag_counts` as kept, and as recounted from the labels: "owner tag" -> images.
async fn kept_and_recounted(db: &PgDb) -> (Vec<(String, i64)>, Vec<(String, i64)>) {
    let kept = pairs(
        db,
        "SELECT owner || ' ' || name, n FROM tag_counts ORDER BY 1",
    )
    .await
    .unwrap();
    let recount = pairs(
        db,
        "SELECT owner || ' ' || name, count(*) FROM labels GROUP BY owner, name ORDER BY 1",
    )
    .await
    .unwrap();
    (kept, recount)
}

#[tokio::test]
async fn a_batch_moves_the_counts_by_exactly_its_labels() {
    let Some(url) = pg_url() else { return };
    let schemas = Schemas::new(&url);
    let db = schemas.fresh().await;
    let c = db.catalog();
    let (alice, bob) = (owner("alice"), owner("bob"));
    let pick = |i: usize| if i.is_multiple_of(3) { &bob } else { &alice };
    let first: Vec<Image> = (0..300).map(|i| image(pick(i), i)).collect();
    assert_eq!(c.put_records(&first).await.unwrap(), 300);

    // A re-run with new images mixed in stores the new ones, a repeated id once.
    let more: Vec<Image> = (300..400).map(|i| image(pick(i), i)).collect();
    let mut batch = first[..50].to_vec();
    batch.extend(more.iter().cloned());
    batch.push(more[0].clone());
    assert_eq!(c.put_records(&batch).await.unwrap(), 100);
    let (kept, recount) = kept_and_recounted(&db).await;
    assert_eq!(kept, recount);
    // 400 images, every one with `tag-{i % 7}` once although it is named twice.
    let tag0: i64 = kept
        .iter()
        .filter(|(k, _)| k.ends_with(" tag-0"))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(tag0, (0..400).filter(|i| i % 7 == 0).count() as i64);
    let got = c.get_image(&alice, &first[1].id).await.unwrap().unwrap();
    assert_eq!(got.labels.len(), 2);
    assert_eq!(
        got.labels[0].confidence, 0.9,
        "the first of a repeated name is kept"
    );

    // An id bob holds, in alice's batch: nothing of that batch is stored.
    let new = image(&alice, 1000);
    let stolen = Image {
        owner: alice.clone(),
        ..first[0].clone()
    };
    let r = c.put_records(&[new.clone(), stolen]).await;
    assert!(matches!(r, Err(Error::Conflict(_))), "{r:?}");
    assert!(c.get_image(&alice, &new.id).await.unwrap().is_none());
    assert_eq!(kept_and_recounted(&db).await.0, kept);
    schemas.cleanup().await;
}

#[tokio::test]
async fn batches_of_several_owners_at_once_keep_exact_counts() {
    let Some(url) = pg_url() else { return };
    let schemas = Schemas::new(&url);
    let s = schemas.name();
    let owners = [owner("alice"), owner("bob"), owner("carol")];
    // Two instances, each importing batches that touch every owner, in opposite orders.
    let mut tasks = Vec::new();
    for instance in 0..2 {
        let c = schemas.open(&s).await.catalog();
        let owners = owners.clone();
        tasks.push(tokio::spawn(async move {
            for b in 0..8 {
                let batch: Vec<Image> = (0..60)
                    .map(|i| {
                        let k = if instance == 0 { i % 3 } else { 2 - i % 3 };
                        image(&owners[k], b * 60 + i)
                    })
                    .collect();
                assert_eq!(c.put_records(&batch).await.unwrap(), 60);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let db = schemas.open(&s).await;
    let (kept, recount) = kept_and_recounted(&db).await;
    assert_eq!(kept, recount);
    let images = pairs(
        &db,
        "SELECT owner, count(*) FROM images GROUP BY 1 ORDER BY 1",
    )
    .await
    .unwrap();
    let want: Vec<(String, i64)> = owners.iter().map(|o| (o.to_string(), 320)).collect();
    assert_eq!(images, want);
    schemas.cleanup().await;
}
