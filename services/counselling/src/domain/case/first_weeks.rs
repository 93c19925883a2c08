//! The first weeks of a case: calls, contact, the first review, documents and meetings.

use super::*;

impl Case {
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

    pub(super) fn invite(
        &mut self,
        on: BusinessDate,
        m: &NewMeeting,
        documents: Vec<Value>,
    ) -> Effect {
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

    pub(super) fn add_meeting(
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
}
