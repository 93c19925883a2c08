//! What serialises the work on one debtor's claims when replicas share one database.
//!
//! The unit is the debtor: a payment is spread over the debtor's open claims and the rest
//! becomes the debtor's credit balance, which pays the debtor's next claim — so every handler
//! that rewrites a claim's balance or state, or a debtor's credit balance, first locks the
//! debtor's row (`SELECT … FOR UPDATE`) and only then reads what it will rewrite. Two
//! transactions on one debtor take turns, and the second reads what the first committed
//! (PostgreSQL's read committed takes a fresh snapshot per statement).
//!
//! At the start of a batch [`foreseen`] finds every debtor the batch will touch — an invoice's
//! debtor, a fee's or interest charge's claim's debtor, the debtors a payment's reference or
//! payer names — and [`DebtorLocks::lock_all`] locks them in one statement in key order, so two
//! batches cannot deadlock on them. A debtor found only while handling (a claim's debtor that
//! did not exist at the start, a payer matched in another way) is locked then
//! ([`DebtorLocks::claim`], [`DebtorLocks::lock`]); the rare deadlock that may cause is retried
//! whole by the consumer (`restance_bus::is_contention`), never dead-lettered.
//!
//! A debtor that does not exist yet has no row to lock: its first claims insert it, and two
//! transactions inserting one debtor wait for each other on the primary key (in key order).
//!
//! SQLite has one writer: a batch's transaction holds the database's write lock from its first
//! statement (the inbox insert) to its commit, so there is nothing to lock.

use super::invoices::claim_id_for;
use crate::domain::references;
use crate::store::queries::{self, ClaimRow};
use restance_bus::Planned;
use restance_contracts::Message;
use restance_contracts::messages::{
    ClaimHandedOver, FeeAssessed, InterestAssessed, InvoiceCredited, InvoiceIssued,
    PaymentReceived, RecoveryRaised, WriteOffApproved,
};
use restance_kernel::{Catalog, NationalId, PartyKind};
use sea_orm::{ConnectionTrait, DbErr};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// `(municipality, debtor_id)`.
pub type DebtorKey = (String, String);

/// The debtors locked by this transaction.
#[derive(Debug)]
pub struct DebtorLocks {
    /// PostgreSQL: rows are locked. SQLite: the transaction is the only writer already.
    postgres: bool,
    held: HashSet<DebtorKey>,
}

impl DebtorLocks {
    /// None held yet, in the transaction `tx`.
    pub fn new(tx: &impl ConnectionTrait) -> Self {
        Self {
            postgres: restance_store::is_postgres(tx),
            held: HashSet::new(),
        }
    }

    /// Whether locking means anything on this backend.
    pub fn enabled(&self) -> bool {
        self.postgres
    }

    /// True when this transaction may rewrite the debtor's claims and credit balance.
    pub fn holds(&self, municipality: &str, debtor_id: &str) -> bool {
        !self.postgres
            || self
                .held
                .contains(&(municipality.to_owned(), debtor_id.to_owned()))
    }

    /// Locks the debtors of `keys` not held yet, in key order, in one statement. A key whose
    /// debtor does not exist (yet) is not held afterwards.
    pub async fn lock_all(
        &mut self,
        tx: &impl ConnectionTrait,
        keys: &BTreeSet<DebtorKey>,
    ) -> Result<(), DbErr> {
        if !self.postgres {
            return Ok(());
        }
        let todo: Vec<&DebtorKey> = keys.iter().filter(|k| !self.held.contains(*k)).collect();
        if todo.is_empty() {
            return Ok(());
        }
        self.held.extend(queries::lock_debtors(tx, &todo).await?);
        Ok(())
    }

    /// Locks one debtor (if not held yet).
    pub async fn lock(
        &mut self,
        tx: &impl ConnectionTrait,
        municipality: &str,
        debtor_id: &str,
    ) -> Result<(), DbErr> {
        if self.holds(municipality, debtor_id) {
            return Ok(());
        }
        let key = (municipality.to_owned(), debtor_id.to_owned());
        self.lock_all(tx, &BTreeSet::from([key])).await
    }

    /// A claim, read under its debtor's lock (taken now, and the claim read again, if the batch
    /// had not foreseen it).
    pub async fn claim(
        &mut self,
        tx: &impl ConnectionTrait,
        claim_id: &str,
    ) -> Result<Option<ClaimRow>, DbErr> {
        let Some(claim) = queries::claim_by_id(tx, claim_id).await? else {
            return Ok(None);
        };
        if self.holds(&claim.municipality, &claim.debtor_id) {
            return Ok(Some(claim));
        }
        self.lock(tx, &claim.municipality, &claim.debtor_id).await?;
        queries::claim_by_id(tx, claim_id).await
    }

    /// Records debtors this transaction locked by writing their rows (inserting a debtor, or
    /// `ON CONFLICT DO UPDATE` on it, locks the row).
    pub fn note_locked(&mut self, keys: impl IntoIterator<Item = DebtorKey>) {
        if self.postgres {
            self.held.extend(keys);
        }
    }
}

/// The debtors the batch's admitted messages will touch, as far as they tell. Read without
/// locks: the caller locks them next.
pub async fn foreseen(
    tx: &impl ConnectionTrait,
    catalog: &Catalog,
    planned: &Planned<'_, ()>,
) -> Result<BTreeSet<DebtorKey>, DbErr> {
    let mut keys: BTreeSet<DebtorKey> = BTreeSet::new();
    let mut claim_ids: BTreeSet<String> = BTreeSet::new();
    let mut references: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut payers: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for msg in planned.messages() {
        if let Some(inv) = msg.get::<InvoiceIssued>() {
            keys.insert((inv.municipality.clone(), inv.debtor.id.clone()));
        } else if let Some(r) = msg.get::<RecoveryRaised>() {
            keys.insert((r.municipality.clone(), r.guarantor.id.clone()));
        } else if let Some(c) = msg.get::<InvoiceCredited>() {
            claim_ids.insert(claim_id_for(&msg.inbound.envelope.source, &c.invoice_id));
        } else if let Some(p) = msg.get::<PaymentReceived>() {
            let m = &p.municipality;
            if let Some(muni) = catalog.municipality(m)
                && let Some(r) = p
                    .payment_reference
                    .as_deref()
                    .and_then(|t| references::parse_for(muni, t))
            {
                references
                    .entry(m.clone())
                    .or_default()
                    .insert(r.key().to_owned());
            }
            if let Some(nid) = &p.payer_national_id
                && let Ok(id) = NationalId::parse_for_kind(PartyKind::Person, nid.expose())
                    .or_else(|_| NationalId::parse_for_kind(PartyKind::Company, nid.expose()))
            {
                payers
                    .entry(m.clone())
                    .or_default()
                    .insert(id.as_str().to_owned());
            }
        } else {
            // Fees, interest, transfers and write-offs name their claim.
            let is_claim_event = [
                FeeAssessed::TYPE,
                InterestAssessed::TYPE,
                ClaimHandedOver::TYPE,
                WriteOffApproved::TYPE,
            ]
            .contains(&msg.message_type);
            if is_claim_event {
                claim_ids.extend(msg.about().claim_ids().into_iter().map(str::to_owned));
            }
        }
    }
    if !claim_ids.is_empty() {
        let ids: Vec<&str> = claim_ids.iter().map(String::as_str).collect();
        keys.extend(queries::debtors_of_claims(tx, &ids).await?);
    }
    for (muni, refs) in &references {
        let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
        keys.extend(queries::debtors_by_reference_keys(tx, muni, &refs).await?);
    }
    for (muni, ids) in &payers {
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        keys.extend(queries::debtors_by_national_ids(tx, muni, &ids).await?);
    }
    Ok(keys)
}
