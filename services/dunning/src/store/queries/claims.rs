//! Dunning's copy of the claims, read per debtor for the decision.

use std::collections::BTreeMap;

use restance_kernel::{BusinessDate, Currency, Money};
use restance_store::{
    date, get_date, get_opt_date, placeholder_list, rows_per_statement, select_in, stmt, value_rows,
};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Value};

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

fn claim_from(row: &QueryResult) -> Result<ClaimRow, DbErr> {
    let currency: String = row.try_get_by_index(7)?;
    let status: String = row.try_get_by_index(16)?;
    let history: String = row.try_get_by_index(18)?;
    Ok(ClaimRow {
        claim_id: row.try_get_by_index(0)?,
        municipality: row.try_get_by_index(1)?,
        debtor_id: row.try_get_by_index(2)?,
        source: row.try_get_by_index(3)?,
        invoice_id: row.try_get_by_index(4)?,
        category: row.try_get_by_index(5)?,
        office: row.try_get_by_index(6)?,
        currency: currency
            .parse()
            .map_err(|_| DbErr::Custom(format!("stored currency {currency:?} unreadable")))?,
        amount: Money::from_minor(row.try_get_by_index(8)?),
        balance: ClaimBalance {
            principal: Money::from_minor(row.try_get_by_index(9)?),
            fees: Money::from_minor(row.try_get_by_index(10)?),
            interest: Money::from_minor(row.try_get_by_index(11)?),
        },
        issue_date: get_date(row, 12)?,
        due_date: get_date(row, 13)?,
        payment_reference: row.try_get_by_index(14)?,
        ocr_line: row.try_get_by_index(15)?,
        status: parse_status(&status)?,
        last_acknowledged: get_opt_date(row, 17)?,
        history: serde_json::from_str(&history)
            .map_err(|e| DbErr::Custom(format!("stored claim history unreadable: {e}")))?,
        suspension_id: row.try_get_by_index(19)?,
        next_action_date: get_opt_date(row, 20)?,
        invoicing_version: {
            let v: i64 = row.try_get_by_index(21)?;
            u64::try_from(v)
                .map_err(|_| DbErr::Custom(format!("negative claim invoicing_version {v}")))?
        },
        prepayment: row.try_get_by_index(22)?,
        direct_debit: row.try_get_by_index(23)?,
    })
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
    let sql = format!(
        "INSERT INTO claims ({CLAIM_COLUMNS}) VALUES {} ON CONFLICT (claim_id) DO NOTHING",
        value_rows(1, CLAIM_COLS)
    );
    let mut values = Vec::with_capacity(CLAIM_COLS);
    claim_values(c, &mut values)?;
    Ok(db.execute_raw(stmt(db, sql, values)).await?.rows_affected() == 1)
}

/// Writes claims back (balance, status, history, acknowledgement, suspension, next date);
/// multi-row. The identity columns of an existing claim are never changed.
pub async fn upsert_claims(db: &impl ConnectionTrait, claims: &[ClaimRow]) -> Result<(), DbErr> {
    for chunk in claims.chunks(rows_per_statement(CLAIM_COLS)) {
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
    let sql = format!("SELECT {CLAIM_COLUMNS} FROM claims WHERE claim_id = $1");
    db.query_one_raw(stmt(db, sql, vec![claim_id.into()]))
        .await?
        .as_ref()
        .map(claim_from)
        .transpose()
}

/// Claims by id (any debtor).
pub async fn claims_by_id(
    db: &impl ConnectionTrait,
    ids: &[String],
) -> Result<Vec<ClaimRow>, DbErr> {
    select_in(
        db,
        |list| format!("SELECT {CLAIM_COLUMNS} FROM claims WHERE claim_id IN ({list})"),
        &[],
        ids,
        claim_from,
    )
    .await
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

/// Runs `select` (ending in `debtor_id IN (`) per municipality and chunk of debtor ids.
pub(super) async fn per_debtor_chunk(
    db: &impl ConnectionTrait,
    keys: &[DebtorKey],
    select: &str,
    suffix: &str,
) -> Result<Vec<QueryResult>, DbErr> {
    let mut out = Vec::new();
    for (m, ids) in by_municipality(keys) {
        for chunk in ids.chunks(rows_per_statement(1) - 1) {
            let sql = format!(
                "{select} WHERE municipality = $1 AND debtor_id IN ({}){suffix}",
                placeholder_list(2, chunk.len())
            );
            let mut values: Vec<Value> = vec![m.into()];
            values.extend(chunk.iter().map(|d| Value::from(*d)));
            out.extend(db.query_all_raw(stmt(db, sql, values)).await?);
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
    let rows = per_debtor_chunk(
        db,
        keys,
        &format!("SELECT {CLAIM_COLUMNS} FROM claims"),
        " AND (status = 'open' OR suspension_id IS NOT NULL)",
    )
    .await?;
    rows.iter().map(claim_from).collect()
}

/// A debtor's claims with their categories (plain columns only, so that it answers even when a
/// claim's stored state cannot be read).
pub async fn claim_refs(
    db: &impl ConnectionTrait,
    key: &DebtorKey,
) -> Result<Vec<(String, String)>, DbErr> {
    let rows = db
        .query_all_raw(stmt(
            db,
            "SELECT claim_id, category FROM claims WHERE municipality = $1 AND debtor_id = $2 \
             ORDER BY claim_id LIMIT 500",
            vec![key.0.clone().into(), key.1.clone().into()],
        ))
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get_by_index(0)?, r.try_get_by_index(1)?)))
        .collect()
}
