//! The bus contract in code: the envelope, every message type, routing keys and validation.
//!
//! `shared/contracts/asyncapi.yaml` documents the same contract for people and other systems;
//! a test keeps the two in step (every type has an example that decodes, validates and
//! round-trips through its Rust type).
//!
//! # The envelope
//! Every message is a CloudEvents 1.0 event in structured JSON mode ([`Envelope`]; AMQP content
//! type [`CONTENT_TYPE`]): `specversion`, `id`, `source`, `type`, `time`, `datacontenttype` and the
//! message itself in `data`. Money is a decimal string with two decimals (`"1234.50"`), dates are
//! `YYYY-MM-DD`, instants RFC 3339 UTC, enum values snake_case.
//!
//! # Idempotency
//! `(source, id)` identifies a message: a redelivered or republished message with a key already
//! seen has no second effect (each service's inbox stores it in the same transaction as the
//! effect). Natural keys inside `data` (one claim per `(source, invoice_id)`, one fee per
//! `(claim_id, step)`) catch the same event sent twice under different ids.
//!
//! # Routing keys
//! The routing key on the topic exchange *is* the `type`: `<producer>.<entity>.<event>.v<major>`,
//! e.g. `billing.invoice.issued.v1` ([`Message::TYPE`]). A breaking change is a new major version
//! published alongside the old one; adding an optional field is not breaking, because readers
//! ignore unknown fields. A service that refuses a message publishes
//! `<service>.message.rejected.v1` ([`rejected_type`], [`MessageRejected`]).
//!
//! # Reading a message
//! [`decode_envelope`] checks size, depth, JSON and the CloudEvents attributes; [`decode_data`]
//! (or [`Envelope::into_typed`]) turns `data` into a message and runs [`Validate::validate`].
//! Any [`DecodeError`] has a [`DecodeError::reason`] fit for a dead-letter header.

mod base64;
mod check;
mod decode;
mod envelope;
mod message;
pub mod messages;
mod registry;
mod subject;
pub mod trace_context;

pub use check::{MAX_AMOUNT_MINOR, MAX_ID_CHARS, MAX_TEXT_CHARS};
pub use decode::{
    DecodeError, MAX_ATTRIBUTE_CHARS, MAX_JSON_DEPTH, MAX_MESSAGE_BYTES, MAX_REASON_BYTES,
    decode_data, decode_envelope, hide_digit_runs, is_valid_type,
};
pub use envelope::{CONTENT_TYPE, DATA_CONTENT_TYPE, Envelope, SPEC_VERSION};
pub use message::{Message, Problem, Validate};
pub use messages::*;
pub use registry::{known_types, validate_dynamic};
pub use subject::Subject;
pub use trace_context::TraceParent;
