//! Payment plans (afdragsordninger): agreed, revised and cancelled by a caseworker; followed from
//! invoicing's payments; completed, reminded and defaulted by the service itself.
//!
//! Decisions recorded here:
//! - **Coverage**: a plan covers the claims named (or every open claim of the debtor) at the
//!   balance they have in the projection (principal + fees + interest). A claim is in at most
//!   one active plan. Claims under an active deferral are taken over: the deferral ends with
//!   `replaced_by_plan` — but only when the plan covers every claim of that deferral; otherwise
//!   the request is refused (409), so that no deferred claim silently falls back into dunning.
//! - **The payment reference** is the plan's own: a per-municipality sequence →
//!   `Municipality::plan_payment_reference` (the top tenth of the number space, never a claim's).
//!   A revision keeps it; invoicing allocates a payment quoting it to the covered claims.
//! - **Paid** = what invoicing allocated to the covered claims from the plan's created date on,
//!   counted per revision: a revision starts afresh on the remaining balance, misses reset.
//! - **Completed** (`paid`) when every covered claim has left the books — settled, written off,
//!   or transferred to state collection. A transferred claim leaves the plan's coverage (the
//!   state collects it now; a payment on the plan's reference can no longer reach it) and the
//!   caseworker gets a task to revise the plan for the claims that remain.
//! - **A revision** (`agreements.plan.created.v1` again: same plan id, next revision, same
//!   reference) is dated the business day it was agreed: it is a new acknowledgement.
//! - **An assignment of a future receivable** (transport, seed 002; `POST /api/v1/assignments`)
//!   is a plan of kind `assignment`: the citizen assigns a named future amount (a tax refund,
//!   holiday pay) to the listed claims. One instalment: the expected amount — at most the covered
//!   balance — on the expected date (moved to a business day), the agreement's own payment
//!   reference, `agreements.plan.created.v1` with `kind: assignment` and `assignment.source`, so
//!   dunning holds the claims and invoicing allocates a payment quoting the reference exactly as
//!   for a plan. The date missed (past `plans.grace_days`) is a default at once — a broken
//!   agreement like a missed instalment, no reminder first (`misses_before_default` is 1 for an
//!   assignment: there is no later instalment to catch up with); paid → completed. An amount
//!   that came short leaves the `plan_balance_remaining` task. It is not revised: cancel it and
//!   agree a plan for what is left. Its letter is `assignment_confirmation`.
//! - **Cancel** ends the plan by agreement (`plan.completed`, reason `cancelled`): not a broken
//!   agreement.

mod tracking;
mod views;

pub use tracking::*;
pub use views::*;

use std::collections::BTreeSet;

use restance_bus::Effects;
use restance_contracts::messages::{
    AgreementKind, AgreementScope, AssignedReceivable, Instalment as WireInstalment, PlanCompleted,
    PlanCreated, PlanDefaulted, PlanEndReason,
};
use restance_kernel::{BusinessDate, Money};
use sea_orm::{DatabaseTransaction, DbErr};
use serde_json::{Value, json};

use crate::config::LetterKind;
use crate::context::{Actor, Failure, Refusal, business_day, emit, lock_debtor, requested_claims};
use crate::domain::{
    Frequency, Instalment, Schedule, ScheduleError, Sizing, Terms, TrackingRules, ids,
};
use crate::letters::{self, Addressee, PlanLetter, templates};
use crate::state::Shared;
use crate::store::queries::{self, AuditEntry, ClaimRow, CoverageKind, PlanRow, PlanStatus};
use crate::{deferrals, metrics, tasks};

/// A caseworker's new plan.
#[derive(Debug, Clone)]
pub struct NewPlan {
    /// Municipality code.
    pub municipality: String,
    /// The debtor.
    pub debtor_id: String,
    /// The claims; empty = every open claim of the debtor.
    pub claim_ids: Vec<String>,
    /// How the instalments are sized.
    pub sizing: Sizing,
    /// How often.
    pub frequency: Frequency,
    /// The first due date.
    pub first_due_date: BusinessDate,
    /// The caseworker's note.
    pub note: Option<String>,
    /// An assignment of a future receivable instead of a payment plan (then `sizing` and
    /// `frequency` are not used; `first_due_date` is the expected date).
    pub assignment: Option<AssignmentTerms>,
}

/// What an assignment of a future receivable (transport) assigns.
#[derive(Debug, Clone)]
pub struct AssignmentTerms {
    /// What, e.g. `tax refund 2026` (one line, no personal data: it goes on the bus).
    pub source: String,
    /// How much is expected; the assignment covers at most the claims' balance.
    pub expected_amount: Money,
}

/// The tracking rules for `plan`: an assignment has one instalment and nothing later to catch up
/// with, so its one miss is the default.
pub fn rules_of(rules: TrackingRules, plan: &PlanRow) -> TrackingRules {
    if plan.is_assignment() {
        TrackingRules {
            misses_before_default: 1,
            ..rules
        }
    } else {
        rules
    }
}

/// A caseworker's revision.
#[derive(Debug, Clone)]
pub struct Revision {
    /// How the instalments are sized.
    pub sizing: Sizing,
    /// How often (unchanged when absent).
    pub frequency: Option<Frequency>,
    /// The first due date of the new schedule.
    pub first_due_date: BusinessDate,
    /// A new note (the old one stays when absent).
    pub note: Option<String>,
}

/// The terms as stored and shown.
fn terms_json(sizing: &Sizing, frequency: Frequency, first_due: BusinessDate) -> Value {
    let mut terms = match sizing {
        Sizing::Instalment(a) => json!({"instalment": a}),
        Sizing::Count(n) => json!({"number_of_instalments": n}),
        Sizing::Budget(b) => json!({
            "budget": {"monthly_income": b.monthly_income, "monthly_expenses": b.monthly_expenses},
            "capacity": b.capacity(frequency),
        }),
    };
    if let Some(t) = terms.as_object_mut() {
        t.insert("frequency".into(), json!(frequency));
        t.insert("first_due_date".into(), json!(first_due));
    }
    terms
}

/// The request field a schedule problem is about.
fn schedule_refusal(err: &ScheduleError, sizing: &Sizing) -> Refusal {
    let sizing_field = match sizing {
        Sizing::Instalment(_) => "instalment",
        Sizing::Count(_) => "number_of_instalments",
        Sizing::Budget(_) => "budget",
    };
    let field = match err {
        ScheduleError::NothingToPay => "claim_ids",
        ScheduleError::OutOfRange => "first_due_date",
        _ => sizing_field,
    };
    Refusal::unprocessable(field, err.to_string())
}

/// An assignment's one instalment: the expected amount, at most the covered balance, on the
/// expected date (moved to a business day).
fn assignment_schedule(
    balance: Money,
    a: &AssignmentTerms,
    expected: BusinessDate,
    municipality: &restance_kernel::Municipality,
) -> Result<Schedule, Refusal> {
    if !balance.is_positive() {
        return Err(Refusal::unprocessable(
            "claim_ids",
            ScheduleError::NothingToPay.to_string(),
        ));
    }
    if !a.expected_amount.is_positive() {
        return Err(Refusal::unprocessable(
            "expected_amount",
            "must be greater than zero",
        ));
    }
    Ok(Schedule {
        instalments: vec![Instalment {
            due_date: municipality
                .calendar()
                .next_business_day_on_or_after(expected),
            amount: a.expected_amount.min(balance),
        }],
    })
}

/// The first due date must be on or after the business date and within the configured reach.
fn check_first_due(shared: &Shared, day: BusinessDate, first: BusinessDate) -> Result<(), Refusal> {
    let max = shared.config.plans.max_first_due_days;
    if first < day {
        return Err(Refusal::unprocessable(
            "first_due_date",
            format!("{first} is before the business date {day}"),
        ));
    }
    if day.days_until(first) > i64::from(max) {
        return Err(Refusal::unprocessable(
            "first_due_date",
            format!("{first} is more than {max} days after the business date {day}"),
        ));
    }
    Ok(())
}

fn sum_balance(claims: &[ClaimRow]) -> Money {
    claims
        .iter()
        .fold(Money::ZERO, |s, c| s.checked_add(c.balance()).unwrap_or(s))
}

fn wire(instalments: &[Instalment]) -> Vec<WireInstalment> {
    instalments
        .iter()
        .map(|i| WireInstalment {
            due_date: i.due_date,
            amount: i.amount,
        })
        .collect()
}

fn scope(plan: &PlanRow, claim_ids: Vec<String>) -> AgreementScope {
    AgreementScope {
        municipality: plan.municipality.clone(),
        debtor_id: plan.debtor_id.clone(),
        claim_ids,
    }
}

/// `agreements.plan.created.v1` and the confirmation letter for the plan's current revision.
fn announce(
    shared: &Shared,
    effects: &mut Effects,
    plan: &PlanRow,
    instalments: &[Instalment],
    claims: &[ClaimRow],
    day: BusinessDate,
) -> Result<(), Failure> {
    let municipality = shared.municipality(&plan.municipality)?;
    let claim_ids: Vec<String> = claims.iter().map(|c| c.claim_id.clone()).collect();
    emit(
        effects,
        PlanCreated {
            plan_id: plan.plan_id.clone(),
            scope: scope(plan, claim_ids.clone()),
            created_date: day,
            currency: plan.currency,
            total: plan.total,
            instalments: wire(instalments),
            payment_reference: Some(plan.payment_reference.clone()),
            revision: Some(plan.revision),
            kind: plan.is_assignment().then_some(AgreementKind::Assignment),
            assignment: plan
                .assignment_source
                .as_ref()
                .map(|source| AssignedReceivable {
                    source: source.clone(),
                }),
        },
    )?;
    let refs: Vec<&ClaimRow> = claims.iter().collect();
    let letter = PlanLetter {
        plan_id: &plan.plan_id,
        instalments,
        claims: &refs,
        ocr_line: &plan.ocr_line,
        currency: plan.currency,
        legal_basis: shared
            .config
            .legal_basis(&plan.municipality, LetterKind::Plan),
    };
    let (template, data) = match &plan.assignment_source {
        Some(source) => (
            templates::ASSIGNMENT_CONFIRMATION,
            letters::assignment_confirmation(&shared.catalog, municipality, &letter, source),
        ),
        None => (
            templates::PLAN_CONFIRMATION,
            letters::plan_confirmation(&shared.catalog, municipality, &letter),
        ),
    };
    emit(
        effects,
        letters::request(
            ids::plan_confirmation(&plan.plan_id, plan.revision),
            template,
            &Addressee {
                municipality: &plan.municipality,
                office: &plan.office,
                debtor_id: &plan.debtor_id,
                case_id: &plan.plan_id,
                claim_ids,
            },
            data,
        ),
    )?;
    Ok(())
}

/// `POST /api/v1/plans`: a new plan, its schedule, its reference, its letter.
pub async fn create(
    tx: &DatabaseTransaction,
    shared: &Shared,
    effects: &mut Effects,
    actor: &Actor,
    req: NewPlan,
) -> Result<PlanView, Failure> {
    let municipality = shared.municipality(&req.municipality)?;
    lock_debtor(tx, &req.municipality, &req.debtor_id).await?;
    let day = business_day(tx).await?;
    let claims = requested_claims(tx, &req.municipality, &req.debtor_id, &req.claim_ids).await?;
    let ids: Vec<String> = claims.iter().map(|c| c.claim_id.clone()).collect();

    let deferred = deferrals_to_replace(tx, &ids).await?;

    check_first_due(shared, day, req.first_due_date)?;
    let balance = sum_balance(&claims);
    let (schedule, terms) = requested_schedule(&req, balance, municipality)?;

    let seq = queries::next_reference_seq(tx, &req.municipality).await?;
    let reference = municipality.plan_payment_reference(seq).map_err(|e| {
        DbErr::Custom(format!(
            "no plan payment reference for municipality {}: {e}",
            req.municipality
        ))
    })?;
    let plan = PlanRow {
        plan_id: ids::new_id(if req.assignment.is_some() {
            "asg"
        } else {
            "pln"
        }),
        municipality: req.municipality.clone(),
        debtor_id: req.debtor_id.clone(),
        office: claims
            .first()
            .map_or_else(String::new, |c| c.office.clone()),
        state: PlanStatus::Active,
        revision: 1,
        created_date: day,
        revised_date: day,
        currency: claims.first().map_or(municipality.currency, |c| c.currency),
        total: schedule.total(),
        frequency: req.frequency,
        terms,
        payment_reference: reference.key().to_owned(),
        ocr_line: reference.ocr_line(),
        note: req.note,
        remaining_task_revision: None,
        ended_date: None,
        end_reason: None,
        created_by: actor.name.clone(),
        assignment_source: req.assignment.as_ref().map(|a| a.source.clone()),
    };
    queries::save_plan(tx, &plan).await?;
    queries::insert_plan_claims(tx, &plan.plan_id, &ids).await?;
    queries::insert_instalments(tx, &plan.plan_id, 1, &schedule.instalments).await?;
    if !queries::cover(tx, CoverageKind::Plan, &plan.plan_id, &ids).await? {
        return Err(Failure::Refused(Refusal::conflict(
            "another plan took one of these claims at the same moment; look at the debtor again",
        )));
    }
    for deferral_id in &deferred {
        deferrals::replace_by_plan(tx, effects, actor, deferral_id, &plan.plan_id, day).await?;
    }
    announce(shared, effects, &plan, &schedule.instalments, &claims, day)?;
    let after = view(tx, &plan, shared.config.plans.rules(), Some(day)).await?;
    queries::audit(
        tx,
        AuditEntry {
            caller: &actor.name,
            role: &actor.role,
            action: if plan.is_assignment() {
                "create_assignment"
            } else {
                "create_plan"
            },
            entity: &format!("plan:{}", plan.plan_id),
            outcome: "done",
            before: None,
            after: Some(&view_json(&after)),
            detail: &format!(
                "{} instalments, total {} {}",
                schedule.instalments.len(),
                plan.total,
                plan.currency
            ),
        },
    )
    .await?;
    metrics::plan_created();
    Ok(after)
}

/// The active deferrals a new plan of the claims `ids` replaces. Refused when a claim is in an
/// active plan already, or when such a deferral also covers a claim the plan does not.
async fn deferrals_to_replace(
    tx: &DatabaseTransaction,
    ids: &[String],
) -> Result<BTreeSet<String>, Failure> {
    let in_plans = queries::coverage_of(tx, CoverageKind::Plan, ids).await?;
    if let Some((claim, plan)) = in_plans.iter().next() {
        return Err(Failure::Refused(Refusal::conflict(format!(
            "claim {claim} is already covered by the active plan {plan}: revise that plan instead (a claim is in at most one active plan)"
        ))));
    }
    let deferred: BTreeSet<String> = queries::coverage_of(tx, CoverageKind::Deferral, ids)
        .await?
        .into_values()
        .collect();
    let covered: BTreeSet<&String> = ids.iter().collect();
    for deferral_id in &deferred {
        let outside: Vec<String> = queries::deferral_claims(tx, deferral_id)
            .await?
            .into_iter()
            .filter(|c| !covered.contains(c))
            .collect();
        if !outside.is_empty() {
            return Err(Failure::Refused(Refusal::conflict(format!(
                "the active deferral {deferral_id} also covers {} which this plan does not: include them or end the deferral first",
                outside.join(", ")
            ))));
        }
    }
    Ok(deferred)
}

/// A new plan's schedule of `balance` and its terms as stored: an assignment's expected payment,
/// or instalments by the requested sizing and frequency.
fn requested_schedule(
    req: &NewPlan,
    balance: Money,
    municipality: &restance_kernel::Municipality,
) -> Result<(Schedule, Value), Failure> {
    let schedule = match &req.assignment {
        Some(a) => assignment_schedule(balance, a, req.first_due_date, municipality)?,
        None => {
            let terms = Terms {
                sizing: req.sizing,
                frequency: req.frequency,
                first_due: req.first_due_date,
            };
            Schedule::plan(balance, &terms, &municipality.calendar())
                .map_err(|e| schedule_refusal(&e, &req.sizing))?
        }
    };
    let terms = match &req.assignment {
        Some(a) => json!({
            "source": a.source,
            "expected_date": req.first_due_date,
            "expected_amount": a.expected_amount,
        }),
        None => terms_json(&req.sizing, req.frequency, req.first_due_date),
    };
    Ok((schedule, terms))
}

/// Loads a plan and locks its debtor (then reads it again: it may have changed meanwhile).
async fn lock_plan(tx: &DatabaseTransaction, plan_id: &str) -> Result<PlanRow, Failure> {
    let Some(plan) = queries::plan(tx, plan_id).await? else {
        return Err(Failure::Refused(Refusal::not_found(format!(
            "no plan {plan_id}"
        ))));
    };
    queries::lock_debtors(tx, &[(plan.municipality.clone(), plan.debtor_id.clone())]).await?;
    queries::plan(tx, plan_id)
        .await?
        .ok_or_else(|| Failure::Refused(Refusal::not_found(format!("no plan {plan_id}"))))
}

fn require_active(plan: &PlanRow) -> Result<(), Refusal> {
    if plan.state == PlanStatus::Active {
        Ok(())
    } else {
        Err(Refusal::conflict(format!(
            "plan {} is {}, not active",
            plan.plan_id,
            plan.state.as_str()
        )))
    }
}

/// `POST /api/v1/plans/{id}/revise`: a new schedule on the remaining balance, the next revision.
pub async fn revise(
    tx: &DatabaseTransaction,
    shared: &Shared,
    effects: &mut Effects,
    actor: &Actor,
    plan_id: &str,
    req: Revision,
) -> Result<PlanView, Failure> {
    let mut plan = lock_plan(tx, plan_id).await?;
    require_active(&plan)?;
    if plan.is_assignment() {
        return Err(Failure::Refused(Refusal::conflict(format!(
            "{plan_id} is an assignment of a future receivable: it is not revised; cancel it and agree a plan for what is left"
        ))));
    }
    let day = business_day(tx).await?;
    let rules = shared.config.plans.rules();
    let tracked = load(tx, &plan).await?;
    let before = view_of(&plan, &tracked, rules, Some(day));
    let open: Vec<ClaimRow> = tracked
        .claims
        .iter()
        .filter(|c| c.is_open())
        .cloned()
        .collect();
    let balance = sum_balance(&open);
    if !balance.is_positive() {
        return Err(Failure::Refused(Refusal::conflict(format!(
            "plan {plan_id}: the covered claims have nothing left open; it completes when invoicing settles them"
        ))));
    }
    check_first_due(shared, day, req.first_due_date)?;
    let frequency = req.frequency.unwrap_or(plan.frequency);
    let terms = Terms {
        sizing: req.sizing,
        frequency,
        first_due: req.first_due_date,
    };
    let municipality = shared.municipality(&plan.municipality)?;
    let schedule = Schedule::plan(balance, &terms, &municipality.calendar())
        .map_err(|e| schedule_refusal(&e, &req.sizing))?;
    plan.revision += 1;
    plan.revised_date = day;
    plan.total = schedule.total();
    plan.frequency = frequency;
    plan.terms = terms_json(&req.sizing, frequency, req.first_due_date);
    if req.note.is_some() {
        plan.note = req.note;
    }
    queries::insert_instalments(tx, &plan.plan_id, plan.revision, &schedule.instalments).await?;
    queries::save_plan(tx, &plan).await?;
    announce(shared, effects, &plan, &schedule.instalments, &open, day)?;
    let after = view(tx, &plan, rules, Some(day)).await?;
    queries::audit(
        tx,
        AuditEntry {
            caller: &actor.name,
            role: &actor.role,
            action: "revise_plan",
            entity: &format!("plan:{plan_id}"),
            outcome: "done",
            before: Some(&view_json(&before)),
            after: Some(&view_json(&after)),
            detail: &format!(
                "revision {}: {} instalments, total {} {}",
                plan.revision,
                schedule.instalments.len(),
                plan.total,
                plan.currency
            ),
        },
    )
    .await?;
    metrics::plan_revised();
    Ok(after)
}

/// `POST /api/v1/plans/{id}/cancel`: ended by agreement (`plan.completed`, `cancelled`).
pub async fn cancel(
    tx: &DatabaseTransaction,
    shared: &Shared,
    effects: &mut Effects,
    actor: &Actor,
    plan_id: &str,
    reason: &str,
) -> Result<PlanView, Failure> {
    let plan = lock_plan(tx, plan_id).await?;
    require_active(&plan)?;
    let day = business_day(tx).await?;
    end(
        tx,
        shared,
        effects,
        actor,
        plan,
        End::Cancelled(reason.to_owned()),
        day,
    )
    .await
}

/// How a plan ends.
#[derive(Debug, Clone)]
enum End {
    /// Every covered claim left the books.
    Paid,
    /// By agreement, with the caseworker's reason (kept here, never on the bus).
    Cancelled(String),
    /// Broken, with the reason for the bus.
    Defaulted(String),
}

/// Ends an active plan: state, coverage, event, task, audit.
async fn end(
    tx: &DatabaseTransaction,
    shared: &Shared,
    effects: &mut Effects,
    actor: &Actor,
    mut plan: PlanRow,
    how: End,
    on: BusinessDate,
) -> Result<PlanView, Failure> {
    let rules = shared.config.plans.rules();
    let tracked = load(tx, &plan).await?;
    let before = view_of(&plan, &tracked, rules, Some(on));
    let on = on.max(plan.revised_date);
    let claim_ids: Vec<String> = tracked
        .plan_claims
        .iter()
        .map(|c| c.claim_id.clone())
        .collect();
    let (state, reason, action) = match &how {
        End::Paid => (PlanStatus::Completed, "paid".to_owned(), "plan_completed"),
        End::Cancelled(why) => (
            PlanStatus::Cancelled,
            format!("cancelled: {why}"),
            "cancel_plan",
        ),
        End::Defaulted(why) => (PlanStatus::Defaulted, why.clone(), "plan_defaulted"),
    };
    plan.state = state;
    plan.ended_date = Some(on);
    plan.end_reason = Some(reason);
    queries::save_plan(tx, &plan).await?;
    queries::uncover(tx, CoverageKind::Plan, &plan.plan_id, None).await?;
    match &how {
        End::Paid | End::Cancelled(_) => {
            let reason = if matches!(how, End::Paid) {
                PlanEndReason::Paid
            } else {
                PlanEndReason::Cancelled
            };
            emit(
                effects,
                PlanCompleted {
                    plan_id: plan.plan_id.clone(),
                    scope: scope(&plan, claim_ids),
                    completed_date: on,
                    reason: Some(reason),
                },
            )?;
            metrics::plan_completed(reason);
        }
        End::Defaulted(why) => {
            emit(
                effects,
                PlanDefaulted {
                    plan_id: plan.plan_id.clone(),
                    scope: scope(&plan, tracked.claim_ids()),
                    defaulted_date: on,
                    reason: why.clone(),
                },
            )?;
            tasks::raise(
                tx,
                tasks::NewTask {
                    kind: tasks::PLAN_DEFAULTED,
                    municipality: &plan.municipality,
                    office: &plan.office,
                    debtor_id: &plan.debtor_id,
                    subject: &plan.plan_id,
                    occasion: &plan.revision.to_string(),
                    due_date: on,
                    text: format!(
                        "Plan {} is defaulted ({why}); dunning resumes. Contact the debtor.",
                        plan.plan_id
                    ),
                },
                on,
            )
            .await?;
            metrics::plan_defaulted();
        }
    }
    let after = view(tx, &plan, rules, Some(on)).await?;
    queries::audit(
        tx,
        AuditEntry {
            caller: &actor.name,
            role: &actor.role,
            action,
            entity: &format!("plan:{}", plan.plan_id),
            outcome: "done",
            before: Some(&view_json(&before)),
            after: Some(&view_json(&after)),
            detail: &format!("ended {on}"),
        },
    )
    .await?;
    Ok(after)
}
