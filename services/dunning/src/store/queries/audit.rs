//! The API audit trail.

use chrono::Utc;
use restance_store::stmt;
use sea_orm::{ConnectionTrait, DbErr};

/// Appends to the API audit trail (who, what, when, outcome). `detail` must not hold personal
/// data.
pub async fn audit(
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
        "INSERT INTO api_audit (at, caller, role, action, target, outcome, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
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
    .await?;
    Ok(())
}
