//! A debtor's state as stored, turned into the domain's [`DebtorView`]; and the next action
//! date after an event.
//!
//! **Events never act.** A payment, a new claim or a hold changes the stored state and moves
//! the debtor's next action date; the actions themselves (letters, fees, interest, transfers)
//! are taken only by the daily run for a business date ([`crate::run`]), so nothing is sent at
//! random hours and every action carries the business date it was decided for. An event that
//! makes something due as of the last opened business date sets the next action date to that
//! date: the run for it picks the debtor up if it has not passed it yet, else the next day's run.

use std::collections::BTreeMap;

use restance_kernel::{BusinessDate, Catalog, PartyKind};
use sea_orm::{ConnectionTrait, DbErr};

use crate::domain::{BrokenAgreement, CategoryFlags, DebtorView, Hold, Policies, next_steps};
use crate::store::queries::{self, ClaimRow, DebtorKey, DebtorRow, HoldRow};

/// One debtor's stored state.
#[derive(Debug, Clone)]
pub struct LoadedDebtor {
    /// `(municipality, debtor_id)`.
    pub key: DebtorKey,
    /// Person or company.
    pub kind: PartyKind,
    /// The claims still in dunning (open, or with closed supply to restore).
    pub claims: Vec<ClaimRow>,
    /// Holds, current and ended.
    pub holds: Vec<HoldRow>,
    /// Broken agreements.
    pub broken: Vec<BrokenAgreement>,
}

impl LoadedDebtor {
    /// The domain's view of this debtor.
    pub fn view(&self, catalog: &Catalog) -> DebtorView {
        DebtorView {
            debtor_id: self.key.1.clone(),
            municipality: self.key.0.clone(),
            kind: self.kind,
            claims: self
                .claims
                .iter()
                .map(|c| c.state(flags(catalog, &c.category)))
                .collect(),
            holds: self
                .holds
                .iter()
                .map(|h| h.hold.clone())
                .collect::<Vec<Hold>>(),
            broken_agreements: self.broken.clone(),
        }
    }

    /// Takes the claims' state back from a view the decisions were recorded into.
    pub fn take_back(&mut self, view: &DebtorView) {
        let by_id: BTreeMap<&str, &crate::domain::ClaimState> = view
            .claims
            .iter()
            .map(|c| (c.claim_id.as_str(), c))
            .collect();
        for claim in &mut self.claims {
            if let Some(state) = by_id.get(claim.claim_id.as_str()) {
                claim.update_from(state);
            }
        }
    }
}

/// The catalog flags of a category (none for an unknown category).
pub fn flags(catalog: &Catalog, category: &str) -> CategoryFlags {
    catalog
        .category(category)
        .map(CategoryFlags::from)
        .unwrap_or_default()
}

/// Loads the debtors `rows` (already read, and locked, by [`queries::lock_debtors`]).
pub async fn load(
    db: &impl ConnectionTrait,
    rows: &BTreeMap<DebtorKey, DebtorRow>,
) -> Result<Vec<LoadedDebtor>, DbErr> {
    let keys: Vec<DebtorKey> = rows.keys().cloned().collect();
    let mut out: BTreeMap<DebtorKey, LoadedDebtor> = rows
        .iter()
        .map(|(k, r)| {
            (
                k.clone(),
                LoadedDebtor {
                    key: k.clone(),
                    kind: r.kind,
                    claims: Vec::new(),
                    holds: Vec::new(),
                    broken: Vec::new(),
                },
            )
        })
        .collect();
    for claim in queries::live_claims_of(db, &keys).await? {
        let key = (claim.municipality.clone(), claim.debtor_id.clone());
        if let Some(d) = out.get_mut(&key) {
            d.claims.push(claim);
        }
    }
    for hold in queries::holds_of(db, &keys).await? {
        if let Some(d) = out.get_mut(&hold.key) {
            d.holds.push(hold);
        }
    }
    for (key, broken) in queries::broken_agreements_of(db, &keys).await? {
        if let Some(d) = out.get_mut(&key) {
            d.broken.push(broken);
        }
    }
    let mut list: Vec<LoadedDebtor> = out.into_values().collect();
    for d in &mut list {
        d.claims
            .sort_by(|a, b| (a.due_date, &a.claim_id).cmp(&(b.due_date, &b.claim_id)));
    }
    Ok(list)
}

/// The debtor's next action date after an event, as of the last opened business date `last`
/// (see the module documentation); sets each claim's own next date too. Without any business
/// day yet, the day after the earliest due date of an open claim (no step, interest or other
/// action can come earlier).
pub fn next_action_after_event(
    debtor: &mut LoadedDebtor,
    policies: &Policies,
    catalog: &Catalog,
    last: Option<BusinessDate>,
) -> Option<BusinessDate> {
    let Some(today) = last else {
        let mut earliest = None;
        for claim in &mut debtor.claims {
            let next = (claim.status == crate::domain::ClaimStatus::Open)
                .then(|| claim.due_date.checked_add_days(1))
                .flatten();
            claim.next_action_date = next;
            earliest = [earliest, next].into_iter().flatten().min();
        }
        return earliest;
    };
    let view = debtor.view(catalog);
    let decisions = next_steps(&view, policies, today);
    let mut due_today: Vec<&str> = Vec::new();
    for d in &decisions.decisions {
        due_today.extend(d.action.claim_ids());
    }
    for claim in &mut debtor.claims {
        claim.next_action_date = if due_today.contains(&claim.claim_id.as_str()) {
            Some(today)
        } else {
            decisions
                .next_action
                .get(&claim.claim_id)
                .copied()
                .flatten()
        };
    }
    if decisions.is_empty() {
        decisions.next_action_date()
    } else {
        Some(today)
    }
}

/// Recomputes and stores the next action dates of `keys` after events changed them (locks the
/// debtors first; see [`crate::handlers`]).
pub async fn reevaluate(
    tx: &impl ConnectionTrait,
    keys: &[DebtorKey],
    policies: &Policies,
    catalog: &Catalog,
) -> Result<(), DbErr> {
    if keys.is_empty() {
        return Ok(());
    }
    let last = queries::last_business_date(tx).await?;
    let rows = queries::lock_debtors(tx, keys).await?;
    let mut loaded = load(tx, &rows).await?;
    let mut dates = Vec::with_capacity(loaded.len());
    let mut claims = Vec::new();
    for d in &mut loaded {
        let next = next_action_after_event(d, policies, catalog, last);
        dates.push((d.key.clone(), next));
        claims.extend(d.claims.iter().cloned());
    }
    queries::upsert_claims(tx, &claims).await?;
    queries::set_next_action_dates(tx, &dates).await?;
    Ok(())
}
