//! Write-off proposals and their approval.

use chrono::{NaiveDate, Utc};
use restance_kernel::{BusinessDate, Currency, Money};
use restance_store::date;
use sea_orm::sea_query::{Expr, ExprTrait, LockType, OnConflict, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, QueryResult};
use serde::{Deserialize, Serialize};

/// A write-off proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteOffRow {
    /// The proposal id.
    pub write_off_id: String,
    /// The claim.
    pub claim_id: String,
    /// Municipality.
    pub municipality: String,
    /// Debtor.
    pub debtor_id: String,
    /// The limitation date reached.
    pub limitation_date: BusinessDate,
    /// What would be written off.
    pub balance: Money,
    /// Currency.
    pub currency: Currency,
    /// When proposed.
    pub proposed_date: BusinessDate,
    /// `proposed`, `approved`, `written_off` or `withdrawn`.
    pub state: String,
    /// Who approved it (token name).
    pub approved_by: Option<String>,
    /// When (wall clock, for the audit trail).
    pub approved_at: Option<chrono::DateTime<Utc>>,
    /// The business date of the approval.
    pub approved_date: Option<BusinessDate>,
}

/// A `write_offs` row as stored.
#[derive(FromQueryResult)]
struct WriteOffRecord {
    write_off_id: String,
    claim_id: String,
    municipality: String,
    debtor_id: String,
    limitation_date: NaiveDate,
    balance_minor: i64,
    currency: String,
    proposed_date: NaiveDate,
    state: String,
    approved_by: Option<String>,
    approved_at: Option<chrono::DateTime<Utc>>,
    approved_date: Option<NaiveDate>,
}

/// `SELECT <every write-off column> FROM write_offs`.
fn select_write_offs() -> SelectStatement {
    Query::select()
        .columns([
            "write_off_id",
            "claim_id",
            "municipality",
            "debtor_id",
            "limitation_date",
            "balance_minor",
            "currency",
            "proposed_date",
            "state",
            "approved_by",
            "approved_at",
            "approved_date",
        ])
        .from("write_offs")
        .to_owned()
}

fn write_off_from(row: &QueryResult) -> Result<WriteOffRow, DbErr> {
    let r = WriteOffRecord::from_query_result(row, "")?;
    Ok(WriteOffRow {
        currency: r
            .currency
            .parse()
            .map_err(|_| DbErr::Custom(format!("stored currency {:?} unreadable", r.currency)))?,
        write_off_id: r.write_off_id,
        claim_id: r.claim_id,
        municipality: r.municipality,
        debtor_id: r.debtor_id,
        limitation_date: r.limitation_date.into(),
        balance: Money::from_minor(r.balance_minor),
        proposed_date: r.proposed_date.into(),
        state: r.state,
        approved_by: r.approved_by,
        approved_at: r.approved_at,
        approved_date: r.approved_date.map(BusinessDate::from),
    })
}

/// Records a proposal (once per proposal id).
pub async fn insert_write_offs(
    db: &impl ConnectionTrait,
    rows: &[WriteOffRow],
) -> Result<(), DbErr> {
    for w in rows {
        let insert = Query::insert()
            .into_table("write_offs")
            .columns([
                "write_off_id",
                "claim_id",
                "municipality",
                "debtor_id",
                "limitation_date",
                "balance_minor",
                "currency",
                "proposed_date",
                "state",
            ])
            .values_panic([
                w.write_off_id.as_str().into(),
                w.claim_id.as_str().into(),
                w.municipality.as_str().into(),
                w.debtor_id.as_str().into(),
                date(w.limitation_date).into(),
                w.balance.to_minor().into(),
                w.currency.code().into(),
                date(w.proposed_date).into(),
                "proposed".into(),
            ])
            .on_conflict(OnConflict::new().do_nothing().to_owned())
            .to_owned();
        db.execute(&insert).await?;
    }
    Ok(())
}

/// Proposals in a state, oldest first; of `municipalities` only, when given (a token's scope).
pub async fn write_offs_in_state(
    db: &impl ConnectionTrait,
    state: &str,
    municipalities: Option<&[String]>,
    limit: i64,
) -> Result<Vec<WriteOffRow>, DbErr> {
    let mut select = select_write_offs()
        .and_where(Expr::col("state").eq(state))
        .order_by("proposed_date", Order::Asc)
        .order_by("write_off_id", Order::Asc)
        .limit(u64::try_from(limit).unwrap_or(0))
        .to_owned();
    match municipalities {
        Some([]) => return Ok(Vec::new()),
        Some(codes) => {
            select.and_where(Expr::col("municipality").is_in(codes.iter().map(String::as_str)));
        }
        None => {}
    }
    db.query_all(&select)
        .await?
        .iter()
        .map(write_off_from)
        .collect()
}

/// Every proposal for a claim.
pub async fn write_offs_of_claim(
    db: &impl ConnectionTrait,
    claim_id: &str,
) -> Result<Vec<WriteOffRow>, DbErr> {
    let select = select_write_offs()
        .and_where(Expr::col("claim_id").eq(claim_id))
        .order_by("proposed_date", Order::Asc)
        .order_by("write_off_id", Order::Asc)
        .to_owned();
    db.query_all(&select)
        .await?
        .iter()
        .map(write_off_from)
        .collect()
}

/// One proposal, locked on PostgreSQL for the rest of the transaction.
pub async fn lock_write_off(
    db: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<WriteOffRow>, DbErr> {
    let select = select_write_offs()
        .and_where(Expr::col("write_off_id").eq(id))
        .lock(LockType::Update)
        .to_owned();
    db.query_one(&select)
        .await?
        .as_ref()
        .map(write_off_from)
        .transpose()
}

/// Marks a proposal approved.
pub async fn approve_write_off(
    db: &impl ConnectionTrait,
    id: &str,
    by: &str,
    on: BusinessDate,
) -> Result<(), DbErr> {
    let update = Query::update()
        .table("write_offs")
        .value("state", "approved")
        .value("approved_by", by)
        .value("approved_at", Utc::now())
        .value("approved_date", date(on))
        .and_where(Expr::col("write_off_id").eq(id))
        .to_owned();
    db.execute(&update).await?;
    Ok(())
}

/// A claim left dunning: its open proposals become `written_off` (it was written off) or
/// `withdrawn` (paid or transferred).
pub async fn close_write_offs(
    db: &impl ConnectionTrait,
    claim_id: &str,
    state: &str,
) -> Result<(), DbErr> {
    let update = Query::update()
        .table("write_offs")
        .value("state", state)
        .and_where(Expr::col("claim_id").eq(claim_id))
        .and_where(Expr::col("state").is_in(["proposed", "approved"]))
        .to_owned();
    db.execute(&update).await?;
    Ok(())
}
