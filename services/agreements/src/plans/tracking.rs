//! Following an active plan: what it reads, the payments on its claims, claims leaving the
//! books, and the business day's reminders, default and completion.

use std::collections::{BTreeMap, BTreeSet};

use restance_bus::Effects;
use restance_kernel::{BusinessDate, Money};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbErr};

use super::{End, end};
use crate::config::LetterKind;
use crate::context::{Actor, Failure, emit};
use crate::domain::{self, Instalment, PlanState, ids};
use crate::letters::{self, Addressee, ReminderLetter, templates};
use crate::state::Shared;
use crate::store::queries::{
    self, AuditEntry, ClaimRow, ClaimState, CoverageKind, PlanRow, PlanStatus,
};
use crate::{metrics, tasks};

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
    let rules = super::rules_of(shared.config.plans.rules(), &plan);
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
