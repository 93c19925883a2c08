//! invoicing's claim events: dunning's copy of each claim stays current.
//!
//! An event about a claim dunning does not have yet — its `claim.opened` may be committing on
//! another replica this very moment — is [`Outcome::NotYet`]: the consumer handles it again
//! after growing pauses (about 30 s in all) and only then dead-letters it with the reason
//! (`restance_bus::consumer`, "Not yet"). A claim of another debtor is refused at once.

use restance_bus::{HandlerError, Outcome, Rejection, UNKNOWN_CLAIM};
use restance_contracts::messages::{
    ClaimBalanceChanged, ClaimCopy, ClaimEvent, ClaimOpened, ClaimRef, ClaimSettled,
    ClaimWrittenOff, DebtorCopy, DebtorUpdated, PaymentApplied, StoredDebtorCopy,
};
use restance_kernel::{BusinessDate, Catalog};
use sea_orm::DatabaseTransaction;

use crate::domain::{ClaimBalance, ClaimHistory, ClaimStatus, Policies};
use crate::store::queries::{self, ClaimRow};

/// The stored claim `claim` names, or what becomes of the event: not yet (an unknown claim)
/// or rejected (another debtor's).
async fn known_claim(
    tx: &DatabaseTransaction,
    claim: &ClaimRef,
) -> Result<Result<ClaimRow, Outcome>, HandlerError> {
    match queries::claim(tx, &claim.claim_id).await? {
        None => Ok(Err(Outcome::not_yet(
            UNKNOWN_CLAIM,
            Rejection::new(format!(
                "data.claim_id: no claim {}; dunning learns claims from invoicing.claim.opened.v1",
                claim.claim_id
            )),
        ))),
        Some(row) if row.municipality != claim.municipality || row.debtor_id != claim.debtor_id => {
            Ok(Err(Outcome::Rejected(Rejection::new(format!(
                "data.debtor_id: claim {} belongs to another debtor or municipality",
                claim.claim_id
            )))))
        }
        Some(row) => Ok(Ok(row)),
    }
}

/// `invoicing.claim.opened.v1`: a new claim enters dunning (a re-sent event changes nothing).
pub async fn opened(
    tx: &DatabaseTransaction,
    policies: &Policies,
    catalog: &Catalog,
    e: &ClaimOpened,
) -> Result<Outcome, HandlerError> {
    let billed = catalog
        .municipality(&e.claim.municipality)
        .is_some_and(|m| m.categories.contains(&e.claim.category));
    if !billed {
        return Ok(Outcome::Rejected(Rejection::new(format!(
            "data.category: {:?} is not a category of municipality {} in the catalog",
            e.claim.category, e.claim.municipality
        ))));
    }
    if policies
        .policy_id_for(&e.claim.municipality, &e.claim.category)
        .is_none()
    {
        return Ok(Outcome::Rejected(Rejection::new(format!(
            "data.category: no dunning policy for category {:?} in municipality {}",
            e.claim.category, e.claim.municipality
        ))));
    }
    let row = ClaimRow {
        claim_id: e.claim.claim_id.clone(),
        municipality: e.claim.municipality.clone(),
        debtor_id: e.claim.debtor_id.clone(),
        source: e.claim.source.clone(),
        invoice_id: e.claim.invoice_id.clone(),
        category: e.claim.category.clone(),
        office: e.office.clone(),
        currency: e.currency,
        amount: e.amount,
        balance: ClaimBalance {
            principal: e.amount,
            ..ClaimBalance::default()
        },
        issue_date: e.issue_date,
        due_date: e.due_date,
        payment_reference: e.payment_reference.clone(),
        ocr_line: e.ocr_line.clone(),
        status: ClaimStatus::Open,
        last_acknowledged: None,
        history: ClaimHistory::default(),
        suspension_id: None,
        next_action_date: None,
        invoicing_version: e.version.unwrap_or(0),
        prepayment: e.prepayment,
        direct_debit: e.direct_debit,
    };
    queries::insert_claim_if_new(tx, &row).await?;
    if let Some(traceparent) = restance_bus::trace::current_traceparent() {
        let key = (e.claim.municipality.clone(), e.claim.debtor_id.clone());
        queries::set_debtor_trace(tx, &key, &traceparent).await?;
    }
    Ok(Outcome::Done)
}

async fn store(tx: &DatabaseTransaction, row: ClaimRow) -> Result<Outcome, HandlerError> {
    queries::upsert_claims(tx, std::slice::from_ref(&row)).await?;
    Ok(Outcome::Done)
}

/// Whether a claim event is newer than what `row` holds ([`ClaimEvent::against`], the rule
/// agreements and reporting apply too): if so, `row` takes its version and the caller applies
/// it. An older copy (two replicas of this consumer applying a claim's events in the other
/// order, a replay) or the same version again changes nothing: acknowledged, counted in
/// `restance_dunning_claim_updates_total{event, outcome}` and logged at debug level with the
/// claim's id only. A copy without a version (an invoicing from before versions) is applied as
/// before and keeps the stored version. The debtor's lock is held (the batch took it), so the
/// stored version read here is the one this transaction overwrites.
fn newest(row: &mut ClaimRow, e: &impl ClaimEvent, event: &'static str) -> bool {
    let decision = e.against(Some(row.invoicing_version));
    metrics::counter!("restance_dunning_claim_updates_total",
        "event" => event, "outcome" => decision.outcome())
    .increment(1);
    match decision {
        ClaimCopy::Apply { version } => {
            row.invoicing_version = version;
            true
        }
        ClaimCopy::Duplicate => {
            tracing::debug!(claim_id = %row.claim_id, event, version = e.claim_version(),
                "this version of the claim is applied already");
            false
        }
        ClaimCopy::Stale => {
            tracing::debug!(claim_id = %row.claim_id, event, version = e.claim_version(),
                stored_version = row.invoicing_version,
                "an older claim event arrived after a newer one: ignored");
            false
        }
    }
}

/// `invoicing.claim.balance_changed.v1`: the open amounts as invoicing has them — the newest
/// by `version`, not the last to arrive ([`newest`]).
pub async fn balance_changed(
    tx: &DatabaseTransaction,
    e: &ClaimBalanceChanged,
) -> Result<Outcome, HandlerError> {
    let mut row = match known_claim(tx, &e.claim).await? {
        Ok(row) => row,
        Err(outcome) => return Ok(outcome),
    };
    if !newest(&mut row, e, "balance_changed") {
        return Ok(Outcome::Done);
    }
    row.balance = ClaimBalance {
        principal: e.principal,
        fees: e.fees,
        interest: e.interest,
    };
    store(tx, row).await
}

/// `invoicing.claim.settled.v1`: paid in full; the claim leaves dunning (an open write-off
/// proposal is withdrawn). A versioned copy also sets the balance to zero (the state it
/// describes), so a settlement applied before the balance change that led to it — which is
/// then older, and ignored — leaves nothing open.
pub async fn settled(tx: &DatabaseTransaction, e: &ClaimSettled) -> Result<Outcome, HandlerError> {
    let mut row = match known_claim(tx, &e.claim).await? {
        Ok(row) => row,
        Err(outcome) => return Ok(outcome),
    };
    if !newest(&mut row, e, "settled") {
        return Ok(Outcome::Done);
    }
    if row.status == ClaimStatus::Open {
        row.status = ClaimStatus::Settled;
    }
    if e.version.is_some() {
        row.balance = ClaimBalance::default();
    }
    queries::close_write_offs(tx, &row.claim_id, "withdrawn").await?;
    store(tx, row).await
}

/// `invoicing.claim.written_off.v1`: the claim leaves dunning; its proposal is done.
pub async fn written_off(
    tx: &DatabaseTransaction,
    e: &ClaimWrittenOff,
) -> Result<Outcome, HandlerError> {
    let mut row = match known_claim(tx, &e.claim).await? {
        Ok(row) => row,
        Err(outcome) => return Ok(outcome),
    };
    if !newest(&mut row, e, "written_off") {
        return Ok(Outcome::Done);
    }
    row.status = ClaimStatus::WrittenOff;
    row.balance = ClaimBalance::default();
    queries::close_write_offs(tx, &row.claim_id, "written_off").await?;
    store(tx, row).await
}

/// `invoicing.payment.applied.v1`: every claim the payment reached was acknowledged on the
/// booking date (DOMAIN.md, "Limitation": a part payment interrupts it). The balances come with
/// `claim.balance_changed`. A claim of another debtor is refused at once; a claim not known
/// yet makes the payment [`Outcome::NotYet`].
pub async fn payment_applied(
    tx: &DatabaseTransaction,
    e: &PaymentApplied,
) -> Result<Outcome, HandlerError> {
    let ids: Vec<String> = e.allocations.iter().map(|a| a.claim_id.clone()).collect();
    let rows = queries::claims_by_id(tx, &ids).await?;
    let why = |id: &str| {
        Rejection::new(format!(
            "data.allocations: no claim {id} of debtor {} in municipality {}",
            e.debtor_id, e.municipality
        ))
    };
    let mut unknown = None;
    for id in &ids {
        match rows.iter().find(|r| &r.claim_id == id) {
            None => unknown = unknown.or(Some(id)),
            Some(r) if r.debtor_id != e.debtor_id || r.municipality != e.municipality => {
                return Ok(Outcome::Rejected(why(id)));
            }
            Some(_) => {}
        }
    }
    if let Some(id) = unknown {
        return Ok(Outcome::not_yet(UNKNOWN_CLAIM, why(id)));
    }
    let day: BusinessDate = e.booking_date;
    let updated: Vec<ClaimRow> = rows
        .into_iter()
        .map(|mut r| {
            r.last_acknowledged = Some(r.last_acknowledged.map_or(day, |d| d.max(day)));
            r
        })
        .collect();
    queries::upsert_claims(tx, &updated).await?;
    Ok(Outcome::Done)
}

/// `invoicing.debtor.updated.v1`: the debtor's kind and details (national id, name, address and
/// its protection: what a transfer to state collection needs). Stored, never logged.
///
/// The newest copy wins, whatever the order copies arrive in (two invoicing replicas, a replay,
/// a relay's redelivery): the details are stored with the copy's `version`, and
/// ([`DebtorUpdated::against`], the rule the contact directory of notifications applies too) a
/// higher version replaces them, the same version is a duplicate, a lower one is ignored
/// (acknowledged, `restance_dunning_debtor_updates_total{outcome="stale"}`, debug log). A copy
/// without a version (an invoicing from before versions) replaces them as before, but once a
/// versioned copy was stored it never lowers the address protection (none < confidential <
/// strictly_confidential): an old copy saying `none` cannot send a protected address to the
/// collection authority. The debtor's row is locked by the batch before this reads it.
pub async fn debtor_updated(
    tx: &DatabaseTransaction,
    e: &DebtorUpdated,
) -> Result<Outcome, HandlerError> {
    // A copy from before the debtor's erasure (retention) must not bring the details back; a
    // later invoice for the same id brings a higher version.
    if let Some(erased) = queries::erased_debtor_version(tx, &e.municipality, &e.debtor.id).await?
        && e.version
            .is_none_or(|v| i64::try_from(v).unwrap_or(i64::MAX) <= erased)
    {
        metrics::counter!("restance_dunning_debtor_updates_total", "outcome" => "stale")
            .increment(1);
        return Ok(Outcome::Done);
    }
    let stored = queries::stored_debtor_copy(tx, &e.municipality, &e.debtor.id).await?;
    let before = stored.map(|(d, v)| StoredDebtorCopy {
        version: u64::try_from(v).unwrap_or(0),
        address_protection: d.address_protection,
    });
    let count = |outcome: &'static str| {
        metrics::counter!("restance_dunning_debtor_updates_total", "outcome" => outcome)
            .increment(1);
    };
    match e.against(before) {
        DebtorCopy::Stale => {
            count("stale");
            tracing::debug!(debtor_id = %e.debtor.id, version = e.version,
                stored_version = before.map(|b| b.version),
                "an older copy of the debtor's details arrived after a newer one: ignored");
        }
        DebtorCopy::Duplicate => {
            count("duplicate");
            tracing::debug!(debtor_id = %e.debtor.id, version = e.version,
                "this version of the debtor's details is stored already");
        }
        DebtorCopy::Store {
            debtor,
            version,
            protection_kept,
        } => {
            let version = i64::try_from(version)
                .map_err(|_| HandlerError::Other(format!("debtor version {version} too large")))?;
            queries::set_debtor_details(tx, &e.municipality, &debtor, version).await?;
            if protection_kept {
                count("protection_kept");
                tracing::info!(debtor_id = %e.debtor.id, stored_version = version,
                    "a copy of the debtor's details without a version would have lowered the address protection a versioned copy set: the protection is kept");
            } else {
                count("stored");
            }
        }
    }
    Ok(Outcome::Done)
}

/// `invoicing.debtor.erased.v1`: retention ran out for the debtor (every claim ended long ago);
/// the details dunning keeps for transfers (national id, name, address, contact) go, the
/// erasure's version stays so a late copy of the details cannot bring them back. Claims,
/// history and holds (no personal data) stay. A repeat changes nothing.
pub async fn debtor_erased(
    tx: &DatabaseTransaction,
    e: &restance_contracts::messages::DebtorErased,
) -> Result<Outcome, HandlerError> {
    let version = i64::try_from(e.version)
        .map_err(|_| HandlerError::Other(format!("debtor version {} too large", e.version)))?;
    queries::erase_debtor_details(tx, &e.municipality, &e.debtor_id, version).await?;
    Ok(Outcome::Done)
}
