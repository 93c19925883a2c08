//! Payment reference sequence numbers.

use super::json_param;
use restance_store::{is_postgres, stmt};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ConnectionTrait, DbErr};
use std::collections::BTreeSet;

/// Reserves `count` consecutive reference sequence numbers for a municipality; returns the first.
pub async fn reserve_references(
    db: &impl ConnectionTrait,
    municipality: &str,
    count: u64,
) -> Result<u64, DbErr> {
    let count = i64::try_from(count).map_err(|_| DbErr::Custom("too many references".into()))?;
    let reserve = Query::insert()
        .into_table("reference_sequences")
        .columns(["municipality", "next_value"])
        .values_panic([municipality.into(), (count + 1).into()])
        .on_conflict(
            OnConflict::column("municipality")
                .value(
                    "next_value",
                    Expr::col(("reference_sequences", "next_value")).add(count),
                )
                .to_owned(),
        )
        .returning_col("next_value")
        .to_owned();
    let row = db
        .query_one(&reserve)
        .await?
        .ok_or_else(|| DbErr::Custom("reference sequence returned nothing".into()))?;
    let next: i64 = row.try_get("", "next_value")?;
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
        // Hand-written: bench-ingest (1,000,000 invoices) checks every new reference of a batch
        // here; each key is looked up laterally on the unique index, all keys in one JSON
        // parameter (see the module docs: an IN list lost the index on a fresh database).
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
    let select = Query::select()
        .column("reference_key")
        .from("claims")
        .and_where(Expr::col("municipality").eq(municipality))
        .and_where(Expr::col("reference_key").is_in(keys.iter().map(String::as_str)))
        .to_owned();
    db.query_all(&select)
        .await?
        .iter()
        .map(|r| r.try_get("", "reference_key"))
        .collect()
}
