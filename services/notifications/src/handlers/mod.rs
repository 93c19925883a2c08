//! Message → decision → store, inside the consumer's transaction. The notifications queue's
//! routes ([`routes`]):
//! - `notifications.notification.requested.v1` → a notification, planned into one delivery per
//!   channel, or parked until its debtor is known ([`requests`]);
//! - `invoicing.debtor.updated.v1` → the contact directory, and parked requests completed
//!   ([`directory`]);
//! - `invoicing.debtor.erased.v1` → the debtor's personal data here erased (retention,
//!   [`erasure`]);
//! - `calendar.day.opened.v1` → the business date letters are dated with.
//!
//! Nothing is sent here: sending is the worker's ([`crate::delivery`]), after the commit.

pub mod directory;
pub mod erasure;
pub mod requests;

use crate::state::Shared;
use crate::store::queries;
use restance_bus::router::{self, Consume, Cx, Handled, On, Planned, Routes};
use restance_bus::{Effects, HandlerError, Outcome};
use restance_contracts::messages::{DayOpened, DebtorErased, DebtorUpdated, NotificationRequested};
use restance_contracts::{Message, Subject};
use sea_orm::DatabaseTransaction;

/// The notifications queue: every message type it is bound to, and where it goes.
pub fn routes() -> Routes<Shared> {
    Routes::new()
        .on::<NotificationRequested>()
        .on::<DebtorUpdated>()
        .on::<DebtorErased>()
        .on::<DayOpened>()
}

/// One batch's state.
#[derive(Debug, Default)]
pub struct Batch {
    /// A delivery was planned: wake the worker after the commit.
    planned: bool,
}

impl Consume for Shared {
    const SERVICE: &'static str = crate::SERVICE;
    /// `(municipality, debtor_id)`: a debtor update's debtor, the debtor a request is for.
    type Key = (String, String);
    type Batch<'t> = Batch;

    fn key_of(&self, about: &dyn Subject) -> Option<(String, String)> {
        router::debtor_key(about)
    }

    /// Takes the lock of every debtor the batch's messages decide on in one order before any
    /// message is handled: each handler takes its debtor's lock again (free), and two replicas'
    /// batches naming the same debtors in other orders cannot deadlock.
    async fn begin<'t>(
        &'t self,
        tx: &'t DatabaseTransaction,
        planned: &Planned<'_, (String, String)>,
    ) -> Result<Batch, HandlerError> {
        let keys = planned.keys();
        if keys.len() >= 2 {
            // One key: the handler takes the one lock itself.
            for (municipality, debtor_id) in
                queries::debtor_lock_order(keys.iter().map(|(m, d)| (m.as_str(), d.as_str())))
            {
                queries::lock_debtor(tx, municipality, debtor_id).await?;
            }
        }
        Ok(Batch::default())
    }

    async fn finish<'t>(
        &'t self,
        _tx: &'t DatabaseTransaction,
        batch: Batch,
        handled: &[Handled<'_, (String, String)>],
        _effects: &mut Effects,
    ) -> Result<(), HandlerError> {
        let rejected = handled
            .iter()
            .filter(|h| h.rejected && h.message_type == NotificationRequested::TYPE)
            .count();
        if rejected > 0 {
            metrics::counter!("restance_notifications_requests_total", "outcome" => "rejected")
                .increment(rejected as u64);
        }
        if batch.planned {
            // The transaction commits after we return: wake the worker a moment later (it
            // also polls, so a slow commit only costs one poll interval).
            self.wake_soon();
        }
        Ok(())
    }
}

impl On<NotificationRequested> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        req: NotificationRequested,
    ) -> Result<Outcome, HandlerError> {
        let (outcome, planned) = requests::accept(cx.tx, self, &req, cx.effects).await?;
        cx.batch.planned |= planned;
        Ok(outcome)
    }
}

impl On<DebtorUpdated> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        d: DebtorUpdated,
    ) -> Result<Outcome, HandlerError> {
        let (outcome, planned) = directory::debtor_updated(cx.tx, self, &d, cx.effects).await?;
        cx.batch.planned |= planned;
        Ok(outcome)
    }
}

/// Retention ran out for a debtor: its personal data here goes ([`erasure::debtor_erased`]).
impl On<DebtorErased> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        e: DebtorErased,
    ) -> Result<Outcome, HandlerError> {
        erasure::debtor_erased(cx.tx, self, &e).await
    }
}

impl On<DayOpened> for Shared {
    async fn on(&self, cx: &mut Cx<'_, '_, Self>, d: DayOpened) -> Result<Outcome, HandlerError> {
        queries::open_day(cx.tx, d.date.into()).await?;
        Ok(Outcome::Done)
    }
}
