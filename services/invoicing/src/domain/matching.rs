//! Which debtor (and claim) a bank payment belongs to.
//!
//! 1. By payment reference (FIK id / KID) — the reference names one claim, or a payment plan
//!    (`agreements.plan.created.v1` carries the plan's own reference; its claims are paid first).
//! 2. Else by the payer's national id (issue 22, item 9: fair matching). A citizen who pays by
//!    bank transfer with their CPR number and no usable reference has paid *their* debt, not an
//!    amount looking for a claim:
//!    - an open claim of the payer with exactly the amount wins — the oldest such claim; it is
//!      paid first, and anything left follows the allocation rule;
//!    - otherwise the payment is spread over the debtor's open claims by the allocation rule
//!      (oldest first; fees, then interest, then principal — [`crate::domain::allocation`]);
//!    - what is left after every open claim (or all of it, when nothing is open) becomes the
//!      debtor's credit balance, which pays the next claim or is refunded.
//!
//!    A payer known under several debtor ids in the municipality (two upstream systems) is
//!    matched to the debtor of the oldest open claim, else the first debtor id in order: one
//!    payment, one debtor, one credit balance.
//! 3. Only a payer nobody knows (no usable reference, and no or an unknown national id) leaves
//!    the payment unmatched for manual handling (`invoicing.payment.unmatched.v1`).

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
    /// Payer and exact amount matched this claim: it is paid first, then the debtor's other
    /// open claims by the allocation rule.
    PayerAndAmount {
        /// The claim.
        claim_id: String,
        /// Its debtor.
        debtor_id: String,
    },
    /// The payer's national id alone named this debtor: the payment is spread over the debtor's
    /// open claims by the allocation rule, the rest is credit balance.
    Payer {
        /// The debtor.
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
    /// The debtors with the payer's national id (open claims or not).
    pub payer_debtors: Vec<String>,
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
    // No exact amount: the debtor of the oldest open claim, else the first known debtor.
    if let Some(oldest) = payment_order(&claims, None).first() {
        let debtor_id = c
            .payer_claims
            .iter()
            .find(|(_, oc)| oc.claim_id == oldest.claim_id)
            .map(|(d, _)| d.clone())
            .unwrap_or_default();
        return Match::Payer { debtor_id };
    }
    if let Some(debtor_id) = c.payer_debtors.iter().min() {
        return Match::Payer {
            debtor_id: debtor_id.clone(),
        };
    }
    let reason = match (c.reference_given, c.payer_given) {
        (true, true) => {
            "the payment reference matches no claim, and the payer's national id matches no debtor of this municipality"
        }
        (true, false) => {
            "the payment reference matches no claim, and no usable payer national id was given"
        }
        (false, true) => {
            "no payment reference, and the payer's national id matches no debtor of this municipality"
        }
        (false, false) => "neither a payment reference nor a usable payer national id was given",
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
    fn a_known_payer_without_an_exact_amount_is_matched_to_the_debtor_of_the_oldest_claim() {
        let c = Candidates {
            payer_claims: vec![
                ("d2".into(), oc("newer", "2026-12-15", 100)),
                ("d1".into(), oc("older", "2026-11-15", 100)),
            ],
            payer_given: true,
            payer_debtors: vec!["d1".into(), "d2".into()],
            ..Default::default()
        };
        assert_eq!(
            match_payment(Money::from_minor(99), &c),
            Match::Payer {
                debtor_id: "d1".into()
            }
        );
    }

    #[test]
    fn a_known_payer_with_nothing_open_is_matched_so_the_money_becomes_credit() {
        let c = Candidates {
            payer_given: true,
            payer_debtors: vec!["d9".into(), "d3".into()],
            ..Default::default()
        };
        assert_eq!(
            match_payment(Money::from_minor(5_000), &c),
            Match::Payer {
                debtor_id: "d3".into()
            }
        );
    }

    #[test]
    fn only_an_unknown_payer_is_unmatched_with_a_reason() {
        let unknown = Candidates {
            payer_given: true,
            reference_given: true,
            ..Default::default()
        };
        match match_payment(Money::from_minor(99), &unknown) {
            Match::Unmatched(reason) => assert!(reason.contains("matches no debtor")),
            other => panic!("expected unmatched, got {other:?}"),
        }
        match match_payment(Money::from_minor(99), &Candidates::default()) {
            Match::Unmatched(reason) => assert!(reason.contains("neither")),
            other => panic!("expected unmatched, got {other:?}"),
        }
    }

    proptest::proptest! {
        /// Whatever the claims and the amount, a payer who is known is never left unmatched,
        /// and an exact amount always picks a claim of exactly that amount.
        #[test]
        fn a_known_payer_is_always_matched(
            totals in proptest::collection::vec(1i64..100_000, 0..6),
            amount in 1i64..100_000,
            pick in proptest::option::of(0usize..6),
        ) {
            let mut claims: Vec<(String, OpenClaim)> = totals
                .iter()
                .enumerate()
                .map(|(i, t)| (format!("d{}", i % 2), oc(&format!("c{i}"), "2026-11-15", *t)))
                .collect();
            let amount = match pick {
                Some(i) if i < claims.len() => claims[i].1.balance.total().to_minor(),
                _ => amount,
            };
            claims.sort_by(|a, b| a.1.claim_id.cmp(&b.1.claim_id));
            let c = Candidates {
                payer_claims: claims.clone(),
                payer_given: true,
                payer_debtors: vec!["d0".into(), "d1".into()],
                ..Default::default()
            };
            match match_payment(Money::from_minor(amount), &c) {
                Match::PayerAndAmount { claim_id, debtor_id } => {
                    let (d, hit) = claims.iter().find(|(_, oc)| oc.claim_id == claim_id).expect("a listed claim");
                    proptest::prop_assert_eq!(hit.balance.total().to_minor(), amount);
                    proptest::prop_assert_eq!(d, &debtor_id);
                }
                Match::Payer { debtor_id } => {
                    proptest::prop_assert!(claims.iter().all(|(_, oc)| oc.balance.total().to_minor() != amount));
                    proptest::prop_assert!(debtor_id == "d0" || debtor_id == "d1");
                }
                other => proptest::prop_assert!(false, "unexpected {:?}", other),
            }
        }
    }
}
