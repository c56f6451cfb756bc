//! The DynamoDB catalog on the moto emulator: the shared `Catalog` conformance suite, plus the
//! things only this adapter has (table creation, concurrent writers, oversized changes).
//!
//! `IMGTAG_MOTO_URL=http://127.0.0.1:5200 cargo test -p imgtag-aws --test dynamo`

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpClient, HttpConnector, HttpConnectorFuture, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use imgtag_aws::dynamo::DynamoCatalog;
use imgtag_aws::testing;
use imgtag_core::testkit::catalog;
use imgtag_core::{BlobKey, Catalog, Error, ImageId, ImageQuery, Label, NewImage, Owner, TagName};

/// A catalog over a new, empty table.
async fn fresh(config: &SdkConfig) -> DynamoCatalog {
    let client = aws_sdk_dynamodb::Client::new(config);
    let c = DynamoCatalog::new(client, testing::unique("imgtag-catalog"));
    c.create_table().await.expect("create_table");
    c
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
        name: "x.jpg".into(),
        content_type: "image/jpeg".into(),
        size: 1,
        width: None,
        height: None,
        sha256: "cd".repeat(32),
        created_at: chrono::Utc::now(),
    }
}

/// Counts recomputed from the images themselves, and checked against `tag_counts` and
/// against tag queries (the membership items).
async fn assert_index_exact(c: &DynamoCatalog, o: &Owner) {
    let page = c
        .list_images(
            o,
            &ImageQuery {
                limit: 1000,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut holders: BTreeMap<String, BTreeSet<ImageId>> = BTreeMap::new();
    for img in &page.images {
        for l in &img.labels {
            holders
                .entry(l.name.to_string())
                .or_default()
                .insert(img.id.clone());
        }
    }
    let expected: BTreeMap<String, u64> = holders
        .iter()
        .map(|(t, ids)| (t.clone(), ids.len() as u64))
        .collect();
    let counts: BTreeMap<String, u64> = c
        .tag_counts(o, None, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.name.to_string(), t.count))
        .collect();
    assert_eq!(counts, expected, "tag counts drifted from the labels");
    for (t, ids) in &holders {
        let q = ImageQuery {
            all_tags: vec![tag(t)],
            limit: 1000,
            ..Default::default()
        };
        let found: BTreeSet<ImageId> = c
            .list_images(o, &q)
            .await
            .unwrap()
            .images
            .into_iter()
            .map(|i| i.id)
            .collect();
        assert_eq!(&found, ids, "membership of {t:?} drifted from the labels");
    }
}

#[tokio::test]
async fn catalog_conformance_on_moto() {
    let Some(url) = testing::moto_url() else {
        return;
    };
    let config = testing::sdk_config(&url).await;
    catalog::run(|| {
        let config = config.clone();
        async move { Arc::new(fresh(&config).await) as Arc<dyn Catalog> }
    })
    .await;
}

#[tokio::test]
async fn create_table_is_idempotent() {
    let Some(url) = testing::moto_url() else {
        return;
    };
    let config = testing::sdk_config(&url).await;
    let c = fresh(&config).await;
    c.create_table().await.expect("second create_table");
    let o = Owner::parse("alice").unwrap();
    c.upsert_image(&new_image(&o)).await.unwrap();
}

#[tokio::test]
async fn missing_table_is_an_internal_error() {
    let Some(url) = testing::moto_url() else {
        return;
    };
    let config = testing::sdk_config(&url).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let c = DynamoCatalog::new(client, testing::unique("imgtag-absent"));
    let o = Owner::parse("alice").unwrap();
    match c.get_image(&o, &ImageId::new()).await {
        Err(Error::Internal(m)) => assert!(m.contains("ResourceNotFound"), "{m}"),
        other => panic!("expected Internal, got {other:?}"),
    }
}

/// Passes one request at a time to the emulator. moto's threaded server runs overlapping
/// transactions without a lock (a failed one even restores a stale copy of the table), so
/// overlapping requests would test moto, not the catalog. The races that matter here, other
/// writers landing between one writer's reads and its transaction, still happen.
#[derive(Debug)]
struct OneAtATime {
    inner: SharedHttpConnector,
    gate: Arc<tokio::sync::Mutex<()>>,
}

impl HttpConnector for OneAtATime {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let (inner, gate) = (self.inner.clone(), self.gate.clone());
        HttpConnectorFuture::new(async move {
            let _one = gate.lock().await;
            inner.call(request).await
        })
    }
}

fn one_at_a_time(config: &SdkConfig) -> SdkConfig {
    // Plain HTTP is all the emulator speaks.
    let inner = aws_smithy_http_client::Builder::new().build_http();
    let gate = Arc::new(tokio::sync::Mutex::new(()));
    let client = http_client_fn(move |settings, components| {
        SharedHttpConnector::new(OneAtATime {
            inner: inner.http_connector(settings, components),
            gate: gate.clone(),
        })
    });
    config.to_builder().http_client(client).build()
}

/// Re-tags, manual label edits and a delete racing on the same images (and the same tag
/// counts) leave labels, memberships and counts in agreement.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_edits_keep_counts_exact() {
    let Some(url) = testing::moto_url() else {
        return;
    };
    let config = one_at_a_time(&testing::sdk_config(&url).await);
    let c = Arc::new(fresh(&config).await);
    let o = Owner::parse("alice").unwrap();
    let mut ids = Vec::new();
    for _ in 0..4 {
        let img = new_image(&o);
        c.upsert_image(&img).await.unwrap();
        ids.push(img.id);
    }
    let sets: [&[(&str, f32)]; 2] = [
        &[("cat", 0.9), ("animal", 0.8), ("pet", 0.4)],
        &[("dog", 0.7), ("animal", 0.6)],
    ];
    const ROUNDS: usize = 12;
    let mut tasks = tokio::task::JoinSet::new();
    for (k, id) in ids.iter().enumerate() {
        let (c2, o2, id2) = (c.clone(), o.clone(), id.clone());
        tasks.spawn(async move {
            for r in 0..ROUNDS {
                let set = sets[(r + k) % 2];
                let labels: Vec<Label> = set.iter().map(|(n, x)| Label::auto(tag(n), *x)).collect();
                c2.set_auto_labels(&o2, &id2, &labels).await.unwrap();
            }
        });
        let (c2, o2, id2) = (c.clone(), o.clone(), id.clone());
        tasks.spawn(async move {
            for r in 0..ROUNDS {
                let t = tag(if r % 4 < 2 { "pet" } else { "favourite" });
                if r % 2 == 0 {
                    c2.add_manual_label(&o2, &id2, &t).await.unwrap();
                } else {
                    c2.remove_label(&o2, &id2, &t).await.unwrap();
                }
            }
        });
    }
    // One image is deleted while it is being edited.
    let (c2, o2, doomed) = (c.clone(), o.clone(), ids[3].clone());
    tasks.spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(c2.delete_image(&o2, &doomed).await.unwrap());
    });
    while let Some(done) = tasks.join_next().await {
        done.expect("a writer failed");
    }
    assert!(c.get_image(&o, &ids[3]).await.unwrap().is_none());
    assert_index_exact(&c, &o).await;
    assert!(!c.tag_counts(&o, None, 100).await.unwrap().is_empty());
}

/// A re-tag that swaps more labels than one transaction can hold still ends exact.
#[tokio::test]
async fn large_retag_is_applied_in_steps() {
    let Some(url) = testing::moto_url() else {
        return;
    };
    let config = testing::sdk_config(&url).await;
    let c = fresh(&config).await;
    let o = Owner::parse("alice").unwrap();
    let img = new_image(&o);
    c.upsert_image(&img).await.unwrap();
    let many = |p: &str| -> Vec<Label> {
        (0..60)
            .map(|i| Label::auto(tag(&format!("{p}{i}")), 0.5))
            .collect()
    };
    assert!(c.set_auto_labels(&o, &img.id, &many("a")).await.unwrap());
    assert!(c.add_manual_label(&o, &img.id, &tag("keep")).await.unwrap());
    assert!(c.set_auto_labels(&o, &img.id, &many("b")).await.unwrap());
    let got = c.get_image(&o, &img.id).await.unwrap().unwrap();
    assert_eq!(got.labels.len(), 61);
    assert!(got.labels.iter().all(|l| !l.name.as_str().starts_with('a')));
    assert_index_exact(&c, &o).await;
    // Deleting it removes every count, in steps too.
    assert!(c.delete_image(&o, &img.id).await.unwrap());
    assert!(c.tag_counts(&o, None, 1000).await.unwrap().is_empty());
    assert!(c.find_by_sha256(&o, &img.sha256).await.unwrap().is_none());
}
