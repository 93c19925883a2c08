//! What a service's handler sees: the inbound message, its outcome, the handler's errors and
//! effects, the [`BatchHandler`] trait and a [`Subscription`].

use super::rejection_from;
use crate::publisher::OutgoingMessage;
use crate::rejection::Rejection;
use restance_contracts::{Envelope, Message};
use sea_orm::{DatabaseTransaction, DbErr};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// A decoded, not yet processed message handed to a [`BatchHandler`].
#[derive(Debug, Clone)]
pub struct Inbound {
    /// The envelope with its `data` still as JSON.
    pub envelope: Envelope<serde_json::Value>,
    /// The broker redelivered it (an earlier attempt did not ack).
    pub redelivered: bool,
    /// The body as received, kept byte for byte for a dead letter.
    pub(super) raw: Arc<[u8]>,
    /// The span the message is handled in: a child of its `traceparent`
    /// ([`crate::trace::message_span`]).
    pub(crate) span: tracing::Span,
}

impl Inbound {
    /// A message as if just received (for tests and tools that hand messages to a handler
    /// directly): the body kept for a dead letter is the envelope's JSON.
    pub fn from_envelope(envelope: Envelope<serde_json::Value>) -> Self {
        let raw: Arc<[u8]> = serde_json::to_vec(&envelope).unwrap_or_default().into();
        let span = crate::trace::message_span(&envelope);
        Self {
            span,
            envelope,
            redelivered: false,
            raw,
        }
    }

    /// The span this message is handled in; what is emitted inside it carries its trace.
    /// The router enters it around each handler; a handler of a run ([`crate::OnRun`]) enters
    /// it around what it does for one message of the run.
    pub fn span(&self) -> &tracing::Span {
        &self.span
    }

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
pub(super) const CONTENTION_RETRIES: u32 = 8;

/// A short pause before retrying after a lock conflict: growing with `attempt`, with jitter so
/// two replicas' retries do not collide again.
pub(super) fn contention_pause(attempt: u32) -> Duration {
    let jitter = (uuid::Uuid::new_v4().as_u128() % 20) as u64;
    Duration::from_millis(u64::from(attempt.min(10)) * 10 + jitter)
}

/// Events the handler wants published, collected for the outbox of the batch's transaction.
#[derive(Debug)]
pub struct Effects {
    pub(super) source: String,
    pub(super) messages: Vec<OutgoingMessage>,
}

impl Effects {
    /// Collects events whose envelopes carry `source` (e.g. `/restance/invoicing`).
    pub fn new(source: impl Into<String>) -> Self {
        Self {
            source: source.into(),
            messages: Vec::new(),
        }
    }

    /// Adds an event; it is published only if the transaction commits. It carries the trace
    /// of the current span (the message being handled).
    pub fn emit<T: Message>(&mut self, data: T) -> Result<(), HandlerError> {
        let envelope = Envelope::new(self.source.clone(), data);
        let msg = OutgoingMessage::from_envelope(&envelope)
            .map_err(|e| HandlerError::Other(format!("cannot serialise {}: {e}", T::TYPE)))?;
        self.messages.push(msg);
        Ok(())
    }

    /// Adds an event caused by `cause` (one message of a run): it carries that message's
    /// trace, whatever span is current.
    pub fn emit_for<T: Message>(&mut self, cause: &Inbound, data: T) -> Result<(), HandlerError> {
        cause.span.in_scope(|| self.emit(data))
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

/// SHA-256 (hex) of a message's data as it decoded: the same content gives the same hash
/// whatever the envelope around it (a natural key received again with other content is refused
/// by comparing these).
pub fn content_hash<T: serde::Serialize>(data: &T) -> Result<String, HandlerError> {
    use sha2::{Digest, Sha256};
    let bytes = serde_json::to_vec(data)
        .map_err(|e| HandlerError::Other(format!("the message does not serialize: {e}")))?;
    Ok(hex::encode(Sha256::digest(bytes)))
}
