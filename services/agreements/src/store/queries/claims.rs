//! The projection of invoicing's claims.

use super::{get_currency, opt_date, parse};
use restance_kernel::{BusinessDate, Currency, Money};
use restance_store::{date, get_date, get_money, get_opt_date, select_in, stmt, value_rows};
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

const CLAIM_COLUMNS: &str = "claim_id, municipality, debtor_id, source, invoice_id, category, office, \
    currency, amount_minor, principal_minor, fees_minor, interest_minor, issue_date, due_date, state, closed_date, \
    invoicing_version";

fn version_value(version: u64) -> Result<Value, DbErr> {
    i64::try_from(version)
        .map(Value::from)
        .map_err(|_| DbErr::Custom(format!("claim invoicing_version {version} too large")))
}

fn claim_from(r: &QueryResult) -> Result<ClaimRow, DbErr> {
    let state: String = r.try_get_by_index(14)?;
    Ok(ClaimRow {
        claim_id: r.try_get_by_index(0)?,
        municipality: r.try_get_by_index(1)?,
        debtor_id: r.try_get_by_index(2)?,
        source: r.try_get_by_index(3)?,
        invoice_id: r.try_get_by_index(4)?,
        category: r.try_get_by_index(5)?,
        office: r.try_get_by_index(6)?,
        currency: get_currency(r, 7)?,
        amount: get_money(r, 8)?,
        principal: get_money(r, 9)?,
        fees: get_money(r, 10)?,
        interest: get_money(r, 11)?,
        issue_date: get_date(r, 12)?,
        due_date: get_date(r, 13)?,
        state: parse("claim state", &state, ClaimState::parse)?,
        closed_date: get_opt_date(r, 15)?,
        invoicing_version: {
            let v: i64 = r.try_get_by_index(16)?;
            u64::try_from(v)
                .map_err(|_| DbErr::Custom(format!("negative claim invoicing_version {v}")))?
        },
    })
}

/// Stores a claim announced by invoicing; `false` if it was already there.
pub async fn insert_claim_if_new(db: &impl ConnectionTrait, c: &ClaimRow) -> Result<bool, DbErr> {
    let sql = format!(
        "INSERT INTO claims ({CLAIM_COLUMNS}) VALUES {} ON CONFLICT (claim_id) DO NOTHING",
        value_rows(1, 17)
    );
    let values: Vec<Value> = vec![
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
    Ok(db.execute_raw(stmt(db, sql, values)).await?.rows_affected() == 1)
}

/// One claim.
pub async fn claim(db: &impl ConnectionTrait, claim_id: &str) -> Result<Option<ClaimRow>, DbErr> {
    let sql = format!("SELECT {CLAIM_COLUMNS} FROM claims WHERE claim_id = $1");
    db.query_one_raw(stmt(db, sql, vec![claim_id.into()]))
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
    select_in(
        db,
        |list| {
            format!(
                "SELECT {CLAIM_COLUMNS} FROM claims WHERE claim_id IN ({list}) ORDER BY due_date, claim_id"
            )
        },
        &[],
        ids,
        claim_from,
    )
    .await
}

/// Every claim of a debtor, oldest due date first.
pub async fn claims_of_debtor(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
) -> Result<Vec<ClaimRow>, DbErr> {
    let sql = format!(
        "SELECT {CLAIM_COLUMNS} FROM claims WHERE municipality = $1 AND debtor_id = $2 ORDER BY due_date, claim_id"
    );
    db.query_all_raw(stmt(db, sql, vec![municipality.into(), debtor_id.into()]))
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
    db.execute_raw(stmt(
        db,
        "UPDATE claims SET principal_minor = $2, fees_minor = $3, interest_minor = $4, \
         invoicing_version = $5 WHERE claim_id = $1",
        vec![
            claim_id.into(),
            principal.to_minor().into(),
            fees.to_minor().into(),
            interest.to_minor().into(),
            version_value(invoicing_version)?,
        ],
    ))
    .await?;
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
    let zero = if nothing_open {
        ", principal_minor = 0, fees_minor = 0, interest_minor = 0"
    } else {
        ""
    };
    db.execute_raw(stmt(
        db,
        format!(
            "UPDATE claims SET state = $2, closed_date = $3, invoicing_version = $4{zero} \
             WHERE claim_id = $1"
        ),
        vec![
            claim_id.into(),
            state.as_str().into(),
            date(on),
            version_value(invoicing_version)?,
        ],
    ))
    .await?;
    Ok(())
}
