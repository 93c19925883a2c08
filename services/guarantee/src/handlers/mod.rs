//! Message → domain → store. The guarantee queue's routes ([`routes`]): the registrations and
//! changes from the immigration authority ([`guarantees`]), the benefits paid from the benefits
//! office ([`benefits`]), and the business day ([`days`]).
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

use restance_bus::router::{Consume, Cx, On, Planned, Routes, configured_municipality};
use restance_bus::{HandlerError, Outcome, Rejection};
use restance_contracts::messages::{BenefitPaid, DayOpened, GuaranteeChanged, GuaranteeRegistered};
use restance_contracts::{Message, Problem, Subject, Validate};
use sea_orm::DatabaseTransaction;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::state::Shared;

/// The guarantee queue: every message type it is bound to, and where it goes.
pub fn routes() -> Routes<Shared> {
    Routes::new()
        .on::<WithSubject<GuaranteeRegistered>>()
        .on::<WithSubject<GuaranteeChanged>>()
        .on::<WithSubject<BenefitPaid>>()
        .on::<DayOpened>()
}

/// A contract message with the municipality it is about, for the router.
///
/// The router needs [`Subject`] for every type it routes, and the contract has none yet for the
/// three messages only this service consumes; a trait and a type of the contract crate cannot
/// be joined here, so this wrapper does it. It is the message itself on the wire
/// (`#[serde(transparent)]`: the same decoding, the same field paths in a rejection, the same
/// validation and routing key). When the contract's `subject.rs` names these three types, the
/// routes take them directly and this wrapper goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WithSubject<T>(pub T);

impl<T: Message> Validate for WithSubject<T> {
    fn validate(&self) -> Vec<Problem> {
        self.0.validate()
    }
}

impl<T: Message> Message for WithSubject<T> {
    const TYPE: &'static str = T::TYPE;
}

impl Subject for WithSubject<GuaranteeRegistered> {
    fn municipality(&self) -> Option<&str> {
        Some(&self.0.municipality)
    }
}

impl Subject for WithSubject<BenefitPaid> {
    fn municipality(&self) -> Option<&str> {
        Some(&self.0.municipality)
    }
}

/// A change names only its guarantee; the guarantee's municipality was checked when it was
/// registered.
impl Subject for WithSubject<GuaranteeChanged> {}

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

impl On<WithSubject<GuaranteeRegistered>> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        msg: WithSubject<GuaranteeRegistered>,
    ) -> Result<Outcome, HandlerError> {
        guarantees::register(self, cx.tx, cx.inbound, msg.0).await
    }
}

impl On<WithSubject<GuaranteeChanged>> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        msg: WithSubject<GuaranteeChanged>,
    ) -> Result<Outcome, HandlerError> {
        guarantees::change(cx.tx, cx.inbound, msg.0).await
    }
}

impl On<WithSubject<BenefitPaid>> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        msg: WithSubject<BenefitPaid>,
    ) -> Result<Outcome, HandlerError> {
        benefits::receive(cx.tx, cx.inbound, msg.0).await
    }
}

impl On<DayOpened> for Shared {
    async fn on(&self, cx: &mut Cx<'_, '_, Self>, d: DayOpened) -> Result<Outcome, HandlerError> {
        days::open(cx.tx, d.date).await
    }
}

/// SHA-256 (hex) of a message's data as it decoded: the same content gives the same hash
/// whatever the envelope around it.
pub(crate) fn content_hash<T: Serialize>(data: &T) -> Result<String, HandlerError> {
    let bytes = serde_json::to_vec(data)
        .map_err(|e| HandlerError::Other(format!("the message does not serialize: {e}")))?;
    Ok(hex::encode(Sha256::digest(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_is_bound_to_the_three_inbound_types_and_the_day() {
        assert_eq!(
            routes().message_types(),
            [
                "benefits.benefit.paid.v1",
                "calendar.day.opened.v1",
                "immigration.guarantee.changed.v1",
                "immigration.guarantee.registered.v1",
            ]
        );
    }

    fn envelope(data: serde_json::Value) -> restance_contracts::Envelope<serde_json::Value> {
        serde_json::from_value(serde_json::json!({"specversion":"1.0","id":"c1",
            "source":"/immigration/uds","type":"immigration.guarantee.changed.v1",
            "time":"2026-12-01T06:00:00Z","data":data}))
        .expect("envelope")
    }

    #[test]
    fn the_wrapper_decodes_validates_and_names_fields_as_the_message_does() {
        use restance_contracts::decode_data;
        let good = envelope(serde_json::json!({"guarantee_id":"G-1","reason":"divorce",
            "effective_date":"2026-05-01"}));
        let wrapped = decode_data::<WithSubject<GuaranteeChanged>>(&good).expect("decodes");
        assert_eq!(
            wrapped.0,
            decode_data::<GuaranteeChanged>(&good).expect("decodes")
        );
        for (data, path) in [
            (
                serde_json::json!({"guarantee_id":"G-1","reason":"amount_reduced",
                    "effective_date":"2025-01-01"}),
                "data.new_amount",
            ),
            (
                serde_json::json!({"guarantee_id":"G-1","reason":"eloped",
                    "effective_date":"2025-01-01"}),
                "data.reason",
            ),
        ] {
            let e = envelope(data);
            let wrapped = decode_data::<WithSubject<GuaranteeChanged>>(&e)
                .expect_err("refused")
                .to_string();
            let bare = decode_data::<GuaranteeChanged>(&e)
                .expect_err("refused")
                .to_string();
            assert_eq!(wrapped, bare);
            assert!(wrapped.contains(path), "{wrapped}");
        }
    }
}
