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
//!   the `[reporting]` section in [`config`], the wiring in [`app`].

pub mod app;
pub mod config;
pub mod domain;
pub mod figures;
pub mod files;
pub mod handlers;
pub mod http;
pub mod produce;
pub mod store;
pub mod worker;

pub use app::{Application, SERVICE};
pub use config::{InvalidConfig, ReportingConfig};
/// The report model, at its old path.
pub use domain::report;

impl restance_runtime::App for Application {
    const SERVICE: &'static str = SERVICE;

    fn build(
        settings: restance_runtime::Settings,
        cancel: tokio_util::sync::CancellationToken,
    ) -> impl std::future::Future<Output = anyhow::Result<Self>> + Send {
        Application::build(settings, cancel)
    }

    fn local_addr(&self) -> std::net::SocketAddr {
        Application::local_addr(self)
    }

    fn run_until_stopped(self) -> impl std::future::Future<Output = anyhow::Result<()>> + Send {
        Application::run_until_stopped(self)
    }
}
