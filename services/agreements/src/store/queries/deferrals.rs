//! Deferrals and the claims they cover.

use restance_kernel::BusinessDate;
use restance_store::{date, rows_per_statement};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Value};
use serde::{Deserialize, Serialize};

use super::{col, get_date, get_opt_date, opt_date, parse};
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

const DEFERRAL_COLUMNS: [&str; 14] = [
    "deferral_id",
    "municipality",
    "debtor_id",
    "office",
    "state",
    "reason",
    "from_date",
    "until_date",
    "review_date",
    "review_raised",
    "note",
    "ended_date",
    "end_reason",
    "created_by",
];

fn deferral_from(r: &QueryResult) -> Result<DeferralRow, DbErr> {
    let state: String = col(r, "state")?;
    let reason: String = col(r, "reason")?;
    Ok(DeferralRow {
        deferral_id: col(r, "deferral_id")?,
        municipality: col(r, "municipality")?,
        debtor_id: col(r, "debtor_id")?,
        office: col(r, "office")?,
        state: parse("deferral state", &state, |s| match s {
            "active" => Some(DeferralStatus::Active),
            "ended" => Some(DeferralStatus::Ended),
            _ => None,
        })?,
        reason: parse("deferral reason", &reason, DeferralReason::parse)?,
        from: get_date(r, "from_date")?,
        until: get_date(r, "until_date")?,
        review_date: get_opt_date(r, "review_date")?,
        review_raised: col(r, "review_raised")?,
        note: col(r, "note")?,
        ended_date: get_opt_date(r, "ended_date")?,
        end_reason: col(r, "end_reason")?,
        created_by: col(r, "created_by")?,
    })
}

/// `SELECT` the deferral columns `FROM deferrals`.
fn select_deferrals() -> SelectStatement {
    Query::select()
        .columns(DEFERRAL_COLUMNS)
        .from("deferrals")
        .to_owned()
}

/// Stores a new deferral or writes back a changed one.
pub async fn save_deferral(db: &impl ConnectionTrait, d: &DeferralRow) -> Result<(), DbErr> {
    let values: [Value; 14] = [
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
    let insert = Query::insert()
        .into_table("deferrals")
        .columns(DEFERRAL_COLUMNS)
        .values_panic(values.map(Expr::from))
        .on_conflict(
            OnConflict::column("deferral_id")
                .update_columns(["state", "review_raised", "ended_date", "end_reason"])
                .to_owned(),
        )
        .to_owned();
    db.execute(&insert).await?;
    Ok(())
}

/// One deferral.
pub async fn deferral(db: &impl ConnectionTrait, id: &str) -> Result<Option<DeferralRow>, DbErr> {
    let select = select_deferrals()
        .and_where(Expr::col("deferral_id").eq(id))
        .to_owned();
    db.query_one(&select)
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
    let select = select_deferrals()
        .and_where(Expr::col("municipality").eq(municipality))
        .and_where(Expr::col("debtor_id").eq(debtor_id))
        .order_by("from_date", Order::Desc)
        .order_by("deferral_id", Order::Asc)
        .to_owned();
    db.query_all(&select)
        .await?
        .iter()
        .map(deferral_from)
        .collect()
}

/// Every active deferral.
pub async fn active_deferrals(db: &impl ConnectionTrait) -> Result<Vec<DeferralRow>, DbErr> {
    let select = select_deferrals()
        .and_where(Expr::col("state").eq("active"))
        .order_by("deferral_id", Order::Asc)
        .to_owned();
    db.query_all(&select)
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
        let mut insert = Query::insert();
        insert
            .into_table("deferral_claims")
            .columns(["deferral_id", "claim_id"])
            .on_conflict(OnConflict::new().do_nothing().to_owned());
        for id in chunk {
            insert.values_panic([deferral_id.into(), id.as_str().into()]);
        }
        db.execute(&insert).await?;
    }
    Ok(())
}

/// The claims a deferral covers.
pub async fn deferral_claims(
    db: &impl ConnectionTrait,
    deferral_id: &str,
) -> Result<Vec<String>, DbErr> {
    let select = Query::select()
        .column("claim_id")
        .from("deferral_claims")
        .and_where(Expr::col("deferral_id").eq(deferral_id))
        .order_by("claim_id", Order::Asc)
        .to_owned();
    db.query_all(&select)
        .await?
        .iter()
        .map(|r| col(r, "claim_id"))
        .collect()
}
