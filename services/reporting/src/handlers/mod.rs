//! Message → projection. One handler for the reporting queue; it applies a batch in delivery
//! order on a [`working_set::WorkingSet`] and writes it back in one transaction.
//!
//! - invoicing's and dunning's claim events keep each claim and its versions ([`claims`]);
//! - agreements' plans and deferrals set the claims' state ([`agreements`]);
//! - `calendar.day.opened.v1` moves the business date every later change is stamped with, starts
//!   and ends deferrals, and records the day for the worker ([`crate::worker`]), which takes the
//!   closed dates' snapshots and produces the reports that fall due. A date at or before the last
//!   one opened is a duplicate.
//!
//! **Business dates** (README): a change is stamped with the last business date opened — events
//! that arrive between two day openings belong to the earlier day, whatever date they carry.
//! History is therefore only ever appended at the current date, and a snapshot of a closed date
//! never changes. Batches are serialised across replicas (an advisory lock on PostgreSQL), so no
//! event stamped with a day can commit after the next day was opened.

pub mod agreements;
pub mod claims;
pub mod working_set;

use std::sync::Arc;

use restance_bus::{BatchHandler, Effects, HandlerError, Inbound, Outcome, Rejection};
use restance_contracts::Message;
use restance_contracts::messages::{
    ClaimBalanceChanged, ClaimOpened, ClaimSettled, ClaimTransferred, ClaimWrittenOff, DayOpened,
    DeferralEnded, DeferralGranted, PaymentApplied, PlanCompleted, PlanCreated, PlanDefaulted,
};
use restance_kernel::Catalog;
use sea_orm::DatabaseTransaction;
use tokio::sync::Notify;

use crate::store::queries;
use agreements::AgreementEvent;
use working_set::WorkingSet;

/// Every message type the reporting queue is bound to.
pub const CONSUMED: &[&str] = &[
    ClaimOpened::TYPE,
    ClaimBalanceChanged::TYPE,
    ClaimSettled::TYPE,
    ClaimWrittenOff::TYPE,
    PaymentApplied::TYPE,
    ClaimTransferred::TYPE,
    PlanCreated::TYPE,
    PlanDefaulted::TYPE,
    PlanCompleted::TYPE,
    DeferralGranted::TYPE,
    DeferralEnded::TYPE,
    DayOpened::TYPE,
];

/// A decoded message.
#[derive(Debug)]
pub enum Event {
    /// `invoicing.claim.opened.v1`.
    Opened(ClaimOpened),
    /// `invoicing.claim.balance_changed.v1`.
    BalanceChanged(ClaimBalanceChanged),
    /// `invoicing.claim.settled.v1`.
    Settled(ClaimSettled),
    /// `invoicing.claim.written_off.v1`.
    WrittenOff(ClaimWrittenOff),
    /// `invoicing.payment.applied.v1`.
    Payment(PaymentApplied),
    /// `dunning.claim.transferred.v1`.
    Transferred(Box<ClaimTransferred>),
    /// An agreements event.
    Agreement(AgreementEvent),
    /// `calendar.day.opened.v1`.
    Day(DayOpened),
}

impl Event {
    fn decode(msg: &Inbound) -> Result<Event, Rejection> {
        use AgreementEvent as A;
        Ok(match msg.message_type() {
            t if t == ClaimOpened::TYPE => Event::Opened(msg.decode()?),
            t if t == ClaimBalanceChanged::TYPE => Event::BalanceChanged(msg.decode()?),
            t if t == ClaimSettled::TYPE => Event::Settled(msg.decode()?),
            t if t == ClaimWrittenOff::TYPE => Event::WrittenOff(msg.decode()?),
            t if t == PaymentApplied::TYPE => Event::Payment(msg.decode()?),
            t if t == ClaimTransferred::TYPE => Event::Transferred(Box::new(msg.decode()?)),
            t if t == PlanCreated::TYPE => Event::Agreement(A::PlanCreated(msg.decode()?)),
            t if t == PlanDefaulted::TYPE => Event::Agreement(A::PlanDefaulted(msg.decode()?)),
            t if t == PlanCompleted::TYPE => Event::Agreement(A::PlanCompleted(msg.decode()?)),
            t if t == DeferralGranted::TYPE => Event::Agreement(A::DeferralGranted(msg.decode()?)),
            t if t == DeferralEnded::TYPE => Event::Agreement(A::DeferralEnded(msg.decode()?)),
            t if t == DayOpened::TYPE => Event::Day(msg.decode()?),
            other => return Err(Rejection::new(format!("reporting does not handle {other}"))),
        })
    }

    /// The municipality the event names, if any.
    fn municipality(&self) -> Option<&str> {
        match self {
            Event::Opened(e) => Some(&e.claim.municipality),
            Event::BalanceChanged(e) => Some(&e.claim.municipality),
            Event::Settled(e) => Some(&e.claim.municipality),
            Event::WrittenOff(e) => Some(&e.claim.municipality),
            Event::Payment(e) => Some(&e.municipality),
            Event::Transferred(e) => Some(&e.claim.municipality),
            Event::Agreement(a) => Some(&a.scope().municipality),
            Event::Day(_) => None,
        }
    }

    /// The claims it names (preloaded for the batch in one query).
    fn claim_ids(&self) -> Vec<String> {
        match self {
            Event::Opened(e) => vec![e.claim.claim_id.clone()],
            Event::BalanceChanged(e) => vec![e.claim.claim_id.clone()],
            Event::Settled(e) => vec![e.claim.claim_id.clone()],
            Event::WrittenOff(e) => vec![e.claim.claim_id.clone()],
            Event::Payment(e) => e.allocations.iter().map(|a| a.claim_id.clone()).collect(),
            Event::Transferred(e) => vec![e.claim.claim_id.clone()],
            Event::Agreement(a) => a.scope().claim_ids.clone(),
            Event::Day(_) => Vec::new(),
        }
    }
}

/// What the handlers share.
#[derive(Debug)]
pub struct Shared {
    /// The catalog.
    pub catalog: Catalog,
    /// Wakes the worker when a business day is recorded.
    pub worker_wake: Arc<Notify>,
}

/// The reporting service's batch handler.
#[derive(Debug)]
pub struct ReportingHandler {
    shared: Arc<Shared>,
}

impl ReportingHandler {
    /// A handler on the shared state.
    pub fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }
}

impl BatchHandler for ReportingHandler {
    async fn handle(
        &self,
        tx: &DatabaseTransaction,
        batch: &[Inbound],
        _effects: &mut Effects,
    ) -> Result<Vec<Outcome>, HandlerError> {
        let catalog = &self.shared.catalog;
        let decoded: Vec<Result<Event, Rejection>> = batch
            .iter()
            .map(|msg| {
                Event::decode(msg).and_then(|e| match e.municipality() {
                    Some(m) if catalog.municipality(m).is_none() => Err(Rejection::new(format!(
                        "data.municipality: {m} is not a configured municipality"
                    ))),
                    _ => Ok(e),
                })
            })
            .collect();
        queries::lock_projection(tx).await?;
        let day = queries::last_business_date(tx).await?;
        let mut ws = WorkingSet::new(tx, day);
        let ids: Vec<String> = decoded
            .iter()
            .filter_map(|e| e.as_ref().ok())
            .flat_map(Event::claim_ids)
            .collect();
        ws.preload(&ids).await?;

        let mut outcomes = Vec::with_capacity(batch.len());
        let mut new_day = false;
        for event in decoded {
            let outcome = match event {
                Err(rejection) => Outcome::Rejected(rejection),
                Ok(Event::Opened(e)) => claims::opened(&mut ws, catalog, &e).await?,
                Ok(Event::BalanceChanged(e)) => claims::balance_changed(&mut ws, &e).await?,
                Ok(Event::Settled(e)) => claims::settled(&mut ws, &e).await?,
                Ok(Event::WrittenOff(e)) => claims::written_off(&mut ws, &e).await?,
                Ok(Event::Payment(e)) => claims::payment_applied(&mut ws, &e).await?,
                Ok(Event::Transferred(e)) => claims::transferred(&mut ws, &e).await?,
                Ok(Event::Agreement(a)) => agreements::apply(&mut ws, &a).await?,
                Ok(Event::Day(d)) => {
                    if ws.day.is_some_and(|last| d.date <= last) {
                        tracing::info!(business_date = %d.date, last = ?ws.day.map(|l| l.to_string()),
                            "business day already opened: duplicate, nothing to do");
                    } else {
                        queries::insert_business_day(tx, d.date).await?;
                        ws.day = Some(d.date);
                        agreements::day_opened(&mut ws, d.date).await?;
                        new_day = true;
                        tracing::info!(business_date = %d.date,
                            "business day opened: later changes belong to it; the worker closes the dates before it");
                    }
                    Outcome::Done
                }
            };
            outcomes.push(outcome);
        }
        let versions = ws.flush().await?;
        metrics::counter!("restance_reporting_versions_written_total").increment(versions as u64);
        if new_day {
            self.shared.worker_wake.notify_one();
        }
        Ok(outcomes)
    }
}
