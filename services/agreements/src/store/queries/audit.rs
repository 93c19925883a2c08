//! The audit trail.

use super::json;
use chrono::{DateTime, Utc};
use restance_store::stmt;
use sea_orm::{ConnectionTrait, DbErr, Value};
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
    db.execute_raw(stmt(
        db,
        "INSERT INTO audit (at, caller, role, action, entity, outcome, before_json, after_json, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        vec![
            Utc::now().into(),
            e.caller.into(),
            e.role.into(),
            e.action.into(),
            e.entity.into(),
            e.outcome.into(),
            before.into(),
            after.into(),
            e.detail.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Audit entries, newest first: optionally of one entity, before a sequence number.
pub async fn audit_entries(
    db: &impl ConnectionTrait,
    entity: Option<&str>,
    before_seq: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditRow>, DbErr> {
    let mut clauses = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    if let Some(e) = entity {
        values.push(e.into());
        clauses.push(format!("entity = ${}", values.len()));
    }
    if let Some(s) = before_seq {
        values.push(s.into());
        clauses.push(format!("seq < ${}", values.len()));
    }
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", clauses.join(" AND "))
    };
    values.push(limit.into());
    let sql = format!(
        "SELECT seq, at, caller, role, action, entity, outcome, before_json, after_json, detail FROM audit{filter} \
         ORDER BY seq DESC LIMIT ${}",
        values.len()
    );
    db.query_all_raw(stmt(db, sql, values))
        .await?
        .iter()
        .map(|r| {
            let before: Option<String> = r.try_get_by_index(7)?;
            let after: Option<String> = r.try_get_by_index(8)?;
            let read = |t: Option<String>| -> Result<Option<serde_json::Value>, DbErr> {
                t.map(|t| {
                    serde_json::from_str(&t)
                        .map_err(|e| DbErr::Custom(format!("stored audit JSON unreadable: {e}")))
                })
                .transpose()
            };
            Ok(AuditRow {
                seq: r.try_get_by_index(0)?,
                at: r.try_get_by_index(1)?,
                caller: r.try_get_by_index(2)?,
                role: r.try_get_by_index(3)?,
                action: r.try_get_by_index(4)?,
                entity: r.try_get_by_index(5)?,
                outcome: r.try_get_by_index(6)?,
                before: read(before)?,
                after: read(after)?,
                detail: r.try_get_by_index(9)?,
            })
        })
        .collect()
}
