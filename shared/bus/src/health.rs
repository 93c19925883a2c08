//! Readiness as the service's parts report it; `/readyz` reads it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

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
    /// The current state of every flag.
    pub fn report(&self) -> ReadinessReport {
        let f = &self.0;
        let consume =
            f.consuming.load(Ordering::SeqCst) || !f.needs_consumer.load(Ordering::SeqCst);
        let publish = f.publishing.load(Ordering::SeqCst);
        let database = f.database.load(Ordering::SeqCst);
        let shutting_down = f.shutting_down.load(Ordering::SeqCst);
        ReadinessReport {
            ready: consume && publish && database && !shutting_down,
            broker_consume: consume,
            broker_publish: publish,
            database,
            shutting_down,
        }
    }
}
