//! The API audit trail (`api_audit`, append-only): who read which guarantee, and — once the
//! API writes — who did what.

use chrono::Utc;
use restance_store::stmt;
use sea_orm::{ConnectionTrait, DbErr};

/// Appends one row (who, what, on what, the outcome, when). `detail` must not hold personal
/// data.
pub async fn record(
    db: &impl ConnectionTrait,
    caller: &str,
    role: &str,
    action: &str,
    target: &str,
    outcome: &str,
    detail: &str,
) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "INSERT INTO api_audit (at, caller, role, action, target, outcome, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        vec![
            Utc::now().into(),
            caller.into(),
            role.into(),
            action.into(),
            target.into(),
            outcome.into(),
            detail.into(),
        ],
    ))
    .await
    .map(|_| ())
}
