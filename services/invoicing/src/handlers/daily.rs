//! The business day's work (`calendar.day.opened.v1`), and the refunds' bookkeeping:
//!
//! - unpaid prepayment claims past `[invoicing] prepayment_expiry_days` expire
//!   ([`crate::domain::prepayment`]);
//! - credit balances pay the debtor's claims still open, and what no claim used for
//!   `[invoicing] refund_after_days` is refunded ([`crate::domain::refunds`]);
//! - `bank.refund.confirmed.v1` books a refund: the credit balance is reduced once;
//! - debtors past retention are erased ([`super::retention`]).
//!
//! Each debtor's credit and claims are read and rewritten under the debtor's lock.

use super::ledger::{Posting, apply_allocations, claim_ref};
use super::locks::DebtorLocks;
use crate::config::InvoicingConfig;
use crate::domain::allocation::allocate;
use crate::domain::balance::Balance;
use crate::domain::prepayment;
use crate::domain::refunds::{self, CreditState, RefundStep};
use crate::store::queries::{self, ClaimRow, LedgerLine, RefundRow};
use chrono::{Days, NaiveDate};
use restance_bus::{Effects, HandlerError, Outcome, Rejection};
use restance_contracts::messages::{
    BalanceChangeCause, MatchedBy, PaymentApplied, PrepaymentExpired, RefundConfirmed, RefundPayee,
    RefundRequested,
};
use restance_kernel::retention::RetentionPolicy;
use restance_kernel::{Catalog, Currency, Money, NationalId, PartyKind, Redacted};
use sea_orm::DatabaseTransaction;
use std::collections::HashMap;

/// `calendar.day.opened.v1`: records the business date (it stamps credit notes) and, the first
/// time a date is opened, expires prepayments and runs the refunds. A date at or before the last
/// one is a duplicate and does nothing.
pub async fn open_day(
    tx: &DatabaseTransaction,
    catalog: &Catalog,
    config: &InvoicingConfig,
    retention: &RetentionPolicy,
    date: NaiveDate,
    effects: &mut Effects,
    locks: &mut DebtorLocks,
) -> Result<Outcome, HandlerError> {
    let last = queries::last_business_date(tx).await?;
    if last.is_some_and(|l| date <= l) {
        return Ok(Outcome::Done);
    }
    queries::set_business_date(tx, date).await?;
    let expired = expire_prepayments(tx, config, date, effects, locks).await?;
    let requested = run_refunds(tx, catalog, config, date, effects, locks).await?;
    let erased = super::retention::erase_due(tx, retention, date, effects, locks).await?;
    tracing::info!(business_date = %date, expired, requested, erased, "business day opened");
    Ok(Outcome::Done)
}

/// Expires the open prepayment claims whose period ran out; returns how many.
async fn expire_prepayments(
    tx: &DatabaseTransaction,
    config: &InvoicingConfig,
    date: NaiveDate,
    effects: &mut Effects,
    locks: &mut DebtorLocks,
) -> Result<usize, HandlerError> {
    let days = config.prepayment_expiry_days;
    let last_due = date
        .checked_sub_days(Days::new(u64::from(days)))
        .unwrap_or(NaiveDate::MIN);
    let mut expired = 0;
    for candidate in queries::open_prepayments_due_by(tx, last_due).await? {
        // Read again under the debtor's lock: a payment may have settled it meanwhile.
        let Some(mut claim) = locks.claim(tx, &candidate.claim_id).await? else {
            continue;
        };
        if claim.state != "open"
            || !claim.prepayment
            || !prepayment::has_expired(claim.due_date, date, days)
        {
            continue;
        }
        expire(tx, &mut claim, date, days, effects).await?;
        expired += 1;
    }
    Ok(expired)
}

async fn expire(
    tx: &DatabaseTransaction,
    claim: &mut ClaimRow,
    date: NaiveDate,
    days: u32,
    effects: &mut Effects,
) -> Result<(), HandlerError> {
    let open = claim.balance;
    let paid = queries::paid_on_claim(tx, &claim.claim_id).await?;
    queries::insert_lines(
        tx,
        &[LedgerLine {
            claim_id: claim.claim_id.clone(),
            kind: "expiry",
            ref_id: format!("expiry:{date}"),
            principal: Money::ZERO - open.principal,
            fees: Money::ZERO - open.fees,
            interest: Money::ZERO - open.interest,
            business_date: date,
        }],
    )
    .await?;
    claim.balance = Balance::default();
    claim.state = "expired".into();
    queries::update_claim(tx, claim, 1).await?;
    // What was paid on a permit never issued is the citizen's money again.
    if paid.is_positive() {
        queries::add_credit(tx, &claim.municipality, &claim.debtor_id, paid, date).await?;
    }
    let currency = claim.currency.parse::<Currency>().map_err(|_| {
        HandlerError::Other(format!(
            "claim {} has an unreadable currency",
            claim.claim_id
        ))
    })?;
    if open.total().is_positive() {
        effects.emit(PrepaymentExpired {
            claim: claim_ref(claim),
            currency,
            amount: open.total(),
            expired_date: date.into(),
            reason: prepayment::reason(claim.due_date, days),
            version: Some(claim.version),
        })?;
    }
    Ok(())
}

/// Sets every credit balance off against the debtor's open claims, then requests the refunds
/// that are due; returns how many were requested.
async fn run_refunds(
    tx: &DatabaseTransaction,
    catalog: &Catalog,
    config: &InvoicingConfig,
    date: NaiveDate,
    effects: &mut Effects,
    locks: &mut DebtorLocks,
) -> Result<usize, HandlerError> {
    let mut requested = 0;
    for candidate in queries::debtors_with_credit(tx).await? {
        let (muni_code, debtor_id) = (&candidate.municipality, &candidate.debtor_id);
        let Some(muni) = catalog.municipality(muni_code) else {
            continue; // a municipality no longer configured: its caseworkers decide by hand
        };
        locks.lock(tx, muni_code, debtor_id).await?;
        use_credit_on_open_claims(tx, muni.currency, muni_code, debtor_id, date, effects).await?;
        let Some(row) = queries::credit_of(tx, muni_code, debtor_id).await? else {
            continue;
        };
        let since = match row.since {
            Some(since) => since,
            None => {
                queries::start_credit_period(tx, muni_code, debtor_id, date).await?;
                date
            }
        };
        let state = CreditState {
            credit: row.credit,
            pending: queries::pending_refunds(tx, muni_code, debtor_id).await?,
            since,
            held: queries::refund_hold(tx, muni_code, debtor_id)
                .await?
                .is_some(),
        };
        let RefundStep::Refund(amount) =
            refunds::next_step(&state, date, config.refund_after_days, muni.country)
        else {
            continue;
        };
        let Some(payee) = public_account(&row.kind, &row.national_id) else {
            tracing::warn!(
                municipality = %muni_code,
                debtor_id = %debtor_id,
                "a credit balance cannot be refunded: the stored national id does not read"
            );
            continue;
        };
        let request = Request {
            municipality: muni_code,
            debtor_id,
            currency: muni.currency,
            amount,
            date,
            by: "daily_run",
        };
        if request_refund(tx, &request, payee, effects).await? {
            requested += 1;
        }
    }
    Ok(requested)
}

/// The payee of a refund to the public payment account: the debtor's stored national id.
pub fn public_account(kind: &str, national_id: &str) -> Option<RefundPayee> {
    let kind = match kind {
        "company" => PartyKind::Company,
        _ => PartyKind::Person,
    };
    NationalId::parse_for_kind(kind, national_id)
        .ok()
        .map(|id| RefundPayee::PublicAccount {
            national_id: Redacted::new(id),
        })
}

/// Uses a debtor's available credit on their open claims (oldest first). The caller holds the
/// debtor's lock.
async fn use_credit_on_open_claims(
    tx: &DatabaseTransaction,
    currency: Currency,
    municipality: &str,
    debtor_id: &str,
    date: NaiveDate,
    effects: &mut Effects,
) -> Result<(), HandlerError> {
    let open = queries::claims_of_debtor(tx, Some(municipality), debtor_id, true).await?;
    if open.is_empty() {
        return Ok(());
    }
    let booked = queries::credit_of(tx, municipality, debtor_id)
        .await?
        .map_or(Money::ZERO, |c| c.credit);
    let available = booked - queries::pending_refunds(tx, municipality, debtor_id).await?;
    if !available.is_positive() {
        return Ok(());
    }
    let claims: Vec<_> = open.iter().map(ClaimRow::open_claim).collect();
    let result = allocate(available, &claims, None);
    let used = available - result.remainder;
    if used.is_zero() {
        return Ok(());
    }
    let ref_id = format!("credit-balance:{date}:{debtor_id}");
    let mut loaded: HashMap<String, ClaimRow> =
        open.into_iter().map(|c| (c.claim_id.clone(), c)).collect();
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
    queries::add_credit(tx, municipality, debtor_id, Money::ZERO - used, date).await?;
    effects.emit(PaymentApplied {
        payment_id: ref_id,
        municipality: municipality.to_owned(),
        debtor_id: debtor_id.to_owned(),
        currency,
        amount: used,
        booking_date: date.into(),
        matched_by: MatchedBy::CreditBalance,
        allocations,
        to_credit_balance: Money::ZERO,
    })?;
    Ok(())
}

/// A refund to request.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Municipality code.
    pub municipality: &'a str,
    /// Debtor id.
    pub debtor_id: &'a str,
    /// Currency.
    pub currency: Currency,
    /// Amount (> 0, at most the available credit: the caller checked).
    pub amount: Money,
    /// Business date.
    pub date: NaiveDate,
    /// `daily_run` or the caseworker's token name.
    pub by: &'a str,
}

/// Stores and announces a refund (the caller holds the debtor's lock and checked the amount);
/// false when the same refund was requested already (same id).
pub async fn request_refund(
    tx: &DatabaseTransaction,
    r: &Request<'_>,
    payee: RefundPayee,
    effects: &mut Effects,
) -> Result<bool, HandlerError> {
    let refund_id = refunds::refund_id(r.municipality, r.debtor_id, r.amount, r.date);
    let row = RefundRow {
        refund_id: refund_id.clone(),
        municipality: r.municipality.to_owned(),
        debtor_id: r.debtor_id.to_owned(),
        currency: r.currency.to_string(),
        amount: r.amount,
        requested_date: r.date,
        requested_by: r.by.to_owned(),
        state: "requested".into(),
        paid_date: None,
    };
    if !queries::insert_refund(tx, &row).await? {
        return Ok(false);
    }
    effects.emit(RefundRequested {
        refund_id,
        municipality: r.municipality.to_owned(),
        debtor_id: r.debtor_id.to_owned(),
        currency: r.currency,
        amount: r.amount,
        requested_date: r.date.into(),
        payee,
    })?;
    Ok(true)
}

/// `bank.refund.confirmed.v1`: books the refund — the debtor's credit balance is reduced by its
/// amount, once: a repeat (any envelope) finds it paid and changes nothing. An unknown refund or
/// an amount other than requested is refused with the reason (a person must look at it).
pub async fn confirm_refund(
    tx: &DatabaseTransaction,
    c: &RefundConfirmed,
    locks: &mut DebtorLocks,
) -> Result<Outcome, HandlerError> {
    let Some(refund) = queries::refund_by_id(tx, &c.refund_id).await? else {
        return Ok(Outcome::Rejected(Rejection::new(format!(
            "data.refund_id: invoicing requested no refund {}",
            c.refund_id
        ))));
    };
    locks
        .lock(tx, &refund.municipality, &refund.debtor_id)
        .await?;
    if refund.amount != c.amount {
        return Ok(Outcome::Rejected(Rejection::new(format!(
            "data.amount: refund {} was requested for {}, not {}",
            c.refund_id, refund.amount, c.amount
        ))));
    }
    let paid_date: NaiveDate = c.paid_date.into();
    if !queries::mark_refund_paid(tx, &c.refund_id, paid_date).await? {
        return Ok(Outcome::Done); // booked already
    }
    queries::add_credit(
        tx,
        &refund.municipality,
        &refund.debtor_id,
        Money::ZERO - refund.amount,
        paid_date,
    )
    .await?;
    Ok(Outcome::Done)
}
