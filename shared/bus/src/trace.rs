//! Tracing across the bus: W3C trace context carried by every message and continued by every
//! consumer, API request and outgoing call.
//!
//! A span that *starts* handling something from outside — a consumed message
//! ([`message_span`]), an API request, a delivery picked up by a worker — declares a
//! `traceparent` field holding its remote parent (empty when there is none, or the one it had
//! was malformed: then a new trace starts). [`TraceLayer`] gives that span its own ids (the
//! parent's trace id, a fresh span id) and every span opened inside it a child of them, kept in
//! the span's extensions. Whatever is published while such a span is current carries the span's
//! `traceparent` ([`current`]; [`crate::OutgoingMessage::from_envelope`] fills it at enqueue, so
//! the outbox stores it with the message), and the runtime's log formatter writes `trace_id`
//! and `span_id` on every line emitted inside.
//!
//! The ids are ours, without OpenTelemetry: propagation costs a few nanoseconds per span and
//! nothing is exported. When an exporter is configured (`telemetry.otlp_endpoint`, the
//! runtime's `telemetry` module), [`TraceLayer::with_sink`] also hands each finished span — its
//! ids, parent, times and fields — to a [`SpanSink`].

use restance_contracts::TraceParent;
use std::cell::Cell;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::SystemTime;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Span, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// The span field naming a span's remote parent (a `traceparent` value, or empty).
pub const TRACEPARENT_FIELD: &str = "traceparent";
/// The span field with the remote parent's `tracestate`.
pub const TRACESTATE_FIELD: &str = "tracestate";

/// The trace context of one span: its own ids, and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpanContext {
    /// This span's ids (`span_id` is the span's own): what its children and the messages it
    /// publishes carry as their parent.
    pub traceparent: TraceParent,
    /// The parent span's id (`None` for the root of a trace).
    pub parent_span_id: Option<[u8; 8]>,
    /// The parent came from outside this process (a message, a request header).
    pub parent_is_remote: bool,
    /// The `tracestate` passed on with the trace.
    pub tracestate: Option<Arc<str>>,
}

impl SpanContext {
    /// A new trace (a span without a parent).
    pub fn new_root() -> SpanContext {
        SpanContext {
            traceparent: TraceParent {
                trace_id: new_trace_id(),
                span_id: new_span_id(),
                sampled: true,
            },
            parent_span_id: None,
            parent_is_remote: false,
            tracestate: None,
        }
    }

    /// A span continuing `remote` (received in a message or a request).
    pub fn continuing(remote: TraceParent, tracestate: Option<Arc<str>>) -> SpanContext {
        SpanContext {
            traceparent: TraceParent {
                span_id: new_span_id(),
                ..remote
            },
            parent_span_id: Some(remote.span_id),
            parent_is_remote: true,
            tracestate,
        }
    }

    /// A child span in this process.
    pub fn child(&self) -> SpanContext {
        SpanContext {
            traceparent: TraceParent {
                span_id: new_span_id(),
                ..self.traceparent
            },
            parent_span_id: Some(self.traceparent.span_id),
            parent_is_remote: false,
            tracestate: self.tracestate.clone(),
        }
    }
}

/// The trace context of the current span, if it belongs to a trace (and [`TraceLayer`] is
/// installed).
pub fn current() -> Option<SpanContext> {
    of_span(&Span::current())
}

/// The trace context of `span`, if it belongs to a trace.
pub fn of_span(span: &Span) -> Option<SpanContext> {
    span.with_subscriber(|(id, dispatch)| {
        let registry = dispatch.downcast_ref::<tracing_subscriber::Registry>()?;
        let data = registry.span(id)?;
        let extensions = data.extensions();
        extensions.get::<SpanContext>().cloned()
    })
    .flatten()
}

/// The `traceparent` header value for an outgoing call made in the current span.
pub fn current_traceparent() -> Option<String> {
    current().map(|c| c.traceparent.to_string())
}

/// The remote parent to give a span's `traceparent` field: the canonical form of `traceparent`
/// when it parses; empty (a new trace) when it is absent or malformed. A malformed one is
/// counted (`restance_trace_malformed_total{kind}`) and logged at debug, never refused.
pub fn remote_parent(traceparent: Option<&str>, kind: &'static str) -> String {
    let Some(value) = traceparent else {
        return String::new();
    };
    match TraceParent::parse(value) {
        Some(tp) => tp.to_string(),
        None => {
            metrics::counter!("restance_trace_malformed_total", "kind" => kind).increment(1);
            // The value itself is not logged: it is input from outside.
            tracing::debug!(
                kind,
                length = value.len(),
                "malformed traceparent ignored; starting a new trace"
            );
            String::new()
        }
    }
}

/// The span a consumer handles one message in: a child of the message's `traceparent` (a new
/// trace when it has none or a malformed one).
pub fn message_span(envelope: &restance_contracts::Envelope<serde_json::Value>) -> Span {
    let parent = remote_parent(envelope.traceparent.as_deref(), "message");
    let tracestate = if parent.is_empty() {
        ""
    } else {
        envelope.tracestate.as_deref().unwrap_or("")
    };
    tracing::info_span!(
        "consume",
        message_type = %envelope.r#type,
        message_id = %envelope.id,
        traceparent = %parent,
        tracestate = %tracestate,
    )
}

/// A span that continues a trace stored earlier (e.g. a delivery handled by a worker after the
/// request that created it committed): `traceparent` as stored, `None` for a new trace.
pub fn resumed_span(name: &'static str, traceparent: Option<&str>) -> Span {
    let parent = remote_parent(traceparent, "stored");
    match name {
        // a span's name must be static at the call site: one macro call per name used
        "delivery" => tracing::info_span!("delivery", traceparent = %parent),
        "debtor" => tracing::info_span!("debtor", traceparent = %parent),
        _ => tracing::info_span!("resumed", traceparent = %parent),
    }
}

/// A finished span, handed to a [`SpanSink`] when an exporter is configured.
#[derive(Debug, Clone)]
pub struct FinishedSpan {
    /// The span's name (`consume`, `request`, …).
    pub name: &'static str,
    /// The module that opened it.
    pub target: &'static str,
    /// Its ids and parent.
    pub context: SpanContext,
    /// When it was opened and closed.
    pub start: SystemTime,
    /// When it was closed.
    pub end: SystemTime,
    /// Its fields as text, in the order recorded.
    pub fields: Vec<(&'static str, String)>,
}

/// Where finished spans go (the runtime's OTLP exporter).
pub trait SpanSink: Send + Sync + 'static {
    /// Takes one finished, sampled span; must not block.
    fn export(&self, span: FinishedSpan);
}

/// The layer that keeps each span's [`SpanContext`] (see the module docs).
#[derive(Clone)]
pub struct TraceLayer {
    sink: Option<Arc<dyn SpanSink>>,
}

impl TraceLayer {
    /// Propagation only: ids, no export.
    pub fn new() -> TraceLayer {
        TraceLayer { sink: None }
    }

    /// Propagation, and every finished sampled span handed to `sink`.
    pub fn with_sink(sink: Arc<dyn SpanSink>) -> TraceLayer {
        TraceLayer { sink: Some(sink) }
    }
}

impl std::fmt::Debug for TraceLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceLayer")
            .field("exports", &self.sink.is_some())
            .finish()
    }
}

impl Default for TraceLayer {
    fn default() -> Self {
        TraceLayer::new()
    }
}

/// What an exported span records besides its context (only with a sink).
struct Recording {
    start: SystemTime,
    fields: Vec<(&'static str, String)>,
}

impl<S> tracing_subscriber::Layer<S> for TraceLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let starts_here = attrs.metadata().fields().field(TRACEPARENT_FIELD).is_some();
        let context = if starts_here {
            let mut remote = RemoteParent::default();
            attrs.record(&mut remote);
            match remote.traceparent.as_deref().and_then(TraceParent::parse) {
                Some(tp) => SpanContext::continuing(tp, remote.tracestate.map(Arc::from)),
                None => SpanContext::new_root(),
            }
        } else {
            let parent = if attrs.is_root() {
                None
            } else if let Some(parent) = attrs.parent() {
                ctx.span(parent)
            } else {
                ctx.lookup_current()
            };
            let Some(parent) = parent else { return };
            let Some(child) = parent
                .extensions()
                .get::<SpanContext>()
                .map(SpanContext::child)
            else {
                return;
            };
            child
        };
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if self.sink.is_some() {
            let mut fields = Fields(Vec::new());
            attrs.record(&mut fields);
            extensions.insert(Recording {
                start: SystemTime::now(),
                fields: fields.0,
            });
        }
        extensions.insert(context);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if self.sink.is_none() {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(recording) = extensions.get_mut::<Recording>() {
            let mut fields = Fields(std::mem::take(&mut recording.fields));
            values.record(&mut fields);
            recording.fields = fields.0;
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(sink) = &self.sink else { return };
        let Some(span) = ctx.span(&id) else { return };
        let mut extensions = span.extensions_mut();
        let Some(context) = extensions.remove::<SpanContext>() else {
            return;
        };
        let Some(recording) = extensions.remove::<Recording>() else {
            return;
        };
        if !context.traceparent.sampled {
            return;
        }
        sink.export(FinishedSpan {
            name: span.metadata().name(),
            target: span.metadata().target(),
            context,
            start: recording.start,
            end: SystemTime::now(),
            fields: recording.fields,
        });
    }
}

#[derive(Default)]
struct RemoteParent {
    traceparent: Option<String>,
    tracestate: Option<String>,
}

impl Visit for RemoteParent {
    fn record_str(&mut self, field: &Field, value: &str) {
        let slot = match field.name() {
            TRACEPARENT_FIELD => &mut self.traceparent,
            TRACESTATE_FIELD => &mut self.tracestate,
            _ => return,
        };
        if !value.is_empty() {
            *slot = Some(value.to_owned());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if matches!(field.name(), TRACEPARENT_FIELD | TRACESTATE_FIELD) {
            let mut text = String::new();
            let _ = write!(text, "{value:?}");
            self.record_str(field, &text);
        }
    }
}

struct Fields(Vec<(&'static str, String)>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if !matches!(field.name(), TRACEPARENT_FIELD | TRACESTATE_FIELD) {
            self.0.push((field.name(), value.to_owned()));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if !matches!(field.name(), TRACEPARENT_FIELD | TRACESTATE_FIELD) {
            self.0.push((field.name(), format!("{value:?}")));
        }
    }
}

thread_local! {
    // splitmix64, seeded per thread from the OS (via a v4 UUID): span ids need to be unique,
    // not secret, and a getrandom call per span would be the most expensive part of a span.
    static SEED: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    let bytes = *uuid::Uuid::new_v4().as_bytes();
    u64::from_le_bytes([
        bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[9], bytes[10],
    ])
}

fn next_u64() -> u64 {
    SEED.with(|s| {
        let mut z = s.get().wrapping_add(0x9e37_79b9_7f4a_7c15);
        s.set(z);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    })
}

fn new_span_id() -> [u8; 8] {
    loop {
        let id = next_u64();
        if id != 0 {
            return id.to_be_bytes();
        }
    }
}

fn new_trace_id() -> [u8; 16] {
    // 122 random bits from the OS: trace ids are compared across every process of the system.
    *uuid::Uuid::new_v4().as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt as _;

    const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn with_layer<R>(f: impl FnOnce() -> R) -> R {
        let subscriber = tracing_subscriber::registry().with(TraceLayer::new());
        tracing::subscriber::with_default(subscriber, f)
    }

    fn envelope(traceparent: Option<&str>) -> restance_contracts::Envelope<serde_json::Value> {
        let mut env = restance_contracts::Envelope::new_with_type(
            "/test",
            "billing.invoice.issued.v1",
            serde_json::json!({}),
        );
        env.traceparent = traceparent.map(str::to_owned);
        env
    }

    #[test]
    fn a_consumed_message_continues_its_trace_with_a_span_of_its_own() {
        with_layer(|| {
            let span = message_span(&envelope(Some(PARENT)));
            let _entered = span.enter();
            let cx = current().expect("a trace");
            assert_eq!(
                cx.traceparent.trace_id_hex(),
                "4bf92f3577b34da6a3ce929d0e0e4736"
            );
            assert_ne!(cx.traceparent.span_id_hex(), "00f067aa0ba902b7");
            assert_eq!(
                cx.parent_span_id,
                TraceParent::parse(PARENT).map(|p| p.span_id)
            );
            assert!(cx.parent_is_remote);
            // a span inside is a child in the same trace
            let inner = tracing::info_span!("inner");
            let _inner = inner.enter();
            let child = current().expect("a trace");
            assert_eq!(child.traceparent.trace_id, cx.traceparent.trace_id);
            assert_eq!(child.parent_span_id, Some(cx.traceparent.span_id));
        });
    }

    #[test]
    fn a_malformed_traceparent_starts_a_new_root_trace() {
        with_layer(|| {
            let span = message_span(&envelope(Some("00-not-a-trace")));
            let cx = of_span(&span).expect("a trace");
            assert_eq!(cx.parent_span_id, None);
            assert!(!cx.parent_is_remote);
            assert_ne!(cx.traceparent.trace_id, [0; 16]);
        });
    }

    #[test]
    fn a_message_without_traceparent_starts_a_new_trace_each() {
        with_layer(|| {
            let a = of_span(&message_span(&envelope(None))).expect("a trace");
            let b = of_span(&message_span(&envelope(None))).expect("a trace");
            assert_ne!(a.traceparent.trace_id, b.traceparent.trace_id);
        });
    }

    fn day(date: &str) -> restance_contracts::messages::DayOpened {
        restance_contracts::messages::DayOpened {
            date: date.parse().expect("date"),
        }
    }

    fn traceparent_of(message: &crate::OutgoingMessage) -> Option<String> {
        let body: serde_json::Value = serde_json::from_slice(&message.body).expect("json");
        body["traceparent"].as_str().map(str::to_owned)
    }

    #[test]
    fn what_a_handler_enqueues_carries_the_context_of_the_span_it_was_enqueued_in() {
        with_layer(|| {
            let inbound = crate::Inbound::from_envelope(envelope(Some(PARENT)));
            let consumer = of_span(inbound.span()).expect("a trace");
            let mut effects = crate::Effects::new("/restance/test");
            inbound
                .span()
                .in_scope(|| effects.emit(day("2026-12-22")))
                .expect("emitted");
            // emitted outside any span: no trace to carry
            effects.emit(day("2026-12-23")).expect("emitted");
            // the outbox stores these bodies as they are and the relay publishes them later,
            // from no span at all: the context is the one captured at enqueue
            let messages = effects.into_messages();
            assert_eq!(
                traceparent_of(&messages[0]),
                Some(consumer.traceparent.to_string())
            );
            assert_eq!(traceparent_of(&messages[1]), None);
        });
    }

    #[test]
    fn a_run_handler_emits_each_event_in_the_trace_of_the_message_it_is_for() {
        with_layer(|| {
            let first = crate::Inbound::from_envelope(envelope(Some(PARENT)));
            let second = crate::Inbound::from_envelope(envelope(None));
            let mut effects = crate::Effects::new("/restance/test");
            first.span().in_scope(|| {
                effects
                    .emit_for(&second, day("2026-12-22"))
                    .expect("emitted");
            });
            let second_cx = of_span(second.span()).expect("a trace");
            let messages = effects.into_messages();
            assert_eq!(
                traceparent_of(&messages[0]),
                Some(second_cx.traceparent.to_string())
            );
        });
    }

    #[test]
    fn an_envelope_with_a_traceparent_of_its_own_keeps_it() {
        with_layer(|| {
            let span = message_span(&envelope(None));
            let _entered = span.enter();
            let own = envelope(Some(PARENT));
            let message = crate::OutgoingMessage::from_envelope(&own).expect("serialises");
            assert_eq!(traceparent_of(&message).as_deref(), Some(PARENT));
        });
    }

    #[test]
    fn outside_any_trace_there_is_no_context() {
        with_layer(|| {
            let span = tracing::info_span!("worker");
            let _entered = span.enter();
            assert_eq!(current(), None);
        });
        assert_eq!(current(), None, "without the layer");
    }
}
