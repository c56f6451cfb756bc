//! Several instances (each its own pool, as separate `imgtag serve` processes would have) on
//! one database: jobs are never handed out twice, a crashed instance's job moves on after its
//! lease, and concurrent label writes keep the tag counts exact without deadlocking.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use imgtag_core::{
    BlobKey, Catalog, Error, ImageId, ImageQuery, Job, JobQueue, Label, NewImage, Owner, TagName,
};
use imgtag_postgres::testing::pg_url;

use crate::Schemas;

const LEASE: Duration = Duration::from_secs(60);

fn owner(s: &str) -> Owner {
    Owner::parse(s).unwrap()
}

fn tag(s: &str) -> TagName {
    TagName::parse(s).unwrap()
}

fn job() -> Job {
    Job::TagImage {
        owner: owner("alice"),
        image: ImageId::new(),
    }
}

fn new_image(o: &Owner, id: &ImageId) -> NewImage {
    NewImage {
        id: id.clone(),
        owner: o.clone(),
        name: "cat.jpg".into(),
        blob_key: BlobKey::for_image(o, id),
        content_type: "image/jpeg".into(),
        size: 10,
        width: None,
        height: None,
        sha256: "ab".repeat(32),
        created_at: Utc::now(),
    }
}

#[tokio::test]
async fn two_instances_never_hold_the_same_job() {
    let Some(url) = pg_url() else { return };
    let schemas = Schemas::new(&url);
    let s = schemas.name();
    let (a, b) = (
        schemas.open(&s).await.queue(),
        schemas.open(&s).await.queue(),
    );
    let mut keys = BTreeSet::new();
    for _ in 0..60 {
        let j = job();
        keys.insert(j.key());
        a.enqueue(&j).await.unwrap();
    }
    // Every worker claims until nothing is due, completing nothing: all 60 leases are held at
    // once, so a job handed out twice would show up as a duplicate.
    let queues: [Arc<dyn JobQueue>; 2] = [Arc::new(a), Arc::new(b)];
    let workers = (0..6).map(|w| {
        let q = queues[w % 2].clone();
        tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(c) = q.claim(LEASE).await.unwrap() {
                got.push(c);
                tokio::task::yield_now().await;
            }
            (w % 2, got)
        })
    });
    let mut seen = Vec::new();
    for r in futures::future::join_all(workers).await {
        let (instance, got) = r.unwrap();
        for c in got {
            assert_eq!(c.attempt, 1);
            seen.push((instance, c));
        }
    }
    let unique: BTreeSet<String> = seen.iter().map(|(_, c)| c.job.key()).collect();
    assert_eq!(seen.len(), 60, "a job was handed out twice, or lost");
    assert_eq!(unique, keys);
    for (instance, c) in &seen {
        queues[*instance].complete(&c.id).await.unwrap();
    }
    assert_eq!(queues[0].pending().await.unwrap(), 0);
    schemas.cleanup().await;
}

#[tokio::test]
async fn expired_lease_is_taken_over_by_another_instance() {
    let Some(url) = pg_url() else { return };
    let schemas = Schemas::new(&url);
    let s = schemas.name();
    let (db_a, db_b) = (schemas.open(&s).await, schemas.open(&s).await);
    let (a, b) = (db_a.queue(), db_b.queue());
    let j = job();
    a.enqueue(&j).await.unwrap();
    let first = a.claim(Duration::from_millis(500)).await.unwrap().unwrap();
    // Instance A dies holding the job.
    db_a.close().await;
    match a.claim(LEASE).await {
        Err(Error::Unavailable(_)) => {}
        other => panic!("a closed pool is unavailable, got {other:?}"),
    }
    assert!(
        b.claim(LEASE).await.unwrap().is_none(),
        "the lease still holds"
    );
    assert_eq!(
        b.recover().await.unwrap(),
        0,
        "B must not release A's lease"
    );
    tokio::time::sleep(Duration::from_millis(900)).await;
    let again = b
        .claim(LEASE)
        .await
        .unwrap()
        .expect("taken over after the lease");
    assert_eq!((&again.job, again.attempt), (&j, 2));
    // A comes back and finishes its stale attempt: that must not touch B's.
    let a2 = schemas.open(&s).await.queue();
    a2.complete(&first.id).await.unwrap();
    a2.fail(&first.id, "stale").await.unwrap();
    a2.retry(&first.id, Duration::ZERO, "stale").await.unwrap();
    assert_eq!(b.pending().await.unwrap(), 1);
    assert!(
        a2.claim(LEASE).await.unwrap().is_none(),
        "still leased to B"
    );
    b.complete(&again.id).await.unwrap();
    assert_eq!(a2.pending().await.unwrap(), 0);
    assert!(a2.dead_letters().await.unwrap().is_empty());
    schemas.cleanup().await;
}

/// A small deterministic generator: the interleaving varies, the operations do not.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }
}

#[tokio::test]
async fn concurrent_label_writes_keep_counts_exact() {
    let Some(url) = pg_url() else { return };
    let schemas = Schemas::new(&url);
    let s = schemas.name();
    let cats: [Arc<dyn Catalog>; 2] = [
        Arc::new(schemas.open(&s).await.catalog()),
        Arc::new(schemas.open(&s).await.catalog()),
    ];
    let o = owner("alice");
    let mut ids = Vec::new();
    for _ in 0..6 {
        let id = ImageId::new();
        cats[0].upsert_image(&new_image(&o, &id)).await.unwrap();
        ids.push(id);
    }
    let names = ["animal", "cat", "dog", "pet", "sofa", "zebra"];
    // Each task writes overlapping label sets in its own order to images of one owner, from
    // both instances: the counter rows are contended; any deadlock would fail an operation.
    let tasks = (0..8u64).map(|t| {
        let (c, o, ids) = (cats[(t % 2) as usize].clone(), o.clone(), ids.clone());
        tokio::spawn(async move {
            let mut rng = Lcg(t + 1);
            for _ in 0..30 {
                let id = &ids[rng.next(ids.len())];
                let ok = match rng.next(5) {
                    0 => c.add_manual_label(&o, id, &tag(names[rng.next(6)])).await,
                    1 => c.remove_label(&o, id, &tag(names[rng.next(6)])).await,
                    2 => c.upsert_image(&new_image(&o, id)).await.map(|()| true),
                    _ => {
                        let labels: Vec<Label> = (0..rng.next(5))
                            .map(|_| Label::auto(tag(names[rng.next(6)]), 0.5))
                            .collect();
                        c.set_auto_labels(&o, id, &labels).await
                    }
                };
                assert!(ok.unwrap(), "image exists");
            }
        })
    });
    for r in futures::future::join_all(tasks).await {
        r.unwrap();
    }
    let page = cats[1]
        .list_images(
            &o,
            &ImageQuery {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for img in &page.images {
        for l in &img.labels {
            *expected.entry(l.name.to_string()).or_default() += 1;
        }
    }
    let got: BTreeMap<String, u64> = cats[0]
        .tag_counts(&o, None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.name.to_string(), t.count))
        .collect();
    assert_eq!(got, expected);
    schemas.cleanup().await;
}

#[tokio::test]
async fn one_id_claimed_by_two_owners_at_once_goes_to_one() {
    let Some(url) = pg_url() else { return };
    let schemas = Schemas::new(&url);
    let s = schemas.name();
    let (a, b) = (
        schemas.open(&s).await.catalog(),
        schemas.open(&s).await.catalog(),
    );
    let (alice, bob) = (owner("alice"), owner("bob"));
    for _ in 0..20 {
        let id = ImageId::new();
        let (ia, ib) = (new_image(&alice, &id), new_image(&bob, &id));
        let (ra, rb) = tokio::join!(a.upsert_image(&ia), b.upsert_image(&ib));
        let winner = match (ra, rb) {
            (Ok(()), Err(Error::Conflict(_))) => &alice,
            (Err(Error::Conflict(_)), Ok(())) => &bob,
            other => panic!("expected one Ok and one Conflict, got {other:?}"),
        };
        let img = a
            .get_image(winner, &id)
            .await
            .unwrap()
            .expect("the winner's");
        assert_eq!(&img.owner, winner);
    }
    schemas.cleanup().await;
}
