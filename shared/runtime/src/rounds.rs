//! The business-day worker: the work a service does outside its consumer, in rounds.
//!
//! Three services have one — dunning's daily run (a recorded day's debtors, chunk by chunk),
//! reporting's report schedule (a closed date's snapshots and the reports that fall due) and
//! notifications' delivery loop (due letters, SMS and e-mails). Each says what one round is
//! ([`Rounds::round`]); [`run`] is the loop around it, the same for all three:
//!
//! - a round that did work ([`Next::Again`]) is followed by the next at once;
//! - an idle round ([`Next::Idle`]) waits for a wake-up (the consumer recorded a day, planned a
//!   delivery) or the poll interval, whichever comes first — a wake-up may come from a
//!   transaction that has not committed yet, so the next round starts a moment after it;
//! - a failed round (the database or the broker went away) is logged with the worker's name and
//!   retried with the same backoff as the connections ([`restance_bus::Backoff`]); a round never
//!   leaves its work half done (each keeps its own cursor in the database);
//! - on shutdown the loop stops between rounds and calls [`Rounds::stop`] (the delivery loop
//!   lets its sends in flight finish).
//!
//! Run it under [`crate::supervise::spawn_supervised`], which restarts a worker that panicked.

use restance_bus::Backoff;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// What the loop does after a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Work was done and more may be waiting: the next round at once.
    Again,
    /// Nothing to do: wait for a wake-up or the poll interval.
    Idle,
}

impl From<bool> for Next {
    /// `true` (work was done) is [`Next::Again`].
    fn from(worked: bool) -> Self {
        if worked { Next::Again } else { Next::Idle }
    }
}

/// One kind of background work, done in rounds.
pub trait Rounds: Send + Sync {
    /// Names the worker in logs ("daily run", "report schedule", "delivery worker").
    const NAME: &'static str;

    /// A failed round.
    type Error: fmt::Display + Send;

    /// Does the next piece of work. It should return soon after `cancel` fires, with its work
    /// either done or left for the next start.
    fn round(
        &self,
        cancel: &CancellationToken,
    ) -> impl Future<Output = Result<Next, Self::Error>> + Send;

    /// After the last round, on shutdown.
    fn stop(&self) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// When an idle worker looks again.
#[derive(Debug, Clone)]
pub struct Pace {
    /// Notified when there may be work (a day recorded, a delivery planned).
    pub wake: Arc<Notify>,
    /// The longest an idle worker waits without a wake-up.
    pub poll: Duration,
}

/// How long after a wake-up the next round starts: the transaction that woke the worker may
/// still be committing.
const AFTER_WAKE: Duration = Duration::from_millis(50);

/// Runs `worker`'s rounds until `cancel` fires (module documentation).
pub async fn run<R: Rounds>(worker: &R, pace: &Pace, cancel: &CancellationToken) {
    let mut backoff = Backoff::default();
    while !cancel.is_cancelled() {
        match worker.round(cancel).await {
            Ok(Next::Again) => backoff.reset(),
            Ok(Next::Idle) => {
                backoff.reset();
                wait(pace, cancel).await;
            }
            Err(err) => {
                tracing::warn!(worker = R::NAME, error = %err,
                    "a round of the {} failed; retrying with backoff", R::NAME);
                if !backoff.wait(cancel).await {
                    break;
                }
            }
        }
    }
    worker.stop().await;
}

/// Waits for a wake-up (and then [`AFTER_WAKE`]) or the poll interval.
async fn wait(pace: &Pace, cancel: &CancellationToken) {
    tokio::select! {
        () = cancel.cancelled() => {}
        () = pace.wake.notified() => {
            tokio::select! {
                () = cancel.cancelled() => {}
                () = tokio::time::sleep(AFTER_WAKE) => {}
            }
        }
        () = tokio::time::sleep(pace.poll) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Works twice, fails once, then is idle; records its rounds.
    #[derive(Default)]
    struct Script {
        rounds: AtomicUsize,
        stopped: Mutex<bool>,
    }

    impl Rounds for Script {
        const NAME: &'static str = "test worker";
        type Error = String;

        async fn round(&self, _cancel: &CancellationToken) -> Result<Next, String> {
            match self.rounds.fetch_add(1, Ordering::SeqCst) {
                0 | 1 => Ok(Next::Again),
                2 => Err("the database went away".to_owned()),
                _ => Ok(Next::Idle),
            }
        }

        async fn stop(&self) {
            *self.stopped.lock().expect("lock") = true;
        }
    }

    #[tokio::test]
    async fn work_goes_on_at_once_a_failure_backs_off_idle_waits_for_a_wake_up_and_stop_runs_last()
    {
        let worker = Arc::new(Script::default());
        let pace = Pace {
            wake: Arc::new(Notify::new()),
            poll: Duration::from_secs(3),
        };
        let cancel = CancellationToken::new();
        let task = {
            let (worker, pace, cancel) = (worker.clone(), pace.clone(), cancel.clone());
            tokio::spawn(async move { run(&*worker, &pace, &cancel).await })
        };
        let rounds = || worker.rounds.load(Ordering::SeqCst);
        // Two rounds of work, the failure, its backoff (200 ms at most), then idle.
        tokio::time::sleep(Duration::from_millis(1200)).await;
        assert_eq!(rounds(), 4);
        // A wake-up: one more round at once (50 ms after it), then idle again.
        pace.wake.notify_one();
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(rounds(), 5);
        // Without a wake-up, the poll interval.
        tokio::time::sleep(Duration::from_millis(3600)).await;
        assert_eq!(rounds(), 6);
        assert!(!*worker.stopped.lock().expect("lock"));
        cancel.cancel();
        task.await.expect("the loop ends");
        assert!(*worker.stopped.lock().expect("lock"));
    }
}
