//! `restance dead list|replay`: the dead letters in `<exchange>.<service>.dead`.
//!
//! Listing must not disturb the queue: messages are taken with `basic.get` *without* acking and
//! the channel is then closed, which returns every one of them to the queue, in order. (A quorum
//! queue counts such a return in the message's `x-delivery-count`; that is harmless while the
//! dead queue has no delivery limit — RabbitMQ 3.x — but RabbitMQ 4.x gives quorum queues a
//! default limit of 20, so there the dead queue must be declared with an unlimited one.)
//! Replaying republishes a dead letter's exact bytes to the main exchange with its
//! original routing key (the service's `x-restance-original-routing-key` header, or the
//! broker's `x-death` record) through the shared confirmed publisher, and acks the dead letter
//! only after the broker has confirmed the republish. Bodies are never printed: they hold
//! personal data; and a national id in what is printed (an id a sender chose, a reason) is
//! masked ([`mask_national_ids`]).

use std::collections::BTreeMap;

use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicGetOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Connection};
pub use restance_bus::topology::REPLAYED_FROM_HEADER;
use restance_bus::topology::{ORIGINAL_KEY_HEADER, REASON_HEADER};
use restance_bus::{BusSettings, ConfirmedPublisher, OutgoingMessage, Topology};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::broker;

/// Dead letters republished per confirmed batch.
const REPLAY_BATCH: usize = 100;

/// What can be told about a dead letter without showing its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The AMQP message id, else the envelope `id`.
    pub message_id: Option<String>,
    /// The AMQP type, else the envelope `type`.
    pub message_type: Option<String>,
    /// The routing key it was first published with.
    pub original_key: Option<String>,
    /// Why it is here: the service's reason header, or the broker's `x-death` reason.
    pub reason: Option<String>,
    /// Body size in bytes.
    pub size: usize,
}

/// A dead queue and what is in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadQueue {
    /// The service.
    pub service: String,
    /// The queue name.
    pub queue: String,
    /// `None`: the queue does not exist (the service never ran against this exchange).
    pub listing: Option<Listing>,
}

/// The messages read from an existing dead queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// Messages in the queue when it was read.
    pub total: u32,
    /// The first of them, up to the limit.
    pub letters: Vec<DeadLetter>,
}

/// Which dead letters to replay.
#[derive(Debug, Clone)]
pub enum Selection {
    /// All of them.
    All,
    /// Those with these ids (AMQP message id or envelope id).
    Ids(Vec<String>),
}

/// What a replay did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// Ids of the messages republished (and removed from the dead queue).
    pub replayed: Vec<String>,
    /// Messages left in the dead queue, with why.
    pub left: Vec<(String, String)>,
    /// Messages not selected (returned to the dead queue untouched).
    pub untouched: u64,
    /// Ids asked for but not found in the queue.
    pub not_found: Vec<String>,
}

/// `text` with every person's national id in it masked (`**********`): a run of 10 digits (or
/// `DDMMYY-XXXX`) that is a valid CPR number, or of 11 digits that is a valid fødselsnummer,
/// not part of a longer run of digits. Dead letters' ids and keys are chosen by their senders,
/// and an upstream system may have built one from a national id.
pub fn mask_national_ids(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out: Vec<char> = chars.clone();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() || (i > 0 && chars[i - 1].is_ascii_digit()) {
            i += 1;
            continue;
        }
        let mut end = i;
        while end < chars.len() && chars[end].is_ascii_digit() {
            end += 1;
        }
        // DDMMYY-XXXX: six digits, a hyphen, four digits.
        let hyphenated = end - i == 6
            && chars.get(end) == Some(&'-')
            && (end + 1..end + 5).all(|k| chars.get(k).is_some_and(char::is_ascii_digit))
            && !chars.get(end + 5).is_some_and(char::is_ascii_digit);
        let stop = if hyphenated { end + 5 } else { end };
        let candidate: String = chars[i..stop].iter().collect();
        let digits = candidate.chars().filter(char::is_ascii_digit).count();
        if (digits == 10 || digits == 11)
            && restance_kernel::NationalId::parse_for_kind(
                restance_kernel::PartyKind::Person,
                &candidate,
            )
            .is_ok()
        {
            for c in &mut out[i..stop] {
                if c.is_ascii_digit() {
                    *c = '*';
                }
            }
        }
        i = stop.max(i + 1);
    }
    out.into_iter().collect()
}

/// Describes a dead letter from its properties and body.
pub fn describe(properties: &BasicProperties, body: &[u8]) -> DeadLetter {
    let headers = properties.headers().as_ref().map(FieldTable::inner);
    let header = |name: &str| headers.and_then(|h| h.get(name)).and_then(text);
    let death = headers
        .and_then(|h| h.get("x-death"))
        .and_then(|v| match v {
            AMQPValue::FieldArray(deaths) => deaths.as_slice().first(),
            _ => None,
        })
        .and_then(|v| match v {
            AMQPValue::FieldTable(t) => Some(t.inner()),
            _ => None,
        });
    let death_key = death
        .and_then(|d| d.get("routing-keys"))
        .and_then(|v| match v {
            AMQPValue::FieldArray(keys) => keys.as_slice().first().and_then(text),
            _ => None,
        });
    let death_reason = death.and_then(|d| {
        let reason = d.get("reason").and_then(text)?;
        let queue = d.get("queue").and_then(text);
        Some(match queue {
            Some(queue) => format!("broker: {reason} in {queue} (x-death)"),
            None => format!("broker: {reason} (x-death)"),
        })
    });
    let envelope: Option<Value> = serde_json::from_slice(body).ok();
    let attribute = |name: &str| {
        envelope
            .as_ref()
            .and_then(|v| v.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    DeadLetter {
        message_id: properties
            .message_id()
            .as_ref()
            .map(|s| s.as_str().to_owned())
            .or_else(|| attribute("id")),
        message_type: properties
            .kind()
            .as_ref()
            .map(|s| s.as_str().to_owned())
            .or_else(|| attribute("type")),
        original_key: header(ORIGINAL_KEY_HEADER).or(death_key),
        reason: header(REASON_HEADER).or(death_reason),
        size: body.len(),
    }
}

fn text(value: &AMQPValue) -> Option<String> {
    match value {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
        _ => None,
    }
}

async fn connect(bus: &BusSettings) -> anyhow::Result<Connection> {
    restance_bus::connection::connect(bus, "restance-cli-dead")
        .await
        .map_err(|e| broker::unreachable(bus, &e))
}

fn queue_name(topology: &Topology, service: &str) -> anyhow::Result<ShortString> {
    ShortString::try_new(topology.dead_queue(service))
        .map_err(|_| anyhow::anyhow!("service name {service:?} is too long for a queue name"))
}

/// The queue's message count, or `None` when it does not exist (the broker then closes the
/// channel, so the caller uses a fresh one per queue).
async fn message_count(channel: &Channel, queue: &ShortString) -> anyhow::Result<Option<u32>> {
    let passive = QueueDeclareOptions {
        passive: true,
        ..Default::default()
    };
    match channel
        .queue_declare(queue.clone(), passive, FieldTable::default())
        .await
    {
        Ok(q) => Ok(Some(q.message_count())),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(anyhow::anyhow!("cannot read queue {queue}: {e}")),
    }
}

fn is_not_found(err: &lapin::Error) -> bool {
    matches!(err.kind(), lapin::ErrorKind::ProtocolError(e) if e.get_id() == 404)
}

async fn take(channel: &Channel, queue: &ShortString) -> anyhow::Result<Option<Delivery>> {
    // no_ack false: the message stays the queue's until acked; closing the channel returns it.
    let got = channel
        .basic_get(queue.clone(), BasicGetOptions { no_ack: false })
        .await
        .map_err(|e| anyhow::anyhow!("reading {queue} failed: {e}"))?;
    Ok(got.map(|g| g.delivery))
}

/// Lists up to `limit` dead letters of each service, leaving every queue as it was.
pub async fn list(
    bus: &BusSettings,
    services: &[String],
    limit: u32,
) -> anyhow::Result<Vec<DeadQueue>> {
    let topology = Topology::new(bus.exchange.clone());
    let conn = connect(bus).await?;
    let mut out = Vec::with_capacity(services.len());
    for service in services {
        let queue = queue_name(&topology, service)?;
        let channel = conn.create_channel().await?;
        let Some(total) = message_count(&channel, &queue).await? else {
            out.push(DeadQueue {
                service: service.clone(),
                queue: queue.to_string(),
                listing: None,
            });
            continue;
        };
        let mut letters = Vec::new();
        while letters.len() < usize::try_from(limit).unwrap_or(usize::MAX) {
            match take(&channel, &queue).await? {
                Some(d) => letters.push(describe(&d.properties, &d.data)),
                None => break,
            }
        }
        // Nothing was acked: closing the channel returns every message we hold, in order.
        channel
            .close(200, "listed; returning the messages".into())
            .await?;
        out.push(DeadQueue {
            service: service.clone(),
            queue: queue.to_string(),
            listing: Some(Listing { total, letters }),
        });
    }
    let _ = conn.close(200, "done".into()).await;
    Ok(out)
}

/// Replays the selected dead letters of `service`; see the module docs.
///
/// On an error part-way, the messages already confirmed stay replayed (they are acked) and the
/// rest stay in the dead queue; the error says how many were replayed.
pub async fn replay(
    bus: &BusSettings,
    service: &str,
    selection: &Selection,
) -> anyhow::Result<ReplayReport> {
    let topology = Topology::new(bus.exchange.clone());
    let queue = queue_name(&topology, service)?;
    let conn = connect(bus).await?;
    let channel = conn.create_channel().await?;
    let Some(total) = message_count(&channel, &queue).await? else {
        anyhow::bail!(
            "there is no dead queue {queue} on this broker: has the {service} service run \
             against exchange {}?",
            bus.exchange
        );
    };
    let publisher = broker::publisher(bus).await?;
    let mut report = ReplayReport::default();
    let result = replay_from(
        &channel,
        &queue,
        total,
        selection,
        &publisher,
        bus,
        &mut report,
    )
    .await;
    // Unacked messages (not selected, not replayable, or not confirmed) go back to the queue.
    let _ = channel
        .close(200, "replayed; returning the rest".into())
        .await;
    publisher.close().await;
    let _ = conn.close(200, "done".into()).await;
    if let Selection::Ids(ids) = selection {
        report.not_found = ids
            .iter()
            .filter(|id| {
                !report.replayed.contains(id) && !report.left.iter().any(|(left, _)| left == *id)
            })
            .cloned()
            .collect();
    }
    match result {
        Ok(()) => Ok(report),
        Err(err) => Err(err.context(format!(
            "{} message(s) were replayed before the error; the rest are still in {queue}",
            report.replayed.len()
        ))),
    }
}

async fn replay_from(
    channel: &Channel,
    queue: &ShortString,
    total: u32,
    selection: &Selection,
    publisher: &ConfirmedPublisher,
    bus: &BusSettings,
    report: &mut ReplayReport,
) -> anyhow::Result<()> {
    let mut pending: Vec<(Delivery, OutgoingMessage)> = Vec::new();
    let mut found: Vec<&str> = Vec::new();
    // At most the messages there were at the start: a replayed message that fails again comes
    // back to the end of the queue and must not be replayed twice in one run.
    for _ in 0..total {
        let Some(delivery) = take(channel, queue).await? else {
            break;
        };
        let letter = describe(&delivery.properties, &delivery.data);
        let envelope_id = serde_json::from_slice::<Value>(&delivery.data)
            .ok()
            .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_owned));
        let id = letter
            .message_id
            .clone()
            .unwrap_or_else(|| format!("sha256:{}", hex::encode(Sha256::digest(&delivery.data))));
        if let Selection::Ids(ids) = selection {
            let hit = ids
                .iter()
                .find(|want| **want == id || envelope_id.as_deref() == Some(want.as_str()));
            match hit {
                Some(want) => found.push(want),
                None => {
                    report.untouched += 1;
                    continue;
                }
            }
        }
        let Some(key) = letter.original_key.clone().filter(|k| !k.is_empty()) else {
            report.left.push((
                id,
                "no original routing key (neither the reason header nor x-death has one)".into(),
            ));
            continue;
        };
        let mut headers = BTreeMap::new();
        headers.insert(REPLAYED_FROM_HEADER.to_owned(), queue.to_string());
        let message = OutgoingMessage {
            exchange: None,
            message_type: letter.message_type.clone().unwrap_or_else(|| key.clone()),
            routing_key: key,
            message_id: id,
            headers,
            body: delivery.data.clone(),
            mandatory: true,
        };
        pending.push((delivery, message));
        if pending.len() >= REPLAY_BATCH {
            replay_batch(&mut pending, publisher, bus, report).await?;
        }
        if let Selection::Ids(ids) = selection
            && ids.iter().all(|want| found.contains(&want.as_str()))
        {
            break;
        }
    }
    replay_batch(&mut pending, publisher, bus, report).await
}

/// Republishes the batch with confirms, then acks each dead letter whose republish the broker
/// confirmed. A refused one stays unacked and returns to the dead queue.
async fn replay_batch(
    pending: &mut Vec<(Delivery, OutgoingMessage)>,
    publisher: &ConfirmedPublisher,
    bus: &BusSettings,
    report: &mut ReplayReport,
) -> anyhow::Result<()> {
    if pending.is_empty() {
        return Ok(());
    }
    let messages: Vec<OutgoingMessage> = pending.iter().map(|(_, m)| m.clone()).collect();
    let outcome = broker::publish_confirmed(publisher, &messages)
        .await
        .map_err(|err| anyhow::anyhow!("republishing failed: {}", broker::explain(bus, &err)))?;
    for ((delivery, message), refused) in pending.drain(..).zip(outcome) {
        match refused {
            None => {
                delivery
                    .acker
                    .ack(BasicAckOptions::default())
                    .await
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "message {} was republished but its dead letter could not be \
                             acknowledged ({e}); it stays in the dead queue too",
                            message.message_id
                        )
                    })?;
                report.replayed.push(message.message_id);
            }
            Some(err) => report
                .left
                .push((message.message_id, broker::explain(bus, &err))),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lapin::types::{FieldArray, LongString};

    fn long(s: &str) -> AMQPValue {
        AMQPValue::LongString(LongString::from(s))
    }

    #[test]
    fn national_ids_in_what_is_printed_are_masked_and_nothing_else() {
        // Valid CPR (0101901234 is the fixtures' test person), with and without the hyphen.
        assert_eq!(mask_national_ids("inv-0101901234-1"), "inv-**********-1");
        assert_eq!(mask_national_ids("P 010190-1234"), "P ******-****");
        // Not an id: a date-like run that is no valid CPR, longer runs, short runs, uuids.
        for keep in [
            "day-2026-12-16",
            "3213901234",
            "01019012345678",
            "PAY-1234567",
            "7f0e4c1a-1234-4a5b-9c3d-123456789012",
        ] {
            assert_eq!(mask_national_ids(keep), keep, "{keep}");
        }
    }

    #[test]
    fn a_service_dead_letter_is_described_by_its_headers() {
        let mut headers = FieldTable::default();
        headers.insert(
            REASON_HEADER.into(),
            long("invalid data: data.amount: must be greater than zero"),
        );
        headers.insert(
            ORIGINAL_KEY_HEADER.into(),
            long("billing.invoice.issued.v1"),
        );
        let props = BasicProperties::default()
            .with_message_id("m-1".into())
            .with_type("billing.invoice.issued.v1".into())
            .with_headers(headers);
        let letter = describe(&props, b"{\"secret\":\"0101901234\"}");
        assert_eq!(
            letter,
            DeadLetter {
                message_id: Some("m-1".into()),
                message_type: Some("billing.invoice.issued.v1".into()),
                original_key: Some("billing.invoice.issued.v1".into()),
                reason: Some("invalid data: data.amount: must be greater than zero".into()),
                size: 23,
            }
        );
    }

    #[test]
    fn a_broker_dead_letter_is_described_by_x_death() {
        let mut death = FieldTable::default();
        death.insert("reason".into(), long("delivery_limit"));
        death.insert("queue".into(), long("restance.invoicing"));
        let mut keys = FieldArray::default();
        keys.push(long("bank.payment.received.v1"));
        death.insert("routing-keys".into(), AMQPValue::FieldArray(keys));
        let mut deaths = FieldArray::default();
        deaths.push(AMQPValue::FieldTable(death));
        let mut headers = FieldTable::default();
        headers.insert("x-death".into(), AMQPValue::FieldArray(deaths));
        let props = BasicProperties::default().with_headers(headers);
        let letter = describe(&props, br#"{"id":"e-9","type":"bank.payment.received.v1"}"#);
        assert_eq!(letter.message_id.as_deref(), Some("e-9"));
        assert_eq!(
            letter.message_type.as_deref(),
            Some("bank.payment.received.v1")
        );
        assert_eq!(
            letter.original_key.as_deref(),
            Some("bank.payment.received.v1")
        );
        assert_eq!(
            letter.reason.as_deref(),
            Some("broker: delivery_limit in restance.invoicing (x-death)")
        );
    }
}
