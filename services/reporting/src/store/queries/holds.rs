//! Agreements (holds) on claims.

use restance_kernel::BusinessDate;
use restance_store::{date, get_date, get_opt_date, stmt};
use sea_orm::{ConnectionTrait, DbErr, QueryResult};

use super::{bad, opt_date};
use crate::domain::claim::HoldKind;

/// Where an agreement is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldStatus {
    /// Granted, starting later (`from` after the business date it was granted on).
    Pending,
    /// In force.
    Active,
    /// Over (ended, defaulted, completed, expired).
    Ended,
}

impl HoldStatus {
    fn as_str(self) -> &'static str {
        match self {
            HoldStatus::Pending => "pending",
            HoldStatus::Active => "active",
            HoldStatus::Ended => "ended",
        }
    }

    fn parse(s: &str) -> Option<HoldStatus> {
        match s {
            "pending" => Some(HoldStatus::Pending),
            "active" => Some(HoldStatus::Active),
            "ended" => Some(HoldStatus::Ended),
            _ => None,
        }
    }
}

/// A payment plan or deferral and the claims it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldRow {
    /// Plan or deferral.
    pub kind: HoldKind,
    /// The plan or deferral id.
    pub hold_id: String,
    /// Municipality code.
    pub municipality: String,
    /// The debtor.
    pub debtor_id: String,
    /// First day in force.
    pub from: BusinessDate,
    /// Last day in force (deferrals).
    pub until: Option<BusinessDate>,
    /// Pending, active or ended.
    pub status: HoldStatus,
    /// The claims covered (fixed when granted).
    pub claim_ids: Vec<String>,
}

const HOLD_COLUMNS: &str =
    "kind, hold_id, municipality, debtor_id, from_date, until_date, status, claim_ids";

fn hold_from(r: &QueryResult) -> Result<HoldRow, DbErr> {
    let kind: String = r.try_get_by_index(0)?;
    let status: String = r.try_get_by_index(6)?;
    let ids: String = r.try_get_by_index(7)?;
    Ok(HoldRow {
        kind: HoldKind::parse(&kind).ok_or_else(|| bad("hold kind", &kind))?,
        hold_id: r.try_get_by_index(1)?,
        municipality: r.try_get_by_index(2)?,
        debtor_id: r.try_get_by_index(3)?,
        from: get_date(r, 4)?,
        until: get_opt_date(r, 5)?,
        status: HoldStatus::parse(&status).ok_or_else(|| bad("hold status", &status))?,
        claim_ids: serde_json::from_str(&ids).map_err(|_| bad("claim ids", &ids))?,
    })
}

/// One agreement.
pub async fn hold(
    db: &impl ConnectionTrait,
    kind: HoldKind,
    hold_id: &str,
) -> Result<Option<HoldRow>, DbErr> {
    let sql = format!("SELECT {HOLD_COLUMNS} FROM holds WHERE kind = $1 AND hold_id = $2");
    db.query_one_raw(stmt(db, sql, vec![kind.as_str().into(), hold_id.into()]))
        .await?
        .as_ref()
        .map(hold_from)
        .transpose()
}

/// Writes agreements.
pub async fn upsert_holds(db: &impl ConnectionTrait, holds: &[&HoldRow]) -> Result<(), DbErr> {
    for h in holds {
        let ids = serde_json::to_string(&h.claim_ids)
            .map_err(|e| DbErr::Custom(format!("claim ids: {e}")))?;
        let sql = format!(
            "INSERT INTO holds ({HOLD_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (kind, hold_id) DO UPDATE SET from_date = excluded.from_date, \
             until_date = excluded.until_date, status = excluded.status, claim_ids = excluded.claim_ids"
        );
        db.execute_raw(stmt(
            db,
            sql,
            vec![
                h.kind.as_str().into(),
                h.hold_id.clone().into(),
                h.municipality.clone().into(),
                h.debtor_id.clone().into(),
                date(h.from),
                opt_date(h.until),
                h.status.as_str().into(),
                ids.into(),
            ],
        ))
        .await?;
    }
    Ok(())
}

/// Agreements whose status changes when `day` opens: pending ones that start by then, and
/// deferrals in force whose last day is before it.
pub async fn holds_changing_on(
    db: &impl ConnectionTrait,
    day: BusinessDate,
) -> Result<Vec<HoldRow>, DbErr> {
    let sql = format!(
        "SELECT {HOLD_COLUMNS} FROM holds WHERE (status = 'pending' AND from_date <= $1) \
         OR (status = 'active' AND until_date < $1) ORDER BY kind, hold_id"
    );
    db.query_all_raw(stmt(db, sql, vec![date(day)]))
        .await?
        .iter()
        .map(hold_from)
        .collect()
}
