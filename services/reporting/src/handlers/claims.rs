//! invoicing's and dunning's claim events: reporting's copy of each claim, its versions and the
//! day's flows.
//!
//! | event | effect (stamped with the current business date) |
//! |---|---|
//! | `invoicing.claim.opened.v1` | a new claim, open (a prepayment: `prepayment`, never arrears), principal = amount; flow `billed` |
//! | `invoicing.claim.balance_changed.v1` | the balance as invoicing has it (a settled claim with a balance again is open) |
//! | `invoicing.claim.settled.v1` | settled, nothing open |
//! | `invoicing.claim.written_off.v1` | written off, nothing open (not arrears); flow `written_off` with the amount |
//! | `dunning.claim.handed_over.v1` | transferred (still arrears); flow `transferred` with the balance transferred |
//! | `dunning.distraint.recorded.v1` | its open claims under `distraint` (still arrears, its own state); one distraint counted as a measure taken |
//! | `invoicing.payment.applied.v1` | the day's payments (the balances come with `balance_changed`) |
//! | `invoicing.prepayment.expired.v1` | an unpaid prepayment expired: `expired`, nothing open (neither arrears nor outstanding) |
//! | `dunning.reminder.issued.v1`, `dunning.fee.assessed.v1` | counted as measures taken (`domain::report::measures`) |
//! | `dunning.campaign.sent.v1` | the campaign kept (`campaigns_sent`, for its outcome in the council's reports); one campaign counted as a measure taken |
//!
//! **Order.** invoicing's four claim events carry the claim's `version` (one more with each
//! write of the claim in invoicing). The claim row keeps the version it was last changed by
//! (`claims.invoicing_version`), and an event with an older or the same version changes nothing
//! at all ([`newest`]): two replicas of reporting may apply a claim's events in the other order
//! (batches take the projection's advisory lock in turn, but in whichever order they got their
//! deliveries), and the older balance must not be the one that stays.
//!
//! A stale event is left out of the claim's **history** too, not only out of the current row:
//! the history (`claim_versions`) is not one row per event but one per claim and business date
//! — the claim as it stood at the end of that day, a change stamped with the business date on
//! which it was applied — so the version an as-of query reads for today is the current row's
//! value, and writing the stale balance there would make the report of today wrong. The newer
//! event was stamped when it was applied; nothing is lost by dropping the older one, whose state
//! invoicing had already replaced. (Its flows are left out as well: `written_off` is the only
//! invoicing event with a flow here, and a stale copy of it is a repeat.)
//!
//! **A claim not known yet.** An event (or a payment's allocation) naming a claim reporting
//! does not have is [`Outcome::NotYet`], not a rejection at once: its `claim.opened` may be
//! committing on another replica. The consumer handles it again after growing pauses (about
//! 30 s in all) and dead-letters it with the reason only then (`restance_bus::consumer`, "Not
//! yet"); applied later, it is stamped with the business date current then, like any event
//! that arrives later. A claim of another debtor is refused at once.

use restance_bus::{Outcome, Rejection, UNKNOWN_CLAIM};
use restance_contracts::messages::{
    CampaignSent, ClaimBalanceChanged, ClaimCopy, ClaimEvent, ClaimHandedOver, ClaimOpened,
    ClaimRef, ClaimSettled, ClaimWrittenOff, DistraintRecorded, FeeAssessed, PaymentApplied,
    PrepaymentExpired, ReminderIssued,
};
use restance_kernel::{Catalog, Money};
use sea_orm::DbErr;

use crate::domain::claim::{Balance, ClaimState, Holds, Lifecycle};
use crate::domain::report::Measure;
use crate::handlers::working_set::WorkingSet;
use crate::store::queries::{self, ClaimRow, FlowKind};

/// The stored claim `claim` names, or what becomes of the event: not yet (an unknown claim)
/// or rejected (another debtor's).
async fn known(
    ws: &mut WorkingSet<'_>,
    claim: &ClaimRef,
) -> Result<Result<ClaimRow, Outcome>, DbErr> {
    match ws.claim(&claim.claim_id).await? {
        None => Ok(Err(Outcome::not_yet(
            UNKNOWN_CLAIM,
            unknown(&claim.claim_id, "data.claim_id"),
        ))),
        Some(row) if row.municipality != claim.municipality || row.debtor_id != claim.debtor_id => {
            Ok(Err(Outcome::Rejected(Rejection::new(format!(
                "data.debtor_id: claim {} belongs to another debtor or municipality",
                claim.claim_id
            )))))
        }
        Some(row) => Ok(Ok(row.clone())),
    }
}

/// Why an event naming a claim reporting does not know cannot be applied.
fn unknown(claim_id: &str, path: &str) -> Rejection {
    Rejection::new(format!(
        "{path}: no claim {claim_id}; reporting learns claims from invoicing.claim.opened.v1"
    ))
}

/// The version to store if a claim event is newer than what `row` holds
/// ([`ClaimEvent::against`], the rule dunning and agreements apply too); `None`: an older copy
/// or the same version again, which changes nothing (acknowledged, counted in
/// `restance_reporting_claim_updates_total{event, outcome}`, logged at debug level with the
/// claim's id only). A copy without a version (an invoicing from before versions) is applied as
/// before and keeps the stored version.
fn newest(row: &ClaimRow, e: &impl ClaimEvent, event: &'static str) -> Option<u64> {
    let decision = e.against(Some(row.invoicing_version));
    metrics::counter!("restance_reporting_claim_updates_total",
        "event" => event, "outcome" => decision.outcome())
    .increment(1);
    match decision {
        ClaimCopy::Apply { version } => Some(version),
        ClaimCopy::Duplicate => {
            tracing::debug!(claim_id = %row.claim_id, event, version = e.claim_version(),
                "this version of the claim is applied already");
            None
        }
        ClaimCopy::Stale => {
            tracing::debug!(claim_id = %row.claim_id, event, version = e.claim_version(),
                stored_version = row.invoicing_version,
                "an older claim event arrived after a newer one: ignored");
            None
        }
    }
}

macro_rules! known_or_reject {
    ($ws:expr, $claim:expr) => {
        match known($ws, $claim).await? {
            Ok(row) => row,
            Err(outcome) => return Ok(outcome),
        }
    };
}

/// `invoicing.claim.opened.v1`.
pub async fn opened(
    ws: &mut WorkingSet<'_>,
    catalog: &Catalog,
    e: &ClaimOpened,
) -> Result<Outcome, DbErr> {
    let Some(m) = catalog.municipality(&e.claim.municipality) else {
        return Ok(Outcome::Rejected(Rejection::new(format!(
            "data.municipality: {} is not a configured municipality",
            e.claim.municipality
        ))));
    };
    if !m.has_category(&e.claim.category) {
        return Ok(Outcome::Rejected(Rejection::new(format!(
            "data.category: {:?} is not a category of municipality {} in the catalog",
            e.claim.category, e.claim.municipality
        ))));
    }
    if !m.has_office(&e.office) {
        return Ok(Outcome::Rejected(Rejection::new(format!(
            "data.office: {:?} is not an office of municipality {}",
            e.office, e.claim.municipality
        ))));
    }
    if let Some(existing) = ws.claim(&e.claim.claim_id).await? {
        // The same claim announced again (natural key): nothing changes, unless it contradicts.
        if existing.municipality != e.claim.municipality || existing.debtor_id != e.claim.debtor_id
        {
            return Ok(Outcome::Rejected(Rejection::new(format!(
                "data.claim_id: claim {} is already known for another debtor or municipality",
                e.claim.claim_id
            ))));
        }
        return Ok(Outcome::Done);
    }
    let stamp = ws.stamp(e.issue_date);
    let row = ClaimRow {
        claim_id: e.claim.claim_id.clone(),
        municipality: e.claim.municipality.clone(),
        office: e.office.clone(),
        category: e.claim.category.clone(),
        debtor_id: e.claim.debtor_id.clone(),
        due_date: e.due_date,
        direct_debit: e.direct_debit,
        lifecycle: if e.prepayment {
            Lifecycle::Prepayment
        } else {
            Lifecycle::Open
        },
        holds: Holds::new(),
        state: if e.prepayment {
            ClaimState::Prepayment
        } else {
            ClaimState::Open
        },
        balance: Balance {
            principal: e.amount,
            ..Balance::ZERO
        },
        version_from: stamp,
        invoicing_version: e.version.unwrap_or(0),
    };
    ws.flow(&row, stamp, FlowKind::Billed, e.amount);
    ws.open(row, stamp);
    Ok(Outcome::Done)
}

/// `invoicing.claim.balance_changed.v1`.
pub async fn balance_changed(
    ws: &mut WorkingSet<'_>,
    e: &ClaimBalanceChanged,
) -> Result<Outcome, DbErr> {
    let row = known_or_reject!(ws, &e.claim);
    let Some(version) = newest(&row, e, "balance_changed") else {
        return Ok(Outcome::Done);
    };
    let stamp = ws.stamp(e.business_date);
    ws.change(&row.claim_id, stamp, |c| {
        c.invoicing_version = version;
        c.balance = Balance {
            principal: e.principal,
            fees: e.fees,
            interest: e.interest,
        };
        if c.lifecycle == Lifecycle::Settled && e.total.is_positive() {
            c.lifecycle = Lifecycle::Open;
        }
    });
    Ok(Outcome::Done)
}

/// `invoicing.claim.settled.v1`.
pub async fn settled(ws: &mut WorkingSet<'_>, e: &ClaimSettled) -> Result<Outcome, DbErr> {
    let row = known_or_reject!(ws, &e.claim);
    let Some(version) = newest(&row, e, "settled") else {
        return Ok(Outcome::Done);
    };
    let stamp = ws.stamp(e.settled_date);
    ws.change(&row.claim_id, stamp, |c| {
        c.invoicing_version = version;
        if !matches!(c.lifecycle, Lifecycle::WrittenOff | Lifecycle::Expired) {
            c.lifecycle = Lifecycle::Settled;
        }
        c.balance = Balance::ZERO;
    });
    Ok(Outcome::Done)
}

/// `invoicing.claim.written_off.v1`.
pub async fn written_off(ws: &mut WorkingSet<'_>, e: &ClaimWrittenOff) -> Result<Outcome, DbErr> {
    let row = known_or_reject!(ws, &e.claim);
    let Some(version) = newest(&row, e, "written_off") else {
        return Ok(Outcome::Done);
    };
    if row.lifecycle == Lifecycle::WrittenOff {
        return Ok(Outcome::Done);
    }
    let stamp = ws.stamp(e.date);
    ws.flow(
        &row,
        stamp,
        FlowKind::WrittenOff,
        e.principal + e.fees + e.interest,
    );
    ws.change(&row.claim_id, stamp, |c| {
        c.invoicing_version = version;
        c.lifecycle = Lifecycle::WrittenOff;
        c.balance = Balance::ZERO;
    });
    Ok(Outcome::Done)
}

/// `dunning.claim.handed_over.v1` (the transfer without the debtor's details): still owed,
/// collected by the state; counted as transferred.
pub async fn transferred(ws: &mut WorkingSet<'_>, e: &ClaimHandedOver) -> Result<Outcome, DbErr> {
    let row = known_or_reject!(ws, &e.claim);
    match row.lifecycle {
        Lifecycle::Transferred => return Ok(Outcome::Done),
        // A prepayment should never be transferred (dunning leaves prepayments alone); if one
        // is, it is owed to the state's collection like any claim and counted so. A claim under
        // the municipality's distraint that is transferred after all is the state's from then.
        Lifecycle::Open | Lifecycle::Prepayment | Lifecycle::Distraint => {}
        other => {
            return Ok(Outcome::Rejected(Rejection::new(format!(
                "claim {} is {}; only an open claim can be transferred to state collection",
                row.claim_id,
                other.as_str()
            ))));
        }
    }
    let stamp = ws.stamp(e.transferred_date);
    ws.flow(&row, stamp, FlowKind::Transferred, e.total);
    ws.change(&row.claim_id, stamp, |c| {
        c.lifecycle = Lifecycle::Transferred
    });
    Ok(Outcome::Done)
}

/// `invoicing.payment.applied.v1`: one payment of the day, its amount applied to claims and the
/// part applied to claims paid by direct debit.
pub async fn payment_applied(
    ws: &mut WorkingSet<'_>,
    e: &PaymentApplied,
) -> Result<Outcome, DbErr> {
    if e.allocations.is_empty() {
        // Everything went to the debtor's credit balance: no claim was paid.
        return Ok(Outcome::Done);
    }
    let (mut amount, mut dd_amount) = (Money::ZERO, Money::ZERO);
    // Another debtor's claim is refused at once; a claim not known yet is waited for.
    let mut not_yet = None;
    for (i, a) in e.allocations.iter().enumerate() {
        let Some(row) = ws.claim(&a.claim_id).await? else {
            not_yet = not_yet.or_else(|| {
                Some(unknown(
                    &a.claim_id,
                    &format!("data.allocations[{i}].claim_id"),
                ))
            });
            continue;
        };
        if row.municipality != e.municipality || row.debtor_id != e.debtor_id {
            return Ok(Outcome::Rejected(Rejection::new(format!(
                "data.allocations[{i}].claim_id: claim {} is not a claim of debtor {} in municipality {}",
                a.claim_id, e.debtor_id, e.municipality
            ))));
        }
        let applied = a.fees + a.interest + a.principal;
        amount += applied;
        if row.direct_debit {
            dd_amount += applied;
        }
    }
    if let Some(rejection) = not_yet {
        return Ok(Outcome::not_yet(UNKNOWN_CLAIM, rejection));
    }
    let stamp = ws.stamp(e.booking_date);
    ws.payment(&e.municipality, stamp, amount, dd_amount);
    Ok(Outcome::Done)
}

/// `invoicing.prepayment.expired.v1`: an unpaid prepayment left the books (the permit was never
/// issued); it is no longer outstanding. Only a prepayment expires: any other claim → refused.
pub async fn prepayment_expired(
    ws: &mut WorkingSet<'_>,
    e: &PrepaymentExpired,
) -> Result<Outcome, DbErr> {
    let row = known_or_reject!(ws, &e.claim);
    let Some(version) = newest(&row, e, "prepayment_expired") else {
        return Ok(Outcome::Done);
    };
    match row.lifecycle {
        Lifecycle::Expired => return Ok(Outcome::Done),
        Lifecycle::Prepayment => {}
        other => {
            return Ok(Outcome::Rejected(Rejection::new(format!(
                "data.claim_id: claim {} is {}; only an unpaid prepayment expires",
                row.claim_id,
                other.as_str()
            ))));
        }
    }
    let stamp = ws.stamp(e.expired_date);
    ws.change(&row.claim_id, stamp, |c| {
        c.invoicing_version = version;
        c.lifecycle = Lifecycle::Expired;
        c.balance = Balance::ZERO;
    });
    Ok(Outcome::Done)
}

/// `dunning.distraint.recorded.v1`: the municipality made distraint for a debtor's claims. Its
/// open claims are under distraint from the business date (still arrears, reported in their own
/// state); a claim that was settled, written off or transferred before the event came stays so.
/// The distraint is one measure taken, counted once: a repeat whose claims are all under
/// distraint already changes nothing. A claim not known yet is waited for; one of another
/// debtor is refused.
pub async fn distraint_recorded(
    ws: &mut WorkingSet<'_>,
    e: &DistraintRecorded,
) -> Result<Outcome, DbErr> {
    let mut rows = Vec::with_capacity(e.claim_ids.len());
    for (i, id) in e.claim_ids.iter().enumerate() {
        let path = format!("data.claim_ids[{i}]");
        match ws.claim(id).await? {
            None => return Ok(Outcome::not_yet(UNKNOWN_CLAIM, unknown(id, &path))),
            Some(row) if row.municipality != e.municipality || row.debtor_id != e.debtor_id => {
                return Ok(Outcome::Rejected(Rejection::new(format!(
                    "{path}: claim {id} is not a claim of debtor {} in municipality {}",
                    e.debtor_id, e.municipality
                ))));
            }
            Some(row) => rows.push(row.clone()),
        }
    }
    if rows.iter().all(|r| r.lifecycle == Lifecycle::Distraint) {
        return Ok(Outcome::Done);
    }
    let stamp = ws.stamp(e.recorded_date);
    for row in rows.iter().filter(|r| r.lifecycle == Lifecycle::Open) {
        ws.change(&row.claim_id, stamp, |c| c.lifecycle = Lifecycle::Distraint);
    }
    ws.measure(&e.municipality, stamp, Measure::Distraints);
    Ok(Outcome::Done)
}

/// `dunning.campaign.sent.v1`: the campaign is kept with its debtors and their listed claims
/// (its outcome is computed when a report is produced) and counted once as a measure taken; a
/// redelivery changes nothing.
pub async fn campaign_sent(ws: &mut WorkingSet<'_>, e: &CampaignSent) -> Result<Outcome, DbErr> {
    let fresh = queries::insert_campaign(
        ws.tx(),
        &e.campaign_id,
        &e.municipality,
        e.kind.as_str(),
        e.sent_date,
        &e.debtors,
    )
    .await?;
    if fresh {
        let stamp = ws.stamp(e.sent_date);
        ws.measure(&e.municipality, stamp, Measure::Campaigns);
    }
    Ok(Outcome::Done)
}

/// `dunning.reminder.issued.v1`: a letter counted as a reminder or a meeting offer (its
/// template), for "measures taken".
pub fn reminder_issued(ws: &mut WorkingSet<'_>, e: &ReminderIssued) -> Outcome {
    let stamp = ws.stamp(e.issued_date);
    ws.measure(&e.municipality, stamp, Measure::of_letter(&e.template));
    Outcome::Done
}

/// `dunning.fee.assessed.v1`: a fee, for "measures taken" (its amount reaches the balance
/// through invoicing's `balance_changed`).
pub fn fee_assessed(ws: &mut WorkingSet<'_>, e: &FeeAssessed) -> Outcome {
    let stamp = ws.stamp(e.assessed_date);
    ws.measure(&e.municipality, stamp, Measure::Fees);
    Outcome::Done
}
