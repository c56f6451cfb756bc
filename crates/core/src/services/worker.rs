//! The worker pool that drains the job queue, with retries and backoff.

use std::time::Duration;

use super::App;
use crate::error::Result;
use crate::ports::Job;

/// What [`App::run_next`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobRun {
    /// No job was due.
    Idle,
    /// A job ran to its end (done, or failed for good).
    Finished,
    /// A job failed and will be retried later.
    Retrying,
}

/// Signals workers to stop after their current job.
pub type Shutdown = tokio::sync::watch::Receiver<bool>;

/// How long an idle worker waits before polling again when nobody wakes it (jobs retried with
/// a delay, or enqueued by another process).
const IDLE_POLL: Duration = Duration::from_millis(500);

impl App {
    /// Claims and runs one job. `Ok(false)` when no job is due.
    pub async fn run_next_job(&self) -> Result<bool> {
        Ok(self.run_next().await? != JobRun::Idle)
    }

    /// Claims and runs one job, saying what became of it.
    pub async fn run_next(&self) -> Result<JobRun> {
        let lease = Duration::from_secs(self.settings.job_lease_secs);
        let Some(claimed) = self.queue.claim(lease).await? else {
            return Ok(JobRun::Idle);
        };
        let result = match &claimed.job {
            Job::TagImage { owner, image } => self.tag_image(owner, image).await,
            // Waiting is not failing: this job keeps its own schedule until the upload expires.
            Job::IngestUpload {
                owner,
                image,
                name,
                until,
            } => {
                return self
                    .run_ingest_job(&claimed, owner, image, name, *until)
                    .await;
            }
        };
        match result {
            Ok(_) => self.queue.complete(&claimed.id).await?,
            Err(e) if claimed.attempt >= self.settings.max_attempts => {
                let reason = format!("tagging failed after {} attempts: {e}", claimed.attempt);
                match &claimed.job {
                    Job::TagImage { owner, image } => {
                        self.catalog.mark_failed(owner, image, &reason).await?;
                    }
                    Job::IngestUpload { .. } => unreachable!("handled above"),
                }
                self.queue.fail(&claimed.id, &reason).await?;
            }
            Err(e) => {
                let shift = claimed.attempt.saturating_sub(1).min(16);
                let delay = Duration::from_millis(self.settings.retry_base_ms << shift);
                tracing::warn!(error = %e, attempt = claimed.attempt, ?delay, "job will be retried");
                self.queue.retry(&claimed.id, delay, &e.to_string()).await?;
                return Ok(JobRun::Retrying);
            }
        }
        Ok(JobRun::Finished)
    }

    /// Runs jobs until none is due (tests and one-shot tools).
    pub async fn drain(&self) -> Result<usize> {
        let mut n = 0;
        while self.run_next_job().await? {
            n += 1;
        }
        Ok(n)
    }
}

/// Runs `n` workers until `shutdown` turns true; each finishes its current job first.
pub async fn run_workers(app: App, n: usize, shutdown: Shutdown) {
    match app.queue.recover().await {
        Ok(0) => {}
        Ok(k) => tracing::info!(jobs = k, "re-queued jobs interrupted by the last shutdown"),
        Err(e) => tracing::error!(error = %e, "could not recover interrupted jobs"),
    }
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let app = app.clone();
        let mut shutdown = shutdown.clone();
        tasks.spawn(async move {
            while !*shutdown.borrow() {
                match app.run_next_job().await {
                    Ok(true) => continue,
                    Ok(false) => {}
                    Err(e) => tracing::error!(error = %e, "job queue error"),
                }
                tokio::select! {
                    _ = app.wake.notified() => {}
                    _ = tokio::time::sleep(IDLE_POLL) => {}
                    _ = shutdown.changed() => {}
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}
