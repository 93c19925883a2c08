//! The business day.

use chrono::NaiveDate;
use restance_store::stmt;
use sea_orm::{ConnectionTrait, DbErr, Value};

/// The latest business date seen in `calendar.day.opened.v1`.
pub async fn business_date(db: &impl ConnectionTrait) -> Result<Option<NaiveDate>, DbErr> {
    db.query_one_raw(stmt(
        db,
        "SELECT last_date FROM business_days WHERE id = 1",
        vec![],
    ))
    .await?
    .map(|r| r.try_get_by_index(0))
    .transpose()
}

/// Records a business date (an earlier one than the stored one is ignored). One statement, the
/// comparison in it: two replicas opening two days at once keep the later date whichever
/// commits last (a read, then an unconditional write, let the earlier day overwrite the later).
pub async fn open_day(db: &impl ConnectionTrait, date: NaiveDate) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "INSERT INTO business_days (id, last_date) VALUES (1, $1) ON CONFLICT (id) DO UPDATE \
         SET last_date = excluded.last_date WHERE business_days.last_date < excluded.last_date",
        vec![Value::from(date)],
    ))
    .await
    .map(|_| ())
}
