//! The audit trail.

use super::{col, json};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
use sea_orm::{ConnectionTrait, DbErr};
use serde::{Deserialize, Serialize};

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRow {
    /// Order of writing.
    pub seq: i64,
    /// When (wall clock).
    pub at: DateTime<Utc>,
    /// Who: the token's name (`caseworker#1`) or `system` for what the service did by itself.
    pub caller: String,
    /// The caller's role.
    pub role: String,
    /// What: `create_plan`, `revise_plan`, `plan_defaulted` …
    pub action: String,
    /// Which: `plan:<id>`, `deferral:<id>`, `meeting:<id>`, `task:<id>`.
    pub entity: String,
    /// `done` or `refused`.
    pub outcome: String,
    /// The entity before (absent for a new one).
    pub before: Option<serde_json::Value>,
    /// The entity after (absent for a refusal).
    pub after: Option<serde_json::Value>,
    /// A line: the reason of a refusal, the date of an automatic change.
    pub detail: String,
}

/// What an audit entry records.
#[derive(Debug, Clone, Copy)]
pub struct AuditEntry<'a> {
    /// Who.
    pub caller: &'a str,
    /// Their role.
    pub role: &'a str,
    /// What.
    pub action: &'a str,
    /// Which entity.
    pub entity: &'a str,
    /// `done` or `refused`.
    pub outcome: &'a str,
    /// Before.
    pub before: Option<&'a serde_json::Value>,
    /// After.
    pub after: Option<&'a serde_json::Value>,
    /// A line of detail (no personal data).
    pub detail: &'a str,
}

/// Appends to the audit trail.
pub async fn audit(db: &impl ConnectionTrait, e: AuditEntry<'_>) -> Result<(), DbErr> {
    let before = e.before.map(json).transpose()?;
    let after = e.after.map(json).transpose()?;
    let insert = Query::insert()
        .into_table("audit")
        .columns([
            "at",
            "caller",
            "role",
            "action",
            "entity",
            "outcome",
            "before_json",
            "after_json",
            "detail",
        ])
        .values_panic([
            Utc::now().into(),
            e.caller.into(),
            e.role.into(),
            e.action.into(),
            e.entity.into(),
            e.outcome.into(),
            before.into(),
            after.into(),
            e.detail.into(),
        ])
        .to_owned();
    db.execute(&insert).await?;
    Ok(())
}

/// Audit entries, newest first: optionally of one entity, before a sequence number.
pub async fn audit_entries(
    db: &impl ConnectionTrait,
    entity: Option<&str>,
    before_seq: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditRow>, DbErr> {
    let mut select = Query::select();
    select
        .columns([
            "seq",
            "at",
            "caller",
            "role",
            "action",
            "entity",
            "outcome",
            "before_json",
            "after_json",
            "detail",
        ])
        .from("audit");
    if let Some(e) = entity {
        select.and_where(Expr::col("entity").eq(e));
    }
    if let Some(s) = before_seq {
        select.and_where(Expr::col("seq").lt(s));
    }
    select
        .order_by("seq", Order::Desc)
        .limit(u64::try_from(limit).unwrap_or(0));
    db.query_all(&select)
        .await?
        .iter()
        .map(|r| {
            let read = |column: &str| -> Result<Option<serde_json::Value>, DbErr> {
                col::<Option<String>>(r, column)?
                    .map(|t| {
                        serde_json::from_str(&t).map_err(|e| {
                            DbErr::Custom(format!("stored audit JSON unreadable: {e}"))
                        })
                    })
                    .transpose()
            };
            Ok(AuditRow {
                seq: col(r, "seq")?,
                at: col(r, "at")?,
                caller: col(r, "caller")?,
                role: col(r, "role")?,
                action: col(r, "action")?,
                entity: col(r, "entity")?,
                outcome: col(r, "outcome")?,
                before: read("before_json")?,
                after: read("after_json")?,
                detail: col(r, "detail")?,
            })
        })
        .collect()
}
