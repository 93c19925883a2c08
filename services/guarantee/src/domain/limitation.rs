//! Limitation per payment: until when a benefit paid can be recovered from a guarantee.
//!
//! The municipality's claim for each benefit payment is a claim of its own, and under
//! forældelsesloven § 3 (stk. 1) such a claim is time-barred three years after the day it
//! could first be demanded — for a benefit to be recovered, the day it was paid (seed 004: "højst
//! tre år til at inddrive ydelsen fra den dag, ydelsen er udbetalt"). Each payment therefore has
//! its own deadline; a claim raised later than that recovers nothing of it.
//!
//! The period is configuration with effective dates ([`LimitationRule`]): the rule in force on a
//! payment's *paid date* governs that payment, so a change in the law applies to payments made
//! after it and leaves earlier payments on their old deadline. The earliest rule also governs
//! payments made before its effective date, so every payment has a deadline.
//!
//! How the deadline is counted (decisions, for the municipality's legal department to confirm):
//!
//! - **From date to date.** A period of years counted from a day ends on the day with the same
//!   date that many years later: paid 1 March 2024, the period ends 1 March 2027, and a claim
//!   raised *on* that day is in time. Where that date does not exist (paid 29 February), it is
//!   the last day of the month (28 February) — the earlier of the two candidates, so the claim
//!   is never counted as in time a day too long.
//! - **Never later on a holiday.** Forældelsesloven has, as we read it, no rule that moves a
//!   period ending on a Saturday, Sunday or public holiday to the next business day, and whether
//!   a general principle of Danish law does so for limitation is uncertain. The claim must be
//!   raised *by* the deadline, so by default ([`DeadlineShift::PreviousBusinessDay`]) a period
//!   ending on a non-business day must be acted on by the last business day before it: a claim
//!   raised then is in time on every reading, and the municipality's letters and the bank work on
//!   business days anyway. A municipality that has confirmed the calendar date is enough can
//!   configure [`DeadlineShift::None`]. Moving the deadline *later* is deliberately not offered.

use chrono::Months;
use restance_kernel::{BusinessCalendar, BusinessDate};
use serde::{Deserialize, Serialize};

/// What happens when a period ends on a Saturday, Sunday or public holiday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineShift {
    /// The claim must be raised by the last business day before it (the default; see the module
    /// documentation for why).
    #[default]
    PreviousBusinessDay,
    /// The calendar date is the deadline, business day or not.
    None,
}

/// One limitation rule: from `effective_from`, payments can be recovered for `years` years.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitationRule {
    /// The first paid date the rule governs.
    pub effective_from: BusinessDate,
    /// The length of the period in years (forældelsesloven § 3: 3), at least 1.
    pub years: u32,
    /// What a period ending on a non-business day means.
    #[serde(default)]
    pub on_non_business_day: DeadlineShift,
}

/// Why a list of limitation rules was refused (all problems at once).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid limitation rules: {}", problems.join("; "))]
pub struct InvalidRules {
    /// One sentence per problem.
    pub problems: Vec<String>,
}

/// The deadline of one payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Deadline {
    /// The end of the period in calendar terms: the paid date plus the rule's years.
    pub period_ends: BusinessDate,
    /// The last day a claim raised recovers the payment: `period_ends`, or the business day
    /// before it when it is not a business day and the rule says so.
    pub raise_by: BusinessDate,
}

impl Deadline {
    /// Whether a claim raised on `date` is in time for the payment.
    pub fn is_open_on(&self, date: BusinessDate) -> bool {
        date <= self.raise_by
    }
}

/// A municipality's limitation: its rules and the business calendar they count in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limitation {
    calendar: BusinessCalendar,
    rules: Vec<LimitationRule>,
}

impl Limitation {
    /// The rules as configured, in any order; refused if empty, if two rules take effect the
    /// same day, or if a period is shorter than a year.
    pub fn new(
        calendar: BusinessCalendar,
        mut rules: Vec<LimitationRule>,
    ) -> Result<Limitation, InvalidRules> {
        let mut problems = Vec::new();
        if rules.is_empty() {
            problems.push("at least one rule is needed".to_owned());
        }
        rules.sort_by_key(|r| r.effective_from);
        for pair in rules.windows(2) {
            if pair[0].effective_from == pair[1].effective_from {
                problems.push(format!(
                    "two rules take effect on {}",
                    pair[0].effective_from
                ));
            }
        }
        for rule in &rules {
            if rule.years == 0 {
                problems.push(format!(
                    "the rule from {} has a period of 0 years",
                    rule.effective_from
                ));
            }
        }
        if problems.is_empty() {
            Ok(Limitation { calendar, rules })
        } else {
            Err(InvalidRules { problems })
        }
    }

    /// Forældelsesloven's 3 years, from the act's commencement on 1 January 2008 (and, as the
    /// earliest rule, for anything before), with the default [`DeadlineShift`].
    pub fn danish(calendar: BusinessCalendar) -> Limitation {
        Limitation {
            calendar,
            rules: vec![LimitationRule {
                effective_from: BusinessDate::new(2008, 1, 1)
                    .unwrap_or(BusinessDate::from_naive(chrono::NaiveDate::MIN)),
                years: 3,
                on_non_business_day: DeadlineShift::PreviousBusinessDay,
            }],
        }
    }

    /// The business calendar the deadlines are counted in.
    pub fn calendar(&self) -> &BusinessCalendar {
        &self.calendar
    }

    /// The rules, by effective date.
    pub fn rules(&self) -> &[LimitationRule] {
        &self.rules
    }

    /// The rule that governs a payment made on `paid`: the latest one in effect that day, or the
    /// earliest rule for a payment made before any took effect.
    pub fn rule_for(&self, paid: BusinessDate) -> LimitationRule {
        let in_effect = self.rules.partition_point(|r| r.effective_from <= paid);
        // `new` refuses an empty list, so index 0 exists.
        self.rules[in_effect.saturating_sub(1)]
    }

    /// The deadline of a payment made on `paid` (see the module documentation for the counting).
    pub fn deadline(&self, paid: BusinessDate) -> Deadline {
        let rule = self.rule_for(paid);
        let period_ends = rule
            .years
            .checked_mul(12)
            .and_then(|months| paid.as_naive().checked_add_months(Months::new(months)))
            .map_or(
                BusinessDate::from_naive(chrono::NaiveDate::MAX),
                BusinessDate::from_naive,
            );
        let raise_by = match rule.on_non_business_day {
            DeadlineShift::PreviousBusinessDay if !self.calendar.is_business_day(period_ends) => {
                self.calendar.previous_business_day(period_ends)
            }
            _ => period_ends,
        };
        Deadline {
            period_ends,
            raise_by,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;
    use restance_kernel::Country;

    fn d(s: &str) -> BusinessDate {
        s.parse().expect("test date")
    }

    pub(crate) const DK: BusinessCalendar = BusinessCalendar::new(Country::Dk);

    fn rule(from: &str, years: u32, shift: DeadlineShift) -> LimitationRule {
        LimitationRule {
            effective_from: d(from),
            years,
            on_non_business_day: shift,
        }
    }

    #[test]
    fn three_years_from_the_paid_date_to_the_same_date() {
        // Monday 1 March 2027 is a business day.
        let l = Limitation::danish(DK);
        let deadline = l.deadline(d("2024-03-01"));
        assert_eq!(deadline.period_ends, d("2027-03-01"));
        assert_eq!(deadline.raise_by, d("2027-03-01"));
        assert!(
            deadline.is_open_on(d("2027-03-01")),
            "on the deadline: in time"
        );
        assert!(!deadline.is_open_on(d("2027-03-02")));
    }

    #[test]
    fn a_payment_on_a_leap_day_expires_on_28_february() {
        // 29 February 2024 + 3 years: there is no 29 February 2027; Sunday 28 February → Friday 26.
        let l = Limitation::danish(DK);
        let deadline = l.deadline(d("2024-02-29"));
        assert_eq!(deadline.period_ends, d("2027-02-28"));
        assert_eq!(deadline.raise_by, d("2027-02-26"));
        let calendar_only =
            Limitation::new(DK, vec![rule("2008-01-01", 3, DeadlineShift::None)]).expect("valid");
        assert_eq!(
            calendar_only.deadline(d("2024-02-29")).raise_by,
            d("2027-02-28")
        );
        // Four years from a leap day lands on a leap day again.
        let four =
            Limitation::new(DK, vec![rule("2008-01-01", 4, DeadlineShift::None)]).expect("valid");
        assert_eq!(four.deadline(d("2024-02-29")).period_ends, d("2028-02-29"));
    }

    #[test]
    fn a_deadline_on_a_weekend_or_holiday_moves_to_the_business_day_before() {
        let l = Limitation::danish(DK);
        // Saturday 5 June 2027 (grundlovsdag too) → Friday 4 June.
        assert_eq!(l.deadline(d("2024-06-05")).raise_by, d("2027-06-04"));
        // Easter 2027: Maundy Thursday 25 March … Easter Monday 29 March → Wednesday 24 March.
        assert_eq!(l.deadline(d("2024-03-29")).raise_by, d("2027-03-24"));
        assert_eq!(l.deadline(d("2024-03-25")).raise_by, d("2027-03-24"));
        // Christmas 2026: Thursday 24 (juleaftensdag is a closing day) to Sunday 27 December →
        // Wednesday 23 December.
        assert_eq!(l.deadline(d("2023-12-27")).raise_by, d("2026-12-23"));
        // Friday 1 January 2027 and Thursday 31 December 2026 are closed → Wednesday 30 December.
        assert_eq!(l.deadline(d("2024-01-01")).raise_by, d("2026-12-30"));
    }

    #[test]
    fn the_rule_in_force_on_the_paid_date_applies() {
        let l = Limitation::new(
            DK,
            vec![
                rule("2030-01-01", 5, DeadlineShift::PreviousBusinessDay),
                rule("2008-01-01", 3, DeadlineShift::PreviousBusinessDay),
            ],
        )
        .expect("valid");
        assert_eq!(l.rule_for(d("2029-12-31")).years, 3);
        assert_eq!(l.rule_for(d("2030-01-01")).years, 5);
        assert_eq!(l.deadline(d("2029-12-31")).period_ends, d("2032-12-31"));
        assert_eq!(l.deadline(d("2030-01-02")).period_ends, d("2035-01-02"));
        assert_eq!(
            l.rule_for(d("2001-05-01")).years,
            3,
            "before every rule: the earliest"
        );
    }

    #[test]
    fn invalid_rules_are_refused_with_every_problem() {
        let err = Limitation::new(DK, vec![]).expect_err("empty");
        assert_eq!(err.problems, ["at least one rule is needed"]);
        let err = Limitation::new(
            DK,
            vec![
                rule("2008-01-01", 3, DeadlineShift::None),
                rule("2008-01-01", 0, DeadlineShift::None),
            ],
        )
        .expect_err("refused");
        assert_eq!(err.problems.len(), 2, "{err}");
        assert!(
            err.to_string()
                .contains("two rules take effect on 2008-01-01")
        );
    }

    proptest! {
        #[test]
        fn the_deadline_is_never_after_the_period_and_is_a_business_day(offset in 0i64..20_000) {
            let paid = d("2008-01-01").add_days(offset);
            let deadline = Limitation::danish(DK).deadline(paid);
            prop_assert!(deadline.raise_by <= deadline.period_ends);
            prop_assert!(DK.is_business_day(deadline.raise_by));
            // At most a few days earlier (the longest Danish run of closed days is Easter's five).
            prop_assert!(deadline.raise_by.days_until(deadline.period_ends) <= 5);
            let three_years = paid.add_months(36);
            prop_assert_eq!(deadline.period_ends, three_years);
        }

        #[test]
        fn a_later_payment_never_expires_earlier(offset in 0i64..20_000, later in 0i64..400) {
            let l = Limitation::danish(DK);
            let paid = d("2008-01-01").add_days(offset);
            prop_assert!(l.deadline(paid).raise_by <= l.deadline(paid.add_days(later)).raise_by);
        }
    }
}
