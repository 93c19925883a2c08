//! The wall clock, for operational timing only: SMS quiet hours, retry backoff, leases, how long
//! a request waits for its debtor — and, as the last fallback, the letter date (today in the
//! municipality's time zone) when neither the request nor a business day gives one.
//!
//! Injected so that tests can put the service at 23:00 and then at 08:01.

use chrono::{DateTime, Utc};
use std::fmt::Debug;
use std::sync::Mutex;

/// Tells the time.
pub trait Clock: Send + Sync + Debug + 'static {
    /// Now, in UTC.
    fn now(&self) -> DateTime<Utc>;

    /// Now as milliseconds since the Unix epoch (how the database stores instants).
    fn now_ms(&self) -> i64 {
        self.now().timestamp_millis()
    }
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that says what it is told (tests).
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    /// A clock standing at `at`.
    pub fn new(at: DateTime<Utc>) -> Self {
        Self(Mutex::new(at))
    }

    /// Moves it to `at`.
    pub fn set(&self, at: DateTime<Utc>) {
        if let Ok(mut t) = self.0.lock() {
            *t = at;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
            .lock()
            .map(|t| *t)
            .unwrap_or_else(|e| *e.into_inner())
    }
}
