//! Every service API behind three bounds, so that one runaway client (a script in a loop, an
//! integration retrying without pause) cannot take a service's API — or its database — from
//! everyone else. The probes (`/healthz`, `/readyz`, `/metrics`) are outside them.
//!
//! - **Rate per client** (`api.rate_per_second`, `api.burst`): a token bucket per bearer token
//!   (kept as a digest, never the token) or, without one, a single bucket for anonymous callers.
//!   Over it: 429 with `Retry-After`.
//! - **In flight** (`api.max_in_flight`): requests being handled at once, all clients together;
//!   over it: 503 with `Retry-After: 1` (shed at once rather than queued without end).
//! - **Time** (`api.request_timeout_ms`): a request still running after it is stopped and
//!   answered 503; its transaction, not committed, is rolled back (every write is one
//!   transaction, and a retried write is recognised by its natural key).
//!
//! Each refusal is counted in `restance_api_refused_total{reason}` and answered as problem
//! details ([`ApiError`]).

use crate::api::ApiError;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// The bounds, from `[api]` (defaults fit a municipality's caseworkers and integrations with
/// room to spare; a load test raises them).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct ApiLimits {
    /// `RESTANCE__API__RATE_PER_SECOND`: sustained requests per second per client.
    pub rate_per_second: u32,
    /// `RESTANCE__API__BURST`: requests a client may make at once before the rate applies.
    pub burst: u32,
    /// `RESTANCE__API__MAX_IN_FLIGHT`: requests handled at once, all clients together.
    pub max_in_flight: u32,
    /// `RESTANCE__API__REQUEST_TIMEOUT_MS`: longest a request may run.
    pub request_timeout_ms: u64,
}

impl Default for ApiLimits {
    fn default() -> Self {
        Self {
            rate_per_second: 50,
            burst: 200,
            max_in_flight: 64,
            request_timeout_ms: 30_000,
        }
    }
}

impl ApiLimits {
    /// Every problem, as `api.<field>: …`.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.rate_per_second == 0 {
            out.push("api.rate_per_second: must be at least 1".to_owned());
        }
        if self.burst == 0 {
            out.push("api.burst: must be at least 1".to_owned());
        }
        if self.max_in_flight == 0 {
            out.push("api.max_in_flight: must be at least 1".to_owned());
        }
        if self.request_timeout_ms == 0 {
            out.push("api.request_timeout_ms: must be at least 1".to_owned());
        }
        out
    }
}

/// Clients remembered at most; past it, buckets full again (idle long enough to have
/// refilled) are forgotten first, and if none is, all are (a flood of distinct tokens cannot
/// grow memory without bound — and each of them is refused by the token check anyway).
const MAX_CLIENTS: usize = 10_000;

/// One request, in the bucket's units (nanotokens: whole numbers, no rounding drift).
const UNIT: u128 = 1_000_000_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// What is left, in [`UNIT`]s.
    units: u128,
    at: Instant,
}

/// The shared state of the guard: one per service.
#[derive(Debug)]
pub struct Guard {
    limits: ApiLimits,
    in_flight: Arc<Semaphore>,
    buckets: Mutex<HashMap<[u8; 16], Bucket>>,
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Over the client's rate; retry after this many seconds.
    Rate(u64),
    /// Too many requests in flight.
    Busy,
}

impl Guard {
    /// A guard with `limits`.
    pub fn new(limits: ApiLimits) -> Arc<Self> {
        Arc::new(Self {
            limits,
            in_flight: Arc::new(Semaphore::new(limits.max_in_flight as usize)),
            buckets: Mutex::new(HashMap::new()),
        })
    }

    /// Takes one request from `client`'s bucket at `now`, or says when to retry.
    pub fn take(&self, client: [u8; 16], now: Instant) -> Result<(), Refused> {
        // a bucket refills `rate` requests per second, i.e. `rate` units per nanosecond
        let rate = u128::from(self.limits.rate_per_second);
        let full = u128::from(self.limits.burst) * UNIT;
        let level = |b: &Bucket| {
            b.units
                .saturating_add(now.saturating_duration_since(b.at).as_nanos() * rate)
                .min(full)
        };
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_CLIENTS && !buckets.contains_key(&client) {
            buckets.retain(|_, b| level(b) < full);
            if buckets.len() >= MAX_CLIENTS {
                buckets.clear();
            }
        }
        let b = buckets.entry(client).or_insert(Bucket {
            units: full,
            at: now,
        });
        b.units = level(b);
        b.at = now;
        if b.units >= UNIT {
            b.units -= UNIT;
            Ok(())
        } else {
            let wait_ns = (UNIT - b.units).div_ceil(rate.max(1));
            let secs = wait_ns.div_ceil(UNIT).max(1);
            Err(Refused::Rate(u64::try_from(secs).unwrap_or(u64::MAX)))
        }
    }
}

/// The client a request counts against: a digest of its `Authorization` header, or the
/// anonymous bucket.
fn client_of(req: &Request) -> [u8; 16] {
    let mut out = [0u8; 16];
    if let Some(value) = req.headers().get(header::AUTHORIZATION) {
        let digest = Sha256::digest(value.as_bytes());
        out.copy_from_slice(&digest[..16]);
    }
    out
}

fn refusal(status: StatusCode, retry_after: u64, reason: &'static str, detail: String) -> Response {
    metrics::counter!("restance_api_refused_total", "reason" => reason).increment(1);
    let mut response = ApiError::new(status, detail).into_response();
    if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

/// The middleware: rate, then in-flight, then time.
pub async fn guard(State(guard): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    if let Err(Refused::Rate(after)) = guard.take(client_of(&req), Instant::now()) {
        return refusal(
            StatusCode::TOO_MANY_REQUESTS,
            after,
            "rate_limited",
            format!(
                "more than {} requests per second from this client; retry after {after} s",
                guard.limits.rate_per_second
            ),
        );
    }
    let Ok(_permit) = guard.in_flight.clone().try_acquire_owned() else {
        return refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            1,
            "overloaded",
            format!(
                "the service is handling {} requests already; retry in a moment",
                guard.limits.max_in_flight
            ),
        );
    };
    let limit = Duration::from_millis(guard.limits.request_timeout_ms);
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            1,
            "timeout",
            format!(
                "the request took longer than {} ms and was stopped; nothing it began was kept — retry",
                guard.limits.request_timeout_ms
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(rate: u32, burst: u32) -> ApiLimits {
        ApiLimits {
            rate_per_second: rate,
            burst,
            ..ApiLimits::default()
        }
    }

    #[test]
    fn a_client_gets_its_burst_then_its_rate() {
        let g = Guard::new(limits(2, 3));
        let t0 = Instant::now();
        let a = [1u8; 16];
        for _ in 0..3 {
            assert_eq!(g.take(a, t0), Ok(()));
        }
        assert_eq!(g.take(a, t0), Err(Refused::Rate(1)));
        // half a second at 2/s refills one
        assert_eq!(g.take(a, t0 + Duration::from_millis(500)), Ok(()));
        assert!(g.take(a, t0 + Duration::from_millis(500)).is_err());
        // a long pause refills to the burst, not beyond
        let later = t0 + Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(g.take(a, later), Ok(()));
        }
        assert!(g.take(a, later).is_err());
    }

    #[test]
    fn clients_do_not_share_a_bucket() {
        let g = Guard::new(limits(1, 1));
        let t0 = Instant::now();
        assert_eq!(g.take([1; 16], t0), Ok(()));
        assert!(g.take([1; 16], t0).is_err());
        assert_eq!(
            g.take([2; 16], t0),
            Ok(()),
            "another token has its own bucket"
        );
    }

    #[test]
    fn a_client_is_told_how_long_to_wait() {
        let g = Guard::new(limits(1, 2));
        let t0 = Instant::now();
        assert_eq!(g.take([3; 16], t0), Ok(()));
        assert_eq!(g.take([3; 16], t0), Ok(()));
        assert_eq!(g.take([3; 16], t0), Err(Refused::Rate(1)));
        // 0.4 s later 0.4 of a request has come back: still one second to wait (rounded up)
        assert_eq!(
            g.take([3; 16], t0 + Duration::from_millis(400)),
            Err(Refused::Rate(1))
        );
        assert_eq!(g.take([3; 16], t0 + Duration::from_millis(1000)), Ok(()));
    }

    #[test]
    fn many_clients_do_not_grow_memory_without_bound() {
        let g = Guard::new(limits(1, 1));
        let t0 = Instant::now();
        for i in 0..(MAX_CLIENTS as u32 + 50) {
            let mut k = [0u8; 16];
            k[..4].copy_from_slice(&i.to_le_bytes());
            let _ = g.take(k, t0);
        }
        assert!(g.buckets.lock().map(|b| b.len()).unwrap_or(0) <= MAX_CLIENTS);
    }

    #[test]
    fn unusable_limits_are_named() {
        let bad = ApiLimits {
            rate_per_second: 0,
            burst: 0,
            max_in_flight: 0,
            request_timeout_ms: 0,
        };
        assert_eq!(bad.problems().len(), 4);
        assert!(ApiLimits::default().problems().is_empty());
    }
}
