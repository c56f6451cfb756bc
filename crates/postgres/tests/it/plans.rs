//! The hot catalog queries stay on their indexes: `EXPLAIN` of exactly what the adapter runs
//! (`explain_list`, `explain_counts`), planned for the arguments, on a populated schema with
//! fresh statistics. Tag frequencies follow Zipf's law as in `bench/catalog`, so the planner
//! sees both a tag on most images and tags on a few percent of them.

use chrono::{Duration, Utc};
use imgtag_core::{
    BlobKey, Catalog, Image, ImageId, ImageQuery, ImageStatus, Label, Owner, TagName,
};
use imgtag_postgres::testing::pg_url;
use imgtag_postgres::testing_sql::exec;
use imgtag_postgres::{ListExplain, PgCatalog};

use crate::Schemas;

const TAGS: usize = 60;
const IMAGES: usize = 6_000;

fn tag(r: usize) -> TagName {
    TagName::parse(&format!("t{r:02}")).unwrap()
}

fn tags(ranks: &[usize]) -> Vec<TagName> {
    ranks.iter().map(|&r| tag(r)).collect()
}

/// `IMAGES` images for alice and bob and 20 each for 40 more owners (an owner's rows are a
/// small part of each table, as on a shared server), 5 distinct labels per image, rank r
/// drawn with weight 1 / (r + 1): `t00` is on ~70 % of the images, `t20` and `t30` on a
/// few percent.
async fn populated(c: &PgCatalog) -> Owner {
    let weights: Vec<f64> = (0..TAGS).map(|r| 1.0 / (r + 1) as f64).collect();
    let total: f64 = weights.iter().sum();
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut uniform = move || {
        // xorshift64*: deterministic, no dependency.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut owners = vec![("alice".to_string(), IMAGES), ("bob".to_string(), IMAGES)];
    owners.extend((0..40).map(|k| (format!("user{k}"), 20)));
    for (o, n) in owners {
        let o = Owner::parse(&o).unwrap();
        let batch: Vec<Image> = (0..n)
            .map(|i| {
                let mut ranks: Vec<usize> = Vec::new();
                while ranks.len() < 5 {
                    let mut u = uniform() * total;
                    let r = weights
                        .iter()
                        .position(|w| {
                            u -= w;
                            u < 0.0
                        })
                        .unwrap_or(TAGS - 1);
                    if !ranks.contains(&r) {
                        ranks.push(r);
                    }
                }
                let id = ImageId::new();
                let at = Utc::now() - Duration::seconds(i as i64);
                Image {
                    blob_key: BlobKey::for_image(&o, &id),
                    id,
                    owner: o.clone(),
                    name: "x.jpg".into(),
                    content_type: "image/jpeg".into(),
                    size: 1,
                    width: None,
                    height: None,
                    sha256: "ab".repeat(32),
                    status: ImageStatus::Tagged,
                    failure_reason: None,
                    labels: ranks.iter().map(|&r| Label::auto(tag(r), 0.7)).collect(),
                    created_at: at,
                    updated_at: at,
                }
            })
            .collect();
        assert_eq!(c.put_records(&batch).await.unwrap(), n);
    }
    Owner::parse("alice").unwrap()
}

fn assert_no(plan: &[String], bad: &[&str]) {
    for line in plan {
        for b in bad {
            assert!(!line.contains(b), "`{b}` in plan {plan:#?}");
        }
    }
}

fn assert_has(plan: &[String], want: &str) {
    assert!(
        plan.iter().any(|l| l.contains(want)),
        "no `{want}` in {plan:#?}"
    );
}

/// Reading every row, or sorting every match before the LIMIT, grows with the library.
const FULL: &[&str] = &["Seq Scan", "Bitmap", "Sort"];

/// Labels are read from `labels_owner_name_conf` only, never from the table.
fn labels_index_only(e: &ListExplain) {
    assert_no(&e.page, FULL);
    assert_no(&e.page, &["labels_pkey", "Index Scan using labels"]);
    assert_no(&e.page, &["Index Scan Backward using labels"]);
    assert_has(
        &e.page,
        "Index Only Scan Backward using labels_owner_name_conf",
    );
    // A page's labels: its ids' entries of the primary key.
    assert_no(&e.labels, &["Seq Scan"]);
    assert_has(&e.labels, "labels_pkey");
}

#[tokio::test]
async fn hot_queries_are_index_only() {
    let Some(url) = pg_url() else { return };
    let schemas = Schemas::new(&url);
    let db = schemas.fresh().await;
    let c = db.catalog();
    let alice = populated(&c).await;
    // Statistics and the visibility map, as autovacuum keeps them on a live database.
    exec(&db, "VACUUM (ANALYZE) images, labels, tag_counts")
        .await
        .unwrap();

    let page = |all: &[usize], any: &[usize], not: &[usize]| ImageQuery {
        all_tags: tags(all),
        any_tags: tags(any),
        not_tags: tags(not),
        limit: 50,
        ..Default::default()
    };
    // The most common tag, two rare ones (the bench's AND), a rare one with a NOT.
    for q in [
        page(&[0], &[], &[]),
        page(&[20, 30], &[], &[]),
        page(&[20], &[], &[1]),
    ] {
        let e = c.explain_list(&alice, &q).await.unwrap();
        labels_index_only(&e);
    }
    // Rare tags: their index entries are merged newest first; only matches reach `images`.
    let e = c
        .explain_list(&alice, &page(&[20, 30], &[], &[]))
        .await
        .unwrap();
    assert_has(&e.page, "Merge");

    // No tag filter: the owner's newest images, in index order.
    let e = c.explain_list(&alice, &page(&[], &[], &[])).await.unwrap();
    assert_no(&e.page, FULL);
    assert_no(&e.page, &["labels"]);
    assert_has(&e.page, "Index Scan Backward using images_");

    // `GET /tags`: the owner's counters, index-only from the primary key (n included), no
    // labels, no sort (the server orders those few rows).
    for prefix in [None, Some("t1")] {
        let plan = c.explain_counts(&alice, prefix).await.unwrap();
        assert_no(&plan, FULL);
        assert_no(&plan, &["labels"]);
        assert_has(&plan, "Index Only Scan using tag_counts_pkey");
        assert_has(&plan, "(owner = 'alice'::text)");
    }
    // A prefix is bounded in the index condition (the range `starts_with` implies).
    let plan = c.explain_counts(&alice, Some("t1")).await.unwrap();
    assert_has(&plan, "(name >= 't1'::text)");
    schemas.cleanup().await;
}
