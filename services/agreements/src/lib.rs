//! `restance-agreements`: payment plans, deferrals (henstand) and meetings (sættemøder) — the
//! "dialogue before force" of Restance (seeds 000, 002 and 003).
//!
//! Where things are:
//! - the rules as pure functions are in [`domain`]: the instalment schedule
//!   ([`domain::schedule`]), following a plan ([`domain::tracking`]), a deferral's period
//!   ([`domain::deferral`]), a meeting's local date and reminder day ([`domain::meeting`]);
//! - the operations that change an agreement — for a caseworker or by the service itself — are
//!   [`plans`], [`deferrals`], [`meetings`] and [`tasks`]; each writes its change, its events
//!   (outbox), its letters ([`letters`]) and its audit entry in one transaction;
//! - invoicing's claim events, dunning's transfers and the business day come in through
//!   [`handlers`]; the API is [`http`]; the tables are [`store`];
//! - the configuration (`[agreements]`) is [`config`].
//!
//! It publishes `agreements.plan.created|defaulted|completed.v1`,
//! `agreements.deferral.granted|ended.v1`, `agreements.meeting.scheduled|held|missed.v1` (dunning
//! holds the claims while an agreement is in force) and `notifications.notification.requested.v1`
//! for its letters and SMS. It consumes dunning's `dunning.caseworker.alerted.v1` as a task for the
//! social caseworker ([`alerts`]) and publishes the answer, `agreements.claim.released.v1`; and
//! invoicing's `invoicing.debtor.erased.v1` (retention), erasing its own personal data about the
//! debtor ([`handlers::erasure`]).

pub mod alerts;
pub mod config;
pub mod context;
pub mod deferrals;
pub mod domain;
pub mod handlers;
pub mod http;
pub mod letters;
pub mod meetings;
pub mod metrics;
pub mod plans;
pub mod startup;
pub mod state;
pub mod store;
pub mod tasks;

pub use config::{AgreementsConfig, InvalidConfig};
pub use startup::Application;

/// The service name: queue `<exchange>.agreements`, source `/restance/agreements`.
pub const SERVICE: &str = "agreements";
/// The HTTP port when `http.port` is not configured (DESIGN.md's table of services).
pub const PORT: u16 = 8083;
