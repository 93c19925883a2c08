//! Logs (tracing, JSON by default), traces (W3C trace context, OTLP export when configured) and
//! metrics (Prometheus text).
//!
//! Personal data never reaches a log line by construction: the types that carry it
//! (`NationalId`, `Redacted`, the contract types) print masked, and log statements name ids of
//! messages and claims, never persons. The system tests scan captured logs for the generated
//! national ids, phone numbers and addresses. Span fields follow the same rule: they are
//! exported with the span.
//!
//! Every line emitted inside a traced span — a consumed message, an API request, a delivery —
//! carries `trace_id` and `span_id` ([`restance_bus::trace`]). With `telemetry.otlp_endpoint`
//! (`RESTANCE__TELEMETRY__OTLP_ENDPOINT`) set, finished spans are also exported over OTLP
//! (HTTP/protobuf, batched on a thread of their own); unset, nothing is exported and no
//! exporter exists.

use crate::settings::{LogSettings, TelemetrySettings};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use restance_bus::trace::{FinishedSpan, SpanContext, SpanSink, TraceLayer};
use std::sync::{Arc, OnceLock};
use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, JsonFields, Writer};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;

/// Installs the global subscriber with propagation only (no export): for tools and tests.
/// Once; later calls are ignored, which suits tests.
pub fn init(settings: &LogSettings) {
    install(settings, None, std::io::stderr);
}

/// Installs the global subscriber of service `service`: logs, trace propagation, and the OTLP
/// exporter when `telemetry.otlp_endpoint` is set (a bad endpoint is said and tracing goes on
/// without export).
pub fn init_service(service: &str, log: &LogSettings, telemetry: &TelemetrySettings) {
    init_service_with_writer(service, log, telemetry, std::io::stderr);
}

/// [`init_service`] writing the log lines to `writer` (the tests' log capture). Returns
/// whether this call installed the subscriber (false: one was already set).
pub fn init_service_with_writer<W>(
    service: &str,
    log: &LogSettings,
    telemetry: &TelemetrySettings,
    writer: W,
) -> bool
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let sink = match telemetry.endpoint() {
        None => None,
        Some(endpoint) => match OtlpSink::new(service, endpoint) {
            Ok(sink) => Some(sink),
            Err(err) => {
                eprintln!("restance-{service}: OTLP export off: {err}");
                None
            }
        },
    };
    install(log, sink, writer)
}

fn install<W>(settings: &LogSettings, sink: Option<Arc<OtlpSink>>, writer: W) -> bool
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    // The spans that carry the trace (restance_bus::trace, the API's request span) exist at
    // `info` whatever the log level: a quieter log must not cut the trace.
    let filter = if filter
        .max_level_hint()
        .is_some_and(|most| most < LevelFilter::INFO)
    {
        TRACE_SPAN_TARGETS
            .iter()
            .filter_map(|target| target.parse().ok())
            .fold(filter, EnvFilter::add_directive)
    } else {
        filter
    };
    let json = settings.format != "text";
    let trace_layer = match &sink {
        Some(sink) => TraceLayer::with_sink(sink.clone()),
        None => TraceLayer::new(),
    };
    let registry = tracing_subscriber::registry()
        .with(filter)
        .with(trace_layer);
    let installed = if json {
        let format = tracing_subscriber::fmt::format()
            .json()
            .flatten_event(true)
            .with_current_span(false);
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .fmt_fields(JsonFields::new())
            .event_format(WithTraceIds {
                inner: format,
                json,
            });
        registry.with(layer).try_init()
    } else {
        // Colours only for a person at a terminal, never in a log file or a log shipper.
        let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
        let format = tracing_subscriber::fmt::format().with_target(false);
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .with_ansi(ansi)
            .event_format(WithTraceIds {
                inner: format,
                json,
            });
        registry.with(layer).try_init()
    };
    match (installed.is_ok(), sink) {
        (true, Some(sink)) => {
            let _ = EXPORTER.set(sink);
            true
        }
        (ok, _) => ok,
    }
}

/// Where the spans that start or resume a trace are opened.
const TRACE_SPAN_TARGETS: [&str; 2] = ["restance_bus::trace=info", "restance_runtime::http=info"];

static EXPORTER: OnceLock<Arc<OtlpSink>> = OnceLock::new();

/// Exports the spans still buffered (at shutdown); a no-op without an exporter.
pub fn flush() {
    if let Some(sink) = EXPORTER.get() {
        sink.flush();
    }
}

/// The inner formatter's line with `trace_id` and `span_id` of the event's span in front (JSON:
/// the first two fields; text: at the end of the line).
struct WithTraceIds<F> {
    inner: F,
    json: bool,
}

impl<S, N, F> FormatEvent<S, N> for WithTraceIds<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let traced = ctx.parent_span().and_then(|span| {
            span.extensions()
                .get::<SpanContext>()
                .map(|c| c.traceparent)
        });
        let Some(tp) = traced else {
            return self.inner.format_event(ctx, writer, event);
        };
        let mut line = String::with_capacity(256);
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        match line.strip_prefix('{') {
            Some(rest) if self.json => write!(
                writer,
                "{{\"trace_id\":\"{}\",\"span_id\":\"{}\",{rest}",
                tp.trace_id_hex(),
                tp.span_id_hex()
            ),
            _ => {
                let body = line.trim_end_matches('\n');
                writeln!(
                    writer,
                    "{body} trace_id={} span_id={}",
                    tp.trace_id_hex(),
                    tp.span_id_hex()
                )
            }
        }
    }
}

/// Finished spans → OpenTelemetry span data → the SDK's batch processor → OTLP over HTTP.
struct OtlpSink {
    processor: opentelemetry_sdk::trace::BatchSpanProcessor,
    scope: opentelemetry::InstrumentationScope,
}

impl OtlpSink {
    fn new(service: &str, endpoint: &str) -> Result<Arc<OtlpSink>, String> {
        // reqwest's blocking client, built by the exporter on a thread of its own: the batch
        // processor calls it from its own thread, outside any async runtime.
        use opentelemetry_otlp::WithExportConfig as _;
        use opentelemetry_sdk::trace::SpanProcessor as _;
        let url = traces_url(endpoint);
        // reqwest (rustls without a provider of its own) needs the process's provider before
        // it builds a client, even for http://
        restance_bus::tls::install_crypto_provider();
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .with_endpoint(url)
            .build()
            .map_err(|e| e.to_string())?;
        let mut processor = opentelemetry_sdk::trace::BatchSpanProcessor::builder(exporter).build();
        processor.set_resource(
            &opentelemetry_sdk::Resource::builder_empty()
                .with_service_name(format!("restance-{service}"))
                .build(),
        );
        Ok(Arc::new(OtlpSink {
            processor,
            scope: opentelemetry::InstrumentationScope::builder("restance").build(),
        }))
    }

    fn flush(&self) {
        use opentelemetry_sdk::trace::SpanProcessor as _;
        let _ = self.processor.force_flush();
    }
}

/// `http://collector:4318` → `http://collector:4318/v1/traces` (like the OTLP exporters'
/// `OTEL_EXPORTER_OTLP_ENDPOINT`); a URL already ending in `/v1/traces` is kept.
fn traces_url(endpoint: &str) -> String {
    let base = endpoint.trim_end_matches('/');
    if base.ends_with("/v1/traces") {
        base.to_owned()
    } else {
        format!("{base}/v1/traces")
    }
}

impl SpanSink for OtlpSink {
    fn export(&self, span: FinishedSpan) {
        use opentelemetry::trace::{
            SpanContext as OtelContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
        };
        use opentelemetry_sdk::trace::SpanProcessor as _;
        let cx = &span.context;
        let trace_state = cx
            .tracestate
            .as_deref()
            .and_then(|s| s.parse::<TraceState>().ok())
            .unwrap_or_default();
        let kind = match span.name {
            "consume" => SpanKind::Consumer,
            "request" => SpanKind::Server,
            _ => SpanKind::Internal,
        };
        let mut attributes = Vec::with_capacity(span.fields.len() + 1);
        attributes.push(opentelemetry::KeyValue::new("code.namespace", span.target));
        attributes.extend(
            span.fields
                .into_iter()
                .map(|(k, v)| opentelemetry::KeyValue::new(k, v)),
        );
        self.processor.on_end(opentelemetry_sdk::trace::SpanData {
            span_context: OtelContext::new(
                TraceId::from_bytes(cx.traceparent.trace_id),
                SpanId::from_bytes(cx.traceparent.span_id),
                TraceFlags::SAMPLED,
                false,
                trace_state,
            ),
            parent_span_id: cx
                .parent_span_id
                .map_or(SpanId::INVALID, SpanId::from_bytes),
            parent_span_is_remote: cx.parent_is_remote,
            span_kind: kind,
            name: span.name.into(),
            start_time: span.start,
            end_time: span.end,
            attributes,
            dropped_attributes_count: 0,
            events: Default::default(),
            links: Default::default(),
            status: Status::Unset,
            instrumentation_scope: self.scope.clone(),
        });
    }
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

#[cfg(test)]
mod tests {
    use super::traces_url;

    #[test]
    fn the_traces_path_is_added_to_a_base_endpoint_once() {
        assert_eq!(
            traces_url("http://collector:4318"),
            "http://collector:4318/v1/traces"
        );
        assert_eq!(
            traces_url("http://collector:4318/"),
            "http://collector:4318/v1/traces"
        );
        assert_eq!(
            traces_url("http://collector:4318/v1/traces"),
            "http://collector:4318/v1/traces"
        );
    }
}
