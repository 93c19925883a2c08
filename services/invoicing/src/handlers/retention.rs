//! Retention on the business day: invoicing owns the ledger, so it decides which debtors are
//! past retention (`[retention]`, the pure rule in `restance_kernel::retention`: every claim
//! ended — settled, written off, expired or transferred to state collection — and the period of
//! each claim's category run out from the end of the year it ended), erases its own copy of
//! their personal data (the debtor row keeps its id, kind, claims, amounts and dates; the
//! national id and the details block go) and publishes `invoicing.debtor.erased.v1` per debtor
//! through the outbox, in the same transaction, for every other service to erase its copy.
//! A debtor with a credit balance or a refund under way is kept: the municipality still owes
//! it money. The preview (`GET /api/v1/retention/preview`) runs the same selection.

use super::locks::DebtorLocks;
use crate::store::queries::{self, EndedCategory};
use chrono::NaiveDate;
use restance_bus::{Effects, HandlerError};
use restance_contracts::messages::DebtorErased;
use restance_kernel::retention::{ClaimEnd, RetentionPolicy};
use sea_orm::{ConnectionTrait, DbErr};
use std::collections::BTreeSet;

/// Debtors locked per statement.
const LOCK_CHUNK: usize = 1000;

/// A debtor whose personal data is due to go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueDebtor {
    /// Municipality code.
    pub municipality: String,
    /// Debtor id.
    pub debtor_id: String,
    /// Its claims (all ended).
    pub claims: i64,
    /// When the last of them ended.
    pub last_ended: NaiveDate,
    /// The legal source of the period that ran out last.
    pub legal_source: String,
}

/// The debtors whose personal data is due to go on `today`, in key order.
pub async fn due_debtors(
    db: &impl ConnectionTrait,
    policy: &RetentionPolicy,
    today: NaiveDate,
) -> Result<Vec<DueDebtor>, DbErr> {
    let rows = queries::ended_categories(db, policy.ended_by_any(today)).await?;
    Ok(due_among(policy, &rows, today))
}

/// The debtors among `rows` (in key order) that the policy finds due on `today`.
fn due_among(policy: &RetentionPolicy, rows: &[EndedCategory], today: NaiveDate) -> Vec<DueDebtor> {
    let mut due = Vec::new();
    for debtor in
        rows.chunk_by(|a, b| a.municipality == b.municipality && a.debtor_id == b.debtor_id)
    {
        let ends = debtor.iter().map(|c| ClaimEnd {
            category: &c.category,
            ended: c.ended,
        });
        if !policy.is_due(ends, today) {
            continue;
        }
        let Some(last) = debtor
            .iter()
            .filter_map(|c| c.ended.map(|e| (policy.erasable_from(&c.category, e), c)))
            .max_by_key(|(from, _)| *from)
            .map(|(_, c)| c)
        else {
            continue;
        };
        due.push(DueDebtor {
            municipality: last.municipality.clone(),
            debtor_id: last.debtor_id.clone(),
            claims: debtor.iter().map(|c| c.claims).sum(),
            last_ended: debtor.iter().filter_map(|c| c.ended).max().unwrap_or(today),
            legal_source: policy.legal_source_for(&last.category).to_owned(),
        });
    }
    due
}

/// Erases the debtors due on `date` — at most `[retention] max_debtors_per_day`, the first in key
/// order; nothing when `enabled = false` — and publishes one `invoicing.debtor.erased.v1` each;
/// returns how many.
pub async fn erase_due(
    tx: &sea_orm::DatabaseTransaction,
    policy: &RetentionPolicy,
    date: NaiveDate,
    effects: &mut Effects,
    locks: &mut DebtorLocks,
) -> Result<usize, HandlerError> {
    if !policy.enabled {
        return Ok(0);
    }
    let mut due = due_debtors(tx, policy, date).await?;
    // A bounded day: the first debtors in key order; the rest are still due tomorrow.
    let cap = usize::try_from(policy.max_debtors_per_day).unwrap_or(usize::MAX);
    if due.len() > cap {
        tracing::info!(
            due = due.len(),
            erased_today = cap,
            "retention: more debtors due than [retention] max_debtors_per_day; the rest follow \
             on the next business days"
        );
        due.truncate(cap);
    }
    // Under the debtors' locks, taken in key order a chunk at a time: an invoice for one of them
    // may be opening a claim right now (the erasure re-checks for open claims in its statement).
    for chunk in due.chunks(LOCK_CHUNK) {
        let keys: BTreeSet<(String, String)> = chunk
            .iter()
            .map(|d| (d.municipality.clone(), d.debtor_id.clone()))
            .collect();
        locks.lock_all(tx, &keys).await?;
    }
    let mut erased = 0;
    for debtor in due {
        if let Some(version) = queries::erase_debtor(
            tx,
            &debtor.municipality,
            &debtor.debtor_id,
            date,
            &debtor.legal_source,
        )
        .await?
        {
            effects.emit(DebtorErased {
                municipality: debtor.municipality,
                debtor_id: debtor.debtor_id,
                erased_on: date.into(),
                version,
            })?;
            erased += 1;
        }
    }
    Ok(erased)
}

#[cfg(test)]
mod tests {
    use super::*;
    use restance_kernel::retention::CategoryPeriod;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    fn row(debtor: &str, category: &str, ended: NaiveDate) -> EndedCategory {
        EndedCategory {
            municipality: "0746".into(),
            debtor_id: debtor.into(),
            category: category.into(),
            claims: 2,
            ended: Some(ended),
        }
    }

    #[test]
    fn a_debtor_with_a_longer_kept_category_waits_for_it() {
        let mut policy = RetentionPolicy::default();
        policy.categories.insert(
            "property_tax".into(),
            CategoryPeriod {
                years: 10,
                legal_source: "archive plan".into(),
            },
        );
        let rows = [
            row("P-1", "daycare", d(2019, 5, 1)),
            row("P-2", "daycare", d(2018, 5, 1)),
            row("P-2", "property_tax", d(2018, 5, 1)),
            row("P-3", "daycare", d(2012, 5, 1)),
            row("P-3", "property_tax", d(2012, 5, 1)),
        ];
        let due = due_among(&policy, &rows, d(2026, 1, 5));
        let ids: Vec<&str> = due.iter().map(|d| d.debtor_id.as_str()).collect();
        assert_eq!(
            ids,
            ["P-1", "P-3"],
            "P-2's property tax is kept to the end of 2028"
        );
        assert_eq!(due[1].claims, 4);
        assert_eq!(due[1].legal_source, "archive plan");
        let due = due_among(&RetentionPolicy::default(), &rows, d(2026, 1, 5));
        let ids: Vec<&str> = due.iter().map(|d| d.debtor_id.as_str()).collect();
        assert_eq!(ids, ["P-1", "P-2", "P-3"]);
    }
}
