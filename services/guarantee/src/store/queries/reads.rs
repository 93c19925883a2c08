//! The API's lists: recovery cases by state and municipality (filtered in SQL, scoped by the
//! token's municipalities), the case ids of a municipality (the quarterly statement), and a
//! benefit's stored classification (the answer to a benefit entered over the API).

use restance_kernel::{BusinessDate, Money};
use restance_store::date;
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
use sea_orm::{ConnectionTrait, DbErr};
use serde::{Deserialize, Serialize};

use super::{get, get_date, get_money};

/// The most cases one list answers.
pub const MAX_LIST: usize = 1_000;

/// One case in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseListRow {
    /// `<guarantee_id>/R<n>`.
    pub case_id: String,
    /// The guarantee.
    pub guarantee_id: String,
    /// The municipality.
    pub municipality: String,
    /// `opened`, `raised`, `part_paid`, `settled`, `released` or `closed`.
    pub state: String,
    /// The business day it was opened.
    pub opened_on: BusinessDate,
    /// The claim now.
    pub claim: Money,
    /// The guarantee's amount the claim was capped at.
    pub cap: Money,
    /// Lost to limitation before the claim was raised.
    pub expired: Money,
}

/// The cases in `state` (any when `None`) of `municipality` (any when `None`), limited to
/// `scope` (a token's municipalities; `None`: every one), by case id, at most [`MAX_LIST`].
pub async fn cases(
    db: &impl ConnectionTrait,
    state: Option<&str>,
    municipality: Option<&str>,
    scope: Option<&[String]>,
) -> Result<Vec<CaseListRow>, DbErr> {
    let mut select = Query::select()
        .columns([
            "case_id",
            "guarantee_id",
            "municipality",
            "state",
            "opened_on",
            "claim_minor",
            "cap_minor",
            "expired_minor",
        ])
        .from("recovery_cases")
        .to_owned();
    if let Some(s) = state {
        select.and_where(Expr::col("state").eq(s));
    }
    if let Some(m) = municipality {
        select.and_where(Expr::col("municipality").eq(m));
    }
    if let Some(codes) = scope {
        if codes.is_empty() {
            return Ok(Vec::new());
        }
        select.and_where(Expr::col("municipality").is_in(codes.iter().map(String::as_str)));
    }
    select
        .order_by("case_id", Order::Asc)
        .limit(MAX_LIST as u64);
    let rows = db.query_all(&select).await?;
    rows.iter()
        .map(|r| {
            Ok(CaseListRow {
                case_id: get(r, "case_id")?,
                guarantee_id: get(r, "guarantee_id")?,
                municipality: get(r, "municipality")?,
                state: get(r, "state")?,
                opened_on: get_date(r, "opened_on")?,
                claim: get_money(r, "claim_minor")?,
                cap: get_money(r, "cap_minor")?,
                expired: get_money(r, "expired_minor")?,
            })
        })
        .collect()
}

/// The ids of the municipality's cases opened on or before `until`, by case id.
pub async fn case_ids_of(
    db: &impl ConnectionTrait,
    municipality: &str,
    until: BusinessDate,
) -> Result<Vec<String>, DbErr> {
    let select = Query::select()
        .column("case_id")
        .from("recovery_cases")
        .and_where(Expr::col("municipality").eq(municipality))
        .and_where(Expr::col("opened_on").lte(date(until)))
        .order_by("case_id", Order::Asc)
        .to_owned();
    let rows = db.query_all(&select).await?;
    rows.iter().map(|r| get(r, "case_id")).collect()
}

/// The case of a guarantee (its first), if any.
pub async fn case_of_guarantee(
    db: &impl ConnectionTrait,
    guarantee_id: &str,
) -> Result<Option<String>, DbErr> {
    let select = Query::select()
        .column("case_id")
        .from("recovery_cases")
        .and_where(Expr::col("guarantee_id").eq(guarantee_id))
        .order_by("case_no", Order::Asc)
        .limit(1)
        .to_owned();
    let row = db.query_one(&select).await?;
    row.map(|r| get(&r, "case_id")).transpose()
}

/// A benefit's classification as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredClassification {
    /// `recoverable`, `reported`, `no_guarantee` or `not_recoverable`.
    pub classification: String,
    /// The guarantee it is recovered from.
    pub recoverable_from: Option<String>,
    /// Whether it is reported to the immigration service.
    pub reported: bool,
}

/// The classification stored for `(source, benefit_id)`.
pub async fn classification(
    db: &impl ConnectionTrait,
    source: &str,
    benefit_id: &str,
) -> Result<Option<StoredClassification>, DbErr> {
    let select = Query::select()
        .columns(["classification", "recoverable_from", "reported"])
        .from("benefits")
        .and_where(Expr::col("source").eq(source))
        .and_where(Expr::col("benefit_id").eq(benefit_id))
        .to_owned();
    let row = db.query_one(&select).await?;
    row.map(|r| {
        Ok(StoredClassification {
            classification: get(&r, "classification")?,
            recoverable_from: get(&r, "recoverable_from")?,
            reported: get(&r, "reported")?,
        })
    })
    .transpose()
}

/// The latest business day opened before `day`, if any.
pub async fn previous_day(
    db: &impl ConnectionTrait,
    day: BusinessDate,
) -> Result<Option<BusinessDate>, DbErr> {
    let select = Query::select()
        .column("business_date")
        .from("business_days")
        .and_where(Expr::col("business_date").lt(date(day)))
        .order_by("business_date", Order::Desc)
        .limit(1)
        .to_owned();
    let rows = db.query_all(&select).await?;
    rows.first()
        .map(|r| get_date(r, "business_date"))
        .transpose()
}
