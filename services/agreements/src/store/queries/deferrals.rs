//! Deferrals and the claims they cover.

use restance_kernel::BusinessDate;
use restance_store::{date, get_date, get_opt_date, rows_per_statement, stmt, value_rows};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Value};
use serde::{Deserialize, Serialize};

use super::{get_bool, opt_date, parse};
use crate::domain::DeferralReason;

/// Where a deferral stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeferralStatus {
    /// In force.
    Active,
    /// Over (expired, revoked, replaced by a plan).
    Ended,
}

/// A deferral.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeferralRow {
    /// Its id.
    pub deferral_id: String,
    /// Municipality.
    pub municipality: String,
    /// Debtor.
    pub debtor_id: String,
    /// Whose letterhead.
    pub office: String,
    /// Active or ended.
    pub state: DeferralStatus,
    /// Why it was granted.
    pub reason: DeferralReason,
    /// First day.
    pub from: BusinessDate,
    /// Last day.
    pub until: BusinessDate,
    /// When the caseworker reviews it.
    pub review_date: Option<BusinessDate>,
    /// The review task was raised.
    pub review_raised: bool,
    /// The caseworker's note.
    pub note: Option<String>,
    /// When it ended.
    pub ended_date: Option<BusinessDate>,
    /// `expired`, `revoked` or `replaced_by_plan`.
    pub end_reason: Option<String>,
    /// Who granted it.
    pub created_by: String,
}

const DEFERRAL_COLUMNS: &str = "deferral_id, municipality, debtor_id, office, state, reason, from_date, until_date, \
    review_date, review_raised, note, ended_date, end_reason, created_by";

fn deferral_from(r: &QueryResult) -> Result<DeferralRow, DbErr> {
    let state: String = r.try_get_by_index(4)?;
    let reason: String = r.try_get_by_index(5)?;
    Ok(DeferralRow {
        deferral_id: r.try_get_by_index(0)?,
        municipality: r.try_get_by_index(1)?,
        debtor_id: r.try_get_by_index(2)?,
        office: r.try_get_by_index(3)?,
        state: parse("deferral state", &state, |s| match s {
            "active" => Some(DeferralStatus::Active),
            "ended" => Some(DeferralStatus::Ended),
            _ => None,
        })?,
        reason: parse("deferral reason", &reason, DeferralReason::parse)?,
        from: get_date(r, 6)?,
        until: get_date(r, 7)?,
        review_date: get_opt_date(r, 8)?,
        review_raised: get_bool(r, 9)?,
        note: r.try_get_by_index(10)?,
        ended_date: get_opt_date(r, 11)?,
        end_reason: r.try_get_by_index(12)?,
        created_by: r.try_get_by_index(13)?,
    })
}

/// Stores a new deferral or writes back a changed one.
pub async fn save_deferral(db: &impl ConnectionTrait, d: &DeferralRow) -> Result<(), DbErr> {
    let sql = format!(
        "INSERT INTO deferrals ({DEFERRAL_COLUMNS}) VALUES {} ON CONFLICT (deferral_id) DO UPDATE SET \
         state = excluded.state, review_raised = excluded.review_raised, ended_date = excluded.ended_date, \
         end_reason = excluded.end_reason",
        value_rows(1, 14)
    );
    let values: Vec<Value> = vec![
        d.deferral_id.clone().into(),
        d.municipality.clone().into(),
        d.debtor_id.clone().into(),
        d.office.clone().into(),
        match d.state {
            DeferralStatus::Active => "active",
            DeferralStatus::Ended => "ended",
        }
        .into(),
        d.reason.as_str().into(),
        date(d.from),
        date(d.until),
        opt_date(d.review_date),
        d.review_raised.into(),
        d.note.clone().into(),
        opt_date(d.ended_date),
        d.end_reason.clone().into(),
        d.created_by.clone().into(),
    ];
    db.execute_raw(stmt(db, sql, values)).await?;
    Ok(())
}

/// One deferral.
pub async fn deferral(db: &impl ConnectionTrait, id: &str) -> Result<Option<DeferralRow>, DbErr> {
    let sql = format!("SELECT {DEFERRAL_COLUMNS} FROM deferrals WHERE deferral_id = $1");
    db.query_one_raw(stmt(db, sql, vec![id.into()]))
        .await?
        .as_ref()
        .map(deferral_from)
        .transpose()
}

/// A debtor's deferrals, newest first.
pub async fn deferrals_of_debtor(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
) -> Result<Vec<DeferralRow>, DbErr> {
    let sql = format!(
        "SELECT {DEFERRAL_COLUMNS} FROM deferrals WHERE municipality = $1 AND debtor_id = $2 ORDER BY from_date DESC, deferral_id"
    );
    db.query_all_raw(stmt(db, sql, vec![municipality.into(), debtor_id.into()]))
        .await?
        .iter()
        .map(deferral_from)
        .collect()
}

/// Every active deferral.
pub async fn active_deferrals(db: &impl ConnectionTrait) -> Result<Vec<DeferralRow>, DbErr> {
    let sql = format!(
        "SELECT {DEFERRAL_COLUMNS} FROM deferrals WHERE state = 'active' ORDER BY deferral_id"
    );
    db.query_all_raw(stmt(db, sql, vec![]))
        .await?
        .iter()
        .map(deferral_from)
        .collect()
}

/// Records the claims a deferral covers.
pub async fn insert_deferral_claims(
    db: &impl ConnectionTrait,
    deferral_id: &str,
    claim_ids: &[String],
) -> Result<(), DbErr> {
    for chunk in claim_ids.chunks(rows_per_statement(2)) {
        let sql = format!(
            "INSERT INTO deferral_claims (deferral_id, claim_id) VALUES {} ON CONFLICT DO NOTHING",
            value_rows(chunk.len(), 2)
        );
        let mut values = Vec::with_capacity(chunk.len() * 2);
        for id in chunk {
            values.push(deferral_id.into());
            values.push(id.clone().into());
        }
        db.execute_raw(stmt(db, sql, values)).await?;
    }
    Ok(())
}

/// The claims a deferral covers.
pub async fn deferral_claims(
    db: &impl ConnectionTrait,
    deferral_id: &str,
) -> Result<Vec<String>, DbErr> {
    db.query_all_raw(stmt(
        db,
        "SELECT claim_id FROM deferral_claims WHERE deferral_id = $1 ORDER BY claim_id",
        vec![deferral_id.into()],
    ))
    .await?
    .iter()
    .map(|r| r.try_get_by_index(0))
    .collect()
}
