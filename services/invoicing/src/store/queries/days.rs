//! The business date.

use chrono::NaiveDate;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ConnectionTrait, DbErr};

/// The last business date this service opened, if any.
pub async fn last_business_date(db: &impl ConnectionTrait) -> Result<Option<NaiveDate>, DbErr> {
    let select = Query::select()
        .column("last_date")
        .from("business_days")
        .and_where(Expr::col("id").eq(1))
        .to_owned();
    match db.query_one(&select).await? {
        Some(row) => Ok(Some(row.try_get("", "last_date")?)),
        None => Ok(None),
    }
}

/// Records the business date; a later one only (two replicas opening two days at once keep the
/// later).
pub async fn set_business_date(db: &impl ConnectionTrait, date: NaiveDate) -> Result<(), DbErr> {
    let insert = Query::insert()
        .into_table("business_days")
        .columns(["id", "last_date"])
        .values_panic([1i64.into(), date.into()])
        .on_conflict(
            OnConflict::column("id")
                .update_column("last_date")
                .action_and_where(
                    Expr::col(("business_days", "last_date"))
                        .lt(Expr::col(("excluded", "last_date"))),
                )
                .to_owned(),
        )
        .to_owned();
    db.execute(&insert).await.map(|_| ())
}
