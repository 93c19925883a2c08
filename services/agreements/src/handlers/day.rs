//! `calendar.day.opened.v1`: the business date moves on, and the day's work is done in the same
//! transaction as recording the date — so a day is worked exactly once, however often the message
//! is delivered (a date at or before the last one is a duplicate: DESIGN.md, "Time").
//!
//! The work, for the debtors locked by the batch (every debtor with an agreement in force):
//! 1. deferrals: the review tasks whose date has come; those whose last day has passed expire;
//! 2. plans: missed instalments are reminded, plans with too many misses are defaulted, a plan
//!    whose instalments are paid but whose claims still have something open raises a task;
//! 3. meetings: the SMS reminder on the business day before; a task when a meeting's day passed
//!    without an outcome;
//! 4. the social caseworker's alerts: answered by an agreement, or escalated to a supervisor
//!    once their answer day has passed.
//!
//! The number of agreements in force is small next to the number of claims (a caseworker makes
//! each one), so one transaction per day is enough; a skipped day is caught up by the next one.

use std::collections::BTreeSet;

use restance_bus::Effects;
use restance_kernel::BusinessDate;
use sea_orm::DatabaseTransaction;

use crate::context::Failure;
use crate::state::Shared;
use crate::store::queries::{self, DebtorKey};
use crate::{alerts, deferrals, meetings, metrics, plans};

/// Records `date` as the business date and does its work; a date at or before the last one is a
/// duplicate and changes nothing.
pub async fn open(
    tx: &DatabaseTransaction,
    shared: &Shared,
    effects: &mut Effects,
    locked: &BTreeSet<DebtorKey>,
    date: BusinessDate,
) -> Result<(), Failure> {
    let last = queries::last_business_date(tx).await?;
    if last.is_some_and(|l| date <= l) {
        tracing::info!(business_date = %date, last = ?last.map(|l| l.to_string()),
            "business day already opened: duplicate, nothing to do");
        return Ok(());
    }
    queries::insert_business_day(tx, date).await?;
    deferrals::daily(tx, effects, locked, date).await?;
    for plan in queries::active_plans(tx).await? {
        if locked.contains(&(plan.municipality.clone(), plan.debtor_id.clone())) {
            plans::track(tx, shared, effects, plan, date).await?;
        }
    }
    meetings::daily(tx, shared, effects, locked, date).await?;
    alerts::daily(tx, locked, date).await?;
    metrics::tasks_open(queries::open_task_count(tx).await?);
    tracing::info!(business_date = %date, events = effects.len(), "business day opened: agreements followed up");
    Ok(())
}
