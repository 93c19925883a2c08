//! Following a payment plan from day to day: which instalments are paid, which are missed, when
//! a reminder goes out and when the plan is broken.
//!
//! The paid amount of a plan revision is the sum of invoicing's allocations
//! (`invoicing.payment.applied.v1`) to the covered claims since the revision was agreed.
//! Instalments are paid in order: the paid amount covers the cumulative due amounts from the
//! first instalment on. On a business day `day`:
//! - an instalment is **missed** when `day` is after its due date + the grace days, the paid
//!   amount is below its cumulative due amount, and the covered claims still have something open
//!   (a claim settled by a credit note needs no more payments);
//! - a missed instalment gets **one reminder** (never a second for the same instalment);
//! - when `misses_before_default` instalments are missed at the same time the plan is
//!   **defaulted** (no reminder for the miss that breaks it: dunning takes over). A debtor who
//!   catches up cures the earlier misses — a late payment is still a payment (dialogue before
//!   force);
//! - when every instalment is paid but the claims still have something open (interest or fees
//!   added during the plan), the caseworker gets a task to revise the plan.

use std::collections::BTreeSet;

use restance_kernel::{BusinessDate, Money};
use serde::{Deserialize, Serialize};

use crate::domain::schedule::Instalment;

/// The configured rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrackingRules {
    /// Calendar days after a due date before the instalment counts as missed.
    pub grace_days: u32,
    /// Missed instalments (at the same time) that break the plan; at least 1.
    pub misses_before_default: u32,
}

/// Where an instalment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstalmentStatus {
    /// Fully paid.
    Paid,
    /// Not yet due.
    Upcoming,
    /// Due (or within its grace days) and not fully paid.
    Due,
    /// Past its grace days and not fully paid.
    Missed,
}

/// One instalment with what has been paid towards it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstalmentProgress {
    /// 1-based position in the schedule.
    pub seq: u32,
    /// The instalment.
    pub instalment: Instalment,
    /// Paid towards it (the paid amount fills the instalments in order).
    pub paid: Money,
    /// The sum of this and every earlier instalment.
    pub cumulative_due: Money,
    /// Where it stands.
    pub status: InstalmentStatus,
}

/// A plan revision as the tracking reads it.
#[derive(Debug, Clone)]
pub struct PlanState<'a> {
    /// The schedule, in date order.
    pub instalments: &'a [Instalment],
    /// Paid since the revision was agreed.
    pub paid: Money,
    /// What the covered claims still have open (principal + fees + interest).
    pub open_balance: Money,
    /// Instalments (1-based) that already had their reminder.
    pub reminded: &'a BTreeSet<u32>,
    /// The "every instalment paid but something is still open" task was raised.
    pub remaining_task_raised: bool,
}

/// What the day brings for a plan.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Assessment {
    /// Instalments missed now (1-based), oldest first.
    pub missed: Vec<u32>,
    /// Missed instalments that get their reminder today.
    pub remind: Vec<u32>,
    /// The plan is broken today, with the reason for `agreements.plan.defaulted.v1`.
    pub default_reason: Option<String>,
    /// Every instalment is paid but the claims still have something open: raise the task.
    pub remaining_balance: bool,
    /// How far behind the plan is: the cumulative due of the last missed instalment − paid.
    pub behind: Money,
}

/// Every instalment with its progress on `day`.
pub fn progress(
    state: &PlanState<'_>,
    rules: TrackingRules,
    day: BusinessDate,
) -> Vec<InstalmentProgress> {
    let mut cumulative = Money::ZERO;
    let mut out = Vec::with_capacity(state.instalments.len());
    for (i, instalment) in state.instalments.iter().enumerate() {
        let before = cumulative;
        cumulative = cumulative
            .checked_add(instalment.amount)
            .unwrap_or(cumulative);
        let paid = state
            .paid
            .checked_sub(before)
            .map_or(Money::ZERO, |p| p.max(Money::ZERO).min(instalment.amount));
        let grace_end = instalment
            .due_date
            .checked_add_days(i64::from(rules.grace_days))
            .unwrap_or(instalment.due_date);
        let status = if state.paid >= cumulative {
            InstalmentStatus::Paid
        } else if day > grace_end && state.open_balance.is_positive() {
            InstalmentStatus::Missed
        } else if day >= instalment.due_date {
            InstalmentStatus::Due
        } else {
            InstalmentStatus::Upcoming
        };
        out.push(InstalmentProgress {
            seq: u32::try_from(i + 1).unwrap_or(u32::MAX),
            instalment: *instalment,
            paid,
            cumulative_due: cumulative,
            status,
        });
    }
    out
}

/// What to do for the plan on `day`.
pub fn assess(state: &PlanState<'_>, rules: TrackingRules, day: BusinessDate) -> Assessment {
    let all = progress(state, rules, day);
    let missed: Vec<&InstalmentProgress> = all
        .iter()
        .filter(|p| p.status == InstalmentStatus::Missed)
        .collect();
    let behind = missed.last().map_or(Money::ZERO, |p| {
        p.cumulative_due
            .checked_sub(state.paid)
            .unwrap_or(Money::ZERO)
    });
    let broken =
        u32::try_from(missed.len()).unwrap_or(u32::MAX) >= rules.misses_before_default.max(1);
    let default_reason = broken.then(|| default_reason(&missed, rules.grace_days));
    let remind = if broken {
        Vec::new()
    } else {
        missed
            .iter()
            .map(|p| p.seq)
            .filter(|seq| !state.reminded.contains(seq))
            .collect()
    };
    let all_paid = all.iter().all(|p| p.status == InstalmentStatus::Paid);
    let last_grace_passed = all.last().is_some_and(|p| {
        p.instalment
            .due_date
            .checked_add_days(i64::from(rules.grace_days))
            .is_some_and(|end| day > end)
    });
    Assessment {
        missed: missed.iter().map(|p| p.seq).collect(),
        remind,
        default_reason,
        remaining_balance: all_paid
            && last_grace_passed
            && state.open_balance.is_positive()
            && !state.remaining_task_raised,
        behind,
    }
}

/// `instalments of 2027-01-04 and 2027-02-04 unpaid 7 days after their due dates` (at most five
/// dates named; no personal data).
fn default_reason(missed: &[&InstalmentProgress], grace_days: u32) -> String {
    let dates: Vec<String> = missed
        .iter()
        .take(5)
        .map(|p| p.instalment.due_date.to_string())
        .collect();
    let more = missed.len().saturating_sub(dates.len());
    let listed = match dates.as_slice() {
        [one] => format!("instalment of {one}"),
        [init @ .., last] => format!("instalments of {} and {last}", init.join(", ")),
        [] => "instalments".to_owned(),
    };
    let more = if more > 0 {
        format!(" (and {more} more)")
    } else {
        String::new()
    };
    let after = if missed.len() == 1 {
        "its due date"
    } else {
        "their due dates"
    };
    format!("{listed}{more} unpaid {grace_days} days after {after}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Money {
        Money::parse(s).expect("amount")
    }

    fn d(s: &str) -> BusinessDate {
        s.parse().expect("date")
    }

    fn schedule() -> Vec<Instalment> {
        ["2027-01-04", "2027-02-04", "2027-03-04"]
            .iter()
            .map(|s| Instalment {
                due_date: d(s),
                amount: m("100.00"),
            })
            .collect()
    }

    const RULES: TrackingRules = TrackingRules {
        grace_days: 7,
        misses_before_default: 2,
    };

    fn state<'a>(
        instalments: &'a [Instalment],
        paid: &str,
        reminded: &'a BTreeSet<u32>,
    ) -> PlanState<'a> {
        PlanState {
            instalments,
            paid: m(paid),
            open_balance: m("300.00").checked_sub(m(paid)).expect("open"),
            reminded,
            remaining_task_raised: false,
        }
    }

    #[test]
    fn an_instalment_is_missed_only_after_its_grace_days() {
        let s = schedule();
        let none = BTreeSet::new();
        let on_last_grace_day = assess(&state(&s, "0.00", &none), RULES, d("2027-01-11"));
        assert!(on_last_grace_day.missed.is_empty());
        let after = assess(&state(&s, "0.00", &none), RULES, d("2027-01-12"));
        assert_eq!(after.missed, vec![1]);
        assert_eq!(after.remind, vec![1]);
        assert_eq!(after.default_reason, None);
        assert_eq!(after.behind, m("100.00"));
    }

    #[test]
    fn a_reminder_goes_out_once_per_instalment() {
        let s = schedule();
        let reminded: BTreeSet<u32> = [1].into();
        let a = assess(&state(&s, "0.00", &reminded), RULES, d("2027-01-20"));
        assert_eq!(a.missed, vec![1]);
        assert!(a.remind.is_empty());
    }

    #[test]
    fn two_missed_instalments_break_the_plan_without_another_reminder() {
        let s = schedule();
        let reminded: BTreeSet<u32> = [1].into();
        let a = assess(&state(&s, "50.00", &reminded), RULES, d("2027-02-12"));
        assert_eq!(a.missed, vec![1, 2]);
        assert!(a.remind.is_empty());
        assert_eq!(
            a.default_reason.as_deref(),
            Some("instalments of 2027-01-04 and 2027-02-04 unpaid 7 days after their due dates")
        );
        assert_eq!(a.behind, m("150.00"));
    }

    #[test]
    fn catching_up_cures_an_earlier_miss() {
        let s = schedule();
        let reminded: BTreeSet<u32> = [1].into();
        let a = assess(&state(&s, "100.00", &reminded), RULES, d("2027-02-12"));
        assert_eq!(a.missed, vec![2]);
        assert_eq!(a.remind, vec![2]);
        assert_eq!(a.default_reason, None);
    }

    #[test]
    fn nothing_is_missed_when_the_claims_have_nothing_open() {
        let s = schedule();
        let none = BTreeSet::new();
        let mut st = state(&s, "0.00", &none);
        st.open_balance = Money::ZERO;
        assert!(assess(&st, RULES, d("2027-06-01")).missed.is_empty());
    }

    #[test]
    fn a_balance_left_after_the_last_instalment_raises_a_task_once() {
        let s = schedule();
        let none = BTreeSet::new();
        let mut st = state(&s, "300.00", &none);
        st.open_balance = m("12.00");
        assert!(!assess(&st, RULES, d("2027-03-11")).remaining_balance);
        assert!(assess(&st, RULES, d("2027-03-12")).remaining_balance);
        st.remaining_task_raised = true;
        assert!(!assess(&st, RULES, d("2027-03-12")).remaining_balance);
    }

    #[test]
    fn progress_fills_the_instalments_in_order() {
        let s = schedule();
        let none = BTreeSet::new();
        let p = progress(&state(&s, "150.00", &none), RULES, d("2027-02-05"));
        let view: Vec<(String, InstalmentStatus)> =
            p.iter().map(|p| (p.paid.to_string(), p.status)).collect();
        assert_eq!(
            view,
            vec![
                ("100.00".into(), InstalmentStatus::Paid),
                ("50.00".into(), InstalmentStatus::Due),
                ("0.00".into(), InstalmentStatus::Upcoming),
            ]
        );
    }

    #[test]
    fn one_miss_breaks_a_plan_when_so_configured() {
        let s = schedule();
        let none = BTreeSet::new();
        let strict = TrackingRules {
            grace_days: 0,
            misses_before_default: 1,
        };
        let a = assess(&state(&s, "0.00", &none), strict, d("2027-01-05"));
        assert_eq!(
            a.default_reason.as_deref(),
            Some("instalment of 2027-01-04 unpaid 0 days after its due date")
        );
    }
}
