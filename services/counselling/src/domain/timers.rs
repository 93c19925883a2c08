//! Every time limit of the routine, as configuration (`[counselling.timers]`), and the rule for
//! the reply after calls nobody answered.
//!
//! Days are business days of the municipality's country; months are calendar months, the date
//! then moved to the next business day. The defaults are seed 003's:
//!
//! | timer | default | seed 003 |
//! |---|---|---|
//! | `review_wait_days` | 2 | wait at least 2 days after calling before the reply letter |
//! | `contact_days` | 10 | the deadline in a reply "get in touch by" when nobody answered |
//! | `documents_days` | 15 | the deadline of "missing documentation" |
//! | `quiet_days` | 15 | no contact or documents within 3–4 weeks → call |
//! | `sms_close_days` | 10 | no word within 2 weeks of the SMS → close |
//! | `warning_close_days` | 15 | after the warning of closure, 2–3 weeks → close |
//! | `creditor_answer_months` | 2 | creditors answer within 2 months |
//! | `register_fetch_months` | 1 | fetch the debt-collection register's data after 1 month |
//! | `closing_tail_months` | 2 | the case stays open 2 months after the creditors' letters |

use restance_kernel::{BusinessCalendar, BusinessDate};
use serde::{Deserialize, Serialize};

use super::case::{CallAttempt, CallOutcome};

/// When the SMS reminder of a meeting goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReminderDay {
    /// The business day before the meeting.
    BusinessDayBefore,
    /// The morning of the meeting day (when the day is opened).
    SameDay,
}

/// The routine's time limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timers {
    /// Business days after the second unanswered call before the reply may be sent.
    pub review_wait_days: u32,
    /// Business days the applicant is given to get in touch in a reply after no answer.
    pub contact_days: u32,
    /// Business days the applicant is given to send missing documents.
    pub documents_days: u32,
    /// Business days without contact or documents before a call round.
    pub quiet_days: u32,
    /// Business days after the contact SMS before the case closes.
    pub sms_close_days: u32,
    /// Business days after the warning of closure before the case closes.
    pub warning_close_days: u32,
    /// Months a creditor has to answer.
    pub creditor_answer_months: u32,
    /// Months after the consent before the debt-collection register's data is fetched.
    pub register_fetch_months: u32,
    /// Months the case stays open after the creditors' closing letters.
    pub closing_tail_months: u32,
    /// When meeting reminders go by SMS (none: no reminder).
    pub meeting_reminders: Vec<ReminderDay>,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            review_wait_days: 2,
            contact_days: 10,
            documents_days: 15,
            quiet_days: 15,
            sms_close_days: 10,
            warning_close_days: 15,
            creditor_answer_months: 2,
            register_fetch_months: 1,
            closing_tail_months: 2,
            meeting_reminders: vec![ReminderDay::BusinessDayBefore],
        }
    }
}

impl Timers {
    /// Every problem with the values (each must be within reason).
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        let days = [
            ("review_wait_days", self.review_wait_days, 2, 30),
            ("contact_days", self.contact_days, 1, 60),
            ("documents_days", self.documents_days, 1, 60),
            ("quiet_days", self.quiet_days, 5, 60),
            ("sms_close_days", self.sms_close_days, 5, 60),
            ("warning_close_days", self.warning_close_days, 5, 60),
        ];
        for (name, v, lo, hi) in days {
            if !(lo..=hi).contains(&v) {
                p.push(format!(
                    "counselling.timers.{name}: {v} must be between {lo} and {hi} business days{}",
                    if name == "review_wait_days" {
                        " (seed 003: at least 2)"
                    } else {
                        ""
                    }
                ));
            }
        }
        let months = [
            ("creditor_answer_months", self.creditor_answer_months),
            ("register_fetch_months", self.register_fetch_months),
            ("closing_tail_months", self.closing_tail_months),
        ];
        for (name, v) in months {
            if !(1..=12).contains(&v) {
                p.push(format!(
                    "counselling.timers.{name}: {v} must be between 1 and 12 months"
                ));
            }
        }
        p
    }

    /// `on` plus `months` calendar months, moved to the next business day.
    pub fn after_months(cal: &BusinessCalendar, on: BusinessDate, months: u32) -> BusinessDate {
        cal.next_business_day_on_or_after(on.add_months(months))
    }
}

/// Why the reply (or a letter with a deadline to get in touch) may not go yet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyRefused {
    /// Unclarified matters and fewer than two calls tried.
    #[error(
        "the application has unclarified matters: call the applicant at least twice first ({tried} call(s) logged)"
    )]
    CallFirst {
        /// Calls logged so far.
        tried: usize,
    },
    /// Two calls nobody answered, and the wait after the second has not passed.
    #[error(
        "nobody answered the calls: the reply may go from {from} ({wait} business days after the second call)"
    )]
    Wait {
        /// The first day it may go.
        from: BusinessDate,
        /// The configured wait.
        wait: u32,
    },
}

/// Whether the reply may be sent on `today` (seed 003's call-attempt rule):
/// - no unclarified matters: at once;
/// - unclarified: after a call the applicant answered, or after at least two calls — and, if
///   none was answered, not before `review_wait_days` business days after the second.
///
/// Calls are the case's review calls in the order logged.
pub fn reply_allowed(
    unclarified: bool,
    calls: &[CallAttempt],
    today: BusinessDate,
    cal: &BusinessCalendar,
    timers: &Timers,
) -> Result<(), ReplyRefused> {
    if !unclarified || calls.iter().any(|c| c.outcome == CallOutcome::Answered) {
        return Ok(());
    }
    if calls.len() < 2 {
        return Err(ReplyRefused::CallFirst { tried: calls.len() });
    }
    let from = earliest_reply(calls, cal, timers).unwrap_or(today);
    if today < from {
        return Err(ReplyRefused::Wait {
            from,
            wait: timers.review_wait_days,
        });
    }
    Ok(())
}

/// The first day the reply may go after unanswered calls: `review_wait_days` business days
/// after the second call (`None` with fewer than two calls).
pub fn earliest_reply(
    calls: &[CallAttempt],
    cal: &BusinessCalendar,
    timers: &Timers,
) -> Option<BusinessDate> {
    calls
        .get(1)
        .map(|second| cal.add_business_days(second.on, timers.review_wait_days))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use restance_kernel::Country;

    fn d(s: &str) -> BusinessDate {
        s.parse().expect("test data")
    }

    fn call(on: &str, outcome: CallOutcome) -> CallAttempt {
        CallAttempt {
            on: d(on),
            outcome,
            by: "EG".into(),
            purpose: super::super::case::CallPurpose::Review,
        }
    }

    fn no() -> BusinessCalendar {
        BusinessCalendar::new(Country::No)
    }

    #[test]
    fn a_clear_application_needs_no_call() {
        assert_eq!(
            reply_allowed(false, &[], d("2027-03-01"), &no(), &Timers::default()),
            Ok(())
        );
    }

    #[test]
    fn unclarified_needs_two_calls_then_two_business_days() {
        let t = Timers::default();
        let one = [call("2027-03-01", CallOutcome::NoAnswer)];
        assert_eq!(
            reply_allowed(true, &one, d("2027-03-10"), &no(), &t),
            Err(ReplyRefused::CallFirst { tried: 1 })
        );
        // second call on a Thursday: two business days later is the Monday
        let two = [
            call("2027-03-01", CallOutcome::NoAnswer),
            call("2027-03-04", CallOutcome::NoAnswer),
        ];
        assert_eq!(
            reply_allowed(true, &two, d("2027-03-05"), &no(), &t),
            Err(ReplyRefused::Wait {
                from: d("2027-03-08"),
                wait: 2
            })
        );
        assert_eq!(
            reply_allowed(true, &two, d("2027-03-08"), &no(), &t),
            Ok(())
        );
    }

    #[test]
    fn an_answered_call_clears_the_way_at_once() {
        let calls = [call("2027-03-01", CallOutcome::Answered)];
        assert_eq!(
            reply_allowed(true, &calls, d("2027-03-01"), &no(), &Timers::default()),
            Ok(())
        );
    }

    #[test]
    fn the_defaults_are_valid_and_bad_values_are_named() {
        assert!(Timers::default().problems().is_empty());
        let t = Timers {
            review_wait_days: 1,
            closing_tail_months: 0,
            ..Timers::default()
        };
        let p = t.problems();
        assert!(
            p.iter()
                .any(|m| m.contains("review_wait_days") && m.contains("at least 2")),
            "{p:?}"
        );
        assert!(p.iter().any(|m| m.contains("closing_tail_months")), "{p:?}");
    }

    proptest! {
        /// Whatever the calls' days, with two unanswered calls the reply is never allowed
        /// before two full business days after the second, and always allowed from then.
        #[test]
        fn the_reply_never_goes_early(start in 0i64..700, gap in 0i64..10, wait in 2u32..6, later in 0i64..20) {
            let cal = no();
            let t = Timers { review_wait_days: wait, ..Timers::default() };
            let first = cal.next_business_day_on_or_after(d("2027-01-01").add_days(start));
            let second = cal.next_business_day_on_or_after(first.add_days(gap));
            let calls = [call(&first.to_string(), CallOutcome::NoAnswer), call(&second.to_string(), CallOutcome::NoAnswer)];
            let today = second.add_days(later);
            let business_days_between = {
                let mut n = 0;
                let mut x = second;
                while x < today { x = x.add_days(1); if cal.is_business_day(x) { n += 1; } }
                n
            };
            let ok = reply_allowed(true, &calls, today, &cal, &t).is_ok();
            prop_assert_eq!(ok, business_days_between >= wait, "today {} second {}", today, second);
        }
    }
}
