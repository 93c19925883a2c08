//! `restance-reporting`: arrears by category compared with 12 months earlier, for the finance
//! committee (monthly) and the council (quarterly).
//!
//! Where things are:
//! - the report itself — every figure a report shows, filled in from the projections — is the
//!   pure data model in [`report`], with the change arithmetic and the generated summary;
//! - the files a report is published as (XLSX with a native chart, CSV for Danish Excel, an SVG
//!   chart) are rendered from that model, without I/O, in [`files`];
//! - the rules — claim versions in business time, arrears on a date, age buckets, when reports
//!   fall due, the history file — are pure functions in [`domain`];
//! - the bus events keep the projection (claims, versions, agreements, flows) in [`handlers`];
//!   `calendar.day.opened.v1` wakes the [`worker`], which snapshots the closed dates and
//!   produces the reports that fall due ([`produce`]); where a date's figures come from is
//!   [`figures`];
//! - the tables are in [`store::migrations`], the SQL in [`store::queries`], the API in [`http`],
//!   the `[reporting]` section in [`config`], the wiring in [`startup`], what the handlers and
//!   the worker share in [`state`].

pub mod config;
pub mod domain;
pub mod figures;
pub mod files;
pub mod handlers;
pub mod http;
pub mod produce;
pub mod startup;
pub mod state;
pub mod store;
pub mod worker;

pub use config::{InvalidConfig, ReportingConfig};
/// The report model, at its old path.
pub use domain::report;
pub use startup::Application;

/// The service name: queue `<exchange>.reporting`, source `/restance/reporting`.
pub const SERVICE: &str = "reporting";
/// The HTTP port when `http.port` is not configured (DESIGN.md's table of services).
pub const PORT: u16 = 8086;
