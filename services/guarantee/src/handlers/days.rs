//! `calendar.day.opened.v1`: the business date, which is "today" for the API's recoverable
//! amount and what expires soon. The daily limitation watch plugs in here: it runs for the day
//! this records, over the guarantees with no recovery raised (`domain::watch`).

use restance_bus::{Effects, HandlerError, Outcome};
use restance_kernel::BusinessDate;
use sea_orm::DatabaseTransaction;

use crate::state::Shared;
use crate::store::queries::days;

/// Records the day opened.
pub async fn open(
    _shared: &Shared,
    tx: &DatabaseTransaction,
    _effects: &mut Effects,
    day: BusinessDate,
) -> Result<Outcome, HandlerError> {
    days::record(tx, day).await?;
    super::quarterly::on_day(_shared, tx, _effects, day).await?;
    tracing::info!(%day, "business day opened");
    Ok(Outcome::Done)
}
