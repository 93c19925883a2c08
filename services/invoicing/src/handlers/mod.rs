//! Message → domain → store. The invoicing queue's routes ([`routes`]); each batch keeps its
//! delivery order, and runs of consecutive invoices are stored with multi-row statements.
//!
//! Replicas share the database: a batch first locks every debtor it will touch, in key order
//! ([`locks`], [`Consume::begin`]), and each handler reads a claim or a credit balance only
//! under its debtor's lock.

pub mod daily;
pub mod guarantee;
pub mod invoices;
mod ledger;
pub mod locks;
pub mod retention;

use restance_bus::router::{Consume, Cx, On, OnRun, Planned, Routes};
use restance_bus::{Effects, HandlerError, Inbound, Outcome};
use restance_contracts::messages::{
    ClaimHandedOver, DayOpened, FeeAssessed, InterestAssessed, InvoiceCredited, InvoiceIssued,
    PaymentReceived, PlanCreated, RecoveryRaised, RefundConfirmed, WriteOffApproved,
};
use sea_orm::DatabaseTransaction;

use crate::state::Shared;

/// The invoicing queue: every message type it is bound to, and where it goes.
pub fn routes() -> Routes<Shared> {
    Routes::new()
        .on_run::<InvoiceIssued>()
        .on::<InvoiceCredited>()
        .on::<PaymentReceived>()
        .on::<DayOpened>()
        .on::<FeeAssessed>()
        .on::<InterestAssessed>()
        .on::<ClaimHandedOver>()
        .on::<WriteOffApproved>()
        .on::<PlanCreated>()
        .on::<RecoveryRaised>()
        .on::<RefundConfirmed>()
}

impl Consume for Shared {
    const SERVICE: &'static str = crate::SERVICE;
    // Which debtors a batch locks is found from the messages and the database ([`locks`]).
    type Key = ();
    type Batch<'t> = locks::DebtorLocks;

    async fn begin<'t>(
        &'t self,
        tx: &'t DatabaseTransaction,
        planned: &Planned<'_, ()>,
    ) -> Result<locks::DebtorLocks, HandlerError> {
        let mut locks = locks::DebtorLocks::new(tx);
        if locks.enabled() {
            let foreseen = locks::foreseen(tx, &self.catalog, planned).await?;
            locks.lock_all(tx, &foreseen).await?;
        }
        Ok(locks)
    }
}

impl OnRun<InvoiceIssued> for Shared {
    async fn on_run(
        &self,
        tx: &DatabaseTransaction,
        locks: &mut locks::DebtorLocks,
        effects: &mut Effects,
        run: Vec<(&Inbound, InvoiceIssued)>,
    ) -> Result<Vec<Outcome>, HandlerError> {
        invoices::open_claims(tx, &self.catalog, run, effects, locks).await
    }
}

impl On<PaymentReceived> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        p: PaymentReceived,
    ) -> Result<Outcome, HandlerError> {
        let source = &cx.inbound.envelope.source;
        ledger::receive_payment(cx.tx, &self.catalog, source, &p, cx.effects, cx.batch).await
    }
}

impl On<InvoiceCredited> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        c: InvoiceCredited,
    ) -> Result<Outcome, HandlerError> {
        let source = &cx.inbound.envelope.source;
        ledger::credit_note(cx.tx, source, &c, cx.effects, cx.batch).await
    }
}

impl On<FeeAssessed> for Shared {
    async fn on(&self, cx: &mut Cx<'_, '_, Self>, f: FeeAssessed) -> Result<Outcome, HandlerError> {
        ledger::add_fee(cx.tx, &f, cx.effects, cx.batch).await
    }
}

impl On<InterestAssessed> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        f: InterestAssessed,
    ) -> Result<Outcome, HandlerError> {
        ledger::add_interest(cx.tx, &f, cx.effects, cx.batch).await
    }
}

/// The transfer to state collection without the debtor's details (`dunning.claim.handed_over.v1`;
/// `dunning.claim.transferred.v1`, which carries them, is for the collection authority only).
impl On<ClaimHandedOver> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        c: ClaimHandedOver,
    ) -> Result<Outcome, HandlerError> {
        ledger::transfer_claim(cx.tx, &c, cx.batch).await
    }
}

impl On<WriteOffApproved> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        w: WriteOffApproved,
    ) -> Result<Outcome, HandlerError> {
        ledger::write_off(cx.tx, &w, cx.effects, cx.batch).await
    }
}

impl On<PlanCreated> for Shared {
    async fn on(&self, cx: &mut Cx<'_, '_, Self>, p: PlanCreated) -> Result<Outcome, HandlerError> {
        ledger::record_plan(cx.tx, &self.catalog, &p).await
    }
}

/// A recovery from a guarantee: opened as the invoice it amounts to ([`guarantee::as_invoice`]).
impl On<RecoveryRaised> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        r: RecoveryRaised,
    ) -> Result<Outcome, HandlerError> {
        let invoice = guarantee::as_invoice(&r);
        let mut outcomes = invoices::open_claims(
            cx.tx,
            &self.catalog,
            vec![(cx.inbound, invoice)],
            cx.effects,
            cx.batch,
        )
        .await?;
        Ok(outcomes.pop().unwrap_or(Outcome::Done))
    }
}

impl On<DayOpened> for Shared {
    async fn on(&self, cx: &mut Cx<'_, '_, Self>, d: DayOpened) -> Result<Outcome, HandlerError> {
        daily::open_day(
            cx.tx,
            &self.catalog,
            &self.config,
            &self.retention,
            d.date.into(),
            cx.effects,
            cx.batch,
        )
        .await
    }
}

/// The payment system paid a refund out: booked once ([`daily::confirm_refund`]).
impl On<RefundConfirmed> for Shared {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        c: RefundConfirmed,
    ) -> Result<Outcome, HandlerError> {
        daily::confirm_refund(cx.tx, &c, cx.batch).await
    }
}
