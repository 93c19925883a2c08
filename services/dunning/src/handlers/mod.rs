//! Message → stored state. The dunning queue's routes ([`routes`]); each batch keeps its
//! delivery order.
//!
//! - invoicing's claim events keep each claim current ([`claims`]): opened, balance changed,
//!   settled, written off, payments (a part payment is an acknowledgement: limitation starts
//!   again), the debtor's details (for transfers);
//! - the agreements events become holds and broken agreements, debt counselling's events a
//!   counselling hold on the debtor ([`holds`]);
//! - `calendar.day.opened.v1` records a business day for the daily run ([`crate::run`]); a date
//!   at or before the last recorded one is a duplicate.
//!
//! Events never take dunning actions (see [`crate::debtors`]): after the batch each debtor it
//! touched gets its next action date recomputed ([`Consume::finish`]). Before anything is
//! written every debtor the batch touches is locked (PostgreSQL, key order,
//! [`Consume::begin`]) — the daily run takes the same locks, so the two never overwrite each
//! other's writes.

pub mod claims;
pub mod holds;

use std::collections::{BTreeMap, BTreeSet};

use restance_bus::router::{self, Consume, Cx, Handled, On, Planned, Routes};
use restance_bus::{Effects, HandlerError, Outcome, Rejection};
use restance_contracts::messages::{
    AgreementEvent, ClaimBalanceChanged, ClaimOpened, ClaimReleased, ClaimSettled, ClaimWrittenOff,
    DayOpened, DebtorErased, DebtorUpdated, DeferralEnded, DeferralGranted, DunningHeld,
    DunningReleased, MeetingHeld, MeetingMissed, MeetingScheduled, PaymentApplied, PlanCompleted,
    PlanCreated, PlanDefaulted,
};
use restance_contracts::{Message, Subject};
use sea_orm::DatabaseTransaction;

use crate::debtors;
use crate::state::Shared;
use crate::store::queries::{self, DebtorKey};

/// The dunning queue: every message type it is bound to, and where it goes.
pub fn routes() -> Routes<Shared> {
    Routes::new()
        .on::<ClaimOpened>()
        .on::<ClaimBalanceChanged>()
        .on::<ClaimSettled>()
        .on::<ClaimWrittenOff>()
        .on::<PaymentApplied>()
        .on::<DebtorUpdated>()
        .on::<DebtorErased>()
        .on::<DayOpened>()
        .on::<PlanCreated>()
        .on::<PlanDefaulted>()
        .on::<PlanCompleted>()
        .on::<DeferralGranted>()
        .on::<DeferralEnded>()
        .on::<MeetingScheduled>()
        .on::<MeetingHeld>()
        .on::<MeetingMissed>()
        .on::<DunningHeld>()
        .on::<DunningReleased>()
        .on::<ClaimReleased>()
}

/// One batch's state.
#[derive(Debug)]
pub struct Batch {
    /// The debtors locked (those that exist), with their stored details.
    locked: BTreeMap<DebtorKey, queries::DebtorRow>,
    /// A business day was recorded: wake the daily run after the batch.
    new_day: bool,
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
        // A new claim, a debtor's details or a counselling hold may name a debtor dunning has
        // not seen: insert it first, so that it has a row to lock (a counselling hold then
        // covers the claims opened later).
        let new_debtors =
            planned.keys_of(&[ClaimOpened::TYPE, DebtorUpdated::TYPE, DunningHeld::TYPE]);
        queries::ensure_debtors(tx, &new_debtors).await?;
        let locked = queries::lock_debtors(tx, &planned.keys()).await?;
        Ok(Batch {
            locked,
            new_day: false,
        })
    }

    async fn finish<'t>(
        &'t self,
        tx: &'t DatabaseTransaction,
        batch: Batch,
        handled: &[Handled<'_, DebtorKey>],
        _effects: &mut Effects,
    ) -> Result<(), HandlerError> {
        // Re-evaluate every changed debtor's next action date (never its actions).
        let changed: Vec<DebtorKey> = handled
            .iter()
            .filter(|h| h.done)
            .filter_map(|h| h.key.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        debtors::reevaluate(tx, &changed, &self.policies, &self.catalog).await?;
        if batch.new_day {
            self.run_wake.notify_one();
        }
        Ok(())
    }
}

impl On<ClaimOpened> for Shared {
    async fn on(&self, cx: &mut Cx<'_, '_, Self>, e: ClaimOpened) -> Result<Outcome, HandlerError> {
        claims::opened(cx.tx, &self.policies, &self.catalog, &e).await
    }
}

impl On<ClaimBalanceChanged> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        e: ClaimBalanceChanged,
    ) -> Result<Outcome, HandlerError> {
        claims::balance_changed(cx.tx, &e).await
    }
}

impl On<ClaimSettled> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        e: ClaimSettled,
    ) -> Result<Outcome, HandlerError> {
        claims::settled(cx.tx, &e).await
    }
}

impl On<ClaimWrittenOff> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        e: ClaimWrittenOff,
    ) -> Result<Outcome, HandlerError> {
        claims::written_off(cx.tx, &e).await
    }
}

impl On<PaymentApplied> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        e: PaymentApplied,
    ) -> Result<Outcome, HandlerError> {
        claims::payment_applied(cx.tx, &e).await
    }
}

impl On<DebtorUpdated> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        e: DebtorUpdated,
    ) -> Result<Outcome, HandlerError> {
        claims::debtor_updated(cx.tx, &e).await
    }
}

/// Retention ran out for a debtor: the details kept for transfers go
/// ([`claims::debtor_erased`]).
impl On<DebtorErased> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        e: DebtorErased,
    ) -> Result<Outcome, HandlerError> {
        claims::debtor_erased(cx.tx, &e).await
    }
}

impl On<DayOpened> for Shared {
    async fn on(&self, cx: &mut Cx<'_, '_, Self>, d: DayOpened) -> Result<Outcome, HandlerError> {
        cx.batch.new_day |= open_day(cx.tx, d).await?;
        Ok(Outcome::Done)
    }
}

/// An agreements event becomes a hold (or ends one) — for a debtor dunning knows.
async fn agreement(
    shared: &Shared,
    cx: &mut Cx<'_, '_, Shared>,
    event: AgreementEvent,
) -> Result<Outcome, HandlerError> {
    let s = event.scope();
    let key = (s.municipality.clone(), s.debtor_id.clone());
    if cx.batch.locked.contains_key(&key) {
        let _ = shared;
        holds::apply(cx.tx, &event).await
    } else {
        Ok(Outcome::Rejected(Rejection::new(format!(
            "data.debtor_id: dunning has no claims of debtor {} in municipality {}",
            s.debtor_id, s.municipality
        ))))
    }
}

/// The agreements events, each through [`agreement`].
macro_rules! agreement_routes {
    ($($t:ident),* $(,)?) => {$(
        impl On<$t> for Shared {
            async fn on(&self, cx: &mut Cx<'_, '_, Self>, e: $t) -> Result<Outcome, HandlerError> {
                agreement(self, cx, AgreementEvent::$t(e)).await
            }
        }
    )*};
}

agreement_routes!(
    PlanCreated,
    PlanDefaulted,
    PlanCompleted,
    DeferralGranted,
    DeferralEnded,
    MeetingScheduled,
    MeetingHeld,
    MeetingMissed,
);

impl On<ClaimReleased> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        e: ClaimReleased,
    ) -> Result<Outcome, HandlerError> {
        let key = (e.scope.municipality.clone(), e.scope.debtor_id.clone());
        if !cx.batch.locked.contains_key(&key) {
            return Ok(Outcome::Rejected(Rejection::new(format!(
                "data.debtor_id: dunning has no claims of debtor {} in municipality {}",
                e.scope.debtor_id, e.scope.municipality
            ))));
        }
        holds::released(cx.tx, &e).await
    }
}

impl On<DunningHeld> for Shared {
    async fn on(&self, cx: &mut Cx<'_, '_, Self>, e: DunningHeld) -> Result<Outcome, HandlerError> {
        holds::counselling_held(cx.tx, &e).await
    }
}

impl On<DunningReleased> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        e: DunningReleased,
    ) -> Result<Outcome, HandlerError> {
        holds::counselling_released(cx.tx, &e).await
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The bindings of the dunning queue: `consumes` of `[identities.dunning]` in
    /// deploy/rabbitmq/identities.toml must list exactly these.
    #[test]
    fn the_queue_is_bound_to_invoicing_the_day_agreements_and_counselling_holds() {
        assert_eq!(
            routes().message_types(),
            [
                "agreements.claim.released.v1",
                "agreements.deferral.ended.v1",
                "agreements.deferral.granted.v1",
                "agreements.meeting.held.v1",
                "agreements.meeting.missed.v1",
                "agreements.meeting.scheduled.v1",
                "agreements.plan.completed.v1",
                "agreements.plan.created.v1",
                "agreements.plan.defaulted.v1",
                "calendar.day.opened.v1",
                "counselling.dunning.held.v1",
                "counselling.dunning.released.v1",
                "invoicing.claim.balance_changed.v1",
                "invoicing.claim.opened.v1",
                "invoicing.claim.settled.v1",
                "invoicing.claim.written_off.v1",
                "invoicing.debtor.erased.v1",
                "invoicing.debtor.updated.v1",
                "invoicing.payment.applied.v1",
            ]
        );
    }

    /// The broker lets dunning's identity bind exactly what its router binds.
    #[test]
    fn the_broker_identity_binds_exactly_the_routed_types() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../deploy/rabbitmq/identities.toml"
        );
        let text = std::fs::read_to_string(path).expect("identities.toml is readable");
        let table: toml::Table = toml::from_str(&text).expect("identities.toml is TOML");
        let mut consumes: Vec<String> = table["identities"]["dunning"]["consumes"]
            .as_array()
            .expect("dunning consumes a list")
            .iter()
            .map(|t| t.as_str().expect("a type").to_owned())
            .collect();
        consumes.sort();
        assert_eq!(consumes, routes().message_types());
    }
}
