//! What the services' stores share, on PostgreSQL and SQLite alike.
//!
//! Statements are built with sea-query (`sea_orm::sea_query`), migrations with its schema
//! statements; this crate adds the locks ([`advisory_locks`], [`try_advisory_lock`],
//! [`take_write_lock`]), column readers for dates and money by name,
//! and the pieces of the few hand-written statements kept on measured hot paths: [`stmt`] with
//! `$n` placeholders (sqlx accepts them for SQLite too), [`value_rows`] for multi-row inserts,
//! [`rows_per_statement`] under both backends' parameter limits.

use chrono::NaiveDate;
use restance_kernel::{BusinessDate, Money};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Query};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult, Statement, Value};

/// A statement for the connection's backend.
pub fn stmt(db: &impl ConnectionTrait, sql: impl Into<String>, values: Vec<Value>) -> Statement {
    Statement::from_sql_and_values(db.get_database_backend(), sql.into(), values)
}

/// `($1,$2,…),($k,…)` for `rows` rows of `cols` columns, numbering from 1.
pub fn value_rows(rows: usize, cols: usize) -> String {
    let mut out = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        if r > 0 {
            out.push(',');
        }
        out.push('(');
        for c in 0..cols {
            if c > 0 {
                out.push(',');
            }
            out.push('$');
            out.push_str(&(r * cols + c + 1).to_string());
        }
        out.push(')');
    }
    out
}

/// Rows per multi-row statement: keeps every statement under SQLite's and PostgreSQL's
/// bind-parameter limits (32766 and 65535).
pub fn rows_per_statement(cols: usize) -> usize {
    (30_000 / cols.max(1)).max(1)
}

/// True when the connection is PostgreSQL.
pub fn is_postgres(db: &impl ConnectionTrait) -> bool {
    db.get_database_backend() == DbBackend::Postgres
}

/// A business date as a `DATE` parameter.
pub fn date(d: BusinessDate) -> Value {
    NaiveDate::from(d).into()
}

/// An optional business date as a `DATE NULL` parameter.
pub fn opt_date(d: Option<BusinessDate>) -> Value {
    d.map(NaiveDate::from).into()
}

/// A value as JSON text for a `TEXT` column.
pub fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, DbErr> {
    serde_json::to_string(value).map_err(|e| DbErr::Custom(format!("cannot serialise: {e}")))
}

/// `CAST(SUM(expr) AS BIGINT)`: PostgreSQL sums `BIGINT`s (and counts) as `NUMERIC`, which does
/// not read as an `i64`; SQLite's sum is an integer either way.
pub fn sum_bigint(expr: impl Into<Expr>) -> Expr {
    expr.into().sum().cast_as("BIGINT")
}

/// Column `column` of a row, by name.
pub fn get<T: sea_orm::TryGetable>(row: &QueryResult, column: &str) -> Result<T, DbErr> {
    row.try_get("", column)
}

/// Column `column` of a row as a business date (`DATE NOT NULL`).
pub fn get_date(row: &QueryResult, column: &str) -> Result<BusinessDate, DbErr> {
    Ok(row.try_get::<NaiveDate>("", column)?.into())
}

/// Column `column` of a row as an optional business date (`DATE NULL`, or an aggregate like
/// `MAX`).
pub fn get_opt_date(row: &QueryResult, column: &str) -> Result<Option<BusinessDate>, DbErr> {
    Ok(row
        .try_get::<Option<NaiveDate>>("", column)?
        .map(BusinessDate::from))
}

/// Column `column` of a row as money stored in minor units (`BIGINT`, øre).
pub fn get_money(row: &QueryResult, column: &str) -> Result<Money, DbErr> {
    Ok(Money::from_minor(row.try_get::<i64>("", column)?))
}

/// Takes SQLite's write lock at the start of a transaction that reads before it writes (an API
/// write): a no-op on PostgreSQL, where row locks serialise writers. A SQLite transaction that
/// reads first and writes later fails at once with "database is locked" when another connection
/// (the relay, the consumer) wrote meanwhile; one that writes first waits for the lock (the busy
/// timeout) instead. `table` and `column` name any table of the service (nothing is changed).
pub async fn take_write_lock(
    db: &impl ConnectionTrait,
    table: &str,
    column: &str,
) -> Result<(), DbErr> {
    if !is_postgres(db) {
        let nothing = Query::update()
            .table(Alias::new(table))
            .value(Alias::new(column), Expr::col(Alias::new(column)))
            .and_where(Expr::val(1).eq(0))
            .to_owned();
        db.execute(&nothing).await?;
    }
    Ok(())
}

/// The advisory lock key of `parts` in `namespace`: the first 8 bytes of SHA-256 over them,
/// NUL-separated (a collision only serialises two unrelated transactions).
pub fn advisory_key(namespace: &str, parts: &[&str]) -> i64 {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(namespace.as_bytes());
    for part in parts {
        hasher.update([0u8]);
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

/// Serialises, across replicas, transactions about the same things: a transaction-scoped
/// advisory lock per key on PostgreSQL, taken in key order (taking one again in the same
/// transaction is free); nothing on SQLite, which has one writer. Two transactions that lock
/// the same keys in other orders may deadlock; PostgreSQL breaks it and the consumer retries
/// the batch (a lock conflict, never a rejection).
pub async fn advisory_locks(db: &impl ConnectionTrait, mut keys: Vec<i64>) -> Result<(), DbErr> {
    if !is_postgres(db) {
        return Ok(());
    }
    keys.sort_unstable();
    keys.dedup();
    for key in keys {
        let lock = Query::select()
            .expr(Func::cust("pg_advisory_xact_lock").arg(key))
            .to_owned();
        db.execute(&lock).await?;
    }
    Ok(())
}

/// Takes the transaction-scoped PostgreSQL advisory lock `key` if nobody holds it: true when
/// taken (the relay's round, a migration). PostgreSQL only.
pub async fn try_advisory_lock(db: &impl ConnectionTrait, key: i64) -> Result<bool, DbErr> {
    let lock = Query::select()
        .expr(Func::cust("pg_try_advisory_xact_lock").arg(key))
        .to_owned();
    db.query_one(&lock)
        .await?
        .map(|r| r.try_get_by_index::<bool>(0))
        .transpose()
        .map(|taken| taken.unwrap_or(false))
}

/// The latest date in a service's `business_days (business_date DATE …)` table, if any.
pub async fn last_business_date(db: &impl ConnectionTrait) -> Result<Option<BusinessDate>, DbErr> {
    let latest = Query::select()
        .expr_as(Expr::col("business_date").max(), Alias::new("latest"))
        .from("business_days")
        .to_owned();
    match db.query_one(&latest).await? {
        Some(r) => get_opt_date(&r, "latest"),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_row_placeholders_are_numbered_in_order() {
        assert_eq!(value_rows(2, 3), "($1,$2,$3),($4,$5,$6)");
    }
}
