//! Each claim's dunning history.

use restance_kernel::BusinessDate;
use restance_store::{date, get_date, rows_per_statement, stmt, value_rows};
use sea_orm::{ConnectionTrait, DbErr};
use serde::Serialize;

/// One entry of a claim's dunning history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryRow {
    /// The claim.
    pub claim_id: String,
    /// The natural key within the claim (`step:2`, `fee:<id>`, `interest:<id>` …).
    pub entry_key: String,
    /// The business date.
    pub business_date: BusinessDate,
    /// Order within the day.
    pub position: i64,
    /// The action's name (`reminder`, `fee`, `hold_started` …).
    pub action: String,
    /// The policy step, if any.
    pub step: Option<u32>,
    /// `policy@version`, or `-` for events that are not a policy decision.
    pub policy: String,
    /// Why.
    pub reason: String,
    /// The action as JSON (amounts, ids, letter).
    pub detail: String,
}

const HISTORY_COLS: usize = 9;

/// Appends history entries; an entry whose natural key exists is left as it is.
pub async fn insert_history(db: &impl ConnectionTrait, rows: &[HistoryRow]) -> Result<(), DbErr> {
    for chunk in rows.chunks(rows_per_statement(HISTORY_COLS)) {
        let sql = format!(
            "INSERT INTO history (claim_id, entry_key, business_date, position, action, step, policy, reason, detail) \
             VALUES {} ON CONFLICT (claim_id, entry_key) DO NOTHING",
            value_rows(chunk.len(), HISTORY_COLS)
        );
        let mut values = Vec::with_capacity(chunk.len() * HISTORY_COLS);
        for h in chunk {
            values.push(h.claim_id.clone().into());
            values.push(h.entry_key.clone().into());
            values.push(date(h.business_date));
            values.push(h.position.into());
            values.push(h.action.clone().into());
            values.push(h.step.map(i64::from).into());
            values.push(h.policy.clone().into());
            values.push(h.reason.clone().into());
            values.push(h.detail.clone().into());
        }
        db.execute_raw(stmt(db, sql, values)).await?;
    }
    Ok(())
}

/// A claim's history, oldest first.
pub async fn history_of(
    db: &impl ConnectionTrait,
    claim_id: &str,
) -> Result<Vec<HistoryRow>, DbErr> {
    let rows = db
        .query_all_raw(stmt(
            db,
            "SELECT claim_id, entry_key, business_date, position, action, step, policy, reason, detail \
             FROM history WHERE claim_id = $1 ORDER BY business_date, position, entry_key",
            vec![claim_id.into()],
        ))
        .await?;
    rows.iter()
        .map(|r| {
            Ok(HistoryRow {
                claim_id: r.try_get_by_index(0)?,
                entry_key: r.try_get_by_index(1)?,
                business_date: get_date(r, 2)?,
                position: r.try_get_by_index(3)?,
                action: r.try_get_by_index(4)?,
                step: r
                    .try_get_by_index::<Option<i64>>(5)?
                    .and_then(|s| u32::try_from(s).ok()),
                policy: r.try_get_by_index(6)?,
                reason: r.try_get_by_index(7)?,
                detail: r.try_get_by_index(8)?,
            })
        })
        .collect()
}
