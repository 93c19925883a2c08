//! The business-day worker: for each business day recorded by `calendar.day.opened.v1`, in date
//! order and one at a time,
//!
//! 1. **closes the dates before it**: every calendar date from the previous opened day up to the
//!    day before gets its snapshot (`arrears_daily`, `arrears_debtors`, what fell into arrears
//!    that date) — computed from the claim versions, which no later event changes for those
//!    dates. Weekends and skipped days get snapshots too: a claim's age and whether it is
//!    overdue depend on the date, not on whether the day was opened. One date is one
//!    transaction; a crash repeats at most that date;
//! 2. **produces the reports that fall due** on the day (first business day of the month or
//!    quarter in each municipality's calendar, caught up after skipped days; the follow-ups on a
//!    municipality's extra dates; the groups' consolidated reports —
//!    [`crate::domain::schedule`]), each exactly once ([`crate::produce`]);
//! 3. marks the day done.
//!
//! The consumer records the day and commits at once, so a long snapshot never holds deliveries.

use std::sync::Arc;
use std::time::{Duration, Instant};

use restance_kernel::{BusinessDate, Catalog};
use restance_runtime::rounds::{self, Next, Pace, Rounds};
use sea_orm::{DatabaseConnection, TransactionTrait};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::WorkerSettings;
use crate::domain::report::ReportKind;
use crate::domain::schedule::{DueReport, due_follow_ups, due_reports};
use crate::produce::{ProduceError, Produced, Producer};
use crate::store::queries;

/// The worker (cloned for each start under the supervisor).
#[derive(Debug, Clone)]
pub struct Worker {
    db: DatabaseConnection,
    producer: Producer,
    catalog: Catalog,
    settings: WorkerSettings,
    wake: Arc<Notify>,
}

impl Worker {
    /// A worker on `db`, woken by `wake`.
    pub fn new(
        db: DatabaseConnection,
        producer: Producer,
        catalog: Catalog,
        settings: WorkerSettings,
        wake: Arc<Notify>,
    ) -> Self {
        // At 0 from the start: the report schedule's dashboard and alerts (k8s/monitoring).
        for kind in [
            ReportKind::Monthly,
            ReportKind::Quarterly,
            ReportKind::FollowUp,
        ] {
            metrics::counter!("restance_reporting_reports_published_total", "kind" => kind.as_str())
                .increment(0);
        }
        metrics::counter!("restance_reporting_report_failures_total").increment(0);
        metrics::counter!("restance_reporting_days_closed_total").increment(0);
        let _ = metrics::histogram!("restance_reporting_report_seconds");
        Self {
            db,
            producer,
            catalog,
            settings,
            wake,
        }
    }

    /// Runs until cancelled ([`restance_runtime::rounds`]): a round is one pending day's work;
    /// errors (the database or the disk went away) are retried with backoff; a day stays
    /// pending until its work is done.
    pub async fn run(self, cancel: CancellationToken) {
        let pace = Pace {
            wake: self.wake.clone(),
            poll: Duration::from_millis(self.settings.poll_ms),
        };
        rounds::run(&self, &pace, &cancel).await;
    }

    /// Does the earliest pending day's work; `false` if there was none.
    pub async fn run_next_day(&self, cancel: &CancellationToken) -> Result<bool, ProduceError> {
        let Some(day) = queries::next_pending_day(&self.db).await? else {
            return Ok(false);
        };
        let previous = queries::previous_business_date(&self.db, day).await?;
        if let Some(previous) = previous {
            let last = queries::last_snapshot_date(&self.db).await?;
            let mut date = match last {
                Some(l) if l >= previous => l.add_days(1),
                _ => previous,
            };
            while date < day {
                if cancel.is_cancelled() {
                    return Ok(false);
                }
                self.snapshot(day, date).await?;
                date = date.add_days(1);
            }
        }
        // Every municipality's calendar reports and its follow-ups on extra dates, then the
        // groups' consolidated reports (after their members', on the first member's calendar).
        let mut work: Vec<(&str, DueReport)> = Vec::new();
        for (code, m) in &self.catalog.municipalities {
            let calendar = m.calendar();
            for due in due_reports(&calendar, previous, day) {
                work.push((code, due));
            }
            let extra = self.producer.config.extra_dates(code);
            for due in due_follow_ups(&calendar, &extra, previous, day) {
                work.push((code, due));
            }
        }
        for (key, g) in &self.producer.config.groups {
            let Some(first) = g
                .municipalities
                .first()
                .and_then(|c| self.catalog.municipality(c))
            else {
                continue;
            };
            for due in due_reports(&first.calendar(), previous, day) {
                if g.kinds.contains(&due.kind) {
                    work.push((key, due));
                }
            }
        }
        for (code, due) in work {
            if cancel.is_cancelled() {
                return Ok(false);
            }
            match self.producer.produce(code, &due, day).await? {
                Produced::Published(_) | Produced::NotMine | Produced::NoFigures => {}
                Produced::Failed(reason) => {
                    tracing::error!(municipality = %code, kind = due.kind.as_str(), as_of = %due.as_of,
                        reason = %reason, "report failed; it is recorded as failed and not retried");
                }
            }
        }
        // Another replica may still be rendering one of this day's reports (it answered
        // `NotMine`). The day stays open until that report is published, or until its lease runs
        // out and a worker here takes it over — closing the day now would leave a report whose
        // renderer dies unfinished forever.
        let rendering = queries::reports_rendering(&self.db, day).await?;
        if rendering > 0 {
            tracing::info!(business_date = %day, reports = rendering,
                "another worker is still rendering this day's reports; the day closes once they are published");
            return Ok(false);
        }
        queries::finish_day(&self.db, day).await?;
        metrics::counter!("restance_reporting_days_closed_total").increment(1);
        tracing::info!(business_date = %day, "business day's reporting done");
        Ok(true)
    }

    /// Takes the snapshot of `date` for every municipality (while `day` is being processed).
    pub async fn snapshot(
        &self,
        day: BusinessDate,
        date: BusinessDate,
    ) -> Result<(), ProduceError> {
        let started = Instant::now();
        let tx = self.db.begin().await?;
        // One worker per day at a time, even with several replicas.
        queries::lock_day(&tx, day).await?;
        if queries::has_snapshot(&tx, date).await? {
            tx.rollback().await?;
            return Ok(());
        }
        let mut cells = 0u64;
        for code in self.catalog.municipalities.keys() {
            let arrears = queries::compute_arrears(&tx, code, date).await?;
            let new_arrears = queries::compute_new_arrears(&tx, code, date).await?;
            cells += arrears.cells.len() as u64;
            queries::store_snapshot(&tx, code, date, &arrears, &new_arrears).await?;
        }
        queries::mark_snapshot(&tx, date, cells).await?;
        tx.commit().await?;
        let seconds = started.elapsed().as_secs_f64();
        metrics::histogram!("restance_reporting_snapshot_seconds").record(seconds);
        tracing::info!(as_of = %date, cells, seconds, "arrears snapshot taken");
        Ok(())
    }
}

impl Rounds for Worker {
    const NAME: &'static str = "report schedule";
    type Error = ProduceError;

    async fn round(&self, cancel: &CancellationToken) -> Result<Next, ProduceError> {
        restance_bus::crashpoint::reached("reporting.worker.round");
        Ok(self.run_next_day(cancel).await?.into())
    }
}
