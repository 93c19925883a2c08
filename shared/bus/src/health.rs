//! Readiness as the service's parts report it; `/readyz` reads it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Shared flags: each supervised part sets its own; the service is ready when all are up.
#[derive(Debug, Clone, Default)]
pub struct Readiness(Arc<Flags>);

#[derive(Debug, Default)]
struct Flags {
    consuming: AtomicBool,
    publishing: AtomicBool,
    database: AtomicBool,
    shutting_down: AtomicBool,
    needs_consumer: AtomicBool,
    /// Background workers by name: `true` while running, `false` while down (restarting).
    workers: Mutex<BTreeMap<String, bool>>,
}

/// Why a service is not ready, for the `/readyz` body and the logs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReadinessReport {
    /// True when every part is up and the service is not shutting down.
    pub ready: bool,
    /// The consuming connection and its consumers are running (or the service consumes nothing).
    pub broker_consume: bool,
    /// The publishing connection (outbox relay) is up.
    pub broker_publish: bool,
    /// The database answered the last check.
    pub database: bool,
    /// SIGTERM was received; the service is draining.
    pub shutting_down: bool,
    /// The background workers (daily run, delivery worker …) that are down; empty when all run.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub workers_down: Vec<String>,
}

impl Readiness {
    /// A fresh set of flags, all down.
    pub fn new() -> Self {
        Self::default()
    }
    /// Declares that this service runs consumers (so `/readyz` waits for them).
    pub fn expect_consumer(&self) {
        self.0.needs_consumer.store(true, Ordering::SeqCst);
    }
    /// Sets the consumer flag.
    pub fn set_consuming(&self, up: bool) {
        self.0.consuming.store(up, Ordering::SeqCst);
    }
    /// Sets the publisher flag.
    pub fn set_publishing(&self, up: bool) {
        self.0.publishing.store(up, Ordering::SeqCst);
    }
    /// Sets the database flag.
    pub fn set_database(&self, up: bool) {
        self.0.database.store(up, Ordering::SeqCst);
    }
    /// Marks the service as draining: from now on it reports unready.
    pub fn set_shutting_down(&self) {
        self.0.shutting_down.store(true, Ordering::SeqCst);
    }
    /// Sets a background worker's flag (a worker that has never reported does not count).
    pub fn set_worker(&self, name: &str, up: bool) {
        let mut workers = self
            .0
            .workers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        workers.insert(name.to_owned(), up);
    }
    /// The current state of every flag.
    pub fn report(&self) -> ReadinessReport {
        let f = &self.0;
        let workers_down: Vec<String> = f
            .workers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .filter(|(_, up)| !**up)
            .map(|(name, _)| name.clone())
            .collect();
        let consume =
            f.consuming.load(Ordering::SeqCst) || !f.needs_consumer.load(Ordering::SeqCst);
        let publish = f.publishing.load(Ordering::SeqCst);
        let database = f.database.load(Ordering::SeqCst);
        let shutting_down = f.shutting_down.load(Ordering::SeqCst);
        ReadinessReport {
            ready: consume && publish && database && !shutting_down && workers_down.is_empty(),
            broker_consume: consume,
            broker_publish: publish,
            database,
            shutting_down,
            workers_down,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_that_is_down_makes_the_service_unready_and_is_named() {
        let r = Readiness::new();
        r.set_publishing(true);
        r.set_database(true);
        assert!(r.report().ready);
        r.set_worker("daily-run", true);
        assert!(r.report().ready);
        r.set_worker("daily-run", false);
        let report = r.report();
        assert!(!report.ready);
        assert_eq!(report.workers_down, vec!["daily-run".to_owned()]);
        r.set_worker("daily-run", true);
        assert!(r.report().ready && r.report().workers_down.is_empty());
    }
}
