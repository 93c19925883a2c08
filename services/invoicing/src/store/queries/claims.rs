//! Claims: lookups, opening a batch (with its debtors and ledger lines), updates.

use super::debtors::{ChangedDebtor, DebtorUpsert, changed_debtor, upsert_debtors};
use super::ledger::{LedgerLine, insert_lines};
use super::{claim_version, grouped, json_param, version_value};
use crate::domain::allocation::OpenClaim;
use crate::domain::balance::Balance;
use chrono::NaiveDate;
use restance_kernel::Money;
use restance_store::{is_postgres, rows_per_statement, stmt};
use sea_orm::sea_query::{Expr, ExprTrait, Func, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, QueryResult};
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

/// The columns of a claim as [`ClaimRow`] reads them.
const CLAIM_COLUMNS: [&str; 23] = [
    "seq",
    "claim_id",
    "source",
    "invoice_id",
    "municipality",
    "office",
    "category",
    "debtor_id",
    "currency",
    "amount_minor",
    "principal_minor",
    "fees_minor",
    "interest_minor",
    "issue_date",
    "due_date",
    "reference_key",
    "ocr_line",
    "prepayment",
    "direct_debit",
    "state",
    "content_hash",
    "settled_date",
    "version",
];

/// A `claims` row.
#[derive(Debug, FromQueryResult)]
struct ClaimRecord {
    seq: i64,
    claim_id: String,
    source: String,
    invoice_id: String,
    municipality: String,
    office: String,
    category: String,
    debtor_id: String,
    currency: String,
    amount_minor: i64,
    principal_minor: i64,
    fees_minor: i64,
    interest_minor: i64,
    issue_date: NaiveDate,
    due_date: NaiveDate,
    reference_key: String,
    ocr_line: String,
    prepayment: bool,
    direct_debit: bool,
    state: String,
    content_hash: String,
    settled_date: Option<NaiveDate>,
    version: i64,
}

fn claim_from(row: &QueryResult) -> Result<ClaimRow, DbErr> {
    let r = ClaimRecord::from_query_result(row, "")?;
    let version = claim_version(r.version)?;
    Ok(ClaimRow {
        seq: r.seq,
        claim_id: r.claim_id,
        source: r.source,
        invoice_id: r.invoice_id,
        municipality: r.municipality,
        office: r.office,
        category: r.category,
        debtor_id: r.debtor_id,
        currency: r.currency,
        amount: Money::from_minor(r.amount_minor),
        balance: Balance {
            principal: Money::from_minor(r.principal_minor),
            fees: Money::from_minor(r.fees_minor),
            interest: Money::from_minor(r.interest_minor),
        },
        issue_date: r.issue_date,
        due_date: r.due_date,
        reference_key: r.reference_key,
        ocr_line: r.ocr_line,
        prepayment: r.prepayment,
        direct_debit: r.direct_debit,
        state: r.state,
        content_hash: r.content_hash,
        settled_date: r.settled_date,
        version,
    })
}

fn select_claims() -> SelectStatement {
    Query::select()
        .columns(CLAIM_COLUMNS)
        .from("claims")
        .to_owned()
}

async fn one_claim(
    db: &impl ConnectionTrait,
    select: &SelectStatement,
) -> Result<Option<ClaimRow>, DbErr> {
    db.query_one(select)
        .await?
        .as_ref()
        .map(claim_from)
        .transpose()
}

async fn all_claims(
    db: &impl ConnectionTrait,
    select: &SelectStatement,
) -> Result<Vec<ClaimRow>, DbErr> {
    db.query_all(select).await?.iter().map(claim_from).collect()
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
        // Hand-written: bench-ingest (1,000,000 invoices) looks every batch's invoices up here;
        // each key laterally on the unique index, all keys in one JSON parameter (module docs).
        let sql = format!(
            "SELECT c.* FROM json_array_elements_text($2::json) AS k(invoice_id) CROSS JOIN LATERAL \
             (SELECT {} FROM claims WHERE source = $1 AND invoice_id = k.invoice_id LIMIT 1) AS c",
            CLAIM_COLUMNS.join(", ")
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
        // one parameter is the source
        for chunk in ids.chunks(rows_per_statement(1) - 1) {
            let select = select_claims()
                .and_where(Expr::col("source").eq(source))
                .and_where(Expr::col("invoice_id").is_in(chunk.iter().copied()))
                .to_owned();
            out.extend(all_claims(db, &select).await?);
        }
    }
    Ok(out)
}

/// One claim by id.
pub async fn claim_by_id(
    db: &impl ConnectionTrait,
    claim_id: &str,
) -> Result<Option<ClaimRow>, DbErr> {
    let select = select_claims()
        .and_where(Expr::col("claim_id").eq(claim_id))
        .to_owned();
    one_claim(db, &select).await
}

/// The claim a reference points to in a municipality.
pub async fn claim_by_reference(
    db: &impl ConnectionTrait,
    municipality: &str,
    key: &str,
) -> Result<Option<ClaimRow>, DbErr> {
    let select = select_claims()
        .and_where(Expr::col("municipality").eq(municipality))
        .and_where(Expr::col("reference_key").eq(key))
        .to_owned();
    one_claim(db, &select).await
}

/// Every claim of a debtor (all states), oldest first. `municipality` `None` = all.
pub async fn claims_of_debtor(
    db: &impl ConnectionTrait,
    municipality: Option<&str>,
    debtor_id: &str,
    only_open: bool,
) -> Result<Vec<ClaimRow>, DbErr> {
    let mut select = select_claims()
        .and_where(Expr::col("debtor_id").eq(debtor_id))
        .to_owned();
    if let Some(m) = municipality {
        select.and_where(Expr::col("municipality").eq(m));
    }
    if only_open {
        select.and_where(Expr::col("state").eq("open"));
    }
    select
        .order_by("due_date", Order::Asc)
        .order_by("seq", Order::Asc);
    all_claims(db, &select).await
}

/// Inserts new claims (state `open`, with their version: 1).
pub async fn insert_claims(db: &impl ConnectionTrait, rows: &[ClaimRow]) -> Result<(), DbErr> {
    const COLS: usize = 21;
    for chunk in rows.chunks(rows_per_statement(COLS)) {
        // the columns of CLAIM_COLUMNS but `seq` (numbered by the database) and `settled_date`
        let mut insert = Query::insert()
            .into_table("claims")
            .columns(
                CLAIM_COLUMNS
                    .into_iter()
                    .filter(|c| !matches!(*c, "seq" | "settled_date")),
            )
            .to_owned();
        for c in chunk {
            insert
                .values([
                    c.claim_id.as_str().into(),
                    c.source.as_str().into(),
                    c.invoice_id.as_str().into(),
                    c.municipality.as_str().into(),
                    c.office.as_str().into(),
                    c.category.as_str().into(),
                    c.debtor_id.as_str().into(),
                    c.currency.as_str().into(),
                    c.amount.to_minor().into(),
                    c.balance.principal.to_minor().into(),
                    c.balance.fees.to_minor().into(),
                    c.balance.interest.to_minor().into(),
                    c.issue_date.into(),
                    c.due_date.into(),
                    c.reference_key.as_str().into(),
                    c.ocr_line.as_str().into(),
                    c.prepayment.into(),
                    c.direct_debit.into(),
                    c.state.as_str().into(),
                    c.content_hash.as_str().into(),
                    version_value(c.version)?.into(),
                ])
                .map_err(|e| DbErr::Custom(format!("claims insert: {e}")))?;
        }
        db.execute(&insert).await?;
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
    // Hand-written: bench-ingest (1,000,000 invoices) stores every batch here. One statement
    // writes the batch's debtors, claims and ledger lines, each table's rows as one JSON
    // document (`json_to_recordset`, PostgreSQL's own) instead of thousands of parameters.
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
    let update = Query::update()
        .table("claims")
        .value("principal_minor", c.balance.principal.to_minor())
        .value("fees_minor", c.balance.fees.to_minor())
        .value("interest_minor", c.balance.interest.to_minor())
        .value("state", c.state.as_str())
        .value("settled_date", c.settled_date)
        .value("version", Expr::col("version").add(version_value(writes)?))
        .and_where(Expr::col("claim_id").eq(c.claim_id.as_str()))
        .returning_col("version")
        .to_owned();
    let row = db
        .query_one(&update)
        .await?
        .ok_or_else(|| DbErr::Custom(format!("claim {} vanished", c.claim_id)))?;
    c.version = claim_version(row.try_get("", "version")?)?;
    Ok(())
}

/// Open prepayment claims due on or before `last_due` (candidates for expiry), oldest first.
pub async fn open_prepayments_due_by(
    db: &impl ConnectionTrait,
    last_due: NaiveDate,
) -> Result<Vec<ClaimRow>, DbErr> {
    let select = select_claims()
        .and_where(Expr::col("state").eq("open"))
        .and_where(Expr::col("prepayment").eq(true))
        .and_where(Expr::col("due_date").lte(last_due))
        .order_by("due_date", Order::Asc)
        .order_by("seq", Order::Asc)
        .to_owned();
    all_claims(db, &select).await
}

/// What the debtor paid on a claim (payments and credit balance used; not credit notes).
pub async fn paid_on_claim(db: &impl ConnectionTrait, claim_id: &str) -> Result<Money, DbErr> {
    let total = Expr::col("principal_minor")
        .add(Expr::col("fees_minor"))
        .add(Expr::col("interest_minor"))
        .sum();
    let select = Query::select()
        .expr_as(
            Func::cast_as(Func::coalesce([total, Expr::val(0)]), "BIGINT"),
            "paid",
        )
        .from("ledger_lines")
        .and_where(Expr::col("claim_id").eq(claim_id))
        .and_where(Expr::col("kind").is_in(["payment", "credit_balance"]))
        .to_owned();
    let sum: i64 = match db.query_one(&select).await? {
        Some(r) => r.try_get("", "paid")?,
        None => 0,
    };
    Ok(Money::from_minor(-sum))
}
