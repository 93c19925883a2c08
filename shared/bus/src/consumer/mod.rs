//! The consumer runner: prefetch, batches, one transaction per batch, ack after commit.
//!
//! For each batch of deliveries the runner
//! 1. decodes every envelope (a body that is not a CloudEvent is rejected right here);
//! 2. opens a transaction and records every `(source, id)` in the inbox — duplicates drop out;
//! 3. hands the new messages to the service's [`BatchHandler`], which writes its effects and
//!    returns an [`Outcome`] per message;
//! 4. writes the handler's events, and for each rejected message a dead letter plus a
//!    `<service>.message.rejected.v1`, into the outbox;
//! 5. commits, wakes the relay, and only then acknowledges the deliveries.
//!
//! If a batch fails as a whole the runner retries its messages one by one, so one poison
//! message cannot hold back the others: a message that still fails while the database answers
//! is rejected with the error as its reason; while the database does not answer, the runner
//! waits (unready) and tries again, holding its deliveries — nothing is acked, nothing dropped.
//!
//! A batch that lost a lock conflict to a concurrent transaction — another replica's batch on
//! the same rows: PostgreSQL's deadlock detector chose it, or a serialization failure; SQLite
//! busy or locked ([`is_contention`]) — is retried whole after a short random pause, and such
//! an error never counts toward a message's rejection: it says nothing about the message.
//!
//! ## Not yet
//!
//! A message may name something the service has not learnt *yet*: with replicas, invoicing's
//! `claim.balance_changed` for a new claim can be handled by replica B while replica A is still
//! committing that claim's `claim.opened`. The handler answers [`Outcome::NotYet`] for such a
//! message (and writes nothing for it). The runner then
//! - commits the rest of the batch as usual, but removes the message's key from the inbox in
//!   that transaction ([`inbox::forget`]), so its next handling finds it new;
//! - does **not** acknowledge its delivery: it is parked on this channel and handled again, in
//!   a batch of its own, after a pause growing from `bus.not_yet_first_pause_ms` (200 ms)
//!   doubling up to `bus.not_yet_max_pause_ms` (6 s), every other delivery meanwhile consumed
//!   and acknowledged as usual (each on its own while anything is parked, since a cumulative
//!   ack would take the parked one along);
//! - after `bus.not_yet_attempts` handlings (10: about 30 s, [`BusSettings::not_yet_pause`])
//!   turns the last "not yet" into [`Outcome::Rejected`] with the handler's reason: a dead
//!   letter and a `<service>.message.rejected.v1`, exactly as a rejection at once was before.
//!
//! Each retry is counted in `restance_bus_not_yet_retries_total{queue, reason}` (the reason is
//! a label such as [`UNKNOWN_CLAIM`]) and logged at info level with the message id; a message
//! whose budget ran out in `restance_bus_not_yet_given_up_total{queue, reason}`.
//!
//! **Why a parked delivery, and not a batch retry or a requeue.** A batch-level error retried
//! like contention would hold the whole queue for up to 30 s behind one message whose claim
//! never comes (a producer's bug, a claim opened in another municipality's system): every
//! other debtor's events would wait. A nack with requeue would go back to the head of a quorum
//! queue at once (no pause), count towards the broker's `x-delivery-limit` — whose dead letter
//! carries no reason — and a republished copy with an attempt header would have no pause
//! either. Holding the unacknowledged delivery keeps the guarantees without blocking: it is
//! acknowledged only after the transaction that applied (or rejected) it commits, its inbox
//! key is written in that same transaction, and if this replica dies or loses its channel the
//! broker redelivers it like any unacknowledged delivery. The costs, accepted: a parked
//! delivery takes one place of `bus.prefetch` while it waits; its count of handlings lives in
//! memory, so a redelivery to another replica starts a new budget (a message never waits less
//! than the budget, possibly more); a delivery parked when the service stops is returned to the
//! queue, not dead-lettered; and parked messages are handled after messages that arrived
//! later — harmless for invoicing's claim events, which carry a version and are applied newest
//! first whatever their order ([`restance_contracts`]'s `ClaimEvent::against`).

mod handler;
mod process;

pub use handler::*;

use crate::config::BusSettings;
use crate::connection::{Backoff, connect_with_backoff};
use crate::health::Readiness;
use crate::inbox::MessageKey;
use crate::outbox::Outbox;
use crate::publisher::clip;
use crate::rejection::Rejection;
use crate::topology::{REPLAYED_FROM_HEADER, Topology};
use futures_util::StreamExt;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Consumer};
use restance_contracts::{DecodeError, decode_envelope};
use sea_orm::DatabaseConnection;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Runs one subscription until cancelled: supervised connection, batches, ack after commit.
#[derive(Debug)]
pub struct ConsumerRunner<H> {
    settings: BusSettings,
    topology: Topology,
    subscription: Subscription,
    queue: String,
    db: DatabaseConnection,
    outbox: Outbox,
    handler: Arc<H>,
    readiness: Readiness,
    source: String,
}

struct Decoded {
    /// An operator replayed it from a dead-letter queue: a rejection recorded in the inbox for
    /// its key is forgotten, so it is processed again.
    replayed: bool,
    /// How often its handler said [`Outcome::NotYet`] so far (on this consumer: the count is
    /// not kept across redeliveries).
    not_yet: u32,
    item: Result<Inbound, (RejectedMeta, Rejection)>,
}

/// A delivery of the current channel with its decoded message.
struct Pending {
    tag: u64,
    decoded: Decoded,
}

/// Deliveries whose handler said [`Outcome::NotYet`]: held unacknowledged until their pause is
/// over, then handled again as a batch of their own.
#[derive(Default)]
struct Parked {
    waiting: Vec<(tokio::time::Instant, Pending)>,
}

impl Parked {
    fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    fn next_due(&self) -> Option<tokio::time::Instant> {
        self.waiting.iter().map(|(due, _)| *due).min()
    }

    /// Takes the deliveries whose pause is over, oldest delivery first.
    fn take_due(&mut self, now: tokio::time::Instant) -> Vec<Pending> {
        let (due, wait): (Vec<_>, Vec<_>) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|(at, _)| *at <= now);
        self.waiting = wait;
        let mut due: Vec<Pending> = due.into_iter().map(|(_, p)| p).collect();
        due.sort_by_key(|p| p.tag);
        due
    }
}

/// Sleeps until `due`, or forever when nothing waits.
async fn until(due: Option<tokio::time::Instant>) {
    match due {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// What a committed batch left for later: the indices of the messages that were not yet
/// processable (with their reason label), and the reasons of those whose budget ran out.
#[derive(Default)]
struct Committed {
    deferred: Vec<(usize, &'static str)>,
    gave_up: Vec<&'static str>,
}

#[derive(Clone)]
struct RejectedMeta {
    key: MessageKey,
    message_type: String,
    routing_key: String,
    body: Vec<u8>,
}

impl<H: BatchHandler> ConsumerRunner<H> {
    /// A runner for `subscription`, writing through `db` and `outbox`.
    pub fn new(
        settings: &BusSettings,
        subscription: Subscription,
        db: DatabaseConnection,
        outbox: Outbox,
        handler: Arc<H>,
        readiness: Readiness,
    ) -> Self {
        let topology = Topology::new(settings.exchange.clone());
        let queue = topology.queue(&subscription.service, subscription.purpose.as_deref());
        let source = format!("/restance/{}", subscription.service);
        readiness.expect_consumer();
        Self {
            settings: settings.clone(),
            topology,
            subscription,
            queue,
            db,
            outbox,
            handler,
            readiness,
            source,
        }
    }

    /// The queue this runner consumes.
    pub fn queue(&self) -> &str {
        &self.queue
    }

    /// Declares the queue, its bindings and the dead-letter queue (idempotent; done on every
    /// (re)connect before consuming), after checking the exchanges passively
    /// ([`Topology::ensure_exchanges`]).
    pub async fn declare(&self, conn: &lapin::Connection) -> Result<(), lapin::Error> {
        self.topology
            .declare_service_queue(
                conn,
                &self.subscription.service,
                self.subscription.purpose.as_deref(),
                &self.subscription.message_types,
                self.settings.delivery_limit,
            )
            .await
            .map(|_| ())
    }

    /// Consumes until `cancel` fires; reconnects with backoff whenever the broker goes away.
    pub async fn run(self, cancel: CancellationToken) {
        let name = format!("{}-consume", self.subscription.service);
        // Every series this queue reports, at 0 until something happens: dashboards and alerts
        // (k8s/monitoring) see "none yet" instead of "no data".
        metrics::counter!("restance_bus_consumed_total", "queue" => self.queue.clone())
            .increment(0);
        metrics::counter!("restance_bus_rejected_total", "queue" => self.queue.clone())
            .increment(0);
        let mut backoff = Backoff::default();
        loop {
            let Some(conn) = connect_with_backoff(&self.settings, &name, &cancel).await else {
                break;
            };
            match self.consume_on(&conn, &cancel).await {
                Ok(()) => {
                    let _ = conn.close(200, "shutting down".into()).await;
                    break;
                }
                Err(err) => {
                    self.readiness.set_consuming(false);
                    tracing::warn!(queue = %self.queue, error = %err,
                        "consumer lost its channel; reconnecting");
                    let _ = conn.close(200, "reconnecting".into()).await;
                    if !backoff.wait(&cancel).await {
                        break;
                    }
                }
            }
        }
        self.readiness.set_consuming(false);
    }

    async fn consume_on(
        &self,
        conn: &lapin::Connection,
        cancel: &CancellationToken,
    ) -> Result<(), lapin::Error> {
        self.declare(conn).await?;
        let channel = conn.create_channel().await?;
        // Prefetch bounds memory and is what lets a batch fill: the broker keeps this many
        // unacked deliveries in flight to us.
        channel
            .basic_qos(self.settings.prefetch, BasicQosOptions::default())
            .await?;
        let tag = format!("{}-{}", self.queue, uuid::Uuid::new_v4());
        let mut consumer = channel
            .basic_consume(
                self.queue.as_str().into(),
                tag.as_str().into(),
                BasicConsumeOptions::default(), // manual acks: ack after commit
                FieldTable::default(),
            )
            .await?;
        self.readiness.set_consuming(true);
        tracing::info!(queue = %self.queue, types = ?self.subscription.message_types, "consuming");
        // Deliveries of this channel waiting to be handled again (module docs, "Not yet"); a
        // lost channel returns them to the queue, so they die with it.
        let mut parked = Parked::default();
        loop {
            enum Next {
                Stop,
                Due,
                Delivery(Box<Delivery>),
            }
            let next = tokio::select! {
                () = cancel.cancelled() => Next::Stop,
                () = until(parked.next_due()) => Next::Due,
                next = consumer.next() => match next {
                    Some(d) => Next::Delivery(Box::new(d?)),
                    None => return Err(lapin::Error::from(lapin::ErrorKind::InvalidChannelState(
                        lapin::ChannelState::Closed, "consumer stream ended"))),
                },
            };
            match next {
                Next::Stop => break,
                Next::Due => {
                    let due = parked.take_due(tokio::time::Instant::now());
                    self.process_and_ack(&channel, due, &mut parked, cancel)
                        .await?;
                }
                Next::Delivery(first) => {
                    let batch = self.fill_batch(*first, &mut consumer).await?;
                    let batch = batch.into_iter().map(|d| self.pending(d)).collect();
                    self.process_and_ack(&channel, batch, &mut parked, cancel)
                        .await?;
                }
            }
        }
        // Graceful stop: no new deliveries, then finish those already received.
        channel
            .basic_cancel(tag.as_str().into(), BasicCancelOptions::default())
            .await?;
        self.readiness.set_consuming(false);
        let drain_until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < drain_until {
            match tokio::time::timeout(Duration::from_millis(200), consumer.next()).await {
                Ok(Some(Ok(first))) => {
                    let batch = self.fill_batch(first, &mut consumer).await?;
                    let batch = batch.into_iter().map(|d| self.pending(d)).collect();
                    self.process_and_ack(&channel, batch, &mut parked, &CancellationToken::new())
                        .await?;
                }
                _ => break,
            }
        }
        if !parked.is_empty() {
            // Not acknowledged: closing the channel returns them to the queue for another
            // replica (or this one after its restart), which handles them from the start.
            tracing::info!(queue = %self.queue, waiting = parked.waiting.len(),
                "stopping with messages waiting for what they name; the broker redelivers them");
        }
        let _ = channel.close(200, "shutting down".into()).await;
        Ok(())
    }

    fn pending(&self, d: Delivery) -> Pending {
        Pending {
            tag: d.delivery_tag,
            decoded: self.decode(d),
        }
    }

    async fn fill_batch(
        &self,
        first: Delivery,
        consumer: &mut Consumer,
    ) -> Result<Vec<Delivery>, lapin::Error> {
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + self.settings.batch_linger();
        while batch.len() < self.settings.batch_size {
            match tokio::time::timeout_at(deadline, consumer.next()).await {
                Ok(Some(d)) => batch.push(d?),
                Ok(None) | Err(_) => break,
            }
        }
        Ok(batch)
    }

    async fn process_and_ack(
        &self,
        channel: &Channel,
        batch: Vec<Pending>,
        parked: &mut Parked,
        cancel: &CancellationToken,
    ) -> Result<(), lapin::Error> {
        let started = Instant::now();
        if batch.is_empty() {
            return Ok(());
        }
        let (tags, decoded): (Vec<u64>, Vec<Decoded>) =
            batch.into_iter().map(|p| (p.tag, p.decoded)).unzip();
        let committed = self.process_until_committed(&decoded, cancel).await;
        for reason in committed.gave_up {
            metrics::counter!("restance_bus_not_yet_given_up_total",
                "queue" => self.queue.clone(), "reason" => reason)
            .increment(1);
        }
        let mut later: Vec<Option<&'static str>> = vec![None; decoded.len()];
        for (i, reason) in committed.deferred {
            later[i] = Some(reason);
        }
        let mut done = Vec::with_capacity(tags.len());
        for ((tag, mut d), reason) in tags.into_iter().zip(decoded).zip(later) {
            let Some(reason) = reason else {
                done.push(tag);
                continue;
            };
            d.not_yet += 1;
            // Always a pause: `try_process` defers a message only while it has handlings left
            // (its last "not yet" is a rejection). Acknowledging it here would lose it — its
            // inbox key is gone — so the fallback is one more wait, after which it is rejected.
            let pause = self
                .settings
                .not_yet_pause(d.not_yet)
                .unwrap_or(Duration::from_millis(self.settings.not_yet_max_pause_ms));
            metrics::counter!("restance_bus_not_yet_retries_total",
                "queue" => self.queue.clone(), "reason" => reason)
            .increment(1);
            if let Ok(i) = &d.item {
                tracing::info!(queue = %self.queue, message_id = %i.envelope.id,
                    message_type = %i.envelope.r#type, reason, attempt = d.not_yet,
                    of = self.settings.not_yet_attempts, pause_ms = pause.as_millis() as u64,
                    "message names something not known yet (another replica may be committing it); handling it again after a pause");
            }
            parked.waiting.push((
                tokio::time::Instant::now() + pause,
                Pending { tag, decoded: d },
            ));
        }
        // Ack after commit: every acknowledged delivery is now durable in our database. With
        // nothing parked, every unacknowledged delivery of the channel up to the last one is in
        // this batch: one cumulative ack. A parked delivery (a lower tag) must stay
        // unacknowledged, so then each is acknowledged on its own.
        let count = done.len();
        if parked.is_empty() {
            if let Some(last) = done.iter().max() {
                channel
                    .basic_ack(*last, BasicAckOptions { multiple: true })
                    .await?;
            }
        } else {
            for tag in &done {
                channel
                    .basic_ack(*tag, BasicAckOptions { multiple: false })
                    .await?;
            }
        }
        metrics::counter!("restance_bus_consumed_total", "queue" => self.queue.clone())
            .increment(count as u64);
        metrics::histogram!("restance_bus_batch_seconds", "queue" => self.queue.clone())
            .record(started.elapsed().as_secs_f64());
        Ok(())
    }

    fn decode(&self, d: Delivery) -> Decoded {
        let routing_key = d.routing_key.to_string();
        let replayed = d
            .properties
            .headers()
            .as_ref()
            .is_some_and(|h| h.inner().contains_key(REPLAYED_FROM_HEADER));
        let decoded = decode_envelope(&d.data).and_then(|env| {
            if self.subscription.message_types.contains(&env.r#type) {
                Ok(env)
            } else {
                Err(DecodeError::UnknownType(env.r#type.clone()))
            }
        });
        let item = match decoded {
            Ok(envelope) => Ok(Inbound {
                span: crate::trace::message_span(&envelope),
                envelope,
                redelivered: d.redelivered,
                raw: Arc::from(d.data),
            }),
            Err(err) => {
                // The idempotency key of something unreadable: its AMQP message id if any,
                // else a hash of the body, so a redelivery is still recognised.
                let (source, id, message_type) =
                    match serde_json::from_slice::<serde_json::Value>(&d.data) {
                        Ok(v) => (
                            v.get("source")
                                .and_then(|s| s.as_str())
                                .unwrap_or("amqp")
                                .to_owned(),
                            v.get("id").and_then(|s| s.as_str()).map(str::to_owned),
                            v.get("type").and_then(|s| s.as_str()).map(str::to_owned),
                        ),
                        Err(_) => ("amqp".to_owned(), None, None),
                    };
                let id = id
                    .or_else(|| d.properties.message_id().as_ref().map(|m| m.to_string()))
                    .unwrap_or_else(|| format!("sha256:{}", hex::encode(Sha256::digest(&d.data))));
                Err((
                    RejectedMeta {
                        key: (truncate_key(&source), truncate_key(&id)),
                        // Input: no control character reaches a header or a text column.
                        message_type: clip(
                            &message_type
                                .unwrap_or_else(|| routing_key.clone())
                                .chars()
                                .map(|c| if c.is_control() { ' ' } else { c })
                                .collect::<String>(),
                            200,
                        ),
                        routing_key,
                        body: d.data,
                    },
                    rejection_from(&err),
                ))
            }
        };
        Decoded {
            replayed,
            not_yet: 0,
            item,
        }
    }
}

/// Keys are stored in the inbox; a hostile 1 MiB id must not become a 1 MiB primary key, and
/// an id with control characters (PostgreSQL refuses NUL in text) is stored as its hash.
fn truncate_key(s: &str) -> String {
    if s.len() <= 200 && !s.chars().any(char::is_control) {
        s.to_owned()
    } else {
        format!("sha256:{}", hex::encode(Sha256::digest(s.as_bytes())))
    }
}

fn rejection_from(err: &DecodeError) -> Rejection {
    match err {
        DecodeError::NotCloudEvent(problems) | DecodeError::InvalidData(problems) => {
            Rejection::from_problems(err.summary(), problems.clone())
        }
        other => Rejection::new(other.reason()),
    }
}
