//! Debtors: details, locks, credit balances, lookups by claim, reference or national id.

use super::{grouped, json_param};
use restance_kernel::Money;
use restance_store::{is_postgres, rows_per_statement, stmt};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query, SelectStatement, UnionType};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, QueryResult};
use serde::Serialize;
use std::collections::HashMap;

/// Debtor ids in a municipality with this national id.
pub async fn debtors_by_national_id(
    db: &impl ConnectionTrait,
    municipality: &str,
    national_id: &str,
) -> Result<Vec<String>, DbErr> {
    let select = Query::select()
        .column("debtor_id")
        .from("debtors")
        .and_where(Expr::col("municipality").eq(municipality))
        .and_where(Expr::col("national_id").eq(national_id))
        .to_owned();
    db.query_all(&select)
        .await?
        .iter()
        .map(|r| r.try_get::<String>("", "debtor_id"))
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

/// A debtor row as [`debtors`] reads it.
#[derive(Debug, FromQueryResult)]
struct DebtorRecord {
    municipality: String,
    debtor_id: String,
    details_hash: String,
    credit_minor: i64,
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
            let rows = if postgres {
                // Hand-written: bench-ingest (1,000,000 invoices) reads every batch's debtors
                // here; each key is looked up laterally on the primary key, all keys in one
                // JSON parameter (see the module docs).
                db.query_all_raw(stmt(
                    db,
                    "SELECT d.* FROM json_array_elements_text($2::json) AS k(debtor_id) CROSS JOIN LATERAL \
                     (SELECT municipality, debtor_id, details_hash, credit_minor FROM debtors \
                      WHERE municipality = $1 AND debtor_id = k.debtor_id LIMIT 1) AS d",
                    vec![muni.into(), json_param(chunk)?],
                ))
                .await?
            } else {
                let select = Query::select()
                    .columns(["municipality", "debtor_id", "details_hash", "credit_minor"])
                    .from("debtors")
                    .and_where(Expr::col("municipality").eq(muni))
                    .and_where(Expr::col("debtor_id").is_in(chunk.iter().copied()))
                    .to_owned();
                db.query_all(&select).await?
            };
            for row in rows {
                let d = DebtorRecord::from_query_result(&row, "")?;
                out.insert(
                    (d.municipality, d.debtor_id),
                    DebtorState {
                        details_hash: d.details_hash,
                        credit: Money::from_minor(d.credit_minor),
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
        let mut insert = Query::insert()
            .into_table("debtors")
            .columns([
                "municipality",
                "debtor_id",
                "kind",
                "national_id",
                "details",
                "details_hash",
                "details_version",
            ])
            .on_conflict(
                OnConflict::columns(["municipality", "debtor_id"])
                    .update_columns(["kind", "national_id", "details", "details_hash"])
                    .value(
                        "details_version",
                        Expr::col(("debtors", "details_version")).add(1),
                    )
                    .action_and_where(
                        Expr::col(("debtors", "details_hash"))
                            .ne(Expr::col(("excluded", "details_hash"))),
                    )
                    .to_owned(),
            )
            .returning(Query::returning().columns([
                "municipality",
                "debtor_id",
                "credit_minor",
                "details_version",
            ]))
            .to_owned();
        for r in chunk {
            insert.values_panic([
                r.municipality.as_str().into(),
                r.debtor_id.as_str().into(),
                r.kind.as_str().into(),
                r.national_id.as_str().into(),
                r.details.as_str().into(),
                r.details_hash.as_str().into(),
                1i64.into(),
            ]);
        }
        for row in db.query_all(&insert).await? {
            changed.push(changed_debtor(&row)?);
        }
    }
    Ok(changed)
}

/// A row `RETURNING municipality, debtor_id, credit_minor, details_version`.
pub(super) fn changed_debtor(row: &QueryResult) -> Result<ChangedDebtor, DbErr> {
    let version: i64 = row.try_get("", "details_version")?;
    Ok(ChangedDebtor {
        key: (
            row.try_get("", "municipality")?,
            row.try_get("", "debtor_id")?,
        ),
        credit: Money::from_minor(row.try_get("", "credit_minor")?),
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
    // Hand-written: bench-ingest locks every batch's debtors here in one statement, and
    // bench-retention 1,000 debtors per statement; the keys travel as one JSON document (see the
    // module docs). ORDER BY is applied before the locking clause: the rows are locked in key
    // order.
    db.query_all_raw(stmt(
        db,
        "SELECT d.municipality, d.debtor_id FROM json_to_recordset($1::json) AS k(m text, d text) \
         JOIN debtors d ON d.municipality = k.m AND d.debtor_id = k.d \
         ORDER BY d.municipality, d.debtor_id FOR UPDATE OF d",
        vec![json_param(&keys)?],
    ))
    .await?
    .iter()
    .map(debtor_key_from)
    .collect()
}

/// The debtors `(municipality, debtor_id)` of these claims.
pub async fn debtors_of_claims(
    db: &impl ConnectionTrait,
    claim_ids: &[&str],
) -> Result<Vec<(String, String)>, DbErr> {
    debtor_keys_in_chunks(db, claim_ids, rows_per_statement(1), |chunk| {
        Query::select()
            .columns(["municipality", "debtor_id"])
            .from("claims")
            .and_where(Expr::col("claim_id").is_in(chunk.iter().copied()))
            .to_owned()
    })
    .await
}

/// The debtors of the claims and payment plans these reference keys name in a municipality.
pub async fn debtors_by_reference_keys(
    db: &impl ConnectionTrait,
    municipality: &str,
    keys: &[&str],
) -> Result<Vec<(String, String)>, DbErr> {
    let of = |table: &'static str, chunk: &[&str]| {
        Query::select()
            .columns(["municipality", "debtor_id"])
            .from(table)
            .and_where(Expr::col("municipality").eq(municipality))
            .and_where(Expr::col("reference_key").is_in(chunk.iter().copied()))
            .to_owned()
    };
    // each chunk's keys go into both halves of the union
    debtor_keys_in_chunks(db, keys, rows_per_statement(2), |chunk| {
        of("claims", chunk)
            .union(UnionType::Distinct, of("plan_references", chunk))
            .to_owned()
    })
    .await
}

/// The debtors with any of these national ids in a municipality.
pub async fn debtors_by_national_ids(
    db: &impl ConnectionTrait,
    municipality: &str,
    national_ids: &[&str],
) -> Result<Vec<(String, String)>, DbErr> {
    debtor_keys_in_chunks(db, national_ids, rows_per_statement(1), |chunk| {
        Query::select()
            .columns(["municipality", "debtor_id"])
            .from("debtors")
            .and_where(Expr::col("municipality").eq(municipality))
            .and_where(Expr::col("national_id").is_in(chunk.iter().copied()))
            .to_owned()
    })
    .await
}

/// The `(municipality, debtor_id)` rows of `select` run over `keys`, `per_chunk` keys per
/// statement (under the backends' bind-parameter limits, [`rows_per_statement`]). Order holds
/// within a chunk only.
async fn debtor_keys_in_chunks(
    db: &impl ConnectionTrait,
    keys: &[&str],
    per_chunk: usize,
    select: impl Fn(&[&str]) -> SelectStatement,
) -> Result<Vec<(String, String)>, DbErr> {
    let mut out = Vec::with_capacity(keys.len());
    // one parameter of each chunk is the municipality
    for chunk in keys.chunks(per_chunk.saturating_sub(1).max(1)) {
        for row in db.query_all(&select(chunk)).await? {
            out.push(debtor_key_from(&row)?);
        }
    }
    Ok(out)
}

/// A `(municipality, debtor_id)` from the columns of those names.
fn debtor_key_from(r: &QueryResult) -> Result<(String, String), DbErr> {
    Ok((r.try_get("", "municipality")?, r.try_get("", "debtor_id")?))
}

/// Adds `delta` (may be negative) to a debtor's credit balance on business date `on`. The date a
/// balance first became positive is kept (`credit_since`: the refund period runs from it) and
/// cleared when the balance is used up.
pub async fn add_credit(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
    delta: Money,
    on: chrono::NaiveDate,
) -> Result<(), DbErr> {
    let delta = delta.to_minor();
    // every SET expression reads the row as it was before the update
    let update = Query::update()
        .table("debtors")
        .value("credit_minor", Expr::col("credit_minor").add(delta))
        .value(
            "credit_since",
            Expr::case(Expr::col("credit_minor").add(delta).lte(0), Expr::null())
                .case(Expr::col("credit_minor").gt(0), Expr::col("credit_since"))
                .finally(on),
        )
        .and_where(Expr::col("municipality").eq(municipality))
        .and_where(Expr::col("debtor_id").eq(debtor_id))
        .to_owned();
    db.execute(&update).await.map(|_| ())
}
