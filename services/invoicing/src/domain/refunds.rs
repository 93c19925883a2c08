//! Money the municipality owes back (issue 22, item 11): when a debtor's credit balance is
//! refunded, to whom, and under which id.
//!
//! A credit balance arises from an overpayment (a payment larger than everything open) or a
//! credit note beyond the claim's balance. It first pays the debtor's claims (a new claim is paid
//! from it when it opens; the daily run sets it off against claims still open). What no claim
//! used for `[invoicing] refund_after_days` is refunded with `invoicing.refund.requested.v1`,
//! and booked — the credit balance reduced — when the payment system confirms the payout
//! (`bank.refund.confirmed.v1`). Until then the requested amount is reserved: no claim can use
//! it and it is not requested twice.
//!
//! Where it goes: in Denmark and Greenland every person and company has a public payment account
//! (NemKonto) that the payment system finds from the CPR or CVR number, so the request names the
//! national id. Norway has none: a caseworker records the account the refund goes to
//! (`POST /api/v1/debtors/{id}/refund-decisions`, decision `refund_now` with `account`); the
//! daily run leaves a Norwegian credit balance waiting for it (the debtor view says so).
//!
//! A caseworker may also hold a debtor's refunds with a reason (e.g. a claim is about to be
//! raised, or the debtor is deceased and the estate is not settled); the run skips a held debtor
//! until the hold is released.

use chrono::{Days, NaiveDate};
use restance_kernel::{Country, Money};
use sha2::{Digest, Sha256};

/// What the daily run does with a debtor's credit balance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundStep {
    /// Nothing to refund (no credit beyond what is already requested).
    Nothing,
    /// The credit is younger than the period: a claim falling due may still use it.
    Wait {
        /// The first business date it may be refunded.
        until: NaiveDate,
    },
    /// A caseworker holds the debtor's refunds.
    Held,
    /// No public payment account in this country: a caseworker must give an account.
    NeedsAccount,
    /// Request a refund of this amount.
    Refund(Money),
}

/// What the run knows about one debtor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditState {
    /// The credit balance (booked).
    pub credit: Money,
    /// Refunds requested and not yet confirmed (reserved out of `credit`).
    pub pending: Money,
    /// Since when the debtor has had a credit balance.
    pub since: NaiveDate,
    /// A caseworker's hold is in force.
    pub held: bool,
}

impl CreditState {
    /// The credit no claim and no pending refund has taken.
    pub fn available(&self) -> Money {
        let left = self.credit - self.pending;
        if left.is_positive() {
            left
        } else {
            Money::ZERO
        }
    }
}

/// Whether a public payment account (NemKonto) can be used in `country`.
pub fn has_public_account(country: Country) -> bool {
    matches!(country, Country::Dk | Country::Gl)
}

/// The daily decision for one debtor on `today`.
pub fn next_step(
    state: &CreditState,
    today: NaiveDate,
    refund_after_days: u32,
    country: Country,
) -> RefundStep {
    let available = state.available();
    if !available.is_positive() {
        return RefundStep::Nothing;
    }
    let until = state
        .since
        .checked_add_days(Days::new(u64::from(refund_after_days)))
        .unwrap_or(NaiveDate::MAX);
    if today < until {
        return RefundStep::Wait { until };
    }
    if state.held {
        return RefundStep::Held;
    }
    if !has_public_account(country) {
        return RefundStep::NeedsAccount;
    }
    RefundStep::Refund(available)
}

/// The refund's id: the same debtor, amount and date give the same id, so a run repeated for a
/// date (a replica, a redelivery) cannot request a second refund — the id is the natural key.
pub fn refund_id(municipality: &str, debtor_id: &str, amount: Money, date: NaiveDate) -> String {
    let mut h = Sha256::new();
    for part in [
        municipality,
        debtor_id,
        &amount.to_minor().to_string(),
        &date.to_string(),
    ] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    let digest = hex::encode(h.finalize());
    format!("RFD-{municipality}-{}", &digest[..16])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    fn state(credit: i64, pending: i64, held: bool) -> CreditState {
        CreditState {
            credit: Money::from_minor(credit),
            pending: Money::from_minor(pending),
            since: d("2027-01-10"),
            held,
        }
    }

    #[test]
    fn a_credit_balance_waits_for_the_next_claim_then_is_refunded_to_nemkonto() {
        let s = state(20_000, 0, false);
        assert_eq!(
            next_step(&s, d("2027-02-08"), 30, Country::Dk),
            RefundStep::Wait {
                until: d("2027-02-09")
            }
        );
        assert_eq!(
            next_step(&s, d("2027-02-09"), 30, Country::Dk),
            RefundStep::Refund(Money::from_minor(20_000))
        );
        assert_eq!(
            next_step(&s, d("2027-02-09"), 30, Country::Gl),
            RefundStep::Refund(Money::from_minor(20_000))
        );
    }

    #[test]
    fn a_held_debtor_a_pending_refund_and_norway_without_an_account_request_nothing() {
        let today = d("2027-06-01");
        assert_eq!(
            next_step(&state(20_000, 0, true), today, 30, Country::Dk),
            RefundStep::Held
        );
        assert_eq!(
            next_step(&state(20_000, 20_000, false), today, 30, Country::Dk),
            RefundStep::Nothing
        );
        assert_eq!(
            next_step(&state(20_000, 5_000, false), today, 30, Country::Dk),
            RefundStep::Refund(Money::from_minor(15_000))
        );
        assert_eq!(
            next_step(&state(20_000, 0, false), today, 30, Country::No),
            RefundStep::NeedsAccount
        );
    }

    #[test]
    fn the_refund_id_is_the_same_for_the_same_refund_and_differs_otherwise() {
        let a = refund_id("0746", "P-77", Money::from_minor(20_000), d("2027-02-09"));
        assert_eq!(
            a,
            refund_id("0746", "P-77", Money::from_minor(20_000), d("2027-02-09"))
        );
        assert!(a.starts_with("RFD-0746-"));
        assert_ne!(
            a,
            refund_id("0746", "P-78", Money::from_minor(20_000), d("2027-02-09"))
        );
        assert_ne!(
            a,
            refund_id("0746", "P-77", Money::from_minor(20_000), d("2027-02-10"))
        );
    }

    proptest! {
        /// Never more is requested than the credit not yet requested, and nothing while a
        /// claim may still use it.
        #[test]
        fn a_refund_never_exceeds_the_available_credit(
            credit in -10_000i64..1_000_000, pending in 0i64..1_000_000,
            age in 0u64..400, period in 0u32..366, held: bool,
        ) {
            let s = CreditState {
                credit: Money::from_minor(credit),
                pending: Money::from_minor(pending),
                since: d("2027-01-01"),
                held,
            };
            let today = d("2027-01-01") + Days::new(age);
            match next_step(&s, today, period, Country::Dk) {
                RefundStep::Refund(amount) => {
                    prop_assert!(amount.is_positive());
                    prop_assert!(amount.to_minor() <= credit - pending);
                    prop_assert!(age >= u64::from(period));
                    prop_assert!(!held);
                }
                RefundStep::Nothing => prop_assert!(credit - pending <= 0),
                _ => {}
            }
        }
    }
}
