//! Business days.

use chrono::Utc;
use restance_kernel::BusinessDate;
use restance_store::{date, stmt};
use sea_orm::{ConnectionTrait, DbErr};

/// The latest business date recorded (the shared query on this service's `business_days`).
pub use restance_store::last_business_date;

/// Records a business day.
pub async fn insert_business_day(
    db: &impl ConnectionTrait,
    day: BusinessDate,
) -> Result<bool, DbErr> {
    let r = db
        .execute_raw(stmt(
            db,
            "INSERT INTO business_days (business_date, opened_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            vec![date(day), Utc::now().into()],
        ))
        .await?;
    Ok(r.rows_affected() == 1)
}
