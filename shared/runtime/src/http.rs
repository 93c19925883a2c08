//! `/healthz`, `/readyz`, `/metrics`, merged with a service's `/api/v1/…` router.

use crate::api_guard::{self, ApiLimits, Guard};
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use restance_bus::Readiness;

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
    let api = api.layer(axum::middleware::from_fn_with_state(
        Guard::new(limits),
        api_guard::guard,
    ));
    probes.merge(api)
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
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
