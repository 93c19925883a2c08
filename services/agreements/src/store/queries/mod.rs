//! SQL for agreements' tables (PostgreSQL and SQLite alike, `$n` placeholders). Reads return
//! typed rows; a stored value that cannot be read back is a [`DbErr::Custom`] naming the column.

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

use chrono::NaiveDate;
use restance_kernel::{BusinessDate, Currency};
use sea_orm::{DbErr, QueryResult, Value};
use serde::Serialize;

/// `(municipality, debtor_id)`: a debtor is per municipality.
pub type DebtorKey = (String, String);

fn opt_date(d: Option<BusinessDate>) -> Value {
    d.map(NaiveDate::from).into()
}

fn get_u32(row: &QueryResult, i: usize) -> Result<u32, DbErr> {
    let v: i64 = row.try_get_by_index(i)?;
    u32::try_from(v).map_err(|_| DbErr::Custom(format!("stored number {v} out of range")))
}

fn get_bool(row: &QueryResult, i: usize) -> Result<bool, DbErr> {
    row.try_get_by_index::<bool>(i)
}

fn parse<T>(what: &str, text: &str, f: impl FnOnce(&str) -> Option<T>) -> Result<T, DbErr> {
    f(text).ok_or_else(|| DbErr::Custom(format!("stored {what} {text:?} unreadable")))
}

fn get_currency(row: &QueryResult, i: usize) -> Result<Currency, DbErr> {
    let text: String = row.try_get_by_index(i)?;
    parse("currency", &text, |s| s.parse().ok())
}

fn json<T: Serialize>(value: &T) -> Result<String, DbErr> {
    serde_json::to_string(value).map_err(|e| DbErr::Custom(format!("cannot serialise: {e}")))
}
