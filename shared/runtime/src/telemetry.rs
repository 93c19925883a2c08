//! Logs (tracing, JSON by default) and metrics (Prometheus text).
//!
//! Personal data never reaches a log line by construction: the types that carry it
//! (`NationalId`, `Redacted`, the contract types) print masked, and log statements name ids of
//! messages and claims, never persons. The system tests scan captured logs for the generated
//! national ids, phone numbers and addresses.

use crate::settings::LogSettings;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber (once; later calls are ignored, which suits tests).
pub fn init(settings: &LogSettings) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only for a person at a terminal, never in a log file or a log shipper.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let _ = if settings.format == "text" {
        builder.with_target(false).try_init()
    } else {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init()
    };
}

/// The process-wide Prometheus recorder (installed on first use).
pub fn metrics() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (tests that build several services in
            // one process): then this handle renders nothing, which is acceptable there.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}
