//! Message → stored state and the business day's work. The agreements queue's routes
//! ([`routes`]); each batch keeps its delivery order.
//!
//! - invoicing's claim events and dunning's transfers keep the claims projection current
//!   ([`claims`]); a claim leaving the books may complete its plan, a payment on a covered claim
//!   counts towards its plan;
//! - dunning's `dunning.caseworker.alerted.v1` becomes a caseworker task ([`crate::alerts`]);
//! - invoicing's `invoicing.debtor.erased.v1` (retention) erases agreements' personal data about
//!   the debtor ([`erasure`]);
//! - `calendar.day.opened.v1` records the business date and does the day's work ([`day`]):
//!   deferrals expire and are reviewed, plans are followed (reminders, defaults), meetings get
//!   their SMS reminder. A date at or before the last one is a duplicate.
//!
//! Before anything is written every debtor the batch touches is locked (PostgreSQL, key order,
//! [`Consume::begin`]) — the API takes the same lock before it changes an agreement, so the two
//! never interleave.

pub mod claims;
pub mod day;
pub mod erasure;

use std::collections::BTreeSet;

use restance_bus::router::{self, Consume, Cx, On, Planned, Routes};
use restance_bus::{HandlerError, Outcome, Rejection, UNKNOWN_CLAIM};
use restance_contracts::messages::{
    CaseworkerAlerted, ClaimBalanceChanged, ClaimHandedOver, ClaimOpened, ClaimSettled,
    ClaimWrittenOff, DayOpened, DebtorErased, PaymentApplied,
};
use restance_contracts::{Message, Subject};
use sea_orm::DatabaseTransaction;

use crate::context::Failure;
use crate::state::Shared;
use crate::store::queries::{self, DebtorKey};

/// The agreements queue: every message type it is bound to, and where it goes.
pub fn routes() -> Routes<Shared> {
    Routes::new()
        .on::<ClaimOpened>()
        .on::<ClaimBalanceChanged>()
        .on::<ClaimSettled>()
        .on::<ClaimWrittenOff>()
        .on::<PaymentApplied>()
        .on::<ClaimHandedOver>()
        .on::<CaseworkerAlerted>()
        .on::<DebtorErased>()
        .on::<DayOpened>()
}

/// One batch's state: the debtors locked.
#[derive(Debug)]
pub struct Batch {
    locked: BTreeSet<DebtorKey>,
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

impl Consume for Shared {
    const SERVICE: &'static str = crate::SERVICE;
    type Key = DebtorKey;
    type Batch<'t> = Batch;

    fn key_of(&self, about: &dyn Subject) -> Option<DebtorKey> {
        router::debtor_key(about)
    }

    fn admit_of(&self, about: &dyn Subject) -> Result<(), Rejection> {
        router::configured_municipality(&self.catalog, about)
    }

    async fn begin<'t>(
        &'t self,
        tx: &'t DatabaseTransaction,
        planned: &Planned<'_, DebtorKey>,
    ) -> Result<Batch, HandlerError> {
        let mut touched: BTreeSet<DebtorKey> = planned.keys().into_iter().collect();
        // The day's work may change any agreement: lock every debtor who has one.
        if planned.contains::<DayOpened>() {
            touched.extend(queries::debtors_with_agreements(tx).await?);
            touched.extend(queries::debtors_with_open_alerts(tx).await?);
        }
        queries::ensure_debtors(tx, &planned.keys_of(&[ClaimOpened::TYPE])).await?;
        let touched: Vec<DebtorKey> = touched.into_iter().collect();
        let locked = queries::lock_debtors(tx, &touched).await?;
        Ok(Batch { locked })
    }
}

impl On<ClaimOpened> for Shared {
    async fn on(&self, cx: &mut Cx<'_, '_, Self>, e: ClaimOpened) -> Result<Outcome, HandlerError> {
        outcome(claims::opened(cx.tx, &e).await)
    }
}

impl On<ClaimBalanceChanged> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        e: ClaimBalanceChanged,
    ) -> Result<Outcome, HandlerError> {
        outcome(claims::balance_changed(cx.tx, &e).await)
    }
}

impl On<ClaimSettled> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        e: ClaimSettled,
    ) -> Result<Outcome, HandlerError> {
        outcome(claims::settled(cx.tx, self, cx.effects, &e).await)
    }
}

impl On<ClaimWrittenOff> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        e: ClaimWrittenOff,
    ) -> Result<Outcome, HandlerError> {
        outcome(claims::written_off(cx.tx, self, cx.effects, &e).await)
    }
}

impl On<PaymentApplied> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        e: PaymentApplied,
    ) -> Result<Outcome, HandlerError> {
        outcome(claims::payment_applied(cx.tx, &e).await)
    }
}

impl On<ClaimHandedOver> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        e: ClaimHandedOver,
    ) -> Result<Outcome, HandlerError> {
        outcome(claims::transferred(cx.tx, self, cx.effects, &e).await)
    }
}

impl On<CaseworkerAlerted> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        e: CaseworkerAlerted,
    ) -> Result<Outcome, HandlerError> {
        outcome(crate::alerts::received(cx.tx, self, &e).await)
    }
}

impl On<DebtorErased> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        e: DebtorErased,
    ) -> Result<Outcome, HandlerError> {
        erasure::debtor_erased(cx.tx, &e).await?;
        Ok(Outcome::Done)
    }
}

impl On<DayOpened> for Shared {
    async fn on(&self, cx: &mut Cx<'_, '_, Self>, d: DayOpened) -> Result<Outcome, HandlerError> {
        outcome(day::open(cx.tx, self, cx.effects, &cx.batch.locked, d.date).await)
    }
}
