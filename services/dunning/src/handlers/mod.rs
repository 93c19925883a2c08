//! Message → stored state. One handler for the dunning queue; it keeps the batch's delivery
//! order.
//!
//! - invoicing's claim events keep each claim current ([`claims`]): opened, balance changed,
//!   settled, written off, payments (a part payment is an acknowledgement: limitation starts
//!   again), the debtor's details (for transfers);
//! - the agreements events become holds and broken agreements ([`holds`]);
//! - `calendar.day.opened.v1` records a business day for the daily run ([`crate::run`]); a date
//!   at or before the last recorded one is a duplicate.
//!
//! Events never take dunning actions (see [`crate::debtors`]): after the batch each debtor it
//! touched gets its next action date recomputed. Before anything is written every debtor the
//! batch touches is locked (PostgreSQL, key order) — the daily run takes the same locks, so the
//! two never overwrite each other's writes.

pub mod claims;
pub mod holds;

use std::collections::BTreeSet;
use std::sync::Arc;

use restance_bus::{BatchHandler, Effects, HandlerError, Inbound, Outcome, Rejection};
use restance_contracts::Message;
use restance_contracts::messages::{
    ClaimBalanceChanged, ClaimOpened, ClaimSettled, ClaimWrittenOff, DayOpened, DebtorUpdated,
    DeferralEnded, DeferralGranted, MeetingHeld, MeetingMissed, MeetingScheduled, PaymentApplied,
    PlanCompleted, PlanCreated, PlanDefaulted,
};
use restance_kernel::Catalog;
use sea_orm::DatabaseTransaction;
use tokio::sync::Notify;

use crate::debtors;
use crate::domain::Policies;
use crate::store::queries::{self, DebtorKey};

/// Every message type the dunning queue is bound to.
pub const CONSUMED: &[&str] = &[
    ClaimOpened::TYPE,
    ClaimBalanceChanged::TYPE,
    ClaimSettled::TYPE,
    ClaimWrittenOff::TYPE,
    PaymentApplied::TYPE,
    DebtorUpdated::TYPE,
    DayOpened::TYPE,
    PlanCreated::TYPE,
    PlanDefaulted::TYPE,
    PlanCompleted::TYPE,
    DeferralGranted::TYPE,
    DeferralEnded::TYPE,
    MeetingScheduled::TYPE,
    MeetingHeld::TYPE,
    MeetingMissed::TYPE,
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
    /// `invoicing.debtor.updated.v1`.
    Debtor(DebtorUpdated),
    /// `calendar.day.opened.v1`.
    Day(DayOpened),
    /// An agreements event.
    Agreement(holds::AgreementEvent),
}

impl Event {
    fn decode(msg: &Inbound) -> Result<Event, Rejection> {
        use holds::AgreementEvent as A;
        Ok(match msg.message_type() {
            t if t == ClaimOpened::TYPE => Event::Opened(msg.decode()?),
            t if t == ClaimBalanceChanged::TYPE => Event::BalanceChanged(msg.decode()?),
            t if t == ClaimSettled::TYPE => Event::Settled(msg.decode()?),
            t if t == ClaimWrittenOff::TYPE => Event::WrittenOff(msg.decode()?),
            t if t == PaymentApplied::TYPE => Event::Payment(msg.decode()?),
            t if t == DebtorUpdated::TYPE => Event::Debtor(msg.decode()?),
            t if t == DayOpened::TYPE => Event::Day(msg.decode()?),
            t if t == PlanCreated::TYPE => Event::Agreement(A::PlanCreated(msg.decode()?)),
            t if t == PlanDefaulted::TYPE => Event::Agreement(A::PlanDefaulted(msg.decode()?)),
            t if t == PlanCompleted::TYPE => Event::Agreement(A::PlanCompleted(msg.decode()?)),
            t if t == DeferralGranted::TYPE => Event::Agreement(A::DeferralGranted(msg.decode()?)),
            t if t == DeferralEnded::TYPE => Event::Agreement(A::DeferralEnded(msg.decode()?)),
            t if t == MeetingScheduled::TYPE => {
                Event::Agreement(A::MeetingScheduled(msg.decode()?))
            }
            t if t == MeetingHeld::TYPE => Event::Agreement(A::MeetingHeld(msg.decode()?)),
            t if t == MeetingMissed::TYPE => Event::Agreement(A::MeetingMissed(msg.decode()?)),
            other => return Err(Rejection::new(format!("dunning does not handle {other}"))),
        })
    }

    /// The debtor the event is about, if any.
    fn debtor(&self) -> Option<DebtorKey> {
        let key = |m: &str, d: &str| Some((m.to_owned(), d.to_owned()));
        match self {
            Event::Opened(e) => key(&e.claim.municipality, &e.claim.debtor_id),
            Event::BalanceChanged(e) => key(&e.claim.municipality, &e.claim.debtor_id),
            Event::Settled(e) => key(&e.claim.municipality, &e.claim.debtor_id),
            Event::WrittenOff(e) => key(&e.claim.municipality, &e.claim.debtor_id),
            Event::Payment(e) => key(&e.municipality, &e.debtor_id),
            Event::Debtor(e) => key(&e.municipality, &e.debtor.id),
            Event::Day(_) => None,
            Event::Agreement(a) => {
                let s = a.scope();
                key(&s.municipality, &s.debtor_id)
            }
        }
    }

    /// The municipality the event names, if any.
    fn municipality(&self) -> Option<&str> {
        match self {
            Event::Opened(e) => Some(&e.claim.municipality),
            Event::BalanceChanged(e) => Some(&e.claim.municipality),
            Event::Settled(e) => Some(&e.claim.municipality),
            Event::WrittenOff(e) => Some(&e.claim.municipality),
            Event::Payment(e) => Some(&e.municipality),
            Event::Debtor(e) => Some(&e.municipality),
            Event::Day(_) => None,
            Event::Agreement(a) => Some(&a.scope().municipality),
        }
    }
}

/// What the handlers share.
#[derive(Debug)]
pub struct Shared {
    /// The validated policies.
    pub policies: Policies,
    /// The catalog.
    pub catalog: Catalog,
    /// Wakes the daily-run worker when a business day is recorded.
    pub run_wake: Arc<Notify>,
}

/// The dunning service's batch handler.
#[derive(Debug)]
pub struct DunningHandler {
    shared: Arc<Shared>,
}

impl DunningHandler {
    /// A handler on the shared state.
    pub fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }
}

impl BatchHandler for DunningHandler {
    async fn handle(
        &self,
        tx: &DatabaseTransaction,
        batch: &[Inbound],
        _effects: &mut Effects,
    ) -> Result<Vec<Outcome>, HandlerError> {
        let shared = &self.shared;
        // Decode everything first, so that the debtors can be locked before any write.
        let mut decoded: Vec<Result<Event, Rejection>> = Vec::with_capacity(batch.len());
        for msg in batch {
            let event = Event::decode(msg).and_then(|e| match e.municipality() {
                Some(m) if shared.catalog.municipality(m).is_none() => Err(Rejection::new(
                    format!("data.municipality: {m} is not a configured municipality"),
                )),
                _ => Ok(e),
            });
            decoded.push(event);
        }
        let new_debtors: Vec<DebtorKey> = decoded
            .iter()
            .filter_map(|e| match e {
                Ok(ev @ (Event::Opened(_) | Event::Debtor(_))) => ev.debtor(),
                _ => None,
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let touched: Vec<DebtorKey> = decoded
            .iter()
            .filter_map(|e| e.as_ref().ok().and_then(Event::debtor))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        queries::ensure_debtors(tx, &new_debtors).await?;
        let locked = queries::lock_debtors(tx, &touched).await?;

        let mut outcomes = Vec::with_capacity(batch.len());
        let mut changed: BTreeSet<DebtorKey> = BTreeSet::new();
        let mut new_day = false;
        for event in decoded {
            let outcome = match event {
                Err(rejection) => Outcome::Rejected(rejection),
                Ok(event) => {
                    let key = event.debtor();
                    let outcome = match event {
                        Event::Opened(e) => {
                            claims::opened(tx, &shared.policies, &shared.catalog, &e).await?
                        }
                        Event::BalanceChanged(e) => claims::balance_changed(tx, &e).await?,
                        Event::Settled(e) => claims::settled(tx, &e).await?,
                        Event::WrittenOff(e) => claims::written_off(tx, &e).await?,
                        Event::Payment(e) => claims::payment_applied(tx, &e).await?,
                        Event::Debtor(e) => claims::debtor_updated(tx, &e).await?,
                        Event::Day(d) => {
                            let recorded = open_day(tx, d).await?;
                            new_day |= recorded;
                            Outcome::Done
                        }
                        Event::Agreement(a) => {
                            if key.as_ref().is_some_and(|k| locked.contains_key(k)) {
                                holds::apply(tx, &a).await?
                            } else {
                                let s = a.scope();
                                Outcome::Rejected(Rejection::new(format!(
                                    "data.debtor_id: dunning has no claims of debtor {} in municipality {}",
                                    s.debtor_id, s.municipality
                                )))
                            }
                        }
                    };
                    if matches!(outcome, Outcome::Done)
                        && let Some(k) = key
                    {
                        changed.insert(k);
                    }
                    outcome
                }
            };
            outcomes.push(outcome);
        }

        // Re-evaluate every changed debtor's next action date (never its actions).
        let changed: Vec<DebtorKey> = changed.into_iter().collect();
        debtors::reevaluate(tx, &changed, &shared.policies, &shared.catalog).await?;
        if new_day {
            shared.run_wake.notify_one();
        }
        Ok(outcomes)
    }
}

/// `calendar.day.opened.v1`: records the business day for the run; a date at or before the last
/// recorded one is a duplicate (DESIGN.md, "Time: the business day"). Returns whether it was new.
async fn open_day(tx: &DatabaseTransaction, d: DayOpened) -> Result<bool, HandlerError> {
    let last = queries::last_business_date(tx).await?;
    if last.is_some_and(|l| d.date <= l) {
        tracing::info!(business_date = %d.date, last = ?last.map(|l| l.to_string()),
            "business day already opened: duplicate, nothing to do");
        return Ok(false);
    }
    queries::insert_business_day(tx, d.date).await?;
    tracing::info!(business_date = %d.date, "business day opened: the daily run will decide it");
    Ok(true)
}
