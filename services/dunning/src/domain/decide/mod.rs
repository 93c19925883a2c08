//! The decision: what one debtor's claims need on a business date.
//!
//! [`next_steps`] is a pure function of the debtor's state ([`DebtorView`]), the policies and the
//! date. It returns the actions to take today — each with its reason and the policy version that
//! decided it — and, for every claim, the next date on which anything can happen, so that the
//! service's daily run loads only the debtors that are due (an index on that date).
//!
//! The rules, each in one place:
//!
//! | rule | where |
//! |---|---|
//! | when a step falls due; holds; fee spacing | [`crate::domain::schedule`] |
//! | steps in order, at most one step per claim and day, skipped days | `plan_claim` |
//! | special consideration: meeting offer and caseworker before hard steps | `special_consideration_gate` |
//! | transfer: after the notice, above the minimum; automatic or proposed for review | `transfer_check`, `review_check` |
//! | priority claims: the municipality's own distraint instead of a transfer | `distraint_check` |
//! | the small-balance threshold: no reminder, fee or transfer below it | `check_step` |
//! | prepayments are not arrears: nothing at all | `assess_claims` |
//! | supply suspension: broken agreement and notice | `supply_check` |
//! | one letter and one fee for claims at the same step | `emit_step`, `fee_for_group` |
//! | default interest | [`crate::domain::interest`] |
//! | limitation and write-off proposal | [`crate::domain::limitation`] |
//! | settled, written-off, transferred or zero-balance claims get nothing | [`ClaimState::is_active`] |
//!
//! **Skipped days.** The decision looks only at the state and the date, so a date that jumped
//! forward is evaluated as of the new date: each claim takes only its next due step (never three
//! reminders on one morning); the following step is counted from today. Interest periods that
//! were missed are caught up.
//!
//! **Several claims at the same step** (DOMAIN.md: several overdue claims may be gathered in one
//! letter, then one fee): claims of the debtor that reach the same step of the same policy
//! version on the same day get one letter, and a fee-bearing step one fee, charged on the claim
//! with the earliest due date, then the lowest claim id, among those that may still carry a fee.

mod checks;
mod dates;
mod emit;

use std::borrow::Cow;
use std::collections::BTreeMap;

use restance_kernel::{BusinessDate, Money, PartyKind};

use crate::domain::actions::TransferGrounds;
use crate::domain::actions::{Action, Decision, Decisions};
use crate::domain::limitation::limitation_date;
use crate::domain::policy::{Policies, PolicyRef, Resolved, Step};
use crate::domain::view::{ClaimState, DebtorView, Hold};
use checks::{OnceADay, needs_restoration, plan_claim, transfer_grounds};
use dates::next_action_date;
use emit::{emit_gates, emit_interest, emit_pre_due, emit_restorations, emit_step, emit_write_off};

/// What the step sequence asks of one claim today.
#[derive(Debug)]
enum Outcome<'p> {
    /// No step left: the procedure is complete.
    Finished,
    /// The next step falls due on this date; `None`: only an event can move it (a hold
    /// without end, a balance below the transfer minimum).
    Waiting(Option<BusinessDate>),
    /// Take step `number` today.
    Take {
        number: u32,
        step: &'p Step,
        reason: String,
    },
    /// A gate sends something before step `number`.
    Gate {
        number: u32,
        gate: Gate,
        reason: String,
    },
}

/// What a gate sends before a step may be taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gate {
    /// Special consideration: a meeting offer and/or a caseworker alert.
    Meeting { offer: bool, alert: bool },
    /// A transfer found no written notice: send it now (with the `reminder_2` letter).
    TransferNotice,
    /// `transfer = review`: propose the transfer to a caseworker.
    TransferProposal,
    /// A claim kept from transfer with a plan offer: send the offer.
    PlanOffer,
    /// A priority claim: the notice before distraint.
    DistraintNotice,
    /// A priority claim: open the distraint case.
    DistraintCase,
}

/// The result of checking a due step's conditions.
#[derive(Debug)]
enum Check {
    Go(String),
    Skip(String),
    Wait(Option<BusinessDate>),
    Gate(Gate, String),
}

/// One claim's plan for today.
#[derive(Debug)]
struct ClaimPlan<'p> {
    /// Steps passed over today, with why.
    skipped: Vec<(u32, String)>,
    outcome: Outcome<'p>,
}

/// Decides what one debtor's claims need on `date`: see the module documentation.
pub fn next_steps(view: &DebtorView, policies: &Policies, date: BusinessDate) -> Decisions {
    let mut out = Decisions::empty(date);
    let live = assess_claims(view, policies, date, &mut out);
    let agenda = plan_steps(view, &live, date);
    agenda.emit(&mut out, date);
    out.next_action = next_action_dates(view, &out, policies, date);
    out
}

/// First pass, per claim in order of due date and id: the policy in force, supply restoration,
/// interest, limitation. Returns the open claims that go on to their steps, with today's
/// interest in their balance (the transfer minimum counts it).
fn assess_claims<'a>(
    view: &'a DebtorView,
    policies: &'a Policies,
    date: BusinessDate,
    out: &mut Decisions,
) -> Vec<Live<'a>> {
    let mut order: Vec<&ClaimState> = view.claims.iter().collect();
    order.sort_by(|a, b| (a.due_date, &a.claim_id).cmp(&(b.due_date, &b.claim_id)));
    let mut restorations: Vec<(&ClaimState, PolicyRef)> = Vec::new();
    let mut pre_due: BTreeMap<PolicyRef, Vec<&ClaimState>> = BTreeMap::new();
    let mut live = Vec::new();
    for claim in order {
        let resolved = match policies.resolve(&view.municipality, &claim.category, date) {
            Ok(r) => r,
            Err(problem) => {
                if claim.is_active() {
                    out.problems
                        .push(format!("claim {}: {problem}", claim.claim_id));
                }
                continue;
            }
        };
        if needs_restoration(view, claim, date) {
            restorations.push((claim, resolved.policy_ref()));
        }
        if !claim.is_active() || claim.prepayment {
            // a prepayment is not arrears (seed 000): no step, fee, interest or transfer
            continue;
        }
        if pre_due_notice_on(claim, &resolved, date) {
            pre_due
                .entry(resolved.policy_ref())
                .or_default()
                .push(claim);
        }
        let holds: Vec<&Hold> = view.holds_of(&claim.claim_id).collect();
        let Some(limitation) = limitation_date(
            claim,
            holds.iter().copied(),
            resolved.version.limitation_years,
            date,
        ) else {
            out.problems.push(format!(
                "claim {}: limitation date out of range",
                claim.claim_id
            ));
            continue;
        };
        let interest = emit_interest(out, claim, &holds, &resolved, limitation, date);
        if claim.history.write_off_proposed.is_some() {
            continue;
        }
        if date >= limitation {
            emit_write_off(out, claim, &resolved, limitation);
            continue;
        }
        live.push(Live {
            claim: with_interest(claim, interest),
            resolved,
        });
    }
    emit_restorations(out, &restorations, date);
    emit_pre_due(out, &pre_due, date);
    live
}

/// Seed 001: a friendly notice `days_before` the due date (or later, before the due date, when a
/// day was skipped), once, for claims not collected by direct debit. A claim first seen on its
/// due date or later gets none.
pub(super) fn pre_due_notice_on(
    claim: &ClaimState,
    resolved: &Resolved<'_>,
    date: BusinessDate,
) -> bool {
    let Some(notice) = resolved.version.pre_due_notice else {
        return false;
    };
    !claim.direct_debit
        && claim.history.pre_due_sent.is_none()
        && date < claim.due_date
        && pre_due_date(claim, notice).is_some_and(|from| from <= date)
}

/// The day the notice before the due date is due.
pub(super) fn pre_due_date(
    claim: &ClaimState,
    notice: crate::domain::policy::PreDueNotice,
) -> Option<BusinessDate> {
    claim
        .due_date
        .checked_add_days(-i64::from(notice.days_before))
}

/// What the open claims' step sequences ask for today, grouped: claims that take the same step
/// of the same policy version share one letter.
#[derive(Debug, Default)]
struct Agenda<'a> {
    steps: BTreeMap<(PolicyRef, u32), Vec<Planned<'a>>>,
    skips: BTreeMap<(PolicyRef, u32, String), Vec<&'a ClaimState>>,
    gates: Vec<Gated<'a>>,
}

/// Second pass: each open claim's plan for today, grouped into an [`Agenda`].
fn plan_steps<'a>(view: &DebtorView, live: &'a [Live<'a>], date: BusinessDate) -> Agenda<'a> {
    let mut agenda = Agenda::default();
    for Live { claim, resolved } in live {
        let claim: &ClaimState = claim;
        let resolved = *resolved;
        let plan = plan_claim(view, claim, &resolved, date, OnceADay::Enforce);
        for (number, reason) in plan.skipped {
            agenda
                .skips
                .entry((resolved.policy_ref(), number, reason))
                .or_default()
                .push(claim);
        }
        match plan.outcome {
            Outcome::Take {
                number,
                step,
                reason,
            } => agenda
                .steps
                .entry((resolved.policy_ref(), number))
                .or_default()
                .push(Planned {
                    claim,
                    resolved,
                    step,
                    reason,
                }),
            Outcome::Gate {
                number,
                gate,
                reason,
            } => agenda.gates.push(Gated {
                claim,
                resolved,
                number,
                gate,
                grounds: (gate == Gate::TransferProposal)
                    .then(|| transfer_grounds(view, claim, &resolved, date)),
                reason,
            }),
            Outcome::Finished | Outcome::Waiting(_) => {}
        }
    }
    agenda
}

impl Agenda<'_> {
    /// The decisions: skipped steps, then the steps by policy and number, then the gates.
    fn emit(&self, out: &mut Decisions, date: BusinessDate) {
        for ((policy, number, reason), claims) in &self.skips {
            out.decisions.push(Decision {
                policy: policy.clone(),
                reason: format!("step {number} passed over: {reason}"),
                action: Action::StepSkipped {
                    step: *number,
                    claim_ids: claim_ids(claims),
                },
            });
        }
        for ((_, number), group) in &self.steps {
            emit_step(out, group, *number, date);
        }
        emit_gates(out, &self.gates, date);
    }
}

/// Last pass: every claim's next action date, from the state after today's decisions.
fn next_action_dates(
    view: &DebtorView,
    out: &Decisions,
    policies: &Policies,
    date: BusinessDate,
) -> BTreeMap<String, Option<BusinessDate>> {
    let mut after = view.clone();
    after.record(out);
    after
        .claims
        .iter()
        .map(|claim| {
            (
                claim.claim_id.clone(),
                next_action_date(&after, claim, policies, date),
            )
        })
        .collect()
}

/// An open claim that goes on to its steps today, with today's interest in its balance.
#[derive(Debug)]
struct Live<'a> {
    claim: Cow<'a, ClaimState>,
    resolved: Resolved<'a>,
}

/// The claim with `interest` (charged today) added to its balance, so that the transfer minimum
/// counts it; borrowed when nothing was charged.
fn with_interest(claim: &ClaimState, interest: Money) -> Cow<'_, ClaimState> {
    if interest.is_zero() {
        return Cow::Borrowed(claim);
    }
    let mut owned = claim.clone();
    owned.balance.interest = owned
        .balance
        .interest
        .checked_add(interest)
        .unwrap_or(owned.balance.interest);
    Cow::Owned(owned)
}

/// A claim whose step (or gate) is taken today.
#[derive(Debug, Clone)]
struct Planned<'a> {
    claim: &'a ClaimState,
    resolved: Resolved<'a>,
    step: &'a Step,
    reason: String,
}

/// A claim for which a gate sends something today instead of its step.
#[derive(Debug, Clone)]
struct Gated<'a> {
    claim: &'a ClaimState,
    resolved: Resolved<'a>,
    /// The step the gate stands before.
    number: u32,
    gate: Gate,
    /// A transfer proposal's grounds.
    grounds: Option<TransferGrounds>,
    reason: String,
}

fn claim_ids(claims: &[&ClaimState]) -> Vec<String> {
    claims.iter().map(|c| c.claim_id.clone()).collect()
}

/// True if a step applies to this claim at all: the debtor kind (`only_for`, company final
/// notice) and, for supply steps, a category that allows closure. Steps that do not apply are
/// passed over without a record: the answer never changes for the claim.
fn applies(step: &Step, claim: &ClaimState, kind: PartyKind) -> bool {
    step.applies_to(kind) && (!step.is_supply_step() || claim.flags.supply_closure_allowed)
}

#[cfg(test)]
mod tests;
