//! How much is recovered when a claim is raised, and from which payments.
//!
//! A claim raised on date R recovers the payments whose limitation has not run out on R
//! ([`crate::domain::limitation`]), but never more than the guarantee's amount on R
//! ([`Guarantee::amount_on`]: a reduced guarantee caps the recovery). Zero to recover means the
//! guarantee is released.
//!
//! **The breakdown** lists every payment made on or before R, oldest first, with the part of it
//! the claim recovers. When the cap bites, the oldest payments are covered first: they are the
//! ones that expire first, so raising the claim for them is what saves money from limitation,
//! and a payment left uncovered is a later one that would still be in time for a second claim
//! if the guarantee were ever topped up. Payments the same day go by benefit id, so the
//! breakdown is deterministic. The parts always sum to the total.
//!
//! **At risk** ([`at_risk`]) is what the daily watch reports: the payments that will expire by a
//! horizon date, their sum, and the amount by which the recovery would actually shrink if they
//! expired — which is less than their sum when the cap would hold the claim down anyway.
//!
//! Money is whole øre throughout (no floats; sums in `i128`, so nothing overflows). A payment of
//! zero or less recovers nothing: the contract refuses such payments, and this keeps the sums
//! honest if one is ever stored.

use restance_contracts::BenefitLaw;
use restance_kernel::{BusinessDate, Money};
use serde::{Deserialize, Serialize};

use crate::domain::guarantee::Guarantee;
use crate::domain::limitation::{Deadline, Limitation};

/// A benefit payment that [`crate::domain::benefit::classify`] found recoverable from the
/// guarantee, and that no earlier claim has recovered yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoverablePayment {
    /// The benefits system's id for the payment.
    pub benefit_id: String,
    /// The act it was paid under (the claim's legal basis).
    pub law: BenefitLaw,
    /// The day it was paid; its limitation runs from it.
    pub paid_date: BusinessDate,
    /// The amount paid.
    pub amount: Money,
}

/// One payment in a recovery's breakdown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentLine {
    /// The benefits system's id for the payment.
    pub benefit_id: String,
    /// The act it was paid under.
    pub law: BenefitLaw,
    /// The day it was paid.
    pub paid_date: BusinessDate,
    /// The amount paid.
    pub amount: Money,
    /// Its limitation deadline.
    pub deadline: Deadline,
    /// Whether its limitation had run out on the day of the recovery.
    pub expired: bool,
    /// The part the claim recovers: zero if expired or above the cap, at most `amount`.
    pub recovered: Money,
}

impl PaymentLine {
    /// The part that is in time but above the cap (not recovered by this claim).
    pub fn above_cap(&self) -> Money {
        if self.expired {
            Money::ZERO
        } else {
            Money::from_minor(positive_minor(self.amount) - self.recovered.to_minor())
        }
    }
}

/// The recoverable amount on a date, with its breakdown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recovery {
    /// The day the claim is (to be) raised.
    pub raised_on: BusinessDate,
    /// The most that can be recovered: the guarantee's amount that day (less anything an
    /// earlier claim took, see [`recoverable_with_cap`]).
    pub cap: Money,
    /// The claim: the smaller of `cap` and `in_time`. Zero means release.
    pub total: Money,
    /// The sum of the payments still in time.
    pub in_time: Money,
    /// The sum of the payments whose limitation has run out (lost, unless raised earlier).
    pub expired: Money,
    /// Every payment made on or before `raised_on`, oldest first.
    pub lines: Vec<PaymentLine>,
}

impl Recovery {
    /// True when there is nothing to recover: the guarantee is released.
    pub fn is_release(&self) -> bool {
        self.total.is_zero()
    }

    /// The part of the payments in time that the cap keeps out of the claim.
    pub fn above_cap(&self) -> Money {
        Money::from_minor(self.in_time.to_minor() - self.total.to_minor())
    }

    /// The payments the claim recovers something of, oldest first.
    pub fn shares(&self) -> impl Iterator<Item = &PaymentLine> {
        self.lines.iter().filter(|l| l.recovered.is_positive())
    }

    /// The period the claim covers: the first and last paid date it recovers something of.
    pub fn period(&self) -> Option<(BusinessDate, BusinessDate)> {
        let first = self.shares().map(|l| l.paid_date).min()?;
        let last = self.shares().map(|l| l.paid_date).max()?;
        Some((first, last))
    }

    /// The acts the claim recovers benefits under (its legal basis), each once, aktivloven first.
    pub fn laws(&self) -> Vec<BenefitLaw> {
        [
            BenefitLaw::Aktivloven,
            BenefitLaw::Integrationsloven,
            BenefitLaw::Other,
        ]
        .into_iter()
        .filter(|law| self.shares().any(|l| l.law == *law))
        .collect()
    }
}

/// What a claim raised on `raised_on` recovers from `guarantee`: the payments in time on that
/// day, capped at the guarantee's amount that day.
pub fn recoverable(
    guarantee: &Guarantee,
    payments: &[RecoverablePayment],
    limitation: &Limitation,
    raised_on: BusinessDate,
) -> Recovery {
    recoverable_with_cap(
        guarantee.amount_on(raised_on),
        payments,
        limitation,
        raised_on,
    )
}

/// [`recoverable`] with the cap given: for a second claim on the same guarantee, pass its amount
/// less what earlier claims raised. A negative cap counts as zero.
pub fn recoverable_with_cap(
    cap: Money,
    payments: &[RecoverablePayment],
    limitation: &Limitation,
    raised_on: BusinessDate,
) -> Recovery {
    let cap_minor = i128::from(cap.to_minor().max(0));
    let mut ordered: Vec<&RecoverablePayment> = payments
        .iter()
        .filter(|p| p.paid_date <= raised_on)
        .collect();
    ordered.sort_by(|a, b| (a.paid_date, &a.benefit_id).cmp(&(b.paid_date, &b.benefit_id)));

    let mut left = cap_minor;
    let mut in_time: i128 = 0;
    let mut expired: i128 = 0;
    let mut lines = Vec::with_capacity(ordered.len());
    for p in ordered {
        let deadline = limitation.deadline(p.paid_date);
        let is_expired = !deadline.is_open_on(raised_on);
        let amount = i128::from(positive_minor(p.amount));
        let recovered = if is_expired {
            expired += amount;
            0
        } else {
            in_time += amount;
            let part = amount.min(left);
            left -= part;
            part
        };
        lines.push(PaymentLine {
            benefit_id: p.benefit_id.clone(),
            law: p.law,
            paid_date: p.paid_date,
            amount: p.amount,
            deadline,
            expired: is_expired,
            recovered: money(recovered),
        });
    }
    Recovery {
        raised_on,
        cap: money(cap_minor),
        total: money(cap_minor - left),
        in_time: money(in_time),
        expired: money(expired),
        lines,
    }
}

/// The payments that would be lost to limitation by a horizon date, for the daily watch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AtRisk {
    /// The day the watch looked.
    pub on: BusinessDate,
    /// The payments in time on `on` whose deadline is on or before the horizon, oldest first
    /// (with `recovered` as a claim raised on `on` would recover them).
    pub expiring: Vec<PaymentLine>,
    /// The sum of those payments.
    pub expiring_total: Money,
    /// How much less a claim would recover once they have expired (same cap): what waiting
    /// costs. Zero when the cap keeps the claim at the same amount anyway.
    pub amount_at_risk: Money,
}

/// What expires by `horizon` among the payments in time on `on`, and what that would cost a
/// claim capped at `cap` (see [`AtRisk`]).
pub fn at_risk(
    cap: Money,
    payments: &[RecoverablePayment],
    limitation: &Limitation,
    on: BusinessDate,
    horizon: BusinessDate,
) -> AtRisk {
    let now = recoverable_with_cap(cap, payments, limitation, on);
    let (expiring, staying): (Vec<PaymentLine>, Vec<PaymentLine>) = now
        .lines
        .into_iter()
        .filter(|l| !l.expired && l.amount.is_positive())
        .partition(|l| l.deadline.raise_by <= horizon);
    let cap_minor = i128::from(cap.to_minor().max(0));
    let staying_total: i128 = staying
        .iter()
        .map(|l| i128::from(positive_minor(l.amount)))
        .sum();
    let expiring_total: i128 = expiring
        .iter()
        .map(|l| i128::from(positive_minor(l.amount)))
        .sum();
    let later = staying_total.min(cap_minor);
    AtRisk {
        on,
        expiring,
        expiring_total: money(expiring_total),
        amount_at_risk: money(i128::from(now.total.to_minor()) - later),
    }
}

/// The amount in øre, or 0 for an amount of zero or less.
fn positive_minor(amount: Money) -> i64 {
    amount.to_minor().max(0)
}

/// An øre sum as money; sums of `i64` amounts that exceed `i64` saturate (far beyond any
/// guarantee — the recovered parts are bounded by the cap, an `i64`).
fn money(minor: i128) -> Money {
    Money::from_minor(i64::try_from(minor).unwrap_or(if minor < 0 { i64::MIN } else { i64::MAX }))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::guarantee::Change;
    use crate::domain::guarantee::tests::{d, guarantee, kr};
    use crate::domain::limitation::tests::DK;
    use proptest::prelude::*;

    pub(crate) fn pay(id: &str, paid: &str, kroner: i64) -> RecoverablePayment {
        RecoverablePayment {
            benefit_id: id.into(),
            law: BenefitLaw::Aktivloven,
            paid_date: d(paid),
            amount: kr(kroner),
        }
    }

    fn dk() -> Limitation {
        Limitation::danish(DK)
    }

    #[test]
    fn the_payments_in_time_are_recovered_and_the_expired_one_is_lost() {
        // The system test: three benefits, one older than 3 years at raise time.
        let g = guarantee();
        let payments = [
            pay("B-1", "2024-02-01", 10_000),
            pay("B-2", "2025-06-02", 12_000),
            pay("B-3", "2026-01-05", 8_000),
        ];
        let r = recoverable(&g, &payments, &dk(), d("2027-03-01"));
        assert_eq!(r.total, kr(20_000));
        assert_eq!(r.in_time, kr(20_000));
        assert_eq!(r.expired, kr(10_000));
        assert_eq!(r.cap, kr(120_000));
        assert_eq!(
            r.shares()
                .map(|l| l.benefit_id.as_str())
                .collect::<Vec<_>>(),
            ["B-2", "B-3"]
        );
        assert!(r.lines[0].expired);
        assert_eq!(r.period(), Some((d("2025-06-02"), d("2026-01-05"))));
        assert_eq!(r.laws(), [BenefitLaw::Aktivloven]);
        assert!(!r.is_release());
    }

    #[test]
    fn a_payment_is_recovered_on_its_deadline_and_lost_the_day_after() {
        let g = guarantee();
        // Paid Monday 1 March 2027 − 3 years; the deadline is Monday 1 March 2027.
        let payments = [pay("B-1", "2024-03-01", 5_000)];
        assert_eq!(
            recoverable(&g, &payments, &dk(), d("2027-03-01")).total,
            kr(5_000)
        );
        let after = recoverable(&g, &payments, &dk(), d("2027-03-02"));
        assert!(after.is_release());
        assert_eq!(after.expired, kr(5_000));
    }

    #[test]
    fn a_leap_day_payment_must_be_raised_by_friday_26_february_2027() {
        let g = guarantee();
        let payments = [pay("B-1", "2024-02-29", 5_000)];
        assert_eq!(
            recoverable(&g, &payments, &dk(), d("2027-02-26")).total,
            kr(5_000)
        );
        assert!(recoverable(&g, &payments, &dk(), d("2027-02-27")).is_release());
    }

    #[test]
    fn a_reduced_amount_below_the_sum_caps_the_claim_oldest_payments_first() {
        let mut g = guarantee();
        g.apply(Change::reduced(kr(25_000), d("2026-01-01")))
            .expect("valid");
        let payments = [
            pay("B-3", "2026-02-02", 10_000),
            pay("B-1", "2025-02-03", 10_000),
            pay("B-2", "2025-08-01", 10_000),
        ];
        let r = recoverable(&g, &payments, &dk(), d("2026-06-01"));
        assert_eq!(r.cap, kr(25_000));
        assert_eq!(r.total, kr(25_000));
        assert_eq!(r.above_cap(), kr(5_000));
        assert_eq!(
            r.lines
                .iter()
                .map(|l| (l.benefit_id.as_str(), l.recovered))
                .collect::<Vec<_>>(),
            [("B-1", kr(10_000)), ("B-2", kr(10_000)), ("B-3", kr(5_000))]
        );
        assert_eq!(r.lines[2].above_cap(), kr(5_000));
        assert_eq!(r.period(), Some((d("2025-02-03"), d("2026-02-02"))));
    }

    #[test]
    fn a_reduction_effective_after_the_raise_does_not_change_that_claim() {
        let mut g = guarantee();
        let payments = [pay("B-1", "2025-02-03", 50_000)];
        let before = recoverable(&g, &payments, &dk(), d("2026-06-01"));
        g.apply(Change::reduced(kr(30_000), d("2026-07-01")))
            .expect("valid");
        assert_eq!(
            recoverable(&g, &payments, &dk(), d("2026-06-01")),
            before,
            "the claim of 1 June stands"
        );
        assert_eq!(
            recoverable(&g, &payments, &dk(), d("2026-07-01")).total,
            kr(30_000)
        );
    }

    #[test]
    fn nothing_to_recover_is_a_release() {
        let r = recoverable(&guarantee(), &[], &dk(), d("2026-06-01"));
        assert!(r.is_release());
        assert_eq!(r.period(), None);
        assert!(r.laws().is_empty());
        assert!(r.lines.is_empty());
    }

    #[test]
    fn payments_after_the_raise_date_and_non_positive_amounts_recover_nothing() {
        let mut odd = pay("B-0", "2025-01-02", 0);
        odd.amount = kr(-100);
        let payments = [odd, pay("B-9", "2026-07-01", 1_000)];
        let r = recoverable(&guarantee(), &payments, &dk(), d("2026-06-01"));
        assert!(r.is_release());
        assert_eq!(r.lines.len(), 1, "the later payment is not part of it");
        assert_eq!(r.lines[0].above_cap(), Money::ZERO);
    }

    #[test]
    fn the_same_day_goes_by_benefit_id_and_laws_are_listed_once() {
        let mut b = pay("B-b", "2025-03-03", 600);
        b.law = BenefitLaw::Integrationsloven;
        let payments = [
            b,
            pay("B-a", "2025-03-03", 600),
            pay("B-c", "2025-03-03", 600),
        ];
        let r = recoverable_with_cap(kr(1_000), &payments, &dk(), d("2026-01-05"));
        assert_eq!(
            r.lines
                .iter()
                .map(|l| (l.benefit_id.as_str(), l.recovered))
                .collect::<Vec<_>>(),
            [("B-a", kr(600)), ("B-b", kr(400)), ("B-c", Money::ZERO)]
        );
        assert_eq!(
            r.laws(),
            [BenefitLaw::Aktivloven, BenefitLaw::Integrationsloven]
        );
        let none = recoverable_with_cap(kr(-5), &payments, &dk(), d("2026-01-05"));
        assert!(none.is_release());
        assert_eq!(none.cap, Money::ZERO);
    }

    #[test]
    fn the_amount_at_risk_is_what_the_claim_would_lose() {
        let payments = [
            pay("B-1", "2023-08-01", 10_000), // 1 August 2026 is a Saturday: by Friday 31 July
            pay("B-2", "2025-02-03", 10_000),
        ];
        let on = d("2026-06-15");
        let horizon = on.add_days(60);
        // No cap to speak of: all of B-1 is lost if it expires.
        let r = at_risk(kr(120_000), &payments, &dk(), on, horizon);
        assert_eq!(
            r.expiring
                .iter()
                .map(|l| l.benefit_id.as_str())
                .collect::<Vec<_>>(),
            ["B-1"]
        );
        assert_eq!(r.expiring_total, kr(10_000));
        assert_eq!(r.amount_at_risk, kr(10_000));
        // A cap of 15,000: the claim drops from 15,000 to 10,000 — 5,000 at risk.
        let r = at_risk(kr(15_000), &payments, &dk(), on, horizon);
        assert_eq!(r.amount_at_risk, kr(5_000));
        // A cap of 8,000: the claim stays at 8,000 — nothing at risk, but B-1 still expires.
        let r = at_risk(kr(8_000), &payments, &dk(), on, horizon);
        assert_eq!(r.amount_at_risk, Money::ZERO);
        assert_eq!(r.expiring_total, kr(10_000));
        // Nothing expires within 30 days.
        let r = at_risk(kr(120_000), &payments, &dk(), on, on.add_days(30));
        assert!(r.expiring.is_empty());
        assert_eq!(r.amount_at_risk, Money::ZERO);
    }

    pub(crate) fn arb_payments() -> impl Strategy<Value = Vec<RecoverablePayment>> {
        proptest::collection::vec((0i64..2_000, -100i64..5_000_000, 0u8..3, 0u32..50), 0..15)
            .prop_map(|specs| {
                specs
                    .into_iter()
                    .map(|(offset, minor, law, id)| RecoverablePayment {
                        benefit_id: format!("B-{id:02}"),
                        law: match law {
                            0 => BenefitLaw::Aktivloven,
                            1 => BenefitLaw::Integrationsloven,
                            _ => BenefitLaw::Other,
                        },
                        paid_date: d("2023-01-02").add_days(offset),
                        amount: Money::from_minor(minor),
                    })
                    .collect()
            })
    }

    proptest! {
        #[test]
        fn the_claim_never_exceeds_the_cap_nor_the_payments_in_time(
            payments in arb_payments(),
            cap in -100i64..20_000_000,
            raised in 0i64..2_500,
        ) {
            let on = d("2023-01-02").add_days(raised);
            let l = dk();
            let r = recoverable_with_cap(Money::from_minor(cap), &payments, &l, on);
            let in_time: i64 = payments
                .iter()
                .filter(|p| p.paid_date <= on && l.deadline(p.paid_date).is_open_on(on))
                .map(|p| p.amount.to_minor().max(0))
                .sum();
            prop_assert!(r.total <= r.cap);
            prop_assert!(r.total.to_minor() <= in_time);
            prop_assert!(!r.total.is_negative());
            prop_assert_eq!(r.total.to_minor(), in_time.min(cap.max(0)));
            prop_assert_eq!(r.in_time.to_minor(), in_time);
            prop_assert_eq!(r.is_release(), in_time == 0 || cap <= 0);
        }

        #[test]
        fn a_guarantees_reductions_cap_the_claim_on_the_day_it_is_raised(
            changes in proptest::collection::vec(crate::domain::guarantee::tests::arb_change(), 0..8),
            payments in arb_payments(),
            raised in 0i64..2_500,
        ) {
            let g = Guarantee::with_changes("G-1", crate::domain::guarantee::tests::registration(), changes)
                .expect("valid");
            let on = d("2023-01-02").add_days(raised);
            let r = recoverable(&g, &payments, &dk(), on);
            prop_assert_eq!(r.cap, g.amount_on(on));
            prop_assert!(r.total <= g.amount_on(on));
            prop_assert!(r.total <= r.in_time);
            prop_assert_eq!(r.total + r.above_cap(), r.in_time);
        }

        #[test]
        fn the_breakdown_sums_to_the_total_oldest_first(
            payments in arb_payments(),
            cap in 0i64..20_000_000,
            raised in 0i64..2_500,
        ) {
            let on = d("2023-01-02").add_days(raised);
            let r = recoverable_with_cap(Money::from_minor(cap), &payments, &dk(), on);
            let parts: i64 = r.lines.iter().map(|l| l.recovered.to_minor()).sum();
            prop_assert_eq!(parts, r.total.to_minor());
            for (i, line) in r.lines.iter().enumerate() {
                prop_assert!(!line.recovered.is_negative());
                prop_assert!(line.recovered.to_minor() <= line.amount.to_minor().max(0));
                prop_assert!(!line.expired || line.recovered.is_zero());
                prop_assert!(line.paid_date <= on);
                // A payment gets something only if every older one in time is fully covered.
                if line.recovered.is_positive() {
                    for older in r.lines[..i].iter().filter(|o| !o.expired) {
                        prop_assert_eq!(older.recovered.to_minor(), older.amount.to_minor().max(0));
                    }
                }
            }
            prop_assert!(r.lines.windows(2).all(|w| (w[0].paid_date, &w[0].benefit_id) <= (w[1].paid_date, &w[1].benefit_id)));
            let expired: i64 = r.lines.iter().filter(|l| l.expired).map(|l| l.amount.to_minor().max(0)).sum();
            prop_assert_eq!(expired, r.expired.to_minor());
        }

        #[test]
        fn the_amount_at_risk_is_the_drop_of_the_claim(
            payments in arb_payments(),
            cap in 0i64..20_000_000,
            raised in 0i64..2_500,
            window in 0i64..120,
        ) {
            let l = dk();
            let on = d("2023-01-02").add_days(raised);
            let horizon = on.add_days(window);
            let r = at_risk(Money::from_minor(cap), &payments, &l, on, horizon);
            let now = recoverable_with_cap(Money::from_minor(cap), &payments, &l, on);
            // The claim on the day after the horizon, for the payments made by `on`.
            let known: Vec<RecoverablePayment> = payments.iter().filter(|p| p.paid_date <= on).cloned().collect();
            let later = recoverable_with_cap(Money::from_minor(cap), &known, &l, horizon.add_days(1));
            prop_assert_eq!(r.amount_at_risk, Money::from_minor(now.total.to_minor() - later.total.to_minor()));
            prop_assert!(r.amount_at_risk <= r.expiring_total);
            prop_assert!(!r.amount_at_risk.is_negative());
        }
    }
}
