//! Which claim a bank payment belongs to.
//!
//! 1. By payment reference (FIK id / KID) — the reference names one claim, or a payment plan
//!    (`agreements.plan.created.v1` carries the plan's own reference; its claims are paid first).
//! 2. Else by the payer's national id and an amount equal to one open claim's balance — the
//!    oldest such claim if several match.
//! 3. Else the payment is unmatched and goes to manual handling
//!    (`invoicing.payment.unmatched.v1`).

use crate::domain::allocation::{OpenClaim, payment_order};
use restance_kernel::Money;

/// How a payment was matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    /// The reference named this claim.
    Reference {
        /// The claim.
        claim_id: String,
        /// Its debtor (allocation continues over this debtor's other claims).
        debtor_id: String,
    },
    /// The reference is a payment plan's: its claims are paid first, oldest first.
    Plan {
        /// The plan.
        plan_id: String,
        /// Its debtor.
        debtor_id: String,
    },
    /// Payer and exact amount matched this claim.
    PayerAndAmount {
        /// The claim.
        claim_id: String,
        /// Its debtor.
        debtor_id: String,
    },
    /// Nothing matched; the reason says why, for the person who handles it.
    Unmatched(String),
}

/// What the store found for a payment.
#[derive(Debug, Clone, Default)]
pub struct Candidates {
    /// The reference as written did not pass parsing/check digits (`None` if absent).
    pub reference_given: bool,
    /// The claim (and its debtor) the reference points to, if any.
    pub by_reference: Option<(String, String)>,
    /// The payment plan (and its debtor) the reference points to, if any.
    pub by_plan: Option<(String, String)>,
    /// Open claims of debtors with the payer's national id, with their debtor ids.
    pub payer_claims: Vec<(String, OpenClaim)>,
    /// A payer national id was given and valid.
    pub payer_given: bool,
}

/// Decides the match (pure).
pub fn match_payment(amount: Money, c: &Candidates) -> Match {
    if let Some((claim_id, debtor_id)) = &c.by_reference {
        return Match::Reference {
            claim_id: claim_id.clone(),
            debtor_id: debtor_id.clone(),
        };
    }
    if let Some((plan_id, debtor_id)) = &c.by_plan {
        return Match::Plan {
            plan_id: plan_id.clone(),
            debtor_id: debtor_id.clone(),
        };
    }
    let claims: Vec<OpenClaim> = c.payer_claims.iter().map(|(_, oc)| oc.clone()).collect();
    if let Some(hit) = payment_order(&claims, None)
        .into_iter()
        .find(|oc| oc.balance.total() == amount)
    {
        let debtor_id = c
            .payer_claims
            .iter()
            .find(|(_, oc)| oc.claim_id == hit.claim_id)
            .map(|(d, _)| d.clone())
            .unwrap_or_default();
        return Match::PayerAndAmount {
            claim_id: hit.claim_id.clone(),
            debtor_id,
        };
    }
    let reason = match (c.reference_given, c.payer_given) {
        (true, true) => {
            "the payment reference matches no claim, and no open claim of the payer has exactly this amount"
        }
        (true, false) => {
            "the payment reference matches no claim, and no payer national id was given"
        }
        (false, true) => {
            "no payment reference, and no open claim of the payer has exactly this amount"
        }
        (false, false) => "neither a payment reference nor a payer national id was given",
    };
    Match::Unmatched(reason.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::balance::Balance;
    use chrono::NaiveDate;

    fn oc(id: &str, due: &str, total: i64) -> OpenClaim {
        OpenClaim {
            claim_id: id.into(),
            due_date: NaiveDate::parse_from_str(due, "%Y-%m-%d").expect("date"),
            opened_seq: 0,
            balance: Balance::opened(Money::from_minor(total)),
        }
    }

    #[test]
    fn a_reference_wins() {
        let c = Candidates {
            by_reference: Some(("c1".into(), "d1".into())),
            reference_given: true,
            ..Default::default()
        };
        assert_eq!(
            match_payment(Money::from_minor(1), &c),
            Match::Reference {
                claim_id: "c1".into(),
                debtor_id: "d1".into()
            }
        );
    }

    #[test]
    fn a_plan_reference_names_the_plan_before_payer_and_amount() {
        let c = Candidates {
            by_plan: Some(("PLN-1".into(), "d1".into())),
            reference_given: true,
            payer_claims: vec![("d1".into(), oc("a", "2026-11-15", 100))],
            payer_given: true,
            ..Default::default()
        };
        assert_eq!(
            match_payment(Money::from_minor(100), &c),
            Match::Plan {
                plan_id: "PLN-1".into(),
                debtor_id: "d1".into()
            }
        );
    }

    #[test]
    fn the_payer_and_an_exact_amount_find_the_oldest_matching_claim() {
        let c = Candidates {
            payer_claims: vec![
                ("d1".into(), oc("newer", "2026-12-15", 50_000)),
                ("d1".into(), oc("older", "2026-11-15", 50_000)),
                ("d1".into(), oc("other", "2026-10-15", 70_000)),
            ],
            payer_given: true,
            ..Default::default()
        };
        assert_eq!(
            match_payment(Money::from_minor(50_000), &c),
            Match::PayerAndAmount {
                claim_id: "older".into(),
                debtor_id: "d1".into()
            }
        );
    }

    #[test]
    fn an_amount_that_fits_no_claim_is_unmatched_with_a_reason() {
        let c = Candidates {
            payer_claims: vec![("d1".into(), oc("a", "2026-11-15", 100))],
            payer_given: true,
            ..Default::default()
        };
        match match_payment(Money::from_minor(99), &c) {
            Match::Unmatched(reason) => assert!(reason.contains("exactly this amount")),
            other => panic!("expected unmatched, got {other:?}"),
        }
    }
}
