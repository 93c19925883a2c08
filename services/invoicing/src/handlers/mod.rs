//! Message → domain → store. One handler for the invoicing queue; it keeps the batch's
//! delivery order, and runs of consecutive invoices are stored with multi-row statements.
//!
//! Replicas share the database: a batch first locks every debtor it will touch, in key order
//! ([`locks`]), and each handler reads a claim or a credit balance only under its debtor's lock.

pub mod invoices;
mod ledger;
pub mod locks;

use restance_bus::{BatchHandler, Effects, HandlerError, Inbound, Outcome, Rejection};
use restance_contracts::Message;
use restance_contracts::messages::{
    ClaimTransferred, DayOpened, FeeAssessed, InterestAssessed, InvoiceCredited, InvoiceIssued,
    PaymentReceived, PlanCreated, WriteOffApproved,
};
use restance_kernel::Catalog;
use sea_orm::DatabaseTransaction;
use std::sync::Arc;

/// Every message type the invoicing queue is bound to.
pub const CONSUMED: &[&str] = &[
    InvoiceIssued::TYPE,
    InvoiceCredited::TYPE,
    PaymentReceived::TYPE,
    DayOpened::TYPE,
    FeeAssessed::TYPE,
    InterestAssessed::TYPE,
    ClaimTransferred::TYPE,
    WriteOffApproved::TYPE,
    PlanCreated::TYPE,
];

/// The invoicing service's batch handler.
#[derive(Debug)]
pub struct InvoicingHandler {
    catalog: Arc<Catalog>,
}

impl InvoicingHandler {
    /// A handler validating against `catalog`.
    pub fn new(catalog: Arc<Catalog>) -> Self {
        Self { catalog }
    }
}

impl BatchHandler for InvoicingHandler {
    async fn handle(
        &self,
        tx: &DatabaseTransaction,
        batch: &[Inbound],
        effects: &mut Effects,
    ) -> Result<Vec<Outcome>, HandlerError> {
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut locks = locks::DebtorLocks::new(tx);
        if locks.enabled() {
            let foreseen = locks::foreseen(tx, &self.catalog, batch).await?;
            locks.lock_all(tx, &foreseen).await?;
        }
        let locks = &mut locks;
        let mut i = 0;
        while i < batch.len() {
            if batch[i].message_type() == InvoiceIssued::TYPE {
                let run_end = batch[i..]
                    .iter()
                    .position(|m| m.message_type() != InvoiceIssued::TYPE)
                    .map_or(batch.len(), |p| i + p);
                outcomes.extend(
                    invoices::open_claims(tx, &self.catalog, &batch[i..run_end], effects, locks)
                        .await?,
                );
                i = run_end;
                continue;
            }
            let msg = &batch[i];
            let outcome = match msg.message_type() {
                t if t == PaymentReceived::TYPE => match msg.decode::<PaymentReceived>() {
                    Ok(p) => {
                        ledger::receive_payment(
                            tx,
                            &self.catalog,
                            &msg.envelope.source,
                            &p,
                            effects,
                            locks,
                        )
                        .await?
                    }
                    Err(r) => Outcome::Rejected(r),
                },
                t if t == InvoiceCredited::TYPE => match msg.decode::<InvoiceCredited>() {
                    Ok(c) => {
                        ledger::credit_note(tx, &msg.envelope.source, &c, effects, locks).await?
                    }
                    Err(r) => Outcome::Rejected(r),
                },
                t if t == FeeAssessed::TYPE => match msg.decode::<FeeAssessed>() {
                    Ok(f) => ledger::add_fee(tx, &f, effects, locks).await?,
                    Err(r) => Outcome::Rejected(r),
                },
                t if t == InterestAssessed::TYPE => match msg.decode::<InterestAssessed>() {
                    Ok(f) => ledger::add_interest(tx, &f, effects, locks).await?,
                    Err(r) => Outcome::Rejected(r),
                },
                t if t == ClaimTransferred::TYPE => match msg.decode::<ClaimTransferred>() {
                    Ok(c) => ledger::transfer_claim(tx, &c, locks).await?,
                    Err(r) => Outcome::Rejected(r),
                },
                t if t == WriteOffApproved::TYPE => match msg.decode::<WriteOffApproved>() {
                    Ok(w) => ledger::write_off(tx, &w, effects, locks).await?,
                    Err(r) => Outcome::Rejected(r),
                },
                t if t == PlanCreated::TYPE => match msg.decode::<PlanCreated>() {
                    Ok(p) => ledger::record_plan(tx, &self.catalog, &p).await?,
                    Err(r) => Outcome::Rejected(r),
                },
                t if t == DayOpened::TYPE => match msg.decode::<DayOpened>() {
                    Ok(d) => ledger::open_day(tx, d.date.into()).await?,
                    Err(r) => Outcome::Rejected(r),
                },
                other => {
                    Outcome::Rejected(Rejection::new(format!("invoicing does not handle {other}")))
                }
            };
            outcomes.push(outcome);
            i += 1;
        }
        Ok(outcomes)
    }
}
