//! Queue behaviour beyond the port contract: lease tokens, dead letters, bad payloads.

use std::time::Duration;

use imgtag_core::{ImageId, Job, JobQueue, Owner};
use imgtag_local::{SqliteDb, DB_FILE};

use crate::Dirs;

fn job() -> Job {
    Job::TagImage {
        owner: Owner::parse("alice").unwrap(),
        image: ImageId::new(),
    }
}

#[tokio::test]
async fn a_stale_worker_cannot_ack_the_new_attempt() {
    let q = SqliteDb::open_in_memory().unwrap().queue();
    q.enqueue(&job()).await.unwrap();
    let slow = q.claim(Duration::from_millis(100)).await.unwrap().unwrap();
    tokio::time::sleep(Duration::from_millis(250)).await;
    let fresh = q.claim(Duration::from_secs(60)).await.unwrap().unwrap();
    assert_ne!(slow.id, fresh.id);
    // The first worker wakes up and reports: it no longer holds the job.
    q.fail(&slow.id, "late").await.unwrap();
    q.complete(&slow.id).await.unwrap();
    assert_eq!(q.pending().await.unwrap(), 1);
    assert!(q.dead_letters().await.unwrap().is_empty());
    q.complete(&fresh.id).await.unwrap();
    assert_eq!(q.pending().await.unwrap(), 0);
}

#[tokio::test]
async fn fail_keeps_a_dead_letter_with_the_error() {
    let q = SqliteDb::open_in_memory().unwrap().queue();
    let j = job();
    q.enqueue(&j).await.unwrap();
    let c = q.claim(Duration::from_secs(60)).await.unwrap().unwrap();
    q.fail(&c.id, "decoder: truncated JPEG").await.unwrap();
    assert_eq!(
        q.dead_letters().await.unwrap(),
        vec![(j.clone(), "decoder: truncated JPEG".to_string())]
    );
    // A dead job does not block new work with the same key.
    q.enqueue(&j).await.unwrap();
    assert_eq!(
        q.claim(Duration::from_secs(60)).await.unwrap().unwrap().job,
        j
    );
}

#[tokio::test]
async fn retry_yields_to_a_waiting_twin() {
    let q = SqliteDb::open_in_memory().unwrap().queue();
    let j = job();
    q.enqueue(&j).await.unwrap();
    let c = q.claim(Duration::from_secs(60)).await.unwrap().unwrap();
    q.enqueue(&j).await.unwrap();
    q.retry(&c.id, Duration::from_secs(3600), "busy")
        .await
        .unwrap();
    assert_eq!(
        q.pending().await.unwrap(),
        1,
        "one job for one piece of work"
    );
    let next = q
        .claim(Duration::from_secs(60))
        .await
        .unwrap()
        .expect("the twin is due now");
    assert_eq!((next.job, next.attempt), (j, 1));
}

#[tokio::test]
async fn an_unreadable_payload_is_dead_lettered_not_claimed_forever() {
    let dirs = Dirs::new();
    let dir = dirs.fresh();
    let q = SqliteDb::open_in_dir(&dir).unwrap().queue();
    {
        // A job written by some other (future) build.
        let conn = rusqlite::Connection::open(dir.join(DB_FILE)).unwrap();
        conn.execute(
            "INSERT INTO jobs (key, payload, state, attempt, due_at, created_at, updated_at)
             VALUES ('x', '{\"type\":\"make_coffee\"}', 'waiting', 0, 0, 0, 0)",
            [],
        )
        .unwrap();
    }
    let j = job();
    q.enqueue(&j).await.unwrap();
    let c = q
        .claim(Duration::from_secs(60))
        .await
        .unwrap()
        .expect("the readable job");
    assert_eq!(c.job, j);
    assert!(q.claim(Duration::from_secs(60)).await.unwrap().is_none());
    assert_eq!(q.pending().await.unwrap(), 1);
}
