//! The contact directory: `invoicing.debtor.updated.v1` → the latest details per
//! `(municipality, debtor id)` (the last one processed wins), kept in this service's database
//! only — personal data never reaches a log line or an event from here. Requests parked for the
//! debtor are planned in the same transaction.

use super::requests::{self, STATE_PARKED};
use crate::Shared;
use crate::domain::ids::json_error;
use crate::store::queries;
use restance_bus::{Effects, HandlerError, Outcome};
use restance_contracts::messages::{DebtorUpdated, NotificationRequested};
use sea_orm::DatabaseTransaction;

/// Stores the debtor and completes what waited for them; the flag says whether deliveries
/// were planned.
pub async fn debtor_updated(
    tx: &DatabaseTransaction,
    shared: &Shared,
    update: &DebtorUpdated,
    effects: &mut Effects,
) -> Result<(Outcome, bool), HandlerError> {
    let details = serde_json::to_string(&update.debtor)
        .map_err(|e| HandlerError::Other(format!("cannot serialise a debtor: {e}")))?;
    queries::upsert_contact(
        tx,
        &update.municipality,
        &update.debtor.id,
        &details,
        shared.clock.now_ms(),
    )
    .await?;
    let parked = queries::parked_for(tx, &update.municipality, &update.debtor.id).await?;
    let mut planned = false;
    for p in parked {
        let req: NotificationRequested = match serde_json::from_str(&p.request) {
            Ok(r) => r,
            Err(e) => {
                return Err(HandlerError::Other(format!(
                    "parked notification {} is unreadable: {}",
                    p.notification_id,
                    json_error(&e)
                )));
            }
        };
        tracing::info!(notification_id = %req.notification_id, debtor_id = %update.debtor.id,
            "debtor details arrived: planning the parked notification");
        planned |= requests::plan(
            tx,
            shared,
            &req,
            Some(&update.debtor),
            STATE_PARKED,
            effects,
        )
        .await?;
    }
    Ok((Outcome::Done, planned))
}
