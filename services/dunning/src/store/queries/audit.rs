//! The API audit trail.

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
    restance_runtime::audit::record_api_audit(
        db,
        restance_runtime::audit::ApiAuditRow {
            caller,
            role,
            action,
            target,
            outcome,
            detail,
        },
    )
    .await
}
