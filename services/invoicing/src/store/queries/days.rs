//! The business date.

use chrono::NaiveDate;
use restance_store::stmt;
use sea_orm::{ConnectionTrait, DbErr};

/// The last business date this service opened, if any.
pub async fn last_business_date(db: &impl ConnectionTrait) -> Result<Option<NaiveDate>, DbErr> {
    match db
        .query_one_raw(stmt(
            db,
            "SELECT last_date FROM business_days WHERE id = 1",
            vec![],
        ))
        .await?
    {
        Some(row) => Ok(Some(row.try_get_by_index(0)?)),
        None => Ok(None),
    }
}

/// Records the business date; a later one only (two replicas opening two days at once keep the
/// later).
pub async fn set_business_date(db: &impl ConnectionTrait, date: NaiveDate) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "INSERT INTO business_days (id, last_date) VALUES (1, $1) ON CONFLICT (id) DO UPDATE \
         SET last_date = excluded.last_date WHERE business_days.last_date < excluded.last_date",
        vec![date.into()],
    ))
    .await
    .map(|_| ())
}
