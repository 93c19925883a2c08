//! Retention of ended guarantees: the guarantees whose recovery cases have all ended, the
//! erasure of a guarantee's personal data and its record (`erasures`: when and why, never the
//! data).

use chrono::NaiveDate;
use restance_kernel::BusinessDate;
use restance_store::{date, stmt};
use sea_orm::{ConnectionTrait, DbErr};

use super::guarantees::{self, StoredGuarantee};

/// What erased personal data reads as.
pub const ERASED: &str = "[erased]";

/// The recovery case states in which a case has ended.
const ENDED_STATES: &str = "('settled', 'released', 'closed')";

/// A guarantee not yet erased whose recovery cases (at least one) have all ended, with the
/// latest date one of their steps was recorded.
#[derive(Debug, Clone)]
pub struct EndedGuarantee {
    /// The guarantee as stored.
    pub stored: StoredGuarantee,
    /// Its recovery cases.
    pub cases: i64,
    /// The latest step of any of them.
    pub last_step: Option<NaiveDate>,
}

/// The guarantees not yet erased whose recovery cases have all ended, in
/// `(municipality, guarantee_id)` order. A guarantee gets its case on the day it ends, so one
/// without a case is still in force.
pub async fn ended_guarantees(db: &impl ConnectionTrait) -> Result<Vec<EndedGuarantee>, DbErr> {
    let rows = db
        .query_all_raw(stmt(
            db,
            format!(
                "SELECT g.guarantee_id, \
                   (SELECT COUNT(*) FROM recovery_cases c WHERE c.guarantee_id = g.guarantee_id), \
                   (SELECT MAX(s.step_date) FROM case_steps s JOIN recovery_cases c \
                      ON c.case_id = s.case_id WHERE c.guarantee_id = g.guarantee_id) \
                 FROM guarantees g \
                 WHERE NOT EXISTS (SELECT 1 FROM erasures e WHERE e.guarantee_id = g.guarantee_id) \
                   AND EXISTS (SELECT 1 FROM recovery_cases c WHERE c.guarantee_id = g.guarantee_id) \
                   AND NOT EXISTS (SELECT 1 FROM recovery_cases c \
                     WHERE c.guarantee_id = g.guarantee_id AND c.state NOT IN {ENDED_STATES}) \
                 ORDER BY g.municipality, g.guarantee_id"
            ),
            vec![],
        ))
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let id: String = r.try_get_by_index(0)?;
        let cases: i64 = r.try_get_by_index(1)?;
        let last_step: Option<NaiveDate> = r.try_get_by_index(2)?;
        if let Some(stored) = guarantees::find(db, &id).await? {
            out.push(EndedGuarantee {
                stored,
                cases,
                last_step,
            });
        }
    }
    Ok(out)
}

/// Erases the guarantee's personal data — the resident's and the spouse's national ids, the
/// spouse's PersonID, the guarantor's national id, name, address and contact (its id and kind
/// stay), the national ids of the benefits and reports that concern only erased guarantees, the
/// letters held for its cases — unless a case was opened again meanwhile or it is erased
/// already; records the erasure. False when nothing was erased.
pub async fn erase_guarantee(
    db: &impl ConnectionTrait,
    stored: &StoredGuarantee,
    ended_on: BusinessDate,
    erased_on: BusinessDate,
    legal_source: &str,
) -> Result<bool, DbErr> {
    let g = stored.guarantee_id.as_str();
    let guarantor = stored.guarantor.expose();
    let mut kept = serde_json::Map::new();
    for key in ["id", "kind"] {
        if let Some(v) = guarantor.get(key) {
            kept.insert(key.to_owned(), v.clone());
        }
    }
    kept.insert("name".to_owned(), ERASED.into());
    let guarantor = serde_json::Value::Object(kept).to_string();
    let done = db
        .execute_raw(stmt(
            db,
            format!(
                "UPDATE guarantees SET resident_national_id = '', spouse_national_id = '', \
                   person_id = $2, guarantor = $3 \
                 WHERE guarantee_id = $1 \
                   AND NOT EXISTS (SELECT 1 FROM erasures e WHERE e.guarantee_id = $1) \
                   AND NOT EXISTS (SELECT 1 FROM recovery_cases c \
                     WHERE c.guarantee_id = $1 AND c.state NOT IN {ENDED_STATES})"
            ),
            vec![g.into(), ERASED.into(), guarantor.into()],
        ))
        .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    db.execute_raw(stmt(
        db,
        "INSERT INTO erasures (guarantee_id, municipality, ended_on, erased_on, legal_source) \
         VALUES ($1, $2, $3, $4, $5)",
        vec![
            g.into(),
            stored.municipality.clone().into(),
            date(ended_on),
            date(erased_on),
            legal_source.into(),
        ],
    ))
    .await?;
    // a benefit or report that concerns another guarantee not erased keeps the national id
    db.execute_raw(stmt(
        db,
        "UPDATE benefits SET recipient_national_id = '' \
         WHERE EXISTS (SELECT 1 FROM benefit_links l WHERE l.source = benefits.source \
             AND l.benefit_id = benefits.benefit_id AND l.guarantee_id = $1) \
           AND NOT EXISTS (SELECT 1 FROM benefit_links l WHERE l.source = benefits.source \
             AND l.benefit_id = benefits.benefit_id AND l.guarantee_id NOT IN \
               (SELECT e.guarantee_id FROM erasures e))",
        vec![g.into()],
    ))
    .await?;
    db.execute_raw(stmt(
        db,
        "UPDATE benefit_reports SET recipient_national_id = '', person_id = $2 \
         WHERE guarantee_id = $1",
        vec![g.into(), ERASED.into()],
    ))
    .await?;
    db.execute_raw(stmt(
        db,
        "UPDATE held_letters SET request = '{}' WHERE sent_on IS NOT NULL AND case_id IN \
           (SELECT c.case_id FROM recovery_cases c WHERE c.guarantee_id = $1)",
        vec![g.into()],
    ))
    .await?;
    Ok(true)
}

/// Empties the files produced before `before` (the first day whose files are still kept): the
/// daily files to the immigration service (national ids of every guarantee reported that day)
/// and the quarterly statements (guarantors' names). What stays: each file's date, row count,
/// name and summary. Returns how many files were emptied.
pub async fn erase_files_before(
    db: &impl ConnectionTrait,
    before: BusinessDate,
) -> Result<u64, DbErr> {
    let daily = db
        .execute_raw(stmt(
            db,
            "UPDATE report_files SET csv = '' WHERE file_date < $1 AND csv <> ''",
            vec![date(before)],
        ))
        .await?
        .rows_affected();
    let statements = db
        .execute_raw(stmt(
            db,
            "UPDATE statements SET xlsx_base64 = '' WHERE produced_on < $1 AND xlsx_base64 <> ''",
            vec![date(before)],
        ))
        .await?
        .rows_affected();
    Ok(daily + statements)
}

/// How many guarantees were erased so far.
pub async fn erasures_so_far(db: &impl ConnectionTrait) -> Result<i64, DbErr> {
    let row = db
        .query_one_raw(stmt(db, "SELECT COUNT(*) FROM erasures", vec![]))
        .await?
        .ok_or_else(|| DbErr::Custom("no row from COUNT".to_owned()))?;
    row.try_get_by_index(0)
}
