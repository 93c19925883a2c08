//! Message → domain → store. The counselling queue's routes ([`routes`]): applications
//! ([`applications`]), invoicing's debtors and claims ([`claims`]) and the business day
//! ([`days`]); what a step sends is [`effects`].
//!
//! Every message that cannot be processed is rejected with its reason (dead letter and
//! `counselling.message.rejected.v1`, by the consumer): malformed input by the contract's
//! decoder before any handler runs (an invalid fødselsnummer, a household of none), and the rest
//! by the handlers — a municipality without debt counselling, a national id of another country,
//! an application sent twice with other content, an application dated in the future.

pub mod applications;
pub mod claims;
pub mod days;
pub mod effects;
pub mod retention;

use restance_bus::router::{Consume, Cx, On, Planned, Routes};
use restance_bus::{HandlerError, Outcome, Rejection};
use restance_contracts::Subject;
use restance_contracts::messages::{
    ClaimBalanceChanged, ClaimOpened, ClaimSettled, ClaimWrittenOff, CounsellingApplied, DayOpened,
    DebtorUpdated,
};
use sea_orm::DatabaseTransaction;

use crate::state::Shared;

/// The counselling queue: every message type it is bound to, and where it goes.
pub fn routes() -> Routes<Shared> {
    Routes::new()
        .on::<CounsellingApplied>()
        .on::<DayOpened>()
        .on::<DebtorUpdated>()
        .on::<ClaimOpened>()
        .on::<ClaimBalanceChanged>()
        .on::<ClaimSettled>()
        .on::<ClaimWrittenOff>()
}

impl Consume for Shared {
    const SERVICE: &'static str = crate::SERVICE;
    // A step locks its case's row when it reads it; nothing is locked up front.
    type Key = ();
    type Batch<'t> = ();

    /// Invoicing's messages of municipalities without counselling are ignored by the handlers
    /// (they are not for this service); nothing is refused up front.
    fn admit_of(&self, _about: &dyn Subject) -> Result<(), Rejection> {
        Ok(())
    }

    async fn begin<'t>(
        &'t self,
        _tx: &'t DatabaseTransaction,
        _planned: &Planned<'_, ()>,
    ) -> Result<(), HandlerError> {
        Ok(())
    }
}

impl On<CounsellingApplied> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        msg: CounsellingApplied,
    ) -> Result<Outcome, HandlerError> {
        let source = cx.inbound.envelope.source.clone();
        applications::applied(self, cx.tx, cx.effects, &source, &msg).await
    }
}

impl On<DayOpened> for Shared {
    async fn on(&self, cx: &mut Cx<'_, '_, Self>, d: DayOpened) -> Result<Outcome, HandlerError> {
        days::open(self, cx.tx, cx.effects, d.date).await
    }
}

impl On<DebtorUpdated> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        d: DebtorUpdated,
    ) -> Result<Outcome, HandlerError> {
        claims::debtor_updated(self, cx.tx, cx.effects, &d).await
    }
}

impl On<ClaimOpened> for Shared {
    async fn on(&self, cx: &mut Cx<'_, '_, Self>, c: ClaimOpened) -> Result<Outcome, HandlerError> {
        claims::opened(self, cx.tx, &c).await
    }
}

impl On<ClaimBalanceChanged> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        c: ClaimBalanceChanged,
    ) -> Result<Outcome, HandlerError> {
        claims::balance_changed(self, cx.tx, &c).await
    }
}

impl On<ClaimSettled> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        c: ClaimSettled,
    ) -> Result<Outcome, HandlerError> {
        claims::settled(self, cx.tx, &c).await
    }
}

impl On<ClaimWrittenOff> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        c: ClaimWrittenOff,
    ) -> Result<Outcome, HandlerError> {
        claims::written_off(self, cx.tx, &c).await
    }
}

pub(crate) use restance_bus::content_hash;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_is_bound_to_applications_the_day_and_invoicings_debtors_and_claims() {
        assert_eq!(
            routes().message_types(),
            [
                "calendar.day.opened.v1",
                "invoicing.claim.balance_changed.v1",
                "invoicing.claim.opened.v1",
                "invoicing.claim.settled.v1",
                "invoicing.claim.written_off.v1",
                "invoicing.debtor.updated.v1",
                "selfservice.counselling.applied.v1",
            ]
        );
    }
}
