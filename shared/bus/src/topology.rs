//! Exchange and queue names, and their declaration.
//!
//! - `<exchange>`: the one durable topic exchange; routing key = message type.
//! - `<exchange>.dead`: a direct exchange for dead letters.
//! - `<exchange>.<service>[.<purpose>]`: a service's quorum queue(s), bound to the types it consumes.
//! - `<exchange>.<service>.dead`: where that service's dead letters rest, until an operator
//!   replays them (`restance dead replay`).
//!
//! Queues are declared by the service that consumes them, at start, idempotently. Changing a
//! queue's arguments (e.g. the delivery limit) on a live broker needs the queue deleted first
//! (RabbitMQ refuses a redeclaration with other arguments) — or a policy.
//!
//! The two exchanges are declared **passively** first ([`Topology::ensure_exchanges`]): a passive
//! declaration needs no permission, so a broker identity needs no configure permission on them
//! (and cannot delete them). Only when the broker answers NOT_FOUND are they declared for real —
//! which needs configure on them and is what a development broker (guest) gets; a production
//! broker has them from its definitions (`deploy/rabbitmq/definitions.json`) before anyone
//! connects.

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::protocol::{AMQPErrorKind, AMQPSoftError};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{Channel, Connection, ErrorKind, ExchangeKind};

/// Header carrying the reason a message was dead-lettered by a service.
pub const REASON_HEADER: &str = "x-restance-reason";
/// Header carrying the routing key a dead-lettered message was first published with.
pub const ORIGINAL_KEY_HEADER: &str = "x-restance-original-routing-key";
/// Header set by `restance dead replay`: the dead-letter queue a message was replayed from.
/// A replayed message is processed again even though its earlier rejection is in the inbox.
pub const REPLAYED_FROM_HEADER: &str = "x-restance-replayed-from";
/// Header naming the queue that dead-lettered a message.
pub const ORIGINAL_QUEUE_HEADER: &str = "x-restance-original-queue";

/// Names derived from the exchange (tests isolate themselves by choosing a unique exchange).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    exchange: String,
}

impl Topology {
    /// Names for the given main exchange.
    pub fn new(exchange: impl Into<String>) -> Self {
        Self {
            exchange: exchange.into(),
        }
    }
    /// The main topic exchange.
    pub fn exchange(&self) -> &str {
        &self.exchange
    }
    /// The dead-letter exchange.
    pub fn dead_exchange(&self) -> String {
        format!("{}.dead", self.exchange)
    }
    /// A service's consuming queue; `purpose` separates several queues of one service.
    pub fn queue(&self, service: &str, purpose: Option<&str>) -> String {
        match purpose {
            Some(p) => format!("{}.{service}.{p}", self.exchange),
            None => format!("{}.{service}", self.exchange),
        }
    }
    /// A service's dead-letter queue (also the routing key on the dead exchange).
    pub fn dead_queue(&self, service: &str) -> String {
        format!("{}.{service}.dead", self.exchange)
    }

    /// Declares the main and dead-letter exchanges (durable) on `channel`, for real: needs
    /// configure permission on both (a development broker, a test's own exchange). Restance's
    /// publisher and consumers use [`Topology::ensure_exchanges`] instead.
    pub async fn declare_exchanges(&self, channel: &Channel) -> Result<(), lapin::Error> {
        for (name, kind) in self.exchanges() {
            channel
                .exchange_declare(name.as_str().into(), kind, durable(), FieldTable::default())
                .await?;
        }
        Ok(())
    }

    /// Makes sure the main and dead-letter exchanges exist, on channels of its own (closed
    /// again): each is declared passively — which needs no permission, so an identity needs no
    /// configure on the exchanges — and only if the broker answers NOT_FOUND (it then closes the
    /// channel; a new one is opened) declared for real, which needs configure on it (a
    /// development broker; a production broker has them from its definitions). An exchange that
    /// is missing where the identity may not declare it is the broker's ACCESS_REFUSED.
    pub async fn ensure_exchanges(&self, conn: &Connection) -> Result<(), lapin::Error> {
        let mut channel = conn.create_channel().await?;
        let mut outcome = Ok(());
        for (name, kind) in self.exchanges() {
            let passive = ExchangeDeclareOptions {
                passive: true,
                ..durable()
            };
            outcome = match channel
                .exchange_declare(
                    name.as_str().into(),
                    kind.clone(),
                    passive,
                    FieldTable::default(),
                )
                .await
            {
                Err(err) if is_not_found(&err) => {
                    tracing::info!(exchange = %name, "the exchange does not exist; declaring it");
                    channel = conn.create_channel().await?;
                    channel
                        .exchange_declare(
                            name.as_str().into(),
                            kind,
                            durable(),
                            FieldTable::default(),
                        )
                        .await
                }
                other => other,
            };
            if outcome.is_err() {
                break;
            }
        }
        if channel.status().connected() {
            let _ = channel.close(200, "exchanges checked".into()).await;
        }
        outcome
    }

    fn exchanges(&self) -> [(String, ExchangeKind); 2] {
        [
            (self.exchange.clone(), ExchangeKind::Topic),
            (self.dead_exchange(), ExchangeKind::Direct),
        ]
    }

    /// Declares a service's queue with its dead-letter queue and binds it to `keys`, on a
    /// channel of its own (closed again), after [`Topology::ensure_exchanges`]. Returns the queue
    /// name.
    pub async fn declare_service_queue(
        &self,
        conn: &Connection,
        service: &str,
        purpose: Option<&str>,
        keys: &[String],
        delivery_limit: u32,
    ) -> Result<String, lapin::Error> {
        self.ensure_exchanges(conn).await?;
        let channel = conn.create_channel().await?;
        let outcome = self
            .declare_queues(&channel, service, purpose, keys, delivery_limit)
            .await;
        if channel.status().connected() {
            let _ = channel.close(200, "queues declared".into()).await;
        }
        outcome
    }

    async fn declare_queues(
        &self,
        channel: &Channel,
        service: &str,
        purpose: Option<&str>,
        keys: &[String],
        delivery_limit: u32,
    ) -> Result<String, lapin::Error> {
        let dead = self.dead_queue(service);
        let durable = QueueDeclareOptions {
            durable: true,
            ..Default::default()
        };
        // The dead-letter queue is a quorum queue too: dead letters are evidence and must
        // survive a broker node loss.
        channel
            .queue_declare(dead.as_str().into(), durable, quorum_args(None))
            .await?;
        channel
            .queue_bind(
                dead.as_str().into(),
                self.dead_exchange().into(),
                dead.as_str().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;

        let queue = self.queue(service, purpose);
        let mut args = quorum_args(Some(delivery_limit));
        args.insert("x-dead-letter-exchange".into(), long(&self.dead_exchange()));
        // Dead letters of every queue of a service meet in one dead queue.
        args.insert("x-dead-letter-routing-key".into(), long(&dead));
        // At-least-once dead-lettering: the broker keeps a message until the dead queue has
        // confirmed it (needs reject-publish overflow).
        args.insert("x-dead-letter-strategy".into(), long("at-least-once"));
        args.insert("x-overflow".into(), long("reject-publish"));
        channel
            .queue_declare(queue.as_str().into(), durable, args)
            .await?;
        for key in keys {
            channel
                .queue_bind(
                    queue.as_str().into(),
                    self.exchange.as_str().into(),
                    key.as_str().into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
        }
        Ok(queue)
    }
}

fn durable() -> ExchangeDeclareOptions {
    ExchangeDeclareOptions {
        durable: true,
        ..Default::default()
    }
}

/// The broker's NOT_FOUND (404), e.g. for a passive declaration of a missing exchange.
fn is_not_found(err: &lapin::Error) -> bool {
    matches!(err.kind(), ErrorKind::ProtocolError(e)
        if *e.kind() == AMQPErrorKind::Soft(AMQPSoftError::NOTFOUND))
}

fn long(s: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(s))
}

fn quorum_args(delivery_limit: Option<u32>) -> FieldTable {
    let mut args = FieldTable::default();
    // Quorum queues replicate and survive node loss; they also count deliveries, which is
    // what lets a poison message leave the queue instead of looping forever.
    args.insert(ShortString::from("x-queue-type"), long("quorum"));
    if let Some(limit) = delivery_limit {
        args.insert("x-delivery-limit".into(), AMQPValue::LongUInt(limit));
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_design() {
        let t = Topology::new("restance");
        assert_eq!(t.queue("invoicing", None), "restance.invoicing");
        assert_eq!(t.queue("dunning", Some("daily")), "restance.dunning.daily");
        assert_eq!(t.dead_queue("invoicing"), "restance.invoicing.dead");
        assert_eq!(t.dead_exchange(), "restance.dead");
    }
}
