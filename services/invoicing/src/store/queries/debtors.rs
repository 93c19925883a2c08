//! Debtors: details, locks, credit balances, lookups by claim, reference or national id.

use super::{grouped, json_param};
use restance_kernel::Money;
use restance_store::{
    is_postgres, placeholder_list, rows_per_statement, select_in, stmt, value_rows,
};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Value};
use serde::Serialize;
use std::collections::HashMap;

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

pub(super) fn changed_debtor(row: &QueryResult) -> Result<ChangedDebtor, DbErr> {
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
    select_in(
        db,
        |list| format!("SELECT municipality, debtor_id FROM claims WHERE claim_id IN ({list})"),
        &[],
        claim_ids,
        debtor_key_from,
    )
    .await
}

/// The debtors of the claims and payment plans these reference keys name in a municipality.
pub async fn debtors_by_reference_keys(
    db: &impl ConnectionTrait,
    municipality: &str,
    keys: &[&str],
) -> Result<Vec<(String, String)>, DbErr> {
    select_in(
        db,
        |list| {
            format!(
                "SELECT municipality, debtor_id FROM claims WHERE municipality = $1 AND reference_key IN ({list}) \
                 UNION SELECT municipality, debtor_id FROM plan_references \
                 WHERE municipality = $1 AND reference_key IN ({list})"
            )
        },
        &[municipality.into()],
        keys,
        debtor_key_from,
    )
    .await
}

/// The debtors with any of these national ids in a municipality.
pub async fn debtors_by_national_ids(
    db: &impl ConnectionTrait,
    municipality: &str,
    national_ids: &[&str],
) -> Result<Vec<(String, String)>, DbErr> {
    select_in(
        db,
        |list| {
            format!(
                "SELECT municipality, debtor_id FROM debtors WHERE municipality = $1 AND national_id IN ({list})"
            )
        },
        &[municipality.into()],
        national_ids,
        debtor_key_from,
    )
    .await
}

/// A `(municipality, debtor_id)` from the first two columns.
fn debtor_key_from(r: &QueryResult) -> Result<(String, String), DbErr> {
    Ok((r.try_get_by_index(0)?, r.try_get_by_index(1)?))
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
    db.execute_raw(stmt(
        db,
        "UPDATE debtors SET credit_minor = credit_minor + $1, credit_since = CASE \
         WHEN credit_minor + $1 <= 0 THEN NULL WHEN credit_minor > 0 THEN credit_since ELSE $4 END \
         WHERE municipality = $2 AND debtor_id = $3",
        vec![
            delta.to_minor().into(),
            municipality.into(),
            debtor_id.into(),
            on.into(),
        ],
    ))
    .await
    .map(|_| ())
}
