//! The SQL, one file per table family: [`cases`], [`invoicing`] (debtors and claims as
//! invoicing announced them), [`holds`] (the dunning holds asked for), and [`days`] (the business
//! date), [`retention`] (closed cases' erasure). The API's audit trail is the runtime's (`restance_runtime::audit`).

pub mod cases;
pub mod days;
pub mod holds;
pub mod invoicing;
pub mod retention;

use sea_orm::{DbErr, QueryResult, TryGetable};

/// The column `column` of a row, by name.
pub(crate) fn get<T: TryGetable>(row: &QueryResult, column: &str) -> Result<T, DbErr> {
    row.try_get("", column)
}

/// The `DATE` column `column` of a row as a business date.
pub(crate) fn get_day(
    row: &QueryResult,
    column: &str,
) -> Result<restance_kernel::BusinessDate, DbErr> {
    Ok(get::<chrono::NaiveDate>(row, column)?.into())
}

/// The `DATE NULL` column `column` of a row as a business date, if any.
pub(crate) fn get_opt_day(
    row: &QueryResult,
    column: &str,
) -> Result<Option<restance_kernel::BusinessDate>, DbErr> {
    Ok(get::<Option<chrono::NaiveDate>>(row, column)?.map(Into::into))
}

/// The `BIGINT` column `column` of a row as money in minor units (øre).
pub(crate) fn get_money(row: &QueryResult, column: &str) -> Result<restance_kernel::Money, DbErr> {
    Ok(restance_kernel::Money::from_minor(get::<i64>(row, column)?))
}
