//! Business days, and the API audit trail.

use chrono::Utc;
use restance_kernel::BusinessDate;
use restance_store::{date, get_opt_date, is_postgres, stmt};
use sea_orm::{ConnectionTrait, DbErr, Value};

/// The latest business date opened.
pub use restance_store::last_business_date;

/// The first business date opened (reporting's first day).
pub async fn first_business_date(db: &impl ConnectionTrait) -> Result<Option<BusinessDate>, DbErr> {
    one_date(db, "SELECT MIN(business_date) FROM business_days", vec![]).await
}

/// The business date opened before `day`.
pub async fn previous_business_date(
    db: &impl ConnectionTrait,
    day: BusinessDate,
) -> Result<Option<BusinessDate>, DbErr> {
    one_date(
        db,
        "SELECT MAX(business_date) FROM business_days WHERE business_date < $1",
        vec![date(day)],
    )
    .await
}

/// The earliest business day whose work (snapshots, reports) is not done.
pub async fn next_pending_day(db: &impl ConnectionTrait) -> Result<Option<BusinessDate>, DbErr> {
    one_date(
        db,
        "SELECT MIN(business_date) FROM business_days WHERE state <> 'done'",
        vec![],
    )
    .await
}

pub(super) async fn one_date(
    db: &impl ConnectionTrait,
    sql: &str,
    values: Vec<Value>,
) -> Result<Option<BusinessDate>, DbErr> {
    match db.query_one_raw(stmt(db, sql, values)).await? {
        Some(r) => get_opt_date(&r, 0),
        None => Ok(None),
    }
}

/// Records an opened business day; `false` if it was there.
pub async fn insert_business_day(
    db: &impl ConnectionTrait,
    day: BusinessDate,
) -> Result<bool, DbErr> {
    let r = db
        .execute_raw(stmt(
            db,
            "INSERT INTO business_days (business_date, state, opened_at) VALUES ($1, 'pending', $2) \
             ON CONFLICT DO NOTHING",
            vec![date(day), Utc::now().into()],
        ))
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Locks the day's row (PostgreSQL) for the rest of the transaction; its state.
pub async fn lock_day(
    db: &impl ConnectionTrait,
    day: BusinessDate,
) -> Result<Option<String>, DbErr> {
    let lock = if is_postgres(db) { " FOR UPDATE" } else { "" };
    let sql = format!("SELECT state FROM business_days WHERE business_date = $1{lock}");
    match db.query_one_raw(stmt(db, sql, vec![date(day)])).await? {
        Some(r) => Ok(Some(r.try_get_by_index(0)?)),
        None => Ok(None),
    }
}

/// Marks the day's work done.
pub async fn finish_day(db: &impl ConnectionTrait, day: BusinessDate) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "UPDATE business_days SET state = 'done', finished_at = $2 WHERE business_date = $1",
        vec![date(day), Utc::now().into()],
    ))
    .await?;
    Ok(())
}

/// Appends to the API audit trail (who, what, when, outcome). `detail` holds no personal data.
pub async fn audit(
    db: &impl ConnectionTrait,
    caller: &str,
    role: &str,
    action: &str,
    target: &str,
    outcome: &str,
    detail: &str,
) -> Result<(), DbErr> {
    restance_runtime::audit::record_api_audit(
        db,
        restance_runtime::audit::ApiAuditRow {
            caller,
            role,
            action,
            target,
            outcome,
            detail,
        },
    )
    .await
}
