//! Business days.

use chrono::Utc;
use restance_kernel::BusinessDate;
use restance_store::date;
use sea_orm::sea_query::{OnConflict, Query};
use sea_orm::{ConnectionTrait, DbErr};

/// The latest business date recorded (the shared query on this service's `business_days`).
pub use restance_store::last_business_date;

/// Records a business day.
pub async fn insert_business_day(
    db: &impl ConnectionTrait,
    day: BusinessDate,
) -> Result<bool, DbErr> {
    let insert = Query::insert()
        .into_table("business_days")
        .columns(["business_date", "opened_at"])
        .values_panic([date(day).into(), Utc::now().into()])
        .on_conflict(OnConflict::new().do_nothing().to_owned())
        .to_owned();
    let r = db.execute(&insert).await?;
    Ok(r.rows_affected() == 1)
}
