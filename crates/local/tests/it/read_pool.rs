//! Catalog reads on a database file use their own connections: they answer while the writer
//! is stuck behind another process's write lock, and see only committed data.

use std::time::Duration;

use chrono::Utc;
use imgtag_core::testkit::catalog::new_image;
use imgtag_core::{Catalog, ImageQuery, Owner};
use imgtag_local::{SqliteDb, DB_FILE};

use crate::Dirs;

/// Whether a page read returns within `wait` while a write waits on another process's open
/// write transaction (holding our writer connection), and what it saw.
async fn read_during_write(readers: usize, wait: Duration) -> Option<usize> {
    let dirs = Dirs::new();
    let dir = dirs.fresh();
    let db = SqliteDb::open_with_readers(&dir.join(DB_FILE), readers).unwrap();
    let c = db.catalog();
    let o = Owner::parse("alice").unwrap();
    c.upsert_image(&new_image(&o)).await.unwrap();

    let other = rusqlite::Connection::open(dir.join(DB_FILE)).unwrap();
    let pending = new_image(&o);
    let row = new_image(&o);
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    other
        .execute(
            "INSERT INTO images (id, owner, name, blob_key, content_type, size, sha256, status,
                created_at, updated_at)
             VALUES (?1, 'alice', 'y.jpg', ?2, 'image/jpeg', 1, '', 'pending', ?3, ?3)",
            rusqlite::params![
                row.id.as_str(),
                row.blob_key.as_str(),
                Utc::now().to_rfc3339()
            ],
        )
        .unwrap();
    // Our write now waits (busy_timeout) on the other transaction, holding the writer.
    let writer = tokio::spawn({
        let c = c.clone();
        async move { c.upsert_image(&pending).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let q = ImageQuery {
        limit: 10,
        ..Default::default()
    };
    let seen = tokio::time::timeout(wait, c.list_images(&o, &q))
        .await
        .ok()
        .map(|page| page.unwrap().images.len());
    other.execute_batch("COMMIT").unwrap();
    writer.await.unwrap().unwrap();
    assert_eq!(c.list_images(&o, &q).await.unwrap().images.len(), 3);
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_proceed_while_the_writer_waits() {
    // One image committed; neither the other process's row nor ours is visible yet.
    assert_eq!(read_during_write(2, Duration::from_secs(3)).await, Some(1));
    // Control: with reads on the writer connection the same read queues behind the write.
    assert_eq!(read_during_write(0, Duration::from_secs(1)).await, None);
}
