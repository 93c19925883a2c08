//! Which agreement covers which claim (a claim in at most one active agreement of a kind).

use std::collections::BTreeMap;

use super::col;
use restance_store::rows_per_statement;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ConnectionTrait, DbErr};

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
        let select = Query::select()
            .columns(["claim_id", "agreement_id"])
            .from("coverage")
            .and_where(Expr::col("kind").eq(kind.as_str()))
            .and_where(Expr::col("claim_id").is_in(chunk.iter().map(String::as_str)))
            .to_owned();
        for r in db.query_all(&select).await? {
            out.insert(col(&r, "claim_id")?, col(&r, "agreement_id")?);
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
        let mut insert = Query::insert();
        insert
            .into_table("coverage")
            .columns(["claim_id", "kind", "agreement_id"])
            .on_conflict(OnConflict::new().do_nothing().to_owned());
        for id in chunk {
            insert.values_panic([
                id.as_str().into(),
                kind.as_str().into(),
                agreement_id.into(),
            ]);
        }
        inserted += db.execute(&insert).await?.rows_affected();
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
    let mut delete = Query::delete();
    delete
        .from_table("coverage")
        .and_where(Expr::col("kind").eq(kind.as_str()))
        .and_where(Expr::col("agreement_id").eq(agreement_id));
    if let Some(c) = claim_id {
        delete.and_where(Expr::col("claim_id").eq(c));
    }
    db.execute(&delete).await?;
    Ok(())
}
