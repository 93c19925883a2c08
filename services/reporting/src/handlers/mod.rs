//! Message → projection. The reporting queue's routes ([`routes`]); a batch is applied in
//! delivery order on a [`working_set::WorkingSet`] and written back in one transaction.
//!
//! - invoicing's and dunning's claim events keep each claim and its versions ([`claims`]);
//! - agreements' plans and deferrals set the claims' state ([`agreements`]);
//! - dunning's recorded distraints put their claims in the state `distraint`;
//! - dunning's reminders, fees, distraints and campaigns sent, agreements' meetings held, new plans, broken plans and
//!   deferrals are counted as "measures taken" (`domain::report::measures`);
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

use restance_bus::router::{self, Consume, Cx, Handled, On, Planned, Routes};
use restance_bus::{Effects, HandlerError, Outcome, Rejection};
use restance_contracts::Subject;
use restance_contracts::messages::{
    AgreementEvent, CampaignSent, ClaimBalanceChanged, ClaimHandedOver, ClaimOpened, ClaimSettled,
    ClaimWrittenOff, DayOpened, DeferralEnded, DeferralGranted, DistraintRecorded, FeeAssessed,
    MeetingHeld, PaymentApplied, PlanCompleted, PlanCreated, PlanDefaulted, PrepaymentExpired,
    ReminderIssued,
};
use sea_orm::DatabaseTransaction;

use crate::state::Shared;
use crate::store::queries;
use working_set::WorkingSet;

/// The reporting queue: every message type it is bound to, and where it goes.
pub fn routes() -> Routes<Shared> {
    Routes::new()
        .on::<ClaimOpened>()
        .on::<ClaimBalanceChanged>()
        .on::<ClaimSettled>()
        .on::<ClaimWrittenOff>()
        .on::<PaymentApplied>()
        .on::<ClaimHandedOver>()
        .on::<PrepaymentExpired>()
        .on::<ReminderIssued>()
        .on::<FeeAssessed>()
        .on::<DistraintRecorded>()
        .on::<CampaignSent>()
        .on::<PlanCreated>()
        .on::<PlanDefaulted>()
        .on::<PlanCompleted>()
        .on::<DeferralGranted>()
        .on::<DeferralEnded>()
        .on::<MeetingHeld>()
        .on::<DayOpened>()
}

/// One batch's state: the claims it names, loaded once and written back once.
pub struct Batch<'t> {
    ws: WorkingSet<'t>,
    /// A business day was opened: wake the worker after the batch.
    new_day: bool,
}

impl std::fmt::Debug for Batch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("new_day", &self.new_day)
            .finish_non_exhaustive()
    }
}

impl Consume for Shared {
    const SERVICE: &'static str = crate::SERVICE;
    // The whole projection is one lock (business dates), so no per-message key.
    type Key = ();
    type Batch<'t> = Batch<'t>;

    fn admit_of(&self, about: &dyn Subject) -> Result<(), Rejection> {
        router::configured_municipality(&self.catalog, about)
    }

    async fn begin<'t>(
        &'t self,
        tx: &'t DatabaseTransaction,
        planned: &Planned<'_, ()>,
    ) -> Result<Batch<'t>, HandlerError> {
        queries::lock_projection(tx).await?;
        let day = queries::last_business_date(tx).await?;
        let mut ws = WorkingSet::new(tx, day);
        let ids: Vec<String> = planned
            .messages()
            .iter()
            .flat_map(|m| m.about().claim_ids())
            .map(str::to_owned)
            .collect();
        ws.preload(&ids).await?;
        Ok(Batch { ws, new_day: false })
    }

    async fn finish<'t>(
        &'t self,
        _tx: &'t DatabaseTransaction,
        batch: Batch<'t>,
        _handled: &[Handled<'_, ()>],
        _effects: &mut Effects,
    ) -> Result<(), HandlerError> {
        let versions = batch.ws.flush().await?;
        metrics::counter!("restance_reporting_versions_written_total").increment(versions as u64);
        if batch.new_day {
            self.worker_wake.notify_one();
        }
        Ok(())
    }
}

impl On<ClaimOpened> for Shared {
    async fn on(&self, cx: &mut Cx<'_, '_, Self>, e: ClaimOpened) -> Result<Outcome, HandlerError> {
        Ok(claims::opened(&mut cx.batch.ws, &self.catalog, &e).await?)
    }
}

impl On<ClaimBalanceChanged> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        e: ClaimBalanceChanged,
    ) -> Result<Outcome, HandlerError> {
        Ok(claims::balance_changed(&mut cx.batch.ws, &e).await?)
    }
}

impl On<ClaimSettled> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        e: ClaimSettled,
    ) -> Result<Outcome, HandlerError> {
        Ok(claims::settled(&mut cx.batch.ws, &e).await?)
    }
}

impl On<ClaimWrittenOff> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        e: ClaimWrittenOff,
    ) -> Result<Outcome, HandlerError> {
        Ok(claims::written_off(&mut cx.batch.ws, &e).await?)
    }
}

impl On<PaymentApplied> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        e: PaymentApplied,
    ) -> Result<Outcome, HandlerError> {
        Ok(claims::payment_applied(&mut cx.batch.ws, &e).await?)
    }
}

impl On<ClaimHandedOver> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        e: ClaimHandedOver,
    ) -> Result<Outcome, HandlerError> {
        Ok(claims::transferred(&mut cx.batch.ws, &e).await?)
    }
}

impl On<PrepaymentExpired> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        e: PrepaymentExpired,
    ) -> Result<Outcome, HandlerError> {
        Ok(claims::prepayment_expired(&mut cx.batch.ws, &e).await?)
    }
}

impl On<ReminderIssued> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        e: ReminderIssued,
    ) -> Result<Outcome, HandlerError> {
        Ok(claims::reminder_issued(&mut cx.batch.ws, &e))
    }
}

impl On<FeeAssessed> for Shared {
    async fn on(&self, cx: &mut Cx<'_, '_, Self>, e: FeeAssessed) -> Result<Outcome, HandlerError> {
        Ok(claims::fee_assessed(&mut cx.batch.ws, &e))
    }
}

impl On<DistraintRecorded> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        e: DistraintRecorded,
    ) -> Result<Outcome, HandlerError> {
        Ok(claims::distraint_recorded(&mut cx.batch.ws, &e).await?)
    }
}

impl On<CampaignSent> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        e: CampaignSent,
    ) -> Result<Outcome, HandlerError> {
        Ok(claims::campaign_sent(&mut cx.batch.ws, &e).await?)
    }
}

/// The agreements events reporting follows, each through [`agreements::apply`].
macro_rules! agreement_routes {
    ($($t:ident),* $(,)?) => {$(
        impl On<$t> for Shared {
            async fn on(&self, cx: &mut Cx<'_, '_, Self>, e: $t) -> Result<Outcome, HandlerError> {
                Ok(agreements::apply(&mut cx.batch.ws, &AgreementEvent::$t(e)).await?)
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
    MeetingHeld,
);

impl On<DayOpened> for Shared {
    async fn on(&self, cx: &mut Cx<'_, '_, Self>, d: DayOpened) -> Result<Outcome, HandlerError> {
        let ws = &mut cx.batch.ws;
        if ws.day.is_some_and(|last| d.date <= last) {
            tracing::info!(business_date = %d.date, last = ?ws.day.map(|l| l.to_string()),
                "business day already opened: duplicate, nothing to do");
        } else {
            queries::insert_business_day(cx.tx, d.date).await?;
            ws.day = Some(d.date);
            agreements::day_opened(ws, d.date).await?;
            cx.batch.new_day = true;
            tracing::info!(business_date = %d.date,
                "business day opened: later changes belong to it; the worker closes the dates before it");
        }
        Ok(Outcome::Done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same types as `consumes` of `[identities.reporting]` in deploy/rabbitmq/identities.toml.
    #[test]
    fn the_queue_is_bound_to_the_claims_agreements_measures_and_the_day() {
        assert_eq!(
            routes().message_types(),
            [
                "agreements.deferral.ended.v1",
                "agreements.deferral.granted.v1",
                "agreements.meeting.held.v1",
                "agreements.plan.completed.v1",
                "agreements.plan.created.v1",
                "agreements.plan.defaulted.v1",
                "calendar.day.opened.v1",
                "dunning.campaign.sent.v1",
                "dunning.claim.handed_over.v1",
                "dunning.distraint.recorded.v1",
                "dunning.fee.assessed.v1",
                "dunning.reminder.issued.v1",
                "invoicing.claim.balance_changed.v1",
                "invoicing.claim.opened.v1",
                "invoicing.claim.settled.v1",
                "invoicing.claim.written_off.v1",
                "invoicing.payment.applied.v1",
                "invoicing.prepayment.expired.v1",
            ]
        );
    }
}
