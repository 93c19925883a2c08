//! Crash points for the fault suite (`just faults`): the process dies at an exact point of its
//! reliability protocol, as a `kill -9` landing there would make it.
//!
//! `RESTANCE_CRASH_AT=<point>:<n>` (an environment variable for test harnesses, deliberately not
//! a `RESTANCE__…` setting) aborts the process the `n`-th time it passes `<point>`. Without it
//! [`reached`] is one relaxed atomic load. The points:
//!
//! | point | where |
//! |---|---|
//! | `consumer.before_commit` | the handler's effects, inbox rows and outbox rows are written, the transaction not yet committed |
//! | `consumer.after_commit` | committed, the deliveries not yet acknowledged (they are redelivered) |
//! | `relay.after_publish` | outbox rows published and confirmed, not yet deleted (they are published again) |
//! | `dunning.run.before_commit` / `dunning.run.after_commit` | a chunk of dunning's daily run: decisions, history and outbox written / committed |
//! | `notifications.after_send` | the SMS gateway or mail server accepted, the outcome not yet committed |
//!
//! The process ends with `abort()`: no destructor, drain or flush runs, the same as SIGKILL for
//! everything the database and the broker can observe.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

struct Armed {
    point: String,
    at: u64,
    passes: AtomicU64,
}

fn armed() -> Option<&'static Armed> {
    static ARMED: OnceLock<Option<Armed>> = OnceLock::new();
    ARMED
        .get_or_init(|| {
            let spec = std::env::var("RESTANCE_CRASH_AT").ok()?;
            let (point, at) = spec.rsplit_once(':')?;
            let at = at.trim().parse::<u64>().ok().filter(|n| *n > 0)?;
            Some(Armed {
                point: point.trim().to_owned(),
                at,
                passes: AtomicU64::new(0),
            })
        })
        .as_ref()
}

/// The armed point and pass number, for the startup log (`None` in production).
pub fn armed_spec() -> Option<(String, u64)> {
    armed().map(|a| (a.point.clone(), a.at))
}

/// Marks a pass through `point`; aborts the process if this is the armed pass.
pub fn reached(point: &str) {
    let Some(a) = armed() else { return };
    if a.point != point {
        return;
    }
    let n = a.passes.fetch_add(1, Ordering::SeqCst) + 1;
    if n == a.at {
        eprintln!("crash point {point} reached (pass {n}): aborting as a kill -9 would");
        std::process::abort();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn unarmed_points_do_nothing() {
        // The test process has no RESTANCE_CRASH_AT: passing any point is a no-op.
        for _ in 0..3 {
            super::reached("consumer.before_commit");
        }
        assert!(super::armed_spec().is_none());
    }
}
