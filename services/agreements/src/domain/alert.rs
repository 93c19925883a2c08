//! The social caseworker's alert (`dunning.caseworker.alerted.v1`): for a social-caseworker
//! category (daycare, family area) dunning takes no fee and makes no transfer until a meeting
//! was held, a plan or deferral exists, or the caseworker released the claims with a reason.
//! This module holds the alert's rules as pure functions: when the answer is due, when an
//! unanswered alert goes to a supervisor, and what a release publishes.
//!
//! Decisions (a municipal collection office's practice, where issue 22 is silent):
//! - the longest wait is counted in **business days** of the municipality's country from the
//!   alert's date (`[agreements.alerts] caseworker_answer_days`): the answer is due on that day,
//!   and the first business day after it without an answer escalates;
//! - escalation raises a supervisor task and leaves the claims held: an alert is **never
//!   released by the passing of time**, only by a caseworker's release (or closed as answered
//!   when an agreement — a plan or a deferral — covers every claim it names, which opens
//!   dunning's gate by itself);
//! - the release's id is derived from the alert's id, so one alert is released at most once.

use restance_kernel::{BusinessCalendar, BusinessDate};
use serde::{Deserialize, Serialize};

use super::ids;

/// Where an alert stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// Waiting for the social caseworker's answer (escalated or not).
    Open,
    /// A caseworker released the claims with a reason (`agreements.claim.released.v1`).
    Released,
    /// A plan or deferral covers every claim: dunning's gate is open without a release.
    Answered,
}

impl AlertState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Open => "open",
            AlertState::Released => "released",
            AlertState::Answered => "answered",
        }
    }

    /// The state a stored name stands for.
    pub fn parse(text: &str) -> Option<AlertState> {
        match text {
            "open" => Some(AlertState::Open),
            "released" => Some(AlertState::Released),
            "answered" => Some(AlertState::Answered),
            _ => None,
        }
    }
}

/// The last day of the caseworker's answer: `days` business days after the alert's date.
pub fn answer_due(alerted: BusinessDate, days: u32, calendar: &BusinessCalendar) -> BusinessDate {
    calendar.add_business_days(alerted, days)
}

/// Whether an alert goes to a supervisor on `today`: still open, not escalated before, and its
/// answer day has passed.
pub fn escalates(
    state: AlertState,
    escalated: bool,
    answer_due: BusinessDate,
    today: BusinessDate,
) -> bool {
    state == AlertState::Open && !escalated && today > answer_due
}

/// The release of an alert: deterministic, so one alert is released once however often the
/// caseworker presses the button.
pub fn release_id(alert_id: &str) -> String {
    ids::release(alert_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use restance_kernel::Country;

    fn d(s: &str) -> BusinessDate {
        s.parse().expect("date")
    }

    #[test]
    fn the_answer_is_due_a_number_of_business_days_after_the_alert() {
        let dk = BusinessCalendar::new(Country::Dk);
        // Friday 2027-01-08 + 5 business days = Friday 2027-01-15.
        assert_eq!(answer_due(d("2027-01-08"), 5, &dk), d("2027-01-15"));
        // Over Christmas the holidays do not count.
        let due = answer_due(d("2026-12-23"), 2, &dk);
        assert!(due >= d("2026-12-28") && dk.is_business_day(due), "{due}");
    }

    #[test]
    fn an_unanswered_alert_escalates_once_the_day_after_its_answer_day() {
        let due = d("2027-01-15");
        assert!(!escalates(AlertState::Open, false, due, d("2027-01-15")));
        assert!(escalates(AlertState::Open, false, due, d("2027-01-18")));
        assert!(
            !escalates(AlertState::Open, true, due, d("2027-01-19")),
            "once"
        );
        assert!(!escalates(
            AlertState::Released,
            false,
            due,
            d("2027-01-18")
        ));
        assert!(!escalates(
            AlertState::Answered,
            false,
            due,
            d("2027-01-18")
        ));
    }

    #[test]
    fn a_release_is_named_by_its_alert() {
        assert_eq!(release_id("alr-1"), release_id("alr-1"));
        assert_ne!(release_id("alr-1"), release_id("alr-2"));
        assert!(release_id("alr-1").starts_with("rel-"));
    }

    #[test]
    fn states_read_back() {
        for s in [AlertState::Open, AlertState::Released, AlertState::Answered] {
            assert_eq!(AlertState::parse(s.as_str()), Some(s));
        }
        assert_eq!(AlertState::parse("gone"), None);
    }
}
