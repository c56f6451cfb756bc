//! Conformance checks for [`JobQueue`]. Lease and delay checks sleep for a few hundred
//! milliseconds: they test expiry, not speed.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use super::catalog::owner;
use super::{checks, run_checks, Check};
use crate::{ImageId, Job, JobQueue};

/// How the queue under test treats jobs leased by an earlier run (see [`JobQueue::recover`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// A single-process queue: `recover` makes leased jobs claimable at once.
    Immediate,
    /// A queue shared by several processes: `recover` returns 0; leases expire instead.
    LeaseExpiry,
}

/// How the queue under test treats an enqueue of a job equal to one already queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duplicates {
    /// An equal job that waits (not yet claimed) absorbs the enqueue: SQLite, PostgreSQL.
    AbsorbedWhileWaiting,
    /// Every enqueue is kept, and jobs with equal keys run one after another, never side by
    /// side: SQS FIFO with the key as message group (its deduplication would drop an equal
    /// job for 5 minutes after the first was sent, even once that one has finished).
    SerialisedByKey,
}

/// Runs every queue check, each on a fresh (empty) queue from `make`.
pub async fn run<F, Fut>(make: F, recovery: Recovery)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn JobQueue>>,
{
    run_with(make, recovery, Duplicates::AbsorbedWhileWaiting).await
}

/// [`run`] for a queue that treats equal jobs as `duplicates` says.
pub async fn run_with<F, Fut>(make: F, recovery: Recovery, duplicates: Duplicates)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn JobQueue>>,
{
    let mut all = all();
    if duplicates == Duplicates::SerialisedByKey {
        all.retain(|(name, _)| *name != "dedups_waiting_jobs_only");
        all.push(("equal_jobs_run_one_after_another", |q| {
            Box::pin(equal_jobs_run_one_after_another(q))
        }));
    }
    let recover: Check<dyn JobQueue> = match recovery {
        Recovery::Immediate => ("recover_releases_leased_jobs", |q| {
            Box::pin(recover_releases(q))
        }),
        Recovery::LeaseExpiry => ("recover_is_a_no_op", |q| Box::pin(recover_no_op(q))),
    };
    all.push(recover);
    run_checks("queue", all, make).await
}

/// The queue checks that hold for every queue (recovery excluded), by name.
pub fn all() -> Vec<Check<dyn JobQueue>> {
    checks![
        enqueue_claim_complete,
        claim_on_empty_is_none,
        dedups_waiting_jobs_only,
        claims_oldest_first,
        one_claimer_per_job,
        concurrent_claimers_split_the_work,
        expired_lease_is_claimable_again,
        retry_waits_for_its_delay,
        retry_without_delay,
        fail_removes_the_job,
        unknown_ids_are_no_ops,
        pending_counts_waiting_and_running,
    ]
}

const LEASE: Duration = Duration::from_secs(60);

fn job() -> Job {
    Job::TagImage {
        owner: owner("alice"),
        image: ImageId::new(),
    }
}

async fn enqueue_claim_complete(q: Arc<dyn JobQueue>) {
    let j = job();
    q.enqueue(&j).await.unwrap();
    let c = q.claim(LEASE).await.unwrap().expect("a due job");
    assert_eq!(c.job, j, "payload round trip");
    assert_eq!(c.attempt, 1);
    assert!(
        q.claim(LEASE).await.unwrap().is_none(),
        "a leased job is not handed out twice"
    );
    q.complete(&c.id).await.unwrap();
    assert_eq!(q.pending().await.unwrap(), 0);
    assert!(q.claim(LEASE).await.unwrap().is_none());
}

async fn claim_on_empty_is_none(q: Arc<dyn JobQueue>) {
    assert!(q.claim(LEASE).await.unwrap().is_none());
    assert_eq!(q.pending().await.unwrap(), 0);
}

async fn dedups_waiting_jobs_only(q: Arc<dyn JobQueue>) {
    let j = job();
    q.enqueue(&j).await.unwrap();
    q.enqueue(&j).await.unwrap();
    assert_eq!(
        q.pending().await.unwrap(),
        1,
        "an equal waiting job absorbs the enqueue"
    );
    let first = q.claim(LEASE).await.unwrap().unwrap();
    // While it runs, the same work may be requested again (a re-upload): that is new work.
    q.enqueue(&j).await.unwrap();
    assert_eq!(q.pending().await.unwrap(), 2);
    let second = q.claim(LEASE).await.unwrap().expect("the re-enqueued job");
    assert_eq!((second.job, second.attempt), (j, 1));
    assert_ne!(first.id, second.id);
    // Different jobs never dedup.
    q.enqueue(&job()).await.unwrap();
    assert_eq!(q.pending().await.unwrap(), 3);
}

async fn equal_jobs_run_one_after_another(q: Arc<dyn JobQueue>) {
    let j = job();
    q.enqueue(&j).await.unwrap();
    q.enqueue(&j).await.unwrap();
    assert_eq!(q.pending().await.unwrap(), 2, "no enqueue is absorbed");
    let first = q.claim(LEASE).await.unwrap().expect("a due job");
    assert_eq!((&first.job, first.attempt), (&j, 1));
    let other = job();
    q.enqueue(&other).await.unwrap();
    let c = q
        .claim(LEASE)
        .await
        .unwrap()
        .expect("other keys are not held up");
    assert_eq!(c.job, other);
    assert!(
        q.claim(LEASE).await.unwrap().is_none(),
        "an equal job waits while one runs"
    );
    q.complete(&first.id).await.unwrap();
    let second = q
        .claim(LEASE)
        .await
        .unwrap()
        .expect("the equal job, once the first is done");
    assert_eq!((second.job, second.attempt), (j, 1));
    assert_ne!(first.id, second.id);
}

async fn claims_oldest_first(q: Arc<dyn JobQueue>) {
    let jobs: Vec<Job> = (0..5).map(|_| job()).collect();
    for j in &jobs {
        q.enqueue(j).await.unwrap();
    }
    for j in &jobs {
        let c = q.claim(LEASE).await.unwrap().unwrap();
        assert_eq!(&c.job, j);
        q.complete(&c.id).await.unwrap();
    }
}

async fn one_claimer_per_job(q: Arc<dyn JobQueue>) {
    q.enqueue(&job()).await.unwrap();
    let claims = futures::future::join_all((0..8).map(|_| {
        let q = q.clone();
        tokio::spawn(async move { q.claim(LEASE).await.unwrap() })
    }))
    .await;
    let won = claims
        .into_iter()
        .filter(|r| r.as_ref().unwrap().is_some())
        .count();
    assert_eq!(won, 1, "exactly one claimer gets the job");
}

async fn concurrent_claimers_split_the_work(q: Arc<dyn JobQueue>) {
    let mut jobs = BTreeSet::new();
    for _ in 0..20 {
        let j = job();
        q.enqueue(&j).await.unwrap();
        jobs.insert(j.key());
    }
    let workers = (0..4).map(|_| {
        let q = q.clone();
        tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(c) = q.claim(LEASE).await.unwrap() {
                got.push(c.job.key());
                q.complete(&c.id).await.unwrap();
            }
            got
        })
    });
    let mut seen = Vec::new();
    for w in futures::future::join_all(workers).await {
        seen.extend(w.unwrap());
    }
    let unique: BTreeSet<String> = seen.iter().cloned().collect();
    assert_eq!(seen.len(), unique.len(), "a job was handed out twice");
    assert_eq!(unique, jobs);
    assert_eq!(q.pending().await.unwrap(), 0);
}

async fn expired_lease_is_claimable_again(q: Arc<dyn JobQueue>) {
    let j = job();
    q.enqueue(&j).await.unwrap();
    let first = q.claim(Duration::from_millis(500)).await.unwrap().unwrap();
    assert!(q.claim(LEASE).await.unwrap().is_none());
    // The worker "crashed": no complete/retry/fail. After the lease, the job comes back.
    // (Past a whole second: SQS rounds leases up to whole seconds.)
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let again = q
        .claim(LEASE)
        .await
        .unwrap()
        .expect("job back after its lease expired");
    assert_eq!((again.job, again.attempt), (j, 2));
    assert_eq!(first.attempt, 1);
    q.complete(&again.id).await.unwrap();
    assert_eq!(q.pending().await.unwrap(), 0);
}

async fn retry_waits_for_its_delay(q: Arc<dyn JobQueue>) {
    let j = job();
    q.enqueue(&j).await.unwrap();
    let c = q.claim(LEASE).await.unwrap().unwrap();
    q.retry(&c.id, Duration::from_millis(800), "tagger unavailable")
        .await
        .unwrap();
    assert!(
        q.claim(LEASE).await.unwrap().is_none(),
        "not due before its delay"
    );
    assert_eq!(q.pending().await.unwrap(), 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let again = q.claim(LEASE).await.unwrap().expect("due after the delay");
    assert_eq!((again.job, again.attempt), (j, 2));
}

async fn retry_without_delay(q: Arc<dyn JobQueue>) {
    q.enqueue(&job()).await.unwrap();
    let mut last = 0;
    for attempt in 1..=3 {
        let c = q
            .claim(LEASE)
            .await
            .unwrap()
            .expect("claimable again at once");
        assert_eq!(c.attempt, attempt);
        last = c.attempt;
        q.retry(&c.id, Duration::ZERO, "again").await.unwrap();
    }
    assert_eq!(last, 3);
    assert_eq!(q.pending().await.unwrap(), 1);
}

async fn fail_removes_the_job(q: Arc<dyn JobQueue>) {
    q.enqueue(&job()).await.unwrap();
    let c = q.claim(LEASE).await.unwrap().unwrap();
    q.fail(&c.id, "bad image").await.unwrap();
    assert_eq!(q.pending().await.unwrap(), 0);
    assert!(q.claim(LEASE).await.unwrap().is_none());
}

async fn unknown_ids_are_no_ops(q: Arc<dyn JobQueue>) {
    q.enqueue(&job()).await.unwrap();
    for id in ["", "no-such-job", "0", "999999.1", "1.999"] {
        q.complete(id).await.unwrap();
        q.retry(id, Duration::ZERO, "x").await.unwrap();
        q.fail(id, "x").await.unwrap();
    }
    assert_eq!(q.pending().await.unwrap(), 1);
    let c = q.claim(LEASE).await.unwrap().expect("untouched job");
    assert_eq!(c.attempt, 1);
}

async fn pending_counts_waiting_and_running(q: Arc<dyn JobQueue>) {
    for _ in 0..3 {
        q.enqueue(&job()).await.unwrap();
    }
    assert_eq!(q.pending().await.unwrap(), 3);
    let c = q.claim(LEASE).await.unwrap().unwrap();
    assert_eq!(
        q.pending().await.unwrap(),
        3,
        "a running job is still pending"
    );
    q.complete(&c.id).await.unwrap();
    assert_eq!(q.pending().await.unwrap(), 2);
}

async fn recover_releases(q: Arc<dyn JobQueue>) {
    let j = job();
    q.enqueue(&j).await.unwrap();
    q.enqueue(&job()).await.unwrap();
    let c = q.claim(Duration::from_secs(3600)).await.unwrap().unwrap();
    assert_eq!(c.job, j);
    assert_eq!(q.recover().await.unwrap(), 1, "one job was leased");
    let again = q.claim(LEASE).await.unwrap().expect("released at once");
    assert_eq!((again.job, again.attempt), (j, 2));
    assert_eq!(q.pending().await.unwrap(), 2);
}

async fn recover_no_op(q: Arc<dyn JobQueue>) {
    q.enqueue(&job()).await.unwrap();
    let _c = q.claim(Duration::from_secs(3600)).await.unwrap().unwrap();
    assert_eq!(q.recover().await.unwrap(), 0);
    assert!(
        q.claim(LEASE).await.unwrap().is_none(),
        "the lease still holds"
    );
}
