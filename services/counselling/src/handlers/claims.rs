//! Invoicing's debtors and claims, kept so that an applicant's own claims in Restance appear in
//! the debt schedule, and so that a debtor who turns out to be an applicant with an active case
//! has their dunning held (where the municipality configured it).
//!
//! Only municipalities with debt counselling configured are kept; other messages are
//! acknowledged and ignored (they are not for this service, not bad input). Copies are kept at
//! the highest version seen; a copy without a version (published before versions existed) is
//! applied as the newest for an opening or a balance, and as final for a settlement or write-off.

use restance_bus::{Effects, HandlerError, Outcome};
use restance_contracts::messages::{
    ClaimBalanceChanged, ClaimOpened, ClaimRef, ClaimSettled, ClaimWrittenOff, DebtorUpdated,
};
use restance_kernel::{Money, PartyKind};
use sea_orm::DatabaseTransaction;

use crate::state::Shared;
use crate::store::queries::invoicing::{self, ClaimRow};
use crate::store::queries::{cases, days};

/// `invoicing.debtor.updated.v1`: the person's debtor id is kept; an active case of theirs
/// holds its dunning (where configured).
pub async fn debtor_updated(
    shared: &Shared,
    tx: &DatabaseTransaction,
    out: &mut Effects,
    d: &DebtorUpdated,
) -> Result<Outcome, HandlerError> {
    let Some(m) = shared.municipality(&d.municipality) else {
        return Ok(Outcome::Done);
    };
    if d.debtor.kind != PartyKind::Person {
        return Ok(Outcome::Done);
    }
    let national_id = d.debtor.national_id.expose().as_str();
    super::applications::lock_person(tx, &d.municipality, national_id).await?;
    let version = d.version.map_or(i64::MAX / 2, |v| v as i64);
    invoicing::upsert_debtor(tx, &d.municipality, &d.debtor.id, national_id, version).await?;
    if m.hold_dunning {
        let on = days::latest(tx).await?;
        for case_id in cases::active_of_person(tx, &d.municipality, national_id).await? {
            let from = match on {
                Some(day) => day,
                None => match cases::load(tx, &case_id, false).await? {
                    Some(c) => c.case.opened_on,
                    None => continue,
                },
            };
            super::applications::hold(tx, out, &case_id, &d.municipality, &d.debtor.id, from)
                .await?;
        }
    }
    Ok(Outcome::Done)
}

fn row(
    c: &ClaimRef,
    currency: &str,
    balance: Money,
    interest: Money,
    open: bool,
    version: i64,
) -> ClaimRow {
    ClaimRow {
        claim_id: c.claim_id.clone(),
        municipality: c.municipality.clone(),
        debtor_id: c.debtor_id.clone(),
        category: c.category.clone(),
        invoice_id: c.invoice_id.clone(),
        currency: currency.to_owned(),
        balance,
        interest,
        open,
        version,
    }
}

/// `invoicing.claim.opened.v1`.
pub async fn opened(
    shared: &Shared,
    tx: &DatabaseTransaction,
    c: &ClaimOpened,
) -> Result<Outcome, HandlerError> {
    if shared.municipality(&c.claim.municipality).is_none() {
        return Ok(Outcome::Done);
    }
    let version = c.version.map_or(1, |v| v as i64);
    invoicing::upsert_claim(
        tx,
        &row(
            &c.claim,
            c.currency.code(),
            c.amount,
            Money::from_minor(0),
            true,
            version,
        ),
    )
    .await?;
    Ok(Outcome::Done)
}

/// `invoicing.claim.balance_changed.v1`.
pub async fn balance_changed(
    shared: &Shared,
    tx: &DatabaseTransaction,
    c: &ClaimBalanceChanged,
) -> Result<Outcome, HandlerError> {
    if shared.municipality(&c.claim.municipality).is_none() {
        return Ok(Outcome::Done);
    }
    let version = match c.version {
        Some(v) => v as i64,
        None => invoicing::claim_version(tx, &c.claim.claim_id)
            .await?
            .map_or(1, |r| r.version + 1),
    };
    invoicing::upsert_claim(
        tx,
        &row(
            &c.claim,
            c.currency.code(),
            c.total,
            c.interest,
            c.total.is_positive(),
            version,
        ),
    )
    .await?;
    Ok(Outcome::Done)
}

/// `invoicing.claim.settled.v1` and `…written_off.v1`: nothing open any more.
pub async fn closed(
    shared: &Shared,
    tx: &DatabaseTransaction,
    c: &ClaimRef,
    version: Option<u64>,
) -> Result<Outcome, HandlerError> {
    if shared.municipality(&c.municipality).is_none() {
        return Ok(Outcome::Done);
    }
    let version = version.map_or(i64::MAX / 2, |v| v as i64);
    let currency = invoicing::claim_version(tx, &c.claim_id)
        .await?
        .map_or_else(
            || shared.currency_of(&c.municipality).to_owned(),
            |r| r.currency,
        );
    let zero = Money::from_minor(0);
    invoicing::upsert_claim(tx, &row(c, &currency, zero, zero, false, version)).await?;
    Ok(Outcome::Done)
}

/// See [`closed`].
pub async fn settled(
    shared: &Shared,
    tx: &DatabaseTransaction,
    s: &ClaimSettled,
) -> Result<Outcome, HandlerError> {
    closed(shared, tx, &s.claim, s.version).await
}

/// See [`closed`].
pub async fn written_off(
    shared: &Shared,
    tx: &DatabaseTransaction,
    w: &ClaimWrittenOff,
) -> Result<Outcome, HandlerError> {
    closed(shared, tx, &w.claim, w.version).await
}
