//! The plan as the API shows it (and as the audit trail records it).

use restance_kernel::{BusinessDate, Money};
use sea_orm::{ConnectionTrait, DbErr};
use serde::Serialize;
use serde_json::Value;

use super::tracking::{Tracked, load};
use crate::domain::{self, Frequency, InstalmentStatus, TrackingRules};
use crate::store::queries::{PlanRow, PlanStatus};

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
    /// `plan`, or `assignment` (of a future receivable: one instalment, the expected amount on
    /// the expected date).
    pub kind: &'static str,
    /// For an assignment: what was assigned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignment_source: Option<String>,
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

pub(super) fn view_of(
    plan: &PlanRow,
    tracked: &Tracked,
    rules: TrackingRules,
    day: Option<BusinessDate>,
) -> PlanView {
    let rules = super::rules_of(rules, plan);
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
        kind: if plan.is_assignment() {
            "assignment"
        } else {
            "plan"
        },
        assignment_source: plan.assignment_source.clone(),
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

pub(super) fn view_json(view: &PlanView) -> Value {
    serde_json::to_value(view).unwrap_or(Value::Null)
}
