//! Payment plans' references and the claims they cover.

use restance_store::stmt;
use sea_orm::{ConnectionTrait, DbErr, QueryResult};

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
