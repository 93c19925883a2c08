//! `restance-guarantee`: recovery from family-reunification guarantees (sikkerhedsstillelse) —
//! seed 004, Copenhagen's guarantee administrator and benefits office.
//!
//! When a resident's spouse got a residence permit for family reunification on the condition
//! that the resident provided a financial guarantee (udlændingeloven § 9, stk. 5), benefits the
//! municipality later pays the spouse under aktivloven or integrationsloven are to be recovered
//! from that guarantee — each payment for three years from the day it was paid
//! (forældelsesloven § 3). The municipality must also report benefits paid to either of them to
//! the immigration service where a maintenance requirement applies.
//!
//! Where things are:
//! - the rules are the pure [`domain`]: no database, no broker, no HTTP and no clock;
//! - a guarantee enters in [`handlers::guarantees`] (`immigration.guarantee.registered.v1`,
//!   `…changed.v1`), a benefit paid in [`handlers::benefits`] (`benefits.benefit.paid.v1`,
//!   classified by [`domain::classify`] and stored with its classification);
//! - a guarantee that ends raises its recovery case in [`handlers::recovery`]; the bank's
//!   payments of the case's claim settle and close it in [`handlers::payments`];
//! - the tables are in [`store::migrations`], the SQL in [`store::queries`];
//! - the API is [`http`] (the guarantee and its case, the cases by state, the writes — raise
//!   recovery, enter a benefit, confirm a manual step — the quarterly statements and the daily
//!   files of benefit reports, described in `openapi.yaml`); the quarterly statement is
//!   [`handlers::quarterly`];
//! - the business day (endings that have come, the limitation watch, the daily file, the
//!   quarterly statement) is [`handlers::days`], the daily file of benefit reports and its routes
//!   [`daily_file`].
//!
//! The handlers load the guarantee, its payments and its case, call a function of [`domain`],
//! and store what it returns.

pub mod config;
pub mod daily_file;
pub mod domain;
pub mod handlers;
pub mod http;
pub mod metrics;
pub mod startup;
pub mod state;
pub mod store;

pub use startup::Application;

/// The service name: queue `<exchange>.guarantee`, source `/restance/guarantee`.
pub const SERVICE: &str = "guarantee";
/// The HTTP port when `http.port` is not configured (DESIGN.md's table of services).
pub const PORT: u16 = 8084;
