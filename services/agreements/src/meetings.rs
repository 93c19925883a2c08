//! Meetings (sættemøder): booked by a caseworker with an SMS confirmation and an invitation
//! letter at once, an SMS reminder on the business day before (seed 003), and an outcome.
//!
//! Decisions recorded here:
//! - the meeting's date is its local date in the municipality's time zone (the same zone the
//!   notifications service uses for SMS quiet hours: `restance_kernel::Country::time_zone`);
//!   it must be a business day of the municipality's country, on or after the business date;
//! - the place is the request's, else the office's configured place, else the municipality's
//!   address with the office's name;
//! - `agreements.meeting.scheduled.v1` names the claims when the request does; without claims
//!   the meeting is about the debtor's situation as a whole (dunning holds all of them);
//! - the reminder goes out once: its state is stored with the meeting in the transaction that
//!   asks for it, and its notification id is derived from the meeting id;
//! - an outcome is recorded on or after the meeting date; `held` and `missed` carry the meeting
//!   date (dunning resumes after it); a missed meeting raises a follow-up task; a meeting whose
//!   day passed without an outcome raises a task to record one.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use restance_bus::Effects;
use restance_contracts::messages::{AgreementScope, MeetingHeld, MeetingMissed, MeetingScheduled};
use restance_kernel::{BusinessCalendar, BusinessDate, Language, Municipality};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbErr};
use serde::Serialize;
use serde_json::Value;

use crate::config::LetterKind;
use crate::context::{Actor, Failure, Refusal, business_day, emit, lock_debtor, requested_claims};
use crate::domain::{
    MeetingResult, MeetingTime, ReminderState, ids, meeting::initial_reminder,
    meeting::reminder_due, meeting_time, reminder_date,
};
use crate::letters::{self, Addressee, MeetingLetter, templates};
use crate::state::Shared;
use crate::store::queries::{self, AuditEntry, ClaimRow, DebtorKey, MeetingRow, MeetingStatus};
use crate::{metrics, tasks};

/// A caseworker's booking.
#[derive(Debug, Clone)]
pub struct NewMeeting {
    /// Municipality.
    pub municipality: String,
    /// Debtor.
    pub debtor_id: String,
    /// The claims it is about (may be empty).
    pub claim_ids: Vec<String>,
    /// When it starts.
    pub at: DateTime<Utc>,
    /// The office holding it.
    pub office: String,
    /// The social caseworker takes part (daycare, family area).
    pub with_social_caseworker: bool,
    /// An interpreter for this language.
    pub interpreter: Option<Language>,
    /// Where, if not the office's usual place.
    pub place: Option<String>,
    /// The caseworker's note.
    pub note: Option<String>,
}

/// How a meeting went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It took place.
    Held,
    /// The debtor did not come.
    Missed,
}

/// A meeting as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct MeetingView {
    /// Its id.
    pub meeting_id: String,
    /// Municipality.
    pub municipality: String,
    /// Debtor.
    pub debtor_id: String,
    /// Office.
    pub office: String,
    /// Start (UTC).
    pub starts_at: DateTime<Utc>,
    /// Local date.
    pub date: BusinessDate,
    /// Local wall time.
    pub local_time: String,
    /// Where.
    pub place: String,
    /// The social caseworker takes part.
    pub with_social_caseworker: bool,
    /// Interpreter language.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interpreter_language: Option<Language>,
    /// The claims (empty: the debtor as a whole).
    pub claim_ids: Vec<String>,
    /// `scheduled`, `held`, `missed`.
    pub state: MeetingStatus,
    /// The reminder day.
    pub reminder_date: BusinessDate,
    /// `pending`, `sent`, `not_needed`.
    pub reminder: ReminderState,
    /// The recorded outcome's date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome_date: Option<BusinessDate>,
    /// How it went.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<MeetingResult>,
    /// The caseworker's note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Who booked it.
    pub created_by: String,
}

/// The meeting as the API shows it.
pub fn view(m: &MeetingRow) -> MeetingView {
    MeetingView {
        meeting_id: m.meeting_id.clone(),
        municipality: m.municipality.clone(),
        debtor_id: m.debtor_id.clone(),
        office: m.office.clone(),
        starts_at: m.starts_at,
        date: m.date,
        local_time: m.local_time.clone(),
        place: m.place.clone(),
        with_social_caseworker: m.with_social_caseworker,
        interpreter_language: m.interpreter,
        claim_ids: m.claim_ids.clone(),
        state: m.state,
        reminder_date: m.reminder_date,
        reminder: m.reminder,
        outcome_date: m.outcome_date,
        result: m.result,
        note: m.note.clone(),
        created_by: m.created_by.clone(),
    }
}

fn json(m: &MeetingRow) -> Value {
    serde_json::to_value(view(m)).unwrap_or(Value::Null)
}

fn addressee(m: &MeetingRow) -> Addressee<'_> {
    Addressee {
        municipality: &m.municipality,
        office: &m.office,
        debtor_id: &m.debtor_id,
        case_id: &m.meeting_id,
        claim_ids: m.claim_ids.clone(),
    }
}

/// `POST /api/v1/meetings`: the meeting, its event, the SMS confirmation and invitation letter.
pub async fn book(
    tx: &DatabaseTransaction,
    shared: &Shared,
    effects: &mut Effects,
    actor: &Actor,
    req: NewMeeting,
) -> Result<MeetingView, Failure> {
    let municipality = shared.municipality(&req.municipality)?;
    check_office_and_place(municipality, &req)?;
    lock_debtor(tx, &req.municipality, &req.debtor_id).await?;
    let day = business_day(tx).await?;
    let claims = if req.claim_ids.is_empty() {
        Vec::new()
    } else {
        requested_claims(tx, &req.municipality, &req.debtor_id, &req.claim_ids).await?
    };
    let calendar = municipality.calendar();
    let time = meeting_time(req.at, &municipality.country.time_zone());
    check_date(shared, municipality, &calendar, day, &time)?;
    let place = req.place.unwrap_or_else(|| {
        shared
            .config
            .default_place(&req.municipality, municipality, &req.office)
    });
    let reminder_on = reminder_date(time.date, &calendar);
    let row = MeetingRow {
        meeting_id: ids::new_id("mtg"),
        municipality: req.municipality.clone(),
        debtor_id: req.debtor_id.clone(),
        office: req.office.clone(),
        starts_at: time.starts_at,
        date: time.date,
        local_time: time.local.clone(),
        place,
        with_social_caseworker: req.with_social_caseworker,
        interpreter: req.interpreter,
        claim_ids: claims.iter().map(|c| c.claim_id.clone()).collect(),
        state: MeetingStatus::Scheduled,
        reminder_date: reminder_on,
        reminder: initial_reminder(reminder_on, day),
        overdue_raised: false,
        outcome_date: None,
        result: None,
        note: req.note,
        created_by: actor.name.clone(),
    };
    queries::save_meeting(tx, &row).await?;
    announce(shared, effects, municipality, &row, &time, &claims)?;
    queries::audit(
        tx,
        AuditEntry {
            caller: &actor.name,
            role: &actor.role,
            action: "book_meeting",
            entity: &format!("meeting:{}", row.meeting_id),
            outcome: "done",
            before: None,
            after: Some(&json(&row)),
            detail: &format!("{} at office {}", row.date, row.office),
        },
    )
    .await?;
    metrics::meeting_scheduled();
    Ok(view(&row))
}

/// A new meeting's office must be the municipality's, its place one line of text.
fn check_office_and_place(municipality: &Municipality, req: &NewMeeting) -> Result<(), Failure> {
    if !municipality.has_office(&req.office) {
        return Err(Failure::Refused(Refusal::not_found_at(
            "office",
            format!(
                "{} is not an office of municipality {}",
                req.office, req.municipality
            ),
        )));
    }
    if let Some(place) = &req.place
        && (place.trim().is_empty() || place.chars().any(char::is_control))
    {
        // The place is printed in letters and carried by meeting.scheduled: one line of text.
        return Err(Failure::Refused(Refusal::unprocessable(
            "place",
            "must be one line of text (not blank, no line breaks or control characters)",
        )));
    }
    Ok(())
}

/// A new meeting's local date: from the business date on, within the configured reach, on a
/// day the office is open.
fn check_date(
    shared: &Shared,
    municipality: &Municipality,
    calendar: &BusinessCalendar,
    day: BusinessDate,
    time: &MeetingTime,
) -> Result<(), Failure> {
    if time.date < day {
        return Err(Failure::Refused(Refusal::unprocessable(
            "at",
            format!(
                "the meeting's local date {} is before the business date {day}",
                time.date
            ),
        )));
    }
    let max = shared.config.meetings.max_days_ahead;
    if day.days_until(time.date) > i64::from(max) {
        return Err(Failure::Refused(Refusal::unprocessable(
            "at",
            format!(
                "the meeting's date {} is more than {max} days after the business date {day}",
                time.date
            ),
        )));
    }
    if !calendar.is_business_day(time.date) {
        return Err(Failure::Refused(Refusal::unprocessable(
            "at",
            format!(
                "{} is not a business day in {:?}: the office is closed",
                time.date, municipality.country
            ),
        )));
    }
    Ok(())
}

/// `agreements.meeting.scheduled.v1` and the confirmation letter of a new meeting.
fn announce(
    shared: &Shared,
    effects: &mut Effects,
    municipality: &Municipality,
    row: &MeetingRow,
    time: &MeetingTime,
    claims: &[ClaimRow],
) -> Result<(), Failure> {
    emit(
        effects,
        MeetingScheduled {
            meeting_id: row.meeting_id.clone(),
            scope: AgreementScope {
                municipality: row.municipality.clone(),
                debtor_id: row.debtor_id.clone(),
                claim_ids: row.claim_ids.clone(),
            },
            office: row.office.clone(),
            starts_at: row.starts_at,
            date: row.date,
            place: row.place.clone(),
            with_social_caseworker: row.with_social_caseworker,
            interpreter: row.interpreter,
        },
    )?;
    let refs: Vec<&ClaimRow> = claims.iter().collect();
    let data = letters::meeting_confirmation(
        &shared.catalog,
        municipality,
        &MeetingLetter {
            time,
            place: &row.place,
            with_social_caseworker: row.with_social_caseworker,
            interpreter: row.interpreter.is_some(),
            claims: &refs,
            currency: claims.first().map_or(municipality.currency, |c| c.currency),
            legal_basis: shared
                .config
                .legal_basis(&row.municipality, LetterKind::Meeting),
        },
    );
    emit(
        effects,
        letters::request(
            ids::meeting_confirmation(&row.meeting_id),
            templates::MEETING_CONFIRMATION,
            &addressee(row),
            data,
        ),
    )?;
    Ok(())
}

async fn lock_meeting(tx: &DatabaseTransaction, id: &str) -> Result<MeetingRow, Failure> {
    let Some(m) = queries::meeting(tx, id).await? else {
        return Err(Failure::Refused(Refusal::not_found(format!(
            "no meeting {id}"
        ))));
    };
    queries::lock_debtors(tx, &[(m.municipality.clone(), m.debtor_id.clone())]).await?;
    queries::meeting(tx, id)
        .await?
        .ok_or_else(|| Failure::Refused(Refusal::not_found(format!("no meeting {id}"))))
}

/// `POST /api/v1/meetings/{id}/outcome`: held or missed (a missed one raises a follow-up task).
pub async fn record_outcome(
    tx: &DatabaseTransaction,
    effects: &mut Effects,
    actor: &Actor,
    id: &str,
    outcome: Outcome,
    result: Option<MeetingResult>,
    note: Option<String>,
) -> Result<MeetingView, Failure> {
    let mut m = lock_meeting(tx, id).await?;
    if m.state != MeetingStatus::Scheduled {
        return Err(Failure::Refused(Refusal::conflict(format!(
            "meeting {id} is already recorded as {}",
            m.state.as_str()
        ))));
    }
    let day = business_day(tx).await?;
    if day < m.date {
        return Err(Failure::Refused(Refusal::conflict(format!(
            "meeting {id} is on {}: record its outcome on or after that day (the business date is {day})",
            m.date
        ))));
    }
    let before = json(&m);
    let scope = AgreementScope {
        municipality: m.municipality.clone(),
        debtor_id: m.debtor_id.clone(),
        claim_ids: m.claim_ids.clone(),
    };
    m.outcome_date = Some(m.date);
    m.result = result;
    if note.is_some() {
        m.note = note;
    }
    if m.reminder == ReminderState::Pending {
        m.reminder = ReminderState::NotNeeded;
    }
    match outcome {
        Outcome::Held => {
            m.state = MeetingStatus::Held;
            emit(
                effects,
                MeetingHeld {
                    meeting_id: m.meeting_id.clone(),
                    scope,
                    held_date: m.date,
                    outcome: result.map(|r| r.text().to_owned()),
                },
            )?;
        }
        Outcome::Missed => {
            m.state = MeetingStatus::Missed;
            emit(
                effects,
                MeetingMissed {
                    meeting_id: m.meeting_id.clone(),
                    scope,
                    date: m.date,
                },
            )?;
            tasks::raise(
                tx,
                tasks::NewTask {
                    kind: tasks::MEETING_MISSED,
                    municipality: &m.municipality,
                    office: &m.office,
                    debtor_id: &m.debtor_id,
                    subject: &m.meeting_id,
                    occasion: "",
                    due_date: day,
                    text: format!(
                        "The debtor did not come to meeting {} on {}: follow up (a new meeting, a letter, a call).",
                        m.meeting_id, m.date
                    ),
                },
                day,
            )
            .await?;
        }
    }
    queries::save_meeting(tx, &m).await?;
    // The "record the outcome" task is answered by recording it.
    let overdue = ids::task(tasks::MEETING_OUTCOME, &m.meeting_id, "");
    if let Some(task) = queries::lock_task(tx, &overdue).await?
        && task.state == "open"
    {
        queries::complete_task(tx, &overdue, &actor.name).await?;
    }
    queries::audit(
        tx,
        AuditEntry {
            caller: &actor.name,
            role: &actor.role,
            action: "record_meeting_outcome",
            entity: &format!("meeting:{id}"),
            outcome: "done",
            before: Some(&before),
            after: Some(&json(&m)),
            detail: m.state.as_str(),
        },
    )
    .await?;
    metrics::meeting_outcome(m.state.as_str());
    Ok(view(&m))
}

/// The business day's work for the scheduled meetings of the locked debtors: the SMS reminder
/// on the business day before (once), and a task when a meeting's day passed without an outcome.
pub async fn daily(
    tx: &DatabaseTransaction,
    shared: &Shared,
    effects: &mut Effects,
    locked: &BTreeSet<DebtorKey>,
    day: BusinessDate,
) -> Result<(), Failure> {
    for mut m in queries::scheduled_meetings(tx).await? {
        if !locked.contains(&(m.municipality.clone(), m.debtor_id.clone())) {
            continue;
        }
        let mut changed = false;
        if reminder_due(m.reminder, m.reminder_date, m.date, day) {
            let municipality = shared.municipality(&m.municipality)?;
            let data = letters::meeting_reminder(
                municipality,
                &m.local_time,
                &m.place,
                m.interpreter.is_some(),
                shared
                    .config
                    .legal_basis(&m.municipality, LetterKind::Meeting),
            );
            let notification_id = ids::meeting_reminder(&m.meeting_id);
            emit(
                effects,
                letters::request(
                    notification_id.clone(),
                    templates::MEETING_REMINDER,
                    &addressee(&m),
                    data,
                ),
            )?;
            m.reminder = ReminderState::Sent;
            changed = true;
            queries::audit(
                tx,
                AuditEntry {
                    caller: "system",
                    role: "system",
                    action: "meeting_reminder",
                    entity: &format!("meeting:{}", m.meeting_id),
                    outcome: "done",
                    before: None,
                    after: None,
                    detail: &format!("SMS reminder {notification_id} for {}", m.date),
                },
            )
            .await?;
            metrics::meeting_reminded();
        } else if m.reminder == ReminderState::Pending && day >= m.date {
            // The days before it were never opened: too late for a reminder.
            m.reminder = ReminderState::NotNeeded;
            changed = true;
        }
        if day > m.date && !m.overdue_raised {
            tasks::raise(
                tx,
                tasks::NewTask {
                    kind: tasks::MEETING_OUTCOME,
                    municipality: &m.municipality,
                    office: &m.office,
                    debtor_id: &m.debtor_id,
                    subject: &m.meeting_id,
                    occasion: "",
                    due_date: day,
                    text: format!(
                        "Record whether meeting {} on {} was held or missed: dunning holds the debtor's claims until then.",
                        m.meeting_id, m.date
                    ),
                },
                day,
            )
            .await?;
            m.overdue_raised = true;
            changed = true;
        }
        if changed {
            queries::save_meeting(tx, &m).await?;
        }
    }
    Ok(())
}

/// The meetings of a debtor as the API shows them.
pub async fn of_debtor(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
) -> Result<Vec<MeetingView>, DbErr> {
    Ok(queries::meetings_of_debtor(db, municipality, debtor_id)
        .await?
        .iter()
        .map(view)
        .collect())
}
