//! The business date (`calendar.day.opened.v1`): what "today" is for the API's writes and the
//! counsellors' task lists.

use restance_kernel::BusinessDate;
use restance_store::date;
use sea_orm::sea_query::{OnConflict, Query};
use sea_orm::{ConnectionTrait, DbErr};

/// Records an opened business date (a date seen before is no change).
pub async fn record(db: &impl ConnectionTrait, day: BusinessDate) -> Result<(), DbErr> {
    let insert = Query::insert()
        .into_table("business_days")
        .columns(["business_date"])
        .values_panic([date(day).into()])
        .on_conflict(OnConflict::column("business_date").do_nothing().to_owned())
        .to_owned();
    db.execute(&insert).await.map(|_| ())
}

/// The latest business date opened, if any.
pub async fn latest(db: &impl ConnectionTrait) -> Result<Option<BusinessDate>, DbErr> {
    restance_store::last_business_date(db).await
}
