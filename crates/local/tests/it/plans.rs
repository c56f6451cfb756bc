//! The hot catalog queries stay on their indexes: `EXPLAIN QUERY PLAN` of exactly what the
//! adapter runs, on a small populated database.

use imgtag_core::testkit::catalog::new_image;
use imgtag_core::{Catalog, ImageQuery, Label, Owner, TagName};
use imgtag_local::{SqliteCatalog, SqliteDb};

use crate::Dirs;

fn tags(v: &[&str]) -> Vec<TagName> {
    v.iter().map(|t| TagName::parse(t).unwrap()).collect()
}

/// 60 images per owner; every image `common`, every 3rd `cat`, every 10th `rare`.
async fn populated(dir: &std::path::Path) -> (SqliteCatalog, Owner) {
    let c = SqliteDb::open_in_dir(dir).unwrap().catalog();
    for o in ["alice", "bob"] {
        let o = Owner::parse(o).unwrap();
        for i in 0..60 {
            let img = new_image(&o);
            c.upsert_image(&img).await.unwrap();
            let mut names = vec!["common"];
            names.extend((i % 3 == 0).then_some("cat"));
            names.extend((i % 10 == 0).then_some("rare"));
            let labels: Vec<Label> = tags(&names)
                .into_iter()
                .map(|t| Label::auto(t, 0.5))
                .collect();
            assert!(c.set_auto_labels(&o, &img.id, &labels).await.unwrap());
        }
    }
    (c, Owner::parse("alice").unwrap())
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

const SCANS: &[&str] = &["SCAN labels", "SCAN l", "SCAN d", "SCAN i", "SCAN images"];

#[tokio::test]
async fn by_tag_pages_walk_the_rarest_tags_index() {
    let dirs = Dirs::new();
    let (c, alice) = populated(&dirs.fresh()).await;
    let page = |all: &[&str], any: &[&str], not: &[&str]| ImageQuery {
        all_tags: tags(all),
        any_tags: tags(any),
        not_tags: tags(not),
        min_confidence: Some(0.4),
        limit: 20,
        after: None,
    };
    for q in [
        page(&["cat"], &[], &[]),
        page(&["common", "rare", "cat"], &[], &[]),
        page(&["common"], &["cat", "rare"], &["dog"]),
    ] {
        let e = c.explain_list(&alice, &q).await.unwrap().unwrap();
        assert_no(&e.page, SCANS);
        assert_no(&e.page, &["TEMP B-TREE FOR ORDER BY"]);
        // Driven by one tag's labels, newest image first, covered by the index.
        assert!(
            e.page[0].contains("SEARCH d USING COVERING INDEX labels_owner_name_image"),
            "{e:#?}"
        );
        assert_no(&e.labels, SCANS);
    }
    // The rarest tag drives: `rare` (6 images), not `common` (60) or `cat` (20).
    let q = page(&["common", "rare", "cat"], &[], &[]);
    let e = c.explain_list(&alice, &q).await.unwrap().unwrap();
    assert_eq!(e.args[1], r#"Text("rare")"#, "{e:#?}");
    assert_eq!(c.list_images(&alice, &q).await.unwrap().images.len(), 2);
    // A tag the owner never used needs no query at all.
    let q = page(&["cat", "zebra"], &[], &[]);
    assert!(c.explain_list(&alice, &q).await.unwrap().is_none());
}

#[tokio::test]
async fn untagged_pages_walk_the_owners_images() {
    let dirs = Dirs::new();
    let (c, alice) = populated(&dirs.fresh()).await;
    let q = ImageQuery {
        any_tags: tags(&["cat", "rare"]),
        not_tags: tags(&["dog"]),
        limit: 20,
        ..Default::default()
    };
    for q in [
        q,
        ImageQuery {
            limit: 20,
            ..Default::default()
        },
    ] {
        let e = c.explain_list(&alice, &q).await.unwrap().unwrap();
        assert_no(&e.page, SCANS);
        assert_no(&e.page, &["TEMP B-TREE FOR ORDER BY"]);
        assert_has(&e.page, "SEARCH i USING INDEX images_owner_id");
    }
}

#[tokio::test]
async fn tag_counts_read_the_counts_table() {
    let dirs = Dirs::new();
    let (c, alice) = populated(&dirs.fresh()).await;
    let plan = c.explain_counts(&alice, None).await.unwrap();
    assert_no(&plan, &["labels", "TEMP B-TREE"]);
    assert_has(
        &plan,
        "SEARCH tag_counts USING COVERING INDEX tag_counts_owner_n",
    );
    // A prefix reads its (owner, name) range of the primary key; the few rows are sorted.
    let plan = c.explain_counts(&alice, Some("ca")).await.unwrap();
    assert_no(&plan, &["labels", "SCAN"]);
    assert_has(
        &plan,
        "SEARCH tag_counts USING PRIMARY KEY (owner=? AND name>? AND name<?)",
    );
}
