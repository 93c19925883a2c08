//! Retention of closed cases: the closed cases not yet erased, the erasure of a case's personal
//! data and its record (`erasures`: when and why, never the data).

use restance_store::date;
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
use sea_orm::{ConnectionTrait, DbErr};

use super::cases::{self, StoredCase};
use super::get;
use restance_kernel::BusinessDate;

/// The closed cases whose personal data is still held, in `(municipality, case_id)` order.
pub async fn closed_cases(db: &impl ConnectionTrait) -> Result<Vec<StoredCase>, DbErr> {
    let erased = Query::select()
        .expr(Expr::val(1))
        .from_as("erasures", "e")
        .and_where(Expr::col(("e", "case_id")).equals(("cases", "case_id")))
        .to_owned();
    let select = Query::select()
        .column("case_id")
        .from("cases")
        .and_where(Expr::col("phase").eq("closed"))
        .and_where(Expr::not_exists(erased))
        .order_by("municipality", Order::Asc)
        .order_by("case_id", Order::Asc)
        .to_owned();
    let ids = db.query_all(&select).await?;
    let mut out = Vec::with_capacity(ids.len());
    for r in ids {
        let id: String = get(&r, "case_id")?;
        if let Some(c) = cases::load(db, &id, false).await? {
            out.push(c);
        }
    }
    Ok(out)
}

/// Stores the erased case (national id gone, applicant and case as given) and records the
/// erasure; false when the case is no longer closed or was erased already.
pub async fn erase_case(
    db: &impl ConnectionTrait,
    erased: &StoredCase,
    closed_on: BusinessDate,
    erased_on: BusinessDate,
    legal_source: &str,
) -> Result<bool, DbErr> {
    let applicant = serde_json::to_string(&erased.applicant)
        .map_err(|e| DbErr::Custom(format!("does not serialize: {e}")))?;
    let state = serde_json::to_string(&erased.case)
        .map_err(|e| DbErr::Custom(format!("does not serialize: {e}")))?;
    let case_id = erased.case_id.as_str();
    let recorded = Query::select()
        .expr(Expr::val(1))
        .from_as("erasures", "e")
        .and_where(Expr::col(("e", "case_id")).eq(case_id))
        .to_owned();
    let erase = Query::update()
        .table("cases")
        .value("national_id", Option::<String>::None)
        .value("applicant", applicant)
        .value("state", state)
        .and_where(Expr::col("case_id").eq(case_id))
        .and_where(Expr::col("phase").eq("closed"))
        .and_where(Expr::not_exists(recorded))
        .to_owned();
    let done = db.execute(&erase).await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    let record = Query::insert()
        .into_table("erasures")
        .columns([
            "case_id",
            "municipality",
            "closed_on",
            "erased_on",
            "legal_source",
        ])
        .values_panic([
            case_id.into(),
            erased.municipality.clone().into(),
            date(closed_on).into(),
            date(erased_on).into(),
            legal_source.into(),
        ])
        .to_owned();
    db.execute(&record).await?;
    Ok(true)
}

/// How many cases were erased so far.
pub async fn erasures_so_far(db: &impl ConnectionTrait) -> Result<i64, DbErr> {
    let count = Query::select()
        .expr_as(Expr::col("case_id").count(), "erasures")
        .from("erasures")
        .to_owned();
    let row = db
        .query_one(&count)
        .await?
        .ok_or_else(|| DbErr::Custom("no row from COUNT".to_owned()))?;
    get(&row, "erasures")
}
