//! Agreements' rules as pure functions: no database, no broker, no clock.
//!
//! - [`schedule`]: a payment plan's instalments from the covered balance, the agreed terms (an
//!   instalment, a number of instalments, or a budget) and the business calendar;
//! - [`tracking`]: a plan from day to day — paid, missed, reminded, defaulted;
//! - [`deferral`]: a deferral's period from an end date and/or a review date, and its expiry;
//! - [`meeting`]: a meeting's local date and time, and its reminder day;
//! - [`alert`]: the social caseworker's alert — when its answer is due and when it escalates;
//! - [`ids`]: ids, deterministic for everything that must happen only once.

pub mod alert;
pub mod deferral;
pub mod ids;
pub mod meeting;
pub mod schedule;
pub mod tracking;

pub use alert::{AlertState, answer_due, escalates, release_id};
pub use deferral::{DeferralPeriod, DeferralReason, PeriodError, deferral_period, has_expired};
pub use meeting::{MeetingResult, MeetingTime, ReminderState, meeting_time, reminder_date};
pub use schedule::{
    Budget, Frequency, Instalment, MAX_INSTALMENTS, Schedule, ScheduleError, Sizing, Terms,
};
pub use tracking::{Assessment, InstalmentStatus, PlanState, TrackingRules, assess, progress};
