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
//! - **Cancel** ends the plan by agreement (`plan.completed`, reason `cancelled`): not a broken
//!   agreement.

use std::collections::{BTreeMap, BTreeSet};

use restance_bus::Effects;
use restance_contracts::Problem;
use restance_contracts::messages::{
    AgreementScope, Instalment as WireInstalment, PlanCompleted, PlanCreated, PlanDefaulted,
    PlanEndReason,
};
use restance_kernel::{BusinessDate, Money};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbErr};
use serde::Serialize;
use serde_json::{Value, json};

use crate::config::LetterKind;
use crate::context::{Actor, Failure, Refusal, RefusalKind, Shared, emit};
use crate::domain::{
    self, Frequency, Instalment, InstalmentStatus, PlanState, Schedule, ScheduleError, Sizing,
    Terms, TrackingRules, ids,
};
use crate::letters::{self, Addressee, PlanLetter, ReminderLetter, templates};
use crate::store::queries::{
    self, AuditEntry, ClaimRow, ClaimState, CoverageKind, PlanRow, PlanStatus,
};
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

/// One instalment as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct InstalmentView {
    /// 1-based.
    pub seq: u32,
    /// When due.
    pub due_date: BusinessDate,
    /// How much.
    pub amount: Money,
    /// Paid towards it.
    pub paid: Money,
    /// `paid`, `upcoming`, `due` or `missed`.
    pub status: InstalmentStatus,
}

/// A covered claim as the plan view shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PlanClaimView {
    /// The claim.
    pub claim_id: String,
    /// When it left the plan (transferred).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub left_date: Option<BusinessDate>,
    /// Why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub left_reason: Option<String>,
}

/// A plan as the API shows it (and the audit trail records it).
#[derive(Debug, Clone, Serialize)]
pub struct PlanView {
    /// Its id.
    pub plan_id: String,
    /// Municipality.
    pub municipality: String,
    /// Debtor.
    pub debtor_id: String,
    /// Office.
    pub office: String,
    /// `active`, `defaulted`, `completed`, `cancelled`.
    pub state: PlanStatus,
    /// Current revision.
    pub revision: u32,
    /// First agreed.
    pub created_date: BusinessDate,
    /// Current revision agreed.
    pub revised_date: BusinessDate,
    /// Currency.
    pub currency: String,
    /// The schedule's total.
    pub total: Money,
    /// How often.
    pub frequency: Frequency,
    /// The agreed terms.
    pub terms: Value,
    /// The plan's payment reference (FIK payment id or KID).
    pub payment_reference: String,
    /// As printed.
    pub ocr_line: String,
    /// The claims.
    pub claims: Vec<PlanClaimView>,
    /// The current schedule with its progress.
    pub instalments: Vec<InstalmentView>,
    /// Paid towards the current revision.
    pub paid: Money,
    /// What the covered claims still have open.
    pub open_balance: Money,
    /// Instalments missed now.
    pub missed: u32,
    /// Reminders sent for the current revision.
    pub reminders_sent: u32,
    /// When it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_date: Option<BusinessDate>,
    /// Why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<String>,
    /// The caseworker's note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Who agreed it.
    pub created_by: String,
}

/// What the tracking of a plan reads from the store.
#[derive(Debug, Clone)]
pub struct Tracked {
    /// The current schedule.
    pub instalments: Vec<Instalment>,
    /// Paid towards it.
    pub paid: Money,
    /// The covered claims still in the plan (not transferred away).
    pub claims: Vec<ClaimRow>,
    /// Every claim id the plan ever covered, with its leaving.
    pub plan_claims: Vec<queries::PlanClaim>,
    /// Instalments that had their reminder.
    pub reminded: BTreeSet<u32>,
}

impl Tracked {
    /// What the claims still have open.
    pub fn open_balance(&self) -> Money {
        self.claims
            .iter()
            .filter(|c| c.is_open())
            .fold(Money::ZERO, |s, c| s.checked_add(c.balance()).unwrap_or(s))
    }

    /// The tracking's view of the plan.
    pub fn state<'a>(&'a self, plan: &PlanRow) -> PlanState<'a> {
        PlanState {
            instalments: &self.instalments,
            paid: self.paid,
            open_balance: self.open_balance(),
            reminded: &self.reminded,
            remaining_task_raised: plan.remaining_task_revision == Some(plan.revision),
        }
    }

    /// The ids of the claims still in the plan.
    pub fn claim_ids(&self) -> Vec<String> {
        self.claims.iter().map(|c| c.claim_id.clone()).collect()
    }
}

/// Loads what the tracking of `plan` reads.
pub async fn load(db: &impl ConnectionTrait, plan: &PlanRow) -> Result<Tracked, DbErr> {
    let plan_claims = queries::plan_claims(db, &plan.plan_id).await?;
    let ids: Vec<String> = plan_claims
        .iter()
        .filter(|c| c.left_date.is_none())
        .map(|c| c.claim_id.clone())
        .collect();
    Ok(Tracked {
        instalments: queries::instalments(db, &plan.plan_id, plan.revision).await?,
        paid: queries::plan_paid(db, &plan.plan_id, plan.revision).await?,
        claims: queries::claims_by_id(db, &ids).await?,
        plan_claims,
        reminded: queries::reminded(db, &plan.plan_id, plan.revision).await?,
    })
}

/// The plan as the API shows it on `day` (the last business date; none before the first).
pub async fn view(
    db: &impl ConnectionTrait,
    plan: &PlanRow,
    rules: TrackingRules,
    day: Option<BusinessDate>,
) -> Result<PlanView, DbErr> {
    let tracked = load(db, plan).await?;
    Ok(view_of(plan, &tracked, rules, day))
}

fn view_of(
    plan: &PlanRow,
    tracked: &Tracked,
    rules: TrackingRules,
    day: Option<BusinessDate>,
) -> PlanView {
    let day = day.unwrap_or(plan.revised_date);
    let live = plan.state == PlanStatus::Active;
    let progress = domain::progress(&tracked.state(plan), rules, day);
    let instalments: Vec<InstalmentView> = progress
        .iter()
        .map(|p| InstalmentView {
            seq: p.seq,
            due_date: p.instalment.due_date,
            amount: p.instalment.amount,
            paid: p.paid,
            // An ended plan shows what was paid; nothing of it is "missed" any more.
            status: if live || p.status == InstalmentStatus::Paid {
                p.status
            } else {
                InstalmentStatus::Upcoming
            },
        })
        .collect();
    let missed = instalments
        .iter()
        .filter(|i| i.status == InstalmentStatus::Missed)
        .count();
    PlanView {
        plan_id: plan.plan_id.clone(),
        municipality: plan.municipality.clone(),
        debtor_id: plan.debtor_id.clone(),
        office: plan.office.clone(),
        state: plan.state,
        revision: plan.revision,
        created_date: plan.created_date,
        revised_date: plan.revised_date,
        currency: plan.currency.code().to_owned(),
        total: plan.total,
        frequency: plan.frequency,
        terms: plan.terms.clone(),
        payment_reference: plan.payment_reference.clone(),
        ocr_line: plan.ocr_line.clone(),
        claims: tracked
            .plan_claims
            .iter()
            .map(|c| PlanClaimView {
                claim_id: c.claim_id.clone(),
                left_date: c.left_date,
                left_reason: c.left_reason.clone(),
            })
            .collect(),
        instalments,
        paid: tracked.paid,
        open_balance: tracked.open_balance(),
        missed: u32::try_from(missed).unwrap_or(u32::MAX),
        reminders_sent: u32::try_from(tracked.reminded.len()).unwrap_or(u32::MAX),
        ended_date: plan.ended_date,
        end_reason: plan.end_reason.clone(),
        note: plan.note.clone(),
        created_by: plan.created_by.clone(),
    }
}

fn view_json(view: &PlanView) -> Value {
    serde_json::to_value(view).unwrap_or(Value::Null)
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

/// The business date, or the refusal before the first one.
pub async fn business_day(db: &impl ConnectionTrait) -> Result<BusinessDate, Failure> {
    queries::last_business_date(db)
        .await?
        .ok_or_else(|| Failure::Refused(Refusal::no_business_day()))
}

/// Locks the debtor; refuses when no claim of theirs is known.
pub async fn lock_debtor(
    tx: &DatabaseTransaction,
    municipality: &str,
    debtor_id: &str,
) -> Result<(), Failure> {
    let key = (municipality.to_owned(), debtor_id.to_owned());
    if queries::lock_debtors(tx, std::slice::from_ref(&key))
        .await?
        .is_empty()
    {
        return Err(Failure::Refused(Refusal::not_found_at(
            "debtor_id",
            format!(
                "no claims of debtor {debtor_id} in municipality {municipality} are known (agreements learns them from invoicing.claim.opened.v1)"
            ),
        )));
    }
    Ok(())
}

/// The claims a request names (every open one when it names none), each the debtor's and open.
pub async fn requested_claims(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
    claim_ids: &[String],
) -> Result<Vec<ClaimRow>, Failure> {
    if claim_ids.is_empty() {
        let open: Vec<ClaimRow> = queries::claims_of_debtor(db, municipality, debtor_id)
            .await?
            .into_iter()
            .filter(ClaimRow::is_open)
            .collect();
        if open.is_empty() {
            return Err(Failure::Refused(Refusal::conflict_at(
                "claim_ids",
                format!("debtor {debtor_id} has no open claims"),
            )));
        }
        return Ok(open);
    }
    let found = queries::claims_by_id(db, claim_ids).await?;
    let by_id: BTreeMap<&str, &ClaimRow> = found.iter().map(|c| (c.claim_id.as_str(), c)).collect();
    // Unknown claims are a 404; known claims that are no longer open a 409.
    let (mut missing, mut closed) = (Vec::new(), Vec::new());
    for (i, id) in claim_ids.iter().enumerate() {
        let path = format!("claim_ids[{i}]");
        match by_id.get(id.as_str()) {
            Some(c) if c.municipality == municipality && c.debtor_id == debtor_id => {
                if !c.is_open() {
                    closed.push(Problem::new(
                        path,
                        format!("claim {id} is {}", c.state.as_str().replace('_', " ")),
                    ));
                }
            }
            _ => missing.push(Problem::new(
                path,
                format!("no claim {id} of debtor {debtor_id} in municipality {municipality}"),
            )),
        }
    }
    for (kind, problems) in [
        (RefusalKind::NotFound, missing),
        (RefusalKind::Conflict, closed),
    ] {
        if !problems.is_empty() {
            let mut refusal = Refusal::unprocessable_all(problems);
            refusal.kind = kind;
            return Err(Failure::Refused(refusal));
        }
    }
    Ok(found)
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
        },
    )?;
    let refs: Vec<&ClaimRow> = claims.iter().collect();
    let data = letters::plan_confirmation(
        &shared.catalog,
        municipality,
        &PlanLetter {
            plan_id: &plan.plan_id,
            instalments,
            claims: &refs,
            ocr_line: &plan.ocr_line,
            currency: plan.currency,
            legal_basis: shared
                .config
                .legal_basis(&plan.municipality, LetterKind::Plan),
        },
    );
    emit(
        effects,
        letters::request(
            ids::plan_confirmation(&plan.plan_id, plan.revision),
            templates::PLAN_CONFIRMATION,
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

    let in_plans = queries::coverage_of(tx, CoverageKind::Plan, &ids).await?;
    if let Some((claim, plan)) = in_plans.iter().next() {
        return Err(Failure::Refused(Refusal::conflict(format!(
            "claim {claim} is already covered by the active plan {plan}: revise that plan instead (a claim is in at most one active plan)"
        ))));
    }
    let deferred: BTreeSet<String> = queries::coverage_of(tx, CoverageKind::Deferral, &ids)
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

    check_first_due(shared, day, req.first_due_date)?;
    let balance = sum_balance(&claims);
    let terms = Terms {
        sizing: req.sizing,
        frequency: req.frequency,
        first_due: req.first_due_date,
    };
    let schedule = Schedule::plan(balance, &terms, &municipality.calendar())
        .map_err(|e| schedule_refusal(&e, &req.sizing))?;

    let seq = queries::next_reference_seq(tx, &req.municipality).await?;
    let reference = municipality.plan_payment_reference(seq).map_err(|e| {
        DbErr::Custom(format!(
            "no plan payment reference for municipality {}: {e}",
            req.municipality
        ))
    })?;
    let plan = PlanRow {
        plan_id: ids::new_id("pln"),
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
        terms: terms_json(&req.sizing, req.frequency, req.first_due_date),
        payment_reference: reference.key().to_owned(),
        ocr_line: reference.ocr_line(),
        note: req.note,
        remaining_task_revision: None,
        ended_date: None,
        end_reason: None,
        created_by: actor.name.clone(),
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
            action: "create_plan",
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

/// `invoicing.payment.applied.v1`: what it paid on claims under an active plan counts towards
/// the plan's current revision (from the plan's created date on).
pub async fn payment_applied(
    tx: &DatabaseTransaction,
    payment_id: &str,
    booking_date: BusinessDate,
    allocations: &[(String, Money)],
) -> Result<(), DbErr> {
    let ids: Vec<String> = allocations.iter().map(|(c, _)| c.clone()).collect();
    let covered = queries::coverage_of(tx, CoverageKind::Plan, &ids).await?;
    let mut plans: BTreeMap<String, Option<PlanRow>> = BTreeMap::new();
    for (claim_id, amount) in allocations {
        let Some(plan_id) = covered.get(claim_id) else {
            continue;
        };
        if !plans.contains_key(plan_id) {
            plans.insert(plan_id.clone(), queries::plan(tx, plan_id).await?);
        }
        let Some(Some(plan)) = plans.get(plan_id) else {
            continue;
        };
        if plan.state == PlanStatus::Active && booking_date >= plan.created_date {
            queries::insert_plan_payment(
                tx,
                &plan.plan_id,
                payment_id,
                claim_id,
                plan.revision,
                booking_date,
                *amount,
            )
            .await?;
        }
    }
    Ok(())
}

/// A claim left the books (settled, written off, transferred): its plan may be complete. A
/// transferred claim leaves the plan's coverage, and the caseworker is asked to revise the plan
/// for the claims that remain.
pub async fn claim_closed(
    tx: &DatabaseTransaction,
    shared: &Shared,
    effects: &mut Effects,
    claim_id: &str,
    state: ClaimState,
    on: BusinessDate,
) -> Result<(), Failure> {
    let covered = queries::coverage_of(
        tx,
        CoverageKind::Plan,
        std::slice::from_ref(&claim_id.to_owned()),
    )
    .await?;
    let Some(plan_id) = covered.get(claim_id) else {
        return Ok(());
    };
    let Some(plan) = queries::plan(tx, plan_id).await? else {
        return Ok(());
    };
    if plan.state != PlanStatus::Active {
        return Ok(());
    }
    if state == ClaimState::Transferred {
        queries::leave_plan(tx, plan_id, claim_id, on, "transferred to state collection").await?;
        queries::uncover(tx, CoverageKind::Plan, plan_id, Some(claim_id)).await?;
    }
    let tracked = load(tx, &plan).await?;
    if tracked.claims.iter().all(|c| !c.is_open()) {
        end(tx, shared, effects, &Actor::system(), plan, End::Paid, on).await?;
    } else if state == ClaimState::Transferred {
        tasks::raise(
            tx,
            tasks::NewTask {
                kind: tasks::PLAN_COVERAGE_CHANGED,
                municipality: &plan.municipality,
                office: &plan.office,
                debtor_id: &plan.debtor_id,
                subject: &plan.plan_id,
                occasion: claim_id,
                due_date: on,
                text: format!(
                    "Claim {claim_id} of plan {plan_id} was transferred to state collection: revise the plan for the claims that remain."
                ),
            },
            on,
        )
        .await?;
    }
    Ok(())
}

/// The business day's work for one active plan: reminders for missed instalments, the default
/// after too many, the task when every instalment is paid but something is still open.
pub async fn track(
    tx: &DatabaseTransaction,
    shared: &Shared,
    effects: &mut Effects,
    mut plan: PlanRow,
    day: BusinessDate,
) -> Result<(), Failure> {
    let rules = shared.config.plans.rules();
    let tracked = load(tx, &plan).await?;
    let assessment = domain::assess(&tracked.state(&plan), rules, day);
    if let Some(reason) = assessment.default_reason {
        end(
            tx,
            shared,
            effects,
            &Actor::system(),
            plan,
            End::Defaulted(reason),
            day,
        )
        .await?;
        return Ok(());
    }
    let municipality = shared.municipality(&plan.municipality)?;
    let pay_within = shared.config.plans.reminder_pay_within_days;
    let pay_by = municipality
        .calendar()
        .next_business_day_on_or_after(day.checked_add_days(i64::from(pay_within)).unwrap_or(day));
    for seq in assessment.remind {
        let Some(instalment) = tracked
            .instalments
            .get(usize::try_from(seq).unwrap_or(usize::MAX).saturating_sub(1))
        else {
            continue;
        };
        let notification_id = ids::instalment_reminder(&plan.plan_id, plan.revision, seq);
        let data = letters::instalment_reminder(
            municipality,
            &ReminderLetter {
                plan_id: &plan.plan_id,
                instalment: *instalment,
                overdue: assessment.behind,
                pay_by,
                ocr_line: &plan.ocr_line,
                currency: plan.currency,
                legal_basis: shared
                    .config
                    .legal_basis(&plan.municipality, LetterKind::Plan),
            },
        );
        emit(
            effects,
            letters::request(
                notification_id.clone(),
                templates::INSTALMENT_REMINDER,
                &Addressee {
                    municipality: &plan.municipality,
                    office: &plan.office,
                    debtor_id: &plan.debtor_id,
                    case_id: &plan.plan_id,
                    claim_ids: tracked.claim_ids(),
                },
                data,
            ),
        )?;
        queries::insert_miss(tx, &plan.plan_id, plan.revision, seq, day, &notification_id).await?;
        queries::audit(
            tx,
            AuditEntry {
                caller: "system",
                role: "system",
                action: "instalment_missed",
                entity: &format!("plan:{}", plan.plan_id),
                outcome: "done",
                before: None,
                after: None,
                detail: &format!(
                    "instalment {seq} of {} missed (revision {}); reminder {notification_id}",
                    instalment.due_date, plan.revision
                ),
            },
        )
        .await?;
        metrics::instalment_reminded();
    }
    if assessment.remaining_balance {
        tasks::raise(
            tx,
            tasks::NewTask {
                kind: tasks::PLAN_BALANCE_REMAINING,
                municipality: &plan.municipality,
                office: &plan.office,
                debtor_id: &plan.debtor_id,
                subject: &plan.plan_id,
                occasion: &plan.revision.to_string(),
                due_date: day,
                text: format!(
                    "Every instalment of plan {} is paid but {} {} is still open (interest or fees added meanwhile): revise the plan.",
                    plan.plan_id,
                    tracked.open_balance(),
                    plan.currency
                ),
            },
            day,
        )
        .await?;
        plan.remaining_task_revision = Some(plan.revision);
        queries::save_plan(tx, &plan).await?;
    }
    Ok(())
}
