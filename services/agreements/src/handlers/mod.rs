//! Message → stored state and the business day's work. One handler for the agreements queue;
//! it keeps the batch's delivery order.
//!
//! - invoicing's claim events and dunning's transfers keep the claims projection current
//!   ([`claims`]); a claim leaving the books may complete its plan, a payment on a covered claim
//!   counts towards its plan;
//! - `calendar.day.opened.v1` records the business date and does the day's work ([`day`]):
//!   deferrals expire and are reviewed, plans are followed (reminders, defaults), meetings get
//!   their SMS reminder. A date at or before the last one is a duplicate.
//!
//! Before anything is written every debtor the batch touches is locked (PostgreSQL, key order) —
//! the API takes the same lock before it changes an agreement, so the two never interleave.

pub mod claims;
pub mod day;

use std::collections::BTreeSet;
use std::sync::Arc;

use restance_bus::{
    BatchHandler, Effects, HandlerError, Inbound, Outcome, Rejection, UNKNOWN_CLAIM,
};
use restance_contracts::Message;
use restance_contracts::messages::{
    ClaimBalanceChanged, ClaimOpened, ClaimSettled, ClaimTransferred, ClaimWrittenOff, DayOpened,
    PaymentApplied,
};
use sea_orm::DatabaseTransaction;

use crate::context::{Failure, Shared};
use crate::store::queries::{self, DebtorKey};

/// Every message type the agreements queue is bound to.
pub const CONSUMED: &[&str] = &[
    ClaimOpened::TYPE,
    ClaimBalanceChanged::TYPE,
    ClaimSettled::TYPE,
    ClaimWrittenOff::TYPE,
    PaymentApplied::TYPE,
    ClaimTransferred::TYPE,
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
    /// `calendar.day.opened.v1`.
    Day(DayOpened),
}

impl Event {
    fn decode(msg: &Inbound) -> Result<Event, Rejection> {
        Ok(match msg.message_type() {
            t if t == ClaimOpened::TYPE => Event::Opened(msg.decode()?),
            t if t == ClaimBalanceChanged::TYPE => Event::BalanceChanged(msg.decode()?),
            t if t == ClaimSettled::TYPE => Event::Settled(msg.decode()?),
            t if t == ClaimWrittenOff::TYPE => Event::WrittenOff(msg.decode()?),
            t if t == PaymentApplied::TYPE => Event::Payment(msg.decode()?),
            t if t == ClaimTransferred::TYPE => Event::Transferred(Box::new(msg.decode()?)),
            t if t == DayOpened::TYPE => Event::Day(msg.decode()?),
            other => {
                return Err(Rejection::new(format!(
                    "agreements does not handle {other}"
                )));
            }
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
            Event::Transferred(e) => key(&e.claim.municipality, &e.claim.debtor_id),
            Event::Day(_) => None,
        }
    }
}

/// The agreements service's batch handler.
#[derive(Debug)]
pub struct AgreementsHandler {
    shared: Arc<Shared>,
}

impl AgreementsHandler {
    /// A handler on the shared state.
    pub fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }
}

/// A refusal inside a handler is a dead letter with the reason; a claim not known yet is
/// handled again for a while first ([`Outcome::NotYet`]); a database failure retries.
fn outcome(result: Result<(), Failure>) -> Result<Outcome, HandlerError> {
    match result {
        Ok(()) => Ok(Outcome::Done),
        Err(Failure::Refused(r)) => Ok(Outcome::Rejected(Rejection::new(r.error))),
        Err(Failure::NotYet(r)) => Ok(Outcome::not_yet(UNKNOWN_CLAIM, Rejection::new(r.error))),
        Err(Failure::Db(e)) => Err(HandlerError::Database(e)),
    }
}

impl BatchHandler for AgreementsHandler {
    async fn handle(
        &self,
        tx: &DatabaseTransaction,
        batch: &[Inbound],
        effects: &mut Effects,
    ) -> Result<Vec<Outcome>, HandlerError> {
        let shared = &self.shared;
        // Decode everything first, so that the debtors can be locked before any write.
        let decoded: Vec<Result<Event, Rejection>> = batch
            .iter()
            .map(|msg| {
                Event::decode(msg).and_then(|e| match e.debtor() {
                    Some((m, _)) if shared.catalog.municipality(&m).is_none() => {
                        Err(Rejection::new(format!(
                            "data.municipality: {m} is not a configured municipality"
                        )))
                    }
                    _ => Ok(e),
                })
            })
            .collect();
        let new_debtors: Vec<DebtorKey> = decoded
            .iter()
            .filter_map(|e| match e {
                Ok(ev @ Event::Opened(_)) => ev.debtor(),
                _ => None,
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut touched: BTreeSet<DebtorKey> = decoded
            .iter()
            .filter_map(|e| e.as_ref().ok().and_then(Event::debtor))
            .collect();
        if decoded.iter().any(|e| matches!(e, Ok(Event::Day(_)))) {
            touched.extend(queries::debtors_with_agreements(tx).await?);
        }
        queries::ensure_debtors(tx, &new_debtors).await?;
        let touched: Vec<DebtorKey> = touched.into_iter().collect();
        let locked = queries::lock_debtors(tx, &touched).await?;

        let mut outcomes = Vec::with_capacity(batch.len());
        for event in decoded {
            let result = match event {
                Err(rejection) => Ok(Outcome::Rejected(rejection)),
                Ok(Event::Opened(e)) => outcome(claims::opened(tx, &e).await),
                Ok(Event::BalanceChanged(e)) => outcome(claims::balance_changed(tx, &e).await),
                Ok(Event::Settled(e)) => outcome(claims::settled(tx, shared, effects, &e).await),
                Ok(Event::WrittenOff(e)) => {
                    outcome(claims::written_off(tx, shared, effects, &e).await)
                }
                Ok(Event::Payment(e)) => outcome(claims::payment_applied(tx, &e).await),
                Ok(Event::Transferred(e)) => {
                    outcome(claims::transferred(tx, shared, effects, &e).await)
                }
                Ok(Event::Day(d)) => outcome(day::open(tx, shared, effects, &locked, d.date).await),
            };
            outcomes.push(result?);
        }
        Ok(outcomes)
    }
}
