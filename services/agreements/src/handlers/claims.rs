//! The claims projection: invoicing's claim events and dunning's transfers keep agreements' copy
//! of each claim current (no synchronous call to invoicing: DESIGN.md, "each service owns its
//! database"). A claim leaving the books may complete its plan; a payment on a covered claim
//! counts towards its plan.
//!
//! An event about a claim the projection does not have is not refused at once: invoicing
//! announces every claim with `invoicing.claim.opened.v1` first, but another replica may still
//! be committing it, so the event is [`Failure::NotYet`] — the consumer handles it again after
//! growing pauses (about 30 s in all) and only then dead-letters it with the reason
//! (`restance_bus::consumer`, "Not yet"). A claim of another debtor is refused at once.
//!
//! Invoicing's claim events carry the claim's `version`; the projection keeps the version it
//! applied last (`claims.invoicing_version`) and ignores an older or repeated one ([`newest`]),
//! so two replicas applying a claim's balance changes in the other order leave the newest
//! balance, not the last to commit.

use restance_bus::Effects;
use restance_contracts::messages::{
    ClaimBalanceChanged, ClaimCopy, ClaimEvent, ClaimHandedOver, ClaimOpened, ClaimRef,
    ClaimSettled, ClaimWrittenOff, PaymentApplied,
};
use restance_kernel::{BusinessDate, Money};
use sea_orm::DatabaseTransaction;

use crate::context::{Failure, Refusal};
use crate::metrics;
use crate::plans;
use crate::state::Shared;
use crate::store::queries::{self, ClaimRow, ClaimState, CoverageKind};

/// The stored claim `claim` names, or why the event cannot be applied.
async fn known(tx: &DatabaseTransaction, claim: &ClaimRef) -> Result<ClaimRow, Failure> {
    match queries::claim(tx, &claim.claim_id).await? {
        None => Err(Failure::NotYet(Refusal::not_found(format!(
            "data.claim_id: no claim {}; agreements learns claims from invoicing.claim.opened.v1",
            claim.claim_id
        )))),
        Some(row) if row.municipality != claim.municipality || row.debtor_id != claim.debtor_id => {
            Err(Failure::Refused(Refusal::conflict(format!(
                "data.debtor_id: claim {} belongs to another debtor or municipality",
                claim.claim_id
            ))))
        }
        Some(row) => Ok(row),
    }
}

/// `invoicing.claim.opened.v1`: a new claim (a re-sent event changes nothing).
pub async fn opened(tx: &DatabaseTransaction, e: &ClaimOpened) -> Result<(), Failure> {
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
        principal: e.amount,
        fees: Money::ZERO,
        interest: Money::ZERO,
        issue_date: e.issue_date,
        due_date: e.due_date,
        state: ClaimState::Open,
        closed_date: None,
        invoicing_version: e.version.unwrap_or(0),
    };
    queries::insert_claim_if_new(tx, &row).await?;
    Ok(())
}

/// Whether a claim event is newer than what `row` holds ([`ClaimEvent::against`], the rule
/// dunning and reporting apply too): if so, `row` takes its version and the caller applies it.
/// An older copy (two replicas of this consumer applying a claim's events in the other order, a
/// replay) or the same version again changes nothing: acknowledged, counted in
/// `restance_agreements_claim_updates_total{event, outcome}` and logged at debug level with the
/// claim's id only. A copy without a version (an invoicing from before versions) is applied as
/// before and keeps the stored version. The batch holds the debtor's lock, so the version read
/// here is the one this transaction overwrites.
fn newest(row: &mut ClaimRow, e: &impl ClaimEvent, event: &'static str) -> bool {
    let decision = e.against(Some(row.invoicing_version));
    metrics::claim_update(event, decision.outcome());
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
) -> Result<(), Failure> {
    let mut row = known(tx, &e.claim).await?;
    if !newest(&mut row, e, "balance_changed") {
        return Ok(());
    }
    queries::set_balance(
        tx,
        &e.claim.claim_id,
        e.principal,
        e.fees,
        e.interest,
        row.invoicing_version,
    )
    .await?;
    Ok(())
}

/// Closes `row` (read under the debtor's lock, its `invoicing_version` already the one to
/// store); `nothing_open` zeroes its balance.
async fn close(
    tx: &DatabaseTransaction,
    shared: &Shared,
    effects: &mut Effects,
    row: &ClaimRow,
    state: ClaimState,
    on: BusinessDate,
    nothing_open: bool,
) -> Result<(), Failure> {
    if !row.is_open() {
        // Already closed (a re-sent event): nothing changes but the version.
        queries::set_balance(
            tx,
            &row.claim_id,
            row.principal,
            row.fees,
            row.interest,
            row.invoicing_version,
        )
        .await?;
        return Ok(());
    }
    queries::close_claim(
        tx,
        &row.claim_id,
        state,
        on,
        nothing_open,
        row.invoicing_version,
    )
    .await?;
    plans::claim_closed(tx, shared, effects, &row.claim_id, state, on).await
}

/// `invoicing.claim.settled.v1`: paid in full; its plan may be complete.
pub async fn settled(
    tx: &DatabaseTransaction,
    shared: &Shared,
    effects: &mut Effects,
    e: &ClaimSettled,
) -> Result<(), Failure> {
    let mut row = known(tx, &e.claim).await?;
    if !newest(&mut row, e, "settled") {
        return Ok(());
    }
    // A versioned settlement is the state "nothing open": the balance change that led to it is
    // older, and ignored should it arrive after it.
    let nothing_open = e.version.is_some();
    close(
        tx,
        shared,
        effects,
        &row,
        ClaimState::Settled,
        e.settled_date,
        nothing_open,
    )
    .await
}

/// `invoicing.claim.written_off.v1`: nothing open any more; its plan may be complete.
pub async fn written_off(
    tx: &DatabaseTransaction,
    shared: &Shared,
    effects: &mut Effects,
    e: &ClaimWrittenOff,
) -> Result<(), Failure> {
    let mut row = known(tx, &e.claim).await?;
    if !newest(&mut row, e, "written_off") {
        return Ok(());
    }
    close(
        tx,
        shared,
        effects,
        &row,
        ClaimState::WrittenOff,
        e.date,
        true,
    )
    .await
}

/// `dunning.claim.handed_over.v1`: the claim left the municipality for state collection. It
/// leaves its plan (which completes if nothing else is left, else the caseworker revises it) and
/// its deferral. The event is the transfer without the debtor's details: those go only to the
/// collection authority (`dunning.claim.transferred.v1`, which agreements does not bind).
pub async fn transferred(
    tx: &DatabaseTransaction,
    shared: &Shared,
    effects: &mut Effects,
    e: &ClaimHandedOver,
) -> Result<(), Failure> {
    let claim_id = e.claim.claim_id.clone();
    let deferred =
        queries::coverage_of(tx, CoverageKind::Deferral, std::slice::from_ref(&claim_id)).await?;
    // Dunning's event: no invoicing version (the stored one stays); a transfer keeps the balance.
    let row = known(tx, &e.claim).await?;
    close(
        tx,
        shared,
        effects,
        &row,
        ClaimState::Transferred,
        e.transferred_date,
        false,
    )
    .await?;
    if let Some(deferral_id) = deferred.get(&claim_id) {
        queries::uncover(tx, CoverageKind::Deferral, deferral_id, Some(&claim_id)).await?;
    }
    Ok(())
}

/// `invoicing.payment.applied.v1`: what each covered claim received counts towards its plan.
pub async fn payment_applied(tx: &DatabaseTransaction, e: &PaymentApplied) -> Result<(), Failure> {
    let ids: Vec<String> = e.allocations.iter().map(|a| a.claim_id.clone()).collect();
    let rows = queries::claims_by_id(tx, &ids).await?;
    let why = |i: usize, id: &str| {
        Refusal::not_found(format!(
            "data.allocations[{i}].claim_id: no claim {id} of debtor {} in municipality {}",
            e.debtor_id, e.municipality
        ))
    };
    // Another debtor's claim is refused at once; a claim not known yet is waited for.
    let mut unknown = None;
    for (i, id) in ids.iter().enumerate() {
        match rows.iter().find(|r| &r.claim_id == id) {
            None => unknown = unknown.or(Some((i, id))),
            Some(r) if r.debtor_id != e.debtor_id || r.municipality != e.municipality => {
                return Err(Failure::Refused(why(i, id)));
            }
            Some(_) => {}
        }
    }
    if let Some((i, id)) = unknown {
        return Err(Failure::NotYet(why(i, id)));
    }
    let allocations: Vec<(String, Money)> = e
        .allocations
        .iter()
        .map(|a| {
            let paid = Money::checked_sum([a.fees, a.interest, a.principal]).unwrap_or(a.principal);
            (a.claim_id.clone(), paid)
        })
        .collect();
    plans::payment_applied(tx, &e.payment_id, e.booking_date, &allocations).await?;
    Ok(())
}
