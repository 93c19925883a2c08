//! `restance-dunning`: the collection process of Restance.
//!
//! Where things are:
//! - the declarative policies (`[dunning]` in `config/restance.toml`) and their validation are
//!   [`domain::policy`]; the service's own keys beside them are [`config`];
//! - what a debtor's claims need today — reminders, fees, interest, meeting offers, caseworker
//!   alerts, notices, transfer, supply suspension, write-off proposals — is decided by
//!   [`domain::decide::next_steps`], a pure function of the debtor's state, the policies and the
//!   business date;
//! - the inputs it reads are in [`domain::view`], the deterministic ids in [`domain::ids`];
//! - invoicing's and agreements' events keep the stored state current in [`handlers`] (they
//!   never act: see [`debtors`]);
//! - the daily run on `calendar.day.opened.v1` decides every due debtor in [`run`], and
//!   [`publish`] turns decisions into events, letters ([`letters`]) and history;
//! - the tables are in [`store::migrations`], the SQL in [`store::queries`], the API in [`http`].
//!
//! The domain rules are those of `DOMAIN.md` (shared brief): dialogue before force, special
//! consideration for daycare and the family area, fees and interest never above what the law
//! allows, transfer to state collection only after the reminder procedure and a written notice.

pub mod campaigns;
pub mod config;
pub mod debtors;
pub mod domain;
pub mod handlers;
pub mod http;
pub mod letters;
pub mod publish;
pub mod run;
pub mod startup;
pub mod state;
pub mod store;

pub use config::{DunningConfig, InvalidConfig};
pub use startup::Application;

/// The service name: queue `<exchange>.dunning`, source `/restance/dunning`.
pub const SERVICE: &str = "dunning";
/// The HTTP port when `http.port` is not configured (DESIGN.md's table of services).
pub const PORT: u16 = 8082;
