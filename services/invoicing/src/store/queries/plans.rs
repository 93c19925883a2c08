//! Payment plans' references and the claims they cover.

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};

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

/// A `plan_references` row.
#[derive(Debug, FromQueryResult)]
struct PlanRecord {
    plan_id: String,
    debtor_id: String,
    claim_ids: String,
    revision: i64,
    municipality: String,
    reference_key: String,
}

impl PlanRecord {
    fn plan(self) -> Result<(String, String, PlanReference), DbErr> {
        let claim_ids = serde_json::from_str(&self.claim_ids)
            .map_err(|e| DbErr::Custom(format!("plan_references.claim_ids: {e}")))?;
        Ok((
            self.municipality,
            self.reference_key,
            PlanReference {
                plan_id: self.plan_id,
                debtor_id: self.debtor_id,
                claim_ids,
                revision: self.revision,
            },
        ))
    }
}

fn select_plans() -> SelectStatement {
    Query::select()
        .columns([
            "plan_id",
            "debtor_id",
            "claim_ids",
            "revision",
            "municipality",
            "reference_key",
        ])
        .from("plan_references")
        .to_owned()
}

async fn one_plan(
    db: &impl ConnectionTrait,
    select: &SelectStatement,
) -> Result<Option<(String, String, PlanReference)>, DbErr> {
    db.query_one(select)
        .await?
        .map(|r| PlanRecord::from_query_result(&r, "")?.plan())
        .transpose()
}

/// The plan a reference key belongs to, if any.
pub async fn plan_by_reference(
    db: &impl ConnectionTrait,
    municipality: &str,
    key: &str,
) -> Result<Option<PlanReference>, DbErr> {
    let select = select_plans()
        .and_where(Expr::col("municipality").eq(municipality))
        .and_where(Expr::col("reference_key").eq(key))
        .to_owned();
    Ok(one_plan(db, &select).await?.map(|(_, _, plan)| plan))
}

/// The stored plan with this id, if any.
pub async fn plan_by_id(
    db: &impl ConnectionTrait,
    plan_id: &str,
) -> Result<Option<(String, String, PlanReference)>, DbErr> {
    let select = select_plans()
        .and_where(Expr::col("plan_id").eq(plan_id))
        .to_owned();
    one_plan(db, &select).await
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
    let insert = Query::insert()
        .into_table("plan_references")
        .columns([
            "municipality",
            "reference_key",
            "plan_id",
            "debtor_id",
            "claim_ids",
            "revision",
        ])
        .values_panic([
            municipality.into(),
            reference_key.into(),
            plan.plan_id.as_str().into(),
            plan.debtor_id.as_str().into(),
            claims.into(),
            plan.revision.into(),
        ])
        .on_conflict(
            OnConflict::columns(["municipality", "reference_key"])
                .update_columns(["claim_ids", "revision"])
                .action_and_where(
                    Expr::col(("plan_references", "revision"))
                        .lt(Expr::col(("excluded", "revision"))),
                )
                .to_owned(),
        )
        .to_owned();
    db.execute(&insert).await?;
    Ok(())
}
