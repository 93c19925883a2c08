//! Claims: lookups, opening a batch (with its debtors and ledger lines), updates.

use super::debtors::{ChangedDebtor, DebtorUpsert, changed_debtor, upsert_debtors};
use super::ledger::{LedgerLine, insert_lines};
use super::{grouped, json_param, version_from, version_value};
use crate::domain::allocation::OpenClaim;
use crate::domain::balance::Balance;
use chrono::NaiveDate;
use restance_kernel::Money;
use restance_store::{is_postgres, rows_per_statement, select_in, stmt, value_rows};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Value};
use serde::Serialize;

/// A claim row as the handlers need it.
#[derive(Debug, Clone)]
pub struct ClaimRow {
    /// Ordering key (opening order).
    pub seq: i64,
    /// Claim id.
    pub claim_id: String,
    /// Producer (`source`) of the invoice.
    pub source: String,
    /// The invoice id in that producer.
    pub invoice_id: String,
    /// Municipality code.
    pub municipality: String,
    /// Office key.
    pub office: String,
    /// Category key.
    pub category: String,
    /// Debtor id (per municipality).
    pub debtor_id: String,
    /// Currency code.
    pub currency: String,
    /// Original invoice amount.
    pub amount: Money,
    /// What is open.
    pub balance: Balance,
    /// Issue date.
    pub issue_date: NaiveDate,
    /// Due date.
    pub due_date: NaiveDate,
    /// The reference digits.
    pub reference_key: String,
    /// The OCR line / KID as printed.
    pub ocr_line: String,
    /// A prepayment claim (a permit waits for it).
    pub prepayment: bool,
    /// Paid by direct debit.
    pub direct_debit: bool,
    /// open | settled | transferred | written_off.
    pub state: String,
    /// Hash of the invoice content, to tell a replay from a conflicting re-send.
    pub content_hash: String,
    /// When it was settled.
    pub settled_date: Option<NaiveDate>,
    /// The claim's version: 1 when opened, one more with every write of its balance or state
    /// ([`update_claim`]); the claim events carry it (`restance_contracts::messages::ClaimEvent`).
    pub version: u64,
}

impl ClaimRow {
    /// The claim as allocation sees it.
    pub fn open_claim(&self) -> OpenClaim {
        OpenClaim {
            claim_id: self.claim_id.clone(),
            due_date: self.due_date,
            opened_seq: self.seq,
            balance: self.balance,
        }
    }
}

const CLAIM_COLUMNS: &str = "seq, claim_id, source, invoice_id, municipality, office, category, debtor_id, \
    currency, amount_minor, principal_minor, fees_minor, interest_minor, issue_date, due_date, \
    reference_key, ocr_line, prepayment, direct_debit, state, content_hash, settled_date, version";

fn claim_from(row: &QueryResult) -> Result<ClaimRow, DbErr> {
    Ok(ClaimRow {
        seq: row.try_get_by_index(0)?,
        claim_id: row.try_get_by_index(1)?,
        source: row.try_get_by_index(2)?,
        invoice_id: row.try_get_by_index(3)?,
        municipality: row.try_get_by_index(4)?,
        office: row.try_get_by_index(5)?,
        category: row.try_get_by_index(6)?,
        debtor_id: row.try_get_by_index(7)?,
        currency: row.try_get_by_index(8)?,
        amount: Money::from_minor(row.try_get_by_index(9)?),
        balance: Balance {
            principal: Money::from_minor(row.try_get_by_index(10)?),
            fees: Money::from_minor(row.try_get_by_index(11)?),
            interest: Money::from_minor(row.try_get_by_index(12)?),
        },
        issue_date: row.try_get_by_index(13)?,
        due_date: row.try_get_by_index(14)?,
        reference_key: row.try_get_by_index(15)?,
        ocr_line: row.try_get_by_index(16)?,
        prepayment: row.try_get_by_index(17)?,
        direct_debit: row.try_get_by_index(18)?,
        state: row.try_get_by_index(19)?,
        content_hash: row.try_get_by_index(20)?,
        settled_date: row.try_get_by_index(21)?,
        version: version_from(row, 22)?,
    })
}

/// Claims by `(source, invoice_id)`; one statement per source, so the unique index on
/// `(source, invoice_id)` serves the lookup (on PostgreSQL key by key, see the module docs).
pub async fn claims_by_invoice_keys(
    db: &impl ConnectionTrait,
    keys: &[(String, String)],
) -> Result<Vec<ClaimRow>, DbErr> {
    let by_source = grouped(keys);
    let mut out = Vec::new();
    if is_postgres(db) {
        let sql = format!(
            "SELECT c.* FROM json_array_elements_text($2::json) AS k(invoice_id) CROSS JOIN LATERAL \
             (SELECT {CLAIM_COLUMNS} FROM claims WHERE source = $1 AND invoice_id = k.invoice_id LIMIT 1) AS c"
        );
        for (source, ids) in by_source {
            let values = vec![source.into(), json_param(&ids)?];
            for row in db.query_all_raw(stmt(db, sql.as_str(), values)).await? {
                out.push(claim_from(&row)?);
            }
        }
        return Ok(out);
    }
    for (source, ids) in by_source {
        out.extend(
            select_in(
                db,
                |list| {
                    format!(
                        "SELECT {CLAIM_COLUMNS} FROM claims WHERE source = $1 AND invoice_id IN ({list})"
                    )
                },
                &[source.into()],
                &ids,
                claim_from,
            )
            .await?,
        );
    }
    Ok(out)
}

/// One claim by id.
pub async fn claim_by_id(
    db: &impl ConnectionTrait,
    claim_id: &str,
) -> Result<Option<ClaimRow>, DbErr> {
    let sql = format!("SELECT {CLAIM_COLUMNS} FROM claims WHERE claim_id = $1");
    db.query_one_raw(stmt(db, sql, vec![claim_id.into()]))
        .await?
        .as_ref()
        .map(claim_from)
        .transpose()
}

/// The claim a reference points to in a municipality.
pub async fn claim_by_reference(
    db: &impl ConnectionTrait,
    municipality: &str,
    key: &str,
) -> Result<Option<ClaimRow>, DbErr> {
    let sql = format!(
        "SELECT {CLAIM_COLUMNS} FROM claims WHERE municipality = $1 AND reference_key = $2"
    );
    db.query_one_raw(stmt(db, sql, vec![municipality.into(), key.into()]))
        .await?
        .as_ref()
        .map(claim_from)
        .transpose()
}

/// Every claim of a debtor (all states), oldest first. `municipality` `None` = all.
pub async fn claims_of_debtor(
    db: &impl ConnectionTrait,
    municipality: Option<&str>,
    debtor_id: &str,
    only_open: bool,
) -> Result<Vec<ClaimRow>, DbErr> {
    let mut sql = format!("SELECT {CLAIM_COLUMNS} FROM claims WHERE debtor_id = $1");
    let mut values: Vec<Value> = vec![debtor_id.into()];
    if let Some(m) = municipality {
        sql.push_str(" AND municipality = $2");
        values.push(m.into());
    }
    if only_open {
        sql.push_str(" AND state = 'open'");
    }
    sql.push_str(" ORDER BY due_date, seq");
    db.query_all_raw(stmt(db, sql, values))
        .await?
        .iter()
        .map(claim_from)
        .collect()
}

/// Inserts new claims (state `open`, with their version: 1).
pub async fn insert_claims(db: &impl ConnectionTrait, rows: &[ClaimRow]) -> Result<(), DbErr> {
    const COLS: usize = 21;
    for chunk in rows.chunks(rows_per_statement(COLS)) {
        let sql = format!(
            "INSERT INTO claims (claim_id, source, invoice_id, municipality, office, category, debtor_id, \
             currency, amount_minor, principal_minor, fees_minor, interest_minor, issue_date, due_date, \
             reference_key, ocr_line, prepayment, direct_debit, state, content_hash, version) VALUES {}",
            value_rows(chunk.len(), COLS)
        );
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * COLS);
        for c in chunk {
            values.extend([
                c.claim_id.clone().into(),
                c.source.clone().into(),
                c.invoice_id.clone().into(),
                c.municipality.clone().into(),
                c.office.clone().into(),
                c.category.clone().into(),
                c.debtor_id.clone().into(),
                c.currency.clone().into(),
                c.amount.to_minor().into(),
                c.balance.principal.to_minor().into(),
                c.balance.fees.to_minor().into(),
                c.balance.interest.to_minor().into(),
                c.issue_date.into(),
                c.due_date.into(),
                c.reference_key.clone().into(),
                c.ocr_line.clone().into(),
                c.prepayment.into(),
                c.direct_debit.into(),
                c.state.clone().into(),
                c.content_hash.clone().into(),
                version_value(c.version)?,
            ]);
        }
        db.execute_raw(stmt(db, sql, values)).await?;
    }
    Ok(())
}

// Long: one batch write in two dialects — PostgreSQL's one JSON statement and SQLite's multi-row statements.
/// Stores what opening claims writes: the debtors whose details changed (inserted or updated,
/// the credit balance kept; pass them in key order, so that two transactions inserting the same
/// new debtors cannot deadlock), the new claims (in this order, which is their opening order)
/// and their ledger lines. Returns the debtors inserted or changed ([`upsert_debtors`]). On
/// PostgreSQL one statement does all three, each table's rows as one JSON document; on SQLite
/// [`upsert_debtors`], [`insert_claims`] and [`insert_lines`].
pub async fn store_opened(
    db: &impl ConnectionTrait,
    debtors: &[DebtorUpsert],
    claims: &[ClaimRow],
    lines: &[LedgerLine],
) -> Result<Vec<ChangedDebtor>, DbErr> {
    if !is_postgres(db) {
        let changed = upsert_debtors(db, debtors).await?;
        insert_claims(db, claims).await?;
        insert_lines(db, lines).await?;
        return Ok(changed);
    }
    if debtors.is_empty() && claims.is_empty() && lines.is_empty() {
        return Ok(Vec::new());
    }
    #[derive(Serialize)]
    struct DebtorJson<'a> {
        municipality: &'a str,
        debtor_id: &'a str,
        kind: &'a str,
        national_id: &'a str,
        details: &'a str,
        details_hash: &'a str,
    }
    #[derive(Serialize)]
    struct ClaimJson<'a> {
        claim_id: &'a str,
        source: &'a str,
        invoice_id: &'a str,
        municipality: &'a str,
        office: &'a str,
        category: &'a str,
        debtor_id: &'a str,
        currency: &'a str,
        amount_minor: i64,
        principal_minor: i64,
        fees_minor: i64,
        interest_minor: i64,
        issue_date: NaiveDate,
        due_date: NaiveDate,
        reference_key: &'a str,
        ocr_line: &'a str,
        prepayment: bool,
        direct_debit: bool,
        state: &'a str,
        content_hash: &'a str,
        version: u64,
    }
    #[derive(Serialize)]
    struct LineJson<'a> {
        claim_id: &'a str,
        kind: &'a str,
        ref_id: &'a str,
        principal_minor: i64,
        fees_minor: i64,
        interest_minor: i64,
        business_date: NaiveDate,
    }
    let debtors: Vec<DebtorJson<'_>> = debtors
        .iter()
        .map(|d| DebtorJson {
            municipality: &d.municipality,
            debtor_id: &d.debtor_id,
            kind: &d.kind,
            national_id: &d.national_id,
            details: &d.details,
            details_hash: &d.details_hash,
        })
        .collect();
    let claims: Vec<ClaimJson<'_>> = claims
        .iter()
        .map(|c| ClaimJson {
            claim_id: &c.claim_id,
            source: &c.source,
            invoice_id: &c.invoice_id,
            municipality: &c.municipality,
            office: &c.office,
            category: &c.category,
            debtor_id: &c.debtor_id,
            currency: &c.currency,
            amount_minor: c.amount.to_minor(),
            principal_minor: c.balance.principal.to_minor(),
            fees_minor: c.balance.fees.to_minor(),
            interest_minor: c.balance.interest.to_minor(),
            issue_date: c.issue_date,
            due_date: c.due_date,
            reference_key: &c.reference_key,
            ocr_line: &c.ocr_line,
            prepayment: c.prepayment,
            direct_debit: c.direct_debit,
            state: &c.state,
            content_hash: &c.content_hash,
            version: c.version,
        })
        .collect();
    let lines: Vec<LineJson<'_>> = lines
        .iter()
        .map(|l| LineJson {
            claim_id: &l.claim_id,
            kind: l.kind,
            ref_id: &l.ref_id,
            principal_minor: l.principal.to_minor(),
            fees_minor: l.fees.to_minor(),
            interest_minor: l.interest.to_minor(),
            business_date: l.business_date,
        })
        .collect();
    // Data-modifying CTEs all run, to completion, whether or not the main statement reads them.
    // A function scan yields the array in order, so the claims' `seq` follows `claims`.
    let changed = db
        .query_all_raw(stmt(
            db,
            "WITH d AS (\
           INSERT INTO debtors (municipality, debtor_id, kind, national_id, details, details_hash, \
             details_version) \
           SELECT municipality, debtor_id, kind, national_id, details, details_hash, 1 \
           FROM json_to_recordset($1::json) AS r(municipality text, debtor_id text, kind text, \
             national_id text, details text, details_hash text) \
           ON CONFLICT (municipality, debtor_id) DO UPDATE SET kind = excluded.kind, \
           national_id = excluded.national_id, details = excluded.details, \
           details_hash = excluded.details_hash, details_version = debtors.details_version + 1 \
           WHERE debtors.details_hash <> excluded.details_hash \
           RETURNING municipality, debtor_id, credit_minor, details_version\
         ), c AS (\
           INSERT INTO claims (claim_id, source, invoice_id, municipality, office, category, \
             debtor_id, currency, amount_minor, principal_minor, fees_minor, interest_minor, \
             issue_date, due_date, reference_key, ocr_line, prepayment, direct_debit, state, \
             content_hash, version) \
           SELECT claim_id, source, invoice_id, municipality, office, category, debtor_id, \
             currency, amount_minor, principal_minor, fees_minor, interest_minor, issue_date, \
             due_date, reference_key, ocr_line, prepayment, direct_debit, state, content_hash, \
             version \
           FROM json_to_recordset($2::json) AS r(claim_id text, source text, invoice_id text, \
             municipality text, office text, category text, debtor_id text, currency text, \
             amount_minor bigint, principal_minor bigint, fees_minor bigint, \
             interest_minor bigint, issue_date date, due_date date, reference_key text, \
             ocr_line text, prepayment boolean, direct_debit boolean, state text, \
             content_hash text, version bigint)\
         ), l AS (\
           INSERT INTO ledger_lines (claim_id, kind, ref_id, principal_minor, fees_minor, \
             interest_minor, business_date) \
           SELECT claim_id, kind, ref_id, principal_minor, fees_minor, interest_minor, \
             business_date \
           FROM json_to_recordset($3::json) AS r(claim_id text, kind text, ref_id text, \
             principal_minor bigint, fees_minor bigint, interest_minor bigint, business_date date)\
         ) \
         SELECT municipality, debtor_id, credit_minor, details_version FROM d",
            vec![
                json_param(&debtors)?,
                json_param(&claims)?,
                json_param(&lines)?,
            ],
        ))
        .await?;
    changed.iter().map(changed_debtor).collect()
}

/// Stores a claim's new balance and state, and raises its version by `writes` (1; 2 for a
/// change that settles the claim: the balance's write, then the state's — see
/// `handlers::ledger`), in the same statement; `c.version` is the new version afterwards. The
/// caller read the claim under its debtor's lock (`handlers::locks`), so no other transaction
/// changed it since, and the versions of one claim are taken in turn.
pub async fn update_claim(
    db: &impl ConnectionTrait,
    c: &mut ClaimRow,
    writes: u64,
) -> Result<(), DbErr> {
    let row = db
        .query_one_raw(stmt(
            db,
            "UPDATE claims SET principal_minor = $1, fees_minor = $2, interest_minor = $3, state = $4, \
             settled_date = $5, version = version + $6 WHERE claim_id = $7 RETURNING version",
            vec![
                c.balance.principal.to_minor().into(),
                c.balance.fees.to_minor().into(),
                c.balance.interest.to_minor().into(),
                c.state.clone().into(),
                c.settled_date.into(),
                version_value(writes)?,
                c.claim_id.clone().into(),
            ],
        ))
        .await?
        .ok_or_else(|| DbErr::Custom(format!("claim {} vanished", c.claim_id)))?;
    c.version = version_from(&row, 0)?;
    Ok(())
}

/// Open prepayment claims due on or before `last_due` (candidates for expiry), oldest first.
pub async fn open_prepayments_due_by(
    db: &impl ConnectionTrait,
    last_due: NaiveDate,
) -> Result<Vec<ClaimRow>, DbErr> {
    db.query_all_raw(stmt(
        db,
        format!(
            "SELECT {CLAIM_COLUMNS} FROM claims WHERE state = 'open' AND prepayment = $1 \
             AND due_date <= $2 ORDER BY due_date, seq"
        ),
        vec![true.into(), last_due.into()],
    ))
    .await?
    .iter()
    .map(claim_from)
    .collect()
}

/// What the debtor paid on a claim (payments and credit balance used; not credit notes).
pub async fn paid_on_claim(db: &impl ConnectionTrait, claim_id: &str) -> Result<Money, DbErr> {
    let row = db
        .query_one_raw(stmt(
            db,
            "SELECT CAST(COALESCE(SUM(principal_minor + fees_minor + interest_minor), 0) AS BIGINT) \
             FROM ledger_lines WHERE claim_id = $1 AND kind IN ('payment', 'credit_balance')",
            vec![claim_id.into()],
        ))
        .await?;
    let sum: i64 = match row {
        Some(r) => r.try_get_by_index(0)?,
        None => 0,
    };
    Ok(Money::from_minor(-sum))
}
