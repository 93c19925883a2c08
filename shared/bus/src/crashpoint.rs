//! Crash points for the fault suite (`just faults`) and the supervision tests: the process dies
//! at an exact point of its reliability protocol, as a `kill -9` landing there would make it, or
//! the task passing the point panics, as a bug there would make it.
//!
//! An environment variable for test harnesses, deliberately not a `RESTANCE__…` setting:
//!
//! - `RESTANCE_CRASH_AT=<point>:<n>` aborts the process the `n`-th time it passes `<point>`;
//! - `RESTANCE_CRASH_AT=panic:<point>:<n>` panics instead, once, in the task that passes
//!   `<point>` the `n`-th time (the panic message starts with `crash point <point> reached`).
//!   The process goes on: a supervised worker (`restance_runtime::supervise`) is restarted,
//!   counted in `restance_worker_restarts_total{worker}`, and what it had claimed comes back
//!   when its lease runs out. Later passes do nothing.
//!
//! Unarmed, [`reached`] is one atomic load. The points (any of them in either mode):
//!
//! | point | where |
//! |---|---|
//! | `consumer.before_commit` | the handler's effects, inbox rows and outbox rows are written, the transaction not yet committed |
//! | `consumer.after_commit` | committed, the deliveries not yet acknowledged (they are redelivered) |
//! | `relay.after_publish` | outbox rows published and confirmed, not yet deleted (they are published again) |
//! | `dunning.run.before_commit` / `dunning.run.after_commit` | a chunk of dunning's daily run: decisions, history and outbox written / committed (with `panic:`, the daily run's worker panics there) |
//! | `notifications.after_send` | the SMS gateway or mail server accepted, the outcome not yet committed |
//! | `notifications.worker.claimed` | notifications' delivery worker claimed a delivery (leased, `sending`) and has not started sending it (with `panic:`, the worker panics with its claims leased) |
//! | `reporting.worker.round` | reporting's report worker is about to look for a day to produce |
//!
//! In abort mode the process ends with `abort()`: no destructor, drain or flush runs, the same
//! as SIGKILL for everything the database and the broker can observe.
//!
//! **Only with the cargo feature `crash-points`** (off by default). Without it [`reached`] is an
//! empty inline function and [`armed_spec`] is always `None`: the binary never reads the
//! variable and its name is not in it, so setting it in production does nothing. The feature is
//! turned on by the crates that need it — `restance-system-tests` (the fault suite, a normal
//! dependency, so `cargo build --workspace --bins` builds the service binaries with the hook)
//! and the dev-dependencies of services whose tests arm a point; each service has a
//! `crash-points` feature forwarding to this one. The image (`deploy/Dockerfile`) builds its
//! binaries with `--workspace --exclude restance-system-tests`, so without the hook, and
//! `just check-no-crash-hook` (part of `just ci`) builds them that way and fails if the
//! variable's name is in any of them.

#[cfg(feature = "crash-points")]
use std::sync::OnceLock;
#[cfg(feature = "crash-points")]
use std::sync::atomic::{AtomicU64, Ordering};

/// What happens at the armed pass.
#[cfg(feature = "crash-points")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    /// `abort()` the process.
    Abort,
    /// Panic in the task passing the point.
    Panic,
}

#[cfg(feature = "crash-points")]
struct Armed {
    point: String,
    at: u64,
    action: Action,
    passes: AtomicU64,
}

/// `[panic:]<point>:<n>` → (point, n, action); `None` when it is not such a spec.
#[cfg(feature = "crash-points")]
fn parse(spec: &str) -> Option<(String, u64, Action)> {
    let (point, at) = spec.trim().rsplit_once(':')?;
    let at = at.trim().parse::<u64>().ok().filter(|n| *n > 0)?;
    let (point, action) = match point.trim().strip_prefix("panic:") {
        Some(p) => (p.trim(), Action::Panic),
        None => (point.trim(), Action::Abort),
    };
    (!point.is_empty()).then(|| (point.to_owned(), at, action))
}

#[cfg(feature = "crash-points")]
fn armed() -> Option<&'static Armed> {
    static ARMED: OnceLock<Option<Armed>> = OnceLock::new();
    ARMED
        .get_or_init(|| {
            let spec = std::env::var("RESTANCE_CRASH_AT").ok()?;
            let (point, at, action) = parse(&spec)?;
            Some(Armed {
                point,
                at,
                action,
                passes: AtomicU64::new(0),
            })
        })
        .as_ref()
}

/// The armed point and pass number, for the startup log (`None` in production); in panic mode
/// the point is given as `panic:<point>`.
#[cfg(feature = "crash-points")]
pub fn armed_spec() -> Option<(String, u64)> {
    armed().map(|a| {
        let point = match a.action {
            Action::Abort => a.point.clone(),
            Action::Panic => format!("panic:{}", a.point),
        };
        (point, a.at)
    })
}

/// Marks a pass through `point`; on the armed pass aborts the process, or (armed with
/// `panic:`) panics.
///
/// # Panics
/// On the armed pass of a point armed with `panic:` — that is its purpose.
#[cfg(feature = "crash-points")]
pub fn reached(point: &str) {
    let Some(a) = armed() else { return };
    if a.point != point {
        return;
    }
    let n = a.passes.fetch_add(1, Ordering::SeqCst) + 1;
    if n == a.at {
        match a.action {
            Action::Abort => {
                eprintln!("crash point {point} reached (pass {n}): aborting as a kill -9 would");
                std::process::abort();
            }
            Action::Panic => {
                eprintln!("crash point {point} reached (pass {n}): panicking as a bug would");
                panic!(
                    "crash point {point} reached (pass {n}): injected panic (RESTANCE_CRASH_AT)"
                );
            }
        }
    }
}

/// The armed point and pass number, for the startup log: always `None` in a build without the
/// `crash-points` feature.
#[cfg(not(feature = "crash-points"))]
#[inline(always)]
pub fn armed_spec() -> Option<(String, u64)> {
    None
}

/// Marks a pass through `point`: nothing in a build without the `crash-points` feature.
#[cfg(not(feature = "crash-points"))]
#[inline(always)]
pub fn reached(_point: &str) {}

#[cfg(test)]
mod tests {
    #[test]
    fn unarmed_points_do_nothing() {
        // The test process has no RESTANCE_CRASH_AT (and without the feature nothing reads
        // it): passing any point is a no-op.
        for _ in 0..3 {
            super::reached("consumer.before_commit");
        }
        assert!(super::armed_spec().is_none());
    }

    #[cfg(feature = "crash-points")]
    #[test]
    fn specs_name_a_point_a_pass_and_whether_to_panic() {
        use super::{Action, parse};
        assert_eq!(
            parse("notifications.after_send:2"),
            Some(("notifications.after_send".to_owned(), 2, Action::Abort))
        );
        assert_eq!(
            parse("panic:notifications.worker.claimed:3"),
            Some(("notifications.worker.claimed".to_owned(), 3, Action::Panic))
        );
        assert_eq!(
            parse(" panic: dunning.run.before_commit : 1 "),
            Some(("dunning.run.before_commit".to_owned(), 1, Action::Panic))
        );
        assert_eq!(parse("relay.after_publish:0"), None);
        assert_eq!(parse("relay.after_publish"), None);
        assert_eq!(parse("panic::1"), None);
        assert_eq!(parse(":1"), None);
    }
}
