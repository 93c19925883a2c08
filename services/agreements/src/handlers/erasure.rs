//! Retention: `invoicing.debtor.erased.v1` → agreements' own personal data about the debtor
//! goes — the plans' notes, budgets and cancellation reasons, the deferrals' notes, the meetings'
//! place, interpreter language and note, the tasks' texts, the caseworker alerts' reasons and
//! answers ([`queries::erase_debtor`]). Ids, states, amounts, dates, instalments, payments and the
//! audit's who and when stay. Under the debtor's lock, like every other decision on the debtor
//! ([`crate::handlers`]); the erasure's version is kept, and a repeat finds nothing more to erase.
//! Agreements keeps no copy of the debtor's details (`invoicing.debtor.updated.v1` is not bound
//! here), so no late copy can bring them back; an alert that arrives again keeps its erased
//! reason (alerts and tasks are inserted once per natural key).

use restance_bus::HandlerError;
use restance_contracts::messages::DebtorErased;
use sea_orm::DatabaseTransaction;

use crate::store::queries;

/// Erases the debtor's personal data held here.
pub async fn debtor_erased(tx: &DatabaseTransaction, e: &DebtorErased) -> Result<(), HandlerError> {
    let version = i64::try_from(e.version)
        .map_err(|_| HandlerError::Other(format!("debtor version {} too large", e.version)))?;
    let erased = queries::erase_debtor(
        tx,
        &e.municipality,
        &e.debtor_id,
        version,
        e.erased_on.into(),
    )
    .await?;
    ::metrics::counter!("restance_agreements_debtors_erased_total").increment(1);
    tracing::info!(
        municipality = %e.municipality,
        plans = erased.plans,
        deferrals = erased.deferrals,
        meetings = erased.meetings,
        tasks = erased.tasks,
        alerts = erased.alerts,
        audit = erased.audit,
        "a debtor past retention erased"
    );
    Ok(())
}
