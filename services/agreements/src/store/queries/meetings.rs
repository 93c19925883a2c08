//! Meetings.

use chrono::{DateTime, Utc};
use restance_kernel::{BusinessDate, Language};
use restance_store::{date, get_date, get_opt_date, stmt, value_rows};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Value};
use serde::{Deserialize, Serialize};

use super::{get_bool, json, opt_date, parse};
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

const MEETING_COLUMNS: &str = "meeting_id, municipality, debtor_id, office, starts_at, meeting_date, local_time, place, \
    with_social_caseworker, interpreter, claim_ids, state, reminder_date, reminder, overdue_raised, outcome_date, \
    result, note, created_by";

fn meeting_from(r: &QueryResult) -> Result<MeetingRow, DbErr> {
    let starts: String = r.try_get_by_index(4)?;
    let interpreter: Option<String> = r.try_get_by_index(9)?;
    let claims: String = r.try_get_by_index(10)?;
    let state: String = r.try_get_by_index(11)?;
    let reminder: String = r.try_get_by_index(13)?;
    let result: Option<String> = r.try_get_by_index(16)?;
    Ok(MeetingRow {
        meeting_id: r.try_get_by_index(0)?,
        municipality: r.try_get_by_index(1)?,
        debtor_id: r.try_get_by_index(2)?,
        office: r.try_get_by_index(3)?,
        starts_at: parse("meeting start", &starts, |s| {
            DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| t.with_timezone(&Utc))
        })?,
        date: get_date(r, 5)?,
        local_time: r.try_get_by_index(6)?,
        place: r.try_get_by_index(7)?,
        with_social_caseworker: get_bool(r, 8)?,
        interpreter: interpreter
            .map(|l| parse("interpreter language", &l, |s| s.parse().ok()))
            .transpose()?,
        claim_ids: serde_json::from_str(&claims)
            .map_err(|e| DbErr::Custom(format!("stored meeting claims unreadable: {e}")))?,
        state: parse("meeting state", &state, MeetingStatus::parse)?,
        reminder_date: get_date(r, 12)?,
        reminder: parse("reminder state", &reminder, ReminderState::parse)?,
        overdue_raised: get_bool(r, 14)?,
        outcome_date: get_opt_date(r, 15)?,
        result: result
            .map(|s| parse("meeting result", &s, MeetingResult::parse))
            .transpose()?,
        note: r.try_get_by_index(17)?,
        created_by: r.try_get_by_index(18)?,
    })
}

/// Stores a new meeting or writes back a changed one.
pub async fn save_meeting(db: &impl ConnectionTrait, m: &MeetingRow) -> Result<(), DbErr> {
    let sql = format!(
        "INSERT INTO meetings ({MEETING_COLUMNS}) VALUES {} ON CONFLICT (meeting_id) DO UPDATE SET \
         state = excluded.state, reminder = excluded.reminder, overdue_raised = excluded.overdue_raised, \
         outcome_date = excluded.outcome_date, result = excluded.result, note = excluded.note",
        value_rows(1, 19)
    );
    let values: Vec<Value> = vec![
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
    db.execute_raw(stmt(db, sql, values)).await?;
    Ok(())
}

/// One meeting.
pub async fn meeting(db: &impl ConnectionTrait, id: &str) -> Result<Option<MeetingRow>, DbErr> {
    let sql = format!("SELECT {MEETING_COLUMNS} FROM meetings WHERE meeting_id = $1");
    db.query_one_raw(stmt(db, sql, vec![id.into()]))
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
    let sql = format!(
        "SELECT {MEETING_COLUMNS} FROM meetings WHERE municipality = $1 AND debtor_id = $2 ORDER BY meeting_date DESC, meeting_id"
    );
    db.query_all_raw(stmt(db, sql, vec![municipality.into(), debtor_id.into()]))
        .await?
        .iter()
        .map(meeting_from)
        .collect()
}

/// Every scheduled meeting.
pub async fn scheduled_meetings(db: &impl ConnectionTrait) -> Result<Vec<MeetingRow>, DbErr> {
    let sql = format!(
        "SELECT {MEETING_COLUMNS} FROM meetings WHERE state = 'scheduled' ORDER BY meeting_id"
    );
    db.query_all_raw(stmt(db, sql, vec![]))
        .await?
        .iter()
        .map(meeting_from)
        .collect()
}
