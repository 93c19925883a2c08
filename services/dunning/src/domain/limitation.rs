//! Limitation (forældelse): when a claim can no longer be collected.
//!
//! DOMAIN.md, "Limitation": 3 years from the due date by default (DK forældelsesloven § 3),
//! interrupted by the debtor's acknowledgement — a part payment or a signed payment plan — and by
//! legal steps and distraint (recorded by a caseworker: `ClaimHistory::interruptions`), after
//! which a new period starts. The service reports part payments as `last_acknowledged`; a payment
//! plan counts from the day it began (a [`HoldKind::Plan`] hold), so the service need not report
//! it twice. On the limitation date dunning proposes a write-off once; the claim then gets no
//! more steps or interest.

use chrono::Months;
use restance_kernel::BusinessDate;

use crate::domain::view::{ClaimState, Hold, HoldKind};

/// The claim's limitation date as known on `today`: `years` after the later of the due date,
/// the last acknowledgement, the start of the latest payment plan that has begun and the latest
/// recorded distraint or legal step.
pub fn limitation_date<'a>(
    claim: &ClaimState,
    holds: impl Iterator<Item = &'a Hold>,
    years: u32,
    today: BusinessDate,
) -> Option<BusinessDate> {
    let plan_started = holds
        .filter(|h| h.kind == HoldKind::Plan && h.from <= today)
        .map(|h| h.from)
        .max();
    let start = [
        Some(claim.due_date),
        claim.last_acknowledged,
        plan_started,
        claim.history.last_interruption(),
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(claim.due_date);
    start
        .as_naive()
        .checked_add_months(Months::new(years.checked_mul(12)?))
        .map(BusinessDate::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::view::{CategoryFlags, ClaimBalance, ClaimHistory, ClaimStatus, Scope};
    use restance_kernel::{Currency, Money};

    fn d(s: &str) -> BusinessDate {
        s.parse().expect("test date")
    }

    fn claim() -> ClaimState {
        ClaimState {
            claim_id: "C-1".into(),
            category: "other".into(),
            flags: CategoryFlags::default(),
            office: "main".into(),
            currency: Currency::Dkk,
            due_date: d("2026-12-15"),
            balance: ClaimBalance {
                principal: Money::from_minor(100),
                ..ClaimBalance::default()
            },
            payment_reference: None,
            status: ClaimStatus::Open,
            last_acknowledged: None,
            prepayment: false,
            direct_debit: false,
            history: ClaimHistory::default(),
        }
    }

    #[test]
    fn three_years_from_the_due_date_by_default() {
        assert_eq!(
            limitation_date(&claim(), [].iter(), 3, d("2027-01-01")),
            Some(d("2029-12-15"))
        );
    }

    #[test]
    fn an_acknowledgement_or_a_plan_starts_a_new_period() {
        let mut c = claim();
        c.last_acknowledged = Some(d("2027-03-01"));
        assert_eq!(
            limitation_date(&c, [].iter(), 3, d("2027-04-01")),
            Some(d("2030-03-01"))
        );
        let plan = Hold {
            hold_id: "P-1".into(),
            kind: HoldKind::Plan,
            scope: Scope::Debtor,
            from: d("2027-06-01"),
            until: Some(d("2027-09-01")),
        };
        assert_eq!(
            limitation_date(&c, [&plan].into_iter(), 3, d("2027-07-01")),
            Some(d("2030-06-01"))
        );
        assert_eq!(
            limitation_date(&c, [&plan].into_iter(), 3, d("2027-05-01")),
            Some(d("2030-03-01")),
            "a plan that has not begun is no acknowledgement yet"
        );
        let deferral = Hold {
            kind: HoldKind::Deferral,
            ..plan
        };
        assert_eq!(
            limitation_date(&c, [&deferral].into_iter(), 3, d("2027-07-01")),
            Some(d("2030-03-01")),
            "a deferral is granted, not an acknowledgement"
        );
    }
}
