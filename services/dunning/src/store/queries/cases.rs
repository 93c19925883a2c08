//! The caseworkers' collection cases: transfer proposals and municipal distraint cases.

use restance_kernel::{BusinessDate, Currency, Money};
use restance_store::{date, get_date, get_opt_date, is_postgres, stmt};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Value};
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

const COLUMNS: &str = "case_id, kind, municipality, debtor_id, office, categories, claim_ids, currency, \
    balance_minor, opened_date, state, grounds, decided_by, decided_date, decision, reason";

fn parse_json(text: &str, what: &str) -> Result<Json, DbErr> {
    serde_json::from_str(text).map_err(|e| DbErr::Custom(format!("stored {what} unreadable: {e}")))
}

fn case_from(r: &QueryResult) -> Result<CaseRow, DbErr> {
    let categories: String = r.try_get_by_index(5)?;
    let claim_ids: String = r.try_get_by_index(6)?;
    let currency: String = r.try_get_by_index(7)?;
    let grounds: String = r.try_get_by_index(11)?;
    let decision: Option<String> = r.try_get_by_index(14)?;
    Ok(CaseRow {
        case_id: r.try_get_by_index(0)?,
        kind: r.try_get_by_index(1)?,
        municipality: r.try_get_by_index(2)?,
        debtor_id: r.try_get_by_index(3)?,
        office: r.try_get_by_index(4)?,
        categories: serde_json::from_str(&categories)
            .map_err(|e| DbErr::Custom(format!("stored categories unreadable: {e}")))?,
        claim_ids: serde_json::from_str(&claim_ids)
            .map_err(|e| DbErr::Custom(format!("stored claim ids unreadable: {e}")))?,
        currency: currency
            .parse()
            .map_err(|_| DbErr::Custom(format!("stored currency {currency:?} unreadable")))?,
        balance: Money::from_minor(r.try_get_by_index(8)?),
        opened_date: get_date(r, 9)?,
        state: r.try_get_by_index(10)?,
        grounds: parse_json(&grounds, "case grounds")?,
        decided_by: r.try_get_by_index(12)?,
        decided_date: get_opt_date(r, 13)?,
        decision: decision
            .as_deref()
            .map(|d| parse_json(d, "case decision"))
            .transpose()?,
        reason: r.try_get_by_index(15)?,
    })
}

/// Inserts cases that are not there yet (a day run again inserts nothing twice).
pub async fn insert_cases(db: &impl ConnectionTrait, cases: &[CaseRow]) -> Result<(), DbErr> {
    for c in cases {
        let values: Vec<Value> = vec![
            c.case_id.clone().into(),
            c.kind.clone().into(),
            c.municipality.clone().into(),
            c.debtor_id.clone().into(),
            c.office.clone().into(),
            json(&c.categories)?.into(),
            json(&c.claim_ids)?.into(),
            c.currency.code().into(),
            c.balance.to_minor().into(),
            date(c.opened_date),
            c.state.clone().into(),
            json(&c.grounds)?.into(),
        ];
        let sql = "INSERT INTO collection_cases (case_id, kind, municipality, debtor_id, office, \
            categories, claim_ids, currency, balance_minor, opened_date, state, grounds) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (case_id) DO NOTHING";
        db.execute_raw(stmt(db, sql.to_owned(), values)).await?;
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
    let mut values: Vec<Value> = vec![filter.kind.clone().into()];
    let mut sql = format!("SELECT {COLUMNS} FROM collection_cases WHERE kind = $1");
    if let Some(state) = &filter.state {
        values.push(state.clone().into());
        sql.push_str(&format!(" AND state = ${}", values.len()));
    }
    if let Some(m) = &filter.municipality {
        values.push(m.clone().into());
        sql.push_str(&format!(" AND municipality = ${}", values.len()));
    }
    if let Some(max) = filter.max_balance {
        values.push(max.to_minor().into());
        sql.push_str(&format!(" AND balance_minor <= ${}", values.len()));
    }
    if let Some(min) = filter.min_balance {
        values.push(min.to_minor().into());
        sql.push_str(&format!(" AND balance_minor >= ${}", values.len()));
    }
    sql.push_str(" ORDER BY opened_date, case_id");
    let rows = db.query_all_raw(stmt(db, sql, values)).await?;
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
    let lock = if is_postgres(db) { " FOR UPDATE" } else { "" };
    let sql = format!("SELECT {COLUMNS} FROM collection_cases WHERE case_id = $1{lock}");
    db.query_one_raw(stmt(db, sql, vec![case_id.into()]))
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
    let sql = "UPDATE collection_cases SET state = $2, decided_by = $3, decided_date = $4, \
        decision = $5, reason = $6 WHERE case_id = $1";
    db.execute_raw(stmt(
        db,
        sql.to_owned(),
        vec![
            case_id.into(),
            state.into(),
            by.into(),
            date(on),
            json(decision)?.into(),
            reason.into(),
        ],
    ))
    .await?;
    Ok(())
}
