//! The business day (`calendar.day.opened.v1`): every case whose next timer has come is loaded,
//! stepped by [`crate::domain::Case::day`] (meeting reminders, the inactivity watch, the end of
//! the closing tail) and stored with what it sent. Cases are taken in batches of
//! [`BATCH`], soonest timer first, in the day's one transaction (a redelivered day finds the
//! timers moved on and does nothing twice). Then retention erases the personal data of the
//! closed cases past their period ([`super::retention`]).

use restance_bus::{Effects, HandlerError, Outcome};
use restance_kernel::BusinessDate;
use sea_orm::DatabaseTransaction;

use crate::state::Shared;
use crate::store::queries::{cases, days};

/// Cases read per query.
pub const BATCH: u64 = 500;

/// Opens business day `today`.
pub async fn open(
    shared: &Shared,
    tx: &DatabaseTransaction,
    out: &mut Effects,
    today: BusinessDate,
) -> Result<Outcome, HandlerError> {
    if days::latest(tx).await?.is_some_and(|d| d >= today) {
        return Ok(Outcome::Done);
    }
    days::record(tx, today).await?;
    let mut looked = 0u64;
    let mut seen = std::collections::HashSet::new();
    loop {
        let due = cases::due(tx, today, BATCH).await?;
        let fresh: Vec<String> = due.into_iter().filter(|c| seen.insert(c.clone())).collect();
        if fresh.is_empty() {
            break;
        }
        for case_id in fresh {
            let Some(mut stored) = cases::load(tx, &case_id, true).await? else {
                continue;
            };
            let cal = shared.calendar(&stored.municipality);
            let rules = shared.rules(&cal);
            let effects = stored.case.day(today, &rules);
            let next = stored.case.next_timer(today, &rules);
            cases::save(tx, &stored.case, next).await?;
            super::effects::carry_out(shared, tx, out, &stored, effects, today).await?;
            looked += 1;
        }
    }
    let erased = super::retention::erase_due(tx, &shared.retention, today).await?;
    crate::metrics::day_cases(looked);
    crate::metrics::cases_by_phase(&cases::count_by_phase(tx).await?);
    tracing::info!(date = %today, cases = looked, erased, "business day: counselling timers run");
    Ok(Outcome::Done)
}
