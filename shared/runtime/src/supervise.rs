//! Background workers that cannot silently die: the daily run, the delivery worker, the report
//! worker.
//!
//! [`spawn_supervised`] runs a worker for the life of the service. If it panics (a bug, an
//! unexpected input) or returns before shutdown, the service does not go on "ready" with no
//! worker: the worker is marked down in [`Readiness`] (so `/readyz` answers 503 and names it),
//! the restart is counted in `restance_worker_restarts_total{worker}` and logged as an error, and
//! after a backoff (1 s doubling to 30 s; reset after a minute of running) a fresh worker starts.
//! Workers keep their progress in the database, so a fresh one resumes where the last commit
//! left off. On shutdown the supervisor waits for the worker to finish and returns.

use std::future::Future;
use std::time::{Duration, Instant};

use restance_bus::Readiness;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The first wait before a restart; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest wait between restarts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A worker that ran this long before failing starts over from the first backoff.
const STABLE_AFTER: Duration = Duration::from_secs(60);

/// Spawns `make()` under supervision (see the module documentation); `name` names the worker in
/// readiness, the metric and the logs. `make` is called again for every restart.
pub fn spawn_supervised<F, Fut>(
    name: &'static str,
    readiness: Readiness,
    cancel: CancellationToken,
    make: F,
) -> JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    metrics::describe_counter!(
        "restance_worker_restarts_total",
        "Background workers restarted after a panic or an unexpected stop"
    );
    // At 0 from the start, so an alert on its increase sees the first restart.
    metrics::counter!("restance_worker_restarts_total", "worker" => name).increment(0);
    tokio::spawn(async move {
        let mut backoff = FIRST_BACKOFF;
        loop {
            readiness.set_worker(name, true);
            let started = Instant::now();
            let outcome = tokio::spawn(make()).await;
            if cancel.is_cancelled() {
                return;
            }
            readiness.set_worker(name, false);
            metrics::counter!("restance_worker_restarts_total", "worker" => name).increment(1);
            match outcome {
                Ok(()) => tracing::error!(
                    worker = name,
                    "worker stopped although the service is not shutting down; restarting it"
                ),
                Err(err) if err.is_panic() => {
                    let why = panic_text(err.into_panic());
                    tracing::error!(worker = name, panic = %why, "worker panicked; restarting it");
                }
                Err(err) => {
                    tracing::error!(worker = name, error = %err, "worker was cancelled; restarting it")
                }
            }
            if started.elapsed() >= STABLE_AFTER {
                backoff = FIRST_BACKOFF;
            }
            tracing::info!(
                worker = name,
                wait_ms = backoff.as_millis() as u64,
                "worker restarts after a pause"
            );
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    })
}

/// The panic's message, when it is a string (it nearly always is).
fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(payload) => match payload.downcast::<&'static str>() {
            Ok(s) => (*s).to_owned(),
            Err(_) => "a panic without a message".to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn ready() -> Readiness {
        let r = Readiness::new();
        r.set_publishing(true);
        r.set_database(true);
        r
    }

    #[tokio::test]
    async fn a_worker_that_panics_is_restarted_and_unready_meanwhile() {
        let readiness = ready();
        let cancel = CancellationToken::new();
        let starts = Arc::new(AtomicU32::new(0));
        let counter = starts.clone();
        let token = cancel.clone();
        let handle = spawn_supervised(
            "test-worker",
            readiness.clone(),
            cancel.clone(),
            move || {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                let token = token.clone();
                async move {
                    if n == 0 {
                        panic!("injected failure in the first run");
                    }
                    // a well-behaved worker: runs until shutdown
                    token.cancelled().await;
                }
            },
        );
        // the first run panics at once: down, and named
        tokio::time::sleep(Duration::from_millis(10)).await;
        let report = readiness.report();
        assert!(!report.ready);
        assert_eq!(report.workers_down, vec!["test-worker".to_owned()]);
        // after the backoff a second run starts and stays up
        tokio::time::sleep(FIRST_BACKOFF + Duration::from_millis(10)).await;
        assert_eq!(starts.load(Ordering::SeqCst), 2);
        assert!(readiness.report().ready);
        cancel.cancel();
        handle.await.expect("the supervisor ends on shutdown");
    }

    #[tokio::test]
    async fn a_worker_that_stops_on_shutdown_is_not_restarted() {
        let readiness = ready();
        let cancel = CancellationToken::new();
        let starts = Arc::new(AtomicU32::new(0));
        let counter = starts.clone();
        let token = cancel.clone();
        let handle = spawn_supervised("quiet", readiness.clone(), cancel.clone(), move || {
            counter.fetch_add(1, Ordering::SeqCst);
            let token = token.clone();
            async move { token.cancelled().await }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        cancel.cancel();
        handle.await.expect("ends");
        assert_eq!(starts.load(Ordering::SeqCst), 1);
        assert!(readiness.report().ready, "a clean stop is not a failure");
    }

    #[test]
    fn a_panic_message_is_kept() {
        assert_eq!(panic_text(Box::new("x")), "x");
        assert_eq!(panic_text(Box::new(String::from("y"))), "y");
        assert_eq!(panic_text(Box::new(3_u8)), "a panic without a message");
    }
}
