//! Property tests of the instalment schedule and the plan tracking (DESIGN.md, "Tests": property
//! tests for schedules). For any balance, terms and calendar: the instalments sum exactly to the
//! balance, every one is positive, all but the last are equal and the last absorbs the rounding,
//! the dates are business days in order from the first due date on, and a monthly plan keeps its
//! day of the month.

use std::collections::BTreeSet;

use proptest::prelude::*;
use restance_agreements::domain::{
    Budget, Frequency, InstalmentStatus, MAX_INSTALMENTS, PlanState, Schedule, ScheduleError,
    Sizing, Terms, TrackingRules, assess, progress,
};
use restance_kernel::{BusinessCalendar, BusinessDate, Country, Money};

fn calendar() -> impl Strategy<Value = BusinessCalendar> {
    prop_oneof![
        Just(BusinessCalendar::new(Country::Dk)),
        Just(BusinessCalendar::new(Country::Gl)),
        Just(BusinessCalendar::new(Country::No)),
    ]
}

fn frequency() -> impl Strategy<Value = Frequency> {
    prop_oneof![
        Just(Frequency::Monthly),
        Just(Frequency::Fortnightly),
        Just(Frequency::Weekly),
    ]
}

fn first_due() -> impl Strategy<Value = BusinessDate> {
    (0i64..3650).prop_map(|d| BusinessDate::new(2026, 1, 1).expect("date").add_days(d))
}

fn sizing() -> impl Strategy<Value = Sizing> {
    prop_oneof![
        (1i64..10_000_000).prop_map(|m| Sizing::Instalment(Money::from_minor(m))),
        (1u32..=MAX_INSTALMENTS).prop_map(Sizing::Count),
        (0i64..5_000_000, 0i64..5_000_000).prop_map(|(i, e)| Sizing::Budget(Budget {
            monthly_income: Money::from_minor(i),
            monthly_expenses: Money::from_minor(e),
        })),
    ]
}

fn sum(amounts: impl Iterator<Item = Money>) -> Money {
    amounts.fold(Money::ZERO, |a, b| a + b)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn a_schedule_adds_up_to_the_balance_on_business_days(
        balance in 1i64..10_000_000_000,
        sizing in sizing(),
        frequency in frequency(),
        first in first_due(),
        calendar in calendar(),
    ) {
        let balance = Money::from_minor(balance);
        let terms = Terms { sizing, frequency, first_due: first };
        let schedule = match Schedule::plan(balance, &terms, &calendar) {
            Ok(s) => s,
            Err(ScheduleError::TooManyInstalments { needed, .. }) => {
                prop_assert!(needed > u64::from(MAX_INSTALMENTS));
                return Ok(());
            }
            Err(ScheduleError::CountTooLarge { count, .. }) => {
                prop_assert!(i64::from(count) > balance.to_minor());
                return Ok(());
            }
            Err(ScheduleError::NoCapacity { capacity, .. }) => {
                prop_assert!(!capacity.is_positive());
                return Ok(());
            }
            Err(other) => return Err(TestCaseError::fail(format!("unexpected {other}"))),
        };
        let i = &schedule.instalments;
        prop_assert!(!i.is_empty() && i.len() <= MAX_INSTALMENTS as usize);
        prop_assert_eq!(sum(i.iter().map(|x| x.amount)), balance);
        prop_assert!(i.iter().all(|x| x.amount.is_positive()));
        let regular = i[0].amount;
        prop_assert!(i[..i.len() - 1].iter().all(|x| x.amount == regular));
        let last = i[i.len() - 1].amount;
        match sizing {
            Sizing::Count(n) => {
                prop_assert_eq!(i.len(), n as usize);
                prop_assert!(last >= regular);
                prop_assert!((last - regular).to_minor() < i64::from(n), "the last absorbs less than one øre per instalment");
            }
            Sizing::Instalment(a) => {
                prop_assert!(last <= a.min(balance));
                if i.len() > 1 { prop_assert_eq!(regular, a); }
            }
            Sizing::Budget(b) => {
                let capacity = b.capacity(frequency).expect("capacity");
                prop_assert!(regular <= capacity && last <= capacity);
            }
        }
        prop_assert!(i[0].due_date >= first);
        for (k, x) in i.iter().enumerate() {
            prop_assert!(calendar.is_business_day(x.due_date), "{} is not a business day", x.due_date);
            let nominal = frequency.nominal_date(first, k as u32).expect("nominal");
            prop_assert_eq!(x.due_date, calendar.next_business_day_on_or_after(nominal));
            if frequency == Frequency::Monthly {
                let expected_day = first.day().min(nominal.last_of_month().day());
                prop_assert_eq!(nominal.day(), expected_day, "monthly keeps the day of month");
            }
        }
        prop_assert!(i.windows(2).all(|w| w[0].due_date <= w[1].due_date), "in date order");
    }

    #[test]
    fn tracking_never_reminds_twice_and_defaults_only_after_enough_misses(
        count in 1u32..24,
        paid_share in 0i64..=100,
        day_offset in 0i64..800,
        grace in 0u32..15,
        misses in 1u32..4,
    ) {
        let first = BusinessDate::new(2027, 1, 4).expect("date");
        let calendar = BusinessCalendar::new(Country::Dk);
        let schedule = Schedule::plan(
            Money::from_minor(120_000),
            &Terms { sizing: Sizing::Count(count), frequency: Frequency::Monthly, first_due: first },
            &calendar,
        ).expect("schedule");
        let paid = Money::from_minor(120_000 * paid_share / 100);
        let open = Money::from_minor(120_000) - paid;
        let rules = TrackingRules { grace_days: grace, misses_before_default: misses };
        let day = first.add_days(day_offset);
        let reminded = BTreeSet::new();
        let state = PlanState {
            instalments: &schedule.instalments,
            paid,
            open_balance: open,
            reminded: &reminded,
            remaining_task_raised: false,
        };
        let a = assess(&state, rules, day);
        prop_assert!(a.missed.len() < misses as usize || a.default_reason.is_some());
        prop_assert!(a.default_reason.is_none() || a.remind.is_empty());
        for seq in &a.missed {
            let inst = schedule.instalments[*seq as usize - 1];
            prop_assert!(day > inst.due_date.add_days(i64::from(grace)));
        }
        // Once reminded, never again.
        let reminded: BTreeSet<u32> = a.remind.iter().copied().collect();
        let again = assess(&PlanState { reminded: &reminded, ..state.clone() }, rules, day);
        prop_assert!(again.remind.is_empty());
        // The progress adds up to what was paid.
        let p = progress(&state, rules, day);
        prop_assert_eq!(sum(p.iter().map(|x| x.paid)), paid.min(Money::from_minor(120_000)));
        prop_assert!(p.iter().filter(|x| x.status == InstalmentStatus::Paid).count()
            <= schedule.instalments.len());
    }
}
