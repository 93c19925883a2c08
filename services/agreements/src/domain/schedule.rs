//! The instalment schedule of a payment plan: a pure function of the covered balance, the agreed
//! terms and the municipality's business calendar.
//!
//! Seeds 000 and 002: no fixed minimum amount and no fixed period — the terms start from the
//! citizen's situation. A caseworker gives exactly one of
//! - an instalment amount (the last instalment is what is left, at most that amount),
//! - a number of instalments (the balance split evenly in øre; the last absorbs the rounding),
//! - a budget (monthly income and expenses): the capacity to pay, converted to the frequency and
//!   rounded down to øre, is the instalment amount the caseworker confirms.
//!
//! Dates: a monthly plan keeps the first due date's day of the month (clamped to the month's
//! last day: 31 January, 28 February, 31 March); fortnightly and weekly plans step 14 and 7 days.
//! Each date is then moved to the next business day of the municipality's country.

use restance_kernel::{BusinessCalendar, BusinessDate, Money};
use serde::{Deserialize, Serialize};

/// The most instalments a plan may have (the bus contract's limit for `agreements.plan.created.v1`).
pub const MAX_INSTALMENTS: u32 = 600;

pub use restance_kernel::budget::{Budget, Frequency};

/// How the instalments are sized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sizing {
    /// A fixed instalment; the last one is what is left.
    Instalment(Money),
    /// This many instalments of (nearly) equal size.
    Count(u32),
    /// The budget's capacity per instalment.
    Budget(Budget),
}

/// The agreed terms of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terms {
    /// How the instalments are sized.
    pub sizing: Sizing,
    /// How often they fall due.
    pub frequency: Frequency,
    /// The first due date as agreed (moved to a business day in the schedule).
    pub first_due: BusinessDate,
}

/// One instalment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instalment {
    /// A business day.
    pub due_date: BusinessDate,
    /// Greater than zero.
    pub amount: Money,
}

/// Why no schedule can be made from these terms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// The covered claims have nothing open.
    #[error("the covered claims have no open balance")]
    NothingToPay,
    /// The instalment must be greater than zero.
    #[error("must be greater than zero")]
    InstalmentNotPositive,
    /// The number of instalments must be 1 or more.
    #[error("must be at least 1")]
    NoInstalments,
    /// The budget leaves nothing to pay with.
    #[error(
        "the budget leaves {capacity} per {frequency} instalment (income − expenses): nothing to pay a plan with; consider a deferral (POST /api/v1/deferrals) instead"
    )]
    NoCapacity {
        /// The capacity per instalment (zero or negative).
        capacity: Money,
        /// The frequency it was converted to.
        frequency: Frequency,
    },
    /// The instalment is so small that the plan would need too many.
    #[error(
        "{balance} in instalments of {instalment} would take {needed} instalments; at most {MAX_INSTALMENTS} are allowed (choose a larger instalment)"
    )]
    TooManyInstalments {
        /// The covered balance.
        balance: Money,
        /// The instalment.
        instalment: Money,
        /// How many it would take.
        needed: u64,
    },
    /// More instalments than øre to share, or above the limit.
    #[error(
        "{count} instalments cannot share {balance} (at most {MAX_INSTALMENTS}, each at least 0.01)"
    )]
    CountTooLarge {
        /// The covered balance.
        balance: Money,
        /// The requested count.
        count: u32,
    },
    /// A due date beyond the calendar's range.
    #[error("the due dates run beyond the calendar")]
    OutOfRange,
}

/// A plan's schedule: instalments in date order that add up exactly to the covered balance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// The instalments, in due-date order.
    pub instalments: Vec<Instalment>,
}

impl Schedule {
    /// The schedule for `balance` on `terms`, with due dates on `calendar`'s business days.
    ///
    /// Guarantees (property-tested): the amounts sum exactly to `balance`, every amount is
    /// greater than zero, every instalment but the last has the same amount, the dates are
    /// business days in non-decreasing order, none before `terms.first_due`.
    pub fn plan(
        balance: Money,
        terms: &Terms,
        calendar: &BusinessCalendar,
    ) -> Result<Schedule, ScheduleError> {
        if !balance.is_positive() {
            return Err(ScheduleError::NothingToPay);
        }
        let total = balance.to_minor();
        let (regular, count) = match terms.sizing {
            Sizing::Instalment(amount) => by_instalment(balance, amount)?,
            Sizing::Budget(budget) => {
                let capacity = budget
                    .capacity(terms.frequency)
                    .ok_or(ScheduleError::OutOfRange)?;
                if !capacity.is_positive() {
                    return Err(ScheduleError::NoCapacity {
                        capacity,
                        frequency: terms.frequency,
                    });
                }
                by_instalment(balance, capacity)?
            }
            Sizing::Count(0) => return Err(ScheduleError::NoInstalments),
            Sizing::Count(n) => {
                let regular = total / i64::from(n);
                if n > MAX_INSTALMENTS || regular == 0 {
                    return Err(ScheduleError::CountTooLarge { balance, count: n });
                }
                (regular, n)
            }
        };
        // Every instalment but the last is `regular`; the last takes what is left.
        let last = total - regular * (i64::from(count) - 1);
        let mut instalments = Vec::with_capacity(count as usize);
        for k in 0..count {
            let nominal = terms
                .frequency
                .nominal_date(terms.first_due, k)
                .ok_or(ScheduleError::OutOfRange)?;
            let amount = if k + 1 == count { last } else { regular };
            instalments.push(Instalment {
                due_date: calendar.next_business_day_on_or_after(nominal),
                amount: Money::from_minor(amount),
            });
        }
        Ok(Schedule { instalments })
    }

    /// The sum of the instalments.
    pub fn total(&self) -> Money {
        self.instalments.iter().fold(Money::ZERO, |sum, i| {
            sum.checked_add(i.amount).unwrap_or(sum)
        })
    }

    /// The first due date.
    pub fn first_due(&self) -> Option<BusinessDate> {
        self.instalments.first().map(|i| i.due_date)
    }
}

/// `(regular amount in øre, count)` for a fixed instalment.
fn by_instalment(balance: Money, instalment: Money) -> Result<(i64, u32), ScheduleError> {
    if !instalment.is_positive() {
        return Err(ScheduleError::InstalmentNotPositive);
    }
    let (b, a) = (
        i128::from(balance.to_minor()),
        i128::from(instalment.to_minor()),
    );
    let needed = (b + a - 1) / a;
    match u32::try_from(needed) {
        Ok(n) if n <= MAX_INSTALMENTS => Ok((instalment.to_minor().min(balance.to_minor()), n)),
        _ => Err(ScheduleError::TooManyInstalments {
            balance,
            instalment,
            needed: u64::try_from(needed).unwrap_or(u64::MAX),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use restance_kernel::Country;

    fn m(s: &str) -> Money {
        Money::parse(s).expect("amount")
    }

    fn d(s: &str) -> BusinessDate {
        s.parse().expect("date")
    }

    fn dk() -> BusinessCalendar {
        BusinessCalendar::new(Country::Dk)
    }

    fn terms(sizing: Sizing, frequency: Frequency, first: &str) -> Terms {
        Terms {
            sizing,
            frequency,
            first_due: d(first),
        }
    }

    #[test]
    fn a_fixed_instalment_leaves_the_rest_for_the_last() {
        let s = Schedule::plan(
            m("5534.50"),
            &terms(
                Sizing::Instalment(m("460.00")),
                Frequency::Monthly,
                "2027-01-04",
            ),
            &dk(),
        )
        .expect("schedule");
        assert_eq!(s.instalments.len(), 13);
        assert!(s.instalments[..12].iter().all(|i| i.amount == m("460.00")));
        assert_eq!(s.instalments[12].amount, m("14.50"));
        assert_eq!(s.total(), m("5534.50"));
    }

    #[test]
    fn a_count_splits_evenly_and_the_last_absorbs_the_rounding() {
        let s = Schedule::plan(
            m("1000.00"),
            &terms(Sizing::Count(3), Frequency::Monthly, "2027-01-04"),
            &dk(),
        )
        .expect("schedule");
        let amounts: Vec<String> = s.instalments.iter().map(|i| i.amount.to_string()).collect();
        assert_eq!(amounts, ["333.33", "333.33", "333.34"]);
    }

    #[test]
    fn monthly_keeps_the_day_of_month_clamped_to_the_month_end_on_business_days() {
        let s = Schedule::plan(
            m("400.00"),
            &terms(Sizing::Count(4), Frequency::Monthly, "2027-01-29"),
            &dk(),
        )
        .expect("schedule");
        let dates: Vec<String> = s
            .instalments
            .iter()
            .map(|i| i.due_date.to_string())
            .collect();
        // 29 Jan (Fri); 28 Feb is a Sunday → 1 Mar; 29 Mar 2027 is Easter Monday's week:
        // Maundy Thursday 25 Mar, Good Friday 26 Mar, Easter Monday 29 Mar → 30 Mar; 29 Apr (Thu).
        assert_eq!(
            dates,
            ["2027-01-29", "2027-03-01", "2027-03-30", "2027-04-29"]
        );
    }

    #[test]
    fn weekly_and_fortnightly_step_seven_and_fourteen_days() {
        let weekly = Schedule::plan(
            m("300.00"),
            &terms(
                Sizing::Instalment(m("100.00")),
                Frequency::Weekly,
                "2027-01-04",
            ),
            &dk(),
        )
        .expect("weekly");
        let dates: Vec<String> = weekly
            .instalments
            .iter()
            .map(|i| i.due_date.to_string())
            .collect();
        assert_eq!(dates, ["2027-01-04", "2027-01-11", "2027-01-18"]);
        let fortnightly = Schedule::plan(
            m("300.00"),
            &terms(Sizing::Count(2), Frequency::Fortnightly, "2027-01-04"),
            &dk(),
        )
        .expect("fortnightly");
        assert_eq!(fortnightly.instalments[1].due_date, d("2027-01-18"));
    }

    #[test]
    fn a_budget_gives_the_capacity_converted_to_the_frequency_and_rounded_down() {
        let budget = Budget {
            monthly_income: m("18000.00"),
            monthly_expenses: m("17000.00"),
        };
        assert_eq!(budget.capacity(Frequency::Monthly), Some(m("1000.00")));
        assert_eq!(budget.capacity(Frequency::Fortnightly), Some(m("461.53")));
        assert_eq!(budget.capacity(Frequency::Weekly), Some(m("230.76")));
        let s = Schedule::plan(
            m("2000.00"),
            &terms(Sizing::Budget(budget), Frequency::Weekly, "2027-01-04"),
            &dk(),
        )
        .expect("schedule");
        assert_eq!(s.instalments[0].amount, m("230.76"));
        assert_eq!(s.instalments.len(), 9);
    }

    #[test]
    fn a_budget_without_room_suggests_a_deferral() {
        let budget = Budget {
            monthly_income: m("12000.00"),
            monthly_expenses: m("12500.00"),
        };
        let err = Schedule::plan(
            m("2000.00"),
            &terms(Sizing::Budget(budget), Frequency::Monthly, "2027-01-04"),
            &dk(),
        )
        .expect_err("no capacity");
        assert!(err.to_string().contains("deferral"), "{err}");
    }

    #[test]
    fn refusals_name_the_problem() {
        let t = |sizing| terms(sizing, Frequency::Monthly, "2027-01-04");
        assert_eq!(
            Schedule::plan(Money::ZERO, &t(Sizing::Count(2)), &dk()),
            Err(ScheduleError::NothingToPay)
        );
        assert_eq!(
            Schedule::plan(m("10.00"), &t(Sizing::Instalment(Money::ZERO)), &dk()),
            Err(ScheduleError::InstalmentNotPositive)
        );
        assert!(matches!(
            Schedule::plan(m("10000.00"), &t(Sizing::Instalment(m("1.00"))), &dk()),
            Err(ScheduleError::TooManyInstalments { needed: 10000, .. })
        ));
        assert!(matches!(
            Schedule::plan(m("0.05"), &t(Sizing::Count(6)), &dk()),
            Err(ScheduleError::CountTooLarge { .. })
        ));
        assert_eq!(
            Schedule::plan(m("10.00"), &t(Sizing::Count(0)), &dk()),
            Err(ScheduleError::NoInstalments)
        );
    }

    #[test]
    fn an_instalment_above_the_balance_is_one_instalment_of_the_balance() {
        let s = Schedule::plan(
            m("99.95"),
            &terms(
                Sizing::Instalment(m("500.00")),
                Frequency::Monthly,
                "2027-01-04",
            ),
            &dk(),
        )
        .expect("schedule");
        assert_eq!(s.instalments.len(), 1);
        assert_eq!(s.instalments[0].amount, m("99.95"));
    }
}
