//! Meetings.

use chrono::{DateTime, Utc};
use restance_kernel::{BusinessDate, Language};
use restance_store::date;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Value};
use serde::{Deserialize, Serialize};

use super::{col, get_date, get_opt_date, json, opt_date, parse};
use crate::domain::{MeetingResult, ReminderState};

/// Where a meeting stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeetingStatus {
    /// Booked.
    Scheduled,
    /// It took place.
    Held,
    /// The debtor did not come.
    Missed,
}

impl MeetingStatus {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            MeetingStatus::Scheduled => "scheduled",
            MeetingStatus::Held => "held",
            MeetingStatus::Missed => "missed",
        }
    }

    fn parse(s: &str) -> Option<MeetingStatus> {
        Some(match s {
            "scheduled" => MeetingStatus::Scheduled,
            "held" => MeetingStatus::Held,
            "missed" => MeetingStatus::Missed,
            _ => return None,
        })
    }
}

/// A meeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingRow {
    /// Its id.
    pub meeting_id: String,
    /// Municipality.
    pub municipality: String,
    /// Debtor.
    pub debtor_id: String,
    /// The office holding it.
    pub office: String,
    /// When it starts.
    pub starts_at: DateTime<Utc>,
    /// Its local date.
    pub date: BusinessDate,
    /// Local wall time, `2026-12-15T09:30`.
    pub local_time: String,
    /// Where.
    pub place: String,
    /// The social caseworker takes part.
    pub with_social_caseworker: bool,
    /// An interpreter for this language.
    pub interpreter: Option<Language>,
    /// The claims it is about (empty: the debtor's situation as a whole).
    pub claim_ids: Vec<String>,
    /// Scheduled, held, missed.
    pub state: MeetingStatus,
    /// The business day the SMS reminder goes out.
    pub reminder_date: BusinessDate,
    /// Whether it went out.
    pub reminder: ReminderState,
    /// The "record the outcome" task was raised.
    pub overdue_raised: bool,
    /// When the outcome was recorded for.
    pub outcome_date: Option<BusinessDate>,
    /// How it went.
    pub result: Option<MeetingResult>,
    /// The caseworker's note.
    pub note: Option<String>,
    /// Who booked it.
    pub created_by: String,
}

const MEETING_COLUMNS: [&str; 19] = [
    "meeting_id",
    "municipality",
    "debtor_id",
    "office",
    "starts_at",
    "meeting_date",
    "local_time",
    "place",
    "with_social_caseworker",
    "interpreter",
    "claim_ids",
    "state",
    "reminder_date",
    "reminder",
    "overdue_raised",
    "outcome_date",
    "result",
    "note",
    "created_by",
];

fn meeting_from(r: &QueryResult) -> Result<MeetingRow, DbErr> {
    let starts: String = col(r, "starts_at")?;
    let interpreter: Option<String> = col(r, "interpreter")?;
    let claims: String = col(r, "claim_ids")?;
    let state: String = col(r, "state")?;
    let reminder: String = col(r, "reminder")?;
    let result: Option<String> = col(r, "result")?;
    Ok(MeetingRow {
        meeting_id: col(r, "meeting_id")?,
        municipality: col(r, "municipality")?,
        debtor_id: col(r, "debtor_id")?,
        office: col(r, "office")?,
        starts_at: parse("meeting start", &starts, |s| {
            DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| t.with_timezone(&Utc))
        })?,
        date: get_date(r, "meeting_date")?,
        local_time: col(r, "local_time")?,
        place: col(r, "place")?,
        with_social_caseworker: col(r, "with_social_caseworker")?,
        interpreter: interpreter
            .map(|l| parse("interpreter language", &l, |s| s.parse().ok()))
            .transpose()?,
        claim_ids: serde_json::from_str(&claims)
            .map_err(|e| DbErr::Custom(format!("stored meeting claims unreadable: {e}")))?,
        state: parse("meeting state", &state, MeetingStatus::parse)?,
        reminder_date: get_date(r, "reminder_date")?,
        reminder: parse("reminder state", &reminder, ReminderState::parse)?,
        overdue_raised: col(r, "overdue_raised")?,
        outcome_date: get_opt_date(r, "outcome_date")?,
        result: result
            .map(|s| parse("meeting result", &s, MeetingResult::parse))
            .transpose()?,
        note: col(r, "note")?,
        created_by: col(r, "created_by")?,
    })
}

/// `SELECT` the meeting columns `FROM meetings`.
fn select_meetings() -> SelectStatement {
    Query::select()
        .columns(MEETING_COLUMNS)
        .from("meetings")
        .to_owned()
}

/// Stores a new meeting or writes back a changed one.
pub async fn save_meeting(db: &impl ConnectionTrait, m: &MeetingRow) -> Result<(), DbErr> {
    let values: [Value; 19] = [
        m.meeting_id.clone().into(),
        m.municipality.clone().into(),
        m.debtor_id.clone().into(),
        m.office.clone().into(),
        m.starts_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            .into(),
        date(m.date),
        m.local_time.clone().into(),
        m.place.clone().into(),
        m.with_social_caseworker.into(),
        m.interpreter.map(|l| l.code().to_owned()).into(),
        json(&m.claim_ids)?.into(),
        m.state.as_str().into(),
        date(m.reminder_date),
        m.reminder.as_str().into(),
        m.overdue_raised.into(),
        opt_date(m.outcome_date),
        m.result.map(|r| r.as_str().to_owned()).into(),
        m.note.clone().into(),
        m.created_by.clone().into(),
    ];
    let insert = Query::insert()
        .into_table("meetings")
        .columns(MEETING_COLUMNS)
        .values_panic(values.map(Expr::from))
        .on_conflict(
            OnConflict::column("meeting_id")
                .update_columns([
                    "state",
                    "reminder",
                    "overdue_raised",
                    "outcome_date",
                    "result",
                    "note",
                ])
                .to_owned(),
        )
        .to_owned();
    db.execute(&insert).await?;
    Ok(())
}

/// One meeting.
pub async fn meeting(db: &impl ConnectionTrait, id: &str) -> Result<Option<MeetingRow>, DbErr> {
    let select = select_meetings()
        .and_where(Expr::col("meeting_id").eq(id))
        .to_owned();
    db.query_one(&select)
        .await?
        .as_ref()
        .map(meeting_from)
        .transpose()
}

/// A debtor's meetings, newest first.
pub async fn meetings_of_debtor(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
) -> Result<Vec<MeetingRow>, DbErr> {
    let select = select_meetings()
        .and_where(Expr::col("municipality").eq(municipality))
        .and_where(Expr::col("debtor_id").eq(debtor_id))
        .order_by("meeting_date", Order::Desc)
        .order_by("meeting_id", Order::Asc)
        .to_owned();
    db.query_all(&select)
        .await?
        .iter()
        .map(meeting_from)
        .collect()
}

/// Every scheduled meeting.
pub async fn scheduled_meetings(db: &impl ConnectionTrait) -> Result<Vec<MeetingRow>, DbErr> {
    let select = select_meetings()
        .and_where(Expr::col("state").eq("scheduled"))
        .order_by("meeting_id", Order::Asc)
        .to_owned();
    db.query_all(&select)
        .await?
        .iter()
        .map(meeting_from)
        .collect()
}
