//! Dead letters with a reason, and the `<service>.message.rejected.v1` that tells the producer.
//!
//! Both go through the outbox in the transaction that records the message in the inbox, so a
//! rejection happens exactly once even if the broker redelivers the message.

use crate::publisher::OutgoingMessage;
use crate::topology::{ORIGINAL_KEY_HEADER, ORIGINAL_QUEUE_HEADER, REASON_HEADER, Topology};
use restance_contracts::{Envelope, MessageRejected, Problem, rejected_type};
use std::collections::BTreeMap;

/// Longest reason kept in a header (a reason must stay a line an operator can read).
pub const MAX_REASON_CHARS: usize = 1000;

/// What the consumer knows about a message it cannot process.
#[derive(Debug, Clone)]
pub struct Rejection {
    /// One line saying what is wrong (no personal data).
    pub reason: String,
    /// Every problem found, with field paths.
    pub problems: Vec<Problem>,
}

impl Rejection {
    /// A rejection with a reason and no field-level problems.
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            problems: Vec::new(),
        }
    }

    /// A rejection listing field problems; the reason joins them.
    pub fn from_problems(summary: &str, problems: Vec<Problem>) -> Self {
        let joined = problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        Self {
            reason: format!("{summary}: {joined}"),
            problems,
        }
    }

    /// The reason cut to [`MAX_REASON_CHARS`].
    pub fn short_reason(&self) -> String {
        truncate(&self.reason, MAX_REASON_CHARS)
    }
}

/// The identity of the rejected delivery, as far as it could be read.
#[derive(Debug, Clone)]
pub struct RejectedDelivery<'a> {
    /// Envelope id, or the AMQP message id, or a hash of the body.
    pub message_id: &'a str,
    /// Envelope source, or `amqp` when the body could not be read.
    pub source: &'a str,
    /// Envelope type, or the routing key.
    pub message_type: &'a str,
    /// The routing key the message arrived with.
    pub routing_key: &'a str,
    /// The raw body, kept byte for byte for a replay.
    pub body: &'a [u8],
}

/// The two outbox rows a rejection produces: the dead letter and the rejected event.
pub fn rejection_messages(
    topology: &Topology,
    service: &str,
    queue: &str,
    delivery: &RejectedDelivery<'_>,
    rejection: &Rejection,
) -> Result<[OutgoingMessage; 2], serde_json::Error> {
    let reason = rejection.short_reason();
    let mut headers = BTreeMap::new();
    headers.insert(REASON_HEADER.to_owned(), reason.clone());
    headers.insert(
        ORIGINAL_KEY_HEADER.to_owned(),
        delivery.routing_key.to_owned(),
    );
    headers.insert(ORIGINAL_QUEUE_HEADER.to_owned(), queue.to_owned());
    let dead = OutgoingMessage {
        exchange: Some(topology.dead_exchange()),
        routing_key: topology.dead_queue(service),
        message_id: delivery.message_id.to_owned(),
        message_type: delivery.message_type.to_owned(),
        headers,
        body: delivery.body.to_vec(),
        mandatory: true,
    };
    let event = MessageRejected {
        message_id: Some(delivery.message_id.to_owned()),
        source: Some(delivery.source.to_owned()),
        message_type: Some(delivery.message_type.to_owned()),
        reason,
        problems: rejection.problems.clone(),
    };
    let envelope = Envelope::new_with_type(
        format!("/restance/{service}"),
        rejected_type(service),
        event,
    );
    let notice = OutgoingMessage::from_envelope(&envelope)?;
    Ok([dead, notice])
}

fn truncate(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max_chars).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_reason_is_cut_to_a_readable_line() {
        let r = Rejection::new("x".repeat(5000));
        assert_eq!(r.short_reason().chars().count(), MAX_REASON_CHARS + 1);
    }
}
