//! Meetings (sættemøder): when one is, in the municipality's local time, and when its SMS
//! reminder goes out (seed 003: an SMS confirmation at once and an SMS reminder the day before).
//!
//! The meeting's date is the local date of its start in the municipality's time zone (a meeting
//! at 09:00 in Nuuk is 11:00 or 12:00 UTC, a meeting at 00:30 in Copenhagen is the evening before
//! in UTC). The reminder goes out on the business day before the meeting date; a meeting booked
//! on or after that day needs none (the confirmation has just gone out).

use chrono::{DateTime, TimeZone, Utc};
use restance_kernel::{BusinessCalendar, BusinessDate};
use serde::{Deserialize, Serialize};

/// A meeting's start as the letters and the bus need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingTime {
    /// The instant (UTC on the bus).
    pub starts_at: DateTime<Utc>,
    /// The local date: the meeting's business date.
    pub date: BusinessDate,
    /// Local wall time as the templates take it: `2026-12-15T09:30`.
    pub local: String,
}

/// The local date and time of `starts_at` in `tz`.
pub fn meeting_time<Tz: TimeZone>(starts_at: DateTime<Utc>, tz: &Tz) -> MeetingTime {
    let local = starts_at.with_timezone(tz).naive_local();
    MeetingTime {
        starts_at,
        date: BusinessDate::from(local.date()),
        local: local.format("%Y-%m-%dT%H:%M").to_string(),
    }
}

/// Where the reminder stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReminderState {
    /// Goes out on the reminder date.
    Pending,
    /// Went out.
    Sent,
    /// Booked on or after the reminder date: the confirmation serves.
    NotNeeded,
}

impl ReminderState {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            ReminderState::Pending => "pending",
            ReminderState::Sent => "sent",
            ReminderState::NotNeeded => "not_needed",
        }
    }

    /// Reads the stored name.
    pub fn parse(s: &str) -> Option<ReminderState> {
        Some(match s {
            "pending" => ReminderState::Pending,
            "sent" => ReminderState::Sent,
            "not_needed" => ReminderState::NotNeeded,
            _ => return None,
        })
    }
}

/// The reminder day: the business day before the meeting date.
pub fn reminder_date(meeting_date: BusinessDate, calendar: &BusinessCalendar) -> BusinessDate {
    calendar.previous_business_day(meeting_date)
}

/// The reminder's state when the meeting is booked on business date `today`.
pub fn initial_reminder(reminder_date: BusinessDate, today: BusinessDate) -> ReminderState {
    if reminder_date <= today {
        ReminderState::NotNeeded
    } else {
        ReminderState::Pending
    }
}

/// The reminder goes out on `day` (once: the caller records it as sent).
pub fn reminder_due(
    state: ReminderState,
    reminder_date: BusinessDate,
    meeting_date: BusinessDate,
    day: BusinessDate,
) -> bool {
    state == ReminderState::Pending && reminder_date <= day && day < meeting_date
}

/// How a meeting went, as a caseworker records it. The bus carries the readable text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeetingResult {
    /// A payment plan was agreed.
    PlanAgreed,
    /// A deferral was granted.
    DeferralGranted,
    /// No agreement was reached.
    NoAgreement,
    /// Referred to debt counselling.
    ReferredToCounselling,
    /// Something else (the note says what).
    Other,
}

impl MeetingResult {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            MeetingResult::PlanAgreed => "plan_agreed",
            MeetingResult::DeferralGranted => "deferral_granted",
            MeetingResult::NoAgreement => "no_agreement",
            MeetingResult::ReferredToCounselling => "referred_to_counselling",
            MeetingResult::Other => "other",
        }
    }

    /// The readable outcome of `agreements.meeting.held.v1` (no personal data).
    pub const fn text(self) -> &'static str {
        match self {
            MeetingResult::PlanAgreed => "plan agreed",
            MeetingResult::DeferralGranted => "deferral granted",
            MeetingResult::NoAgreement => "no agreement",
            MeetingResult::ReferredToCounselling => "referred to debt counselling",
            MeetingResult::Other => "other outcome",
        }
    }

    /// Reads the wire name.
    pub fn parse(s: &str) -> Option<MeetingResult> {
        Some(match s {
            "plan_agreed" => MeetingResult::PlanAgreed,
            "deferral_granted" => MeetingResult::DeferralGranted,
            "no_agreement" => MeetingResult::NoAgreement,
            "referred_to_counselling" => MeetingResult::ReferredToCounselling,
            "other" => MeetingResult::Other,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use restance_kernel::Country;

    fn d(s: &str) -> BusinessDate {
        s.parse().expect("date")
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("instant")
            .with_timezone(&Utc)
    }

    #[test]
    fn the_meeting_date_is_the_local_date() {
        let cph = chrono_tz::Europe::Copenhagen;
        let t = meeting_time(utc("2026-12-14T23:30:00Z"), &cph);
        assert_eq!(t.date, d("2026-12-15"));
        assert_eq!(t.local, "2026-12-15T00:30");
        let nuuk = chrono_tz::America::Nuuk;
        let t = meeting_time(utc("2026-12-15T12:00:00Z"), &nuuk);
        assert_eq!(t.local, "2026-12-15T10:00");
    }

    #[test]
    fn the_reminder_goes_out_on_the_business_day_before_once() {
        let dk = BusinessCalendar::new(Country::Dk);
        // A Monday meeting: reminded on the Friday before.
        let r = reminder_date(d("2027-01-11"), &dk);
        assert_eq!(r, d("2027-01-08"));
        assert_eq!(initial_reminder(r, d("2027-01-04")), ReminderState::Pending);
        assert!(!reminder_due(
            ReminderState::Pending,
            r,
            d("2027-01-11"),
            d("2027-01-07")
        ));
        assert!(reminder_due(
            ReminderState::Pending,
            r,
            d("2027-01-11"),
            d("2027-01-08")
        ));
        assert!(!reminder_due(
            ReminderState::Sent,
            r,
            d("2027-01-11"),
            d("2027-01-08")
        ));
        assert!(!reminder_due(
            ReminderState::Pending,
            r,
            d("2027-01-11"),
            d("2027-01-11")
        ));
        // Booked on the reminder day itself: the confirmation serves.
        assert_eq!(
            initial_reminder(r, d("2027-01-08")),
            ReminderState::NotNeeded
        );
    }
}
