//! Business days and the daily run: its cursor, failed attempts and parked debtors.

use chrono::Utc;
use restance_kernel::BusinessDate;
use restance_store::{date, get_date, get_opt_date, is_postgres, stmt};
use sea_orm::{ConnectionTrait, DbErr, QueryResult};
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
    let r = db
        .execute_raw(stmt(
            db,
            "INSERT INTO business_days (business_date, state, opened_at) VALUES ($1, 'pending', $2) ON CONFLICT DO NOTHING",
            vec![date(day), Utc::now().into()],
        ))
        .await?;
    Ok(r.rows_affected() == 1)
}

fn day_from(r: &QueryResult) -> Result<BusinessDay, DbErr> {
    let cursor = match (
        get_opt_date(r, 2)?,
        r.try_get_by_index::<Option<String>>(3)?,
        r.try_get_by_index::<Option<String>>(4)?,
    ) {
        (Some(next_action_date), Some(municipality), Some(debtor_id)) => Some(RunCursor {
            next_action_date,
            municipality,
            debtor_id,
        }),
        _ => None,
    };
    Ok(BusinessDay {
        date: get_date(r, 0)?,
        state: r.try_get_by_index(1)?,
        cursor,
        debtors: r.try_get_by_index(5)?,
        decisions: r.try_get_by_index(6)?,
    })
}

const DAY_COLUMNS: &str =
    "business_date, state, cursor_date, cursor_municipality, cursor_debtor, debtors, decisions";

/// The earliest business day whose run has not finished.
pub async fn next_unfinished_day(db: &impl ConnectionTrait) -> Result<Option<BusinessDay>, DbErr> {
    let sql = format!(
        "SELECT {DAY_COLUMNS} FROM business_days WHERE state <> 'done' ORDER BY business_date LIMIT 1"
    );
    db.query_one_raw(stmt(db, sql, vec![]))
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
    let lock = if is_postgres(db) { " FOR UPDATE" } else { "" };
    let sql = format!("SELECT {DAY_COLUMNS} FROM business_days WHERE business_date = $1{lock}");
    db.query_one_raw(stmt(db, sql, vec![date(day)]))
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
    db.execute_raw(stmt(
        db,
        "UPDATE business_days SET state = 'running', cursor_date = $2, cursor_municipality = $3, \
         cursor_debtor = $4, debtors = debtors + $5, decisions = decisions + $6 WHERE business_date = $1",
        vec![
            date(day),
            date(cursor.next_action_date),
            cursor.municipality.clone().into(),
            cursor.debtor_id.clone().into(),
            debtors.into(),
            decisions.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Marks the day's run finished.
pub async fn finish_day(db: &impl ConnectionTrait, day: BusinessDate) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "UPDATE business_days SET state = 'done', finished_at = $2 WHERE business_date = $1",
        vec![date(day), Utc::now().into()],
    ))
    .await?;
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
    let row = db
        .query_one_raw(stmt(
            db,
            "INSERT INTO run_failures (business_date, municipality, debtor_id, failures, last_error, updated_at) \
             VALUES ($1, $2, $3, 1, $4, $5) \
             ON CONFLICT (business_date, municipality, debtor_id) DO UPDATE \
             SET failures = run_failures.failures + 1, last_error = excluded.last_error, updated_at = excluded.updated_at \
             RETURNING failures",
            vec![
                date(day),
                debtor.municipality.clone().into(),
                debtor.debtor_id.clone().into(),
                error.into(),
                Utc::now().into(),
            ],
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("recording a run failure returned no row".into()))?;
    row.try_get_by_index(0)
}

/// Marks `debtor` as parked for `day`.
pub async fn park_debtor(
    db: &impl ConnectionTrait,
    day: BusinessDate,
    debtor: &RunCursor,
) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "UPDATE run_failures SET parked = 1 WHERE business_date = $1 AND municipality = $2 AND debtor_id = $3",
        vec![
            date(day),
            debtor.municipality.clone().into(),
            debtor.debtor_id.clone().into(),
        ],
    ))
    .await?;
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
    let rows = db
        .query_all_raw(stmt(
            db,
            "SELECT municipality, debtor_id, failures, last_error FROM run_failures \
             WHERE business_date = $1 AND parked = 1 ORDER BY municipality, debtor_id",
            vec![date(day)],
        ))
        .await?;
    rows.iter()
        .map(|r| {
            Ok(ParkedDebtor {
                business_date: day,
                municipality: r.try_get_by_index(0)?,
                debtor_id: r.try_get_by_index(1)?,
                failures: r.try_get_by_index(2)?,
                last_error: r.try_get_by_index(3)?,
            })
        })
        .collect()
}
