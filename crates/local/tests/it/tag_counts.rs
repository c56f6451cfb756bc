//! `tag_counts` (kept by triggers on `labels`) against a fresh `GROUP BY` over `labels`, after
//! every kind of label write, a cascading delete, and the migration's backfill.

use std::path::Path;

use imgtag_core::testkit::catalog::new_image;
use imgtag_core::{Catalog, Image, ImageStatus, Label, Owner, TagName};
use imgtag_local::{SqliteDb, DB_FILE};
use rusqlite::Connection;

use crate::Dirs;

type Counts = Vec<(String, String, i64)>;

fn tag(s: &str) -> TagName {
    TagName::parse(s).unwrap()
}

fn auto(v: &[(&str, f32)]) -> Vec<Label> {
    v.iter().map(|(n, c)| Label::auto(tag(n), *c)).collect()
}

fn maintained(conn: &Connection) -> Counts {
    query(
        conn,
        "SELECT owner, name, n FROM tag_counts ORDER BY owner, name",
    )
}

fn recomputed(conn: &Connection) -> Counts {
    query(
        conn,
        "SELECT owner, name, COUNT(*) FROM labels GROUP BY owner, name ORDER BY owner, name",
    )
}

fn query(conn: &Connection, sql: &str) -> Counts {
    let mut stmt = conn.prepare(sql).unwrap();
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap();
    rows.collect::<rusqlite::Result<_>>().unwrap()
}

fn raw(dir: &Path) -> Connection {
    let conn = Connection::open(dir.join(DB_FILE)).unwrap();
    conn.pragma_update(None, "foreign_keys", "ON").unwrap();
    conn
}

#[tokio::test]
async fn counts_stay_exact_through_every_write_path() {
    let dirs = Dirs::new();
    let dir = dirs.fresh();
    let db = SqliteDb::open_in_dir(&dir).unwrap();
    let c = db.catalog();
    let (alice, bob) = (Owner::parse("alice").unwrap(), Owner::parse("bob").unwrap());

    let mut ids = Vec::new();
    for (i, o) in [&alice, &alice, &alice, &bob].into_iter().enumerate() {
        let img = new_image(o);
        c.upsert_image(&img).await.unwrap();
        let labels = auto(&[
            ("cat", 0.9),
            ("animal", 0.5 + i as f32 / 10.0),
            ("cat", 0.2),
        ]);
        assert!(c.set_auto_labels(o, &img.id, &labels).await.unwrap());
        ids.push(img.id);
    }
    // Manual: a new name, and one that upgrades an auto label (an UPDATE, not an INSERT).
    assert!(c
        .add_manual_label(&alice, &ids[0], &tag("pet"))
        .await
        .unwrap());
    assert!(c
        .add_manual_label(&alice, &ids[1], &tag("cat"))
        .await
        .unwrap());
    // Retag replaces auto labels only; the manual `cat` stays, counted once.
    let retag = auto(&[("dog", 0.8), ("cat", 0.9)]);
    assert!(c.set_auto_labels(&alice, &ids[1], &retag).await.unwrap());
    assert!(c
        .remove_label(&alice, &ids[0], &tag("animal"))
        .await
        .unwrap());
    assert!(!c.remove_label(&bob, &ids[0], &tag("cat")).await.unwrap());
    assert!(c.delete_image(&alice, &ids[2]).await.unwrap());
    // A re-upload drops the auto labels, keeps the manual one.
    let mut again = new_image(&alice);
    again.id = ids[0].clone();
    c.upsert_image(&again).await.unwrap();
    // The migration import path, including a duplicate name it skips.
    let rec = record(&bob);
    assert!(c.put_record(&rec).await.unwrap());
    assert!(!c.put_record(&rec).await.unwrap());

    let conn = raw(&dir);
    let counts = maintained(&conn);
    assert_eq!(counts, recomputed(&conn));
    assert!(
        counts.contains(&("bob".into(), "cat".into(), 2)),
        "{counts:?}"
    );
    assert!(!counts.iter().any(|r| r.2 <= 0), "no zero rows: {counts:?}");

    // A delete that only the foreign key's cascade carries to `labels`.
    conn.execute("DELETE FROM images WHERE id = ?1", [rec.id.as_str()])
        .unwrap();
    assert_eq!(maintained(&conn), recomputed(&conn));
    conn.execute("DELETE FROM images", []).unwrap();
    assert!(maintained(&conn).is_empty());
}

fn record(o: &Owner) -> Image {
    let n = new_image(o);
    Image {
        id: n.id,
        owner: n.owner,
        name: n.name,
        blob_key: n.blob_key,
        content_type: n.content_type,
        size: n.size,
        width: None,
        height: None,
        sha256: n.sha256,
        status: ImageStatus::Tagged,
        failure_reason: None,
        labels: vec![
            Label::manual(tag("pet")),
            Label::auto(tag("cat"), 0.875),
            Label::auto(tag("pet"), 0.5),
        ],
        created_at: n.created_at,
        updated_at: n.created_at,
    }
}

/// A database from before migration 5 gets its counts from the labels already there.
#[tokio::test]
async fn migration_backfills_counts() {
    let dirs = Dirs::new();
    let dir = dirs.fresh();
    let alice = Owner::parse("alice").unwrap();
    {
        let c = SqliteDb::open_in_dir(&dir).unwrap().catalog();
        for labels in [&[("cat", 0.9), ("sky", 0.4)][..], &[("cat", 0.3)]] {
            let img = new_image(&alice);
            c.upsert_image(&img).await.unwrap();
            assert!(c
                .set_auto_labels(&alice, &img.id, &auto(labels))
                .await
                .unwrap());
        }
    }
    {
        // Back to schema 4: labels as they were, no counts.
        let conn = raw(&dir);
        conn.execute_batch(
            "DROP TRIGGER labels_count_insert; DROP TRIGGER labels_count_delete;
             DROP TRIGGER labels_count_update; DROP TABLE tag_counts;
             DROP INDEX labels_owner_name_image;
             CREATE INDEX labels_owner_name ON labels (owner, name, image_id);
             DROP TABLE catalog_versions;
             DROP TRIGGER images_version_insert; DROP TRIGGER images_version_update;
             DROP TRIGGER images_version_delete; DROP TRIGGER labels_version_insert;
             DROP TRIGGER labels_version_update; DROP TRIGGER labels_version_delete;
             PRAGMA user_version = 4;",
        )
        .unwrap();
    }
    let c = SqliteDb::open_in_dir(&dir).unwrap().catalog();
    let conn = raw(&dir);
    assert_eq!(maintained(&conn), recomputed(&conn));
    let top = c.tag_counts(&alice, None, 10).await.unwrap();
    let top: Vec<_> = top.iter().map(|t| (t.name.as_str(), t.count)).collect();
    assert_eq!(top, vec![("cat", 2), ("sky", 1)]);
}
