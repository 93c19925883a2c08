//! The contact directory: `invoicing.debtor.updated.v1` → the latest details per
//! `(municipality, debtor id)`, kept in this service's database only — personal data never
//! reaches a log line or an event from here. Requests parked for the debtor are planned in the
//! same transaction.
//!
//! **Which copy is the latest** is decided by the copy's `version`, never by the order copies
//! arrive in: two invoicing replicas, a replay of dead letters or a relay's redelivery can bring
//! an older copy after a newer one, and the older one must not undo, say, an address protection
//! set since. The contact is stored with the version of the copy it came from, and
//! ([`DebtorUpdated::against`], the rule every consumer of the message shares):
//!
//! - a **higher** version than the stored one replaces the contact (it may also lower the
//!   protection: a protection lifted in the register);
//! - the **same** version is a duplicate: nothing changes;
//! - a **lower** version is stale: acknowledged and ignored (no error, no dead letter), counted
//!   in `restance_notifications_debtor_updates_total{outcome="stale"}` and logged at debug;
//! - a copy **without** a version (from an invoicing older than versions) replaces the contact
//!   as it always did and keeps the stored version — but once a versioned copy was stored it can
//!   never **lower** the address protection (none < confidential < strictly_confidential): where
//!   its protection is lower, the stored one is kept (`outcome="protection_kept"`). Its age is
//!   unknown, so it may only make the contact safer; only a newer versioned copy lowers a
//!   protection. Before any versioned copy arrived, it applies exactly as before.
//!
//! The read and the write are one step: the contact row is read `FOR UPDATE` (PostgreSQL), and
//! a first contact is inserted only if none appeared meanwhile (else it is read and decided
//! again), so two replicas handling two copies of one debtor at once end with the newer one.
//! Before that the debtor's advisory lock is taken ([`queries::lock_debtor`]), the lock a
//! request for the debtor takes before it reads the contact: otherwise a request handled by
//! another replica at the same moment could read "unknown debtor" and park after this
//! transaction looked for parked requests, and wait for a debtor update that already came.

use super::requests::{self, STATE_PARKED};
use crate::domain::ids::json_error;
use crate::state::Shared;
use crate::store::queries;
use restance_bus::{Effects, HandlerError, Outcome};
use restance_contracts::messages::{
    Debtor, DebtorCopy, DebtorUpdated, NotificationRequested, StoredDebtorCopy,
};
use sea_orm::DatabaseTransaction;

fn counted(outcome: &'static str) {
    metrics::counter!("restance_notifications_debtor_updates_total", "outcome" => outcome)
        .increment(1);
}

/// The stored contact as the version rule sees it.
fn stored_copy(
    stored: &queries::StoredContact,
    debtor_id: &str,
) -> Result<StoredDebtorCopy, HandlerError> {
    let debtor: Debtor = serde_json::from_str(&stored.details).map_err(|e| {
        HandlerError::Other(format!(
            "the stored details of debtor {debtor_id} are unreadable: {}",
            json_error(&e)
        ))
    })?;
    Ok(StoredDebtorCopy {
        version: u64::try_from(stored.version).unwrap_or(0),
        address_protection: debtor.address_protection,
    })
}

/// Stores the contact this copy makes current (by the version rule of the module docs); returns
/// the details now stored, or `None` when the copy changed nothing (stale or a duplicate).
async fn store(
    tx: &DatabaseTransaction,
    shared: &Shared,
    update: &DebtorUpdated,
) -> Result<Option<Debtor>, HandlerError> {
    let municipality = &update.municipality;
    let debtor_id = &update.debtor.id;
    // The debtor's lock first: a request for this debtor handled at the same moment by another
    // replica is either parked already (committed; found below) or reads what we store.
    queries::lock_debtor(tx, municipality, debtor_id).await?;
    // A copy from before the debtor's erasure (retention) must not bring the data back; a later
    // invoice for the same id brings a higher version.
    if let Some(erased) = queries::erased_version(tx, municipality, debtor_id).await?
        && update
            .version
            .is_none_or(|v| i64::try_from(v).unwrap_or(i64::MAX) <= erased)
    {
        counted("stale");
        tracing::debug!(%debtor_id, version = update.version,
            "a copy of the debtor's details from before its erasure arrived: ignored");
        return Ok(None);
    }
    // At most twice: a first contact another transaction inserted meanwhile is read again.
    for _ in 0..2 {
        let stored = queries::contact_for_update(tx, municipality, debtor_id).await?;
        let before = stored
            .as_ref()
            .map(|s| stored_copy(s, debtor_id))
            .transpose()?;
        let (debtor, version, protection_kept) = match update.against(before) {
            DebtorCopy::Stale => {
                counted("stale");
                tracing::debug!(%debtor_id, version = update.version,
                    stored_version = before.map(|b| b.version),
                    "an older copy of the debtor's details arrived after a newer one: ignored");
                return Ok(None);
            }
            DebtorCopy::Duplicate => {
                counted("duplicate");
                tracing::debug!(%debtor_id, version = update.version,
                    "this version of the debtor's details is stored already");
                return Ok(None);
            }
            DebtorCopy::Store {
                debtor,
                version,
                protection_kept,
            } => (debtor, version, protection_kept),
        };
        let details = serde_json::to_string(&debtor)
            .map_err(|e| HandlerError::Other(format!("cannot serialise a debtor: {e}")))?;
        let version = i64::try_from(version)
            .map_err(|_| HandlerError::Other(format!("debtor version {version} too large")))?;
        let now_ms = shared.clock.now_ms();
        if stored.is_some() {
            queries::update_contact(tx, municipality, debtor_id, &details, version, now_ms).await?;
        } else if !queries::insert_contact(tx, municipality, debtor_id, &details, version, now_ms)
            .await?
        {
            continue;
        }
        if protection_kept {
            counted("protection_kept");
            tracing::info!(%debtor_id, stored_version = version,
                "a copy of the debtor's details without a version would have lowered the address protection a versioned copy set: the protection is kept");
        } else {
            counted("stored");
        }
        return Ok(Some(*debtor));
    }
    Err(HandlerError::Other(format!(
        "the contact of debtor {debtor_id} changed while it was being stored; retried"
    )))
}

/// Stores the debtor (if this copy is the newest) and completes what waited for them; the flag
/// says whether deliveries were planned.
pub async fn debtor_updated(
    tx: &DatabaseTransaction,
    shared: &Shared,
    update: &DebtorUpdated,
    effects: &mut Effects,
) -> Result<(Outcome, bool), HandlerError> {
    let Some(debtor) = store(tx, shared, update).await? else {
        return Ok((Outcome::Done, false));
    };
    let parked = queries::parked_for(tx, &update.municipality, &debtor.id).await?;
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
        tracing::info!(notification_id = %req.notification_id, debtor_id = %debtor.id,
            "debtor details arrived: planning the parked notification");
        planned |= requests::plan(tx, shared, &req, Some(&debtor), STATE_PARKED, effects).await?;
    }
    Ok((Outcome::Done, planned))
}
