//! One claim's step sequence today and the conditions a due step is checked against: special
//! consideration, transfer, supply suspension, restoration.

use restance_kernel::{BusinessDate, Money, PartyKind};

use super::{Check, ClaimPlan, Gate, Outcome, applies};
use crate::domain::actions::{StepTaken, TransferGrounds};
use crate::domain::policy::{
    FALLBACK_MEETING_WAIT_DAYS, LegalTable, PolicyVersion, Resolved, Step, StepAction,
    TransferMode, TransferRule,
};
use crate::domain::schedule::{self, plus_days};
use crate::domain::view::{ClaimState, DebtorView, HoldKind, KeepTrack, TransferChoice};

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
                Check::Gate(gate, reason) => {
                    break Outcome::Gate {
                        number,
                        gate,
                        reason,
                    };
                }
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
    // the small-balance threshold (bagatelgrænse): no further reminder, fee or transfer
    if let Some(threshold) = &resolved.version.threshold
        && claim.balance.total().unwrap_or(Money::ZERO) < threshold.below
    {
        return Check::Wait(None);
    }
    if step.is_supply_step() && first_broken_agreement(view, claim, today).is_none() {
        return Check::Skip(
            "no broken agreement: supply is closed only after a reasonable agreement was broken (DOMAIN.md seed 002)"
                .into(),
        );
    }
    if step.is_hard()
        && let Some(check) = special_consideration_gate(view, claim, resolved.version, today)
    {
        return check;
    }
    match step.action {
        StepAction::Transfer { notice_min_days } => {
            transfer_check(view, claim, resolved, notice_min_days, today)
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
///
/// For social-caseworker categories the gate then stays closed until an answer
/// ([`social_answer`]): a meeting held, a plan or deferral, or the caseworker's release — never
/// by time alone (issue: the fee followed automatically whether or not anyone answered).
fn special_consideration_gate(
    view: &DebtorView,
    claim: &ClaimState,
    version: &PolicyVersion,
    today: BusinessDate,
) -> Option<Check> {
    if !claim.flags.special_consideration || view.kind != PartyKind::Person {
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
        Some(ready) if ready <= today => {}
        other => return Some(Check::Wait(other)),
    }
    if claim.flags.social_caseworker && social_answer(view, claim, today).is_none() {
        // the gate closes only on an answer: agreements escalates an unanswered alert to a
        // supervisor; dunning never releases it by time
        return Some(Check::Wait(None));
    }
    None
}

/// For social-caseworker categories: the answer that opens the gate — a meeting held, a plan or
/// deferral made, or the caseworker's release (`agreements.claim.released.v1`) — and its date.
pub(super) fn social_answer(
    view: &DebtorView,
    claim: &ClaimState,
    today: BusinessDate,
) -> Option<BusinessDate> {
    let agreement = view
        .holds_of(&claim.claim_id)
        .filter(|h| matches!(h.kind, HoldKind::Plan | HoldKind::Deferral))
        .map(|h| h.from);
    [
        claim.history.meeting_held,
        claim.history.caseworker_released,
    ]
    .into_iter()
    .flatten()
    .chain(agreement)
    .filter(|d| *d <= today)
    .min()
}

/// DOMAIN.md, "Transfer to state collection": the reminder procedure done (the steps before
/// were taken), a written notice at least `notice_min_days` earlier — sent now if missing — and
/// a balance including fees and interest of at least the minimum (else it waits for interest
/// or an event). The minimum is checked on the balance before the fee of the step that carried
/// the notice: a few kroner left never become a transfer because of the reminder's own fee.
/// Holds and the special gate were checked before.
///
/// Then the municipality's choice ([`TransferRule`]): a priority claim goes to the municipality's
/// own distraint (seed 001) unless a caseworker decided to transfer it; under `automatic` the
/// claim is transferred; under `review` it becomes a transfer proposal, and the caseworker's
/// decision transfers it or keeps it on a municipal track (see [`review_check`]).
fn transfer_check(
    view: &DebtorView,
    claim: &ClaimState,
    resolved: &Resolved<'_>,
    notice_min_days: u32,
    today: BusinessDate,
) -> Check {
    let rule = &resolved.version.transfer;
    let decided = claim.history.decision_on_proposal();
    let keep_distraint = decided
        .is_some_and(|d| d.choice == TransferChoice::Keep && d.track == Some(KeepTrack::Distraint));
    let transfer_decided = decided.is_some_and(|d| d.choice == TransferChoice::Transfer);
    if (claim.flags.priority_claim && !transfer_decided) || keep_distraint {
        return distraint_check(claim, resolved.table, notice_min_days, today);
    }
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
    let before_fee = balance_before_notice_fee(claim);
    if before_fee < resolved.table.transfer_min_balance {
        return Check::Wait(None);
    }
    let detail = format!(
        "; notice sent {notice}, balance {before_fee} before the notice's fee at least {}",
        resolved.table.transfer_min_balance
    );
    match rule.mode {
        TransferMode::Automatic => Check::Go(detail),
        TransferMode::Review => review_check(view, claim, rule, notice, today, detail),
    }
}

/// The open balance less the fee charged with the written notice of transfer.
fn balance_before_notice_fee(claim: &ClaimState) -> Money {
    let total = claim.balance.total().unwrap_or(Money::ZERO);
    let Some(notice) = claim.history.transfer_notice_sent else {
        return total;
    };
    claim
        .history
        .fees
        .iter()
        .filter(|f| f.date == notice)
        .try_fold(total, |left, f| left.checked_sub(f.amount))
        .unwrap_or(total)
}

/// `transfer.mode = "review"`: the claim is proposed once; the caseworker's answer transfers it
/// (at the next run) or keeps it — with a plan offer (a letter at the next run; proposed again
/// only after a later broken agreement), or a review date (proposed again on it). Under the
/// seed-002 rule a proposal needs no response after the notice or repeated broken agreements;
/// until then the claim stays with the municipality and waits for an event.
fn review_check(
    view: &DebtorView,
    claim: &ClaimState,
    rule: &TransferRule,
    notice: BusinessDate,
    today: BusinessDate,
    detail: String,
) -> Check {
    let h = &claim.history;
    if let Some(decision) = h.decision_on_proposal() {
        match (decision.choice, decision.track) {
            (TransferChoice::Transfer, _) => {
                return Check::Go(format!(
                    "{detail}; transfer decided by a caseworker on {}",
                    decision.date
                ));
            }
            (TransferChoice::Keep, Some(KeepTrack::Review { on })) => {
                if on > today {
                    return Check::Wait(Some(on));
                }
            }
            (TransferChoice::Keep, Some(KeepTrack::PlanOffer)) => {
                if h.kept_plan_offered.is_none_or(|d| d < decision.date) {
                    return Check::Gate(
                        Gate::PlanOffer,
                        format!(
                            "kept from transfer on {} with a plan offer: a meeting about a payment plan is offered",
                            decision.date
                        ),
                    );
                }
                let broken_since = view
                    .broken_agreements_of(&claim.claim_id)
                    .any(|b| b.date > decision.date && b.date <= today);
                if !broken_since {
                    return Check::Wait(None);
                }
            }
            (TransferChoice::Keep, _) => return Check::Wait(None),
        }
    } else if h.transfer_proposed.is_some() {
        return Check::Wait(None);
    }
    if rule.only_unwilling_or_defaulting {
        let broken = broken_count(view, claim, today);
        let response = response_after(view, claim, notice, today);
        if response.is_some() && broken < rule.broken_agreements_for_transfer {
            return Check::Wait(None);
        }
    }
    Check::Gate(
        Gate::TransferProposal,
        format!("the transfer is the municipality's decision (transfer = review){detail}"),
    )
}

/// How many agreements covering the claim the debtor broke, up to today.
fn broken_count(view: &DebtorView, claim: &ClaimState, today: BusinessDate) -> u32 {
    let n = view
        .broken_agreements_of(&claim.claim_id)
        .filter(|b| b.date <= today)
        .count();
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The debtor's latest response after the written notice, up to today: a part payment, an
/// agreement or meeting that began, a dispute, a meeting held.
fn response_after(
    view: &DebtorView,
    claim: &ClaimState,
    notice: BusinessDate,
    today: BusinessDate,
) -> Option<BusinessDate> {
    let holds = view
        .holds_of(&claim.claim_id)
        .filter(|h| h.kind != HoldKind::Counselling)
        .map(|h| h.from);
    [claim.last_acknowledged, claim.history.meeting_held]
        .into_iter()
        .flatten()
        .chain(holds)
        .filter(|d| *d > notice && *d <= today)
        .max()
}

/// Seed 001: a priority claim (property tax) is collected by the municipality's own distraint —
/// a notice before distraint citing the law, and `notice_min_days` later a distraint case for
/// the caseworker; the claim then waits for the distraint to be recorded (it stays open; the
/// recorded distraint interrupts limitation). The transfer minimum applies as for a transfer.
fn distraint_check(
    claim: &ClaimState,
    table: &LegalTable,
    notice_min_days: u32,
    today: BusinessDate,
) -> Check {
    let h = &claim.history;
    if h.distraint_opened.is_some() {
        return Check::Wait(None);
    }
    if balance_before_notice_fee(claim) < table.transfer_min_balance {
        return Check::Wait(None);
    }
    let Some(notice) = h.distraint_notice_sent else {
        return Check::Gate(
            Gate::DistraintNotice,
            "a priority claim: the municipality makes distraint itself, after a notice (seed 001)"
                .into(),
        );
    };
    match plus_days(notice, notice_min_days) {
        Some(ready) if ready <= today => Check::Gate(
            Gate::DistraintCase,
            format!("notice before distraint sent {notice}: a distraint case is opened"),
        ),
        other => Check::Wait(other),
    }
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

/// What the caseworker decides a transfer proposal on.
pub(super) fn transfer_grounds(
    view: &DebtorView,
    c: &ClaimState,
    resolved: &Resolved<'_>,
    today: BusinessDate,
) -> TransferGrounds {
    let h = &c.history;
    let made = view
        .holds_of(&c.claim_id)
        .filter(|h| matches!(h.kind, HoldKind::Plan | HoldKind::Deferral) && h.from <= today)
        .count();
    let rule = &resolved.version.transfer;
    TransferGrounds {
        claim_id: c.claim_id.clone(),
        category: c.category.clone(),
        due_date: c.due_date,
        balance: c.balance.total().unwrap_or(Money::ZERO),
        letters: h
            .steps
            .iter()
            .filter(|s| !s.skipped)
            .map(|s| StepTaken {
                step: s.step,
                date: s.date,
            })
            .collect(),
        notice_sent: h.transfer_notice_sent,
        response_after_notice: h
            .transfer_notice_sent
            .and_then(|notice| response_after(view, c, notice, today)),
        agreements_made: u32::try_from(made).unwrap_or(u32::MAX),
        agreements_broken: broken_count(view, c, today),
        special_consideration: c.flags.special_consideration,
        rule: match (&rule.source, rule.only_unwilling_or_defaulting) {
            (Some(source), _) => source.clone(),
            (None, true) => format!(
                "transfer only without a response after the notice or after {} broken agreements",
                rule.broken_agreements_for_transfer
            ),
            (None, false) => "transfer decided case by case".to_owned(),
        },
    }
}
