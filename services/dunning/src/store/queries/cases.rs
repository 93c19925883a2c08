//! The caseworkers' collection cases: transfer proposals and municipal distraint cases.

use chrono::NaiveDate;
use restance_kernel::{BusinessDate, Currency, Money};
use restance_store::date;
use sea_orm::sea_query::{Expr, ExprTrait, LockType, OnConflict, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, QueryResult};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::json;

/// `transfer_proposal` or `distraint`.
pub const TRANSFER_PROPOSAL: &str = "transfer_proposal";
/// A municipal distraint case.
pub const DISTRAINT: &str = "distraint";

/// One case row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseRow {
    /// Deterministic id (`tpr-…`, `dst-…`).
    pub case_id: String,
    /// [`TRANSFER_PROPOSAL`] or [`DISTRAINT`].
    pub kind: String,
    /// Municipality code.
    pub municipality: String,
    /// The debtor.
    pub debtor_id: String,
    /// The collection office of the first claim.
    pub office: String,
    /// The claims' categories, sorted, de-duplicated.
    pub categories: Vec<String>,
    /// The claims.
    pub claim_ids: Vec<String>,
    /// Currency.
    pub currency: Currency,
    /// What was open on them together when the case was opened.
    pub balance: Money,
    /// The business date it was opened.
    pub opened_date: BusinessDate,
    /// Proposals: `open`, `transfer`, `keep`; distraint cases: `open`, `recorded`, `closed`.
    pub state: String,
    /// A proposal's grounds per claim; a distraint case's notice and legal basis.
    pub grounds: Json,
    /// Who decided (token name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    /// The business date decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_date: Option<BusinessDate>,
    /// The decision as recorded (choice, track, review date; distraint: recorded date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Json>,
    /// The caseworker's reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The columns of `collection_cases`.
const COLUMNS: [&str; 16] = [
    "case_id",
    "kind",
    "municipality",
    "debtor_id",
    "office",
    "categories",
    "claim_ids",
    "currency",
    "balance_minor",
    "opened_date",
    "state",
    "grounds",
    "decided_by",
    "decided_date",
    "decision",
    "reason",
];

/// A `collection_cases` row as stored.
#[derive(FromQueryResult)]
struct CaseRecord {
    case_id: String,
    kind: String,
    municipality: String,
    debtor_id: String,
    office: String,
    categories: String,
    claim_ids: String,
    currency: String,
    balance_minor: i64,
    opened_date: NaiveDate,
    state: String,
    grounds: String,
    decided_by: Option<String>,
    decided_date: Option<NaiveDate>,
    decision: Option<String>,
    reason: Option<String>,
}

/// `SELECT <every case column> FROM collection_cases`.
fn select_cases() -> SelectStatement {
    Query::select()
        .columns(COLUMNS)
        .from("collection_cases")
        .to_owned()
}

fn parse_json(text: &str, what: &str) -> Result<Json, DbErr> {
    serde_json::from_str(text).map_err(|e| DbErr::Custom(format!("stored {what} unreadable: {e}")))
}

fn case_from(row: &QueryResult) -> Result<CaseRow, DbErr> {
    let r = CaseRecord::from_query_result(row, "")?;
    Ok(CaseRow {
        categories: serde_json::from_str(&r.categories)
            .map_err(|e| DbErr::Custom(format!("stored categories unreadable: {e}")))?,
        claim_ids: serde_json::from_str(&r.claim_ids)
            .map_err(|e| DbErr::Custom(format!("stored claim ids unreadable: {e}")))?,
        currency: r
            .currency
            .parse()
            .map_err(|_| DbErr::Custom(format!("stored currency {:?} unreadable", r.currency)))?,
        balance: Money::from_minor(r.balance_minor),
        opened_date: r.opened_date.into(),
        grounds: parse_json(&r.grounds, "case grounds")?,
        decided_date: r.decided_date.map(BusinessDate::from),
        decision: r
            .decision
            .as_deref()
            .map(|d| parse_json(d, "case decision"))
            .transpose()?,
        case_id: r.case_id,
        kind: r.kind,
        municipality: r.municipality,
        debtor_id: r.debtor_id,
        office: r.office,
        state: r.state,
        decided_by: r.decided_by,
        reason: r.reason,
    })
}

/// Inserts cases that are not there yet (a day run again inserts nothing twice).
pub async fn insert_cases(db: &impl ConnectionTrait, cases: &[CaseRow]) -> Result<(), DbErr> {
    for c in cases {
        let insert = Query::insert()
            .into_table("collection_cases")
            .columns(COLUMNS[..12].iter().copied())
            .values_panic([
                c.case_id.as_str().into(),
                c.kind.as_str().into(),
                c.municipality.as_str().into(),
                c.debtor_id.as_str().into(),
                c.office.as_str().into(),
                json(&c.categories)?.into(),
                json(&c.claim_ids)?.into(),
                c.currency.code().into(),
                c.balance.to_minor().into(),
                date(c.opened_date).into(),
                c.state.as_str().into(),
                json(&c.grounds)?.into(),
            ])
            .on_conflict(OnConflict::column("case_id").do_nothing().to_owned())
            .to_owned();
        db.execute(&insert).await?;
    }
    Ok(())
}

/// What a case list is filtered by.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    /// `transfer_proposal` or `distraint`.
    pub kind: String,
    /// `open`, … (none: every state).
    pub state: Option<String>,
    /// One municipality.
    pub municipality: Option<String>,
    /// Only cases with a claim of this category.
    pub category: Option<String>,
    /// Only cases of at most this balance.
    pub max_balance: Option<Money>,
    /// Only cases of at least this balance.
    pub min_balance: Option<Money>,
}

/// Cases by filter, oldest first, at most `limit`; `scope`: the token's municipalities (none:
/// all).
pub async fn cases(
    db: &impl ConnectionTrait,
    filter: &CaseFilter,
    scope: Option<&[String]>,
    limit: u64,
) -> Result<Vec<CaseRow>, DbErr> {
    let mut select = select_cases()
        .and_where(Expr::col("kind").eq(filter.kind.as_str()))
        .to_owned();
    if let Some(state) = &filter.state {
        select.and_where(Expr::col("state").eq(state.as_str()));
    }
    if let Some(m) = &filter.municipality {
        select.and_where(Expr::col("municipality").eq(m.as_str()));
    }
    if let Some(max) = filter.max_balance {
        select.and_where(Expr::col("balance_minor").lte(max.to_minor()));
    }
    if let Some(min) = filter.min_balance {
        select.and_where(Expr::col("balance_minor").gte(min.to_minor()));
    }
    select
        .order_by("opened_date", Order::Asc)
        .order_by("case_id", Order::Asc);
    let rows = db.query_all(&select).await?;
    let mut out = Vec::new();
    for row in &rows {
        let case = case_from(row)?;
        if scope.is_some_and(|s| !s.contains(&case.municipality)) {
            continue;
        }
        if filter
            .category
            .as_ref()
            .is_some_and(|c| !case.categories.contains(c))
        {
            continue;
        }
        out.push(case);
        if out.len() as u64 >= limit {
            break;
        }
    }
    Ok(out)
}

/// One case, locked on PostgreSQL for the decision.
pub async fn lock_case(db: &impl ConnectionTrait, case_id: &str) -> Result<Option<CaseRow>, DbErr> {
    let select = select_cases()
        .and_where(Expr::col("case_id").eq(case_id))
        .lock(LockType::Update)
        .to_owned();
    db.query_one(&select)
        .await?
        .as_ref()
        .map(case_from)
        .transpose()
}

/// Records a caseworker's decision on an open case.
pub async fn decide_case(
    db: &impl ConnectionTrait,
    case_id: &str,
    state: &str,
    by: &str,
    on: BusinessDate,
    decision: &Json,
    reason: &str,
) -> Result<(), DbErr> {
    let update = Query::update()
        .table("collection_cases")
        .value("state", state)
        .value("decided_by", by)
        .value("decided_date", date(on))
        .value("decision", json(decision)?)
        .value("reason", reason)
        .and_where(Expr::col("case_id").eq(case_id))
        .to_owned();
    db.execute(&update).await?;
    Ok(())
}
