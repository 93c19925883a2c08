//! Rendered documents (the PDFs).

use crate::domain::plan::DeliveryPlan;
use restance_contracts::messages::AddressProtection;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};

/// A rendered letter on disk.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct DocumentRow {
    /// Document id (a UUID).
    pub document_id: String,
    /// The notification it belongs to.
    pub notification_id: String,
    /// Path under the documents directory.
    pub path: String,
    /// SHA-256, lower-case hex.
    pub sha256: String,
    /// Pages.
    pub pages: i64,
}

/// Records a document (a re-render of the same letter keeps the first row).
pub async fn insert_document(
    db: &impl ConnectionTrait,
    d: &DocumentRow,
    now_ms: i64,
) -> Result<(), DbErr> {
    let upsert = Query::insert()
        .into_table("documents")
        .columns([
            "document_id",
            "notification_id",
            "path",
            "sha256",
            "pages",
            "created_ms",
        ])
        .values_panic([
            d.document_id.as_str().into(),
            d.notification_id.as_str().into(),
            d.path.as_str().into(),
            d.sha256.as_str().into(),
            d.pages.into(),
            now_ms.into(),
        ])
        .on_conflict(
            OnConflict::column("document_id")
                .update_columns(["sha256", "pages"])
                .to_owned(),
        )
        .to_owned();
    db.execute(&upsert).await.map(|_| ())
}

/// A document by id.
pub async fn document(db: &impl ConnectionTrait, id: &str) -> Result<Option<DocumentRow>, DbErr> {
    let select = Query::select()
        .columns(["document_id", "notification_id", "path", "sha256", "pages"])
        .from("documents")
        .and_where(Expr::col("document_id").eq(id))
        .to_owned();
    db.query_one(&select)
        .await?
        .map(|r| DocumentRow::from_query_result(&r, ""))
        .transpose()
}

/// The municipality a notification was requested for (a token's scope is checked against it).
pub async fn municipality_of(
    db: &impl ConnectionTrait,
    notification_id: &str,
) -> Result<Option<String>, DbErr> {
    let select = Query::select()
        .column("municipality")
        .from("notifications")
        .and_where(Expr::col("notification_id").eq(notification_id))
        .to_owned();
    db.query_one(&select)
        .await?
        .map(|r| r.try_get("", "municipality"))
        .transpose()
}

/// The address protection of a notification's letter recipient, from the letter delivery's
/// plan (what the letter was rendered for); `None` when the notification has no letter.
pub async fn letter_protection(
    db: &impl ConnectionTrait,
    notification_id: &str,
) -> Result<Option<AddressProtection>, DbErr> {
    let select = Query::select()
        .column("plan")
        .from("deliveries")
        .and_where(Expr::col("notification_id").eq(notification_id))
        .and_where(Expr::col("channel").eq("letter"))
        .to_owned();
    let Some(row) = db.query_one(&select).await? else {
        return Ok(None);
    };
    let plan: String = row.try_get("", "plan")?;
    let plan: DeliveryPlan = serde_json::from_str(&plan)
        .map_err(|e| DbErr::Custom(format!("a stored delivery plan cannot be read: {e}")))?;
    Ok(Some(plan.contact.protection))
}

/// Records that `caller` (`role`) read document `document_id` of a protected debtor.
pub async fn audit_protected_read(
    db: &impl ConnectionTrait,
    caller: &str,
    role: &str,
    document_id: &str,
    protection: AddressProtection,
) -> Result<(), DbErr> {
    let protection = serde_json::to_value(protection)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let target = format!("document:{document_id}");
    let detail = format!("address protection: {protection}");
    restance_runtime::audit::record_api_audit(
        db,
        restance_runtime::audit::ApiAuditRow {
            caller,
            role,
            action: "read_document",
            target: &target,
            outcome: "served",
            detail: &detail,
        },
    )
    .await
}
