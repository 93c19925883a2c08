//! The social caseworker's alerts and their answers.

use restance_kernel::BusinessDate;
use restance_store::{date, get_date, get_opt_date, is_postgres, stmt, value_rows};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Value};
use serde::{Deserialize, Serialize};

use super::{DebtorKey, get_bool, json, opt_date, parse};
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

const ALERT_COLUMNS: &str = "alert_id, municipality, debtor_id, office, category, claim_ids, reason, \
    alerted_date, answer_due, state, escalated, answered_date, answered_by, answer";

fn alert_from(r: &QueryResult) -> Result<AlertRow, DbErr> {
    let claims: String = r.try_get_by_index(5)?;
    let state: String = r.try_get_by_index(9)?;
    Ok(AlertRow {
        alert_id: r.try_get_by_index(0)?,
        municipality: r.try_get_by_index(1)?,
        debtor_id: r.try_get_by_index(2)?,
        office: r.try_get_by_index(3)?,
        category: r.try_get_by_index(4)?,
        claim_ids: parse("claim ids", &claims, |s| serde_json::from_str(s).ok())?,
        reason: r.try_get_by_index(6)?,
        alerted_date: get_date(r, 7)?,
        answer_due: get_date(r, 8)?,
        state: parse("alert state", &state, AlertState::parse)?,
        escalated: get_bool(r, 10)?,
        answered_date: get_opt_date(r, 11)?,
        answered_by: r.try_get_by_index(12)?,
        answer: r.try_get_by_index(13)?,
    })
}

fn values(a: &AlertRow) -> Result<Vec<Value>, DbErr> {
    Ok(vec![
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

/// Records an alert unless it is known; `true` when it is new.
pub async fn insert_alert_if_new(db: &impl ConnectionTrait, a: &AlertRow) -> Result<bool, DbErr> {
    let sql = format!(
        "INSERT INTO caseworker_alerts ({ALERT_COLUMNS}) VALUES {} ON CONFLICT (alert_id) DO NOTHING",
        value_rows(1, 14)
    );
    Ok(db
        .execute_raw(stmt(db, sql, values(a)?))
        .await?
        .rows_affected()
        == 1)
}

/// Writes an alert's state, escalation and answer.
pub async fn save_alert(db: &impl ConnectionTrait, a: &AlertRow) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "UPDATE caseworker_alerts SET state = $2, escalated = $3, answered_date = $4, \
         answered_by = $5, answer = $6 WHERE alert_id = $1",
        vec![
            a.alert_id.clone().into(),
            a.state.as_str().into(),
            a.escalated.into(),
            opt_date(a.answered_date),
            a.answered_by.clone().into(),
            a.answer.clone().into(),
        ],
    ))
    .await?;
    Ok(())
}

/// One alert (on PostgreSQL locked for the rest of the transaction when `lock`).
pub async fn alert(
    db: &impl ConnectionTrait,
    id: &str,
    lock: bool,
) -> Result<Option<AlertRow>, DbErr> {
    let lock = if lock && is_postgres(db) {
        " FOR UPDATE"
    } else {
        ""
    };
    let sql = format!("SELECT {ALERT_COLUMNS} FROM caseworker_alerts WHERE alert_id = $1{lock}");
    db.query_one_raw(stmt(db, sql, vec![id.into()]))
        .await?
        .as_ref()
        .map(alert_from)
        .transpose()
}

/// The open alerts, oldest first.
pub async fn open_alerts(db: &impl ConnectionTrait) -> Result<Vec<AlertRow>, DbErr> {
    let sql = format!(
        "SELECT {ALERT_COLUMNS} FROM caseworker_alerts WHERE state = 'open' \
         ORDER BY alerted_date, alert_id"
    );
    db.query_all_raw(stmt(db, sql, vec![]))
        .await?
        .iter()
        .map(alert_from)
        .collect()
}

/// The debtors with an open alert (locked by the day's work, which may escalate them).
pub async fn debtors_with_open_alerts(db: &impl ConnectionTrait) -> Result<Vec<DebtorKey>, DbErr> {
    let rows = db
        .query_all_raw(stmt(
            db,
            "SELECT DISTINCT municipality, debtor_id FROM caseworker_alerts WHERE state = 'open'",
            vec![],
        ))
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get_by_index(0)?, r.try_get_by_index(1)?)))
        .collect()
}

/// Whether a meeting with the debtor was held on or after `since` (it answers an alert).
pub async fn meeting_held_since(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
    since: BusinessDate,
) -> Result<bool, DbErr> {
    let row = db
        .query_one_raw(stmt(
            db,
            "SELECT COUNT(*) FROM meetings WHERE municipality = $1 AND debtor_id = $2 \
             AND state = 'held' AND outcome_date >= $3",
            vec![municipality.into(), debtor_id.into(), date(since)],
        ))
        .await?;
    Ok(match row {
        Some(r) => r.try_get_by_index::<i64>(0)? > 0,
        None => false,
    })
}
