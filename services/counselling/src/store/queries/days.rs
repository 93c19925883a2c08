//! The business date (`calendar.day.opened.v1`): what "today" is for the API's writes and the
//! counsellors' task lists.

use restance_kernel::BusinessDate;
use restance_store::{date, stmt};
use sea_orm::{ConnectionTrait, DbErr};

/// Records an opened business date (a date seen before is no change).
pub async fn record(db: &impl ConnectionTrait, day: BusinessDate) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "INSERT INTO business_days (business_date) VALUES ($1) ON CONFLICT (business_date) DO NOTHING",
        vec![date(day)],
    ))
    .await
    .map(|_| ())
}

/// The latest business date opened, if any.
pub async fn latest(db: &impl ConnectionTrait) -> Result<Option<BusinessDate>, DbErr> {
    restance_store::last_business_date(db).await
}
