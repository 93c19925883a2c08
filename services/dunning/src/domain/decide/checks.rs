//! One claim's step sequence today and the conditions a due step is checked against: special
//! consideration, transfer, supply suspension, restoration.

use restance_kernel::{BusinessDate, Money, PartyKind};

use super::{Check, ClaimPlan, Gate, Outcome, applies};
use crate::domain::policy::{
    FALLBACK_MEETING_WAIT_DAYS, LegalTable, PolicyVersion, Resolved, Step, StepAction,
};
use crate::domain::schedule::{self, plus_days};
use crate::domain::view::{ClaimState, DebtorView, HoldKind};

/// The step sequence for one claim today: the next step after the last one recorded that
/// applies; if due, its conditions; steps whose conditions say "skip" are passed over and the
/// one after is looked at. At most one step is taken per claim and day: a claim that already
/// acted today (the day is evaluated again after an event) waits until tomorrow.
pub(super) fn plan_claim<'p>(
    view: &DebtorView,
    claim: &ClaimState,
    resolved: &Resolved<'p>,
    today: BusinessDate,
    once_a_day: OnceADay,
) -> ClaimPlan<'p> {
    let version: &'p PolicyVersion = resolved.version;
    let mut skipped = Vec::new();
    if once_a_day == OnceADay::Enforce && claim.history.acted_on(today) {
        return ClaimPlan {
            skipped,
            outcome: Outcome::Waiting(plus_days(today, 1)),
        };
    }
    let mut number = claim.history.last_step().saturating_add(1);
    let outcome = loop {
        let Some(step) = usize::try_from(number - 1)
            .ok()
            .and_then(|i| version.steps.get(i))
        else {
            break Outcome::Finished;
        };
        if !applies(step, claim, view.kind) {
            number += 1;
            continue;
        }
        let due = schedule::step_due_date(
            step,
            claim,
            view.holds_of(&claim.claim_id),
            resolved.table,
            today,
        );
        match due {
            None => break Outcome::Waiting(None),
            Some(due) if due > today => break Outcome::Waiting(Some(due)),
            Some(due) => match check_step(view, claim, resolved, step, today) {
                Check::Go(detail) => {
                    break Outcome::Take {
                        number,
                        step,
                        reason: format!(
                            "step {number} ({}) fell due on {due}{detail}",
                            step.action.kind()
                        ),
                    };
                }
                Check::Skip(reason) => {
                    skipped.push((number, reason));
                    number += 1;
                }
                Check::Wait(until) => break Outcome::Waiting(until),
                Check::Gate(gate, reason) => break Outcome::Gate { gate, reason },
            },
        }
    };
    ClaimPlan { skipped, outcome }
}

/// Whether `plan_claim` holds back a claim that already acted today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OnceADay {
    /// Deciding: a claim that acted today waits until tomorrow.
    Enforce,
    /// Computing the next action date: the caller makes it tomorrow at the earliest.
    Ignore,
}

/// The conditions of a step that is due: first those that make it not apply (skip), then the
/// special-consideration gate, then those that make it wait.
fn check_step(
    view: &DebtorView,
    claim: &ClaimState,
    resolved: &Resolved<'_>,
    step: &Step,
    today: BusinessDate,
) -> Check {
    if step.is_supply_step() && first_broken_agreement(view, claim, today).is_none() {
        return Check::Skip(
            "no broken agreement: supply is closed only after a reasonable agreement was broken (DOMAIN.md seed 002)"
                .into(),
        );
    }
    if step.is_hard()
        && let Some(check) = special_consideration_gate(view.kind, claim, resolved.version, today)
    {
        return check;
    }
    match step.action {
        StepAction::Transfer { notice_min_days } => {
            transfer_check(claim, resolved.table, notice_min_days, today)
        }
        StepAction::SupplySuspension { notice_min_days } => {
            supply_check(view, claim, notice_min_days, today)
        }
        _ => Check::Go(String::new()),
    }
}

/// DOMAIN.md principle 4: for special-consideration categories (daycare, family area), before
/// any hard step a person is offered a meeting and, for social-caseworker categories, the
/// caseworker is alerted; then dunning waits `meeting_wait_days` from the later of the two.
/// Companies are not gated (the principle protects families); their policies may give them a
/// company final notice instead (`only_for`).
fn special_consideration_gate(
    kind: PartyKind,
    claim: &ClaimState,
    version: &PolicyVersion,
    today: BusinessDate,
) -> Option<Check> {
    if !claim.flags.special_consideration || kind != PartyKind::Person {
        return None;
    }
    let h = &claim.history;
    let offer = h.meeting_offered.is_none();
    let alert = claim.flags.social_caseworker && h.caseworker_alerted.is_none();
    if offer || alert {
        return Some(Check::Gate(
            Gate::Meeting { offer, alert },
            "special consideration: a meeting must be offered (and the social caseworker alerted) before any fee, transfer or suspension (DOMAIN.md principle 4)".into(),
        ));
    }
    let wait = version
        .special_consideration
        .map_or(FALLBACK_MEETING_WAIT_DAYS, |s| s.meeting_wait_days);
    let since = h.meeting_offered.max(h.caseworker_alerted)?;
    match plus_days(since, wait) {
        Some(ready) if ready <= today => None,
        other => Some(Check::Wait(other)),
    }
}

/// DOMAIN.md, "Transfer to state collection": the reminder procedure done (the steps before
/// were taken), a written notice at least `notice_min_days` earlier — sent now if missing — and
/// a balance including fees and interest of at least the minimum (else it waits for interest
/// or an event). Holds and the special gate were checked before.
fn transfer_check(
    claim: &ClaimState,
    table: &LegalTable,
    notice_min_days: u32,
    today: BusinessDate,
) -> Check {
    let Some(notice) = claim.history.transfer_notice_sent else {
        return Check::Gate(
            Gate::TransferNotice,
            "transfer needs a written notice first (DOMAIN.md, Transfer to state collection)"
                .into(),
        );
    };
    match plus_days(notice, notice_min_days) {
        Some(ready) if ready <= today => {}
        other => return Check::Wait(other),
    }
    let total = claim.balance.total().unwrap_or(Money::ZERO);
    if total < table.transfer_min_balance {
        return Check::Wait(None);
    }
    Check::Go(format!(
        "; notice sent {notice}, balance {total} at least {}",
        table.transfer_min_balance
    ))
}

/// DOMAIN.md seed 002: supply is closed only after a broken agreement and a notice at least
/// `notice_min_days` earlier that was sent after the agreement was broken.
fn supply_check(
    view: &DebtorView,
    claim: &ClaimState,
    notice_min_days: u32,
    today: BusinessDate,
) -> Check {
    let Some(broken) = first_broken_agreement(view, claim, today) else {
        return Check::Skip("no broken agreement".into());
    };
    let Some(notice) = claim.history.supply_notice_sent.filter(|n| *n >= broken) else {
        return Check::Skip(
            "no supply suspension notice was sent after the broken agreement".into(),
        );
    };
    match plus_days(notice, notice_min_days) {
        Some(ready) if ready <= today => Check::Go(format!(
            "; agreement broken {broken}, suspension notice sent {notice}"
        )),
        other => Check::Wait(other),
    }
}

/// The first day an agreement covering the claim was broken, up to today.
fn first_broken_agreement(
    view: &DebtorView,
    claim: &ClaimState,
    today: BusinessDate,
) -> Option<BusinessDate> {
    view.broken_agreements_of(&claim.claim_id)
        .map(|b| b.date)
        .filter(|d| *d <= today)
        .min()
}

/// A supply that dunning closed is opened again once the claim no longer calls for it: paid,
/// written off, or under a plan or deferral. Not for transferred claims (the authority decides).
pub(super) fn needs_restoration(
    view: &DebtorView,
    claim: &ClaimState,
    today: BusinessDate,
) -> bool {
    let h = &claim.history;
    if h.supply_suspended.is_none() || h.supply_restored.is_some() {
        return false;
    }
    if claim.status == crate::domain::view::ClaimStatus::Transferred {
        return false;
    }
    !claim.is_active()
        || view.holds_of(&claim.claim_id).any(|hold| {
            matches!(hold.kind, HoldKind::Plan | HoldKind::Deferral) && hold.active_on(today)
        })
}
