//! Payments, credit notes, fees, interest and the business day.
//!
//! Every handler here that rewrites a claim or a credit balance reads it under its debtor's
//! lock ([`DebtorLocks`]), so replicas sharing the database cannot lose each other's updates.

use super::invoices::claim_id_for;
use super::locks::DebtorLocks;
use crate::domain::allocation::{Allocation, allocate, allocate_plan_first};
use crate::domain::matching::{Candidates, Match, match_payment};
use crate::domain::references;
use crate::store::queries::{self, ClaimRow, LedgerLine};
use chrono::NaiveDate;
use restance_bus::{Effects, HandlerError, Outcome, Rejection};
use restance_contracts::messages::{
    self as m, BalanceChangeCause, ClaimBalanceChanged, ClaimRef, ClaimSettled, FeeAssessed,
    InterestAssessed, InvoiceCredited, MatchedBy, PaymentApplied, PaymentReceived,
    PaymentUnmatched, PrepaymentSettled,
};
use restance_kernel::{Catalog, Currency, Money, NationalId, PartyKind};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DatabaseTransaction};
use std::collections::HashMap;

/// The claim identity every claim event carries.
pub fn claim_ref(c: &ClaimRow) -> ClaimRef {
    ClaimRef {
        claim_id: c.claim_id.clone(),
        invoice_id: c.invoice_id.clone(),
        source: c.source.clone(),
        municipality: c.municipality.clone(),
        category: c.category.clone(),
        debtor_id: c.debtor_id.clone(),
    }
}

fn currency(c: &ClaimRow) -> Result<Currency, HandlerError> {
    c.currency.parse().map_err(|_| {
        HandlerError::Other(format!("claim {} has an unreadable currency", c.claim_id))
    })
}

/// Stores a claim's changed balance and emits balance_changed (and settled / prepayment
/// settled when it reached zero), each with the claim's version.
///
/// A change that settles the claim counts as two writes: the balance's (balance_changed
/// carries version n) and the state's (settled carries n + 1). Consumers keep the highest
/// version they applied and ignore the others (`ClaimCopy`), so one version per state keeps a
/// settlement from looking like a duplicate of the balance change that led to it.
async fn store_change(
    tx: &DatabaseTransaction,
    claim: &mut ClaimRow,
    cause: BalanceChangeCause,
    date: NaiveDate,
    effects: &mut Effects,
) -> Result<(), HandlerError> {
    let settles = claim.state == "open" && claim.balance.is_settled();
    if settles {
        claim.state = "settled".into();
        claim.settled_date = Some(date);
    }
    queries::update_claim(tx, claim, if settles { 2 } else { 1 }).await?;
    let cur = currency(claim)?;
    let settled_version = claim.version;
    let balance_version = if settles {
        settled_version - 1
    } else {
        settled_version
    };
    effects.emit(ClaimBalanceChanged {
        claim: claim_ref(claim),
        currency: cur,
        principal: claim.balance.principal,
        fees: claim.balance.fees,
        interest: claim.balance.interest,
        total: claim.balance.total(),
        cause,
        business_date: date.into(),
        version: Some(balance_version),
    })?;
    if settles {
        effects.emit(ClaimSettled {
            claim: claim_ref(claim),
            currency: cur,
            settled_date: date.into(),
            version: Some(settled_version),
        })?;
        if claim.prepayment {
            effects.emit(PrepaymentSettled {
                claim: claim_ref(claim),
                settled_date: date.into(),
            })?;
        }
    }
    Ok(())
}

/// What posts an allocation: a payment or a debtor's credit balance.
pub(super) struct Posting<'a> {
    pub(super) kind: &'static str,
    pub(super) ref_id: &'a str,
    pub(super) date: NaiveDate,
    pub(super) cause: BalanceChangeCause,
}

/// Applies an allocation to the loaded claims; returns the event lines.
pub(super) async fn apply_allocations(
    tx: &DatabaseTransaction,
    claims: &mut HashMap<String, ClaimRow>,
    allocations: &[Allocation],
    posting: Posting<'_>,
    effects: &mut Effects,
) -> Result<Vec<m::Allocation>, HandlerError> {
    let Posting {
        kind,
        ref_id,
        date,
        cause,
    } = posting;
    let mut lines = Vec::with_capacity(allocations.len());
    let mut out = Vec::with_capacity(allocations.len());
    for a in allocations {
        let claim = claims.get_mut(&a.claim_id).ok_or_else(|| {
            HandlerError::Other(format!("allocated claim {} not loaded", a.claim_id))
        })?;
        claim.balance.fees -= a.fees;
        claim.balance.interest -= a.interest;
        claim.balance.principal -= a.principal;
        lines.push(LedgerLine {
            claim_id: a.claim_id.clone(),
            kind,
            ref_id: ref_id.to_owned(),
            principal: -a.principal,
            fees: -a.fees,
            interest: -a.interest,
            business_date: date,
        });
        out.push(m::Allocation {
            claim_id: a.claim_id.clone(),
            invoice_id: claim.invoice_id.clone(),
            category: claim.category.clone(),
            fees: a.fees,
            interest: a.interest,
            principal: a.principal,
        });
        store_change(tx, claim, cause, date, effects).await?;
    }
    queries::insert_lines(tx, &lines).await?;
    Ok(out)
}

// Long: the steps of applying a payment under the debtor's lock — match, allocate, book, announce — in transaction order.
/// `bank.payment.received.v1`: match (reference, else the payer's national id —
/// [`crate::domain::matching`]), allocate, keep the rest as credit. The debtor's claims and
/// credit balance are read and rewritten under the debtor's lock.
pub async fn receive_payment(
    tx: &DatabaseTransaction,
    catalog: &Catalog,
    source: &str,
    p: &PaymentReceived,
    effects: &mut Effects,
    locks: &mut DebtorLocks,
) -> Result<Outcome, HandlerError> {
    let Some(muni) = catalog.municipality(&p.municipality) else {
        return Ok(Outcome::Rejected(Rejection::new(format!(
            "data.municipality: {} is not a configured municipality",
            p.municipality
        ))));
    };
    if p.currency != muni.currency {
        return Ok(Outcome::Rejected(Rejection::new(format!(
            "data.currency: must be {} for municipality {}",
            muni.currency, p.municipality
        ))));
    }
    // One payment, one effect: a bank file re-sent with new message ids changes nothing.
    let first_time = queries::insert_once(
        tx,
        Query::insert()
            .into_table("payments")
            .columns([
                "source",
                "payment_id",
                "municipality",
                "amount_minor",
                "booking_date",
                "matched_by",
            ])
            .values_panic([
                source.into(),
                p.payment_id.as_str().into(),
                p.municipality.as_str().into(),
                p.amount.to_minor().into(),
                NaiveDate::from(p.booking_date).into(),
                "pending".into(),
            ])
            .to_owned(),
    )
    .await?;
    if !first_time {
        return Ok(Outcome::Done);
    }

    let mut c = Candidates::default();
    // A plan's reference: its claims are paid first (oldest first), then the rest as usual.
    let mut covered: Vec<String> = Vec::new();
    if let Some(text) = &p.payment_reference {
        c.reference_given = true;
        if let Some(r) = references::parse_for(muni, text) {
            if let Some(claim) = queries::claim_by_reference(tx, &p.municipality, r.key()).await? {
                c.by_reference = Some((claim.claim_id, claim.debtor_id));
            } else if let Some(plan) =
                queries::plan_by_reference(tx, &p.municipality, r.key()).await?
            {
                covered = plan.claim_ids;
                c.by_plan = Some((plan.plan_id, plan.debtor_id));
            }
        }
    }
    if c.by_reference.is_none()
        && let Some(nid) = &p.payer_national_id
        && let Ok(id) = NationalId::parse_for_kind(PartyKind::Person, &nid.0)
            .or_else(|_| NationalId::parse_for_kind(PartyKind::Company, &nid.0))
    {
        c.payer_given = true;
        for debtor in queries::debtors_by_national_id(tx, &p.municipality, id.as_str()).await? {
            for claim in queries::claims_of_debtor(tx, Some(&p.municipality), &debtor, true).await?
            {
                c.payer_claims.push((debtor.clone(), claim.open_claim()));
            }
            c.payer_debtors.push(debtor);
        }
    }

    let (claim_id, debtor_id, matched_by) = match match_payment(p.amount, &c) {
        Match::Reference {
            claim_id,
            debtor_id,
        } => (Some(claim_id), debtor_id, MatchedBy::Reference),
        Match::Plan { debtor_id, .. } => (None, debtor_id, MatchedBy::Reference),
        Match::PayerAndAmount {
            claim_id,
            debtor_id,
        } => (Some(claim_id), debtor_id, MatchedBy::PayerAndAmount),
        Match::Payer { debtor_id } => (None, debtor_id, MatchedBy::Payer),
        Match::Unmatched(reason) => {
            set_payment_match(tx, source, &p.payment_id, None, "unmatched").await?;
            effects.emit(PaymentUnmatched {
                payment_id: p.payment_id.clone(),
                municipality: p.municipality.clone(),
                amount: p.amount,
                currency: p.currency,
                booking_date: p.booking_date,
                payment_reference: p.payment_reference.clone(),
                payer_name: p.payer_name.clone(),
                payer_national_id: p.payer_national_id.clone(),
                text: p.text.clone(),
                reason,
            })?;
            return Ok(Outcome::Done);
        }
    };
    let matched_label = match matched_by {
        MatchedBy::Reference => "reference",
        MatchedBy::PayerAndAmount => "payer_and_amount",
        MatchedBy::Payer => "payer",
        MatchedBy::CreditBalance => "credit_balance",
    };
    set_payment_match(tx, source, &p.payment_id, Some(&debtor_id), matched_label).await?;

    locks.lock(tx, &p.municipality, &debtor_id).await?;
    let open = queries::claims_of_debtor(tx, Some(&p.municipality), &debtor_id, true).await?;
    let open_claims: Vec<_> = open.iter().map(ClaimRow::open_claim).collect();
    let result = if covered.is_empty() {
        allocate(p.amount, &open_claims, claim_id.as_deref())
    } else {
        allocate_plan_first(p.amount, &open_claims, &covered)
    };
    let mut loaded: HashMap<String, ClaimRow> =
        open.into_iter().map(|c| (c.claim_id.clone(), c)).collect();
    let allocations = apply_allocations(
        tx,
        &mut loaded,
        &result.allocations,
        Posting {
            kind: "payment",
            ref_id: &p.payment_id,
            date: p.booking_date.into(),
            cause: BalanceChangeCause::Payment,
        },
        effects,
    )
    .await?;
    if !result.remainder.is_zero() {
        queries::add_credit(
            tx,
            &p.municipality,
            &debtor_id,
            result.remainder,
            p.booking_date.into(),
        )
        .await?;
    }
    effects.emit(PaymentApplied {
        payment_id: p.payment_id.clone(),
        municipality: p.municipality.clone(),
        debtor_id,
        currency: p.currency,
        amount: p.amount,
        booking_date: p.booking_date,
        matched_by,
        allocations,
        to_credit_balance: result.remainder,
    })?;
    Ok(Outcome::Done)
}

async fn set_payment_match(
    tx: &DatabaseTransaction,
    source: &str,
    payment_id: &str,
    debtor_id: Option<&str>,
    matched_by: &str,
) -> Result<(), HandlerError> {
    let update = Query::update()
        .table("payments")
        .value("debtor_id", debtor_id.map(str::to_owned))
        .value("matched_by", matched_by)
        .and_where(Expr::col("source").eq(source))
        .and_where(Expr::col("payment_id").eq(payment_id))
        .to_owned();
    tx.execute(&update).await?;
    Ok(())
}

/// A new claim of a debtor with a credit balance: the credit (less refunds requested and not yet
/// confirmed) pays it at once. The caller holds the debtor's lock.
pub async fn apply_credit_balance(
    tx: &DatabaseTransaction,
    claim: ClaimRow,
    effects: &mut Effects,
) -> Result<(), HandlerError> {
    let key = (claim.municipality.clone(), claim.debtor_id.clone());
    let booked = queries::debtors(tx, std::slice::from_ref(&key))
        .await?
        .get(&key)
        .map_or(Money::ZERO, |d| d.credit);
    // A refund requested and not yet confirmed has reserved its amount: it is on its way out.
    let credit = booked - queries::pending_refunds(tx, &key.0, &key.1).await?;
    if !credit.is_positive() {
        return Ok(());
    }
    let result = allocate(credit, &[claim.open_claim()], None);
    let used = credit - result.remainder;
    if used.is_zero() {
        return Ok(());
    }
    let ref_id = format!("credit-balance:{}", claim.claim_id);
    let date = claim.issue_date;
    let (muni, debtor, cur) = (
        claim.municipality.clone(),
        claim.debtor_id.clone(),
        currency(&claim)?,
    );
    let mut loaded = HashMap::from([(claim.claim_id.clone(), claim)]);
    let allocations = apply_allocations(
        tx,
        &mut loaded,
        &result.allocations,
        Posting {
            kind: "credit_balance",
            ref_id: &ref_id,
            date,
            cause: BalanceChangeCause::CreditBalance,
        },
        effects,
    )
    .await?;
    queries::add_credit(tx, &muni, &debtor, -used, date).await?;
    effects.emit(PaymentApplied {
        payment_id: ref_id,
        municipality: muni,
        debtor_id: debtor,
        currency: cur,
        amount: used,
        booking_date: date.into(),
        matched_by: MatchedBy::CreditBalance,
        allocations,
        to_credit_balance: Money::ZERO,
    })?;
    Ok(())
}

/// `billing.invoice.credited.v1`: reduces the claim's principal; the excess becomes credit.
pub async fn credit_note(
    tx: &DatabaseTransaction,
    source: &str,
    c: &InvoiceCredited,
    effects: &mut Effects,
    locks: &mut DebtorLocks,
) -> Result<Outcome, HandlerError> {
    // The claim of `(source, invoice_id)` has the id derived from them.
    let claim = locks
        .claim(tx, &claim_id_for(source, &c.invoice_id))
        .await?
        .filter(|k| k.source == source && k.invoice_id == c.invoice_id);
    let Some(mut claim) = claim else {
        return Ok(Outcome::Rejected(Rejection::new(format!(
            "data.invoice_id: no claim for invoice {} from {source}; a credit note must follow its invoice",
            c.invoice_id
        ))));
    };
    let first_time = queries::insert_once(
        tx,
        Query::insert()
            .into_table("credit_notes")
            .columns(["source", "credit_id", "claim_id", "amount_minor"])
            .values_panic([
                source.into(),
                c.credit_id.as_str().into(),
                claim.claim_id.as_str().into(),
                c.amount.to_minor().into(),
            ])
            .to_owned(),
    )
    .await?;
    if !first_time {
        return Ok(Outcome::Done);
    }
    let date = queries::last_business_date(tx)
        .await?
        .unwrap_or(claim.issue_date);
    let before = claim.balance.principal;
    let excess = claim.balance.credit(c.amount);
    queries::insert_lines(
        tx,
        &[LedgerLine {
            claim_id: claim.claim_id.clone(),
            kind: "credit_note",
            ref_id: c.credit_id.clone(),
            principal: claim.balance.principal - before,
            fees: Money::ZERO,
            interest: Money::ZERO,
            business_date: date,
        }],
    )
    .await?;
    if claim.state == "open" {
        store_change(
            tx,
            &mut claim,
            BalanceChangeCause::CreditNote,
            date,
            effects,
        )
        .await?;
    } else {
        // Not open: the balance changes without an event, but it is a write: the version rises.
        queries::update_claim(tx, &mut claim, 1).await?;
    }
    if !excess.is_zero() {
        queries::add_credit(tx, &claim.municipality, &claim.debtor_id, excess, date).await?;
    }
    Ok(Outcome::Done)
}

/// `dunning.fee.assessed.v1`: one fee per (claim, step).
pub async fn add_fee(
    tx: &DatabaseTransaction,
    f: &FeeAssessed,
    effects: &mut Effects,
    locks: &mut DebtorLocks,
) -> Result<Outcome, HandlerError> {
    let Some(mut claim) = locks.claim(tx, &f.claim_id).await? else {
        return Ok(Outcome::Rejected(Rejection::new(format!(
            "data.claim_id: no claim {}",
            f.claim_id
        ))));
    };
    if claim.state != "open" {
        return Ok(Outcome::Rejected(Rejection::new(format!(
            "claim {} is {}; a fee can only be added to an open claim",
            f.claim_id, claim.state
        ))));
    }
    if claim.currency != f.currency.to_string() {
        return Ok(Outcome::Rejected(Rejection::new(format!(
            "data.currency: claim {} is in {}",
            f.claim_id, claim.currency
        ))));
    }
    let first_time = queries::insert_once(
        tx,
        Query::insert()
            .into_table("fees")
            .columns(["claim_id", "step", "fee_id", "amount_minor"])
            .values_panic([
                f.claim_id.as_str().into(),
                i64::from(f.step).into(),
                f.fee_id.as_str().into(),
                f.amount.to_minor().into(),
            ])
            .to_owned(),
    )
    .await?;
    if !first_time {
        return Ok(Outcome::Done); // never two fees for one step
    }
    claim.balance.add_fee(f.amount);
    queries::insert_lines(
        tx,
        &[LedgerLine {
            claim_id: claim.claim_id.clone(),
            kind: "fee",
            ref_id: f.fee_id.clone(),
            principal: Money::ZERO,
            fees: f.amount,
            interest: Money::ZERO,
            business_date: f.assessed_date.into(),
        }],
    )
    .await?;
    store_change(
        tx,
        &mut claim,
        BalanceChangeCause::Fee,
        f.assessed_date.into(),
        effects,
    )
    .await?;
    Ok(Outcome::Done)
}

/// `dunning.interest.assessed.v1`: one charge per interest id.
pub async fn add_interest(
    tx: &DatabaseTransaction,
    i: &InterestAssessed,
    effects: &mut Effects,
    locks: &mut DebtorLocks,
) -> Result<Outcome, HandlerError> {
    let Some(mut claim) = locks.claim(tx, &i.claim_id).await? else {
        return Ok(Outcome::Rejected(Rejection::new(format!(
            "data.claim_id: no claim {}",
            i.claim_id
        ))));
    };
    if claim.state != "open" {
        return Ok(Outcome::Rejected(Rejection::new(format!(
            "claim {} is {}; interest can only be added to an open claim",
            i.claim_id, claim.state
        ))));
    }
    if claim.currency != i.currency.to_string() {
        return Ok(Outcome::Rejected(Rejection::new(format!(
            "data.currency: claim {} is in {}",
            i.claim_id, claim.currency
        ))));
    }
    let first_time = queries::insert_once(
        tx,
        Query::insert()
            .into_table("interest_charges")
            .columns(["interest_id", "claim_id", "amount_minor"])
            .values_panic([
                i.interest_id.as_str().into(),
                i.claim_id.as_str().into(),
                i.amount.to_minor().into(),
            ])
            .to_owned(),
    )
    .await?;
    if !first_time {
        return Ok(Outcome::Done);
    }
    claim.balance.add_interest(i.amount);
    queries::insert_lines(
        tx,
        &[LedgerLine {
            claim_id: claim.claim_id.clone(),
            kind: "interest",
            ref_id: i.interest_id.clone(),
            principal: Money::ZERO,
            fees: Money::ZERO,
            interest: i.amount,
            business_date: i.assessed_date.into(),
        }],
    )
    .await?;
    store_change(
        tx,
        &mut claim,
        BalanceChangeCause::Interest,
        i.assessed_date.into(),
        effects,
    )
    .await?;
    Ok(Outcome::Done)
}

/// `dunning.claim.handed_over.v1`: the claim is handed to state collection; it stays owed (the
/// balance is unchanged) but leaves municipal collection: no more fees, interest or dunning here.
/// A repeat is a no-op; a transfer of a claim that is not open is refused with the reason. (The
/// transfer with the debtor's details, `dunning.claim.transferred.v1`, is the authority's.)
pub async fn transfer_claim(
    tx: &DatabaseTransaction,
    t: &m::ClaimHandedOver,
    locks: &mut DebtorLocks,
) -> Result<Outcome, HandlerError> {
    let Some(mut claim) = locks.claim(tx, &t.claim.claim_id).await? else {
        return Ok(Outcome::Rejected(Rejection::new(format!(
            "data.claim_id: no claim {}",
            t.claim.claim_id
        ))));
    };
    match claim.state.as_str() {
        "transferred" => return Ok(Outcome::Done),
        "open" => {}
        other => {
            return Ok(Outcome::Rejected(Rejection::new(format!(
                "claim {} is {other}; only an open claim can be transferred to state collection",
                claim.claim_id
            ))));
        }
    }
    claim.state = "transferred".into();
    queries::insert_lines(
        tx,
        &[LedgerLine {
            claim_id: claim.claim_id.clone(),
            kind: "transfer",
            ref_id: t.transfer_id.clone(),
            principal: Money::ZERO,
            fees: Money::ZERO,
            interest: Money::ZERO,
            business_date: t.transferred_date.into(),
        }],
    )
    .await?;
    queries::update_claim(tx, &mut claim, 1).await?;
    Ok(Outcome::Done)
}

/// `dunning.write_off.approved.v1`: a caseworker approved writing the claim off; the whole open
/// balance is written off and `invoicing.claim.written_off.v1` published. A repeat is a no-op;
/// a claim that is settled or transferred meanwhile is refused with the reason (nothing to write
/// off here), so the approval is visible in the dead letters rather than silently ignored.
pub async fn write_off(
    tx: &DatabaseTransaction,
    w: &m::WriteOffApproved,
    effects: &mut Effects,
    locks: &mut DebtorLocks,
) -> Result<Outcome, HandlerError> {
    let Some(mut claim) = locks.claim(tx, &w.claim.claim_id).await? else {
        return Ok(Outcome::Rejected(Rejection::new(format!(
            "data.claim_id: no claim {}",
            w.claim.claim_id
        ))));
    };
    match claim.state.as_str() {
        "written_off" => return Ok(Outcome::Done),
        "open" if !claim.balance.is_settled() => {}
        other => {
            return Ok(Outcome::Rejected(Rejection::new(format!(
                "claim {} is {other}; only an open claim with a balance can be written off",
                claim.claim_id
            ))));
        }
    }
    let written = claim.balance;
    let date: NaiveDate = w.approved_date.into();
    queries::insert_lines(
        tx,
        &[LedgerLine {
            claim_id: claim.claim_id.clone(),
            kind: "write_off",
            ref_id: w.write_off_id.clone(),
            principal: Money::ZERO - written.principal,
            fees: Money::ZERO - written.fees,
            interest: Money::ZERO - written.interest,
            business_date: date,
        }],
    )
    .await?;
    claim.balance = crate::domain::balance::Balance::default();
    claim.state = "written_off".into();
    queries::update_claim(tx, &mut claim, 1).await?;
    effects.emit(m::ClaimWrittenOff {
        claim: claim_ref(&claim),
        currency: currency(&claim)?,
        principal: written.principal,
        fees: written.fees,
        interest: written.interest,
        reason: match w.reason {
            m::WriteOffReason::Limitation => {
                format!("statute-barred (limitation), approved by {}", w.approved_by)
            }
        },
        date: w.approved_date,
        version: Some(claim.version),
    })?;
    Ok(Outcome::Done)
}

/// `agreements.plan.created.v1`: learns the plan's own payment reference and the claims it
/// covers, so that a payment quoting it pays those claims first (oldest first). A revision (same
/// plan, higher `revision`) replaces the covered claims; an older or repeated revision changes
/// nothing. A plan without a reference is not invoicing's concern.
pub async fn record_plan(
    tx: &DatabaseTransaction,
    catalog: &Catalog,
    p: &m::PlanCreated,
) -> Result<Outcome, HandlerError> {
    let Some(text) = &p.payment_reference else {
        return Ok(Outcome::Done);
    };
    let scope = &p.scope;
    let Some(muni) = catalog.municipality(&scope.municipality) else {
        return Ok(Outcome::Rejected(Rejection::new(format!(
            "data.municipality: {} is not a configured municipality",
            scope.municipality
        ))));
    };
    let Some(reference) = references::parse_for(muni, text) else {
        return Ok(Outcome::Rejected(Rejection::new(format!(
            "data.payment_reference: not a valid payment reference of municipality {}",
            scope.municipality
        ))));
    };
    let key = reference.key().to_owned();
    if queries::claim_by_reference(tx, &scope.municipality, &key)
        .await?
        .is_some()
    {
        return Ok(Outcome::Rejected(Rejection::new(format!(
            "data.payment_reference: {key} is already a claim's reference in municipality {}",
            scope.municipality
        ))));
    }
    if let Some((other_muni, other_key, _)) = queries::plan_by_id(tx, &p.plan_id).await?
        && (other_muni != scope.municipality || other_key != key)
    {
        return Ok(Outcome::Rejected(Rejection::new(format!(
            "data.payment_reference: plan {} already has another reference",
            p.plan_id
        ))));
    }
    if let Some(existing) = queries::plan_by_reference(tx, &scope.municipality, &key).await?
        && existing.plan_id != p.plan_id
    {
        return Ok(Outcome::Rejected(Rejection::new(format!(
            "data.payment_reference: {key} already belongs to plan {}",
            existing.plan_id
        ))));
    }
    let claim_ids = if scope.claim_ids.is_empty() {
        queries::claims_of_debtor(tx, Some(&scope.municipality), &scope.debtor_id, true)
            .await?
            .into_iter()
            .map(|c| c.claim_id)
            .collect()
    } else {
        for (i, id) in scope.claim_ids.iter().enumerate() {
            let known = queries::claim_by_id(tx, id).await?;
            if !known.is_some_and(|c| {
                c.municipality == scope.municipality && c.debtor_id == scope.debtor_id
            }) {
                return Ok(Outcome::Rejected(Rejection::new(format!(
                    "data.claim_ids[{i}]: no claim {id} of debtor {} in municipality {}",
                    scope.debtor_id, scope.municipality
                ))));
            }
        }
        scope.claim_ids.clone()
    };
    queries::upsert_plan_reference(
        tx,
        &scope.municipality,
        &key,
        &queries::PlanReference {
            plan_id: p.plan_id.clone(),
            debtor_id: scope.debtor_id.clone(),
            claim_ids,
            revision: i64::from(p.revision.unwrap_or(1)),
        },
    )
    .await?;
    Ok(Outcome::Done)
}
