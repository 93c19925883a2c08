//! Retention on the business day: a guarantee that has ended (death, divorce, moving away, the
//! end of its binding period) and whose recovery cases have all ended (settled, released,
//! closed), ended more than the period ago (`[retention]`, category key `guarantee`, the pure
//! rule in `restance_kernel::retention`: the end of the year it ended plus the period, default
//! 5 years), has its personal data erased: the resident's and the spouse's national ids, the
//! spouse's PersonID, the guarantor's national id, name, address and contact, the national ids
//! of its benefits and reports, the letters held for its cases. The guarantee id, amounts,
//! dates, changes, cases, their steps (who and when) and payments stay. Each erasure is recorded
//! (`erasures`: when, legal source). The preview (`GET /api/v1/retention/preview`) runs the
//! same selection.

use chrono::NaiveDate;
use restance_bus::HandlerError;
use restance_kernel::BusinessDate;
use restance_kernel::retention::{ClaimEnd, RetentionPolicy};
use sea_orm::{ConnectionTrait, DbErr};

use crate::store::queries::guarantees::{self, StoredGuarantee};
use crate::store::queries::retention as queries;

/// The retention category key of a guarantee.
pub const CATEGORY: &str = "guarantee";

/// An ended guarantee whose personal data is due to go.
#[derive(Debug, Clone)]
pub struct DueGuarantee {
    /// The guarantee as stored.
    pub stored: StoredGuarantee,
    /// Its recovery cases.
    pub cases: i64,
    /// When it ended: the later of its last day in force and its cases' last step.
    pub ended_on: NaiveDate,
}

/// The ended guarantees whose personal data is due to go on `today`, in
/// `(municipality, guarantee_id)` order.
pub async fn due_guarantees(
    db: &impl ConnectionTrait,
    policy: &RetentionPolicy,
    today: NaiveDate,
) -> Result<Vec<DueGuarantee>, DbErr> {
    let mut due = Vec::new();
    for ended in queries::ended_guarantees(db).await? {
        let guarantee = guarantees::load(db, &ended.stored).await?;
        let ending = guarantee.ending();
        if NaiveDate::from(ending.from) > today {
            continue;
        }
        let last_day = NaiveDate::from(ending.last_day_in_force());
        let ended_on = ended.last_step.map_or(last_day, |s| s.max(last_day));
        let end = ClaimEnd {
            category: CATEGORY,
            ended: Some(ended_on),
        };
        if policy.is_due([end], today) {
            due.push(DueGuarantee {
                stored: ended.stored,
                cases: ended.cases,
                ended_on,
            });
        }
    }
    Ok(due)
}

/// The first date whose files are still kept on `today`: a file produced in year Y is kept
/// through 31 December of Y + the period (category `guarantee`).
pub fn files_kept_from(policy: &RetentionPolicy, today: NaiveDate) -> NaiveDate {
    use chrono::Datelike;
    let years = i32::try_from(policy.years_for(CATEGORY)).unwrap_or(i32::MAX);
    NaiveDate::from_ymd_opt(today.year().saturating_sub(years), 1, 1).unwrap_or(NaiveDate::MIN)
}

/// Erases every ended guarantee due on `today` (nothing when `[retention] enabled = false`);
/// returns how many.
pub async fn erase_due(
    tx: &sea_orm::DatabaseTransaction,
    policy: &RetentionPolicy,
    today: BusinessDate,
) -> Result<usize, HandlerError> {
    if !policy.enabled {
        return Ok(0);
    }
    let legal_source = policy.legal_source_for(CATEGORY).to_owned();
    let mut erased = 0;
    for due in due_guarantees(tx, policy, today.into()).await? {
        // under the guarantee's row lock, as a change to it is handled
        let Some(stored) = guarantees::find_for_update(tx, &due.stored.guarantee_id).await? else {
            continue;
        };
        if queries::erase_guarantee(tx, &stored, due.ended_on.into(), today, &legal_source).await? {
            erased += 1;
        }
    }
    // The files already produced hold the national ids (daily files) and the guarantors' names
    // (statements) of guarantees still in force too, so they are not rewritten per guarantee:
    // a file is kept for the period from the end of the year it was produced and then emptied.
    queries::erase_files_before(tx, files_kept_from(policy, today.into()).into()).await?;
    Ok(erased)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    #[test]
    fn a_file_is_kept_through_the_end_of_its_year_plus_the_period() {
        let policy = RetentionPolicy::default();
        // produced 2026-03-03: kept through 2031-12-31, emptied from 2032-01-01
        assert_eq!(files_kept_from(&policy, d("2031-12-31")), d("2026-01-01"));
        assert!(d("2026-03-03") >= files_kept_from(&policy, d("2031-12-31")));
        assert!(d("2026-03-03") < files_kept_from(&policy, d("2032-01-02")));
        assert!(d("2026-12-31") < files_kept_from(&policy, d("2032-01-02")));
        assert!(d("2027-01-01") >= files_kept_from(&policy, d("2032-01-02")));
    }
}
