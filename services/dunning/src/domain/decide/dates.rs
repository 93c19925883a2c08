//! The next day anything can happen to a claim.

use restance_kernel::BusinessDate;

use super::Outcome;
use super::checks::{OnceADay, needs_restoration, plan_claim};
use crate::domain::interest;
use crate::domain::limitation::limitation_date;
use crate::domain::policy::{Policies, Resolved};
use crate::domain::schedule::plus_days;
use crate::domain::view::{ClaimState, DebtorView};

/// The next day anything can happen to the claim, given the state after today's decisions:
/// the earliest of its next step (or gate) date, its next interest assessment, its limitation
/// date and the next policy or legal-table change; tomorrow if a step is due again today (one
/// step per claim and day). Every part is a lower bound, so evaluating the claim only on this
/// date never misses an action.
pub(super) fn next_action_date(
    after: &DebtorView,
    claim: &ClaimState,
    policies: &Policies,
    today: BusinessDate,
) -> Option<BusinessDate> {
    if claim.prepayment {
        return None;
    }
    let change = policies.next_change_after(&after.municipality, &claim.category, today);
    let Ok(resolved) = policies.resolve(&after.municipality, &claim.category, today) else {
        return if claim.is_active() { change } else { None };
    };
    let tomorrow = plus_days(today, 1);
    let future_hold_start = || {
        after
            .holds_of(&claim.claim_id)
            .map(|h| h.from)
            .filter(|from| *from > today)
            .min()
    };
    if claim.history.supply_suspended.is_some() && claim.history.supply_restored.is_none() {
        if needs_restoration(after, claim, today) {
            return tomorrow;
        }
        if let Some(start) = future_hold_start() {
            // a plan or deferral that begins will reopen the supply
            return earliest([
                Some(start),
                next_active(after, claim, &resolved, today),
                change,
            ]);
        }
    }
    if !claim.is_active() {
        return None;
    }
    earliest([next_active(after, claim, &resolved, today), change])
}

/// The next date for an open claim (steps, interest, limitation).
fn next_active(
    after: &DebtorView,
    claim: &ClaimState,
    resolved: &Resolved<'_>,
    today: BusinessDate,
) -> Option<BusinessDate> {
    if !claim.is_active() || claim.prepayment || claim.history.write_off_proposed.is_some() {
        return None;
    }
    let tomorrow = plus_days(today, 1);
    let limitation = limitation_date(
        claim,
        after.holds_of(&claim.claim_id),
        resolved.version.limitation_years,
        today,
    )?;
    if limitation <= today {
        return tomorrow;
    }
    let interest = interest::next_assessment_after(claim, resolved.policy, limitation, today);
    let pre_due = resolved
        .version
        .pre_due_notice
        .filter(|_| !claim.direct_debit && claim.history.pre_due_sent.is_none())
        .and_then(|n| super::pre_due_date(claim, n))
        .filter(|d| *d > today && *d < claim.due_date)
        .or_else(|| {
            super::pre_due_notice_on(claim, resolved, today)
                .then_some(tomorrow)
                .flatten()
                .filter(|t| *t < claim.due_date)
        });
    let plan = plan_claim(after, claim, resolved, today, OnceADay::Ignore);
    let step = if plan.skipped.is_empty() {
        match plan.outcome {
            Outcome::Take { .. } | Outcome::Gate { .. } => tomorrow,
            Outcome::Waiting(date) => date,
            Outcome::Finished => None,
        }
    } else {
        tomorrow
    };
    earliest([Some(limitation), interest, step, pre_due])
}

fn earliest<const N: usize>(dates: [Option<BusinessDate>; N]) -> Option<BusinessDate> {
    dates.into_iter().flatten().min()
}
