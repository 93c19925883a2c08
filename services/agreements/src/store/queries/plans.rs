//! Plans: reference numbers, revisions, the claims covered, schedules, payments and missed
//! instalments.

use std::collections::BTreeSet;

use restance_kernel::{BusinessDate, Currency, Money};
use restance_store::{
    date, get_date, get_money, get_opt_date, rows_per_statement, stmt, value_rows,
};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Value};
use serde::{Deserialize, Serialize};

use super::{get_currency, get_u32, json, opt_date, parse};
use crate::domain::{Frequency, Instalment};

/// The next plan reference number of a municipality (1, 2, 3 …).
pub async fn next_reference_seq(
    db: &impl ConnectionTrait,
    municipality: &str,
) -> Result<u64, DbErr> {
    let row = db
        .query_one_raw(stmt(
            db,
            "INSERT INTO reference_sequences (municipality, last_seq) VALUES ($1, 1) \
             ON CONFLICT (municipality) DO UPDATE SET last_seq = reference_sequences.last_seq + 1 \
             RETURNING last_seq",
            vec![municipality.into()],
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("the reference sequence returned nothing".into()))?;
    let seq: i64 = row.try_get_by_index(0)?;
    u64::try_from(seq).map_err(|_| DbErr::Custom(format!("reference sequence {seq} negative")))
}

/// A plan's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    /// In force.
    Active,
    /// Broken: instalments missed.
    Defaulted,
    /// Every covered claim left the books.
    Completed,
    /// Ended by agreement.
    Cancelled,
}

impl PlanStatus {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            PlanStatus::Active => "active",
            PlanStatus::Defaulted => "defaulted",
            PlanStatus::Completed => "completed",
            PlanStatus::Cancelled => "cancelled",
        }
    }

    fn parse(s: &str) -> Option<PlanStatus> {
        Some(match s {
            "active" => PlanStatus::Active,
            "defaulted" => PlanStatus::Defaulted,
            "completed" => PlanStatus::Completed,
            "cancelled" => PlanStatus::Cancelled,
            _ => return None,
        })
    }
}

/// A plan (its current revision).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRow {
    /// The plan's id.
    pub plan_id: String,
    /// Municipality.
    pub municipality: String,
    /// Debtor.
    pub debtor_id: String,
    /// Whose letterhead its letters carry (the office of its oldest claim).
    pub office: String,
    /// Where it stands.
    pub state: PlanStatus,
    /// 1, then one more per revision.
    pub revision: u32,
    /// When it was first agreed.
    pub created_date: BusinessDate,
    /// When the current revision was agreed.
    pub revised_date: BusinessDate,
    /// Currency.
    pub currency: Currency,
    /// The current schedule's total.
    pub total: Money,
    /// How often instalments fall due.
    pub frequency: Frequency,
    /// The agreed terms as JSON (instalment, number of instalments or budget; first due date).
    pub terms: serde_json::Value,
    /// The plan's own payment reference (FIK payment id or KID).
    pub payment_reference: String,
    /// As printed: `+71<…+…<` or the KID.
    pub ocr_line: String,
    /// The caseworker's note (never on the bus or in logs).
    pub note: Option<String>,
    /// The revision for which the "balance left after the last instalment" task was raised.
    pub remaining_task_revision: Option<u32>,
    /// When it ended.
    pub ended_date: Option<BusinessDate>,
    /// Why it ended (`paid`, `cancelled: …`, the default reason).
    pub end_reason: Option<String>,
    /// Who agreed it (token name).
    pub created_by: String,
    /// For an assignment of a future receivable (transport): what was assigned, e.g. `tax
    /// refund 2026`; `None` for a payment plan (stored as `kind` = `assignment` | `plan`).
    pub assignment_source: Option<String>,
}

impl PlanRow {
    /// Whether it is an assignment of a future receivable rather than a payment plan.
    pub fn is_assignment(&self) -> bool {
        self.assignment_source.is_some()
    }
}

const PLAN_COLUMNS: &str = "plan_id, municipality, debtor_id, office, state, revision, created_date, revised_date, \
    currency, total_minor, frequency, terms, payment_reference, ocr_line, note, remaining_task_revision, \
    ended_date, end_reason, created_by, kind, assignment_source";

fn plan_from(r: &QueryResult) -> Result<PlanRow, DbErr> {
    let state: String = r.try_get_by_index(4)?;
    let frequency: String = r.try_get_by_index(10)?;
    let terms: String = r.try_get_by_index(11)?;
    Ok(PlanRow {
        plan_id: r.try_get_by_index(0)?,
        municipality: r.try_get_by_index(1)?,
        debtor_id: r.try_get_by_index(2)?,
        office: r.try_get_by_index(3)?,
        state: parse("plan state", &state, PlanStatus::parse)?,
        revision: get_u32(r, 5)?,
        created_date: get_date(r, 6)?,
        revised_date: get_date(r, 7)?,
        currency: get_currency(r, 8)?,
        total: get_money(r, 9)?,
        frequency: parse("frequency", &frequency, |s| {
            serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
        })?,
        terms: serde_json::from_str(&terms)
            .map_err(|e| DbErr::Custom(format!("stored plan terms unreadable: {e}")))?,
        payment_reference: r.try_get_by_index(12)?,
        ocr_line: r.try_get_by_index(13)?,
        note: r.try_get_by_index(14)?,
        remaining_task_revision: r
            .try_get_by_index::<Option<i64>>(15)?
            .and_then(|v| u32::try_from(v).ok()),
        ended_date: get_opt_date(r, 16)?,
        end_reason: r.try_get_by_index(17)?,
        created_by: r.try_get_by_index(18)?,
        assignment_source: r.try_get_by_index(20)?,
    })
}

fn plan_values(p: &PlanRow) -> Result<Vec<Value>, DbErr> {
    Ok(vec![
        p.plan_id.clone().into(),
        p.municipality.clone().into(),
        p.debtor_id.clone().into(),
        p.office.clone().into(),
        p.state.as_str().into(),
        i64::from(p.revision).into(),
        date(p.created_date),
        date(p.revised_date),
        p.currency.code().into(),
        p.total.to_minor().into(),
        p.frequency.as_str().into(),
        json(&p.terms)?.into(),
        p.payment_reference.clone().into(),
        p.ocr_line.clone().into(),
        p.note.clone().into(),
        p.remaining_task_revision.map(i64::from).into(),
        opt_date(p.ended_date),
        p.end_reason.clone().into(),
        p.created_by.clone().into(),
        if p.is_assignment() {
            "assignment"
        } else {
            "plan"
        }
        .into(),
        p.assignment_source.clone().into(),
    ])
}

/// Stores a new plan, or writes back a changed one (every column but the id).
pub async fn save_plan(db: &impl ConnectionTrait, p: &PlanRow) -> Result<(), DbErr> {
    let sql = format!(
        "INSERT INTO plans ({PLAN_COLUMNS}) VALUES {} ON CONFLICT (plan_id) DO UPDATE SET \
         state = excluded.state, revision = excluded.revision, revised_date = excluded.revised_date, \
         total_minor = excluded.total_minor, frequency = excluded.frequency, terms = excluded.terms, \
         note = excluded.note, remaining_task_revision = excluded.remaining_task_revision, \
         ended_date = excluded.ended_date, end_reason = excluded.end_reason",
        value_rows(1, 21)
    );
    db.execute_raw(stmt(db, sql, plan_values(p)?)).await?;
    Ok(())
}

/// One plan.
pub async fn plan(db: &impl ConnectionTrait, plan_id: &str) -> Result<Option<PlanRow>, DbErr> {
    let sql = format!("SELECT {PLAN_COLUMNS} FROM plans WHERE plan_id = $1");
    db.query_one_raw(stmt(db, sql, vec![plan_id.into()]))
        .await?
        .as_ref()
        .map(plan_from)
        .transpose()
}

/// A debtor's plans, newest first.
pub async fn plans_of_debtor(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
) -> Result<Vec<PlanRow>, DbErr> {
    let sql = format!(
        "SELECT {PLAN_COLUMNS} FROM plans WHERE municipality = $1 AND debtor_id = $2 ORDER BY created_date DESC, plan_id"
    );
    db.query_all_raw(stmt(db, sql, vec![municipality.into(), debtor_id.into()]))
        .await?
        .iter()
        .map(plan_from)
        .collect()
}

/// Every active plan.
pub async fn active_plans(db: &impl ConnectionTrait) -> Result<Vec<PlanRow>, DbErr> {
    let sql = format!("SELECT {PLAN_COLUMNS} FROM plans WHERE state = 'active' ORDER BY plan_id");
    db.query_all_raw(stmt(db, sql, vec![]))
        .await?
        .iter()
        .map(plan_from)
        .collect()
}

/// A claim's place in a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanClaim {
    /// The claim.
    pub claim_id: String,
    /// When it left the plan's coverage (transferred), if it did.
    pub left_date: Option<BusinessDate>,
    /// Why.
    pub left_reason: Option<String>,
}

/// Records the claims a plan covers.
pub async fn insert_plan_claims(
    db: &impl ConnectionTrait,
    plan_id: &str,
    claim_ids: &[String],
) -> Result<(), DbErr> {
    for chunk in claim_ids.chunks(rows_per_statement(2)) {
        let sql = format!(
            "INSERT INTO plan_claims (plan_id, claim_id) VALUES {} ON CONFLICT DO NOTHING",
            value_rows(chunk.len(), 2)
        );
        let mut values = Vec::with_capacity(chunk.len() * 2);
        for id in chunk {
            values.push(plan_id.into());
            values.push(id.clone().into());
        }
        db.execute_raw(stmt(db, sql, values)).await?;
    }
    Ok(())
}

/// The claims a plan covers (or covered).
pub async fn plan_claims(
    db: &impl ConnectionTrait,
    plan_id: &str,
) -> Result<Vec<PlanClaim>, DbErr> {
    db.query_all_raw(stmt(
        db,
        "SELECT claim_id, left_date, left_reason FROM plan_claims WHERE plan_id = $1 ORDER BY claim_id",
        vec![plan_id.into()],
    ))
    .await?
    .iter()
    .map(|r| {
        Ok(PlanClaim {
            claim_id: r.try_get_by_index(0)?,
            left_date: get_opt_date(r, 1)?,
            left_reason: r.try_get_by_index(2)?,
        })
    })
    .collect()
}

/// A claim leaves a plan's coverage.
pub async fn leave_plan(
    db: &impl ConnectionTrait,
    plan_id: &str,
    claim_id: &str,
    on: BusinessDate,
    reason: &str,
) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "UPDATE plan_claims SET left_date = $3, left_reason = $4 WHERE plan_id = $1 AND claim_id = $2 AND left_date IS NULL",
        vec![plan_id.into(), claim_id.into(), date(on), reason.into()],
    ))
    .await?;
    Ok(())
}

/// Stores a revision's schedule.
pub async fn insert_instalments(
    db: &impl ConnectionTrait,
    plan_id: &str,
    revision: u32,
    instalments: &[Instalment],
) -> Result<(), DbErr> {
    for (c, chunk) in instalments.chunks(rows_per_statement(5)).enumerate() {
        let sql = format!(
            "INSERT INTO instalments (plan_id, revision, seq, due_date, amount_minor) VALUES {} ON CONFLICT DO NOTHING",
            value_rows(chunk.len(), 5)
        );
        let mut values = Vec::with_capacity(chunk.len() * 5);
        for (i, inst) in chunk.iter().enumerate() {
            let seq = c * rows_per_statement(5) + i + 1;
            values.push(plan_id.into());
            values.push(i64::from(revision).into());
            values.push(i64::try_from(seq).unwrap_or(i64::MAX).into());
            values.push(date(inst.due_date));
            values.push(inst.amount.to_minor().into());
        }
        db.execute_raw(stmt(db, sql, values)).await?;
    }
    Ok(())
}

/// A revision's schedule, in order.
pub async fn instalments(
    db: &impl ConnectionTrait,
    plan_id: &str,
    revision: u32,
) -> Result<Vec<Instalment>, DbErr> {
    db.query_all_raw(stmt(
        db,
        "SELECT due_date, amount_minor FROM instalments WHERE plan_id = $1 AND revision = $2 ORDER BY seq",
        vec![plan_id.into(), i64::from(revision).into()],
    ))
    .await?
    .iter()
    .map(|r| {
        Ok(Instalment {
            due_date: get_date(r, 0)?,
            amount: get_money(r, 1)?,
        })
    })
    .collect()
}

/// Records what a payment paid on a covered claim (once per plan, payment and claim).
#[allow(clippy::too_many_arguments)]
pub async fn insert_plan_payment(
    db: &impl ConnectionTrait,
    plan_id: &str,
    payment_id: &str,
    claim_id: &str,
    revision: u32,
    booking_date: BusinessDate,
    amount: Money,
) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "INSERT INTO plan_payments (plan_id, payment_id, claim_id, revision, booking_date, amount_minor) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        vec![
            plan_id.into(),
            payment_id.into(),
            claim_id.into(),
            i64::from(revision).into(),
            date(booking_date),
            amount.to_minor().into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Paid towards a revision.
pub async fn plan_paid(
    db: &impl ConnectionTrait,
    plan_id: &str,
    revision: u32,
) -> Result<Money, DbErr> {
    // SUM(bigint) is numeric on PostgreSQL: cast back to BIGINT so both backends read an i64.
    let row = db
        .query_one_raw(stmt(
            db,
            "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM plan_payments \
             WHERE plan_id = $1 AND revision = $2",
            vec![plan_id.into(), i64::from(revision).into()],
        ))
        .await?;
    match row {
        Some(r) => Ok(Money::from_minor(r.try_get_by_index::<i64>(0)?)),
        None => Ok(Money::ZERO),
    }
}

/// Records a missed instalment and its reminder (once per revision and instalment).
pub async fn insert_miss(
    db: &impl ConnectionTrait,
    plan_id: &str,
    revision: u32,
    seq: u32,
    on: BusinessDate,
    notification_id: &str,
) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "INSERT INTO plan_misses (plan_id, revision, seq, missed_date, notification_id) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT DO NOTHING",
        vec![
            plan_id.into(),
            i64::from(revision).into(),
            i64::from(seq).into(),
            date(on),
            notification_id.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// The instalments of a revision that had their reminder.
pub async fn reminded(
    db: &impl ConnectionTrait,
    plan_id: &str,
    revision: u32,
) -> Result<BTreeSet<u32>, DbErr> {
    db.query_all_raw(stmt(
        db,
        "SELECT seq FROM plan_misses WHERE plan_id = $1 AND revision = $2",
        vec![plan_id.into(), i64::from(revision).into()],
    ))
    .await?
    .iter()
    .map(|r| get_u32(r, 0))
    .collect()
}
