//! Statements on reporting's tables, built with sea-query for PostgreSQL and SQLite alike (the
//! few hand-written ones say which benchmark they serve). Writes of many rows are multi-row
//! statements; sums are cast to `BIGINT` (PostgreSQL sums integers as `NUMERIC`).

mod campaigns;
mod claims;
mod days;
mod flows;
mod history;
mod holds;
mod reports;
mod snapshots;

pub use campaigns::*;
pub use claims::*;
pub use days::*;
pub use flows::*;
pub use history::*;
pub use holds::*;
pub use reports::*;
pub use snapshots::*;

use restance_store::{get_date as date_col, get_money as money_col, opt_date, sum_bigint};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Value};

fn get_u64(row: &QueryResult, i: usize) -> Result<u64, DbErr> {
    let n: i64 = row.try_get_by_index(i)?;
    u64::try_from(n).map_err(|_| DbErr::Custom(format!("negative count {n} in column {i}")))
}

/// Column `col` of a row as a count (`BIGINT`, never negative).
fn u64_col(row: &QueryResult, col: &str) -> Result<u64, DbErr> {
    let n: i64 = row.try_get("", col)?;
    u64::try_from(n).map_err(|_| DbErr::Custom(format!("negative count {n} in column {col}")))
}

fn count_value(n: u64) -> Value {
    i64::try_from(n).unwrap_or(i64::MAX).into()
}

fn bad(what: &str, value: &str) -> DbErr {
    DbErr::Custom(format!("stored {what} {value:?} unreadable"))
}

/// Serialises batches on PostgreSQL (a transaction-scoped advisory lock): the projection stamps
/// each change with the current business day, so two consumers (a rolling update briefly runs
/// two replicas) must not interleave around a day opening. SQLite has one writer anyway.
pub async fn lock_projection(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    restance_store::advisory_locks(db, vec![808601]).await
}
