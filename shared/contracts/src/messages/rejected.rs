//! `<service>.message.rejected.v1`: a service could not process a message and dead-lettered it;
//! the producer learns why. The routing key names the *rejecting* service, so this type has no
//! fixed [`crate::Message::TYPE`]; send it with [`crate::Envelope::new_with_type`] and
//! [`rejected_type`].

use serde::{Deserialize, Serialize};

use crate::check::Problems;
use crate::decode::{DecodeError, MAX_REASON_BYTES};
use crate::{Problem, Validate};

/// Our services; each may publish `<service>.message.rejected.v1`.
pub const SERVICES: &[&str] = &[
    "invoicing",
    "dunning",
    "agreements",
    "guarantee",
    "notifications",
    "reporting",
    "counselling",
];

/// The routing key a service publishes its rejections under: `<service>.message.rejected.v1`.
pub fn rejected_type(service: &str) -> String {
    format!("{service}.message.rejected.v1")
}

/// The rejected types of all [`SERVICES`], as listed in [`crate::known_types`].
pub(crate) const REJECTED_TYPES: &[&str] = &[
    "invoicing.message.rejected.v1",
    "dunning.message.rejected.v1",
    "agreements.message.rejected.v1",
    "guarantee.message.rejected.v1",
    "notifications.message.rejected.v1",
    "reporting.message.rejected.v1",
    "counselling.message.rejected.v1",
];

/// Whether `type_` is one of our services' rejection types.
pub fn is_rejected_type(type_: &str) -> bool {
    REJECTED_TYPES.contains(&type_)
}

/// A message a service refused (it is in `<exchange>.<service>.dead` with the same reason).
///
/// The identifying fields are absent when the refused bytes did not carry them (e.g. not JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRejected {
    /// The refused message's `id` (or AMQP `message_id`), if it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// The refused message's `source`, if it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The refused message's `type` (or AMQP `type`), if it had one.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub message_type: Option<String>,
    /// One line, at most [`MAX_REASON_BYTES`] bytes, no personal data — same as the dead-letter header.
    pub reason: String,
    /// Every problem found, when the message was readable enough to have them.
    #[serde(default)]
    pub problems: Vec<Problem>,
}

impl MessageRejected {
    /// The rejection for a message that could not be decoded.
    pub fn from_decode_error(
        message_id: Option<String>,
        source: Option<String>,
        message_type: Option<String>,
        error: &DecodeError,
    ) -> MessageRejected {
        MessageRejected {
            message_id,
            source,
            message_type,
            reason: error.reason(),
            problems: error.problems().to_vec(),
        }
    }
}

impl Validate for MessageRejected {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        if self.reason.trim().is_empty() {
            p.add("data.reason", "must not be blank");
        } else if self.reason.len() > MAX_REASON_BYTES {
            p.add(
                "data.reason",
                format!("must be at most {MAX_REASON_BYTES} bytes"),
            );
        } else if self.reason.chars().any(char::is_control) {
            p.add("data.reason", "must be one line");
        }
        p.into_vec()
    }
}
