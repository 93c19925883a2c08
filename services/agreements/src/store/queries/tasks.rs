//! Caseworkers' tasks.

use chrono::{DateTime, Utc};
use restance_kernel::BusinessDate;
use restance_store::{date, get_date, is_postgres, stmt, value_rows};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Value};
use serde::{Deserialize, Serialize};

/// A task for a caseworker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRow {
    /// Deterministic per kind and subject.
    pub task_id: String,
    /// `review_deferral`, `meeting_missed`, `meeting_outcome`, `plan_defaulted`,
    /// `plan_balance_remaining`, `plan_coverage_changed`.
    pub kind: String,
    /// Municipality.
    pub municipality: String,
    /// The office whose caseworkers see it.
    pub office: String,
    /// The debtor.
    pub debtor_id: String,
    /// The plan, deferral or meeting it is about.
    pub subject: String,
    /// When it should be done.
    pub due_date: BusinessDate,
    /// What to do (no personal data).
    pub text: String,
    /// `open` or `done`.
    pub state: String,
    /// The business date it was raised.
    pub created_date: BusinessDate,
    /// Who marked it done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_by: Option<String>,
    /// When (wall clock, for the audit trail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_at: Option<DateTime<Utc>>,
}

const TASK_COLUMNS: &str = "task_id, kind, municipality, office, debtor_id, subject, due_date, text, state, \
    created_date, done_by, done_at";

fn task_from(r: &QueryResult) -> Result<TaskRow, DbErr> {
    Ok(TaskRow {
        task_id: r.try_get_by_index(0)?,
        kind: r.try_get_by_index(1)?,
        municipality: r.try_get_by_index(2)?,
        office: r.try_get_by_index(3)?,
        debtor_id: r.try_get_by_index(4)?,
        subject: r.try_get_by_index(5)?,
        due_date: get_date(r, 6)?,
        text: r.try_get_by_index(7)?,
        state: r.try_get_by_index(8)?,
        created_date: get_date(r, 9)?,
        done_by: r.try_get_by_index(10)?,
        done_at: r.try_get_by_index(11)?,
    })
}

/// Raises a task unless it exists; `true` when it is new.
pub async fn insert_task_if_new(db: &impl ConnectionTrait, t: &TaskRow) -> Result<bool, DbErr> {
    let sql = format!(
        "INSERT INTO tasks ({TASK_COLUMNS}) VALUES {} ON CONFLICT (task_id) DO NOTHING",
        value_rows(1, 12)
    );
    let values: Vec<Value> = vec![
        t.task_id.clone().into(),
        t.kind.clone().into(),
        t.municipality.clone().into(),
        t.office.clone().into(),
        t.debtor_id.clone().into(),
        t.subject.clone().into(),
        date(t.due_date),
        t.text.clone().into(),
        t.state.clone().into(),
        date(t.created_date),
        t.done_by.clone().into(),
        t.done_at.into(),
    ];
    Ok(db.execute_raw(stmt(db, sql, values)).await?.rows_affected() == 1)
}

/// One task, locked on PostgreSQL for the rest of the transaction.
pub async fn lock_task(db: &impl ConnectionTrait, id: &str) -> Result<Option<TaskRow>, DbErr> {
    let lock = if is_postgres(db) { " FOR UPDATE" } else { "" };
    let sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE task_id = $1{lock}");
    db.query_one_raw(stmt(db, sql, vec![id.into()]))
        .await?
        .as_ref()
        .map(task_from)
        .transpose()
}

/// Marks a task done.
pub async fn complete_task(db: &impl ConnectionTrait, id: &str, by: &str) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "UPDATE tasks SET state = 'done', done_by = $2, done_at = $3 WHERE task_id = $1",
        vec![id.into(), by.into(), Utc::now().into()],
    ))
    .await?;
    Ok(())
}

/// Which tasks to list.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    /// Only this municipality.
    pub municipality: Option<String>,
    /// Only this office.
    pub office: Option<String>,
    /// Only this debtor id (with `municipality`: that municipality's debtor).
    pub debtor_id: Option<String>,
    /// `open` or `done`.
    pub state: Option<String>,
    /// At most this many.
    pub limit: i64,
    /// Only these municipalities (a token's scope); `None`: every one.
    pub within: Option<Vec<String>>,
}

/// Tasks, by due date.
pub async fn tasks(db: &impl ConnectionTrait, f: &TaskFilter) -> Result<Vec<TaskRow>, DbErr> {
    let mut clauses = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    let mut add = |clause: &str, value: String| {
        values.push(value.into());
        clauses.push(format!("{clause} = ${}", values.len()));
    };
    if let Some(m) = &f.municipality {
        add("municipality", m.clone());
    }
    if let Some(o) = &f.office {
        add("office", o.clone());
    }
    if let Some(d) = &f.debtor_id {
        add("debtor_id", d.clone());
    }
    if let Some(s) = &f.state {
        add("state", s.clone());
    }
    match f.within.as_deref() {
        Some([]) => return Ok(Vec::new()),
        Some(codes) => {
            let first = values.len() + 1;
            values.extend(codes.iter().map(|c| Value::from(c.as_str())));
            clauses.push(format!(
                "municipality IN ({})",
                restance_store::placeholder_list(first, codes.len())
            ));
        }
        None => {}
    }
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", clauses.join(" AND "))
    };
    values.push(f.limit.into());
    let sql = format!(
        "SELECT {TASK_COLUMNS} FROM tasks{filter} ORDER BY due_date, task_id LIMIT ${}",
        values.len()
    );
    db.query_all_raw(stmt(db, sql, values))
        .await?
        .iter()
        .map(task_from)
        .collect()
}

/// Open tasks (for the gauge).
pub async fn open_task_count(db: &impl ConnectionTrait) -> Result<i64, DbErr> {
    let row = db
        .query_one_raw(stmt(
            db,
            "SELECT COUNT(*) FROM tasks WHERE state = 'open'",
            vec![],
        ))
        .await?;
    match row {
        Some(r) => r.try_get_by_index::<i64>(0),
        None => Ok(0),
    }
}

/// Marks every open task about `subject` done (an alert answered closes its tasks).
pub async fn complete_tasks_of(
    db: &impl ConnectionTrait,
    subject: &str,
    by: &str,
) -> Result<u64, DbErr> {
    Ok(db
        .execute_raw(stmt(
            db,
            "UPDATE tasks SET state = 'done', done_by = $2, done_at = $3 \
             WHERE subject = $1 AND state = 'open'",
            vec![subject.into(), by.into(), Utc::now().into()],
        ))
        .await?
        .rows_affected())
}
