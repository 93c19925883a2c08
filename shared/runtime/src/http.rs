//! `/healthz`, `/readyz`, `/metrics`, merged with a service's `/api/v1/…` router.
//!
//! Every API request is handled in a `request` span that continues the caller's W3C
//! `traceparent`/`tracestate` headers (a new trace without them, or with a malformed one): its
//! log lines carry `trace_id`, and the messages an API write publishes carry its trace.

use crate::api_guard::{self, ApiLimits, Guard};
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use restance_bus::Readiness;
use tracing::Instrument as _;

#[derive(Clone)]
struct ProbeState {
    readiness: Readiness,
    metrics: PrometheusHandle,
}

/// The probe routes; `api` is merged in (it carries its own state) behind the rate, in-flight
/// and time bounds of `limits` ([`crate::api_guard`]), which the probes are not behind.
pub fn router(
    readiness: Readiness,
    metrics: PrometheusHandle,
    api: Router,
    limits: ApiLimits,
) -> Router {
    let probes = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(render_metrics))
        .with_state(ProbeState { readiness, metrics });
    let api = api
        .layer(axum::middleware::from_fn_with_state(
            Guard::new(limits),
            api_guard::guard,
        ))
        .layer(axum::middleware::from_fn(measure))
        .layer(axum::middleware::from_fn(traced));
    probes.merge(api)
}

/// Runs the request in a `request` span continuing its `traceparent` header
/// ([`restance_bus::trace`]): a new trace without one or with a malformed one.
async fn traced(request: Request, next: Next) -> Response {
    // (the headers are read before the request moves on: a borrow of it held across the
    // await would make the future not Send)
    let headers = request.headers();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (traceparent, tracestate) = (header("traceparent"), header("tracestate"));
    let parent = restance_bus::trace::remote_parent(traceparent.as_deref(), "http");
    let tracestate = match tracestate {
        Some(state)
            if !parent.is_empty()
                && restance_contracts::trace_context::is_carried_tracestate(&state) =>
        {
            state
        }
        _ => String::new(),
    };
    // The route's pattern, not the path: paths hold ids.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        route = %route,
        traceparent = %parent,
        tracestate = %tracestate,
    );
    next.run(request).instrument(span).await
}

/// Counts every API request by route template (never the path itself: it can carry ids) and
/// status, and times it: `restance_http_requests_total{route, status}` and
/// `restance_http_request_duration_seconds{route}` (a summary, like every timing here).
/// Outside the guard, so refused requests (429, 503) count too.
async fn measure(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("restance_http_requests_total", "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("restance_http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

async fn healthz() -> &'static str {
    "ok"
}

/// 200 when the database and broker are reachable and the service is not draining; 503 with
/// the parts that are down otherwise.
async fn readyz(State(state): State<ProbeState>) -> impl IntoResponse {
    let report = state.readiness.report();
    let status = if report.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(report))
}

async fn render_metrics(State(state): State<ProbeState>) -> impl IntoResponse {
    // What `/readyz` would answer now, for alerting on a replica that stays unready.
    let ready = state.readiness.report().ready;
    metrics::gauge!("restance_ready").set(if ready { 1.0 } else { 0.0 });
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
