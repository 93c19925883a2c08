//! Tasks for the caseworkers of an office: what the service cannot decide by itself.
//!
//! | kind | raised when |
//! |---|---|
//! | `review_deferral` | a deferral's review date has come |
//! | `meeting_missed` | the debtor did not come to a meeting: follow up |
//! | `meeting_outcome` | a meeting's day has passed without an outcome recorded |
//! | `plan_defaulted` | a plan was broken: dunning resumes, contact the debtor |
//! | `plan_balance_remaining` | every instalment is paid but something is still open: revise |
//! | `plan_coverage_changed` | a covered claim was transferred to state collection: revise |
//! | `caseworker_alert` | dunning alerted the social caseworker: answer (meeting, agreement, release) |
//! | `caseworker_alert_escalated` | for a supervisor: an alert is unanswered after the longest wait |
//!
//! A task's id is derived from its kind, subject and occasion, so a repeated day or a
//! redelivered message raises it once.

use restance_kernel::BusinessDate;
use sea_orm::{DatabaseTransaction, DbErr};
use serde_json::json;

use crate::context::{Actor, Failure, Refusal};
use crate::domain::ids;
use crate::metrics;
use crate::store::queries::{self, AuditEntry, TaskRow};

/// A deferral's review date has come.
pub const REVIEW_DEFERRAL: &str = "review_deferral";
/// The debtor missed a meeting.
pub const MEETING_MISSED: &str = "meeting_missed";
/// A meeting's outcome is not recorded.
pub const MEETING_OUTCOME: &str = "meeting_outcome";
/// A plan was defaulted.
pub const PLAN_DEFAULTED: &str = "plan_defaulted";
/// Every instalment paid, something still open.
pub const PLAN_BALANCE_REMAINING: &str = "plan_balance_remaining";
/// A covered claim left for state collection.
pub const PLAN_COVERAGE_CHANGED: &str = "plan_coverage_changed";

/// Dunning alerted the social caseworker (`dunning.caseworker.alerted.v1`).
pub const CASEWORKER_ALERT: &str = "caseworker_alert";
/// An alert unanswered after `[agreements.alerts] caseworker_answer_days`: for a supervisor.
pub const CASEWORKER_ALERT_ESCALATED: &str = "caseworker_alert_escalated";

/// Every kind, for the API's filter.
pub const KINDS: &[&str] = &[
    REVIEW_DEFERRAL,
    MEETING_MISSED,
    MEETING_OUTCOME,
    PLAN_DEFAULTED,
    PLAN_BALANCE_REMAINING,
    PLAN_COVERAGE_CHANGED,
    CASEWORKER_ALERT,
    CASEWORKER_ALERT_ESCALATED,
];

/// A task to raise.
#[derive(Debug, Clone)]
pub struct NewTask<'a> {
    /// One of the kinds above.
    pub kind: &'static str,
    /// Municipality.
    pub municipality: &'a str,
    /// The office whose caseworkers see it.
    pub office: &'a str,
    /// The debtor.
    pub debtor_id: &'a str,
    /// The plan, deferral or meeting.
    pub subject: &'a str,
    /// What makes it unique beside kind and subject (a revision, a claim; may be empty).
    pub occasion: &'a str,
    /// When it should be done.
    pub due_date: BusinessDate,
    /// What to do, in a line without personal data.
    pub text: String,
}

/// Raises a task once; returns whether it is new.
pub async fn raise(
    tx: &DatabaseTransaction,
    task: NewTask<'_>,
    today: BusinessDate,
) -> Result<bool, DbErr> {
    let row = TaskRow {
        task_id: ids::task(task.kind, task.subject, task.occasion),
        kind: task.kind.to_owned(),
        municipality: task.municipality.to_owned(),
        office: task.office.to_owned(),
        debtor_id: task.debtor_id.to_owned(),
        subject: task.subject.to_owned(),
        due_date: task.due_date,
        text: task.text,
        state: "open".into(),
        created_date: today,
        done_by: None,
        done_at: None,
    };
    let new = queries::insert_task_if_new(tx, &row).await?;
    if new {
        let after = serde_json::to_value(&row).unwrap_or(json!(null));
        queries::audit(
            tx,
            AuditEntry {
                caller: "system",
                role: "system",
                action: "raise_task",
                entity: &format!("task:{}", row.task_id),
                outcome: "done",
                before: None,
                after: Some(&after),
                detail: &format!("{} for {}", row.kind, row.subject),
            },
        )
        .await?;
        metrics::task_raised(task.kind);
    }
    Ok(new)
}

/// `POST /api/v1/tasks/{id}/done`.
pub async fn done(tx: &DatabaseTransaction, actor: &Actor, id: &str) -> Result<TaskRow, Failure> {
    let Some(task) = queries::lock_task(tx, id).await? else {
        return Err(Failure::Refused(Refusal::not_found(format!(
            "no task {id}"
        ))));
    };
    if task.state != "open" {
        return Err(Failure::Refused(Refusal::conflict(format!(
            "task {id} is already done"
        ))));
    }
    queries::complete_task(tx, id, &actor.name).await?;
    let after = queries::lock_task(tx, id)
        .await?
        .ok_or_else(|| Failure::Refused(Refusal::not_found(format!("no task {id}"))))?;
    let before_json = serde_json::to_value(&task).unwrap_or(json!(null));
    let after_json = serde_json::to_value(&after).unwrap_or(json!(null));
    queries::audit(
        tx,
        AuditEntry {
            caller: &actor.name,
            role: &actor.role,
            action: "complete_task",
            entity: &format!("task:{id}"),
            outcome: "done",
            before: Some(&before_json),
            after: Some(&after_json),
            detail: &task.kind,
        },
    )
    .await?;
    metrics::task_done();
    Ok(after)
}
