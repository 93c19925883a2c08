//! Agreements (holds) on claims.

use chrono::NaiveDate;
use restance_kernel::BusinessDate;
use restance_store::date;
use sea_orm::sea_query::{Cond, Expr, ExprTrait, OnConflict, Order, Query};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, QueryResult};

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

const HOLD_COLUMNS: [&str; 8] = [
    "kind",
    "hold_id",
    "municipality",
    "debtor_id",
    "from_date",
    "until_date",
    "status",
    "claim_ids",
];

/// A row of `holds` as stored.
#[derive(Debug, FromQueryResult)]
struct HoldRecord {
    kind: String,
    hold_id: String,
    municipality: String,
    debtor_id: String,
    from_date: NaiveDate,
    until_date: Option<NaiveDate>,
    status: String,
    claim_ids: String,
}

fn hold_from(r: &QueryResult) -> Result<HoldRow, DbErr> {
    let h = HoldRecord::from_query_result(r, "")?;
    Ok(HoldRow {
        kind: HoldKind::parse(&h.kind).ok_or_else(|| bad("hold kind", &h.kind))?,
        hold_id: h.hold_id,
        municipality: h.municipality,
        debtor_id: h.debtor_id,
        from: h.from_date.into(),
        until: h.until_date.map(BusinessDate::from),
        status: HoldStatus::parse(&h.status).ok_or_else(|| bad("hold status", &h.status))?,
        claim_ids: serde_json::from_str(&h.claim_ids)
            .map_err(|_| bad("claim ids", &h.claim_ids))?,
    })
}

/// One agreement.
pub async fn hold(
    db: &impl ConnectionTrait,
    kind: HoldKind,
    hold_id: &str,
) -> Result<Option<HoldRow>, DbErr> {
    db.query_one(
        Query::select()
            .columns(HOLD_COLUMNS)
            .from("holds")
            .and_where(Expr::col("kind").eq(kind.as_str()))
            .and_where(Expr::col("hold_id").eq(hold_id)),
    )
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
        db.execute(
            Query::insert()
                .into_table("holds")
                .columns(HOLD_COLUMNS)
                .values_panic([
                    h.kind.as_str().into(),
                    h.hold_id.as_str().into(),
                    h.municipality.as_str().into(),
                    h.debtor_id.as_str().into(),
                    date(h.from).into(),
                    opt_date(h.until).into(),
                    h.status.as_str().into(),
                    ids.into(),
                ])
                .on_conflict(
                    OnConflict::columns(["kind", "hold_id"])
                        .update_columns(["from_date", "until_date", "status", "claim_ids"])
                        .to_owned(),
                ),
        )
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
    db.query_all(
        Query::select()
            .columns(HOLD_COLUMNS)
            .from("holds")
            .cond_where(
                Cond::any()
                    .add(
                        Expr::col("status")
                            .eq("pending")
                            .and(Expr::col("from_date").lte(date(day))),
                    )
                    .add(
                        Expr::col("status")
                            .eq("active")
                            .and(Expr::col("until_date").lt(date(day))),
                    ),
            )
            .order_by("kind", Order::Asc)
            .order_by("hold_id", Order::Asc),
    )
    .await?
    .iter()
    .map(hold_from)
    .collect()
}
