//! The SQS job queue on the moto emulator: the shared `JobQueue` conformance suite (a fresh
//! FIFO queue per check), plus what only this adapter has (messages that are not jobs, SQS's
//! deduplication window).
//!
//! `IMGTAG_MOTO_URL=http://127.0.0.1:5100 cargo test -p imgtag-aws --test sqs`

use std::sync::Arc;
use std::time::Duration;

use imgtag_aws::sqs::SqsQueue;
use imgtag_aws::testing;
use imgtag_core::testkit::queue::{self, Duplicates, Recovery};
use imgtag_core::{ImageId, Job, JobQueue, Owner};

async fn fresh(url: &str) -> SqsQueue {
    let config = testing::sdk_config(url).await;
    SqsQueue::create_fifo(&config, &testing::unique("imgtag-jobs"))
        .await
        .expect("create queue")
}

fn job() -> Job {
    Job::TagImage {
        owner: Owner::parse("alice").unwrap(),
        image: ImageId::new(),
    }
}

#[tokio::test]
async fn sqs_queue_conformance() {
    let Some(url) = testing::moto_url() else {
        return;
    };
    queue::run_with(
        || {
            let url = url.clone();
            async move { Arc::new(fresh(&url).await) as Arc<dyn JobQueue> }
        },
        // A shared queue: a crashed consumer's job comes back when its lease ends.
        Recovery::LeaseExpiry,
        // SQS's deduplication window would drop a re-tag for 5 minutes (see the module doc).
        Duplicates::SerialisedByKey,
    )
    .await;
}

#[tokio::test]
async fn a_message_that_is_not_a_job_is_dropped_not_handed_out() {
    let Some(url) = testing::moto_url() else {
        return;
    };
    let q = fresh(&url).await;
    let sqs = aws_sdk_sqs::Client::new(&testing::sdk_config(&url).await);
    sqs.send_message()
        .queue_url(q.url())
        .message_body(r#"{"type":"resize_everything"}"#)
        .message_group_id("stray")
        .message_deduplication_id("stray-1")
        .send()
        .await
        .unwrap();
    let j = job();
    q.enqueue(&j).await.unwrap();
    let c = q
        .claim(Duration::from_secs(60))
        .await
        .unwrap()
        .expect("the job");
    assert_eq!(c.job, j);
    q.complete(&c.id).await.unwrap();
    assert_eq!(q.pending().await.unwrap(), 0, "the stray message is gone");
}

#[tokio::test]
async fn a_job_equal_to_a_finished_one_runs_again() {
    let Some(url) = testing::moto_url() else {
        return;
    };
    let q = fresh(&url).await;
    // A re-tag seconds after the previous one finished: inside SQS's 5-minute deduplication
    // window, so a deduplication id derived from the job would lose it.
    let j = job();
    for round in 1..=2 {
        q.enqueue(&j).await.unwrap();
        let c = q
            .claim(Duration::from_secs(60))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("round {round}: the job was dropped"));
        assert_eq!((&c.job, c.attempt), (&j, 1));
        q.complete(&c.id).await.unwrap();
    }
    assert_eq!(q.pending().await.unwrap(), 0);
}
