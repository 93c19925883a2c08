//! Plans: reference numbers, revisions, the claims covered, schedules, payments and missed
//! instalments.

use std::collections::BTreeSet;

use restance_kernel::{BusinessDate, Currency, Money};
use restance_store::{date, rows_per_statement};
use sea_orm::sea_query::{Expr, ExprTrait, Func, OnConflict, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Value};
use serde::{Deserialize, Serialize};

use super::{col, col_currency, col_u32, get_date, get_money, get_opt_date, json, opt_date, parse};
use crate::domain::{Frequency, Instalment};

/// The next plan reference number of a municipality (1, 2, 3 …).
pub async fn next_reference_seq(
    db: &impl ConnectionTrait,
    municipality: &str,
) -> Result<u64, DbErr> {
    let insert = Query::insert()
        .into_table("reference_sequences")
        .columns(["municipality", "last_seq"])
        .values_panic([municipality.into(), 1i64.into()])
        .on_conflict(
            OnConflict::column("municipality")
                .value(
                    "last_seq",
                    Expr::col(("reference_sequences", "last_seq")).add(1i64),
                )
                .to_owned(),
        )
        .returning_col("last_seq")
        .to_owned();
    let row = db
        .query_one(&insert)
        .await?
        .ok_or_else(|| DbErr::Custom("the reference sequence returned nothing".into()))?;
    let seq: i64 = col(&row, "last_seq")?;
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

const PLAN_COLUMNS: [&str; 21] = [
    "plan_id",
    "municipality",
    "debtor_id",
    "office",
    "state",
    "revision",
    "created_date",
    "revised_date",
    "currency",
    "total_minor",
    "frequency",
    "terms",
    "payment_reference",
    "ocr_line",
    "note",
    "remaining_task_revision",
    "ended_date",
    "end_reason",
    "created_by",
    "kind",
    "assignment_source",
];

fn plan_from(r: &QueryResult) -> Result<PlanRow, DbErr> {
    let state: String = col(r, "state")?;
    let frequency: String = col(r, "frequency")?;
    let terms: String = col(r, "terms")?;
    Ok(PlanRow {
        plan_id: col(r, "plan_id")?,
        municipality: col(r, "municipality")?,
        debtor_id: col(r, "debtor_id")?,
        office: col(r, "office")?,
        state: parse("plan state", &state, PlanStatus::parse)?,
        revision: col_u32(r, "revision")?,
        created_date: get_date(r, "created_date")?,
        revised_date: get_date(r, "revised_date")?,
        currency: col_currency(r, "currency")?,
        total: get_money(r, "total_minor")?,
        frequency: parse("frequency", &frequency, |s| {
            serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
        })?,
        terms: serde_json::from_str(&terms)
            .map_err(|e| DbErr::Custom(format!("stored plan terms unreadable: {e}")))?,
        payment_reference: col(r, "payment_reference")?,
        ocr_line: col(r, "ocr_line")?,
        note: col(r, "note")?,
        remaining_task_revision: col::<Option<i64>>(r, "remaining_task_revision")?
            .and_then(|v| u32::try_from(v).ok()),
        ended_date: get_opt_date(r, "ended_date")?,
        end_reason: col(r, "end_reason")?,
        created_by: col(r, "created_by")?,
        assignment_source: col(r, "assignment_source")?,
    })
}

fn plan_values(p: &PlanRow) -> Result<[Value; 21], DbErr> {
    Ok([
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

/// `SELECT` the plan columns `FROM plans`.
fn select_plans() -> SelectStatement {
    Query::select()
        .columns(PLAN_COLUMNS)
        .from("plans")
        .to_owned()
}

/// Stores a new plan, or writes back a changed one (every column but the id).
pub async fn save_plan(db: &impl ConnectionTrait, p: &PlanRow) -> Result<(), DbErr> {
    let insert = Query::insert()
        .into_table("plans")
        .columns(PLAN_COLUMNS)
        .values_panic(plan_values(p)?.map(Expr::from))
        .on_conflict(
            OnConflict::column("plan_id")
                .update_columns([
                    "state",
                    "revision",
                    "revised_date",
                    "total_minor",
                    "frequency",
                    "terms",
                    "note",
                    "remaining_task_revision",
                    "ended_date",
                    "end_reason",
                ])
                .to_owned(),
        )
        .to_owned();
    db.execute(&insert).await?;
    Ok(())
}

/// One plan.
pub async fn plan(db: &impl ConnectionTrait, plan_id: &str) -> Result<Option<PlanRow>, DbErr> {
    let select = select_plans()
        .and_where(Expr::col("plan_id").eq(plan_id))
        .to_owned();
    db.query_one(&select)
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
    let select = select_plans()
        .and_where(Expr::col("municipality").eq(municipality))
        .and_where(Expr::col("debtor_id").eq(debtor_id))
        .order_by("created_date", Order::Desc)
        .order_by("plan_id", Order::Asc)
        .to_owned();
    db.query_all(&select).await?.iter().map(plan_from).collect()
}

/// Every active plan.
pub async fn active_plans(db: &impl ConnectionTrait) -> Result<Vec<PlanRow>, DbErr> {
    let select = select_plans()
        .and_where(Expr::col("state").eq("active"))
        .order_by("plan_id", Order::Asc)
        .to_owned();
    db.query_all(&select).await?.iter().map(plan_from).collect()
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
        let mut insert = Query::insert();
        insert
            .into_table("plan_claims")
            .columns(["plan_id", "claim_id"])
            .on_conflict(OnConflict::new().do_nothing().to_owned());
        for id in chunk {
            insert.values_panic([plan_id.into(), id.as_str().into()]);
        }
        db.execute(&insert).await?;
    }
    Ok(())
}

/// The claims a plan covers (or covered).
pub async fn plan_claims(
    db: &impl ConnectionTrait,
    plan_id: &str,
) -> Result<Vec<PlanClaim>, DbErr> {
    let select = Query::select()
        .columns(["claim_id", "left_date", "left_reason"])
        .from("plan_claims")
        .and_where(Expr::col("plan_id").eq(plan_id))
        .order_by("claim_id", Order::Asc)
        .to_owned();
    db.query_all(&select)
        .await?
        .iter()
        .map(|r| {
            Ok(PlanClaim {
                claim_id: col(r, "claim_id")?,
                left_date: get_opt_date(r, "left_date")?,
                left_reason: col(r, "left_reason")?,
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
    let update = Query::update()
        .table("plan_claims")
        .value("left_date", date(on))
        .value("left_reason", reason)
        .and_where(Expr::col("plan_id").eq(plan_id))
        .and_where(Expr::col("claim_id").eq(claim_id))
        .and_where(Expr::col("left_date").is_null())
        .to_owned();
    db.execute(&update).await?;
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
        let mut insert = Query::insert();
        insert
            .into_table("instalments")
            .columns(["plan_id", "revision", "seq", "due_date", "amount_minor"])
            .on_conflict(OnConflict::new().do_nothing().to_owned());
        for (i, inst) in chunk.iter().enumerate() {
            let seq = c * rows_per_statement(5) + i + 1;
            insert.values_panic([
                plan_id.into(),
                i64::from(revision).into(),
                i64::try_from(seq).unwrap_or(i64::MAX).into(),
                date(inst.due_date).into(),
                inst.amount.to_minor().into(),
            ]);
        }
        db.execute(&insert).await?;
    }
    Ok(())
}

/// A revision's schedule, in order.
pub async fn instalments(
    db: &impl ConnectionTrait,
    plan_id: &str,
    revision: u32,
) -> Result<Vec<Instalment>, DbErr> {
    let select = Query::select()
        .columns(["due_date", "amount_minor"])
        .from("instalments")
        .and_where(Expr::col("plan_id").eq(plan_id))
        .and_where(Expr::col("revision").eq(i64::from(revision)))
        .order_by("seq", Order::Asc)
        .to_owned();
    db.query_all(&select)
        .await?
        .iter()
        .map(|r| {
            Ok(Instalment {
                due_date: get_date(r, "due_date")?,
                amount: get_money(r, "amount_minor")?,
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
    let insert = Query::insert()
        .into_table("plan_payments")
        .columns([
            "plan_id",
            "payment_id",
            "claim_id",
            "revision",
            "booking_date",
            "amount_minor",
        ])
        .values_panic([
            plan_id.into(),
            payment_id.into(),
            claim_id.into(),
            i64::from(revision).into(),
            date(booking_date).into(),
            amount.to_minor().into(),
        ])
        .on_conflict(OnConflict::new().do_nothing().to_owned())
        .to_owned();
    db.execute(&insert).await?;
    Ok(())
}

/// Paid towards a revision.
pub async fn plan_paid(
    db: &impl ConnectionTrait,
    plan_id: &str,
    revision: u32,
) -> Result<Money, DbErr> {
    // SUM(bigint) is numeric on PostgreSQL: cast back to BIGINT so both backends read an i64.
    let select = Query::select()
        .expr_as(
            Func::cast_as(
                Func::coalesce([Func::sum(Expr::col("amount_minor")).into(), Expr::val(0i64)]),
                "BIGINT",
            ),
            "paid",
        )
        .from("plan_payments")
        .and_where(Expr::col("plan_id").eq(plan_id))
        .and_where(Expr::col("revision").eq(i64::from(revision)))
        .to_owned();
    match db.query_one(&select).await? {
        Some(r) => get_money(&r, "paid"),
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
    let insert = Query::insert()
        .into_table("plan_misses")
        .columns([
            "plan_id",
            "revision",
            "seq",
            "missed_date",
            "notification_id",
        ])
        .values_panic([
            plan_id.into(),
            i64::from(revision).into(),
            i64::from(seq).into(),
            date(on).into(),
            notification_id.into(),
        ])
        .on_conflict(OnConflict::new().do_nothing().to_owned())
        .to_owned();
    db.execute(&insert).await?;
    Ok(())
}

/// The instalments of a revision that had their reminder.
pub async fn reminded(
    db: &impl ConnectionTrait,
    plan_id: &str,
    revision: u32,
) -> Result<BTreeSet<u32>, DbErr> {
    let select = Query::select()
        .column("seq")
        .from("plan_misses")
        .and_where(Expr::col("plan_id").eq(plan_id))
        .and_where(Expr::col("revision").eq(i64::from(revision)))
        .to_owned();
    db.query_all(&select)
        .await?
        .iter()
        .map(|r| col_u32(r, "seq"))
        .collect()
}
