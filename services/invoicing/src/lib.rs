//! `restance-invoicing`: the claims ledger.
//!
//! Where things are:
//! - an invoice enters in [`handlers`] (`billing.invoice.issued.v1` → a claim);
//! - how a payment is spread is [`domain::allocation`], how it is matched [`domain::matching`];
//! - the tables are in [`store::migrations`], the SQL in [`store::queries`];
//! - the HTTP API is [`http`].

pub mod config;
pub mod domain;
pub mod handlers;
pub mod http;
pub mod startup;
pub mod state;
pub mod store;

pub use startup::Application;

/// The service name: queue `<exchange>.invoicing`, source `/restance/invoicing`.
pub const SERVICE: &str = "invoicing";
/// The HTTP port when `http.port` is not configured (DESIGN.md's table of services).
pub const PORT: u16 = 8081;
