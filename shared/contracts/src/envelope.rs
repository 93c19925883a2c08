//! The CloudEvents 1.0 envelope every message travels in (structured JSON mode).
//!
//! ```json
//! {"specversion":"1.0","id":"0194…","source":"/billing/daycare","type":"billing.invoice.issued.v1",
//!  "time":"2026-12-01T06:00:00Z","datacontenttype":"application/json","data":{…}}
//! ```
//! The AMQP body is this JSON with content type [`CONTENT_TYPE`]; the bus copies `id` to the
//! AMQP `message_id` and `type` to the AMQP `type` property. `(source, id)` is the idempotency key.
//!
//! `traceparent` and `tracestate` (the CloudEvents distributed-tracing extension, W3C trace
//! context) are optional: the bus fills them from the span that publishes, and continues the
//! trace when it consumes ([`crate::TraceParent`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Message;

/// The AMQP content type of a structured CloudEvent.
pub const CONTENT_TYPE: &str = "application/cloudevents+json";
/// The only `datacontenttype` we produce or accept (when the attribute is present).
pub const DATA_CONTENT_TYPE: &str = "application/json";
/// The CloudEvents version we speak.
pub const SPEC_VERSION: &str = "1.0";

/// A CloudEvents 1.0 event with `data` of type `T` (raw JSON by default, before dispatch).
///
/// Unknown extension attributes on incoming events are ignored, like unknown data fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<T = Value> {
    /// Always `"1.0"`.
    pub specversion: String,
    /// Unique per `source`; with `source` the idempotency key. A UUID v7 for events we create.
    pub id: String,
    /// The producing system or service as a URI reference, e.g. `/billing/daycare` or `/restance/invoicing`.
    pub source: String,
    /// The message type, equal to the routing key, e.g. `billing.invoice.issued.v1`.
    #[serde(rename = "type")]
    pub r#type: String,
    /// When the event happened (RFC 3339, UTC). Informational: business logic runs on business dates.
    pub time: DateTime<Utc>,
    /// `application/json` (or absent, which means the same).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datacontenttype: Option<String>,
    /// Optional subject within the source, e.g. a claim id. Never personal data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// W3C `traceparent` of the span that published the event (distributed-tracing extension).
    /// Kept as received: a malformed one is ignored by the consumer, never a rejection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
    /// W3C `tracestate` that travels with `traceparent` (vendor data, passed on unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracestate: Option<String>,
    /// The message itself.
    pub data: T,
}

impl<T: Message> Envelope<T> {
    /// A new event now, with a fresh UUID v7 id and `type` = [`Message::TYPE`].
    pub fn new(source: impl Into<String>, data: T) -> Envelope<T> {
        Envelope::new_with_type(source, T::TYPE, data)
    }

    /// An event with a caller-chosen id and time, for deterministic ids (e.g. derived from a
    /// natural key in an outbox) and for tests.
    pub fn with_id(
        id: impl Into<String>,
        source: impl Into<String>,
        time: DateTime<Utc>,
        data: T,
    ) -> Envelope<T> {
        Envelope {
            specversion: SPEC_VERSION.to_owned(),
            id: id.into(),
            source: source.into(),
            r#type: T::TYPE.to_owned(),
            time,
            datacontenttype: Some(DATA_CONTENT_TYPE.to_owned()),
            subject: None,
            traceparent: None,
            tracestate: None,
            data,
        }
    }
}

impl<T: Serialize> Envelope<T> {
    /// A new event now whose type is decided at run time — for messages whose routing key
    /// depends on the sender, like [`crate::rejected_type`]`("dunning")`.
    pub fn new_with_type(
        source: impl Into<String>,
        r#type: impl Into<String>,
        data: T,
    ) -> Envelope<T> {
        Envelope {
            specversion: SPEC_VERSION.to_owned(),
            id: uuid::Uuid::now_v7().to_string(),
            source: source.into(),
            r#type: r#type.into(),
            time: Utc::now(),
            datacontenttype: Some(DATA_CONTENT_TYPE.to_owned()),
            subject: None,
            traceparent: None,
            tracestate: None,
            data,
        }
    }

    /// The same event with `subject` set (e.g. the claim id the event is about).
    pub fn with_subject(mut self, subject: impl Into<String>) -> Envelope<T> {
        self.subject = Some(subject.into());
        self
    }

    /// The same event carrying the trace context `traceparent` (and `tracestate`) — for a
    /// publisher that continues a trace; the bus does it for every event a handler emits.
    pub fn with_trace(
        mut self,
        traceparent: impl Into<String>,
        tracestate: Option<String>,
    ) -> Envelope<T> {
        self.traceparent = Some(traceparent.into());
        self.tracestate = tracestate;
        self
    }

    /// The AMQP body: this event as structured-mode JSON bytes.
    pub fn to_json_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }

    /// The AMQP body with `traceparent` and `tracestate` set to the given context when the
    /// event carries none of its own (the bus: the span that enqueues the event), without
    /// copying the event.
    pub fn to_json_bytes_traced(
        &self,
        traceparent: &str,
        tracestate: Option<&str>,
    ) -> Result<Vec<u8>, serde_json::Error> {
        if self.traceparent.is_some() {
            return self.to_json_bytes();
        }
        serde_json::to_vec(&EnvelopeView {
            specversion: &self.specversion,
            id: &self.id,
            source: &self.source,
            r#type: &self.r#type,
            time: &self.time,
            datacontenttype: self.datacontenttype.as_deref(),
            subject: self.subject.as_deref(),
            traceparent: Some(traceparent),
            tracestate,
            data: &self.data,
        })
    }

    /// The same event with raw JSON data, e.g. to store in an outbox.
    pub fn into_untyped(self) -> Result<Envelope<Value>, serde_json::Error> {
        let data = serde_json::to_value(&self.data)?;
        Ok(self.map_data(|_| data))
    }
}

/// [`Envelope`] borrowed, serialised exactly like it (same names, order and omissions).
#[derive(Serialize)]
struct EnvelopeView<'a, T> {
    specversion: &'a str,
    id: &'a str,
    source: &'a str,
    #[serde(rename = "type")]
    r#type: &'a str,
    time: &'a DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    datacontenttype: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    traceparent: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tracestate: Option<&'a str>,
    data: &'a T,
}

impl<T> Envelope<T> {
    /// The idempotency key `(source, id)`: a message with a key already seen has no second effect.
    pub fn idempotency_key(&self) -> (&str, &str) {
        (&self.source, &self.id)
    }

    pub(crate) fn map_data<U>(self, f: impl FnOnce(T) -> U) -> Envelope<U> {
        Envelope {
            specversion: self.specversion,
            id: self.id,
            source: self.source,
            r#type: self.r#type,
            time: self.time,
            datacontenttype: self.datacontenttype,
            subject: self.subject,
            traceparent: self.traceparent,
            tracestate: self.tracestate,
            data: f(self.data),
        }
    }
}
