//! Rendered documents (the PDFs).

use crate::domain::plan::DeliveryPlan;
use restance_contracts::messages::AddressProtection;
use restance_store::stmt;
use sea_orm::{ConnectionTrait, DbErr};

/// A rendered letter on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    db.execute_raw(stmt(
        db,
        "INSERT INTO documents (document_id, notification_id, path, sha256, pages, created_ms) \
         VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (document_id) DO UPDATE SET sha256 = excluded.sha256, pages = excluded.pages",
        vec![
            d.document_id.clone().into(),
            d.notification_id.clone().into(),
            d.path.clone().into(),
            d.sha256.clone().into(),
            d.pages.into(),
            now_ms.into(),
        ],
    ))
    .await
    .map(|_| ())
}

/// A document by id.
pub async fn document(db: &impl ConnectionTrait, id: &str) -> Result<Option<DocumentRow>, DbErr> {
    db.query_one_raw(stmt(
        db,
        "SELECT document_id, notification_id, path, sha256, pages FROM documents WHERE document_id = $1",
        vec![id.into()],
    ))
    .await?
    .map(|r| {
        Ok(DocumentRow {
            document_id: r.try_get_by_index(0)?,
            notification_id: r.try_get_by_index(1)?,
            path: r.try_get_by_index(2)?,
            sha256: r.try_get_by_index(3)?,
            pages: r.try_get_by_index(4)?,
        })
    })
    .transpose()
}

/// The municipality a notification was requested for (a token's scope is checked against it).
pub async fn municipality_of(
    db: &impl ConnectionTrait,
    notification_id: &str,
) -> Result<Option<String>, DbErr> {
    db.query_one_raw(stmt(
        db,
        "SELECT municipality FROM notifications WHERE notification_id = $1",
        vec![notification_id.into()],
    ))
    .await?
    .map(|r| r.try_get_by_index(0))
    .transpose()
}

/// The address protection of a notification's letter recipient, from the letter delivery's
/// plan (what the letter was rendered for); `None` when the notification has no letter.
pub async fn letter_protection(
    db: &impl ConnectionTrait,
    notification_id: &str,
) -> Result<Option<AddressProtection>, DbErr> {
    let Some(row) = db
        .query_one_raw(stmt(
            db,
            "SELECT plan FROM deliveries WHERE notification_id = $1 AND channel = 'letter'",
            vec![notification_id.into()],
        ))
        .await?
    else {
        return Ok(None);
    };
    let plan: String = row.try_get_by_index(0)?;
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
