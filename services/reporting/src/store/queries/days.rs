//! Business days, and the API audit trail.

use chrono::{NaiveDate, Utc};
use restance_kernel::BusinessDate;
use restance_store::date;
use sea_orm::sea_query::{Expr, ExprTrait, LockType, OnConflict, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbErr};

/// The latest business date opened.
pub use restance_store::last_business_date;

/// The first business date opened (reporting's first day).
pub async fn first_business_date(db: &impl ConnectionTrait) -> Result<Option<BusinessDate>, DbErr> {
    one_date(
        db,
        Query::select()
            .expr_as(Expr::col("business_date").min(), "d")
            .from("business_days"),
    )
    .await
}

/// The business date opened before `day`.
pub async fn previous_business_date(
    db: &impl ConnectionTrait,
    day: BusinessDate,
) -> Result<Option<BusinessDate>, DbErr> {
    one_date(
        db,
        Query::select()
            .expr_as(Expr::col("business_date").max(), "d")
            .from("business_days")
            .and_where(Expr::col("business_date").lt(date(day))),
    )
    .await
}

/// The earliest business day whose work (snapshots, reports) is not done.
pub async fn next_pending_day(db: &impl ConnectionTrait) -> Result<Option<BusinessDate>, DbErr> {
    one_date(
        db,
        Query::select()
            .expr_as(Expr::col("business_date").min(), "d")
            .from("business_days")
            .and_where(Expr::col("state").ne("done")),
    )
    .await
}

/// The date (column `d`, possibly `NULL`) of a query's single row.
pub(super) async fn one_date(
    db: &impl ConnectionTrait,
    select: &SelectStatement,
) -> Result<Option<BusinessDate>, DbErr> {
    match db.query_one(select).await? {
        Some(r) => Ok(r
            .try_get::<Option<NaiveDate>>("", "d")?
            .map(BusinessDate::from)),
        None => Ok(None),
    }
}

/// Records an opened business day; `false` if it was there.
pub async fn insert_business_day(
    db: &impl ConnectionTrait,
    day: BusinessDate,
) -> Result<bool, DbErr> {
    let r = db
        .execute(
            Query::insert()
                .into_table("business_days")
                .columns(["business_date", "state", "opened_at"])
                .values_panic([date(day).into(), "pending".into(), Utc::now().into()])
                .on_conflict(OnConflict::column("business_date").do_nothing().to_owned()),
        )
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Locks the day's row (PostgreSQL) for the rest of the transaction; its state.
pub async fn lock_day(
    db: &impl ConnectionTrait,
    day: BusinessDate,
) -> Result<Option<String>, DbErr> {
    match db
        .query_one(
            Query::select()
                .column("state")
                .from("business_days")
                .and_where(Expr::col("business_date").eq(date(day)))
                .lock(LockType::Update),
        )
        .await?
    {
        Some(r) => Ok(Some(r.try_get("", "state")?)),
        None => Ok(None),
    }
}

/// Marks the day's work done.
pub async fn finish_day(db: &impl ConnectionTrait, day: BusinessDate) -> Result<(), DbErr> {
    db.execute(
        Query::update()
            .table("business_days")
            .value("state", "done")
            .value("finished_at", Utc::now())
            .and_where(Expr::col("business_date").eq(date(day))),
    )
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
