//! The CloudEvents 1.0 envelope every message travels in (structured JSON mode).
//!
//! ```json
//! {"specversion":"1.0","id":"0194…","source":"/billing/daycare","type":"billing.invoice.issued.v1",
//!  "time":"2026-12-01T06:00:00Z","datacontenttype":"application/json","data":{…}}
//! ```
//! The AMQP body is this JSON with content type [`CONTENT_TYPE`]; the bus copies `id` to the
//! AMQP `message_id` and `type` to the AMQP `type` property. `(source, id)` is the idempotency key.

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
            data,
        }
    }

    /// The same event with `subject` set (e.g. the claim id the event is about).
    pub fn with_subject(mut self, subject: impl Into<String>) -> Envelope<T> {
        self.subject = Some(subject.into());
        self
    }

    /// The AMQP body: this event as structured-mode JSON bytes.
    pub fn to_json_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }

    /// The same event with raw JSON data, e.g. to store in an outbox.
    pub fn into_untyped(self) -> Result<Envelope<Value>, serde_json::Error> {
        let data = serde_json::to_value(&self.data)?;
        Ok(self.map_data(|_| data))
    }
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
            data: f(self.data),
        }
    }
}
