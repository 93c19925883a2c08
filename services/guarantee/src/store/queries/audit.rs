//! The API audit trail (`api_audit`, append-only): who read which guarantee, and — once the
//! API writes — who did what.

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
