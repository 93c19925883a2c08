//! The daily limitation watch: alert a caseworker before recoverable payments expire.
//!
//! Each business day the service asks, for every guarantee with recoverable payments and no
//! recovery raised yet, [`watch`]: which payments expire within the window (configurable,
//! default 60 days), and what is at risk ([`crate::domain::recovery::at_risk`]). A caseworker
//! can then raise the claim before the money is lost to limitation (forældelsesloven § 3).
//!
//! The window is counted in calendar days from the watch day, and it always reaches at least to
//! the day before the next business day: a deadline that falls after today but before the next
//! business day (a weekend, Easter) is reported today, because no later watch will run before
//! it passes. So **nothing recoverable expires without an alert on a business day on or before
//! its deadline, when the watch runs every business day** — whatever the window, even 0 days
//! (property-tested with the Danish calendar).
//!
//! A payment stays in the alert every day from the first day it enters the window until a
//! recovery is raised or it expires; sending the caseworker one message per payment (or per
//! day) is the service's choice.

use restance_kernel::{BusinessCalendar, BusinessDate};
use serde::{Deserialize, Serialize};

use crate::domain::guarantee::Guarantee;
use crate::domain::limitation::Limitation;
use crate::domain::recovery::{AtRisk, RecoverablePayment, at_risk};

/// The watch's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchConfig {
    /// Alert for payments whose deadline is within this many days (default 60).
    pub within_days: u32,
}

impl Default for WatchConfig {
    fn default() -> WatchConfig {
        WatchConfig { within_days: 60 }
    }
}

/// A caseworker alert: a guarantee's recoverable payments are about to expire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// The guarantee.
    pub guarantee_id: String,
    /// The earliest deadline among the expiring payments: raise the claim by then.
    pub first_deadline: BusinessDate,
    /// The expiring payments and the amount at risk.
    pub at_risk: AtRisk,
}

/// The last deadline the watch on `day` reports: `within_days` after it, or the day before the
/// next business day if that is later.
pub fn horizon(calendar: &BusinessCalendar, day: BusinessDate, within_days: u32) -> BusinessDate {
    let window = day.checked_add_days(i64::from(within_days)).unwrap_or(day);
    let before_next_business_day = calendar
        .next_business_day_after(day)
        .checked_add_days(-1)
        .unwrap_or(day);
    window.max(before_next_business_day)
}

/// The alert for `guarantee` on the watch day `day`, if any of its `payments` (those recoverable
/// from it and not yet claimed) expire within the window; the cap is the guarantee's amount on
/// `day`. `None` when nothing expires within the window, or when `recovery_raised`: the
/// guarantee's case has decided the amount, raised or released
/// ([`RecoveryCase::is_decided`](crate::domain::case::RecoveryCase::is_decided)).
pub fn watch(
    guarantee: &Guarantee,
    payments: &[RecoverablePayment],
    recovery_raised: bool,
    limitation: &Limitation,
    config: WatchConfig,
    day: BusinessDate,
) -> Option<Alert> {
    if recovery_raised {
        return None;
    }
    let until = horizon(limitation.calendar(), day, config.within_days);
    let at_risk = at_risk(guarantee.amount_on(day), payments, limitation, day, until);
    let first_deadline = at_risk.expiring.iter().map(|l| l.deadline.raise_by).min()?;
    Some(Alert {
        guarantee_id: guarantee.id().to_owned(),
        first_deadline,
        at_risk,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::guarantee::tests::{d, guarantee, kr};
    use crate::domain::limitation::tests::DK;
    use crate::domain::limitation::{DeadlineShift, LimitationRule};
    use crate::domain::recovery::tests::pay;
    use proptest::prelude::*;
    use restance_contracts::BenefitLaw;
    use restance_kernel::Money;
    use std::collections::BTreeMap;

    fn dk() -> Limitation {
        Limitation::danish(DK)
    }

    #[test]
    fn sixty_days_before_the_deadline_the_caseworker_is_alerted_with_the_amount_at_risk() {
        let g = guarantee();
        // B-1 paid Monday 1 March 2024 must be raised by Monday 1 March 2027.
        let payments = [
            pay("B-1", "2024-03-01", 7_500),
            pay("B-2", "2025-03-03", 2_000),
        ];
        let config = WatchConfig::default();
        // Wednesday 30 December 2026 looks 60 days ahead, to 28 February: not yet.
        assert_eq!(
            watch(&g, &payments, false, &dk(), config, d("2026-12-30")),
            None
        );
        // 31 December and 1 January are closed; Monday 4 January 2027 is the first alert.
        let alert = watch(&g, &payments, false, &dk(), config, d("2027-01-04")).expect("alert");
        assert_eq!(alert.guarantee_id, "G-1");
        assert_eq!(alert.first_deadline, d("2027-03-01"));
        assert_eq!(alert.at_risk.amount_at_risk, kr(7_500));
        assert_eq!(alert.at_risk.expiring.len(), 1);
        assert!(
            watch(&g, &payments, false, &dk(), config, d("2027-03-01")).is_some(),
            "still on the last day"
        );
        assert_eq!(
            watch(&g, &payments, false, &dk(), config, d("2027-03-02")),
            None,
            "expired: too late"
        );
    }

    #[test]
    fn no_alert_once_a_recovery_is_raised() {
        let g = guarantee();
        let payments = [pay("B-1", "2024-03-01", 7_500)];
        assert_eq!(
            watch(
                &g,
                &payments,
                true,
                &dk(),
                WatchConfig::default(),
                d("2027-02-01")
            ),
            None
        );
    }

    #[test]
    fn a_deadline_over_the_weekend_is_reported_on_friday_even_with_no_window() {
        // Calendar deadlines: paid Tuesday 2 June 2026 → Saturday 2 June 2029.
        let calendar_only = Limitation::new(
            DK,
            vec![LimitationRule {
                effective_from: d("2008-01-01"),
                years: 3,
                on_non_business_day: DeadlineShift::None,
            }],
        )
        .expect("valid");
        let g = guarantee();
        let payments = [pay("B-1", "2026-06-02", 1_000)];
        let zero = WatchConfig { within_days: 0 };
        assert_eq!(
            watch(&g, &payments, false, &calendar_only, zero, d("2029-05-31")),
            None
        );
        let alert =
            watch(&g, &payments, false, &calendar_only, zero, d("2029-06-01")).expect("alert");
        assert_eq!(alert.first_deadline, d("2029-06-02"));
        assert_eq!(horizon(&DK, d("2029-06-01"), 0), d("2029-06-03"));
        // Monday 4 June: grundlovsdag (Tuesday 5 June) is closed, so it looks to the 5th.
        assert_eq!(horizon(&DK, d("2029-06-04"), 0), d("2029-06-05"));
    }

    #[test]
    fn the_horizon_reaches_over_easter() {
        // Wednesday 24 March 2027; the next business day is Tuesday 30 March.
        assert_eq!(horizon(&DK, d("2027-03-24"), 0), d("2027-03-29"));
        assert_eq!(horizon(&DK, d("2027-03-24"), 3), d("2027-03-29"));
        assert_eq!(horizon(&DK, d("2027-03-24"), 10), d("2027-04-03"));
    }

    #[test]
    fn the_cap_of_the_day_sets_the_amount_at_risk() {
        let mut g = guarantee();
        g.apply(crate::domain::guarantee::Change::reduced(
            kr(5_000),
            d("2026-01-01"),
        ))
        .expect("valid");
        let payments = [
            pay("B-1", "2024-03-01", 7_500),
            pay("B-2", "2025-03-03", 6_000),
        ];
        let alert = watch(
            &g,
            &payments,
            false,
            &dk(),
            WatchConfig::default(),
            d("2027-02-01"),
        )
        .expect("alert");
        assert_eq!(alert.at_risk.expiring_total, kr(7_500));
        assert_eq!(
            alert.at_risk.amount_at_risk,
            Money::ZERO,
            "B-2 alone still fills the cap"
        );
    }

    fn business_days(from: BusinessDate, to: BusinessDate) -> impl Iterator<Item = BusinessDate> {
        let mut day = from;
        std::iter::from_fn(move || {
            while day <= to {
                let current = day;
                day = day.add_days(1);
                if DK.is_business_day(current) {
                    return Some(current);
                }
            }
            None
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn nothing_recoverable_expires_without_an_alert_on_a_business_day_before_its_deadline(
            specs in proptest::collection::vec((0i64..400, 1i64..1_000_000, 0u32..40), 1..8),
            // Small windows often: with them, a deadline on a weekend or at Easter is the hard case.
            within_days in prop_oneof![Just(0u32), 0u32..4, 0u32..90],
            shift_by_calendar_only in any::<bool>(),
            years in 1u32..4,
            cap in 1i64..2_000_000,
        ) {
            let limitation = Limitation::new(DK, vec![LimitationRule {
                effective_from: d("2008-01-01"),
                years,
                on_non_business_day: if shift_by_calendar_only { DeadlineShift::None } else { DeadlineShift::PreviousBusinessDay },
            }]).expect("valid");
            let g = Guarantee::register("G-1", crate::domain::guarantee::Registration {
                amount: Money::from_minor(cap),
                ..crate::domain::guarantee::tests::registration()
            }).expect("valid");
            let payments: Vec<RecoverablePayment> = specs
                .iter()
                .enumerate()
                .map(|(i, (offset, minor, _))| RecoverablePayment {
                    benefit_id: format!("B-{i}"),
                    law: BenefitLaw::Aktivloven,
                    paid_date: d("2024-06-01").add_days(*offset),
                    amount: Money::from_minor(*minor),
                })
                .collect();
            let config = WatchConfig { within_days };
            let first = payments.iter().map(|p| p.paid_date).min().expect("payments");
            let last = payments.iter().map(|p| limitation.deadline(p.paid_date).raise_by).max().expect("payments");
            // Every business day from the first payment to the last deadline, holidays skipped.
            let mut alerted: BTreeMap<String, Vec<BusinessDate>> = BTreeMap::new();
            for day in business_days(first, last) {
                if let Some(alert) = watch(&g, &payments, false, &limitation, config, day) {
                    prop_assert!(alert.first_deadline >= day);
                    for line in &alert.at_risk.expiring {
                        alerted.entry(line.benefit_id.clone()).or_default().push(day);
                    }
                }
            }
            for p in &payments {
                let deadline = limitation.deadline(p.paid_date).raise_by;
                let days = alerted.get(&p.benefit_id).cloned().unwrap_or_default();
                prop_assert!(!days.is_empty(), "{} expiring {} was never alerted", p.benefit_id, deadline);
                prop_assert!(days.iter().all(|b| p.paid_date <= *b && *b <= deadline));
                // The first alert comes as soon as the window reaches the deadline.
                let window_opens = DK.next_business_day_on_or_after(
                    deadline.add_days(-i64::from(within_days)).max(p.paid_date),
                );
                prop_assert!(days[0] <= window_opens, "{} first alerted {} (window opens {})", p.benefit_id, days[0], window_opens);
            }
        }
    }
}
