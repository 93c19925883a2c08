//! Message → domain → store. The guarantee queue's routes ([`routes`]): the registrations and
//! changes from the immigration authority ([`guarantees`]; a change that ends a guarantee raises
//! recovery or releases it, [`recovery`]), the benefits paid from the benefits office
//! ([`benefits`]), the business day ([`days`]), and invoicing's claims of the recovery cases:
//! opened ([`recovery::send_held_letter`]), paid and settled ([`payments`]).
//!
//! The handlers are thin: they load the guarantee and its history, ask [`crate::domain`], and
//! store what it answers in the consumer's transaction. Every message that cannot be processed
//! is rejected with its reason (dead letter and `guarantee.message.rejected.v1`, by the
//! consumer): malformed input by the contract's decoder before any handler runs (a negative
//! amount, an unknown law, an invalid national id), a municipality not configured here by
//! [`Consume::admit_of`], and the rest by the handlers — a guarantee registered twice with other
//! content, a change the domain refuses (effective before the registration, an amount above the
//! registered one), a benefit sent twice with other content, a change for a guarantee that was
//! never registered.

pub mod benefits;
pub mod days;
pub mod guarantees;
pub mod payments;
pub mod quarterly;
pub mod recovery;
pub mod retention;

use restance_bus::router::{Consume, Cx, On, Planned, Routes, configured_municipality};
use restance_bus::{HandlerError, Outcome, Rejection};
use restance_contracts::Subject;
use restance_contracts::messages::{
    BenefitPaid, ClaimOpened, ClaimSettled, DayOpened, GuaranteeChanged, GuaranteeRegistered,
    PaymentApplied,
};
use sea_orm::DatabaseTransaction;

use crate::state::Shared;

/// The guarantee queue: every message type it is bound to, and where it goes.
pub fn routes() -> Routes<Shared> {
    Routes::new()
        .on::<GuaranteeRegistered>()
        .on::<GuaranteeChanged>()
        .on::<BenefitPaid>()
        .on::<DayOpened>()
        .on::<ClaimOpened>()
        .on::<PaymentApplied>()
        .on::<ClaimSettled>()
}

impl Consume for Shared {
    const SERVICE: &'static str = crate::SERVICE;
    // A change locks its guarantee's row when it reads it; nothing is locked up front.
    type Key = ();
    type Batch<'t> = ();

    /// A registration or a benefit for a municipality this deployment does not serve is
    /// refused before anything is written.
    fn admit_of(&self, about: &dyn Subject) -> Result<(), Rejection> {
        configured_municipality(&self.catalog, about)
    }

    async fn begin<'t>(
        &'t self,
        _tx: &'t DatabaseTransaction,
        _planned: &Planned<'_, ()>,
    ) -> Result<(), HandlerError> {
        Ok(())
    }
}

impl On<GuaranteeRegistered> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        msg: GuaranteeRegistered,
    ) -> Result<Outcome, HandlerError> {
        guarantees::register(self, cx.tx, cx.effects, cx.inbound, msg).await
    }
}

impl On<GuaranteeChanged> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        msg: GuaranteeChanged,
    ) -> Result<Outcome, HandlerError> {
        guarantees::change(self, cx.tx, cx.effects, cx.inbound, msg).await
    }
}

impl On<BenefitPaid> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        msg: BenefitPaid,
    ) -> Result<Outcome, HandlerError> {
        benefits::receive(self, cx.tx, cx.effects, cx.inbound, msg).await
    }
}

/// A claim invoicing opened: for a raised case's claim, the bank's hold-and-pay letter goes out
/// with the claim's payment reference ([`recovery::send_held_letter`]); other claims are ignored.
impl On<ClaimOpened> for Shared {
    async fn on(&self, cx: &mut Cx<'_, '_, Self>, c: ClaimOpened) -> Result<Outcome, HandlerError> {
        recovery::send_held_letter(cx.tx, cx.effects, &c).await?;
        Ok(Outcome::Done)
    }
}

/// A payment invoicing applied: the allocations to a case's claim are recorded on the case
/// ([`payments::applied`]); a payment in full settles and closes it. Other claims are ignored.
impl On<PaymentApplied> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        p: PaymentApplied,
    ) -> Result<Outcome, HandlerError> {
        payments::applied(self, cx.tx, cx.effects, cx.inbound, &p).await
    }
}

/// A claim invoicing settled: for a case's claim still outstanding here, kept for a caseworker
/// ([`payments::claim_settled`]); otherwise ignored.
impl On<ClaimSettled> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        s: ClaimSettled,
    ) -> Result<Outcome, HandlerError> {
        payments::claim_settled(cx.tx, cx.inbound, &s).await
    }
}

impl On<DayOpened> for Shared {
    async fn on(&self, cx: &mut Cx<'_, '_, Self>, d: DayOpened) -> Result<Outcome, HandlerError> {
        days::open(self, cx.tx, cx.effects, d.date, &cx.inbound.envelope.id).await
    }
}

pub(crate) use restance_bus::content_hash;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_is_bound_to_the_three_inbound_types_the_day_and_its_claims() {
        assert_eq!(
            routes().message_types(),
            [
                "benefits.benefit.paid.v1",
                "calendar.day.opened.v1",
                "immigration.guarantee.changed.v1",
                "immigration.guarantee.registered.v1",
                "invoicing.claim.opened.v1",
                "invoicing.claim.settled.v1",
                "invoicing.payment.applied.v1",
            ]
        );
    }
}
