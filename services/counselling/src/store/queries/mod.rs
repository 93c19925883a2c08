//! The statements, one file per table family: [`cases`], [`invoicing`] (debtors and claims as
//! invoicing announced them), [`holds`] (the dunning holds asked for), and [`days`] (the business
//! date), [`retention`] (closed cases' erasure). The API's audit trail is the runtime's (`restance_runtime::audit`).

pub mod cases;
pub mod days;
pub mod holds;
pub mod invoicing;
pub mod retention;

use restance_store::{get, get_date, get_money, get_opt_date};
