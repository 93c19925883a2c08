//! Dunning's copy of the claims, read per debtor for the decision.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use restance_kernel::{BusinessDate, Currency, Money};
use restance_store::{date, rows_per_statement, stmt, value_rows};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Value};

use super::{DebtorKey, json, opt_date};
use crate::domain::{CategoryFlags, ClaimBalance, ClaimHistory, ClaimState, ClaimStatus};

/// A claim row: what the decision reads, and what letters and transfers print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRow {
    /// Invoicing's claim id.
    pub claim_id: String,
    /// Municipality code.
    pub municipality: String,
    /// The debtor (per municipality).
    pub debtor_id: String,
    /// The upstream system.
    pub source: String,
    /// Its invoice id (printed in letters).
    pub invoice_id: String,
    /// The arrears category key.
    pub category: String,
    /// The collection office.
    pub office: String,
    /// The currency.
    pub currency: Currency,
    /// The invoice amount.
    pub amount: Money,
    /// What is open.
    pub balance: ClaimBalance,
    /// Issue date.
    pub issue_date: BusinessDate,
    /// Payment deadline.
    pub due_date: BusinessDate,
    /// The reference digits (FIK payment id or KID).
    pub payment_reference: String,
    /// The FIK +71 line as printed, when invoicing gave one.
    pub ocr_line: Option<String>,
    /// Open, settled, written off, transferred.
    pub status: ClaimStatus,
    /// The last acknowledgement (a part payment).
    pub last_acknowledged: Option<BusinessDate>,
    /// What dunning did.
    pub history: ClaimHistory,
    /// The supply suspension request in force, if supply was closed for it.
    pub suspension_id: Option<String>,
    /// When the claim needs looking at again (informational; the debtor row drives the run).
    pub next_action_date: Option<BusinessDate>,
    /// A prepayment claim: not arrears, never dunned.
    pub prepayment: bool,
    /// Collected by direct debit.
    pub direct_debit: bool,
    /// Invoicing's version of the claim the balance and status came from (0: only events
    /// without a version): an older claim event arriving later is ignored
    /// (`handlers::claims`, `ClaimCopy`).
    pub invoicing_version: u64,
}

impl ClaimRow {
    /// The claim as the decision reads it.
    pub fn state(&self, flags: CategoryFlags) -> ClaimState {
        ClaimState {
            claim_id: self.claim_id.clone(),
            category: self.category.clone(),
            flags,
            office: self.office.clone(),
            currency: self.currency,
            due_date: self.due_date,
            balance: self.balance,
            payment_reference: Some(self.payment_reference.clone()),
            status: self.status,
            last_acknowledged: self.last_acknowledged,
            prepayment: self.prepayment,
            direct_debit: self.direct_debit,
            history: self.history.clone(),
        }
    }

    /// Takes over what the decision changed (history, balance, status).
    pub fn update_from(&mut self, state: &ClaimState) {
        self.history = state.history.clone();
        self.balance = state.balance;
        self.status = state.status;
    }
}

/// The wire name of a claim status.
pub fn status_name(status: ClaimStatus) -> &'static str {
    match status {
        ClaimStatus::Open => "open",
        ClaimStatus::Settled => "settled",
        ClaimStatus::WrittenOff => "written_off",
        ClaimStatus::Transferred => "transferred",
    }
}

fn parse_status(s: &str) -> Result<ClaimStatus, DbErr> {
    Ok(match s {
        "open" => ClaimStatus::Open,
        "settled" => ClaimStatus::Settled,
        "written_off" => ClaimStatus::WrittenOff,
        "transferred" => ClaimStatus::Transferred,
        other => return Err(DbErr::Custom(format!("unknown claim status {other:?}"))),
    })
}

const CLAIM_COLUMNS: &str = "claim_id, municipality, debtor_id, source, invoice_id, category, office, \
    currency, amount_minor, principal_minor, fees_minor, interest_minor, issue_date, due_date, \
    payment_reference, ocr_line, status, last_acknowledged, history, suspension_id, next_action_date, \
    invoicing_version, prepayment, direct_debit";
const CLAIM_COLS: usize = 24;

/// The columns of [`CLAIM_COLUMNS`], for the builders.
const CLAIM_FIELDS: [&str; CLAIM_COLS] = [
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
    "payment_reference",
    "ocr_line",
    "status",
    "last_acknowledged",
    "history",
    "suspension_id",
    "next_action_date",
    "invoicing_version",
    "prepayment",
    "direct_debit",
];

/// A `claims` row as stored.
#[derive(FromQueryResult)]
struct ClaimRecord {
    claim_id: String,
    municipality: String,
    debtor_id: String,
    source: String,
    invoice_id: String,
    category: String,
    office: String,
    currency: String,
    amount_minor: i64,
    principal_minor: i64,
    fees_minor: i64,
    interest_minor: i64,
    issue_date: NaiveDate,
    due_date: NaiveDate,
    payment_reference: String,
    ocr_line: Option<String>,
    status: String,
    last_acknowledged: Option<NaiveDate>,
    history: String,
    suspension_id: Option<String>,
    next_action_date: Option<NaiveDate>,
    invoicing_version: i64,
    prepayment: bool,
    direct_debit: bool,
}

impl TryFrom<ClaimRecord> for ClaimRow {
    type Error = DbErr;

    fn try_from(r: ClaimRecord) -> Result<Self, DbErr> {
        Ok(ClaimRow {
            currency: r.currency.parse().map_err(|_| {
                DbErr::Custom(format!("stored currency {:?} unreadable", r.currency))
            })?,
            amount: Money::from_minor(r.amount_minor),
            balance: ClaimBalance {
                principal: Money::from_minor(r.principal_minor),
                fees: Money::from_minor(r.fees_minor),
                interest: Money::from_minor(r.interest_minor),
            },
            issue_date: r.issue_date.into(),
            due_date: r.due_date.into(),
            status: parse_status(&r.status)?,
            last_acknowledged: r.last_acknowledged.map(BusinessDate::from),
            history: serde_json::from_str(&r.history)
                .map_err(|e| DbErr::Custom(format!("stored claim history unreadable: {e}")))?,
            next_action_date: r.next_action_date.map(BusinessDate::from),
            invoicing_version: u64::try_from(r.invoicing_version).map_err(|_| {
                DbErr::Custom(format!(
                    "negative claim invoicing_version {}",
                    r.invoicing_version
                ))
            })?,
            claim_id: r.claim_id,
            municipality: r.municipality,
            debtor_id: r.debtor_id,
            source: r.source,
            invoice_id: r.invoice_id,
            category: r.category,
            office: r.office,
            payment_reference: r.payment_reference,
            ocr_line: r.ocr_line,
            suspension_id: r.suspension_id,
            prepayment: r.prepayment,
            direct_debit: r.direct_debit,
        })
    }
}

/// `SELECT <every claim column> FROM claims`.
fn select_claims() -> SelectStatement {
    Query::select()
        .columns(CLAIM_FIELDS)
        .from("claims")
        .to_owned()
}

fn claim_values(c: &ClaimRow, out: &mut Vec<Value>) -> Result<(), DbErr> {
    out.push(c.claim_id.clone().into());
    out.push(c.municipality.clone().into());
    out.push(c.debtor_id.clone().into());
    out.push(c.source.clone().into());
    out.push(c.invoice_id.clone().into());
    out.push(c.category.clone().into());
    out.push(c.office.clone().into());
    out.push(c.currency.code().into());
    out.push(c.amount.to_minor().into());
    out.push(c.balance.principal.to_minor().into());
    out.push(c.balance.fees.to_minor().into());
    out.push(c.balance.interest.to_minor().into());
    out.push(date(c.issue_date));
    out.push(date(c.due_date));
    out.push(c.payment_reference.clone().into());
    out.push(c.ocr_line.clone().into());
    out.push(status_name(c.status).into());
    out.push(opt_date(c.last_acknowledged));
    out.push(json(&c.history)?.into());
    out.push(c.suspension_id.clone().into());
    out.push(opt_date(c.next_action_date));
    out.push(
        i64::try_from(c.invoicing_version)
            .map_err(|_| {
                DbErr::Custom(format!(
                    "claim invoicing_version {} too large",
                    c.invoicing_version
                ))
            })?
            .into(),
    );
    out.push(c.prepayment.into());
    out.push(c.direct_debit.into());
    Ok(())
}

/// Stores a claim announced by invoicing; `false` if it was already there (a re-sent event).
pub async fn insert_claim_if_new(db: &impl ConnectionTrait, c: &ClaimRow) -> Result<bool, DbErr> {
    let mut values = Vec::with_capacity(CLAIM_COLS);
    claim_values(c, &mut values)?;
    let insert = Query::insert()
        .into_table("claims")
        .columns(CLAIM_FIELDS)
        .values_panic(values.into_iter().map(Expr::from))
        .on_conflict(OnConflict::column("claim_id").do_nothing().to_owned())
        .to_owned();
    Ok(db.execute(&insert).await?.rows_affected() == 1)
}

/// Writes claims back (balance, status, history, acknowledgement, suspension, next date);
/// multi-row. The identity columns of an existing claim are never changed.
pub async fn upsert_claims(db: &impl ConnectionTrait, claims: &[ClaimRow]) -> Result<(), DbErr> {
    for chunk in claims.chunks(rows_per_statement(CLAIM_COLS)) {
        // Hand-written: bench-dunning's daily run writes back every claim it decided on
        // (1,000,000 at full size) in these multi-row statements of up to 1,250 rows; the
        // text is built once per chunk from `value_rows`, without a builder's per-value work.
        let sql = format!(
            "INSERT INTO claims ({CLAIM_COLUMNS}) VALUES {} ON CONFLICT (claim_id) DO UPDATE SET \
             principal_minor = excluded.principal_minor, fees_minor = excluded.fees_minor, \
             interest_minor = excluded.interest_minor, status = excluded.status, \
             last_acknowledged = excluded.last_acknowledged, history = excluded.history, \
             suspension_id = excluded.suspension_id, next_action_date = excluded.next_action_date, \
             invoicing_version = excluded.invoicing_version",
            value_rows(chunk.len(), CLAIM_COLS)
        );
        let mut values = Vec::with_capacity(chunk.len() * CLAIM_COLS);
        for c in chunk {
            claim_values(c, &mut values)?;
        }
        db.execute_raw(stmt(db, sql, values)).await?;
    }
    Ok(())
}

/// One claim by id.
pub async fn claim(db: &impl ConnectionTrait, claim_id: &str) -> Result<Option<ClaimRow>, DbErr> {
    let select = select_claims()
        .and_where(Expr::col("claim_id").eq(claim_id))
        .to_owned();
    match db.query_one(&select).await? {
        Some(row) => Ok(Some(ClaimRecord::from_query_result(&row, "")?.try_into()?)),
        None => Ok(None),
    }
}

/// Claims by id (any debtor).
pub async fn claims_by_id(
    db: &impl ConnectionTrait,
    ids: &[String],
) -> Result<Vec<ClaimRow>, DbErr> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(rows_per_statement(1)) {
        let select = select_claims()
            .and_where(Expr::col("claim_id").is_in(chunk.iter().map(String::as_str)))
            .to_owned();
        for row in db.query_all(&select).await? {
            out.push(ClaimRecord::from_query_result(&row, "")?.try_into()?);
        }
    }
    Ok(out)
}

/// Groups debtor keys by municipality (for index-friendly `IN` lists).
fn by_municipality(keys: &[DebtorKey]) -> BTreeMap<&str, Vec<&str>> {
    let mut map: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (m, d) in keys {
        map.entry(m.as_str()).or_default().push(d.as_str());
    }
    for ids in map.values_mut() {
        ids.sort_unstable();
        ids.dedup();
    }
    map
}

/// The rows of `select` (with any conditions, order and lock of its own) for these debtors:
/// `municipality = m AND debtor_id IN (…)` per municipality and chunk of debtor ids.
pub(super) async fn per_debtor_chunk<T: FromQueryResult>(
    db: &impl ConnectionTrait,
    keys: &[DebtorKey],
    select: &SelectStatement,
) -> Result<Vec<T>, DbErr> {
    let mut out = Vec::new();
    for (m, ids) in by_municipality(keys) {
        for chunk in ids.chunks(rows_per_statement(1) - 1) {
            let chunk_select = select
                .clone()
                .and_where(Expr::col("municipality").eq(m))
                .and_where(Expr::col("debtor_id").is_in(chunk.iter().copied()))
                .to_owned();
            for row in db.query_all(&chunk_select).await? {
                out.push(T::from_query_result(&row, "")?);
            }
        }
    }
    Ok(out)
}

/// The claims the decision needs of these debtors: the open ones, and those whose supply was
/// closed (they may need a restoration request). Settled, written-off and transferred claims
/// have left dunning.
pub async fn live_claims_of(
    db: &impl ConnectionTrait,
    keys: &[DebtorKey],
) -> Result<Vec<ClaimRow>, DbErr> {
    let select = select_claims()
        .and_where(
            Expr::col("status")
                .eq("open")
                .or(Expr::col("suspension_id").is_not_null()),
        )
        .to_owned();
    let rows: Vec<ClaimRecord> = per_debtor_chunk(db, keys, &select).await?;
    rows.into_iter().map(ClaimRow::try_from).collect()
}

/// A debtor's claims with their categories (plain columns only, so that it answers even when a
/// claim's stored state cannot be read).
pub async fn claim_refs(
    db: &impl ConnectionTrait,
    key: &DebtorKey,
) -> Result<Vec<(String, String)>, DbErr> {
    let select = Query::select()
        .columns(["claim_id", "category"])
        .from("claims")
        .and_where(Expr::col("municipality").eq(key.0.as_str()))
        .and_where(Expr::col("debtor_id").eq(key.1.as_str()))
        .order_by("claim_id", Order::Asc)
        .limit(500)
        .to_owned();
    db.query_all(&select)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("", "claim_id")?, r.try_get("", "category")?)))
        .collect()
}
