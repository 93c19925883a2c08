//! When a step falls due for a claim.
//!
//! 1. **Timing.** `after_due_days` counts from the due date, `after_previous_days` from the date
//!    the claim's previous step was taken (the due date before the first step). Skipped steps do
//!    not count as taken.
//! 2. **Holds** (DOMAIN.md principle 2, "dialogue before force"). No step is taken while a hold
//!    covers the claim. When a hold has ended after the date the timing counts from, the count
//!    starts again from the first day after the hold: a debtor whose deferral ends gets the full
//!    interval of the next step, not a letter on the morning the deferral expires. A hold without
//!    an end pauses the claim until an event ends it. Only holds that have begun on the
//!    evaluation date count: a future hold can only make a step later, never earlier, so a date
//!    computed today is a safe lower bound for the service's index.
//! 3. **Arrears.** Nothing before the day after the due date.
//! 4. **Fee spacing** (DOMAIN.md, "Rules and parameters"). A fee-bearing reminder for a claim that
//!    can still be charged a fee waits until the first fee may be charged (`first_fee_min_days_after_due`,
//!    Norway 14) and until `min_days_between_fees` after the claim's last fee (DK private-law 10),
//!    even when the date jumped over several days.

use restance_kernel::BusinessDate;

use crate::domain::policy::{LegalTable, Step, Timing};
use crate::domain::view::{ClaimState, Hold};

/// `date + days`, or `None` beyond the calendar (treated as "never").
pub fn plus_days(date: BusinessDate, days: u32) -> Option<BusinessDate> {
    date.checked_add_days(i64::from(days))
}

/// The day `step` falls due for `claim`, as known on `today`; `None` while a hold without end
/// covers the claim (or for a step without valid timing).
pub fn step_due_date<'a>(
    step: &Step,
    claim: &ClaimState,
    holds: impl Iterator<Item = &'a Hold>,
    table: &LegalTable,
    today: BusinessDate,
) -> Option<BusinessDate> {
    let (base, days) = match step.timing()? {
        Timing::AfterDue(days) => (claim.due_date, days),
        Timing::AfterPrevious(days) => (
            claim.history.last_taken_date().unwrap_or(claim.due_date),
            days,
        ),
    };
    let anchor = resume_anchor(base, holds, today)?;
    let mut due = plus_days(anchor, days)?.max(plus_days(claim.due_date, 1)?);
    if step.carries_fee() && can_still_charge_fee(claim, table) {
        due = due.max(first_fee_allowed(claim, table)?);
    }
    Some(due)
}

/// The date timing counts from: `base`, or the first day after the latest begun hold that
/// ended after `base`; `None` if a begun hold has no end.
pub fn resume_anchor<'a>(
    base: BusinessDate,
    holds: impl Iterator<Item = &'a Hold>,
    today: BusinessDate,
) -> Option<BusinessDate> {
    let mut anchor = base;
    for hold in holds.filter(|h| h.from <= today) {
        let resumes = hold.resumes_on()?;
        if resumes > base {
            anchor = anchor.max(resumes);
        }
    }
    Some(anchor)
}

/// True if the claim is below the jurisdiction's number of fee-bearing reminders.
pub fn can_still_charge_fee(claim: &ClaimState, table: &LegalTable) -> bool {
    table
        .max_fee_reminders
        .is_none_or(|max| claim.history.fee_count() < max as usize)
}

/// The first day a fee may be charged on the claim: `first_fee_min_days_after_due` after the
/// due date and `min_days_between_fees` after its last fee.
pub fn first_fee_allowed(claim: &ClaimState, table: &LegalTable) -> Option<BusinessDate> {
    let after_due = plus_days(claim.due_date, table.first_fee_min_days_after_due)?;
    match claim.history.last_fee_date() {
        Some(last) => Some(after_due.max(plus_days(last, table.min_days_between_fees)?)),
        None => Some(after_due),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::policy::StepAction;
    use crate::domain::view::{
        CategoryFlags, ClaimBalance, ClaimHistory, ClaimStatus, FeeRecord, HoldKind, Scope,
        StepRecord,
    };
    use restance_kernel::{Currency, Money};

    fn d(s: &str) -> BusinessDate {
        s.parse().expect("test date")
    }

    fn claim(due: &str) -> ClaimState {
        ClaimState {
            claim_id: "C-1".into(),
            category: "other".into(),
            flags: CategoryFlags::default(),
            office: "main".into(),
            currency: Currency::Dkk,
            due_date: d(due),
            balance: ClaimBalance {
                principal: Money::from_minor(100_000),
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

    fn table() -> LegalTable {
        LegalTable {
            effective_from: d("2020-01-01"),
            fee: Money::from_minor(10_000),
            fee_cap: Some(Money::from_minor(10_000)),
            collection_rate: None,
            fee_legal_basis: "renteloven § 9 b".into(),
            max_fee_reminders: Some(3),
            min_days_between_fees: 10,
            first_fee_min_days_after_due: 14,
            transfer_min_balance: Money::from_minor(10_000),
            distraint_legal_basis: None,
        }
    }

    fn step(after_due: Option<u32>, after_previous: Option<u32>, fee: bool) -> Step {
        Step {
            after_due_days: after_due,
            after_previous_days: after_previous,
            only_for: None,
            action: StepAction::Reminder {
                template: "reminder_1".into(),
                channels: vec![],
                fee,
                transfer_notice: false,
            },
        }
    }

    fn hold(from: &str, until: Option<&str>) -> Hold {
        Hold {
            hold_id: "H-1".into(),
            kind: HoldKind::Deferral,
            scope: Scope::Debtor,
            from: d(from),
            until: until.map(d),
        }
    }

    #[test]
    fn after_due_days_count_from_the_due_date_and_after_previous_from_the_last_step() {
        let mut c = claim("2026-12-15");
        let today = d("2027-03-01");
        let t = table();
        assert_eq!(
            step_due_date(&step(Some(7), None, false), &c, [].iter(), &t, today),
            Some(d("2026-12-22"))
        );
        c.history.steps.push(StepRecord {
            step: 1,
            date: d("2027-01-05"),
            skipped: false,
        });
        c.history.steps.push(StepRecord {
            step: 2,
            date: d("2027-01-20"),
            skipped: true,
        });
        assert_eq!(
            step_due_date(&step(None, Some(14), false), &c, [].iter(), &t, today),
            Some(d("2027-01-19")),
            "a skipped step is not the previous step"
        );
    }

    #[test]
    fn nothing_falls_due_before_the_day_after_the_due_date() {
        let c = claim("2026-12-15");
        let due = step_due_date(
            &step(Some(0), None, false),
            &c,
            [].iter(),
            &table(),
            d("2026-12-15"),
        );
        assert_eq!(due, Some(d("2026-12-16")));
    }

    #[test]
    fn after_a_hold_the_count_starts_again_from_the_day_after_it_ended() {
        let c = claim("2026-12-15");
        let holds = [hold("2026-12-18", Some("2027-01-31"))];
        let due = step_due_date(
            &step(Some(7), None, false),
            &c,
            holds.iter(),
            &table(),
            d("2027-02-01"),
        );
        assert_eq!(
            due,
            Some(d("2027-02-08")),
            "resumes 2027-02-01, plus 7 days"
        );
    }

    #[test]
    fn a_hold_without_end_pauses_and_a_future_hold_is_not_yet_counted() {
        let c = claim("2026-12-15");
        let s = step(Some(7), None, false);
        let open = [hold("2026-12-18", None)];
        assert_eq!(
            step_due_date(&s, &c, open.iter(), &table(), d("2026-12-20")),
            None
        );
        let future = [hold("2027-01-10", Some("2027-01-20"))];
        assert_eq!(
            step_due_date(&s, &c, future.iter(), &table(), d("2026-12-20")),
            Some(d("2026-12-22"))
        );
        assert_eq!(
            step_due_date(&s, &c, future.iter(), &table(), d("2027-01-10")),
            Some(d("2027-01-28")),
            "once begun it moves the step after its end"
        );
    }

    #[test]
    fn a_hold_that_ended_before_the_timing_base_changes_nothing() {
        let c = claim("2026-12-15");
        let holds = [hold("2026-11-01", Some("2026-11-30"))];
        let due = step_due_date(
            &step(Some(7), None, false),
            &c,
            holds.iter(),
            &table(),
            d("2027-01-01"),
        );
        assert_eq!(due, Some(d("2026-12-22")));
    }

    #[test]
    fn a_fee_bearing_step_waits_for_the_first_fee_day_and_the_fee_spacing() {
        let mut c = claim("2026-12-15");
        let t = table();
        let today = d("2027-06-01");
        assert_eq!(
            step_due_date(&step(Some(7), None, true), &c, [].iter(), &t, today),
            Some(d("2026-12-29")),
            "14 days after due, not 7"
        );
        c.history.fees.push(FeeRecord {
            step: 1,
            date: d("2027-01-10"),
            amount: Money::from_minor(10_000),
        });
        c.history.steps.push(StepRecord {
            step: 1,
            date: d("2027-01-10"),
            skipped: false,
        });
        assert_eq!(
            step_due_date(&step(None, Some(1), true), &c, [].iter(), &t, today),
            Some(d("2027-01-20")),
            "10 days after the last fee"
        );
        assert_eq!(
            step_due_date(&step(None, Some(1), false), &c, [].iter(), &t, today),
            Some(d("2027-01-11")),
            "a reminder without fee is not held back"
        );
        for n in 2..=3 {
            c.history.fees.push(FeeRecord {
                step: n,
                date: d("2027-01-10"),
                amount: Money::from_minor(10_000),
            });
        }
        assert_eq!(
            step_due_date(&step(None, Some(1), true), &c, [].iter(), &t, today),
            Some(d("2027-01-11")),
            "no fee can be charged any more: the reminder goes out on its own timing"
        );
    }
}
