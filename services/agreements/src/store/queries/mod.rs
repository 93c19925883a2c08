//! Statements on agreements' tables, built with sea-query so that one definition serves
//! PostgreSQL and SQLite. Reads return typed rows (columns read by name); a stored value that
//! cannot be read back is a [`DbErr::Custom`] naming the column.

mod alerts;
mod audit;
mod claims;
mod coverage;
mod days;
mod debtors;
mod deferrals;
mod erasure;
mod meetings;
mod plans;
mod tasks;

pub use alerts::*;
pub use audit::*;
pub use claims::*;
pub use coverage::*;
pub use days::*;
pub use debtors::*;
pub use deferrals::*;
pub use erasure::*;
pub use meetings::*;
pub use plans::*;
pub use tasks::*;

use restance_kernel::Currency;
use restance_store::{get as col, get_date, get_money, get_opt_date, opt_date, to_json as json};
use sea_orm::{DbErr, QueryResult};

/// `(municipality, debtor_id)`: a debtor is per municipality.
pub type DebtorKey = (String, String);

/// Column `col` as a small count (`BIGINT`).
fn col_u32(row: &QueryResult, col: &str) -> Result<u32, DbErr> {
    let v: i64 = row.try_get("", col)?;
    u32::try_from(v).map_err(|_| DbErr::Custom(format!("stored number {v} out of range")))
}

/// Column `col` as a currency code.
fn col_currency(row: &QueryResult, col: &str) -> Result<Currency, DbErr> {
    let text: String = row.try_get("", col)?;
    parse("currency", &text, |s| s.parse().ok())
}

fn parse<T>(what: &str, text: &str, f: impl FnOnce(&str) -> Option<T>) -> Result<T, DbErr> {
    f(text).ok_or_else(|| DbErr::Custom(format!("stored {what} {text:?} unreadable")))
}
