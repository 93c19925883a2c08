//! `billing.invoice.issued.v1` → a claim (one per `(source, invoice_id)`), the debtor's
//! latest details, a payment reference, `invoicing.claim.opened.v1`.

use super::ledger::{apply_credit_balance, claim_ref};
use super::locks::DebtorLocks;
use crate::domain::balance::Balance;
use crate::domain::references;
use crate::store::queries::{self, ClaimRow, DebtorUpsert, LedgerLine};
use restance_bus::{Effects, HandlerError, Inbound, Outcome, Rejection};
use restance_contracts::Problem;
use restance_contracts::messages::{ClaimOpened, DebtorUpdated, InvoiceIssued};
use restance_kernel::{Catalog, Country, Money, NationalIdKind, PaymentReference};
use sea_orm::DatabaseTransaction;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::Instant;

/// The claim id derived from the natural key, so the same invoice always gets the same id.
pub fn claim_id_for(source: &str, invoice_id: &str) -> String {
    let digest = Sha256::digest(format!("{source}\n{invoice_id}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// Checks against configuration: everything the contract alone cannot know.
pub fn config_problems(catalog: &Catalog, inv: &InvoiceIssued) -> Vec<Problem> {
    let mut out = Vec::new();
    let Some(m) = catalog.municipality(&inv.municipality) else {
        out.push(Problem::new(
            "data.municipality",
            "is not a configured municipality",
        ));
        return out;
    };
    if !m.has_office(&inv.office) {
        out.push(Problem::new(
            "data.office",
            format!("is not an office of municipality {}", inv.municipality),
        ));
    }
    if !m.has_category(&inv.category) || catalog.category(&inv.category).is_none() {
        out.push(Problem::new(
            "data.category",
            format!(
                "is not a configured category of municipality {}",
                inv.municipality
            ),
        ));
    }
    if inv.currency != m.currency {
        out.push(Problem::new(
            "data.currency",
            format!(
                "must be {} for municipality {}",
                m.currency, inv.municipality
            ),
        ));
    }
    let id_kind = inv.debtor.national_id.0.kind();
    let fits = match m.country {
        Country::Dk | Country::Gl => matches!(id_kind, NationalIdKind::Cpr | NationalIdKind::Cvr),
        Country::No => matches!(
            id_kind,
            NationalIdKind::Fodselsnummer | NationalIdKind::Organisasjonsnummer
        ),
    };
    if !fits {
        out.push(Problem::new(
            "data.debtor.national_id",
            format!(
                "is not a national id of the municipality's country ({})",
                m.country
            ),
        ));
    }
    if let Some(text) = &inv.payment_reference
        && references::parse_for(m, text).is_none()
    {
        out.push(Problem::new(
            "data.payment_reference",
            format!("is not a valid reference in the scheme of {}", m.country),
        ));
    }
    out
}

fn content_hash(inv: &InvoiceIssued) -> String {
    hex::encode(Sha256::digest(serde_json::to_vec(inv).unwrap_or_default()))
}

struct Accepted {
    idx: usize,
    source: String,
    inv: InvoiceIssued,
    hash: String,
    reference: Option<PaymentReference>,
}

/// Rejects the invoices whose own reference already names another claim (in the database or
/// earlier in the run); returns the others.
async fn without_taken_references(
    tx: &DatabaseTransaction,
    accepted: Vec<Accepted>,
    outcomes: &mut [Outcome],
) -> Result<Vec<Accepted>, HandlerError> {
    let mut by_muni: HashMap<String, Vec<String>> = HashMap::new();
    for a in &accepted {
        if let Some(r) = &a.reference {
            by_muni
                .entry(a.inv.municipality.clone())
                .or_default()
                .push(r.key().to_owned());
        }
    }
    let mut taken: HashSet<(String, String)> = HashSet::new();
    for (muni, keys) in &by_muni {
        for k in queries::used_references(tx, muni, keys).await? {
            taken.insert((muni.clone(), k));
        }
    }
    let mut keep = Vec::with_capacity(accepted.len());
    for a in accepted {
        if let Some(r) = &a.reference {
            let key = (a.inv.municipality.clone(), r.key().to_owned());
            if !taken.insert(key) {
                outcomes[a.idx] = Outcome::Rejected(Rejection::new(format!(
                    "payment_reference of invoice {} is already used by another claim in municipality {}",
                    a.inv.invoice_id, a.inv.municipality
                )));
                continue;
            }
        }
        keep.push(a);
    }
    Ok(keep)
}

/// Gives each invoice without a reference of its own the next of its municipality's sequence.
async fn reserve_generated_references(
    tx: &DatabaseTransaction,
    catalog: &Catalog,
    accepted: &mut [Accepted],
) -> Result<(), HandlerError> {
    let mut need: BTreeMap<String, u64> = BTreeMap::new();
    for a in accepted.iter().filter(|a| a.reference.is_none()) {
        *need.entry(a.inv.municipality.clone()).or_default() += 1;
    }
    let mut next: HashMap<String, u64> = HashMap::new();
    for (muni, count) in &need {
        next.insert(
            muni.clone(),
            queries::reserve_references(tx, muni, *count).await?,
        );
    }
    for a in accepted.iter_mut().filter(|a| a.reference.is_none()) {
        let muni = a.inv.municipality.clone();
        let Some(m) = catalog.municipality(&muni) else {
            continue;
        };
        let seq = next
            .get_mut(&muni)
            .ok_or_else(|| HandlerError::Other("reference not reserved".into()))?;
        let r = m.payment_reference(*seq).map_err(|e| {
            HandlerError::Other(format!("reference sequence of {muni} exhausted: {e}"))
        })?;
        *seq += 1;
        a.reference = Some(r);
    }
    Ok(())
}

// Long: the stages of opening a run (each timed by `stages.lap`) in the order the one transaction must take them.
/// Opens claims for a run of consecutive invoices. Existing debtors are locked (the batch
/// foresaw them) before their credit balance is read; new ones are locked by inserting them.
pub async fn open_claims(
    tx: &DatabaseTransaction,
    catalog: &Catalog,
    run: Vec<(&Inbound, InvoiceIssued)>,
    effects: &mut Effects,
    locks: &mut DebtorLocks,
) -> Result<Vec<Outcome>, HandlerError> {
    let started = Instant::now();
    let mut stages = Stages::since(started);
    let invoices = run.len();
    let mut outcomes: Vec<Outcome> = vec![Outcome::Done; invoices];
    let mut candidates = Vec::with_capacity(invoices);
    // Each invoice's message, for the trace its events continue (one run, many traces).
    let mut causes: HashMap<(String, String), &Inbound> = HashMap::with_capacity(invoices);
    for (idx, (msg, inv)) in run.into_iter().enumerate() {
        causes.insert((msg.envelope.source.clone(), inv.invoice_id.clone()), msg);
        let problems = config_problems(catalog, &inv);
        if problems.is_empty() {
            let hash = content_hash(&inv);
            candidates.push((idx, msg.envelope.source.clone(), inv, hash));
        } else {
            outcomes[idx] =
                Outcome::Rejected(Rejection::from_problems("invalid invoice", problems));
        }
    }

    stages.lap("decode");
    // Replays and conflicting re-sends, against the database and within the run.
    let ids: Vec<(String, String)> = candidates
        .iter()
        .map(|(_, source, inv, _)| (source.clone(), inv.invoice_id.clone()))
        .collect();
    let found = queries::claims_by_invoice_keys(tx, &ids).await?;
    stages.lap("lookup");
    let mut known: HashMap<(String, String), String> = found
        .into_iter()
        .map(|c| ((c.source, c.invoice_id), c.content_hash))
        .collect();
    let mut accepted: Vec<Accepted> = Vec::with_capacity(candidates.len());
    for (idx, source, inv, hash) in candidates {
        let key = (source.clone(), inv.invoice_id.clone());
        match known.get(&key) {
            Some(h) if *h == hash => {} // the same invoice again: no effect
            Some(_) => {
                outcomes[idx] = Outcome::Rejected(Rejection::new(format!(
                    "invoice {} from {} was already received with different content; send a credit note and a new invoice id instead",
                    inv.invoice_id, source
                )));
            }
            None => {
                known.insert(key, hash.clone());
                let reference = inv.payment_reference.as_deref().and_then(|t| {
                    catalog
                        .municipality(&inv.municipality)
                        .and_then(|m| references::parse_for(m, t))
                });
                accepted.push(Accepted {
                    idx,
                    source,
                    inv,
                    hash,
                    reference,
                });
            }
        }
    }

    stages.lap("known");
    // A reference the invoice brought must not already name another claim.
    let mut accepted = without_taken_references(tx, accepted, &mut outcomes).await?;

    // Generated references, reserved per municipality in one statement each (in municipality
    // order: each reservation locks the municipality's sequence row until commit).
    reserve_generated_references(tx, catalog, &mut accepted).await?;

    stages.lap("references");
    // Debtors: the latest details per debtor id; an event only when they changed. Locked before
    // they are read (a no-op for those the batch foresaw; one created since is locked now).
    let keys: Vec<(String, String)> = accepted
        .iter()
        .map(|a| (a.inv.municipality.clone(), a.inv.debtor.id.clone()))
        .collect();
    locks
        .lock_all(tx, &keys.iter().cloned().collect::<BTreeSet<_>>())
        .await?;
    let stored = queries::debtors(tx, &keys).await?;
    let mut latest: HashMap<(String, String), (String, DebtorUpsert, usize)> = HashMap::new();
    for (n, a) in accepted.iter().enumerate() {
        let details = serde_json::to_string(&a.inv.debtor)
            .map_err(|e| HandlerError::Other(format!("cannot serialise a debtor: {e}")))?;
        let details_hash = hex::encode(Sha256::digest(details.as_bytes()));
        let key = (a.inv.municipality.clone(), a.inv.debtor.id.clone());
        let upsert = DebtorUpsert {
            municipality: key.0.clone(),
            debtor_id: key.1.clone(),
            kind: if a.inv.debtor.kind == restance_kernel::PartyKind::Person {
                "person"
            } else {
                "company"
            }
            .into(),
            national_id: a.inv.debtor.national_id.0.as_str().to_owned(),
            details,
            details_hash: details_hash.clone(),
        };
        latest.insert(key, (details_hash, upsert, n));
    }
    let mut changed: Vec<(usize, DebtorUpsert)> = latest
        .into_iter()
        .filter(|(key, (hash, _, _))| stored.get(key).is_none_or(|s| s.details_hash != *hash))
        .map(|(_, (_, up, n))| (n, up))
        .collect();
    // Written in key order (two transactions inserting the same new debtors wait for each
    // other in one order), announced in the batch's order.
    let mut upserts: Vec<DebtorUpsert> = changed.iter().map(|(_, u)| u.clone()).collect();
    upserts.sort_by(|a, b| (&a.municipality, &a.debtor_id).cmp(&(&b.municipality, &b.debtor_id)));
    changed.sort_by_key(|(n, _)| *n);

    stages.lap("debtors");
    // The claims.
    let mut rows = Vec::with_capacity(accepted.len());
    let mut lines = Vec::with_capacity(accepted.len());
    for a in &accepted {
        let reference = a
            .reference
            .as_ref()
            .ok_or_else(|| HandlerError::Other("claim without reference".into()))?;
        let row = ClaimRow {
            seq: 0,
            claim_id: claim_id_for(&a.source, &a.inv.invoice_id),
            source: a.source.clone(),
            invoice_id: a.inv.invoice_id.clone(),
            municipality: a.inv.municipality.clone(),
            office: a.inv.office.clone(),
            category: a.inv.category.clone(),
            debtor_id: a.inv.debtor.id.clone(),
            currency: a.inv.currency.to_string(),
            amount: a.inv.amount,
            balance: Balance::opened(a.inv.amount),
            issue_date: a.inv.issue_date.into(),
            due_date: a.inv.due_date.into(),
            reference_key: reference.key().to_owned(),
            ocr_line: reference.ocr_line(),
            prepayment: a.inv.prepayment,
            direct_debit: a.inv.direct_debit,
            state: "open".into(),
            content_hash: a.hash.clone(),
            settled_date: None,
            version: 1,
        };
        lines.push(LedgerLine {
            claim_id: row.claim_id.clone(),
            kind: "opened",
            ref_id: row.invoice_id.clone(),
            principal: row.amount,
            fees: restance_kernel::Money::ZERO,
            interest: restance_kernel::Money::ZERO,
            business_date: row.issue_date,
        });
        rows.push(row);
    }
    stages.lap("rows");
    // The changed debtors (each write raises the details' version by one), the claims and their
    // ledger lines (one statement on PostgreSQL).
    let stored_now = queries::store_opened(tx, &upserts, &rows, &lines).await?;
    let versions: HashMap<(String, String), u64> = stored_now
        .iter()
        .map(|c| (c.key.clone(), c.version))
        .collect();
    let written: HashMap<(String, String), Money> =
        stored_now.into_iter().map(|c| (c.key, c.credit)).collect();
    locks.note_locked(
        upserts
            .iter()
            .map(|u| (u.municipality.clone(), u.debtor_id.clone())),
    );
    stages.lap("insert");
    // An event for each debtor this transaction inserted or changed, with the version this
    // write gave the details — not for one another replica stored with the same details
    // meanwhile.
    for (n, up) in &changed {
        if let Some(version) = versions.get(&(up.municipality.clone(), up.debtor_id.clone())) {
            let event = DebtorUpdated {
                municipality: up.municipality.clone(),
                debtor: accepted[*n].inv.debtor.clone(),
                version: Some(*version),
            };
            match causes.get(&(
                accepted[*n].source.clone(),
                accepted[*n].inv.invoice_id.clone(),
            )) {
                Some(cause) => effects.emit_for(cause, event)?,
                None => effects.emit(event)?,
            }
        }
    }
    for row in &rows {
        let event = ClaimOpened {
            claim: claim_ref(row),
            office: row.office.clone(),
            currency: row
                .currency
                .parse()
                .map_err(|_| HandlerError::Other("stored currency unreadable".into()))?,
            amount: row.amount,
            issue_date: row.issue_date.into(),
            due_date: row.due_date.into(),
            payment_reference: row.reference_key.clone(),
            ocr_line: Some(row.ocr_line.clone()),
            prepayment: row.prepayment,
            direct_debit: row.direct_debit,
            version: Some(row.version),
        };
        match causes.get(&(row.source.clone(), row.invoice_id.clone())) {
            Some(cause) => effects.emit_for(cause, event)?,
            None => effects.emit(event)?,
        }
    }

    // A debtor's credit balance pays the new claim at once. The credit as read under the lock,
    // or as the insert or update returned it; a debtor another replica inserted meanwhile (its
    // row is locked now, by our upsert) is read again.
    let mut credit: HashMap<(String, String), Money> = stored
        .iter()
        .map(|(k, s)| (k.clone(), s.credit))
        .chain(written)
        .collect();
    let unread: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r.municipality.clone(), r.debtor_id.clone()))
        .filter(|k| !credit.contains_key(k))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if !unread.is_empty() {
        credit.extend(
            queries::debtors(tx, &unread)
                .await?
                .into_iter()
                .map(|(k, s)| (k, s.credit)),
        );
    }
    for row in rows {
        if credit
            .get(&(row.municipality.clone(), row.debtor_id.clone()))
            .is_some_and(|c| c.is_positive())
        {
            apply_credit_balance(tx, row, effects).await?;
        }
    }
    stages.lap("events");
    tracing::debug!(invoices, total_us = started.elapsed().as_micros() as u64,
        stages = %stages, "claims opened");
    Ok(outcomes)
}

/// Microseconds per stage of [`open_claims`], for the debug log (profiling the ingest).
struct Stages {
    last: Instant,
    laps: Vec<(&'static str, u128)>,
}

impl Stages {
    fn since(start: Instant) -> Self {
        Self {
            last: start,
            laps: Vec::with_capacity(8),
        }
    }

    fn lap(&mut self, name: &'static str) {
        let now = Instant::now();
        self.laps
            .push((name, now.duration_since(self.last).as_micros()));
        self.last = now;
    }
}

impl std::fmt::Display for Stages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (name, us)) in self.laps.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{name}={us}")?;
        }
        Ok(())
    }
}
