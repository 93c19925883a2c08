//! The projection of invoicing's claims.

use super::{col, col_currency, get_date, get_money, get_opt_date, opt_date, parse};
use restance_kernel::{BusinessDate, Currency, Money};
use restance_store::{date, rows_per_statement};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Value};
use serde::{Deserialize, Serialize};

/// Where a claim stands in invoicing's books.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimState {
    /// Something to pay.
    Open,
    /// Paid in full (or credited).
    Settled,
    /// Written off.
    WrittenOff,
    /// Transferred to state collection: it left the municipality.
    Transferred,
}

impl ClaimState {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            ClaimState::Open => "open",
            ClaimState::Settled => "settled",
            ClaimState::WrittenOff => "written_off",
            ClaimState::Transferred => "transferred",
        }
    }

    fn parse(s: &str) -> Option<ClaimState> {
        Some(match s {
            "open" => ClaimState::Open,
            "settled" => ClaimState::Settled,
            "written_off" => ClaimState::WrittenOff,
            "transferred" => ClaimState::Transferred,
            _ => return None,
        })
    }
}

/// A claim as the projection holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRow {
    /// Invoicing's claim id.
    pub claim_id: String,
    /// Municipality code.
    pub municipality: String,
    /// The debtor.
    pub debtor_id: String,
    /// The upstream system.
    pub source: String,
    /// Its invoice.
    pub invoice_id: String,
    /// Arrears category.
    pub category: String,
    /// The collection office.
    pub office: String,
    /// Currency.
    pub currency: Currency,
    /// The invoice amount.
    pub amount: Money,
    /// Open principal.
    pub principal: Money,
    /// Open fees.
    pub fees: Money,
    /// Open interest.
    pub interest: Money,
    /// Invoice date.
    pub issue_date: BusinessDate,
    /// Payment deadline.
    pub due_date: BusinessDate,
    /// Open, settled, written off, transferred.
    pub state: ClaimState,
    /// When it stopped being open.
    pub closed_date: Option<BusinessDate>,
    /// Invoicing's version of the claim the balance and state came from (0: only events
    /// without a version); an older claim event is ignored (`handlers::claims`).
    pub invoicing_version: u64,
}

impl ClaimRow {
    /// principal + fees + interest.
    pub fn balance(&self) -> Money {
        Money::checked_sum([self.principal, self.fees, self.interest]).unwrap_or(self.principal)
    }

    /// Still to be paid to the municipality.
    pub fn is_open(&self) -> bool {
        self.state == ClaimState::Open
    }
}

const CLAIM_COLUMNS: [&str; 17] = [
    "claim_id",
    "municipality",
    "debtor_id",
    "source",
    "invoice_id",
    "category",
    "office",
    "currency",
    "amount_minor",
    "principal_minor",
    "fees_minor",
    "interest_minor",
    "issue_date",
    "due_date",
    "state",
    "closed_date",
    "invoicing_version",
];

fn version_value(version: u64) -> Result<Value, DbErr> {
    i64::try_from(version)
        .map(Value::from)
        .map_err(|_| DbErr::Custom(format!("claim invoicing_version {version} too large")))
}

fn claim_from(r: &QueryResult) -> Result<ClaimRow, DbErr> {
    let state: String = col(r, "state")?;
    Ok(ClaimRow {
        claim_id: col(r, "claim_id")?,
        municipality: col(r, "municipality")?,
        debtor_id: col(r, "debtor_id")?,
        source: col(r, "source")?,
        invoice_id: col(r, "invoice_id")?,
        category: col(r, "category")?,
        office: col(r, "office")?,
        currency: col_currency(r, "currency")?,
        amount: get_money(r, "amount_minor")?,
        principal: get_money(r, "principal_minor")?,
        fees: get_money(r, "fees_minor")?,
        interest: get_money(r, "interest_minor")?,
        issue_date: get_date(r, "issue_date")?,
        due_date: get_date(r, "due_date")?,
        state: parse("claim state", &state, ClaimState::parse)?,
        closed_date: get_opt_date(r, "closed_date")?,
        invoicing_version: {
            let v: i64 = col(r, "invoicing_version")?;
            u64::try_from(v)
                .map_err(|_| DbErr::Custom(format!("negative claim invoicing_version {v}")))?
        },
    })
}

/// `SELECT` the claim columns `FROM claims`.
fn select_claims() -> SelectStatement {
    Query::select()
        .columns(CLAIM_COLUMNS)
        .from("claims")
        .to_owned()
}

/// Stores a claim announced by invoicing; `false` if it was already there.
pub async fn insert_claim_if_new(db: &impl ConnectionTrait, c: &ClaimRow) -> Result<bool, DbErr> {
    let values: [Value; 17] = [
        c.claim_id.clone().into(),
        c.municipality.clone().into(),
        c.debtor_id.clone().into(),
        c.source.clone().into(),
        c.invoice_id.clone().into(),
        c.category.clone().into(),
        c.office.clone().into(),
        c.currency.code().into(),
        c.amount.to_minor().into(),
        c.principal.to_minor().into(),
        c.fees.to_minor().into(),
        c.interest.to_minor().into(),
        date(c.issue_date),
        date(c.due_date),
        c.state.as_str().into(),
        opt_date(c.closed_date),
        version_value(c.invoicing_version)?,
    ];
    let insert = Query::insert()
        .into_table("claims")
        .columns(CLAIM_COLUMNS)
        .values_panic(values.map(Expr::from))
        .on_conflict(OnConflict::column("claim_id").do_nothing().to_owned())
        .to_owned();
    Ok(db.execute(&insert).await?.rows_affected() == 1)
}

/// One claim.
pub async fn claim(db: &impl ConnectionTrait, claim_id: &str) -> Result<Option<ClaimRow>, DbErr> {
    let select = select_claims()
        .and_where(Expr::col("claim_id").eq(claim_id))
        .to_owned();
    db.query_one(&select)
        .await?
        .as_ref()
        .map(claim_from)
        .transpose()
}

/// Claims by id (any debtor), in the order stored.
pub async fn claims_by_id(
    db: &impl ConnectionTrait,
    ids: &[String],
) -> Result<Vec<ClaimRow>, DbErr> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(rows_per_statement(1)) {
        let select = select_claims()
            .and_where(Expr::col("claim_id").is_in(chunk.iter().map(String::as_str)))
            .order_by("due_date", Order::Asc)
            .order_by("claim_id", Order::Asc)
            .to_owned();
        for r in db.query_all(&select).await? {
            out.push(claim_from(&r)?);
        }
    }
    Ok(out)
}

/// Every claim of a debtor, oldest due date first.
pub async fn claims_of_debtor(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
) -> Result<Vec<ClaimRow>, DbErr> {
    let select = select_claims()
        .and_where(Expr::col("municipality").eq(municipality))
        .and_where(Expr::col("debtor_id").eq(debtor_id))
        .order_by("due_date", Order::Asc)
        .order_by("claim_id", Order::Asc)
        .to_owned();
    db.query_all(&select)
        .await?
        .iter()
        .map(claim_from)
        .collect()
}

/// The open amounts as invoicing has them.
pub async fn set_balance(
    db: &impl ConnectionTrait,
    claim_id: &str,
    principal: Money,
    fees: Money,
    interest: Money,
    invoicing_version: u64,
) -> Result<(), DbErr> {
    let update = Query::update()
        .table("claims")
        .value("principal_minor", principal.to_minor())
        .value("fees_minor", fees.to_minor())
        .value("interest_minor", interest.to_minor())
        .value("invoicing_version", version_value(invoicing_version)?)
        .and_where(Expr::col("claim_id").eq(claim_id))
        .to_owned();
    db.execute(&update).await?;
    Ok(())
}

/// The claim left the books (settled, written off, transferred) on `on`, as of invoicing's
/// `invoicing_version` of it; with `nothing_open` (a write-off, a versioned settlement) nothing
/// is open any more.
pub async fn close_claim(
    db: &impl ConnectionTrait,
    claim_id: &str,
    state: ClaimState,
    on: BusinessDate,
    nothing_open: bool,
    invoicing_version: u64,
) -> Result<(), DbErr> {
    let mut update = Query::update();
    update
        .table("claims")
        .value("state", state.as_str())
        .value("closed_date", date(on))
        .value("invoicing_version", version_value(invoicing_version)?);
    if nothing_open {
        update
            .value("principal_minor", 0i64)
            .value("fees_minor", 0i64)
            .value("interest_minor", 0i64);
    }
    update.and_where(Expr::col("claim_id").eq(claim_id));
    db.execute(&update).await?;
    Ok(())
}
