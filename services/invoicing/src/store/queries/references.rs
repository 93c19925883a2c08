//! Payment reference sequence numbers.

use super::json_param;
use restance_store::{is_postgres, placeholder_list, stmt};
use sea_orm::{ConnectionTrait, DbErr, Value};
use std::collections::BTreeSet;

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
