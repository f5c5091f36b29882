//! Running a job periodically on the tokio runtime, with graceful shutdown.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

/// Controls a background job started by `spawn` (of the escalation engine or the outbox
/// dispatcher). Dropping the handle leaves the job running; call [`shutdown`](Self::shutdown)
/// to stop it.
#[derive(Debug)]
pub struct BackgroundHandle {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl BackgroundHandle {
    /// Asks the job to stop and waits until it has: a run in progress is finished, not cut.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(error) = self.task.await {
            tracing::error!(%error, "background job ended abnormally");
        }
    }

    /// Whether the job has ended.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

/// Runs `job` now and then every `interval` until shut down. Runs never overlap; a run that
/// takes longer than the interval delays the next one instead of queueing several.
pub(crate) fn spawn_periodic<F, Fut>(
    name: &'static str,
    interval: Duration,
    mut job: F,
) -> BackgroundHandle
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval.max(Duration::from_millis(1)));
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                _ = stopped.changed() => break,
                _ = ticks.tick() => job().await,
            }
        }
        tracing::debug!(job = name, "stopped");
    });
    BackgroundHandle { stop, task }
}
