//! The social caseworker's alerts and their answers.

use restance_kernel::BusinessDate;
use restance_store::date;
use sea_orm::sea_query::{
    Asterisk, Expr, ExprTrait, LockType, OnConflict, Order, Query, SelectStatement,
};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Value};
use serde::{Deserialize, Serialize};

use super::{DebtorKey, col, get_date, get_opt_date, json, opt_date, parse};
use crate::domain::AlertState;

/// An alert from dunning and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRow {
    /// Dunning's `alert_id` (the natural key).
    pub alert_id: String,
    /// Municipality.
    pub municipality: String,
    /// The debtor.
    pub debtor_id: String,
    /// The office of the claims (whose caseworkers see the task).
    pub office: String,
    /// The arrears category that requires the social caseworker.
    pub category: String,
    /// The claims held at the gate.
    pub claim_ids: Vec<String>,
    /// Dunning's reason, in words (no personal data).
    pub reason: String,
    /// The business date of the alert.
    pub alerted_date: BusinessDate,
    /// The last day of the caseworker's answer.
    pub answer_due: BusinessDate,
    /// `open`, `released` or `answered`.
    pub state: AlertState,
    /// A supervisor task was raised (the answer day passed).
    pub escalated: bool,
    /// When it was released or answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_date: Option<BusinessDate>,
    /// Who released it (`system` when an agreement answered it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_by: Option<String>,
    /// The caseworker's reason for the release, or what answered it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
}

const ALERT_COLUMNS: [&str; 14] = [
    "alert_id",
    "municipality",
    "debtor_id",
    "office",
    "category",
    "claim_ids",
    "reason",
    "alerted_date",
    "answer_due",
    "state",
    "escalated",
    "answered_date",
    "answered_by",
    "answer",
];

fn alert_from(r: &QueryResult) -> Result<AlertRow, DbErr> {
    let claims: String = col(r, "claim_ids")?;
    let state: String = col(r, "state")?;
    Ok(AlertRow {
        alert_id: col(r, "alert_id")?,
        municipality: col(r, "municipality")?,
        debtor_id: col(r, "debtor_id")?,
        office: col(r, "office")?,
        category: col(r, "category")?,
        claim_ids: parse("claim ids", &claims, |s| serde_json::from_str(s).ok())?,
        reason: col(r, "reason")?,
        alerted_date: get_date(r, "alerted_date")?,
        answer_due: get_date(r, "answer_due")?,
        state: parse("alert state", &state, AlertState::parse)?,
        escalated: col(r, "escalated")?,
        answered_date: get_opt_date(r, "answered_date")?,
        answered_by: col(r, "answered_by")?,
        answer: col(r, "answer")?,
    })
}

fn values(a: &AlertRow) -> Result<[Value; 14], DbErr> {
    Ok([
        a.alert_id.clone().into(),
        a.municipality.clone().into(),
        a.debtor_id.clone().into(),
        a.office.clone().into(),
        a.category.clone().into(),
        json(&a.claim_ids)?.into(),
        a.reason.clone().into(),
        date(a.alerted_date),
        date(a.answer_due),
        a.state.as_str().into(),
        a.escalated.into(),
        opt_date(a.answered_date),
        a.answered_by.clone().into(),
        a.answer.clone().into(),
    ])
}

/// `SELECT` the alert columns `FROM caseworker_alerts`.
fn select_alerts() -> SelectStatement {
    Query::select()
        .columns(ALERT_COLUMNS)
        .from("caseworker_alerts")
        .to_owned()
}

/// Records an alert unless it is known; `true` when it is new.
pub async fn insert_alert_if_new(db: &impl ConnectionTrait, a: &AlertRow) -> Result<bool, DbErr> {
    let insert = Query::insert()
        .into_table("caseworker_alerts")
        .columns(ALERT_COLUMNS)
        .values_panic(values(a)?.map(Expr::from))
        .on_conflict(OnConflict::column("alert_id").do_nothing().to_owned())
        .to_owned();
    Ok(db.execute(&insert).await?.rows_affected() == 1)
}

/// Writes an alert's state, escalation and answer.
pub async fn save_alert(db: &impl ConnectionTrait, a: &AlertRow) -> Result<(), DbErr> {
    let update = Query::update()
        .table("caseworker_alerts")
        .value("state", a.state.as_str())
        .value("escalated", a.escalated)
        .value("answered_date", opt_date(a.answered_date))
        .value("answered_by", a.answered_by.clone())
        .value("answer", a.answer.clone())
        .and_where(Expr::col("alert_id").eq(a.alert_id.as_str()))
        .to_owned();
    db.execute(&update).await?;
    Ok(())
}

/// One alert (on PostgreSQL locked for the rest of the transaction when `lock`).
pub async fn alert(
    db: &impl ConnectionTrait,
    id: &str,
    lock: bool,
) -> Result<Option<AlertRow>, DbErr> {
    let mut select = select_alerts();
    select.and_where(Expr::col("alert_id").eq(id));
    if lock {
        // FOR UPDATE on PostgreSQL; sea-query leaves it out on SQLite (one writer)
        select.lock(LockType::Update);
    }
    db.query_one(&select)
        .await?
        .as_ref()
        .map(alert_from)
        .transpose()
}

/// The open alerts, oldest first.
pub async fn open_alerts(db: &impl ConnectionTrait) -> Result<Vec<AlertRow>, DbErr> {
    let select = select_alerts()
        .and_where(Expr::col("state").eq("open"))
        .order_by("alerted_date", Order::Asc)
        .order_by("alert_id", Order::Asc)
        .to_owned();
    db.query_all(&select)
        .await?
        .iter()
        .map(alert_from)
        .collect()
}

/// The debtors with an open alert (locked by the day's work, which may escalate them).
pub async fn debtors_with_open_alerts(db: &impl ConnectionTrait) -> Result<Vec<DebtorKey>, DbErr> {
    let select = Query::select()
        .distinct()
        .columns(["municipality", "debtor_id"])
        .from("caseworker_alerts")
        .and_where(Expr::col("state").eq("open"))
        .to_owned();
    db.query_all(&select)
        .await?
        .iter()
        .map(|r| Ok((col(r, "municipality")?, col(r, "debtor_id")?)))
        .collect()
}

/// Whether a meeting with the debtor was held on or after `since` (it answers an alert).
pub async fn meeting_held_since(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
    since: BusinessDate,
) -> Result<bool, DbErr> {
    let select = Query::select()
        .expr_as(Expr::col(Asterisk).count(), "held")
        .from("meetings")
        .and_where(Expr::col("municipality").eq(municipality))
        .and_where(Expr::col("debtor_id").eq(debtor_id))
        .and_where(Expr::col("state").eq("held"))
        .and_where(Expr::col("outcome_date").gte(date(since)))
        .to_owned();
    Ok(match db.query_one(&select).await? {
        Some(r) => col::<i64>(&r, "held")? > 0,
        None => false,
    })
}
