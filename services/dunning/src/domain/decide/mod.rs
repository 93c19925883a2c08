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
//! | transfer: after the notice, above the minimum | `transfer_check` |
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

use std::borrow::Cow;
use std::collections::BTreeMap;

use restance_kernel::{BusinessDate, Money, PartyKind};

use crate::domain::actions::{Action, Decision, Decisions, FeeCharge, Letter, TransferredClaim};
use crate::domain::ids;
use crate::domain::interest;
use crate::domain::limitation::limitation_date;
use crate::domain::policy::{
    Channel, FALLBACK_MEETING_WAIT_DAYS, LegalTable, Policies, PolicyRef, PolicyVersion, RateUnit,
    Resolved, Step, StepAction, templates,
};
use crate::domain::schedule::{self, plus_days};
use crate::domain::view::{ClaimState, DebtorView, Hold, HoldKind};

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
    /// A gate sends something before the step.
    Gate { gate: Gate, reason: String },
}

/// What a gate sends before a step may be taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gate {
    /// Special consideration: a meeting offer and/or a caseworker alert.
    Meeting { offer: bool, alert: bool },
    /// A transfer found no written notice: send it now (with the `reminder_2` letter).
    TransferNotice,
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
        if !claim.is_active() {
            continue;
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
    live
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
            Outcome::Gate { gate, reason } => agenda.gates.push(Gated {
                claim,
                resolved,
                gate,
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
        emit_gates(out, &self.gates);
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
    gate: Gate,
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

/// The step sequence for one claim today: the next step after the last one recorded that
/// applies; if due, its conditions; steps whose conditions say "skip" are passed over and the
/// one after is looked at. At most one step is taken per claim and day: a claim that already
/// acted today (the day is evaluated again after an event) waits until tomorrow.
fn plan_claim<'p>(
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
enum OnceADay {
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
fn needs_restoration(view: &DebtorView, claim: &ClaimState, today: BusinessDate) -> bool {
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

/// Emits the interest the claim owes today; returns the total.
fn emit_interest(
    out: &mut Decisions,
    claim: &ClaimState,
    holds: &[&Hold],
    resolved: &Resolved<'_>,
    limitation: BusinessDate,
    today: BusinessDate,
) -> Money {
    let mut total = Money::ZERO;
    for charge in interest::due_charges(claim, holds, resolved.policy, limitation, today) {
        total = total.checked_add(charge.amount).unwrap_or(total);
        let unit = match charge.unit {
            RateUnit::PerStartedMonth => "per started month",
            RateUnit::PerYear => "a year",
        };
        out.decisions.push(Decision {
            policy: PolicyRef {
                id: resolved.policy_id.to_owned(),
                version: charge.version,
            },
            reason: format!(
                "default interest {} % {unit} on principal {} for {} to {} ({} days)",
                charge.rate, charge.principal, charge.period.from, charge.period.to, charge.days
            ),
            action: Action::Interest {
                interest_id: ids::interest_id(&claim.claim_id, charge.period.from),
                claim_id: claim.claim_id.clone(),
                period_from: charge.period.from,
                period_to: charge.period.to,
                rate: charge.rate,
                unit: charge.unit,
                days: charge.days,
                principal: charge.principal,
                amount: charge.amount,
                currency: claim.currency,
            },
        });
    }
    total
}

fn emit_write_off(
    out: &mut Decisions,
    claim: &ClaimState,
    resolved: &Resolved<'_>,
    limitation: BusinessDate,
) {
    out.decisions.push(Decision {
        policy: resolved.policy_ref(),
        reason: format!(
            "limitation date {limitation} reached ({} years from the due date or the last acknowledgement; DOMAIN.md, Limitation)",
            resolved.version.limitation_years
        ),
        action: Action::WriteOffProposal {
            proposal_id: ids::write_off_id(&claim.claim_id, limitation),
            claim_id: claim.claim_id.clone(),
            limitation_date: limitation,
            balance: claim.balance,
        },
    });
}

fn letter(claims: &[&ClaimState], step: u32, template: &str, channels: &[Channel]) -> Letter {
    let ids = claim_ids(claims);
    Letter {
        notification_id: ids::notification_id(&ids, step, template),
        template: template.to_owned(),
        channels: channels.to_vec(),
        office: claims.first().map(|c| c.office.clone()).unwrap_or_default(),
    }
}

fn group_reason(group: &[Planned<'_>]) -> String {
    let lead = group.first().map(|p| p.reason.as_str()).unwrap_or_default();
    if group.len() > 1 {
        format!(
            "{lead}; {} claims at the same step share one letter",
            group.len()
        )
    } else {
        lead.to_owned()
    }
}

/// One group: the claims of the debtor that take step `number` of one policy version today.
fn emit_step(out: &mut Decisions, group: &[Planned<'_>], number: u32, today: BusinessDate) {
    let Some(lead) = group.first() else {
        return;
    };
    let claims: Vec<&ClaimState> = group.iter().map(|p| p.claim).collect();
    let ids = claim_ids(&claims);
    let policy = lead.resolved.policy_ref();
    let reason = group_reason(group);
    let mut push = |reason: String, action: Action| {
        out.decisions.push(Decision {
            policy: policy.clone(),
            reason,
            action,
        });
    };
    match &lead.step.action {
        StepAction::Reminder {
            template,
            channels,
            fee,
            transfer_notice,
        } => {
            let charge = if *fee {
                fee_for_group(&claims, number, lead.resolved.table, today)
            } else {
                None
            };
            push(
                reason,
                Action::Reminder {
                    step: number,
                    claim_ids: ids,
                    letter: letter(&claims, number, template, channels),
                    fee: charge.map(|(claim, amount)| FeeCharge {
                        claim_id: claim.claim_id.clone(),
                        amount,
                    }),
                    transfer_notice: *transfer_notice,
                },
            );
            if let Some((claim, amount)) = charge {
                let basis = lead.resolved.table.fee_legal_basis.clone();
                push(
                    format!(
                        "reminder fee {amount} per reminder letter ({basis}), on the claim with the earliest due date that may still carry a fee"
                    ),
                    Action::Fee {
                        fee_id: ids::fee_id(&claim.claim_id, number),
                        claim_id: claim.claim_id.clone(),
                        step: number,
                        amount,
                        currency: claim.currency,
                        legal_basis: basis,
                    },
                );
            }
        }
        StepAction::MeetingOffer { channels } => {
            push(
                reason,
                Action::MeetingOffer {
                    step: Some(number),
                    claim_ids: ids,
                    letter: letter(&claims, number, templates::MEETING_OFFER, channels),
                },
            );
            let social: Vec<&ClaimState> = claims
                .iter()
                .copied()
                .filter(|c| c.flags.social_caseworker && c.history.caseworker_alerted.is_none())
                .collect();
            if !social.is_empty() {
                let social_ids = claim_ids(&social);
                push(
                    "the social caseworker is alerted with the meeting offer (DOMAIN.md principle 4)"
                        .into(),
                    Action::CaseworkerAlert {
                        step: None,
                        alert_id: ids::alert_id(&social_ids, number),
                        claim_ids: social_ids,
                    },
                );
            }
        }
        StepAction::CaseworkerAlert => push(
            reason,
            Action::CaseworkerAlert {
                step: Some(number),
                alert_id: ids::alert_id(&ids, number),
                claim_ids: ids,
            },
        ),
        StepAction::TransferNotice { template, channels } => push(
            reason,
            Action::TransferNotice {
                step: Some(number),
                claim_ids: ids,
                letter: letter(&claims, number, template, channels),
            },
        ),
        StepAction::Transfer { .. } => push(
            reason,
            Action::Transfer {
                step: number,
                authority: lead.resolved.jurisdiction.transfer_authority,
                claims: claims
                    .iter()
                    .map(|c| TransferredClaim {
                        claim_id: c.claim_id.clone(),
                        transfer_id: ids::transfer_id(&c.claim_id),
                        balance: c.balance,
                        currency: c.currency,
                        due_date: c.due_date,
                        notice_sent: c.history.transfer_notice_sent.unwrap_or(today),
                    })
                    .collect(),
                letter: letter(&claims, number, templates::TRANSFERRED_TO_COLLECTION, &[]),
            },
        ),
        StepAction::CompanyFinalNotice { deadline_days } => push(
            reason,
            Action::CompanyFinalNotice {
                step: number,
                claim_ids: ids,
                letter: letter(&claims, number, templates::COMPANY_FINAL_NOTICE, &[]),
                deadline: plus_days(today, *deadline_days).unwrap_or(today),
            },
        ),
        StepAction::SupplySuspensionNotice => push(
            reason,
            Action::SupplySuspensionNotice {
                step: number,
                claim_ids: ids,
                letter: letter(&claims, number, templates::SUPPLY_SUSPENSION_NOTICE, &[]),
            },
        ),
        StepAction::SupplySuspension { .. } => push(
            reason,
            Action::SupplySuspension {
                step: number,
                suspension_id: ids::suspension_id(&ids, number),
                claim_ids: ids,
            },
        ),
    }
}

/// One fee per letter (DOMAIN.md: several claims in one letter, then one fee), on the claim with
/// the earliest due date, then the lowest id, among those that may still carry a fee today: below
/// the jurisdiction's number of fee-bearing reminders, no fee yet for this step, and the fee
/// spacing respected. The amount is the table's fee, never above its cap.
fn fee_for_group<'a>(
    claims: &[&'a ClaimState],
    step: u32,
    table: &LegalTable,
    today: BusinessDate,
) -> Option<(&'a ClaimState, Money)> {
    let amount = table.fee_amount()?;
    let claim = claims.iter().copied().find(|c| {
        schedule::can_still_charge_fee(c, table)
            && !c.history.has_fee_for_step(step)
            && schedule::first_fee_allowed(c, table).is_some_and(|d| d <= today)
    })?;
    Some((claim, amount))
}

/// Gate letters: one meeting offer and one caseworker alert for all the debtor's claims that
/// need them today; a missing transfer notice per policy version.
fn emit_gates(out: &mut Decisions, gates: &[Gated<'_>]) {
    let pick = |want: fn(Gate) -> bool| -> Vec<&Gated<'_>> {
        gates.iter().filter(|g| want(g.gate)).collect()
    };
    let offers = pick(|g| matches!(g, Gate::Meeting { offer: true, .. }));
    if let Some(lead) = offers.first() {
        let claims: Vec<&ClaimState> = offers.iter().map(|p| p.claim).collect();
        out.decisions.push(Decision {
            policy: lead.resolved.policy_ref(),
            reason: lead.reason.clone(),
            action: Action::MeetingOffer {
                step: None,
                claim_ids: claim_ids(&claims),
                letter: letter(
                    &claims,
                    0,
                    templates::MEETING_OFFER,
                    &[Channel::Letter, Channel::Sms],
                ),
            },
        });
    }
    let alerts = pick(|g| matches!(g, Gate::Meeting { alert: true, .. }));
    if let Some(lead) = alerts.first() {
        let claims: Vec<&ClaimState> = alerts.iter().map(|p| p.claim).collect();
        let ids = claim_ids(&claims);
        out.decisions.push(Decision {
            policy: lead.resolved.policy_ref(),
            reason: lead.reason.clone(),
            action: Action::CaseworkerAlert {
                step: None,
                alert_id: ids::alert_id(&ids, 0),
                claim_ids: ids,
            },
        });
    }
    let mut notices: BTreeMap<PolicyRef, Vec<&Gated<'_>>> = BTreeMap::new();
    for p in pick(|g| g == Gate::TransferNotice) {
        notices.entry(p.resolved.policy_ref()).or_default().push(p);
    }
    for (policy, group) in notices {
        let claims: Vec<&ClaimState> = group.iter().map(|p| p.claim).collect();
        out.decisions.push(Decision {
            policy,
            reason: group.first().map(|p| p.reason.clone()).unwrap_or_default(),
            action: Action::TransferNotice {
                step: None,
                claim_ids: claim_ids(&claims),
                letter: letter(&claims, 0, templates::REMINDER_2, &[]),
            },
        });
    }
}

fn emit_restorations(
    out: &mut Decisions,
    restorations: &[(&ClaimState, PolicyRef)],
    today: BusinessDate,
) {
    let Some((lead, policy)) = restorations.first() else {
        return;
    };
    let claims: Vec<&ClaimState> = restorations.iter().map(|(c, _)| *c).collect();
    let ids = claim_ids(&claims);
    let suspended_on = lead.history.supply_suspended.unwrap_or(today);
    out.decisions.push(Decision {
        policy: policy.clone(),
        reason: "the claim no longer calls for closed supply: paid, written off, or under a plan or deferral".into(),
        action: Action::SupplyRestoration {
            restoration_id: ids::restoration_id(&ids, suspended_on),
            claim_ids: ids,
        },
    });
}

/// The next day anything can happen to the claim, given the state after today's decisions:
/// the earliest of its next step (or gate) date, its next interest assessment, its limitation
/// date and the next policy or legal-table change; tomorrow if a step is due again today (one
/// step per claim and day). Every part is a lower bound, so evaluating the claim only on this
/// date never misses an action.
fn next_action_date(
    after: &DebtorView,
    claim: &ClaimState,
    policies: &Policies,
    today: BusinessDate,
) -> Option<BusinessDate> {
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
    if !claim.is_active() || claim.history.write_off_proposed.is_some() {
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
    earliest([Some(limitation), interest, step])
}

fn earliest<const N: usize>(dates: [Option<BusinessDate>; N]) -> Option<BusinessDate> {
    dates.into_iter().flatten().min()
}

#[cfg(test)]
mod tests;
