//! Service bootstrap shared by every Restance service.
//!
//! A service's `main` is three lines: load [`Settings`], [`telemetry::init`], then build and run
//! its application on a [`Runtime`]. The runtime owns what every service has: the database
//! (connected with retry, migrated), the outbox relay, the consumers, readiness, metrics,
//! `/healthz` `/readyz` `/metrics`, and the SIGTERM drain.

pub mod api;
pub mod api_auth;
pub mod api_guard;
pub mod app;
pub mod audit;
pub mod calendar;
pub mod database;
pub mod entry;
pub mod files;
pub mod http;
pub mod rounds;
pub mod runtime;
pub mod senders;
pub mod settings;
pub mod shutdown;
pub mod supervise;
pub mod telemetry;

pub use app::App;
pub use runtime::Runtime;
pub use settings::Settings;
