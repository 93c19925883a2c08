//! The bank's payment and the case's closing (issue 20, item 3): invoicing matches the bank's
//! payment by the claim's payment reference like any payment and publishes
//! `invoicing.payment.applied.v1`; this records it on the recovery case of the claim.
//!
//! - **Which payments.** Only the allocations to a recovery case's claim (the claim
//!   [`cases::of_claim`] knows from its `invoicing.claim.opened.v1`); every other allocation and
//!   payment is none of this service's business.
//! - **The amount** recorded is the principal the allocation applied: the case's claim is the
//!   claim's principal, so fees or interest invoicing may have charged on it are invoicing's and
//!   settle nothing here ([`received`]). **An overpayment** (`to_credit_balance`) counts only
//!   when the payment was applied to this case's claim alone: then the bank paid more than the
//!   claim, the domain settles the case with the excess as the guarantor's credit, and invoicing
//!   already keeps it as the guarantor's credit balance — nothing is sent for it, the settled
//!   step records it. A leftover of a payment spread over several claims is the debtor's, not the
//!   case's.
//! - **The day** of the step is the payment's booking date, or the case's last step's date when
//!   that is later (payments recorded out of order).
//! - **Part payment** (`domain::RecoveryCase::record_payment`): the case is `part_paid`, nothing
//!   is sent. **Paid in full**: the case is settled ("payment checked in the books"), the bank
//!   gets `guarantee_bank_release` for the rest of the guarantee with what was recovered
//!   (notification key [`RELEASE_SETTLED`], so its id never collides with a release letter's),
//!   the municipality's administrator an e-mail (`guarantee_case_settled`; no administrator
//!   configured: the step says so, nothing is sent, a warning is logged), and the case is closed
//!   the same day.
//! - **Once per payment.** `case_payments` keeps each payment id per case: the same payment
//!   applied again under another envelope id records nothing (the inbox already drops the same
//!   envelope).
//! - **A case that is not outstanding** (settled, released, closed) records no payment: the
//!   message is logged and done (invoicing keeps any such money as the guarantor's credit).
//! - **`invoicing.claim.settled.v1`** of a case's claim whose recorded payments already settled
//!   the case is expected and ignored. Settled while the case still has an amount outstanding
//!   (invoicing settled it otherwise — a credit note — or the last payment is still on its way
//!   through another replica), the case is left as it is: how much of the guarantee to release
//!   is not the books' call, and a late payment still settles the case. The settlement is kept in
//!   `case_claim_settlements` (claim, date, what was outstanding) with a warning for a
//!   caseworker; it is resolved once the case settles.

use std::collections::BTreeMap;

use restance_bus::{Effects, HandlerError, Inbound, Outcome, Rejection};
use restance_contracts::messages::{ClaimSettled, NotificationRequested, PaymentApplied};
use restance_kernel::{BusinessDate, Money};
use sea_orm::DatabaseTransaction;
use serde_json::json;

use super::recovery::{Parties, RELEASE, RELEASE_SETTLED, SOURCE, notification_id};
use crate::domain::{Actor, Effect, RecoveryCase};
use crate::state::Shared;
use crate::store::queries::{cases, guarantees};

/// The administrator's e-mail when a case is settled and closed.
pub const CASE_SETTLED: &str = "guarantee_case_settled";

/// What one payment brought one claim: the principal applied, and the overpayment when the
/// payment was for that claim alone. Claims in the order of their first allocation.
pub fn received(p: &PaymentApplied) -> Vec<(String, Money)> {
    let mut order: Vec<String> = Vec::new();
    let mut by_claim: BTreeMap<String, i64> = BTreeMap::new();
    for a in &p.allocations {
        if !by_claim.contains_key(&a.claim_id) {
            order.push(a.claim_id.clone());
        }
        *by_claim.entry(a.claim_id.clone()).or_insert(0) += a.principal.to_minor();
    }
    let alone = order.len() == 1;
    order
        .into_iter()
        .map(|claim| {
            let mut minor = by_claim.get(&claim).copied().unwrap_or(0);
            if alone {
                minor += p.to_credit_balance.to_minor();
            }
            (claim, Money::from_minor(minor))
        })
        .collect()
}

/// `invoicing.payment.applied.v1`: each allocation to a case's claim recorded on the case (see
/// the module documentation).
pub async fn applied(
    shared: &Shared,
    tx: &DatabaseTransaction,
    effects: &mut Effects,
    inbound: &Inbound,
    p: &PaymentApplied,
) -> Result<Outcome, HandlerError> {
    for (claim_id, amount) in received(p) {
        let Some(case_id) = cases::of_claim(tx, &claim_id).await? else {
            continue;
        };
        let Some(stored) = cases::load(tx, &case_id).await? else {
            continue;
        };
        let mut case = stored.case;
        if !amount.is_positive() {
            tracing::info!(case_id = %case_id, payment_id = %p.payment_id,
                "the payment applied no principal to the case's claim: nothing recorded");
            continue;
        }
        if !case.state().is_outstanding() {
            tracing::warn!(case_id = %case_id, payment_id = %p.payment_id, state = %case.state(),
                "a payment for a case that is not outstanding: not recorded");
            continue;
        }
        let from = case.steps().len();
        let last = case.steps().last().map_or(p.booking_date, |s| s.on);
        let on = p.booking_date.max(last);
        let refused = |e: crate::domain::CaseError| {
            Rejection::new(format!(
                "case {case_id}: payment {} cannot be recorded: {e}",
                p.payment_id
            ))
        };
        // the domain first, on a copy: a refusal writes nothing
        let mut next = case.clone();
        let mut decided = match next.record_payment(on, Actor::Service, amount) {
            Ok(d) => d,
            Err(e) => return Ok(Outcome::Rejected(refused(e))),
        };
        let settled = decided
            .iter()
            .any(|e| matches!(e, Effect::AdministratorNotified));
        if settled {
            match next.close(on, Actor::Service) {
                Ok(more) => decided.extend(more),
                Err(e) => return Ok(Outcome::Rejected(refused(e))),
            }
        }
        if !cases::record_payment(
            tx,
            &case_id,
            &p.payment_id,
            amount,
            p.booking_date,
            &inbound.envelope.id,
        )
        .await?
        {
            tracing::info!(case_id = %case_id, payment_id = %p.payment_id,
                "the payment is recorded on the case already");
            continue;
        }
        case = next;
        let (sent, requests) = if settled {
            settlement(
                shared,
                tx,
                &case,
                &stored.municipality,
                &claim_id,
                on,
                &decided,
            )
            .await?
        } else {
            (vec![Vec::new()], Vec::new())
        };
        cases::append(tx, &case, from, &sent).await?;
        for n in requests {
            effects.emit(n)?;
        }
        crate::metrics::payment_recorded(case.state().as_str());
        if settled {
            crate::metrics::case_settled();
        }
        tracing::info!(
            case_id = %case_id,
            payment_id = %p.payment_id,
            %amount,
            state = %case.state(),
            outstanding = %case.outstanding(),
            "the bank's payment is recorded on the recovery case"
        );
    }
    Ok(Outcome::Done)
}

/// What a settlement sends: per appended step (payment, settled, closed) what was sent for it,
/// and the notifications.
async fn settlement(
    shared: &Shared,
    tx: &DatabaseTransaction,
    case: &RecoveryCase,
    municipality: &str,
    claim_id: &str,
    on: BusinessDate,
    decided: &[Effect],
) -> Result<(Vec<Vec<String>>, Vec<NotificationRequested>), HandlerError> {
    let stored = guarantees::find(tx, case.guarantee_id())
        .await?
        .ok_or_else(|| {
            HandlerError::Other(format!(
                "case {}: its guarantee {} is not stored",
                case.case_id(),
                case.guarantee_id()
            ))
        })?;
    let parties = Parties::of(shared, &stored, case.case_id())?;
    let mut settled_sent = Vec::new();
    let mut requests = Vec::new();
    for effect in decided {
        match effect {
            Effect::BankReleaseLetter { released } => {
                let mut n = parties.release(RELEASE_SETTLED, *released, Some(case.recovered()));
                n.related.claim_ids = vec![claim_id.to_owned()];
                settled_sent.push(format!("{RELEASE} {}", n.notification_id));
                requests.push(n);
            }
            Effect::AdministratorNotified => {
                let admin = shared
                    .config
                    .municipalities
                    .get(municipality)
                    .and_then(|m| m.administrator.as_ref());
                match admin {
                    Some(contact) => {
                        let mut n = parties.request(
                            CASE_SETTLED,
                            contact.recipient(),
                            settled_data(
                                case,
                                &stored.guarantee_id,
                                parties.guarantor.name.expose(),
                                on,
                            ),
                        );
                        n.related.claim_ids = vec![claim_id.to_owned()];
                        settled_sent.push(format!("{CASE_SETTLED} {}", n.notification_id));
                        requests.push(n);
                    }
                    None => {
                        tracing::warn!(case_id = %case.case_id(), municipality = %municipality,
                            "no guarantee administrator configured: the settled case is not e-mailed");
                        settled_sent.push(format!(
                            "{CASE_SETTLED}: not sent, no administrator configured for {municipality}"
                        ));
                    }
                }
            }
            Effect::CreditToGuarantor { amount } => {
                settled_sent.push(format!(
                    "credit {amount}: kept by invoicing as the guarantor's credit balance"
                ));
            }
            Effect::RecoveryRaised { .. }
            | Effect::BankHoldAndPayLetter { .. }
            | Effect::GuarantorNotice { .. }
            | Effect::ClaimLowered { .. } => {}
        }
    }
    // payment received, settled, closed
    Ok((vec![Vec::new(), settled_sent, Vec::new()], requests))
}

/// The data of the administrator's `guarantee_case_settled` e-mail (no national id).
pub fn settled_data(
    case: &RecoveryCase,
    guarantee_id: &str,
    guarantor: &str,
    on: BusinessDate,
) -> serde_json::Value {
    let mut data = json!({
        "case_id": case.case_id(),
        "guarantee_id": guarantee_id,
        "guarantor": guarantor,
        "recovered_amount": case.recovered(),
        "released_amount": case.rest_of_guarantee(),
        "currency": "DKK",
        "settled_date": on,
    });
    if case.credit().is_positive()
        && let serde_json::Value::Object(fields) = &mut data
    {
        fields.insert("credit_amount".into(), json!(case.credit()));
    }
    data
}

/// `invoicing.claim.settled.v1`: ignored unless it is a case's claim still outstanding here;
/// then kept for a caseworker and the case left as it is (module documentation).
pub async fn claim_settled(
    tx: &DatabaseTransaction,
    inbound: &Inbound,
    s: &ClaimSettled,
) -> Result<Outcome, HandlerError> {
    if s.claim.category != "guarantee" || s.claim.source != SOURCE {
        return Ok(Outcome::Done);
    }
    let Some(case_id) = cases::of_claim(tx, &s.claim.claim_id).await? else {
        return Ok(Outcome::Done);
    };
    let Some(stored) = cases::load(tx, &case_id).await? else {
        return Ok(Outcome::Done);
    };
    let case = stored.case;
    if !case.state().is_outstanding() {
        return Ok(Outcome::Done);
    }
    let outstanding = case.outstanding();
    if cases::record_claim_settled(
        tx,
        &case_id,
        &s.claim.claim_id,
        s.settled_date,
        outstanding,
        &inbound.envelope.id,
    )
    .await?
    {
        crate::metrics::claim_settled_unpaid();
        tracing::warn!(case_id = %case_id, claim_id = %s.claim.claim_id, %outstanding,
            settled_date = %s.settled_date,
            "invoicing settled the case's claim while the payments recorded do not cover it: \
             the case stays open for a caseworker");
    }
    Ok(Outcome::Done)
}

/// The notification id of the bank's release letter after the case settled.
pub fn release_id(case_id: &str) -> String {
    notification_id(case_id, RELEASE_SETTLED)
}

#[cfg(test)]
mod tests {
    use super::*;
    use restance_contracts::messages::{Allocation, MatchedBy};
    use restance_kernel::Currency;

    fn money(s: &str) -> Money {
        Money::parse(s).expect("money")
    }

    fn allocation(claim: &str, fees: &str, principal: &str) -> Allocation {
        Allocation {
            claim_id: claim.into(),
            invoice_id: format!("INV-{claim}"),
            category: "guarantee".into(),
            fees: money(fees),
            interest: Money::ZERO,
            principal: money(principal),
        }
    }

    fn payment(allocations: Vec<Allocation>, credit: &str) -> PaymentApplied {
        PaymentApplied {
            payment_id: "P-1".into(),
            municipality: "0746".into(),
            debtor_id: "C-P-5521".into(),
            currency: Currency::Dkk,
            amount: money("1.00"),
            booking_date: "2026-05-20".parse().expect("date"),
            matched_by: MatchedBy::Reference,
            allocations,
            to_credit_balance: money(credit),
        }
    }

    #[test]
    fn a_payment_for_one_claim_brings_its_principal_and_the_overpayment() {
        let p = payment(vec![allocation("C-1", "100.00", "5000.00")], "250.00");
        assert_eq!(received(&p), [("C-1".to_owned(), money("5250.00"))]);
    }

    #[test]
    fn a_payment_over_several_claims_leaves_the_leftover_to_the_debtor() {
        let p = payment(
            vec![
                allocation("C-1", "0.00", "5000.00"),
                allocation("C-2", "0.00", "300.00"),
                allocation("C-1", "0.00", "100.00"),
            ],
            "250.00",
        );
        assert_eq!(
            received(&p),
            [
                ("C-1".to_owned(), money("5100.00")),
                ("C-2".to_owned(), money("300.00"))
            ]
        );
    }

    #[test]
    fn fees_alone_bring_nothing() {
        let p = payment(vec![allocation("C-1", "100.00", "0.00")], "0.00");
        assert_eq!(received(&p), [("C-1".to_owned(), Money::ZERO)]);
    }

    #[test]
    fn the_settled_release_has_its_own_id() {
        assert_eq!(
            release_id("G-1/R1"),
            "guarantee:G-1/R1:guarantee_bank_release:settled"
        );
        assert_ne!(release_id("G-1/R1"), notification_id("G-1/R1", RELEASE));
        assert_eq!(
            notification_id("G-1/R1", CASE_SETTLED),
            "guarantee:G-1/R1:guarantee_case_settled"
        );
    }
}
