//! The daily run: for each business day recorded by `calendar.day.opened.v1`, in date order and
//! one at a time, every debtor whose next action date has come is decided and its decisions are
//! published.
//!
//! How it works:
//! 1. The consumer records the day (`business_days`, state `pending`) and commits — the
//!    delivery is acked at once, however long the run takes.
//! 2. This worker takes the earliest unfinished day and processes it in chunks of
//!    `dunning.run.chunk_debtors` debtors. One chunk is one transaction: lock the day row (one
//!    chunk of one run at a time, even with several replicas), select the next debtors with
//!    `next_action_date <= day` after the day's cursor (index `debtors_due`), lock them, load
//!    their claims, holds and broken agreements, decide (`domain::next_steps`), write the
//!    history, the claims and the new next action dates, put every event and notification in
//!    the outbox, advance the cursor — commit.
//! 3. When no debtor is left the day is `done`; the next recorded day follows.
//!
//! **A debtor that fails** does not stop the day. A chunk that fails while the database answers
//! is retried one debtor at a time; a debtor that fails on its own is counted
//! (`run_failures`), retried after the backoff, and after `dunning.run.park_after_failures`
//! attempts parked for the day: the cursor moves past it, a `dunning.caseworker.alerted.v1` with
//! the reason goes out, `restance_dunning_debtors_parked_total` counts it, and the rest of the
//! day goes on. Its next action date is unchanged, so the next business day tries it again. An
//! unreachable database is an outage, never a debtor's fault: the worker backs off without
//! counting.
//!
//! **Crash safety**: a kill -9 loses at most the chunk in flight (nothing of it was
//! committed); on restart the worker continues from the committed cursor. Nothing is doubled:
//! committed debtors have moved past the day, every effect has a natural key (notification id,
//! fee per claim and step, interest id, transfer id), and the domain takes at most one step per
//! claim and day.

use std::sync::Arc;
use std::time::{Duration, Instant};

use restance_bus::{Effects, HandlerError, Outbox};
use restance_contracts::messages::CaseworkerAlerted;
use restance_kernel::BusinessDate;
use restance_runtime::rounds::{self, Next, Pace, Rounds};
use sea_orm::{DatabaseConnection, TransactionTrait};
use tokio_util::sync::CancellationToken;

use crate::config::{LetterSettings, RunSettings};
use crate::debtors;
use crate::publish::{DayOutput, Publisher};
use crate::state::Shared;
use crate::store::queries::{self, DebtorKey};

/// The daily-run worker (cloned for each start under the supervisor).
#[derive(Debug, Clone)]
pub struct DailyRun {
    db: DatabaseConnection,
    outbox: Outbox,
    shared: Arc<Shared>,
    letters: LetterSettings,
    settings: RunSettings,
    source: String,
}

/// What one chunk did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunk {
    /// Debtors decided, decisions taken.
    Processed(u64, u64),
    /// Nothing was left: the day is done.
    DayDone,
}

impl DailyRun {
    /// A worker publishing with `source` (`/restance/dunning`).
    pub fn new(
        db: DatabaseConnection,
        outbox: Outbox,
        shared: Arc<Shared>,
        letters: LetterSettings,
        settings: RunSettings,
        source: String,
    ) -> Self {
        // At 0 from the start (k8s/monitoring alerts on their increase).
        metrics::counter!("restance_dunning_debtors_parked_total").increment(0);
        metrics::counter!("restance_dunning_debtors_evaluated_total").increment(0);
        metrics::gauge!("restance_dunning_run_unfinished").set(0.0);
        // debtors done of the day being run; the last finish (0: none since this process started)
        metrics::gauge!("restance_dunning_run_day_debtors").set(0.0);
        metrics::gauge!("restance_dunning_run_last_finished_timestamp_seconds").increment(0.0);
        let _ = metrics::histogram!("restance_dunning_run_seconds");
        Self {
            db,
            outbox,
            shared,
            letters,
            settings,
            source,
        }
    }

    /// Runs recorded days until cancelled ([`restance_runtime::rounds`]): a round is one
    /// recorded day to its end; errors (the database went away) are retried with backoff; a
    /// chunk is never half done.
    pub async fn run(self, cancel: CancellationToken) {
        let pace = Pace {
            wake: self.shared.run_wake.clone(),
            poll: Duration::from_millis(self.settings.poll_ms),
        };
        rounds::run(&self, &pace, &cancel).await;
    }

    /// Runs the earliest unfinished day to its end; `false` if there was none.
    pub async fn run_next_day(&self, cancel: &CancellationToken) -> Result<bool, HandlerError> {
        let Some(day) = queries::next_unfinished_day(&self.db).await? else {
            metrics::gauge!("restance_dunning_run_unfinished").set(0.0);
            return Ok(false);
        };
        // 1 while a recorded business day's run is not finished (alert: not done by morning)
        metrics::gauge!("restance_dunning_run_unfinished").set(1.0);
        let started = Instant::now();
        if day.state == "pending" {
            tracing::info!(business_date = %day.date, "daily run started");
        } else {
            tracing::info!(business_date = %day.date, debtors = day.debtors,
                "daily run resumed after an interruption");
        }
        let (mut debtors, mut decisions, mut parked) = (0u64, 0u64, 0u64);
        // after a chunk failed: how many more debtors to take one at a time
        let mut singles = 0usize;
        loop {
            if cancel.is_cancelled() {
                tracing::info!(business_date = %day.date, debtors, "daily run paused for shutdown; it resumes at the next start");
                return Ok(false);
            }
            let limit = if singles > 0 {
                1
            } else {
                self.settings.chunk_debtors
            };
            match self.run_chunk(day.date, limit).await {
                Ok(Chunk::Processed(d, n)) => {
                    debtors += d;
                    decisions += n;
                    let done = u64::try_from(day.debtors)
                        .unwrap_or(0)
                        .saturating_add(debtors);
                    metrics::gauge!("restance_dunning_run_day_debtors").set(done as f64);
                    singles = singles.saturating_sub(1);
                }
                Ok(Chunk::DayDone) => break,
                Err(err) => match self.after_failure(day.date, limit, err).await? {
                    AfterFailure::OneAtATime => singles = self.settings.chunk_debtors,
                    AfterFailure::Parked => {
                        parked += 1;
                        singles = singles.saturating_sub(1);
                    }
                },
            }
        }
        let secs = started.elapsed().as_secs_f64();
        metrics::histogram!("restance_dunning_run_seconds").record(secs);
        metrics::gauge!("restance_dunning_run_last_finished_timestamp_seconds")
            .set(chrono::Utc::now().timestamp() as f64);
        tracing::info!(business_date = %day.date, debtors, decisions, parked, seconds = secs,
            "daily run finished");
        Ok(true)
    }

    /// What to do after `run_chunk(day, limit)` failed with `err`: an error back to the caller
    /// (back off and try again), or go on with the day (see the module documentation).
    async fn after_failure(
        &self,
        day: BusinessDate,
        limit: usize,
        err: HandlerError,
    ) -> Result<AfterFailure, HandlerError> {
        if err.is_contention() || self.db.ping().await.is_err() {
            return Err(err);
        }
        if limit > 1 {
            tracing::warn!(business_date = %day, error = %err,
                "a chunk of the daily run failed; its debtors are retried one at a time");
            return Ok(AfterFailure::OneAtATime);
        }
        let tx = self.db.begin().await?;
        let Some(state) = queries::lock_day(&tx, day).await? else {
            return Err(err);
        };
        let Some(debtor) = queries::due_debtors(&tx, day, state.cursor.as_ref(), 1)
            .await?
            .into_iter()
            .next()
        else {
            return Err(err);
        };
        let failures = queries::record_run_failure(&tx, day, &debtor, &err.to_string()).await?;
        if failures < i64::from(self.settings.park_after_failures) {
            tx.commit().await?;
            tracing::warn!(business_date = %day, municipality = %debtor.municipality,
                debtor_id = %debtor.debtor_id, failures, error = %err,
                "the daily run failed on a debtor; retrying after a pause");
            return Err(err);
        }
        queries::park_debtor(&tx, day, &debtor).await?;
        let key: DebtorKey = (debtor.municipality.clone(), debtor.debtor_id.clone());
        let claims = queries::claim_refs(&tx, &key).await?;
        let mut effects = Effects::new(&self.source);
        if !claims.is_empty() {
            effects
                .emit(CaseworkerAlerted {
                    alert_id: format!("run-parked-{day}-{}-{}", debtor.municipality, debtor.debtor_id),
                    municipality: debtor.municipality.clone(),
                    debtor_id: debtor.debtor_id.clone(),
                    category: claims[0].1.clone(),
                    claim_ids: claims.iter().map(|(id, _)| id.clone()).collect(),
                    reason: format!(
                        "the daily run of {day} could not decide this debtor after {failures} attempts and skipped it for the day; \
                         it is tried again on the next business day. Error: {}",
                        err.to_string().chars().take(300).collect::<String>()
                    ),
                    alerted_date: day,
                })
?;
        }
        let messages = effects.into_messages();
        self.outbox.enqueue(&tx, &messages).await?;
        queries::advance_day(&tx, day, &debtor, 0, 0).await?;
        tx.commit().await?;
        self.outbox.wake();
        metrics::counter!("restance_dunning_debtors_parked_total").increment(1);
        tracing::error!(business_date = %day, municipality = %debtor.municipality,
            debtor_id = %debtor.debtor_id, failures, error = %err,
            "debtor parked: the daily run skips it today (caseworker alerted); the next business day tries again");
        Ok(AfterFailure::Parked)
    }

    /// One chunk of up to `limit` debtors of `day` in one transaction (see the module
    /// documentation).
    pub async fn run_chunk(&self, day: BusinessDate, limit: usize) -> Result<Chunk, HandlerError> {
        let started = Instant::now();
        let shared = &self.shared;
        let tx = self.db.begin().await?;
        let Some(state) = queries::lock_day(&tx, day).await? else {
            return Ok(Chunk::DayDone);
        };
        if state.state == "done" {
            return Ok(Chunk::DayDone);
        }
        let due = queries::due_debtors(&tx, day, state.cursor.as_ref(), limit).await?;
        let Some(last) = due.last().cloned() else {
            queries::finish_day(&tx, day).await?;
            tx.commit().await?;
            return Ok(Chunk::DayDone);
        };
        let keys: Vec<DebtorKey> = due
            .iter()
            .map(|c| (c.municipality.clone(), c.debtor_id.clone()))
            .collect();
        let rows = queries::lock_debtors(&tx, &keys).await?;
        let mut loaded = debtors::load(&tx, &rows).await?;
        let publisher = Publisher {
            policies: &shared.policies,
            catalog: &shared.catalog,
            letters: &self.letters,
        };
        let decided: Vec<_> = loaded.iter().map(|d| publisher.decide(d, day)).collect();
        let transfers: Vec<DebtorKey> = loaded
            .iter()
            .zip(&decided)
            .filter(|(_, ds)| {
                ds.decisions
                    .iter()
                    .any(|d| matches!(d.action, crate::domain::Action::Transfer { .. }))
            })
            .map(|(d, _)| d.key.clone())
            .collect();
        let details = if transfers.is_empty() {
            Default::default()
        } else {
            queries::debtor_details(&tx, &transfers).await?
        };
        let mut out = DayOutput::new(&self.source);
        let mut dates = Vec::with_capacity(loaded.len());
        let mut claims = Vec::new();
        for (debtor, decisions) in loaded.iter_mut().zip(decided) {
            // What the run does for a debtor continues the trace of its last opened claim.
            let traced = rows.get(&debtor.key).and_then(|r| r.traceparent.as_deref());
            let next = restance_bus::trace::resumed_span("debtor", traced).in_scope(|| {
                publisher.apply(debtor, decisions, details.get(&debtor.key), day, &mut out)
            })?;
            dates.push((debtor.key.clone(), next));
            claims.extend(debtor.claims.iter().cloned());
        }
        let debtor_count = loaded.len() as u64;
        let decision_count = out.decisions();
        queries::upsert_claims(&tx, &claims).await?;
        queries::insert_history(&tx, &out.history).await?;
        queries::insert_write_offs(&tx, &out.write_offs).await?;
        queries::insert_cases(&tx, &out.cases).await?;
        queries::set_next_action_dates(&tx, &dates).await?;
        let messages = out.effects.into_messages();
        self.outbox.enqueue(&tx, &messages).await?;
        queries::advance_day(
            &tx,
            day,
            &last,
            i64::try_from(debtor_count).unwrap_or(i64::MAX),
            i64::try_from(decision_count).unwrap_or(i64::MAX),
        )
        .await?;
        restance_bus::crashpoint::reached("dunning.run.before_commit");
        tx.commit().await?;
        restance_bus::crashpoint::reached("dunning.run.after_commit");
        if !messages.is_empty() {
            self.outbox.wake();
        }
        metrics::counter!("restance_dunning_debtors_evaluated_total").increment(debtor_count);
        metrics::histogram!("restance_dunning_run_chunk_seconds")
            .record(started.elapsed().as_secs_f64());
        Ok(Chunk::Processed(debtor_count, decision_count))
    }
}

/// How the run goes on after a failed chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AfterFailure {
    /// Retry the chunk's debtors one at a time.
    OneAtATime,
    /// The failing debtor was parked; the day goes on.
    Parked,
}

impl Rounds for DailyRun {
    const NAME: &'static str = "daily run";
    type Error = HandlerError;

    async fn round(&self, cancel: &CancellationToken) -> Result<Next, HandlerError> {
        Ok(self.run_next_day(cancel).await?.into())
    }
}
