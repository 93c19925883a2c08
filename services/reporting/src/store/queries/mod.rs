//! SQL for reporting's tables (PostgreSQL and SQLite alike, `$n` placeholders). Writes of many
//! rows are multi-row statements; sums are cast to `BIGINT` (PostgreSQL sums integers as
//! `NUMERIC`).

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

use chrono::NaiveDate;
use restance_kernel::BusinessDate;
use restance_store::{is_postgres, stmt};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Value};

fn opt_date(d: Option<BusinessDate>) -> Value {
    d.map(NaiveDate::from).into()
}

fn get_u64(row: &QueryResult, i: usize) -> Result<u64, DbErr> {
    let n: i64 = row.try_get_by_index(i)?;
    u64::try_from(n).map_err(|_| DbErr::Custom(format!("negative count {n} in column {i}")))
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
    if is_postgres(db) {
        db.execute_raw(stmt(db, "SELECT pg_advisory_xact_lock(808601)", vec![]))
            .await?;
    }
    Ok(())
}
