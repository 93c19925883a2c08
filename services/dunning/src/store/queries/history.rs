//! Each claim's dunning history.

use chrono::NaiveDate;
use restance_kernel::BusinessDate;
use restance_store::{date, rows_per_statement, stmt, value_rows};
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};
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
        // Hand-written: bench-dunning's daily run records every decision of its 1,000,000 claims
        // here, in multi-row statements of up to 3,333 rows; the text is built once per chunk
        // from `value_rows`.
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
    #[derive(FromQueryResult)]
    struct Record {
        claim_id: String,
        entry_key: String,
        business_date: NaiveDate,
        position: i64,
        action: String,
        step: Option<i64>,
        policy: String,
        reason: String,
        detail: String,
    }
    let select = Query::select()
        .columns([
            "claim_id",
            "entry_key",
            "business_date",
            "position",
            "action",
            "step",
            "policy",
            "reason",
            "detail",
        ])
        .from("history")
        .and_where(Expr::col("claim_id").eq(claim_id))
        .order_by("business_date", Order::Asc)
        .order_by("position", Order::Asc)
        .order_by("entry_key", Order::Asc)
        .to_owned();
    db.query_all(&select)
        .await?
        .iter()
        .map(|row| {
            let r = Record::from_query_result(row, "")?;
            Ok(HistoryRow {
                claim_id: r.claim_id,
                entry_key: r.entry_key,
                business_date: r.business_date.into(),
                position: r.position,
                action: r.action,
                step: r.step.and_then(|s| u32::try_from(s).ok()),
                policy: r.policy,
                reason: r.reason,
                detail: r.detail,
            })
        })
        .collect()
}
