//! The business day: the timers, inactivity, the next timer and the counsellor's tasks.

use super::*;

impl Case {
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

    pub(super) fn last_meeting_missed(&self) -> bool {
        self.meetings
            .last()
            .is_some_and(|m| m.outcome == Some(MeetingOutcome::Missed))
    }

    /// Whether the inactivity clock runs on `today`: not while the review is pending (the
    /// counsellor acts), a meeting is ahead, or creditors' answers are awaited.
    pub(super) fn clock_runs(&self, today: BusinessDate) -> bool {
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
    pub(super) fn quiet_until(&self, r: &Rules<'_>) -> Option<BusinessDate> {
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
