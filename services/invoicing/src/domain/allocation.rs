//! Allocation of a payment over a debtor's open claims.
//!
//! DOMAIN.md: costs/fees first, then interest, then principal; oldest claim first. We apply
//! that per claim: the oldest claim is paid off completely (fees → interest → principal)
//! before the next one receives anything. A payment that names a claim (by its payment
//! reference) goes to that claim first; the rest follows the general order. What is left
//! after every open claim is paid becomes the debtor's credit balance.

use crate::domain::balance::Balance;
use chrono::NaiveDate;
use restance_kernel::Money;

/// An open claim as allocation sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenClaim {
    /// The claim.
    pub claim_id: String,
    /// Due date: older claims are paid first.
    pub due_date: NaiveDate,
    /// Ties on the due date are broken by the order claims were opened.
    pub opened_seq: i64,
    /// What is open.
    pub balance: Balance,
}

/// What one claim receives from a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    /// The claim paid.
    pub claim_id: String,
    /// Paid on fees.
    pub fees: Money,
    /// Paid on interest.
    pub interest: Money,
    /// Paid on principal.
    pub principal: Money,
}

impl Allocation {
    /// The amount this claim received.
    pub fn total(&self) -> Money {
        self.fees + self.interest + self.principal
    }
}

/// The result: what each claim received and what is left over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocationResult {
    /// Claims that received something, in the order they were paid.
    pub allocations: Vec<Allocation>,
    /// Left over after every open claim: the debtor's credit balance grows by this.
    pub remainder: Money,
}

/// The order claims are paid in: `first` (if given and open), then by due date, then by the
/// order they were opened.
pub fn payment_order<'a>(claims: &'a [OpenClaim], first: Option<&str>) -> Vec<&'a OpenClaim> {
    let mut ordered: Vec<&OpenClaim> = claims.iter().collect();
    ordered.sort_by(|a, b| {
        let a_first = first == Some(a.claim_id.as_str());
        let b_first = first == Some(b.claim_id.as_str());
        b_first
            .cmp(&a_first)
            .then(a.due_date.cmp(&b.due_date))
            .then(a.opened_seq.cmp(&b.opened_seq))
            .then(a.claim_id.cmp(&b.claim_id))
    });
    ordered
}

/// Spreads `amount` (> 0) over `claims`. Pure: the caller applies the result.
pub fn allocate(amount: Money, claims: &[OpenClaim], first: Option<&str>) -> AllocationResult {
    let mut left = if amount.is_negative() {
        Money::ZERO
    } else {
        amount
    };
    let mut allocations = Vec::new();
    for claim in payment_order(claims, first) {
        if left.is_zero() {
            break;
        }
        let b = claim.balance;
        let fees = take(&mut left, b.fees);
        let interest = take(&mut left, b.interest);
        let principal = take(&mut left, b.principal);
        let a = Allocation {
            claim_id: claim.claim_id.clone(),
            fees,
            interest,
            principal,
        };
        if !a.total().is_zero() {
            allocations.push(a);
        }
    }
    AllocationResult {
        allocations,
        remainder: left,
    }
}

/// Spreads `amount` over a payment plan's `covered` claims first (oldest first), then over the
/// debtor's other open claims in the general order. Pure, like [`allocate`].
pub fn allocate_plan_first(
    amount: Money,
    claims: &[OpenClaim],
    covered: &[String],
) -> AllocationResult {
    let (plan, rest): (Vec<OpenClaim>, Vec<OpenClaim>) = claims
        .iter()
        .cloned()
        .partition(|c| covered.contains(&c.claim_id));
    let first = allocate(amount, &plan, None);
    let second = allocate(first.remainder, &rest, None);
    let mut allocations = first.allocations;
    allocations.extend(second.allocations);
    AllocationResult {
        allocations,
        remainder: second.remainder,
    }
}

fn take(left: &mut Money, open: Money) -> Money {
    let open = if open.is_negative() {
        Money::ZERO
    } else {
        open
    };
    let paid = if *left < open { *left } else { open };
    *left -= paid;
    paid
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(s: &str) -> Money {
        Money::parse(s).expect("valid money")
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("valid date")
    }

    fn claim(id: &str, due: &str, seq: i64, p: &str, f: &str, i: &str) -> OpenClaim {
        OpenClaim {
            claim_id: id.into(),
            due_date: d(due),
            opened_seq: seq,
            balance: Balance {
                principal: m(p),
                fees: m(f),
                interest: m(i),
            },
        }
    }

    #[test]
    fn fees_then_interest_then_principal_of_the_oldest_claim_first() {
        let claims = vec![
            claim("new", "2026-12-15", 2, "500.00", "0.00", "0.00"),
            claim("old", "2026-11-15", 1, "1000.00", "250.00", "10.00"),
        ];
        let r = allocate(m("300.00"), &claims, None);
        assert_eq!(
            r.allocations,
            vec![Allocation {
                claim_id: "old".into(),
                fees: m("250.00"),
                interest: m("10.00"),
                principal: m("40.00")
            }]
        );
        assert_eq!(r.remainder, Money::ZERO);
    }

    #[test]
    fn a_payment_naming_a_claim_pays_that_claim_first() {
        let claims = vec![
            claim("old", "2026-11-15", 1, "1000.00", "0.00", "0.00"),
            claim("named", "2026-12-15", 2, "200.00", "0.00", "0.00"),
        ];
        let r = allocate(m("300.00"), &claims, Some("named"));
        assert_eq!(r.allocations[0].claim_id, "named");
        assert_eq!(r.allocations[0].principal, m("200.00"));
        assert_eq!(r.allocations[1].claim_id, "old");
        assert_eq!(r.allocations[1].principal, m("100.00"));
    }

    #[test]
    fn an_overpayment_leaves_a_credit_balance() {
        let claims = vec![claim("a", "2026-11-15", 1, "100.00", "0.00", "0.00")];
        let r = allocate(m("130.50"), &claims, None);
        assert_eq!(r.remainder, m("30.50"));
    }

    #[test]
    fn no_open_claims_means_all_of_it_is_credit() {
        let r = allocate(m("99.99"), &[], None);
        assert!(r.allocations.is_empty());
        assert_eq!(r.remainder, m("99.99"));
    }

    #[test]
    fn a_plan_payment_pays_the_plans_claims_oldest_first_before_any_other() {
        let claims = vec![
            claim("outside", "2026-10-15", 1, "500.00", "0.00", "0.00"),
            claim("plan-new", "2026-12-15", 2, "200.00", "0.00", "0.00"),
            claim("plan-old", "2026-11-15", 3, "100.00", "65.00", "0.00"),
        ];
        let covered = vec!["plan-new".to_owned(), "plan-old".to_owned()];
        let r = allocate_plan_first(m("400.00"), &claims, &covered);
        let order: Vec<_> = r.allocations.iter().map(|a| a.claim_id.as_str()).collect();
        assert_eq!(order, ["plan-old", "plan-new", "outside"]);
        assert_eq!(r.allocations[0].fees, m("65.00"));
        assert_eq!(r.allocations[2].principal, m("35.00"));
        assert_eq!(r.remainder, Money::ZERO);
    }

    fn arb_money(max_minor: i64) -> impl Strategy<Value = Money> {
        (0..=max_minor).prop_map(Money::from_minor)
    }

    fn arb_claims() -> impl Strategy<Value = Vec<OpenClaim>> {
        prop::collection::vec(
            (
                0i64..400,
                arb_money(500_000),
                arb_money(50_000),
                arb_money(20_000),
            ),
            0..8,
        )
        .prop_map(|v| {
            v.into_iter()
                .enumerate()
                .map(|(i, (days, p, f, int))| OpenClaim {
                    claim_id: format!("c{i}"),
                    due_date: d("2025-01-01") + chrono::Duration::days(days),
                    opened_seq: i64::try_from(i).unwrap_or(0),
                    balance: Balance {
                        principal: p,
                        fees: f,
                        interest: int,
                    },
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn nothing_is_lost_or_made_up(claims in arb_claims(), amount in arb_money(2_000_000)) {
            let r = allocate(amount, &claims, None);
            let paid: Money = r.allocations.iter().map(Allocation::total).sum();
            prop_assert_eq!(paid + r.remainder, amount);
            prop_assert!(!r.remainder.is_negative());
        }

        #[test]
        fn no_part_is_paid_beyond_what_is_open(claims in arb_claims(), amount in arb_money(2_000_000)) {
            let r = allocate(amount, &claims, None);
            for a in &r.allocations {
                let c = claims.iter().find(|c| c.claim_id == a.claim_id).expect("allocated claim exists");
                prop_assert!(a.fees <= c.balance.fees);
                prop_assert!(a.interest <= c.balance.interest);
                prop_assert!(a.principal <= c.balance.principal);
                prop_assert!(!a.fees.is_negative() && !a.interest.is_negative() && !a.principal.is_negative());
            }
        }

        #[test]
        fn a_claim_is_paid_only_when_every_older_one_is_settled(claims in arb_claims(), amount in arb_money(2_000_000)) {
            let r = allocate(amount, &claims, None);
            let order = payment_order(&claims, None);
            for (idx, c) in order.iter().enumerate() {
                let got = r.allocations.iter().find(|a| a.claim_id == c.claim_id).map(Allocation::total).unwrap_or(Money::ZERO);
                if !got.is_zero() {
                    for older in &order[..idx] {
                        let paid = r.allocations.iter().find(|a| a.claim_id == older.claim_id).map(Allocation::total).unwrap_or(Money::ZERO);
                        prop_assert_eq!(paid, older.balance.total());
                    }
                }
            }
        }

        #[test]
        fn within_a_claim_principal_is_touched_only_after_fees_and_interest(claims in arb_claims(), amount in arb_money(2_000_000)) {
            let r = allocate(amount, &claims, None);
            for a in &r.allocations {
                let c = claims.iter().find(|c| c.claim_id == a.claim_id).expect("exists");
                if !a.interest.is_zero() { prop_assert_eq!(a.fees, c.balance.fees); }
                if !a.principal.is_zero() {
                    prop_assert_eq!(a.fees, c.balance.fees);
                    prop_assert_eq!(a.interest, c.balance.interest);
                }
            }
        }

        #[test]
        fn a_plan_payment_loses_nothing_and_finishes_the_plan_first(claims in arb_claims(), amount in arb_money(2_000_000), mask in 0u8..=255) {
            let covered: Vec<String> = claims.iter().enumerate()
                .filter(|(i, _)| mask & (1 << (i % 8)) != 0).map(|(_, c)| c.claim_id.clone()).collect();
            let r = allocate_plan_first(amount, &claims, &covered);
            let paid: Money = r.allocations.iter().map(Allocation::total).sum();
            prop_assert_eq!(paid + r.remainder, amount);
            let outside_paid = r.allocations.iter().any(|a| !covered.contains(&a.claim_id) && !a.total().is_zero());
            if outside_paid {
                for c in claims.iter().filter(|c| covered.contains(&c.claim_id)) {
                    let got = r.allocations.iter().find(|a| a.claim_id == c.claim_id).map(Allocation::total).unwrap_or(Money::ZERO);
                    prop_assert_eq!(got, c.balance.total());
                }
            }
        }

        #[test]
        fn a_remainder_exists_only_when_everything_is_paid(claims in arb_claims(), amount in arb_money(2_000_000)) {
            let r = allocate(amount, &claims, None);
            if !r.remainder.is_zero() {
                let open: Money = claims.iter().map(|c| c.balance.total()).sum();
                let paid: Money = r.allocations.iter().map(Allocation::total).sum();
                prop_assert_eq!(paid, open);
            }
        }
    }
}
