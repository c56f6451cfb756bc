//! Runs the tagging queue in the command's own process until it is empty.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use imgtag_core::services::{App, JobRun};

use super::progress::Progress;

/// Runs `produce` (storing or queueing `total` items) next to `workers` tagging loops, with
/// progress over the items plus jobs an earlier run left, until both are done or Ctrl-C stops
/// them. Returns what `produce` returned and whether it was interrupted.
pub async fn produce_and_tag<T, F, Fut>(
    app: &App,
    workers: usize,
    total: u64,
    verb: &'static str,
    produce: F,
) -> anyhow::Result<(T, bool)>
where
    F: FnOnce(Arc<Progress>, Arc<AtomicBool>) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let leftover = app.queue.pending().await?;
    let progress = Arc::new(Progress::new(total + leftover, verb));
    let stop = stop_on_ctrl_c(progress.clone());
    let producing = Arc::new(AtomicBool::new(true));
    let queue = run_queue(
        app,
        workers,
        progress.clone(),
        producing.clone(),
        stop.clone(),
    );
    let work = async {
        let r = produce(progress.clone(), stop.clone()).await;
        producing.store(false, Ordering::SeqCst);
        r
    };
    let (queued, produced) = tokio::join!(queue, work);
    progress.finish();
    queued?;
    Ok((produced?, stop.load(Ordering::SeqCst)))
}

/// How long an idle worker waits before looking again (retries come due, the producer adds).
const IDLE: Duration = Duration::from_millis(50);

/// Runs `workers` tagging loops. Each finished job moves `progress` one step. They return once
/// `producing` is false and the queue has nothing pending, or when `stop` is set (after the
/// job in hand).
async fn run_queue(
    app: &App,
    workers: usize,
    progress: Arc<Progress>,
    producing: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<()> {
    // Jobs a killed run left leased would otherwise wait out their lease. (A server running on
    // the same data at the same time may then tag an image twice, which is harmless.)
    app.queue.recover().await?;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers.max(1) {
        let (app, progress) = (app.clone(), progress.clone());
        let (producing, stop) = (producing.clone(), stop.clone());
        tasks.spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                match app.run_next().await? {
                    JobRun::Finished => progress.inc(),
                    JobRun::Retrying => {}
                    JobRun::Idle => {
                        if !producing.load(Ordering::SeqCst) && app.queue.pending().await? == 0 {
                            break;
                        }
                        tokio::time::sleep(IDLE).await;
                    }
                }
            }
            anyhow::Ok(())
        });
    }
    while let Some(r) = tasks.join_next().await {
        r??;
    }
    Ok(())
}

/// Sets `stop` on the first Ctrl-C, so work ends cleanly and can be resumed.
fn stop_on_ctrl_c(progress: Arc<Progress>) -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            progress.println("interrupted: finishing the file in hand; run again to resume");
            flag.store(true, Ordering::SeqCst);
        }
    });
    stop
}
