//! `restance-notifications`: harmonised letters (PDF), SMS and e-mail, with delivery status.
//!
//! Where things are:
//! - a request enters in [`handlers::requests`] (`notifications.notification.requested.v1`:
//!   checked, recorded under its `notification_id`, planned into one delivery per channel or
//!   parked until the debtor is known); the contact directory is [`handlers::directory`];
//! - which channel and route is [`domain::channels`], address protection
//!   [`domain::protection`], quiet hours and backoff [`domain::timing`];
//! - sending (letters to disk + `letter.ready`, SMS through the gateway, e-mail over SMTP),
//!   retries and the delivery state machine are [`delivery`];
//! - the tables are in [`store::migrations`], the SQL in [`store::queries`];
//! - the HTTP API (documents, delivery state, SMS status callbacks) is [`http`];
//! - the `[notifications]` configuration is [`config`].

pub mod clock;
pub mod config;
pub mod delivery;
pub mod domain;
pub mod handlers;
pub mod http;
pub mod retention;
pub mod startup;
pub mod state;
pub mod store;

pub use startup::{Application, load_renderer};

/// The service name: queue `<exchange>.notifications`, source `/restance/notifications`.
pub const SERVICE: &str = "notifications";
/// The HTTP port when `http.port` is not configured (DESIGN.md's table of services).
pub const PORT: u16 = 8085;
