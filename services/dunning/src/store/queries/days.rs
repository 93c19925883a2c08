//! Business days and the daily run: its cursor, failed attempts and parked debtors.

use chrono::{NaiveDate, Utc};
use restance_kernel::BusinessDate;
use restance_store::date;
use sea_orm::sea_query::{Expr, ExprTrait, LockType, OnConflict, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, QueryResult};
use serde::Serialize;

/// Where the daily run is: the last debtor key it committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunCursor {
    /// The debtor's next action date when it was selected.
    pub next_action_date: BusinessDate,
    /// Municipality.
    pub municipality: String,
    /// Debtor.
    pub debtor_id: String,
}

/// A business day and its run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessDay {
    /// The date.
    pub date: BusinessDate,
    /// `pending`, `running` or `done`.
    pub state: String,
    /// Where the run is.
    pub cursor: Option<RunCursor>,
    /// Debtors evaluated so far.
    pub debtors: i64,
    /// Decisions taken so far.
    pub decisions: i64,
}

/// The latest business date recorded (the shared query on this service's `business_days`).
pub use restance_store::last_business_date;

/// Records a business day to run.
pub async fn insert_business_day(
    db: &impl ConnectionTrait,
    day: BusinessDate,
) -> Result<bool, DbErr> {
    let insert = Query::insert()
        .into_table("business_days")
        .columns(["business_date", "state", "opened_at"])
        .values_panic([date(day).into(), "pending".into(), Utc::now().into()])
        .on_conflict(OnConflict::new().do_nothing().to_owned())
        .to_owned();
    let r = db.execute(&insert).await?;
    Ok(r.rows_affected() == 1)
}

/// A `business_days` row as stored (its run columns).
#[derive(FromQueryResult)]
struct DayRecord {
    business_date: NaiveDate,
    state: String,
    cursor_date: Option<NaiveDate>,
    cursor_municipality: Option<String>,
    cursor_debtor: Option<String>,
    debtors: i64,
    decisions: i64,
}

fn day_from(row: &QueryResult) -> Result<BusinessDay, DbErr> {
    let r = DayRecord::from_query_result(row, "")?;
    let cursor = match (r.cursor_date, r.cursor_municipality, r.cursor_debtor) {
        (Some(next_action_date), Some(municipality), Some(debtor_id)) => Some(RunCursor {
            next_action_date: next_action_date.into(),
            municipality,
            debtor_id,
        }),
        _ => None,
    };
    Ok(BusinessDay {
        date: r.business_date.into(),
        state: r.state,
        cursor,
        debtors: r.debtors,
        decisions: r.decisions,
    })
}

/// `SELECT <the run columns> FROM business_days`.
fn select_days() -> SelectStatement {
    Query::select()
        .columns([
            "business_date",
            "state",
            "cursor_date",
            "cursor_municipality",
            "cursor_debtor",
            "debtors",
            "decisions",
        ])
        .from("business_days")
        .to_owned()
}

/// The earliest business day whose run has not finished.
pub async fn next_unfinished_day(db: &impl ConnectionTrait) -> Result<Option<BusinessDay>, DbErr> {
    let select = select_days()
        .and_where(Expr::col("state").ne("done"))
        .order_by("business_date", Order::Asc)
        .limit(1)
        .to_owned();
    db.query_one(&select)
        .await?
        .as_ref()
        .map(day_from)
        .transpose()
}

/// Reads the day's run state, locked on PostgreSQL for the rest of the transaction (one chunk
/// of one run at a time, even with several replicas).
pub async fn lock_day(
    db: &impl ConnectionTrait,
    day: BusinessDate,
) -> Result<Option<BusinessDay>, DbErr> {
    let select = select_days()
        .and_where(Expr::col("business_date").eq(date(day)))
        .lock(LockType::Update)
        .to_owned();
    db.query_one(&select)
        .await?
        .as_ref()
        .map(day_from)
        .transpose()
}

/// Advances the day's run after a chunk.
pub async fn advance_day(
    db: &impl ConnectionTrait,
    day: BusinessDate,
    cursor: &RunCursor,
    debtors: i64,
    decisions: i64,
) -> Result<(), DbErr> {
    let update = Query::update()
        .table("business_days")
        .value("state", "running")
        .value("cursor_date", date(cursor.next_action_date))
        .value("cursor_municipality", cursor.municipality.as_str())
        .value("cursor_debtor", cursor.debtor_id.as_str())
        .value("debtors", Expr::col("debtors").add(debtors))
        .value("decisions", Expr::col("decisions").add(decisions))
        .and_where(Expr::col("business_date").eq(date(day)))
        .to_owned();
    db.execute(&update).await?;
    Ok(())
}

/// Marks the day's run finished.
pub async fn finish_day(db: &impl ConnectionTrait, day: BusinessDate) -> Result<(), DbErr> {
    let update = Query::update()
        .table("business_days")
        .value("state", "done")
        .value("finished_at", Utc::now())
        .and_where(Expr::col("business_date").eq(date(day)))
        .to_owned();
    db.execute(&update).await?;
    Ok(())
}

/// Records one more failed attempt at `debtor` in `day`'s run, with the error; returns how many
/// there have been.
pub async fn record_run_failure(
    db: &impl ConnectionTrait,
    day: BusinessDate,
    debtor: &RunCursor,
    error: &str,
) -> Result<i64, DbErr> {
    let error: String = error.chars().take(1000).collect();
    let insert = Query::insert()
        .into_table("run_failures")
        .columns([
            "business_date",
            "municipality",
            "debtor_id",
            "failures",
            "last_error",
            "updated_at",
        ])
        .values_panic([
            date(day).into(),
            debtor.municipality.as_str().into(),
            debtor.debtor_id.as_str().into(),
            1i64.into(),
            error.into(),
            Utc::now().into(),
        ])
        .on_conflict(
            OnConflict::columns(["business_date", "municipality", "debtor_id"])
                .value("failures", Expr::col(("run_failures", "failures")).add(1))
                .update_columns(["last_error", "updated_at"])
                .to_owned(),
        )
        .returning_col("failures")
        .to_owned();
    let row = db
        .query_one(&insert)
        .await?
        .ok_or_else(|| DbErr::Custom("recording a run failure returned no row".into()))?;
    row.try_get("", "failures")
}

/// Marks `debtor` as parked for `day`.
pub async fn park_debtor(
    db: &impl ConnectionTrait,
    day: BusinessDate,
    debtor: &RunCursor,
) -> Result<(), DbErr> {
    let update = Query::update()
        .table("run_failures")
        .value("parked", 1i64)
        .and_where(Expr::col("business_date").eq(date(day)))
        .and_where(Expr::col("municipality").eq(debtor.municipality.as_str()))
        .and_where(Expr::col("debtor_id").eq(debtor.debtor_id.as_str()))
        .to_owned();
    db.execute(&update).await?;
    Ok(())
}

/// A debtor the daily run parked, with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParkedDebtor {
    /// The business day it was parked for.
    pub business_date: BusinessDate,
    /// Municipality.
    pub municipality: String,
    /// Debtor.
    pub debtor_id: String,
    /// Failed attempts.
    pub failures: i64,
    /// The last error.
    pub last_error: String,
}

/// The debtors parked on `day`, in key order.
pub async fn parked_debtors(
    db: &impl ConnectionTrait,
    day: BusinessDate,
) -> Result<Vec<ParkedDebtor>, DbErr> {
    #[derive(FromQueryResult)]
    struct Record {
        municipality: String,
        debtor_id: String,
        failures: i64,
        last_error: String,
    }
    let select = Query::select()
        .columns(["municipality", "debtor_id", "failures", "last_error"])
        .from("run_failures")
        .and_where(Expr::col("business_date").eq(date(day)))
        .and_where(Expr::col("parked").eq(1))
        .order_by("municipality", Order::Asc)
        .order_by("debtor_id", Order::Asc)
        .to_owned();
    db.query_all(&select)
        .await?
        .iter()
        .map(|row| {
            let r = Record::from_query_result(row, "")?;
            Ok(ParkedDebtor {
                business_date: day,
                municipality: r.municipality,
                debtor_id: r.debtor_id,
                failures: r.failures,
                last_error: r.last_error,
            })
        })
        .collect()
}
