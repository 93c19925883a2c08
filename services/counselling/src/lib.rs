//! `restance-counselling`: debt counselling (gjeldsrådgivning) — seed 003, Kristiansand's
//! routine for the municipality's debt counsellors.
//!
//! Where things are:
//! - the rules are the pure [`domain`]: who gets a case ([`domain::assignment`]), every time
//!   limit and the call-attempt rule ([`domain::timers`]), the routine itself
//!   ([`domain::case`]) and the debt schedule ([`domain::schedule`]);
//! - an application enters in [`handlers::applications`] (`selfservice.counselling.applied.v1`,
//!   or `POST /api/v1/cases` for a paper form); invoicing's debtors and claims are kept in
//!   [`handlers::claims`] (the applicant's own claims appear in the debt schedule, and the
//!   municipality's dunning of them is held while the case is active where configured); the
//!   business day runs the timers in [`handlers::days`];
//! - the counsellor's API is [`http`] (`openapi.yaml`); the debt schedule's XLSX is
//!   [`schedule_file`];
//! - the tables are in [`store::migrations`], the SQL in [`store::queries`].

pub mod config;
pub mod domain;
pub mod handlers;
pub mod http;
pub mod metrics;
pub mod schedule_file;
pub mod startup;
pub mod state;
pub mod store;

pub use startup::Application;

/// The service name: queue `<exchange>.counselling`, source `/restance/counselling`.
pub const SERVICE: &str = "counselling";
/// The HTTP port when `http.port` is not configured (DESIGN.md's table of services).
pub const PORT: u16 = 8087;
