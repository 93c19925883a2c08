//! SQL for claims, debtors, payments and ledger lines (PostgreSQL and SQLite alike).
//!
//! The batch statements of opening claims have a PostgreSQL form of their own:
//! - lookups by many keys join each key laterally to a `LIMIT 1` subquery on the unique index
//!   (the `LIMIT` keeps the planner from flattening it into a join), so the index on both
//!   columns serves every key whatever the statistics say. With an `IN` list on the second
//!   column (or a flattened join) and a table not analysed since it grew (the local PostgreSQL
//!   runs without autovacuum; any fresh database until its first analyse), the planner used the
//!   index for the first column alone and filtered the rest: every claim of the source, per
//!   batch, ever slower as the table grew (13 ms per batch at 20,000 claims, 0.7 ms now);
//! - the keys and rows travel as one JSON document per statement (`json_array_elements_text`,
//!   `json_to_recordset`) instead of thousands of bind parameters, and the debtors, claims and
//!   ledger lines of a batch are written by one statement.
//!
//! SQLite (in-process, no round trips) keeps the plain multi-row statements.

use crate::domain::allocation::OpenClaim;
use crate::domain::balance::Balance;
use chrono::NaiveDate;
use restance_bus::sql::{is_postgres, placeholder_list, rows_per_statement, stmt, value_rows};
use restance_kernel::Money;
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Value};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};

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

fn version_from(row: &QueryResult, index: usize) -> Result<u64, DbErr> {
    let version: i64 = row.try_get_by_index(index)?;
    u64::try_from(version).map_err(|_| DbErr::Custom(format!("negative claim version {version}")))
}

fn version_value(version: u64) -> Result<Value, DbErr> {
    i64::try_from(version)
        .map(Value::from)
        .map_err(|_| DbErr::Custom(format!("claim version {version} too large")))
}

/// A JSON array of strings, one statement parameter for PostgreSQL's `json_array_elements_text`.
fn json_param<T: Serialize + ?Sized>(items: &T) -> Result<Value, DbErr> {
    serde_json::to_string(items)
        .map(Value::from)
        .map_err(|e| DbErr::Custom(format!("cannot serialise statement rows: {e}")))
}

/// Keys grouped by their first part, each group without duplicates (a lateral lookup returns a
/// row once per key).
fn grouped(keys: &[(String, String)]) -> HashMap<&str, Vec<&str>> {
    let mut groups: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for (first, second) in keys {
        groups.entry(first).or_default().insert(second);
    }
    groups
        .into_iter()
        .map(|(k, v)| (k, v.into_iter().collect()))
        .collect()
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
        for chunk in ids.chunks(rows_per_statement(1)) {
            let sql = format!(
                "SELECT {CLAIM_COLUMNS} FROM claims WHERE source = $1 AND invoice_id IN ({})",
                placeholder_list(2, chunk.len())
            );
            let mut values: Vec<Value> = vec![source.into()];
            values.extend(chunk.iter().map(|s| Value::from(*s)));
            for row in db.query_all_raw(stmt(db, sql, values)).await? {
                out.push(claim_from(&row)?);
            }
        }
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

/// Debtor ids in a municipality with this national id.
pub async fn debtors_by_national_id(
    db: &impl ConnectionTrait,
    municipality: &str,
    national_id: &str,
) -> Result<Vec<String>, DbErr> {
    let rows = db
        .query_all_raw(stmt(
            db,
            "SELECT debtor_id FROM debtors WHERE municipality = $1 AND national_id = $2",
            vec![municipality.into(), national_id.into()],
        ))
        .await?;
    rows.iter()
        .map(|r| r.try_get_by_index::<String>(0))
        .collect()
}

/// A stored debtor: the hash of its details and its credit balance.
#[derive(Debug, Clone)]
pub struct DebtorState {
    /// Hash of the last details stored.
    pub details_hash: String,
    /// Credit balance (overpayments, credit notes beyond the balance).
    pub credit: Money,
}

/// Debtors by `(municipality, debtor_id)`; one statement per municipality (primary key order).
pub async fn debtors(
    db: &impl ConnectionTrait,
    keys: &[(String, String)],
) -> Result<HashMap<(String, String), DebtorState>, DbErr> {
    let by_muni = grouped(keys);
    let postgres = is_postgres(db);
    let mut out = HashMap::new();
    for (muni, ids) in by_muni {
        let chunk_len = if postgres {
            ids.len().max(1)
        } else {
            rows_per_statement(1)
        };
        for chunk in ids.chunks(chunk_len) {
            let (sql, values) = if postgres {
                (
                    "SELECT d.* FROM json_array_elements_text($2::json) AS k(debtor_id) CROSS JOIN LATERAL \
                     (SELECT municipality, debtor_id, details_hash, credit_minor FROM debtors \
                      WHERE municipality = $1 AND debtor_id = k.debtor_id LIMIT 1) AS d"
                        .to_owned(),
                    vec![muni.into(), json_param(chunk)?],
                )
            } else {
                let sql = format!(
                    "SELECT municipality, debtor_id, details_hash, credit_minor FROM debtors \
                     WHERE municipality = $1 AND debtor_id IN ({})",
                    placeholder_list(2, chunk.len())
                );
                let mut values: Vec<Value> = vec![muni.into()];
                values.extend(chunk.iter().map(|s| Value::from(*s)));
                (sql, values)
            };
            for row in db.query_all_raw(stmt(db, sql, values)).await? {
                let key = (
                    row.try_get_by_index::<String>(0)?,
                    row.try_get_by_index::<String>(1)?,
                );
                out.insert(
                    key,
                    DebtorState {
                        details_hash: row.try_get_by_index(2)?,
                        credit: Money::from_minor(row.try_get_by_index(3)?),
                    },
                );
            }
        }
    }
    Ok(out)
}

/// A debtor's details to upsert.
#[derive(Debug, Clone)]
pub struct DebtorUpsert {
    /// Municipality code.
    pub municipality: String,
    /// Debtor id.
    pub debtor_id: String,
    /// person | company.
    pub kind: String,
    /// The national id digits (stored, never logged).
    pub national_id: String,
    /// The debtor block as JSON.
    pub details: String,
    /// Its hash.
    pub details_hash: String,
}

/// A debtor row the opening of claims inserted or whose details it changed.
#[derive(Debug, Clone)]
pub struct ChangedDebtor {
    /// `(municipality, debtor_id)`.
    pub key: (String, String),
    /// The credit balance as it is now (zero for a new debtor).
    pub credit: Money,
    /// The details' version after this write (1 for a new debtor), which
    /// `invoicing.debtor.updated.v1` carries.
    pub version: u64,
}

/// Inserts debtors or updates their details (the credit balance is kept); a row whose details
/// are already these (another replica stored them meanwhile) is left alone. Every write of the
/// details raises `details_version` by one in the same statement (a new debtor gets 1): the
/// row is locked by the write, so two transactions writing one debtor's details take turns and
/// each announces its own version. Returns the rows inserted or changed. Every row is locked
/// afterwards, changed or not.
pub async fn upsert_debtors(
    db: &impl ConnectionTrait,
    rows: &[DebtorUpsert],
) -> Result<Vec<ChangedDebtor>, DbErr> {
    const COLS: usize = 7;
    let mut changed = Vec::new();
    for chunk in rows.chunks(rows_per_statement(COLS)) {
        let sql = format!(
            "INSERT INTO debtors (municipality, debtor_id, kind, national_id, details, details_hash, details_version) VALUES {} \
             ON CONFLICT (municipality, debtor_id) DO UPDATE SET kind = excluded.kind, \
             national_id = excluded.national_id, details = excluded.details, details_hash = excluded.details_hash, \
             details_version = debtors.details_version + 1 \
             WHERE debtors.details_hash <> excluded.details_hash \
             RETURNING municipality, debtor_id, credit_minor, details_version",
            value_rows(chunk.len(), COLS)
        );
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * COLS);
        for r in chunk {
            values.extend([
                r.municipality.clone().into(),
                r.debtor_id.clone().into(),
                r.kind.clone().into(),
                r.national_id.clone().into(),
                r.details.clone().into(),
                r.details_hash.clone().into(),
                1i64.into(),
            ]);
        }
        for row in db.query_all_raw(stmt(db, sql, values)).await? {
            changed.push(changed_debtor(&row)?);
        }
    }
    Ok(changed)
}

fn changed_debtor(row: &QueryResult) -> Result<ChangedDebtor, DbErr> {
    let version: i64 = row.try_get_by_index(3)?;
    Ok(ChangedDebtor {
        key: (row.try_get_by_index(0)?, row.try_get_by_index(1)?),
        credit: Money::from_minor(row.try_get_by_index(2)?),
        version: u64::try_from(version)
            .map_err(|_| DbErr::Custom(format!("negative debtor details_version {version}")))?,
    })
}

/// Locks the debtor rows of `keys` (in this order, which must be ascending) for the rest of
/// the transaction — PostgreSQL only; returns the keys whose row exists (and is now locked).
/// One statement; rows are locked in `(municipality, debtor_id)` order, so two transactions
/// locking overlapping sets this way cannot deadlock.
pub async fn lock_debtors(
    db: &impl ConnectionTrait,
    keys: &[&(String, String)],
) -> Result<Vec<(String, String)>, DbErr> {
    #[derive(Serialize)]
    struct Key<'a> {
        m: &'a str,
        d: &'a str,
    }
    if keys.is_empty() || !is_postgres(db) {
        return Ok(Vec::new());
    }
    let keys: Vec<Key<'_>> = keys.iter().map(|(m, d)| Key { m, d }).collect();
    // ORDER BY is applied before the locking clause: the rows are locked in key order.
    db.query_all_raw(stmt(
        db,
        "SELECT d.municipality, d.debtor_id FROM json_to_recordset($1::json) AS k(m text, d text) \
         JOIN debtors d ON d.municipality = k.m AND d.debtor_id = k.d \
         ORDER BY d.municipality, d.debtor_id FOR UPDATE OF d",
        vec![json_param(&keys)?],
    ))
    .await?
    .iter()
    .map(|r| Ok((r.try_get_by_index(0)?, r.try_get_by_index(1)?)))
    .collect()
}

/// The debtors `(municipality, debtor_id)` of these claims.
pub async fn debtors_of_claims(
    db: &impl ConnectionTrait,
    claim_ids: &[&str],
) -> Result<Vec<(String, String)>, DbErr> {
    let mut out = Vec::new();
    for chunk in claim_ids.chunks(rows_per_statement(1)) {
        let sql = format!(
            "SELECT municipality, debtor_id FROM claims WHERE claim_id IN ({})",
            placeholder_list(1, chunk.len())
        );
        let values = chunk.iter().map(|s| Value::from(*s)).collect();
        for r in db.query_all_raw(stmt(db, sql, values)).await? {
            out.push((r.try_get_by_index(0)?, r.try_get_by_index(1)?));
        }
    }
    Ok(out)
}

/// The debtors of the claims and payment plans these reference keys name in a municipality.
pub async fn debtors_by_reference_keys(
    db: &impl ConnectionTrait,
    municipality: &str,
    keys: &[&str],
) -> Result<Vec<(String, String)>, DbErr> {
    let mut out = Vec::new();
    for chunk in keys.chunks(rows_per_statement(1)) {
        let list = placeholder_list(2, chunk.len());
        let sql = format!(
            "SELECT municipality, debtor_id FROM claims WHERE municipality = $1 AND reference_key IN ({list}) \
             UNION SELECT municipality, debtor_id FROM plan_references \
             WHERE municipality = $1 AND reference_key IN ({list})"
        );
        let mut values: Vec<Value> = vec![municipality.into()];
        values.extend(chunk.iter().map(|s| Value::from(*s)));
        for r in db.query_all_raw(stmt(db, sql, values)).await? {
            out.push((r.try_get_by_index(0)?, r.try_get_by_index(1)?));
        }
    }
    Ok(out)
}

/// The debtors with any of these national ids in a municipality.
pub async fn debtors_by_national_ids(
    db: &impl ConnectionTrait,
    municipality: &str,
    national_ids: &[&str],
) -> Result<Vec<(String, String)>, DbErr> {
    let mut out = Vec::new();
    for chunk in national_ids.chunks(rows_per_statement(1)) {
        let sql = format!(
            "SELECT municipality, debtor_id FROM debtors WHERE municipality = $1 AND national_id IN ({})",
            placeholder_list(2, chunk.len())
        );
        let mut values: Vec<Value> = vec![municipality.into()];
        values.extend(chunk.iter().map(|s| Value::from(*s)));
        for r in db.query_all_raw(stmt(db, sql, values)).await? {
            out.push((r.try_get_by_index(0)?, r.try_get_by_index(1)?));
        }
    }
    Ok(out)
}

/// Adds `delta` (may be negative) to a debtor's credit balance.
pub async fn add_credit(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
    delta: Money,
) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "UPDATE debtors SET credit_minor = credit_minor + $1 WHERE municipality = $2 AND debtor_id = $3",
        vec![delta.to_minor().into(), municipality.into(), debtor_id.into()],
    ))
    .await
    .map(|_| ())
}

/// Reserves `count` consecutive reference sequence numbers for a municipality; returns the first.
pub async fn reserve_references(
    db: &impl ConnectionTrait,
    municipality: &str,
    count: u64,
) -> Result<u64, DbErr> {
    let count = i64::try_from(count).map_err(|_| DbErr::Custom("too many references".into()))?;
    let row = db
        .query_one_raw(stmt(
            db,
            "INSERT INTO reference_sequences (municipality, next_value) VALUES ($1, $2) \
             ON CONFLICT (municipality) DO UPDATE SET next_value = reference_sequences.next_value + $3 \
             RETURNING next_value",
            vec![municipality.into(), (count + 1).into(), count.into()],
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("reference sequence returned nothing".into()))?;
    let next: i64 = row.try_get_by_index(0)?;
    u64::try_from(next - count).map_err(|_| DbErr::Custom("reference sequence underflow".into()))
}

/// Reference keys among `keys` already used in `municipality`.
pub async fn used_references(
    db: &impl ConnectionTrait,
    municipality: &str,
    keys: &[String],
) -> Result<Vec<String>, DbErr> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    if is_postgres(db) {
        let unique: BTreeSet<&str> = keys.iter().map(String::as_str).collect();
        return db
            .query_all_raw(stmt(
                db,
                "SELECT c.reference_key FROM json_array_elements_text($2::json) AS k(reference_key) \
                 CROSS JOIN LATERAL (SELECT reference_key FROM claims \
                 WHERE municipality = $1 AND reference_key = k.reference_key LIMIT 1) AS c",
                vec![municipality.into(), json_param(&unique)?],
            ))
            .await?
            .iter()
            .map(|r| r.try_get_by_index(0))
            .collect();
    }
    let sql = format!(
        "SELECT reference_key FROM claims WHERE municipality = $1 AND reference_key IN ({})",
        placeholder_list(2, keys.len())
    );
    let mut values: Vec<Value> = vec![municipality.into()];
    values.extend(keys.iter().map(|k| Value::from(k.clone())));
    db.query_all_raw(stmt(db, sql, values))
        .await?
        .iter()
        .map(|r| r.try_get_by_index(0))
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

/// One change to a claim's balance, for the audit trail and the invariant checks:
/// the open balance of a claim always equals the sum of its lines.
#[derive(Debug, Clone)]
pub struct LedgerLine {
    /// The claim.
    pub claim_id: String,
    /// opened | payment | credit_note | fee | interest | credit_balance | write_off.
    pub kind: &'static str,
    /// The id of what caused it (invoice, payment, credit note, fee, interest).
    pub ref_id: String,
    /// Change to the principal (negative when paid).
    pub principal: Money,
    /// Change to the fees.
    pub fees: Money,
    /// Change to the interest.
    pub interest: Money,
    /// The business date it belongs to.
    pub business_date: NaiveDate,
}

/// Appends ledger lines.
pub async fn insert_lines(db: &impl ConnectionTrait, lines: &[LedgerLine]) -> Result<(), DbErr> {
    const COLS: usize = 7;
    for chunk in lines.chunks(rows_per_statement(COLS)) {
        let sql = format!(
            "INSERT INTO ledger_lines (claim_id, kind, ref_id, principal_minor, fees_minor, interest_minor, business_date) VALUES {}",
            value_rows(chunk.len(), COLS)
        );
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * COLS);
        for l in chunk {
            values.extend([
                l.claim_id.clone().into(),
                l.kind.into(),
                l.ref_id.clone().into(),
                l.principal.to_minor().into(),
                l.fees.to_minor().into(),
                l.interest.to_minor().into(),
                l.business_date.into(),
            ]);
        }
        db.execute_raw(stmt(db, sql, values)).await?;
    }
    Ok(())
}

/// Inserts a row keyed by a natural key; false if the key was already there.
pub async fn insert_once(
    db: &impl ConnectionTrait,
    sql_insert_on_conflict_nothing: &str,
    values: Vec<Value>,
) -> Result<bool, DbErr> {
    let res = db
        .execute_raw(stmt(db, sql_insert_on_conflict_nothing, values))
        .await?;
    Ok(res.rows_affected() == 1)
}

/// The last business date this service opened, if any.
pub async fn last_business_date(db: &impl ConnectionTrait) -> Result<Option<NaiveDate>, DbErr> {
    match db
        .query_one_raw(stmt(
            db,
            "SELECT last_date FROM business_days WHERE id = 1",
            vec![],
        ))
        .await?
    {
        Some(row) => Ok(Some(row.try_get_by_index(0)?)),
        None => Ok(None),
    }
}

/// Records the business date; a later one only (two replicas opening two days at once keep the
/// later).
pub async fn set_business_date(db: &impl ConnectionTrait, date: NaiveDate) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "INSERT INTO business_days (id, last_date) VALUES (1, $1) ON CONFLICT (id) DO UPDATE \
         SET last_date = excluded.last_date WHERE business_days.last_date < excluded.last_date",
        vec![date.into()],
    ))
    .await
    .map(|_| ())
}

/// A payment plan's reference and the claims it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanReference {
    /// The plan (agreements' id).
    pub plan_id: String,
    /// Its debtor.
    pub debtor_id: String,
    /// The covered claims.
    pub claim_ids: Vec<String>,
    /// The latest revision stored.
    pub revision: i64,
}

/// The plan a reference key belongs to, if any.
pub async fn plan_by_reference(
    db: &impl ConnectionTrait,
    municipality: &str,
    key: &str,
) -> Result<Option<PlanReference>, DbErr> {
    let row = db
        .query_one_raw(stmt(
            db,
            "SELECT plan_id, debtor_id, claim_ids, revision FROM plan_references \
             WHERE municipality = $1 AND reference_key = $2",
            vec![municipality.into(), key.into()],
        ))
        .await?;
    row.map(|r| plan_from(&r)).transpose()
}

/// The stored plan with this id, if any.
pub async fn plan_by_id(
    db: &impl ConnectionTrait,
    plan_id: &str,
) -> Result<Option<(String, String, PlanReference)>, DbErr> {
    let row = db
        .query_one_raw(stmt(
            db,
            "SELECT plan_id, debtor_id, claim_ids, revision, municipality, reference_key \
             FROM plan_references WHERE plan_id = $1",
            vec![plan_id.into()],
        ))
        .await?;
    match row {
        Some(r) => {
            let plan = plan_from(&r)?;
            Ok(Some((r.try_get_by_index(4)?, r.try_get_by_index(5)?, plan)))
        }
        None => Ok(None),
    }
}

fn plan_from(r: &QueryResult) -> Result<PlanReference, DbErr> {
    let claims: String = r.try_get_by_index(2)?;
    Ok(PlanReference {
        plan_id: r.try_get_by_index(0)?,
        debtor_id: r.try_get_by_index(1)?,
        claim_ids: serde_json::from_str(&claims)
            .map_err(|e| DbErr::Custom(format!("plan_references.claim_ids: {e}")))?,
        revision: r.try_get_by_index(3)?,
    })
}

/// Stores (or, for a later revision, replaces) a plan's reference and claims.
pub async fn upsert_plan_reference(
    db: &impl ConnectionTrait,
    municipality: &str,
    reference_key: &str,
    plan: &PlanReference,
) -> Result<(), DbErr> {
    let claims = serde_json::to_string(&plan.claim_ids)
        .map_err(|e| DbErr::Custom(format!("plan claim ids: {e}")))?;
    db.execute_raw(stmt(
        db,
        "INSERT INTO plan_references (municipality, reference_key, plan_id, debtor_id, claim_ids, revision) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (municipality, reference_key) DO UPDATE SET claim_ids = excluded.claim_ids, \
         revision = excluded.revision WHERE plan_references.revision < excluded.revision",
        vec![
            municipality.into(),
            reference_key.into(),
            plan.plan_id.clone().into(),
            plan.debtor_id.clone().into(),
            claims.into(),
            plan.revision.into(),
        ],
    ))
    .await?;
    Ok(())
}
