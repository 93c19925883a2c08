//! A counselling case and seed 003's routine as a state machine: every counsellor's step and
//! every business day are a method that checks the rule, changes the case and returns what to
//! send ([`Effect`]). Nothing here reads a clock or a database.
//!
//! ```text
//!  review ──reply/invitation──▶ documentation ──meeting──▶ meeting ──creditor──▶ mapping
//!    │ not suitable (guidance)        │                        │                    │
//!    ▼                                ▼                        ▼                    ▼
//!  closing (letters to creditors, power of attorney ends) ──2 months──▶ closed
//! ```
//! Without creditors a case closes the day its work ends. Inactivity ([`Watch`]) runs beside
//! the phases: no contact or documents for `quiet_days` → a call round; two calls nobody
//! answered → the contact SMS, then closed for no contact after `sms_close_days`; a call
//! answered in the round (contact but no documents) or a missed meeting → the warning of
//! closure, then closed for no follow-up after `warning_close_days`. Any contact stops it.

use chrono::NaiveDateTime;
use restance_contracts::messages::{Address, ApplicationChannel, CloseReason};
use restance_kernel::budget::Budget;
use restance_kernel::{BusinessCalendar, BusinessDate, Money};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::assignment::Routine;
use super::schedule::{DebtItem, DebtSchedule};
use super::timers::{ReminderDay, ReplyRefused, Timers, reply_allowed};

/// Where a case is in the routine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// The application is being reviewed (calls about unclarified matters).
    Review,
    /// The reply went; waiting for the documentation.
    Documentation,
    /// A meeting was offered.
    Meeting,
    /// Creditors were asked for the debt.
    Mapping,
    /// The work ended: the creditors were told, the power of attorney ended; the case stays open
    /// until `close_on`.
    Closing,
    /// Closed.
    Closed,
}

impl Phase {
    /// The stored word.
    pub const fn as_str(self) -> &'static str {
        match self {
            Phase::Review => "review",
            Phase::Documentation => "documentation",
            Phase::Meeting => "meeting",
            Phase::Mapping => "mapping",
            Phase::Closing => "closing",
            Phase::Closed => "closed",
        }
    }

    /// Every phase.
    pub const ALL: [Phase; 6] = [
        Phase::Review,
        Phase::Documentation,
        Phase::Meeting,
        Phase::Mapping,
        Phase::Closing,
        Phase::Closed,
    ];

    /// The phase named `s`.
    pub fn parse(s: &str) -> Option<Phase> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// Whether the counsellor still works on it.
    pub const fn is_active(self) -> bool {
        !matches!(self, Phase::Closing | Phase::Closed)
    }
}

/// What a call was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallPurpose {
    /// The first review (unclarified matters).
    Review,
    /// A call round after inactivity.
    Inactivity,
    /// Anything else (offering a meeting, a follow-up).
    Other,
}

/// How a call went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    /// The applicant answered.
    Answered,
    /// Nobody answered.
    NoAnswer,
    /// A voicemail message was left (nobody answered).
    Voicemail,
}

impl CallOutcome {
    /// Whether the applicant was reached.
    pub const fn reached(self) -> bool {
        matches!(self, CallOutcome::Answered)
    }
}

/// One call attempt, as logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallAttempt {
    /// The business day.
    pub on: BusinessDate,
    /// How it went.
    pub outcome: CallOutcome,
    /// Who called.
    pub by: String,
    /// What it was for.
    pub purpose: CallPurpose,
}

/// The inactivity watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Watch {
    /// Nothing due: the clock runs from the last contact.
    Quiet,
    /// No contact or documents for `quiet_days`: the counsellor calls (at least twice).
    CallsDue {
        /// Since when.
        since: BusinessDate,
    },
    /// Two calls nobody answered: the contact SMS went; the case closes on `close_on`.
    SmsSent {
        /// When it went.
        on: BusinessDate,
        /// When the case closes without word.
        close_on: BusinessDate,
    },
    /// The warning of closure went; the case closes on `close_on`.
    Warned {
        /// When it went.
        on: BusinessDate,
        /// When the case closes without word.
        close_on: BusinessDate,
    },
}

/// A meeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meeting {
    /// When (local time).
    pub at: NaiveDateTime,
    /// Where.
    pub place: String,
    /// The interpreter's language, when one is needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interpreter: Option<String>,
    /// The reminders sent.
    #[serde(default)]
    pub reminded: Vec<ReminderDay>,
    /// Held or missed, once recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<MeetingOutcome>,
}

/// How a meeting went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeetingOutcome {
    /// It took place.
    Held,
    /// The applicant did not come.
    Missed,
}

/// A creditor the counsellor asked for the debt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Creditor {
    /// Its name.
    pub name: String,
    /// The creditor's reference for the applicant, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Its postal address (letters are printed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    /// Its e-mail address, where known (letters are also e-mailed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// When it was asked.
    pub asked_on: BusinessDate,
    /// When the answer is expected by.
    pub answer_by: BusinessDate,
    /// When it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_on: Option<BusinessDate>,
    /// When the closing letter went.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closing_sent_on: Option<BusinessDate>,
}

/// One line of the case's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The business day.
    pub on: BusinessDate,
    /// What happened (`application`, `call`, `letter`, `sms`, …).
    pub kind: String,
    /// Who did it (`system` for the service itself).
    pub by: String,
    /// What, in a line (no national id, no address).
    pub text: String,
}

/// Who acts for the service itself.
pub const SYSTEM: &str = "system";

/// How far ahead a meeting may be booked (days).
pub const MAX_MEETING_DAYS_AHEAD: i64 = 366;

/// The longest note (characters).
pub const MAX_NOTE: usize = 2_000;

/// A counselling case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    /// The case id.
    pub case_id: String,
    /// The counsellor's id.
    pub counsellor: String,
    /// The routine.
    pub routine: Routine,
    /// How the application came in.
    pub channel: ApplicationChannel,
    /// Where it is.
    pub phase: Phase,
    /// When it opened.
    pub opened_on: BusinessDate,
    /// Unclarified matters in the application (e.g. no income reported).
    pub unclarified: Vec<String>,
    /// Whether the applicant consented to the debt-collection register.
    pub register_consent: bool,
    /// When the register's data was fetched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub register_fetched_on: Option<BusinessDate>,
    /// Every call, in order.
    #[serde(default)]
    pub calls: Vec<CallAttempt>,
    /// The last contact with the applicant (application, answered call, documents, meeting).
    pub last_contact: BusinessDate,
    /// The inactivity watch.
    pub watch: Watch,
    /// Whether the documentation is complete.
    #[serde(default)]
    pub documents_complete: bool,
    /// Whether the signed power of attorney was received.
    #[serde(default)]
    pub power_of_attorney: bool,
    /// When the power of attorney ended (the closing letters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_of_attorney_ended_on: Option<BusinessDate>,
    /// The meetings, in order.
    #[serde(default)]
    pub meetings: Vec<Meeting>,
    /// The creditors, in the order added.
    #[serde(default)]
    pub creditors: Vec<Creditor>,
    /// The debt items answered (creditors, the register, Restance's own claims are added when
    /// the schedule is made).
    #[serde(default)]
    pub items: Vec<DebtItem>,
    /// The household budget, if assessed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
    /// When the debt schedule was last sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_sent_on: Option<BusinessDate>,
    /// Why it closes, once the work ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close_reason: Option<CloseReason>,
    /// When the work ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_ended_on: Option<BusinessDate>,
    /// When the case closes (or closed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close_on: Option<BusinessDate>,
    /// The closing note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closing_note: Option<String>,
    /// Notes, in order (the closing note is also here).
    #[serde(default)]
    pub notes: Vec<Entry>,
    /// Everything that happened, in order.
    #[serde(default)]
    pub timeline: Vec<Entry>,
    /// How many letters and SMS went (numbering their notification keys).
    #[serde(default)]
    pub sent: u32,
    /// Later applications of the same person received while the case works (their source and
    /// id), recorded on it instead of opening a second case.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub later_applications: Vec<String>,
}

/// Who receives a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum To {
    /// The applicant.
    Applicant,
    /// The creditor at this index of [`Case::creditors`].
    Creditor(usize),
}

/// What the service must do after a step.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// A letter or SMS: its key (unique within the case), template, recipient and fields
    /// (without `legal_basis`, `contact` and `counsellor`, which the handler adds).
    Notify {
        /// Unique within the case: the notification id's last part.
        key: String,
        /// The template id.
        template: &'static str,
        /// To whom.
        to: To,
        /// The template's fields.
        data: Value,
    },
    /// The work ended: holds on the applicant's dunning end.
    WorkEnded,
    /// The case closed: `counselling.case.closed.v1`.
    Closed,
}

/// A step the routine refuses, with the reason for the counsellor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The call-attempt rule.
    #[error(transparent)]
    Reply(#[from] ReplyRefused),
    /// Anything else.
    #[error("{0}")]
    Rule(String),
}

fn rule(s: impl Into<String>) -> Refused {
    Refused::Rule(s.into())
}

/// The first review's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Suitable: the reply letter (with its attachment and the power-of-attorney form), or for a
    /// drop-in applicant the meeting invitation with information.
    Suitable {
        /// For a drop-in applicant: the meeting the invitation offers.
        meeting: Option<NewMeeting>,
    },
    /// Not suitable: the guidance letter naming where to turn; the case closes.
    NotSuitable {
        /// Where to turn.
        refer_to: String,
        /// The closing note.
        note: String,
    },
}

/// A meeting to schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMeeting {
    /// When (local time).
    pub at: NaiveDateTime,
    /// Where.
    pub place: String,
    /// The interpreter's language, when one is needed.
    pub interpreter: Option<String>,
}

/// A creditor to ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCreditor {
    /// Its name.
    pub name: String,
    /// Its reference for the applicant, if known.
    pub reference: Option<String>,
    /// Its postal address.
    pub address: Option<Address>,
    /// Its e-mail address.
    pub email: Option<String>,
}

/// The facts a case opens with.
#[derive(Debug, Clone)]
pub struct Opening {
    /// The case id.
    pub case_id: String,
    /// The counsellor.
    pub counsellor: String,
    /// The routine.
    pub routine: Routine,
    /// The channel.
    pub channel: ApplicationChannel,
    /// The business day.
    pub on: BusinessDate,
    /// No income reported.
    pub no_income: bool,
    /// Register consent.
    pub register_consent: bool,
    /// The budget from the form, when both figures were given.
    pub budget: Option<Budget>,
    /// How the counsellor was chosen, for the timeline.
    pub assigned: String,
    /// The earlier case, if any.
    pub previous_case_id: Option<String>,
}

/// The configuration the steps need.
#[derive(Debug, Clone)]
pub struct Rules<'a> {
    /// The municipality's business calendar.
    pub cal: &'a BusinessCalendar,
    /// The timers.
    pub timers: &'a Timers,
    /// The documents the reply asks for.
    pub documents: &'a [String],
}

mod days;
mod first_weeks;
mod work;

impl Case {
    /// A case opened from an application.
    pub fn open(o: Opening) -> Case {
        let mut unclarified = Vec::new();
        if o.no_income {
            unclarified.push("no income reported".to_owned());
        }
        let mut case = Case {
            case_id: o.case_id,
            counsellor: o.counsellor,
            routine: o.routine,
            channel: o.channel,
            phase: Phase::Review,
            opened_on: o.on,
            unclarified,
            register_consent: o.register_consent,
            register_fetched_on: None,
            calls: Vec::new(),
            last_contact: o.on,
            watch: Watch::Quiet,
            documents_complete: false,
            power_of_attorney: false,
            power_of_attorney_ended_on: None,
            meetings: Vec::new(),
            creditors: Vec::new(),
            items: Vec::new(),
            budget: o.budget,
            schedule_sent_on: None,
            close_reason: None,
            work_ended_on: None,
            close_on: None,
            closing_note: None,
            notes: Vec::new(),
            timeline: Vec::new(),
            sent: 0,
            later_applications: Vec::new(),
        };
        let mut text = format!(
            "application by {}; assigned to {} ({})",
            o.channel.as_str(),
            case.counsellor,
            o.assigned
        );
        if let Some(prev) = &o.previous_case_id {
            text.push_str(&format!(
                "; the applicant had case {prev} before: new information?"
            ));
        }
        if !case.unclarified.is_empty() {
            text.push_str(&format!("; unclarified: {}", case.unclarified.join(", ")));
        }
        case.log(o.on, "application", SYSTEM, text);
        case
    }

    fn log(&mut self, on: BusinessDate, kind: &str, by: &str, text: impl Into<String>) {
        self.timeline.push(Entry {
            on,
            kind: kind.to_owned(),
            by: by.to_owned(),
            text: text.into(),
        });
    }

    fn notify(&mut self, on: BusinessDate, template: &'static str, to: To, data: Value) -> Effect {
        self.sent += 1;
        let kind = if is_sms(template) { "sms" } else { "letter" };
        let whom = match to {
            To::Applicant => "the applicant".to_owned(),
            To::Creditor(i) => self
                .creditors
                .get(i)
                .map_or_else(String::new, |c| c.name.clone()),
        };
        self.log(on, kind, SYSTEM, format!("{template} to {whom}"));
        Effect::Notify {
            key: format!("{}:{template}", self.sent),
            template,
            to,
            data,
        }
    }

    fn active(&self) -> Result<(), Refused> {
        if self.phase.is_active() {
            Ok(())
        } else {
            Err(rule(format!(
                "the case is {}: a later contact needs a new application",
                self.phase.as_str()
            )))
        }
    }

    /// Contact with the applicant: the inactivity watch starts over.
    fn contact(&mut self, on: BusinessDate) {
        self.last_contact = self.last_contact.max(on);
        self.watch = Watch::Quiet;
    }
}

/// A task on the counsellor's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// `review`, `call`, `meeting`, `meeting_outcome`, `creditor`, `register`, `schedule`,
    /// `closes`.
    pub kind: String,
    /// When it is due.
    pub due: BusinessDate,
    /// What to do.
    pub text: String,
}

impl Task {
    fn new(kind: &str, due: BusinessDate, text: impl Into<String>) -> Task {
        Task {
            kind: kind.to_owned(),
            due,
            text: text.into(),
        }
    }
}

/// A note's text: trimmed, 1–[`MAX_NOTE`] characters.
pub fn note_text(text: &str) -> Result<String, Refused> {
    let t = text.trim();
    if t.is_empty() {
        return Err(rule("a note is required (a case never closes without one)"));
    }
    if t.chars().count() > MAX_NOTE {
        return Err(rule(format!("a note has at most {MAX_NOTE} characters")));
    }
    Ok(t.to_owned())
}

/// Whether a budget's capacity covers the monthly cost (for the letter).
pub fn covers(budget: &Budget, monthly_cost: Money) -> bool {
    budget.monthly_capacity().is_some_and(|c| c >= monthly_cost)
}

/// `counselling_reply`.
pub const REPLY: &str = "counselling_reply";
/// `counselling_guidance`.
pub const GUIDANCE: &str = "counselling_guidance";
/// `counselling_meeting_invitation`.
pub const MEETING_INVITATION: &str = "counselling_meeting_invitation";
/// `counselling_missing_documentation`.
pub const MISSING_DOCUMENTATION: &str = "counselling_missing_documentation";
/// `counselling_meeting_confirmation` (SMS).
pub const MEETING_CONFIRMATION: &str = "counselling_meeting_confirmation";
/// `counselling_meeting_reminder` (SMS).
pub const MEETING_REMINDER: &str = "counselling_meeting_reminder";
/// `counselling_contact_request` (SMS).
pub const CONTACT_REQUEST: &str = "counselling_contact_request";
/// `counselling_closure_warning`.
pub const CLOSURE_WARNING: &str = "counselling_closure_warning";
/// `counselling_debt_request` (to a creditor).
pub const DEBT_REQUEST: &str = "counselling_debt_request";
/// `counselling_debt_feedback`.
pub const DEBT_FEEDBACK: &str = "counselling_debt_feedback";
/// `counselling_creditor_closing` (to a creditor).
pub const CREDITOR_CLOSING: &str = "counselling_creditor_closing";
/// `counselling_case_closed`.
pub const CASE_CLOSED: &str = "counselling_case_closed";

/// Whether `template` is one of the service's SMS (no letter, no legal basis).
pub fn is_sms(template: &str) -> bool {
    matches!(
        template,
        MEETING_CONFIRMATION | MEETING_REMINDER | CONTACT_REQUEST
    )
}

/// Every template the service sends.
pub const TEMPLATES: [&str; 12] = [
    REPLY,
    GUIDANCE,
    MEETING_INVITATION,
    MISSING_DOCUMENTATION,
    MEETING_CONFIRMATION,
    MEETING_REMINDER,
    CONTACT_REQUEST,
    CLOSURE_WARNING,
    DEBT_REQUEST,
    DEBT_FEEDBACK,
    CREDITOR_CLOSING,
    CASE_CLOSED,
];

#[cfg(test)]
#[path = "case_tests.rs"]
mod tests;
