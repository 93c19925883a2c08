//! RabbitMQ plumbing shared by every Restance service.
//!
//! The rules this crate enforces (DESIGN.md "Reliability rules"):
//! - a delivery is acknowledged only after the transaction that holds its effects commits
//!   ([`consumer`]);
//! - every message id is recorded in an inbox in that same transaction, so a redelivery has no
//!   second effect ([`inbox`]);
//! - events are written to an outbox in that same transaction and published by a relay with
//!   publisher confirms ([`outbox`], [`publisher`]);
//! - a message that cannot be processed is dead-lettered with its reason in a header and the
//!   producer is told through `<service>.message.rejected.v1` — through the outbox as well, so a
//!   rejection is exactly as durable as an effect ([`rejection`]);
//! - broker loss makes the service unready and it reconnects with backoff ([`connection`],
//!   [`health`]).
//!
//! Several replicas of a service share one queue and one database:
//! - **how the relay claims rows**: on PostgreSQL each relay round is one transaction that takes
//!   the advisory lock [`outbox::RELAY_LOCK`] (`pg_try_advisory_xact_lock`) before it reads its
//!   rows and holds it across publish, confirms and delete until it commits. So only one
//!   replica's relay publishes at a time, no row is ever held by two relays, and rounds follow
//!   each other in `seq` order (consumers keep absolute state such as a claim's balance from
//!   our events, so concurrent rounds — `FOR UPDATE SKIP LOCKED` on disjoint rows — could
//!   deliver an older state after a newer one). A relay that finds the lock taken tries again
//!   shortly; the holder publishes every replica's rows. Only a relay dying between the
//!   broker's confirm and its commit republishes rows (consumers dedupe them by `(source, id)`).
//!   SQLite has one process and one relay per database file: no lock, no transaction.
//! - a batch that loses a lock conflict to another replica's batch (deadlock, serialization
//!   failure, SQLite busy) is retried, never dead-lettered ([`consumer::is_contention`]);
//! - a message naming something another replica is still committing (a claim whose
//!   `claim.opened` is in flight) is handled again after growing pauses for about 30 s before
//!   it is dead-lettered with its reason ([`consumer::Outcome::NotYet`], the consumer's "Not
//!   yet").
//!
//! SQL is written once with `$n` placeholders, which both PostgreSQL and SQLite (through sqlx)
//! accept; the helpers are the `restance-store` crate's.
//!
//! Feature `crash-points` (off by default): the fault suite's crash-point hook
//! ([`crashpoint`], `RESTANCE_CRASH_AT`). Without it the hook compiles to nothing; the fault
//! suite and the tests that arm a point turn it on, the image's binaries are built without it
//! (`just check-no-crash-hook`).

pub mod config;
pub mod connection;
pub mod consumer;
pub mod crashpoint;
pub mod health;
pub mod inbox;
pub mod migration;
pub mod outbox;
pub mod publisher;
pub mod rejection;
pub mod router;
pub mod tls;
pub mod topology;
pub mod trace;

pub use config::BusSettings;
pub use connection::Backoff;
pub use consumer::{
    BatchHandler, ConsumerRunner, Effects, HandlerError, Inbound, Outcome, Subscription,
    UNKNOWN_CLAIM, content_hash, is_contention,
};
pub use health::Readiness;
pub use outbox::{Outbox, OutboxRelay};
pub use publisher::{ConfirmedPublisher, OutgoingMessage, PublishError};
pub use rejection::Rejection;
pub use router::{Admission, Consume, Cx, Handled, On, OnRun, Planned, Router, Routes};
pub use tls::TlsSettings;
pub use topology::Topology;
