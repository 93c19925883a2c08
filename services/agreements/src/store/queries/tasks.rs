//! Caseworkers' tasks.

use chrono::{DateTime, Utc};
use restance_kernel::BusinessDate;
use restance_store::date;
use sea_orm::sea_query::{
    Asterisk, Expr, ExprTrait, LockType, OnConflict, Order, Query, SelectStatement,
};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Value};

use super::{col, get_date};
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

const TASK_COLUMNS: [&str; 12] = [
    "task_id",
    "kind",
    "municipality",
    "office",
    "debtor_id",
    "subject",
    "due_date",
    "text",
    "state",
    "created_date",
    "done_by",
    "done_at",
];

fn task_from(r: &QueryResult) -> Result<TaskRow, DbErr> {
    Ok(TaskRow {
        task_id: col(r, "task_id")?,
        kind: col(r, "kind")?,
        municipality: col(r, "municipality")?,
        office: col(r, "office")?,
        debtor_id: col(r, "debtor_id")?,
        subject: col(r, "subject")?,
        due_date: get_date(r, "due_date")?,
        text: col(r, "text")?,
        state: col(r, "state")?,
        created_date: get_date(r, "created_date")?,
        done_by: col(r, "done_by")?,
        done_at: col(r, "done_at")?,
    })
}

/// `SELECT` the task columns `FROM tasks`.
fn select_tasks() -> SelectStatement {
    Query::select()
        .columns(TASK_COLUMNS)
        .from("tasks")
        .to_owned()
}

/// Raises a task unless it exists; `true` when it is new.
pub async fn insert_task_if_new(db: &impl ConnectionTrait, t: &TaskRow) -> Result<bool, DbErr> {
    let values: [Value; 12] = [
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
    let insert = Query::insert()
        .into_table("tasks")
        .columns(TASK_COLUMNS)
        .values_panic(values.map(Expr::from))
        .on_conflict(OnConflict::column("task_id").do_nothing().to_owned())
        .to_owned();
    Ok(db.execute(&insert).await?.rows_affected() == 1)
}

/// One task, locked on PostgreSQL for the rest of the transaction.
pub async fn lock_task(db: &impl ConnectionTrait, id: &str) -> Result<Option<TaskRow>, DbErr> {
    // FOR UPDATE on PostgreSQL; sea-query leaves it out on SQLite (one writer)
    let select = select_tasks()
        .and_where(Expr::col("task_id").eq(id))
        .lock(LockType::Update)
        .to_owned();
    db.query_one(&select)
        .await?
        .as_ref()
        .map(task_from)
        .transpose()
}

/// Marks a task done.
pub async fn complete_task(db: &impl ConnectionTrait, id: &str, by: &str) -> Result<(), DbErr> {
    let update = Query::update()
        .table("tasks")
        .value("state", "done")
        .value("done_by", by)
        .value("done_at", Utc::now())
        .and_where(Expr::col("task_id").eq(id))
        .to_owned();
    db.execute(&update).await?;
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
    let mut select = select_tasks();
    for (column, value) in [
        ("municipality", &f.municipality),
        ("office", &f.office),
        ("debtor_id", &f.debtor_id),
        ("state", &f.state),
    ] {
        if let Some(v) = value {
            select.and_where(Expr::col(column).eq(v.as_str()));
        }
    }
    match f.within.as_deref() {
        Some([]) => return Ok(Vec::new()),
        Some(codes) => {
            select.and_where(Expr::col("municipality").is_in(codes.iter().map(String::as_str)));
        }
        None => {}
    }
    select
        .order_by("due_date", Order::Asc)
        .order_by("task_id", Order::Asc)
        .limit(u64::try_from(f.limit).unwrap_or(0));
    db.query_all(&select).await?.iter().map(task_from).collect()
}

/// Open tasks (for the gauge).
pub async fn open_task_count(db: &impl ConnectionTrait) -> Result<i64, DbErr> {
    let select = Query::select()
        .expr_as(Expr::col(Asterisk).count(), "open")
        .from("tasks")
        .and_where(Expr::col("state").eq("open"))
        .to_owned();
    match db.query_one(&select).await? {
        Some(r) => col(&r, "open"),
        None => Ok(0),
    }
}

/// Marks every open task about `subject` done (an alert answered closes its tasks).
pub async fn complete_tasks_of(
    db: &impl ConnectionTrait,
    subject: &str,
    by: &str,
) -> Result<u64, DbErr> {
    let update = Query::update()
        .table("tasks")
        .value("state", "done")
        .value("done_by", by)
        .value("done_at", Utc::now())
        .and_where(Expr::col("subject").eq(subject))
        .and_where(Expr::col("state").eq("open"))
        .to_owned();
    Ok(db.execute(&update).await?.rows_affected())
}
