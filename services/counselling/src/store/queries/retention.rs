//! Retention of closed cases: the closed cases not yet erased, the erasure of a case's personal
//! data and its record (`erasures`: when and why, never the data).

use restance_store::{date, stmt};
use sea_orm::{ConnectionTrait, DbErr};

use super::cases::{self, StoredCase};
use restance_kernel::BusinessDate;

/// The closed cases whose personal data is still held, in `(municipality, case_id)` order.
pub async fn closed_cases(db: &impl ConnectionTrait) -> Result<Vec<StoredCase>, DbErr> {
    let ids = db
        .query_all_raw(stmt(
            db,
            "SELECT case_id FROM cases WHERE phase = 'closed' \
               AND NOT EXISTS (SELECT 1 FROM erasures e WHERE e.case_id = cases.case_id) \
             ORDER BY municipality, case_id",
            vec![],
        ))
        .await?;
    let mut out = Vec::with_capacity(ids.len());
    for r in ids {
        let id: String = r.try_get_by_index(0)?;
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
    let done = db
        .execute_raw(stmt(
            db,
            "UPDATE cases SET national_id = NULL, applicant = $2, state = $3 \
             WHERE case_id = $1 AND phase = 'closed' \
               AND NOT EXISTS (SELECT 1 FROM erasures e WHERE e.case_id = $1)",
            vec![
                erased.case_id.clone().into(),
                applicant.into(),
                state.into(),
            ],
        ))
        .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    db.execute_raw(stmt(
        db,
        "INSERT INTO erasures (case_id, municipality, closed_on, erased_on, legal_source) \
         VALUES ($1, $2, $3, $4, $5)",
        vec![
            erased.case_id.clone().into(),
            erased.municipality.clone().into(),
            date(closed_on),
            date(erased_on),
            legal_source.into(),
        ],
    ))
    .await?;
    Ok(true)
}

/// How many cases were erased so far.
pub async fn erasures_so_far(db: &impl ConnectionTrait) -> Result<i64, DbErr> {
    let row = db
        .query_one_raw(stmt(db, "SELECT COUNT(*) FROM erasures", vec![]))
        .await?
        .ok_or_else(|| DbErr::Custom("no row from COUNT".to_owned()))?;
    row.try_get_by_index(0)
}
