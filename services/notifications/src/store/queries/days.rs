//! The business day.

use chrono::NaiveDate;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ConnectionTrait, DbErr};

/// The latest business date seen in `calendar.day.opened.v1`.
pub async fn business_date(db: &impl ConnectionTrait) -> Result<Option<NaiveDate>, DbErr> {
    let select = Query::select()
        .column("last_date")
        .from("business_days")
        .and_where(Expr::col("id").eq(1))
        .to_owned();
    db.query_one(&select)
        .await?
        .map(|r| r.try_get("", "last_date"))
        .transpose()
}

/// Records a business date (an earlier one than the stored one is ignored). One statement, the
/// comparison in it: two replicas opening two days at once keep the later date whichever
/// commits last (a read, then an unconditional write, let the earlier day overwrite the later).
pub async fn open_day(db: &impl ConnectionTrait, date: NaiveDate) -> Result<(), DbErr> {
    let upsert = Query::insert()
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
    db.execute(&upsert).await.map(|_| ())
}
