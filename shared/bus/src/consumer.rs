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

use crate::config::BusSettings;
use crate::connection::{Backoff, connect_with_backoff};
use crate::health::Readiness;
use crate::inbox::{self, MessageKey};
use crate::outbox::Outbox;
use crate::publisher::{OutgoingMessage, clip};
use crate::rejection::{RejectedDelivery, Rejection, rejection_messages};
use crate::topology::{REPLAYED_FROM_HEADER, Topology};
use futures_util::{FutureExt, StreamExt};
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Consumer};
use restance_contracts::{DecodeError, Envelope, Message, decode_envelope};
use sea_orm::{
    ConnectionTrait as _, DatabaseConnection, DatabaseTransaction, DbErr, TransactionTrait,
};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// A decoded, not yet processed message handed to a [`BatchHandler`].
#[derive(Debug, Clone)]
pub struct Inbound {
    /// The envelope with its `data` still as JSON.
    pub envelope: Envelope<serde_json::Value>,
    /// The broker redelivered it (an earlier attempt did not ack).
    pub redelivered: bool,
    /// The body as received, kept byte for byte for a dead letter.
    raw: Arc<[u8]>,
}

impl Inbound {
    /// The message type (routing key).
    pub fn message_type(&self) -> &str {
        &self.envelope.r#type
    }

    /// Decodes and validates `data` as `T`; a failure is a [`Rejection`] with field paths.
    pub fn decode<T: Message>(&self) -> Result<T, Rejection> {
        restance_contracts::decode_data::<T>(&self.envelope).map_err(|e| rejection_from(&e))
    }
}

/// What became of one message of a batch.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Its effects are written (or it was a harmless no-op).
    Done,
    /// It cannot be processed: dead letter + rejected event, with this reason.
    Rejected(Rejection),
    /// It names something this service has not learnt yet but may learn any moment: a claim
    /// whose `invoicing.claim.opened.v1` another replica is committing right now. The handler
    /// must not have written anything for it. The runner handles it again after a pause, for
    /// a bounded time ([`BusSettings::not_yet_pause`]), and when it is still not processable
    /// then, dead-letters it with `rejection` as if it had been [`Outcome::Rejected`] at once
    /// (module docs, "Not yet"). `reason` labels the retries in
    /// `restance_bus_not_yet_retries_total{queue, reason}`, e.g. [`UNKNOWN_CLAIM`].
    NotYet {
        /// A metric label (a fixed word, never data from the message).
        reason: &'static str,
        /// The rejection it becomes when the budget is spent.
        rejection: Rejection,
    },
}

/// The [`Outcome::NotYet`] reason for a message naming a claim whose `claim.opened` has not
/// been handled (yet).
pub const UNKNOWN_CLAIM: &str = "unknown_claim";

impl Outcome {
    /// [`Outcome::NotYet`] with its metric label and the rejection it becomes in the end.
    pub fn not_yet(reason: &'static str, rejection: Rejection) -> Self {
        Self::NotYet { reason, rejection }
    }
}

/// A handler failure that is not about one message (the batch is retried).
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] DbErr),
    /// Anything else that is worth a retry.
    #[error("{0}")]
    Other(String),
}

impl HandlerError {
    /// The transaction lost a lock conflict to a concurrent one ([`is_contention`]): retry it.
    pub fn is_contention(&self) -> bool {
        match self {
            Self::Database(err) => is_contention(err),
            Self::Other(_) => false,
        }
    }
}

/// True when `err` says the transaction collided with a concurrent one and will succeed when
/// run again: PostgreSQL `40P01` deadlock_detected, `40001` serialization_failure, `55P03`
/// lock_not_available; SQLite `SQLITE_BUSY` / `SQLITE_LOCKED` (and their extended codes).
pub fn is_contention(err: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    let (DbErr::Exec(RuntimeErr::SqlxError(e))
    | DbErr::Query(RuntimeErr::SqlxError(e))
    | DbErr::Conn(RuntimeErr::SqlxError(e))) = err
    else {
        return false;
    };
    let sea_orm::sqlx::Error::Database(db) = e.as_ref() else {
        return false;
    };
    let Some(code) = db.code() else {
        return false;
    };
    if db
        .try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>()
        .is_some()
    {
        // The extended result code; its low byte is the primary code.
        return code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6));
    }
    matches!(code.as_ref(), "40P01" | "40001" | "55P03")
}

/// How often a whole batch is retried after lock conflicts before it goes one message at a time.
const CONTENTION_RETRIES: u32 = 8;

/// A short pause before retrying after a lock conflict: growing with `attempt`, with jitter so
/// two replicas' retries do not collide again.
fn contention_pause(attempt: u32) -> Duration {
    let jitter = (uuid::Uuid::new_v4().as_u128() % 20) as u64;
    Duration::from_millis(u64::from(attempt.min(10)) * 10 + jitter)
}

/// Events the handler wants published, collected for the outbox of the batch's transaction.
#[derive(Debug)]
pub struct Effects {
    source: String,
    messages: Vec<OutgoingMessage>,
}

impl Effects {
    /// Collects events whose envelopes carry `source` (e.g. `/restance/invoicing`).
    pub fn new(source: impl Into<String>) -> Self {
        Self {
            source: source.into(),
            messages: Vec::new(),
        }
    }

    /// Adds an event; it is published only if the transaction commits.
    pub fn emit<T: Message>(&mut self, data: T) -> Result<(), HandlerError> {
        let envelope = Envelope::new(self.source.clone(), data);
        let msg = OutgoingMessage::from_envelope(&envelope)
            .map_err(|e| HandlerError::Other(format!("cannot serialise {}: {e}", T::TYPE)))?;
        self.messages.push(msg);
        Ok(())
    }

    /// Events collected so far.
    pub fn len(&self) -> usize {
        self.messages.len()
    }

    /// True when nothing was emitted.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// The collected messages.
    pub fn into_messages(self) -> Vec<OutgoingMessage> {
        self.messages
    }
}

/// A service's message handling: load, decide (pure domain), store — within the given
/// transaction. It must not commit, publish or read the clock for business decisions.
pub trait BatchHandler: Send + Sync + 'static {
    /// Handles `batch` (new messages only, in delivery order); returns one outcome per message.
    fn handle(
        &self,
        tx: &DatabaseTransaction,
        batch: &[Inbound],
        effects: &mut Effects,
    ) -> impl Future<Output = Result<Vec<Outcome>, HandlerError>> + Send;
}

/// One queue of a service: its name suffix and the message types bound to it.
#[derive(Debug, Clone)]
pub struct Subscription {
    /// The service name (`invoicing`), used for queue names and rejected events.
    pub service: String,
    /// Optional queue purpose (`<exchange>.<service>.<purpose>`).
    pub purpose: Option<String>,
    /// Routing keys (message types) bound to the queue.
    pub message_types: Vec<String>,
}

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
    /// (re)connect before consuming).
    pub async fn declare(&self, channel: &Channel) -> Result<(), lapin::Error> {
        self.topology
            .declare_service_queue(
                channel,
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
        let mut backoff = Backoff::default();
        loop {
            let Some(conn) = connect_with_backoff(&self.settings.url, &name, &cancel).await else {
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
        let channel = conn.create_channel().await?;
        // Prefetch bounds memory and is what lets a batch fill: the broker keeps this many
        // unacked deliveries in flight to us.
        channel
            .basic_qos(self.settings.prefetch, BasicQosOptions::default())
            .await?;
        self.declare(&channel).await?;
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

    /// Processes a batch, retrying as described in the module docs, until it is committed.
    async fn process_until_committed(
        &self,
        decoded: &[Decoded],
        cancel: &CancellationToken,
    ) -> Committed {
        let mut conflicts = 0u32;
        loop {
            match self.try_process(decoded).await {
                Ok(committed) => return committed,
                Err(err) if err.is_contention() && conflicts < CONTENTION_RETRIES => {
                    conflicts += 1;
                    self.count_contention(&err, conflicts, decoded.len());
                    tokio::time::sleep(contention_pause(conflicts)).await;
                }
                Err(err) if decoded.len() > 1 => {
                    tracing::warn!(queue = %self.queue, error = %err, size = decoded.len(),
                        "batch failed; retrying its messages one by one");
                    break;
                }
                Err(err) => {
                    tracing::warn!(queue = %self.queue, error = %err, "message failed; retrying");
                    break;
                }
            }
        }
        let mut all = Committed::default();
        for (index, one) in decoded.iter().enumerate() {
            let single = std::slice::from_ref(one);
            let mut attempts = 0u32;
            let mut conflicts = 0u32;
            let mut backoff = Backoff::default();
            loop {
                match self.try_process(single).await {
                    Ok(committed) => {
                        all.deferred
                            .extend(committed.deferred.into_iter().map(|(_, r)| (index, r)));
                        all.gave_up.extend(committed.gave_up);
                        break;
                    }
                    Err(err) if err.is_contention() => {
                        // Not the message's fault: never a step towards its rejection.
                        conflicts += 1;
                        self.count_contention(&err, conflicts, 1);
                        tokio::time::sleep(contention_pause(conflicts)).await;
                    }
                    Err(err) => {
                        let db_up = self.database_answers().await;
                        self.readiness.set_database(db_up);
                        if db_up {
                            attempts += 1;
                            if attempts >= 3 {
                                self.reject_poison(one, &err).await;
                                break;
                            }
                        } else {
                            tracing::warn!(queue = %self.queue, "database unreachable; holding deliveries until it is back");
                        }
                        // Never give up on a message because of an outage: wait even when
                        // cancelled, since exiting with unacked work only redelivers it.
                        if !backoff.wait(cancel).await {
                            tokio::time::sleep(Duration::from_millis(500)).await;
                        }
                    }
                }
            }
        }
        all
    }

    fn count_contention(&self, err: &HandlerError, attempt: u32, size: usize) {
        metrics::counter!("restance_bus_contention_retries_total", "queue" => self.queue.clone())
            .increment(1);
        tracing::info!(queue = %self.queue, error = %err, attempt, size,
            "batch collided with a concurrent transaction (lock conflict); retrying it");
    }

    async fn database_answers(&self) -> bool {
        self.db.execute_unprepared("SELECT 1").await.is_ok()
    }

    /// Turns a message that keeps failing while the database works into a rejection.
    ///
    /// A message that was already a rejection (it could not be decoded) and still cannot be
    /// recorded — its key is something the database refuses — is recorded under the hash of
    /// its bytes instead, so it is dead-lettered with its reason and never dropped silently
    /// (found by the fault suite's bad-input campaign: an id holding a NUL character).
    async fn reject_poison(&self, d: &Decoded, err: &HandlerError) {
        let (meta, rejection) = match &d.item {
            Ok(inbound) => (
                RejectedMeta {
                    key: (inbound.envelope.source.clone(), inbound.envelope.id.clone()),
                    message_type: inbound.envelope.r#type.clone(),
                    routing_key: inbound.envelope.r#type.clone(),
                    body: inbound.raw.to_vec(),
                },
                Rejection::new(format!("processing failed repeatedly: {err}")),
            ),
            Err((meta, why)) => (
                RejectedMeta {
                    key: (
                        "amqp".to_owned(),
                        format!("sha256:{}", hex::encode(Sha256::digest(&meta.body))),
                    ),
                    ..meta.clone()
                },
                why.clone(),
            ),
        };
        let poisoned = Decoded {
            replayed: false,
            not_yet: 0,
            item: Err((meta, rejection)),
        };
        let mut backoff = Backoff::default();
        while let Err(e) = self.try_process(std::slice::from_ref(&poisoned)).await {
            tracing::error!(queue = %self.queue, error = %e, "cannot even record a rejection; retrying");
            backoff.wait(&CancellationToken::new()).await;
        }
    }

    async fn try_process(&self, decoded: &[Decoded]) -> Result<Committed, HandlerError> {
        // Same message twice in one batch (a producer retry): the first one counts.
        let mut seen = HashSet::with_capacity(decoded.len());
        let mut keys = Vec::with_capacity(decoded.len());
        for d in decoded {
            let key = match &d.item {
                Ok(i) => (i.envelope.source.clone(), i.envelope.id.clone()),
                Err((meta, _)) => meta.key.clone(),
            };
            if seen.insert(key.clone()) {
                keys.push(key);
            }
        }
        let replayed: Vec<MessageKey> = decoded
            .iter()
            .filter(|d| d.replayed)
            .map(|d| match &d.item {
                Ok(i) => (i.envelope.source.clone(), i.envelope.id.clone()),
                Err((meta, _)) => meta.key.clone(),
            })
            .collect();
        let tx = self.db.begin().await?;
        inbox::forget_rejected(&tx, &replayed).await?;
        let fresh = inbox::record_new(&tx, &keys).await?;
        let mut todo: Vec<Inbound> = Vec::new();
        // The index in `decoded` of each message of `todo`.
        let mut todo_at: Vec<usize> = Vec::new();
        let mut rejected: Vec<(RejectedMeta, Rejection)> = Vec::new();
        let mut taken = HashSet::with_capacity(fresh.len());
        for (at, d) in decoded.iter().enumerate() {
            match &d.item {
                Ok(i) => {
                    let key = (i.envelope.source.clone(), i.envelope.id.clone());
                    if fresh.contains(&key) && taken.insert(key) {
                        todo.push(i.clone());
                        todo_at.push(at);
                    }
                }
                Err((meta, why)) => {
                    if fresh.contains(&meta.key) && taken.insert(meta.key.clone()) {
                        rejected.push((meta.clone(), why.clone()));
                    }
                }
            }
        }
        let duplicates = decoded.len() - todo.len() - rejected.len();
        if duplicates > 0 {
            metrics::counter!("restance_bus_duplicates_total", "queue" => self.queue.clone())
                .increment(duplicates as u64);
        }
        let mut effects = Effects::new(self.source.clone());
        let mut committed = Committed::default();
        let mut forget: Vec<MessageKey> = Vec::new();
        if !todo.is_empty() {
            let outcomes = AssertUnwindSafe(self.handler.handle(&tx, &todo, &mut effects))
                .catch_unwind()
                .await
                .map_err(|_| HandlerError::Other("the handler panicked".into()))??;
            if outcomes.len() != todo.len() {
                return Err(HandlerError::Other(format!(
                    "handler returned {} outcomes for {} messages",
                    outcomes.len(),
                    todo.len()
                )));
            }
            for ((inbound, at), outcome) in todo.iter().zip(todo_at).zip(outcomes) {
                let key = (inbound.envelope.source.clone(), inbound.envelope.id.clone());
                let why = match outcome {
                    Outcome::Done => continue,
                    Outcome::Rejected(why) => why,
                    Outcome::NotYet { reason, rejection } => {
                        if self
                            .settings
                            .not_yet_pause(decoded[at].not_yet + 1)
                            .is_some()
                        {
                            // Handled again later: as if it had not arrived yet.
                            forget.push(key);
                            committed.deferred.push((at, reason));
                            continue;
                        }
                        tracing::info!(queue = %self.queue, message_id = %key.1, reason,
                            attempts = decoded[at].not_yet + 1,
                            "message still names something not known after its retries; dead-lettering it");
                        committed.gave_up.push(reason);
                        rejection
                    }
                };
                let meta = RejectedMeta {
                    key,
                    message_type: inbound.envelope.r#type.clone(),
                    routing_key: inbound.envelope.r#type.clone(),
                    body: inbound.raw.to_vec(),
                };
                rejected.push((meta, why));
            }
        }
        if !forget.is_empty() {
            inbox::forget(&tx, &forget).await?;
        }
        let mut out = effects.into_messages();
        for (meta, why) in &rejected {
            // The type passed the routing-key pattern, but its version digits are input: a
            // national id can hide there (found by fuzzing), so the log shows it with long
            // digit runs hidden, like the rejection reason does.
            tracing::warn!(queue = %self.queue, message_id = %meta.key.1, source = %meta.key.0,
                message_type = %restance_contracts::hide_digit_runs(&meta.message_type),
                reason = %why.short_reason(), "message rejected");
            let delivery = RejectedDelivery {
                message_id: &meta.key.1,
                source: &meta.key.0,
                message_type: &meta.message_type,
                routing_key: &meta.routing_key,
                body: &meta.body,
            };
            let pair = rejection_messages(
                &self.topology,
                &self.subscription.service,
                &self.queue,
                &delivery,
                why,
            )
            .map_err(|e| HandlerError::Other(format!("cannot serialise a rejection: {e}")))?;
            out.extend(pair);
        }
        if !rejected.is_empty() {
            let keys: Vec<MessageKey> = rejected.iter().map(|(m, _)| m.key.clone()).collect();
            inbox::mark_rejected(&tx, &keys).await?;
            metrics::counter!("restance_bus_rejected_total", "queue" => self.queue.clone())
                .increment(rejected.len() as u64);
        }
        self.outbox.enqueue(&tx, &out).await?;
        crate::crashpoint::reached("consumer.before_commit");
        tx.commit().await?;
        crate::crashpoint::reached("consumer.after_commit");
        self.readiness.set_database(true);
        if !out.is_empty() {
            self.outbox.wake();
        }
        Ok(committed)
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
