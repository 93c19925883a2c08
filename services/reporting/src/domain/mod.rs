//! Reporting's rules as pure functions: no database, no broker, no clock.
//!
//! - [`claim`]: a claim's lifecycle, the agreements covering it, the state it is counted in,
//!   its versions in business time ([`claim::supersede`]) and the business date a change is
//!   stamped with ([`claim::stamp`]);
//! - [`arrears`]: arrears on a date, precisely — who is in arrears, the age buckets, the cells
//!   and distinct debtor counts of a snapshot, and [`arrears::arrears_on`], the in-memory
//!   reference the SQL is tested against;
//! - [`schedule`]: which reports fall due on an opened business day (first business day of the
//!   month / quarter, caught up when days were skipped; a municipality's extra dates);
//! - [`consolidate`]: a group's report from its members' reports;
//! - [`arrears_list`]: an office's daily arrears list (one row per claim, by category and age);
//! - [`history`]: the day-one history file (CSV) and its checks;
//! - [`assemble`]: figures of two dates → the [`crate::domain::report::Report`] model and the arrears
//!   API's JSON.

pub mod arrears;
pub mod arrears_list;
pub mod assemble;
pub mod claim;
pub mod consolidate;
pub mod history;
pub mod report;
pub mod schedule;
