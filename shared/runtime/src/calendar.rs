//! How far ahead a business day may be opened.
//!
//! Every service runs a business day's work (fees, transfers, plans, reports) once, for the day
//! `calendar.day.opened.v1` names, and treats every date at or before the last one it opened as
//! a duplicate. A day opened far in the future, by mistake or by whoever can publish on the bus,
//! would charge fees and transfer claims for that date and make every real day before it a
//! duplicate. So a day more than `calendar.max_days_ahead` days after today (the wall clock, in
//! UTC) is rejected with its reason and dead-lettered, before any service acts on it.
//!
//! Tests and the demo move time by opening days ahead; they set the bound wide
//! (`RESTANCE__CALENDAR__MAX_DAYS_AHEAD`).

use chrono::NaiveDate;
use restance_bus::{Admission, Inbound, Rejection};
use restance_contracts::messages::DayOpened;
use restance_contracts::{Message, Problem};
use serde::Deserialize;
use std::sync::Arc;

/// `[calendar]`.
#[derive(Debug, Clone, Deserialize)]
pub struct CalendarSettings {
    /// `RESTANCE__CALENDAR__MAX_DAYS_AHEAD`: how many days after today a business day may be
    /// opened (default 3: a weekend and a holiday opened on a Friday).
    #[serde(default = "default_max_days_ahead")]
    pub max_days_ahead: u32,
}

fn default_max_days_ahead() -> u32 {
    3
}

impl Default for CalendarSettings {
    fn default() -> Self {
        Self {
            max_days_ahead: default_max_days_ahead(),
        }
    }
}

/// `date` may be opened on `today` when it is at most `max_days_ahead` days after it.
pub fn check_day(date: NaiveDate, today: NaiveDate, max_days_ahead: u32) -> Result<(), Rejection> {
    let ahead = (date - today).num_days();
    if ahead <= i64::from(max_days_ahead) {
        return Ok(());
    }
    Err(Rejection::from_problems(
        "business day too far ahead",
        vec![Problem::new(
            "data.date",
            format!(
                "{date} is {ahead} days after today ({today}); a business day is opened at most \
                 {max_days_ahead} days ahead (calendar.max_days_ahead, RESTANCE__CALENDAR__MAX_DAYS_AHEAD)"
            ),
        )],
    ))
}

/// The [`Admission`] every router gets: a `calendar.day.opened.v1` too far ahead of the wall
/// clock is rejected.
pub fn day_bound(settings: &CalendarSettings) -> Admission {
    let max = settings.max_days_ahead;
    Arc::new(move |msg: &Inbound, value: &dyn std::any::Any| {
        if msg.message_type() != DayOpened::TYPE {
            return Ok(());
        }
        match value.downcast_ref::<DayOpened>() {
            Some(day) => check_day(day.date.into(), chrono::Utc::now().date_naive(), max),
            None => Ok(()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    #[test]
    fn days_up_to_the_bound_are_admitted_and_the_past_always() {
        let today = d("2026-12-06");
        for date in ["2020-01-01", "2026-12-05", "2026-12-06", "2026-12-09"] {
            assert!(check_day(d(date), today, 3).is_ok(), "{date}");
        }
        assert!(check_day(d("2026-12-06"), today, 0).is_ok());
    }

    #[test]
    fn a_day_beyond_the_bound_is_rejected_with_what_to_do() {
        let today = d("2026-12-06");
        assert!(check_day(d("2026-12-10"), today, 3).is_err());
        assert!(check_day(d("2026-12-07"), today, 0).is_err());
        let reason = check_day(d("2028-01-10"), today, 3)
            .expect_err("400 days ahead")
            .reason;
        assert!(
            reason.contains("2028-01-10 is 400 days after today (2026-12-06)")
                && reason.contains("RESTANCE__CALENDAR__MAX_DAYS_AHEAD"),
            "{reason}"
        );
    }
}
