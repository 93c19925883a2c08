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

    /// The review calls (before the first reply).
    pub fn review_calls(&self) -> Vec<CallAttempt> {
        self.calls
            .iter()
            .filter(|c| c.purpose == CallPurpose::Review)
            .cloned()
            .collect()
    }

    /// A call logged with its outcome. In a call round after inactivity the second call nobody
    /// answered sends the contact SMS; a call the applicant answered there (contact, still no
    /// documents) sends the warning of closure.
    pub fn log_call(
        &mut self,
        on: BusinessDate,
        outcome: CallOutcome,
        by: &str,
        r: &Rules<'_>,
    ) -> Result<Vec<Effect>, Refused> {
        self.active()?;
        let purpose = match (self.phase, self.watch) {
            (_, Watch::CallsDue { .. }) => CallPurpose::Inactivity,
            (Phase::Review, _) => CallPurpose::Review,
            _ => CallPurpose::Other,
        };
        self.calls.push(CallAttempt {
            on,
            outcome,
            by: by.to_owned(),
            purpose,
        });
        let word = match outcome {
            CallOutcome::Answered => "answered",
            CallOutcome::NoAnswer => "no answer",
            CallOutcome::Voicemail => "no answer (voicemail left)",
        };
        let n = self.calls.iter().filter(|c| c.purpose == purpose).count();
        self.log(
            on,
            "call",
            by,
            format!("call {n} ({purpose:?}): {word}").to_lowercase(),
        );
        let mut effects = Vec::new();
        if let Watch::CallsDue { since } = self.watch {
            let round: Vec<&CallAttempt> = self
                .calls
                .iter()
                .filter(|c| c.purpose == CallPurpose::Inactivity && c.on >= since)
                .collect();
            if outcome.reached() {
                let close_on = r.cal.add_business_days(on, r.timers.warning_close_days);
                self.watch = Watch::Warned { on, close_on };
                effects.push(self.notify(
                    on,
                    CLOSURE_WARNING,
                    To::Applicant,
                    json!({ "case_id": self.case_id, "respond_by": close_on }),
                ));
            } else if round.len() >= 2 {
                let close_on = r.cal.add_business_days(on, r.timers.sms_close_days);
                self.watch = Watch::SmsSent { on, close_on };
                effects.push(self.notify(
                    on,
                    CONTACT_REQUEST,
                    To::Applicant,
                    json!({ "respond_by": close_on }),
                ));
            }
        } else if outcome.reached() {
            self.contact(on);
        }
        Ok(effects)
    }

    /// Contact from the applicant (a call or e-mail in, a visit): the watch starts over.
    /// Another application of the same person while this case works: recorded on it (the
    /// counsellor's question: new information?) and counted as contact, instead of a second
    /// case. False when `key` (its source and id) was recorded before.
    pub fn another_application(
        &mut self,
        on: BusinessDate,
        key: &str,
        channel: ApplicationChannel,
    ) -> bool {
        if !self.phase.is_active() || self.later_applications.iter().any(|k| k == key) {
            return false;
        }
        self.later_applications.push(key.to_owned());
        self.contact(on);
        self.log(
            on,
            "application",
            SYSTEM,
            format!(
                "another application by {} while the case works: new information?",
                channel.as_str()
            ),
        );
        true
    }

    pub fn record_contact(&mut self, on: BusinessDate, by: &str, how: &str) -> Result<(), Refused> {
        self.active()?;
        self.contact(on);
        self.log(
            on,
            "contact",
            by,
            format!("the applicant got in touch ({how})"),
        );
        Ok(())
    }

    /// The first review's decision (the call-attempt rule is checked here).
    pub fn review(
        &mut self,
        on: BusinessDate,
        decision: Decision,
        by: &str,
        r: &Rules<'_>,
    ) -> Result<Vec<Effect>, Refused> {
        self.active()?;
        if self.phase != Phase::Review {
            return Err(rule(format!(
                "the application was reviewed already (the case is in {})",
                self.phase.as_str()
            )));
        }
        let calls = self.review_calls();
        reply_allowed(!self.unclarified.is_empty(), &calls, on, r.cal, r.timers)?;
        let reached = calls.iter().any(|c| c.outcome.reached());
        match decision {
            Decision::Suitable { meeting } => {
                let documents: Vec<Value> =
                    r.documents.iter().map(|d| json!({ "text": d })).collect();
                if self.channel == ApplicationChannel::DropIn {
                    let m = meeting.ok_or_else(|| {
                        rule("a drop-in applicant gets the meeting invitation: give the meeting (at, place)")
                    })?;
                    self.log(on, "review", by, "suitable (drop-in): meeting invitation");
                    let mut effects = vec![self.invite(on, &m, documents)];
                    effects.extend(self.add_meeting(on, m, by)?);
                    self.documents_complete = true;
                    self.phase = Phase::Meeting;
                    Ok(effects)
                } else {
                    if meeting.is_some() {
                        return Err(rule(
                            "a meeting is offered when the documentation is complete (POST …/meetings), not with the reply",
                        ));
                    }
                    let mut data = json!({ "case_id": self.case_id, "documents": documents });
                    if !self.unclarified.is_empty() && !reached {
                        data["contact_by"] =
                            json!(r.cal.add_business_days(on, r.timers.contact_days));
                    }
                    self.log(
                        on,
                        "review",
                        by,
                        "suitable: reply with attachment and power of attorney",
                    );
                    let e = self.notify(on, REPLY, To::Applicant, data);
                    self.phase = Phase::Documentation;
                    Ok(vec![e])
                }
            }
            Decision::NotSuitable { refer_to, note } => {
                let matters: Vec<Value> = self
                    .unclarified
                    .iter()
                    .map(|m| json!({ "text": m }))
                    .collect();
                let mut data = json!({ "case_id": self.case_id, "refer_to": refer_to });
                if !matters.is_empty() {
                    data["matters"] = Value::Array(matters);
                }
                self.log(
                    on,
                    "review",
                    by,
                    format!("not suitable: guided to {refer_to}"),
                );
                let mut effects = vec![self.notify(on, GUIDANCE, To::Applicant, data)];
                effects.extend(self.end_work(on, CloseReason::NotSuitable, note, by, r, false)?);
                Ok(effects)
            }
        }
    }

    fn invite(&mut self, on: BusinessDate, m: &NewMeeting, documents: Vec<Value>) -> Effect {
        let mut data = json!({
            "case_id": self.case_id,
            "meeting": { "at": m.at.format("%Y-%m-%dT%H:%M").to_string(), "place": m.place },
            "documents": documents,
        });
        if let Some(i) = &m.interpreter {
            data["interpreter"] = json!(i);
        }
        self.notify(on, MEETING_INVITATION, To::Applicant, data)
    }

    /// Documents received and/or still missing. Missing ones get the "missing documentation"
    /// letter with a deadline; `complete` marks the documentation complete.
    pub fn documents(
        &mut self,
        on: BusinessDate,
        received: &[String],
        missing: &[String],
        power_of_attorney: bool,
        by: &str,
        r: &Rules<'_>,
    ) -> Result<Vec<Effect>, Refused> {
        self.active()?;
        if self.phase == Phase::Review {
            return Err(rule(
                "review the application first (the reply asks for the documents)",
            ));
        }
        if received.is_empty() && missing.is_empty() && !power_of_attorney {
            return Err(rule(
                "name the documents received, those missing, or the power of attorney",
            ));
        }
        if !received.is_empty() || power_of_attorney {
            self.contact(on);
        }
        self.power_of_attorney |= power_of_attorney;
        let mut text = Vec::new();
        if !received.is_empty() {
            text.push(format!("received: {}", received.join(", ")));
        }
        if power_of_attorney {
            text.push("signed power of attorney received".to_owned());
        }
        if !missing.is_empty() {
            text.push(format!("missing: {}", missing.join(", ")));
        }
        self.log(on, "documents", by, text.join("; "));
        if missing.is_empty() {
            self.documents_complete = true;
            return Ok(Vec::new());
        }
        self.documents_complete = false;
        let respond_by = r.cal.add_business_days(on, r.timers.documents_days);
        let documents: Vec<Value> = missing.iter().map(|d| json!({ "text": d })).collect();
        Ok(vec![self.notify(
            on,
            MISSING_DOCUMENTATION,
            To::Applicant,
            json!({ "case_id": self.case_id, "documents": documents, "respond_by": respond_by }),
        )])
    }

    fn add_meeting(
        &mut self,
        on: BusinessDate,
        m: NewMeeting,
        by: &str,
    ) -> Result<Vec<Effect>, Refused> {
        if m.at.date() < on.as_naive() {
            return Err(rule(format!(
                "the meeting ({}) is before today ({on})",
                m.at.date()
            )));
        }
        if m.at.date() > on.add_days(MAX_MEETING_DAYS_AHEAD).as_naive() {
            return Err(rule(format!(
                "the meeting ({}) is more than {MAX_MEETING_DAYS_AHEAD} days ahead",
                m.at.date()
            )));
        }
        let data = json!({
            "meeting": { "at": m.at.format("%Y-%m-%dT%H:%M").to_string(), "place": m.place },
        });
        self.log(
            on,
            "meeting",
            by,
            format!(
                "meeting {} at {}{}",
                m.at.format("%Y-%m-%d %H:%M"),
                m.place,
                m.interpreter
                    .as_ref()
                    .map_or(String::new(), |i| format!("; interpreter: {i}"))
            ),
        );
        self.meetings.push(Meeting {
            at: m.at,
            place: m.place,
            interpreter: m.interpreter,
            reminded: Vec::new(),
            outcome: None,
        });
        self.contact(on);
        Ok(vec![self.notify(
            on,
            MEETING_CONFIRMATION,
            To::Applicant,
            data,
        )])
    }

    /// A meeting offered (the documentation must be complete): the SMS confirmation at once,
    /// the reminders on their days.
    pub fn schedule_meeting(
        &mut self,
        on: BusinessDate,
        m: NewMeeting,
        by: &str,
    ) -> Result<Vec<Effect>, Refused> {
        self.active()?;
        if self.phase == Phase::Review {
            return Err(rule("review the application first"));
        }
        if !self.documents_complete {
            return Err(rule(
                "the documentation is not complete: a meeting is offered when it is (POST …/documents)",
            ));
        }
        if self.meetings.iter().any(|x| x.outcome.is_none()) {
            return Err(rule(
                "a meeting is already scheduled: record how it went first",
            ));
        }
        let effects = self.add_meeting(on, m, by)?;
        if self.phase == Phase::Documentation {
            self.phase = Phase::Meeting;
        }
        Ok(effects)
    }

    /// How the last meeting went. A missed meeting puts the warning of closure on the clock.
    pub fn meeting_outcome(
        &mut self,
        on: BusinessDate,
        outcome: MeetingOutcome,
        by: &str,
    ) -> Result<(), Refused> {
        self.active()?;
        let Some(m) = self.meetings.iter_mut().rev().find(|m| m.outcome.is_none()) else {
            return Err(rule("no meeting waits for its outcome"));
        };
        if m.at.date() > on.as_naive() {
            return Err(rule(format!(
                "the meeting is on {}: record its outcome from that day",
                m.at.date()
            )));
        }
        m.outcome = Some(outcome);
        let at = m.at;
        match outcome {
            MeetingOutcome::Held => self.contact(on),
            MeetingOutcome::Missed => {}
        }
        self.log(
            on,
            "meeting",
            by,
            format!(
                "meeting {}: {}",
                at.format("%Y-%m-%d %H:%M"),
                if outcome == MeetingOutcome::Held {
                    "held"
                } else {
                    "missed"
                }
            ),
        );
        Ok(())
    }

    /// A creditor asked for the debt ("request for debt information", with the power of
    /// attorney); its answer is expected within `creditor_answer_months`.
    pub fn add_creditor(
        &mut self,
        on: BusinessDate,
        new: NewCreditor,
        by: &str,
        r: &Rules<'_>,
    ) -> Result<Vec<Effect>, Refused> {
        let NewCreditor {
            name,
            reference,
            address,
            email,
        } = new;
        self.active()?;
        if !self.power_of_attorney {
            return Err(rule(
                "no signed power of attorney is recorded: creditors are asked with it (POST …/documents with power_of_attorney)",
            ));
        }
        if self
            .creditors
            .iter()
            .any(|c| c.name.eq_ignore_ascii_case(&name) && c.reference == reference)
        {
            return Err(rule(format!("{name} is on the case already")));
        }
        let answer_by = Timers::after_months(r.cal, on, r.timers.creditor_answer_months);
        self.creditors.push(Creditor {
            name: name.clone(),
            reference: reference.clone(),
            address,
            email,
            asked_on: on,
            answer_by,
            answered_on: None,
            closing_sent_on: None,
        });
        self.phase = Phase::Mapping;
        let idx = self.creditors.len() - 1;
        self.log(
            on,
            "creditor",
            by,
            format!("{name} asked for the debt; answer expected by {answer_by}"),
        );
        let mut data = json!({ "case_id": self.case_id, "answer_by": answer_by });
        if let Some(reference) = reference {
            data["reference"] = json!(reference);
        }
        Ok(vec![self.notify(on, DEBT_REQUEST, To::Creditor(idx), data)])
    }

    /// A creditor's answer: its debt items (none: it has no claim).
    pub fn creditor_answer(
        &mut self,
        on: BusinessDate,
        creditor: usize,
        items: Vec<DebtItem>,
        by: &str,
    ) -> Result<(), Refused> {
        self.active()?;
        let Some(c) = self.creditors.get_mut(creditor) else {
            return Err(rule(format!("creditor {creditor} is not on the case")));
        };
        c.answered_on = Some(on);
        let name = c.name.clone();
        self.items
            .retain(|i| i.creditor != name || i.source != super::schedule::Source::Creditor);
        let n = items.len();
        self.items.extend(items);
        self.log(
            on,
            "creditor_answer",
            by,
            format!("{name} answered: {n} debt item(s)"),
        );
        Ok(())
    }

    /// The debt-collection register's data fetched, with its items.
    pub fn register_fetched(
        &mut self,
        on: BusinessDate,
        items: Vec<DebtItem>,
        by: &str,
    ) -> Result<(), Refused> {
        self.active()?;
        if !self.register_consent {
            return Err(rule(
                "the applicant did not consent to the debt-collection register",
            ));
        }
        self.register_fetched_on = Some(on);
        let n = items.len();
        self.items
            .retain(|i| i.source != super::schedule::Source::Register);
        self.items.extend(items);
        self.log(
            on,
            "register",
            by,
            format!("debt-collection register fetched: {n} item(s)"),
        );
        Ok(())
    }

    /// The household budget assessed.
    pub fn set_budget(
        &mut self,
        on: BusinessDate,
        budget: Budget,
        by: &str,
    ) -> Result<(), Refused> {
        self.active()?;
        if budget.monthly_income.is_negative() || budget.monthly_expenses.is_negative() {
            return Err(rule("income and expenses must not be negative"));
        }
        self.budget = Some(budget);
        self.log(on, "budget", by, "budget assessed");
        Ok(())
    }

    /// The debt schedule sent with "feedback after debt mapping"; `restance` are the applicant's
    /// open claims in Restance itself (added automatically).
    pub fn send_schedule(
        &mut self,
        on: BusinessDate,
        restance: Vec<DebtItem>,
        currency: &str,
        by: &str,
    ) -> Result<Vec<Effect>, Refused> {
        self.active()?;
        let schedule = self.schedule(restance);
        if schedule.items.is_empty() {
            return Err(rule(
                "no debt is recorded: record the creditors' answers first",
            ));
        }
        self.schedule_sent_on = Some(on);
        self.contact(on);
        self.log(
            on,
            "schedule",
            by,
            format!("debt schedule with {} item(s) sent", schedule.items.len()),
        );
        let data = schedule.letter_fields(&self.case_id, currency);
        Ok(vec![self.notify(on, DEBT_FEEDBACK, To::Applicant, data)])
    }

    /// The debt schedule as it stands: the recorded items and `restance`.
    pub fn schedule(&self, restance: Vec<DebtItem>) -> DebtSchedule {
        let mut items = self.items.clone();
        items.extend(restance);
        DebtSchedule::new(items, self.budget)
    }

    /// A note on the case.
    pub fn note(&mut self, on: BusinessDate, text: &str, by: &str) -> Result<(), Refused> {
        let text = note_text(text)?;
        self.notes.push(Entry {
            on,
            kind: "note".into(),
            by: by.to_owned(),
            text: text.clone(),
        });
        self.log(on, "note", by, text);
        Ok(())
    }

    /// Which reasons a counsellor may close with now.
    pub fn may_close(&self, reason: CloseReason) -> Result<(), Refused> {
        self.active()?;
        match reason {
            CloseReason::Withdrawn => Ok(()),
            CloseReason::NoContact | CloseReason::NoFollowUp => Err(rule(
                "no_contact and no_follow_up close by themselves when their deadline passes",
            )),
            CloseReason::Completed if self.schedule_sent_on.is_none() => Err(rule(
                "completed: the debt schedule has not been sent (POST …/schedule)",
            )),
            CloseReason::Completed => Ok(()),
            CloseReason::AdviceGiven | CloseReason::Unclarified | CloseReason::NotSuitable => {
                if self.phase == Phase::Review {
                    Err(rule("review the application first (POST …/review)"))
                } else {
                    Ok(())
                }
            }
        }
    }

    /// The counsellor closes the case with a reason and a note (required).
    pub fn close(
        &mut self,
        on: BusinessDate,
        reason: CloseReason,
        note: &str,
        by: &str,
        r: &Rules<'_>,
    ) -> Result<Vec<Effect>, Refused> {
        self.may_close(reason)?;
        let note = note_text(note)?;
        self.end_work(on, reason, note, by, r, true)
    }

    /// The work ends: the closing note; the creditors' closing letters (the power of attorney
    /// ends); the applicant's letter; closed at once without creditors, else after the tail.
    fn end_work(
        &mut self,
        on: BusinessDate,
        reason: CloseReason,
        note: String,
        by: &str,
        r: &Rules<'_>,
        applicant_letter: bool,
    ) -> Result<Vec<Effect>, Refused> {
        let note = note_text(&note)?;
        self.closing_note = Some(note.clone());
        self.notes.push(Entry {
            on,
            kind: "closing_note".into(),
            by: by.to_owned(),
            text: note.clone(),
        });
        self.log(on, "closing_note", by, note);
        self.close_reason = Some(reason);
        self.work_ended_on = Some(on);
        let mut effects = vec![Effect::WorkEnded];
        for i in 0..self.creditors.len() {
            self.creditors[i].closing_sent_on = Some(on);
            let data = json!({ "case_id": self.case_id, "work_ended": on });
            effects.push(self.notify(on, CREDITOR_CLOSING, To::Creditor(i), data));
        }
        if self.power_of_attorney {
            self.power_of_attorney_ended_on = Some(on);
            self.log(
                on,
                "power_of_attorney",
                SYSTEM,
                "the power of attorney ended",
            );
        }
        if applicant_letter {
            let data = json!({ "case_id": self.case_id, "reason": reason.as_str() });
            effects.push(self.notify(on, CASE_CLOSED, To::Applicant, data));
        }
        self.watch = Watch::Quiet;
        if self.creditors.is_empty() {
            self.phase = Phase::Closed;
            self.close_on = Some(on);
            self.log(on, "closed", SYSTEM, format!("closed: {}", reason.as_str()));
            effects.push(Effect::Closed);
        } else {
            let close_on = Timers::after_months(r.cal, on, r.timers.closing_tail_months);
            self.phase = Phase::Closing;
            self.close_on = Some(close_on);
            self.log(
                on,
                "closing",
                SYSTEM,
                format!("the creditors were told; the case closes on {close_on}"),
            );
        }
        Ok(effects)
    }

    /// The business day `today`: meeting reminders, the inactivity watch, the closing tail.
    pub fn day(&mut self, today: BusinessDate, r: &Rules<'_>) -> Vec<Effect> {
        let mut effects = Vec::new();
        match self.phase {
            Phase::Closed => return effects,
            Phase::Closing => {
                if self.close_on.is_some_and(|d| d <= today) {
                    self.phase = Phase::Closed;
                    let reason = self.close_reason.map_or("", CloseReason::as_str);
                    self.log(
                        today,
                        "closed",
                        SYSTEM,
                        format!("closed: {reason} (two months after the creditors' letters)"),
                    );
                    effects.push(Effect::Closed);
                }
                return effects;
            }
            _ => {}
        }
        // meeting reminders
        for idx in 0..self.meetings.len() {
            let m = &self.meetings[idx];
            if m.outcome.is_some() {
                continue;
            }
            let day = BusinessDate::from_naive(m.at.date());
            for kind in r.timers.meeting_reminders.clone() {
                let send_on = match kind {
                    ReminderDay::BusinessDayBefore => r.cal.previous_business_day(day),
                    ReminderDay::SameDay => day,
                };
                let m = &self.meetings[idx];
                if send_on <= today && today <= day && !m.reminded.contains(&kind) {
                    let data = json!({
                        "meeting": { "at": m.at.format("%Y-%m-%dT%H:%M").to_string(), "place": m.place },
                    });
                    self.meetings[idx].reminded.push(kind);
                    effects.push(self.notify(today, MEETING_REMINDER, To::Applicant, data));
                }
            }
        }
        // inactivity
        match self.watch {
            Watch::SmsSent { close_on, .. } if close_on <= today => {
                let note = format!(
                    "closed for no contact: called twice without answer, SMS sent, no word by {close_on}"
                );
                effects.extend(
                    self.end_work(today, CloseReason::NoContact, note, SYSTEM, r, true)
                        .unwrap_or_default(),
                );
            }
            Watch::Warned { close_on, .. } if close_on <= today => {
                let note =
                    format!("closed for no follow-up: warned of closure, no word by {close_on}");
                effects.extend(
                    self.end_work(today, CloseReason::NoFollowUp, note, SYSTEM, r, true)
                        .unwrap_or_default(),
                );
            }
            Watch::Quiet if self.clock_runs(today) => {
                if let Some(due) = self.quiet_until(r)
                    && due <= today
                {
                    if self.last_meeting_missed() {
                        let close_on = r.cal.add_business_days(today, r.timers.warning_close_days);
                        self.watch = Watch::Warned {
                            on: today,
                            close_on,
                        };
                        effects.push(self.notify(
                            today,
                            CLOSURE_WARNING,
                            To::Applicant,
                            json!({ "case_id": self.case_id, "respond_by": close_on }),
                        ));
                    } else {
                        self.watch = Watch::CallsDue { since: today };
                        self.log(today, "task", SYSTEM, format!(
                            "no contact or documents since {}: call the applicant (at least twice)",
                            self.last_contact
                        ));
                    }
                }
            }
            _ => {}
        }
        effects
    }

    fn last_meeting_missed(&self) -> bool {
        self.meetings
            .last()
            .is_some_and(|m| m.outcome == Some(MeetingOutcome::Missed))
    }

    /// Whether the inactivity clock runs on `today`: not while the review is pending (the
    /// counsellor acts), a meeting is ahead, or creditors' answers are awaited.
    fn clock_runs(&self, today: BusinessDate) -> bool {
        if self.phase == Phase::Review {
            return false;
        }
        if self
            .meetings
            .iter()
            .any(|m| m.outcome.is_none() && m.at.date() >= today.as_naive())
        {
            return false;
        }
        !self
            .creditors
            .iter()
            .any(|c| c.answered_on.is_none() && today <= c.answer_by)
    }

    /// The day the quiet period after the last contact ends.
    fn quiet_until(&self, r: &Rules<'_>) -> Option<BusinessDate> {
        Some(
            r.cal
                .add_business_days(self.last_contact, r.timers.quiet_days),
        )
    }

    /// The first day after `after` the day handler must look at this case (`None`: nothing
    /// timed is ahead — closed, or waiting for the counsellor).
    pub fn next_timer(&self, after: BusinessDate, r: &Rules<'_>) -> Option<BusinessDate> {
        match self.phase {
            Phase::Closed => return None,
            Phase::Closing => return self.close_on.map(|d| d.max(after.add_days(1))),
            _ => {}
        }
        let mut next: Vec<BusinessDate> = Vec::new();
        for m in self.meetings.iter().filter(|m| m.outcome.is_none()) {
            let day = BusinessDate::from_naive(m.at.date());
            for kind in &r.timers.meeting_reminders {
                if m.reminded.contains(kind) {
                    continue;
                }
                next.push(match kind {
                    ReminderDay::BusinessDayBefore => r.cal.previous_business_day(day),
                    ReminderDay::SameDay => day,
                });
            }
            // the clock resumes the day after the meeting
            next.push(day.add_days(1));
        }
        match self.watch {
            Watch::SmsSent { close_on, .. } | Watch::Warned { close_on, .. } => next.push(close_on),
            Watch::CallsDue { .. } => {}
            Watch::Quiet => {
                if self.phase != Phase::Review
                    && let Some(q) = self.quiet_until(r)
                {
                    next.push(q);
                }
            }
        }
        for c in self.creditors.iter().filter(|c| c.answered_on.is_none()) {
            next.push(c.answer_by.add_days(1));
        }
        next.into_iter().filter(|d| *d > after).min()
    }

    /// What the counsellor has to do, soonest first.
    pub fn tasks(&self, today: BusinessDate, r: &Rules<'_>) -> Vec<Task> {
        let mut t = Vec::new();
        if !self.phase.is_active() {
            return t;
        }
        if self.phase == Phase::Review {
            let calls = self.review_calls();
            match reply_allowed(!self.unclarified.is_empty(), &calls, today, r.cal, r.timers) {
                Ok(()) => t.push(Task::new(
                    "review",
                    self.opened_on,
                    "review the application and send the reply",
                )),
                Err(ReplyRefused::CallFirst { tried }) => t.push(Task::new(
                    "call",
                    calls.last().map_or(self.opened_on, |c| c.on),
                    format!(
                        "call the applicant about: {} ({tried} of 2 calls)",
                        self.unclarified.join(", ")
                    ),
                )),
                Err(ReplyRefused::Wait { from, .. }) => {
                    t.push(Task::new(
                        "review",
                        from,
                        "nobody answered: the reply (with a deadline to get in touch) may go",
                    ));
                }
            }
        }
        if let Watch::CallsDue { since } = self.watch {
            let n = self
                .calls
                .iter()
                .filter(|c| c.purpose == CallPurpose::Inactivity && c.on >= since)
                .count();
            t.push(Task::new(
                "call",
                since,
                format!("inactivity: call the applicant ({n} of 2 calls)"),
            ));
        }
        if let Watch::SmsSent { close_on, .. } | Watch::Warned { close_on, .. } = self.watch {
            t.push(Task::new(
                "closes",
                close_on,
                "closes by itself unless the applicant gets in touch",
            ));
        }
        if matches!(self.phase, Phase::Documentation) && self.documents_complete {
            t.push(Task::new(
                "meeting",
                today,
                "the documentation is complete: offer a meeting",
            ));
        }
        for m in self.meetings.iter().filter(|m| m.outcome.is_none()) {
            let day = BusinessDate::from_naive(m.at.date());
            t.push(Task::new(
                "meeting_outcome",
                day,
                "record how the meeting went",
            ));
        }
        for c in self.creditors.iter().filter(|c| c.answered_on.is_none()) {
            let due = c.answer_by;
            let what = if due < today {
                "overdue: remind"
            } else {
                "awaiting the answer of"
            };
            t.push(Task::new("creditor", due, format!("{what} {}", c.name)));
        }
        if self.register_consent && self.register_fetched_on.is_none() {
            let due = Timers::after_months(r.cal, self.opened_on, r.timers.register_fetch_months);
            t.push(Task::new(
                "register",
                due,
                "fetch the debt-collection register's data",
            ));
        }
        if self.phase == Phase::Mapping
            && self.creditors.iter().all(|c| c.answered_on.is_some())
            && self.schedule_sent_on.is_none()
        {
            t.push(Task::new(
                "schedule",
                today,
                "every creditor answered: send the debt schedule",
            ));
        }
        t.sort_by_key(|x| x.due);
        t
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
