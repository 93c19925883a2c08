//! Which agreement covers which claim (a claim in at most one active agreement of a kind).

use std::collections::BTreeMap;

use restance_store::{placeholder_list, rows_per_statement, stmt, value_rows};
use sea_orm::{ConnectionTrait, DbErr, Value};

/// What an agreement covers: `plan` or `deferral`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CoverageKind {
    /// A payment plan.
    Plan,
    /// A deferral.
    Deferral,
}

impl CoverageKind {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            CoverageKind::Plan => "plan",
            CoverageKind::Deferral => "deferral",
        }
    }
}

/// Claims covered now, by kind: `(claim_id, agreement_id)`.
pub async fn coverage_of(
    db: &impl ConnectionTrait,
    kind: CoverageKind,
    claim_ids: &[String],
) -> Result<BTreeMap<String, String>, DbErr> {
    let mut out = BTreeMap::new();
    for chunk in claim_ids.chunks(rows_per_statement(1) - 1) {
        let sql = format!(
            "SELECT claim_id, agreement_id FROM coverage WHERE kind = $1 AND claim_id IN ({})",
            placeholder_list(2, chunk.len())
        );
        let mut values: Vec<Value> = vec![kind.as_str().into()];
        values.extend(chunk.iter().map(|c| Value::from(c.clone())));
        for r in db.query_all_raw(stmt(db, sql, values)).await? {
            out.insert(r.try_get_by_index(0)?, r.try_get_by_index(1)?);
        }
    }
    Ok(out)
}

/// Puts claims under an agreement. `false` (and nothing written that counts: the caller rolls
/// back) when one of them is already covered by another agreement of the kind.
pub async fn cover(
    db: &impl ConnectionTrait,
    kind: CoverageKind,
    agreement_id: &str,
    claim_ids: &[String],
) -> Result<bool, DbErr> {
    let mut inserted = 0u64;
    for chunk in claim_ids.chunks(rows_per_statement(3)) {
        let sql = format!(
            "INSERT INTO coverage (claim_id, kind, agreement_id) VALUES {} ON CONFLICT DO NOTHING",
            value_rows(chunk.len(), 3)
        );
        let mut values = Vec::with_capacity(chunk.len() * 3);
        for id in chunk {
            values.push(id.clone().into());
            values.push(kind.as_str().into());
            values.push(agreement_id.into());
        }
        inserted += db.execute_raw(stmt(db, sql, values)).await?.rows_affected();
    }
    Ok(inserted == claim_ids.len() as u64)
}

/// Ends an agreement's coverage (all its claims, or one).
pub async fn uncover(
    db: &impl ConnectionTrait,
    kind: CoverageKind,
    agreement_id: &str,
    claim_id: Option<&str>,
) -> Result<(), DbErr> {
    match claim_id {
        None => {
            db.execute_raw(stmt(
                db,
                "DELETE FROM coverage WHERE kind = $1 AND agreement_id = $2",
                vec![kind.as_str().into(), agreement_id.into()],
            ))
            .await?
        }
        Some(c) => {
            db.execute_raw(stmt(
                db,
                "DELETE FROM coverage WHERE kind = $1 AND agreement_id = $2 AND claim_id = $3",
                vec![kind.as_str().into(), agreement_id.into(), c.into()],
            ))
            .await?
        }
    };
    Ok(())
}
