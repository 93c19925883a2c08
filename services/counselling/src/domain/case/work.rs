//! The work on the debts: creditors and their answers, the debt register, the budget, the schedule, notes and closing.

use super::*;

impl Case {
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
        self.items.retain(|i| {
            i.creditor != name || i.source != crate::domain::schedule::Source::Creditor
        });
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
            .retain(|i| i.source != crate::domain::schedule::Source::Register);
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
    pub(super) fn end_work(
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
}
