//! The SQL, one file per table family: [`cases`], [`invoicing`] (debtors and claims as
//! invoicing announced them), [`holds`] (the dunning holds asked for), and [`days`] (the business
//! date), [`retention`] (closed cases' erasure). The API's audit trail is the runtime's (`restance_runtime::audit`).

pub mod cases;
pub mod days;
pub mod holds;
pub mod invoicing;
pub mod retention;

use restance_store::{get_date, get_money, get_opt_date};
use sea_orm::{DbErr, QueryResult, TryGetable};

/// The column `column` of a row, by name.
pub(crate) fn get<T: TryGetable>(row: &QueryResult, column: &str) -> Result<T, DbErr> {
    row.try_get("", column)
}
