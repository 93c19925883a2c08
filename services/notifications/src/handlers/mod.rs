//! Message → decision → store, inside the consumer's transaction:
//! - `notifications.notification.requested.v1` → a notification, planned into one delivery per
//!   channel, or parked until its debtor is known ([`requests`]);
//! - `invoicing.debtor.updated.v1` → the contact directory, and parked requests completed
//!   ([`directory`]);
//! - `calendar.day.opened.v1` → the business date letters are dated with.
//!
//! Nothing is sent here: sending is the worker's ([`crate::delivery`]), after the commit.

pub mod directory;
pub mod requests;

use crate::Shared;
use crate::store::queries;
use restance_bus::{BatchHandler, Effects, HandlerError, Inbound, Outcome, Rejection};
use restance_contracts::Message;
use restance_contracts::messages::{DayOpened, DebtorUpdated, NotificationRequested, Recipient};
use sea_orm::DatabaseTransaction;
use std::sync::Arc;

/// Every message type the notifications queue is bound to.
pub const CONSUMED: &[&str] = &[
    NotificationRequested::TYPE,
    DebtorUpdated::TYPE,
    DayOpened::TYPE,
];

/// The notifications service's batch handler.
#[derive(Debug)]
pub struct NotificationsHandler {
    shared: Arc<Shared>,
}

impl NotificationsHandler {
    /// A handler deciding with `shared` (catalog, templates, channel configuration, clock).
    pub fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }
}

/// Takes the lock of every debtor the batch's messages decide on (a debtor update's debtor, the
/// debtor a request waits for) in one order before any message is handled: each handler takes
/// its debtor's lock again (free), and two replicas' batches naming the same debtors in other
/// orders cannot deadlock. Messages that do not decode are skipped here and rejected below.
async fn lock_debtors(tx: &DatabaseTransaction, batch: &[Inbound]) -> Result<(), HandlerError> {
    if !restance_bus::sql::is_postgres(tx) {
        return Ok(());
    }
    let mut keys: Vec<(String, String)> = Vec::new();
    for msg in batch {
        let t = msg.message_type();
        if t == DebtorUpdated::TYPE {
            if let Ok(d) = msg.decode::<DebtorUpdated>() {
                keys.push((d.municipality, d.debtor.id));
            }
        } else if t == NotificationRequested::TYPE
            && let Ok(r) = msg.decode::<NotificationRequested>()
        {
            let waits_for = match r.recipient {
                Recipient::Debtor { debtor_id } => Some(debtor_id),
                Recipient::Party(_) => r.related.debtor_id,
            };
            if let Some(debtor_id) = waits_for {
                keys.push((r.municipality, debtor_id));
            }
        }
    }
    if keys.len() < 2 {
        return Ok(()); // the handler takes the one lock itself
    }
    for (municipality, debtor_id) in
        queries::debtor_lock_order(keys.iter().map(|(m, d)| (m.as_str(), d.as_str())))
    {
        queries::lock_debtor(tx, municipality, debtor_id).await?;
    }
    Ok(())
}

impl BatchHandler for NotificationsHandler {
    async fn handle(
        &self,
        tx: &DatabaseTransaction,
        batch: &[Inbound],
        effects: &mut Effects,
    ) -> Result<Vec<Outcome>, HandlerError> {
        lock_debtors(tx, batch).await?;
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut planned = false;
        for msg in batch {
            let outcome = match msg.message_type() {
                t if t == NotificationRequested::TYPE => {
                    match msg.decode::<NotificationRequested>() {
                        Ok(req) => {
                            let (outcome, p) =
                                requests::accept(tx, &self.shared, &req, effects).await?;
                            planned |= p;
                            outcome
                        }
                        Err(r) => Outcome::Rejected(r),
                    }
                }
                t if t == DebtorUpdated::TYPE => match msg.decode::<DebtorUpdated>() {
                    Ok(d) => {
                        let (outcome, p) =
                            directory::debtor_updated(tx, &self.shared, &d, effects).await?;
                        planned |= p;
                        outcome
                    }
                    Err(r) => Outcome::Rejected(r),
                },
                t if t == DayOpened::TYPE => match msg.decode::<DayOpened>() {
                    Ok(d) => {
                        queries::open_day(tx, d.date.into()).await?;
                        Outcome::Done
                    }
                    Err(r) => Outcome::Rejected(r),
                },
                other => Outcome::Rejected(Rejection::new(format!(
                    "notifications does not handle {other}"
                ))),
            };
            if let Outcome::Rejected(_) = &outcome {
                metrics::counter!("restance_notifications_requests_total", "outcome" => "rejected")
                    .increment(1);
            }
            outcomes.push(outcome);
        }
        if planned {
            // The transaction commits after we return: wake the worker a moment later (it
            // also polls, so a slow commit only costs one poll interval).
            self.shared.wake_soon();
        }
        Ok(outcomes)
    }
}
