//! The claims a batch touches, kept in memory while the batch is applied in delivery order and
//! written back at its end in a few multi-row statements — with their new versions, the day's
//! flow sums, payments and measures taken.

use std::collections::{BTreeMap, BTreeSet};

use restance_kernel::{BusinessDate, Money};
use sea_orm::{DatabaseTransaction, DbErr};

use crate::domain::claim::{Version, state_of, supersede};
use crate::domain::report::Measure;
use crate::store::queries::{self, ClaimRow, FlowKind, FlowRow, MeasureCount, PaymentRow};

/// A claim of the batch: its row as it stands after the messages so far, and its versions (the
/// stored current one first, if it was stored).
#[derive(Debug, Clone)]
pub struct Tracked {
    /// The claim now.
    pub row: ClaimRow,
    /// Its versions: the stored current one and those this batch started.
    pub versions: Vec<Version>,
    touched: bool,
}

type FlowKey = (String, BusinessDate, String, String, FlowKind);

/// The batch's claims, flows and payments.
#[derive(Debug)]
pub struct WorkingSet<'a> {
    tx: &'a DatabaseTransaction,
    claims: BTreeMap<String, Tracked>,
    absent: BTreeSet<String>,
    flows: BTreeMap<FlowKey, (u64, Money)>,
    payments: BTreeMap<(String, BusinessDate), PaymentRow>,
    measures: BTreeMap<(String, BusinessDate, Measure), u64>,
    /// The last opened business date (changes are stamped with it).
    pub day: Option<BusinessDate>,
}

impl<'a> WorkingSet<'a> {
    /// An empty working set on the batch's transaction, at business date `day`.
    pub fn new(tx: &'a DatabaseTransaction, day: Option<BusinessDate>) -> Self {
        Self {
            tx,
            claims: BTreeMap::new(),
            absent: BTreeSet::new(),
            flows: BTreeMap::new(),
            payments: BTreeMap::new(),
            measures: BTreeMap::new(),
            day,
        }
    }

    /// The transaction.
    pub fn tx(&self) -> &'a DatabaseTransaction {
        self.tx
    }

    /// The business date a change is stamped with (see [`crate::domain::claim::stamp`]).
    pub fn stamp(&self, event_date: BusinessDate) -> BusinessDate {
        crate::domain::claim::stamp(self.day, event_date)
    }

    fn track(&mut self, row: ClaimRow) {
        let versions = vec![Version {
            valid_from: row.version_from,
            valid_to: None,
            value: row.value(),
        }];
        self.claims.insert(
            row.claim_id.clone(),
            Tracked {
                row,
                versions,
                touched: false,
            },
        );
    }

    /// Loads the claims not loaded yet (one query for the batch).
    pub async fn preload(&mut self, ids: &[String]) -> Result<(), DbErr> {
        let wanted: Vec<String> = ids
            .iter()
            .filter(|id| !self.claims.contains_key(*id) && !self.absent.contains(*id))
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let rows = queries::claims_by_id(self.tx, &wanted).await?;
        let found: BTreeSet<String> = rows.iter().map(|r| r.claim_id.clone()).collect();
        for row in rows {
            self.track(row);
        }
        self.absent
            .extend(wanted.into_iter().filter(|id| !found.contains(id)));
        Ok(())
    }

    /// A claim as it stands now, loading it if needed.
    pub async fn claim(&mut self, id: &str) -> Result<Option<&ClaimRow>, DbErr> {
        self.preload(std::slice::from_ref(&id.to_owned())).await?;
        Ok(self.claims.get(id).map(|t| &t.row))
    }

    /// Every claim of a debtor: those stored and those opened in this batch.
    pub async fn claims_of_debtor(
        &mut self,
        municipality: &str,
        debtor_id: &str,
    ) -> Result<Vec<ClaimRow>, DbErr> {
        let stored = queries::claims_of_debtor(self.tx, municipality, debtor_id).await?;
        for row in stored {
            if !self.claims.contains_key(&row.claim_id) {
                self.absent.remove(&row.claim_id);
                self.track(row);
            }
        }
        Ok(self
            .claims
            .values()
            .filter(|t| t.row.municipality == municipality && t.row.debtor_id == debtor_id)
            .map(|t| t.row.clone())
            .collect())
    }

    /// Adds a claim opened by this batch, its first version starting at `stamp`.
    pub fn open(&mut self, row: ClaimRow, stamp: BusinessDate) {
        let mut versions = Vec::new();
        supersede(&mut versions, stamp, row.value());
        self.absent.remove(&row.claim_id);
        self.claims.insert(
            row.claim_id.clone(),
            Tracked {
                row,
                versions,
                touched: true,
            },
        );
    }

    /// Changes a loaded claim with `f`, derives its state, and records the change stamped
    /// `stamp` in its versions. `false` if the claim is not loaded.
    pub fn change(&mut self, id: &str, stamp: BusinessDate, f: impl FnOnce(&mut ClaimRow)) -> bool {
        let Some(t) = self.claims.get_mut(id) else {
            return false;
        };
        f(&mut t.row);
        t.row.state = state_of(t.row.lifecycle, &t.row.holds);
        supersede(&mut t.versions, stamp, t.row.value());
        if let Some(current) = t.versions.last() {
            t.row.version_from = current.valid_from;
        }
        t.touched = true;
        true
    }

    /// Adds to the day's flow sums.
    pub fn flow(&mut self, row: &ClaimRow, date: BusinessDate, kind: FlowKind, amount: Money) {
        let entry = self
            .flows
            .entry((
                row.municipality.clone(),
                date,
                row.office.clone(),
                row.category.clone(),
                kind,
            ))
            .or_insert((0, Money::ZERO));
        entry.0 += 1;
        entry.1 += amount;
    }

    /// Counts one measure taken (a reminder, a fee, a meeting held …) on `date`.
    pub fn measure(&mut self, municipality: &str, date: BusinessDate, measure: Measure) {
        *self
            .measures
            .entry((municipality.to_owned(), date, measure))
            .or_insert(0) += 1;
    }

    /// Adds a payment to the day's sums.
    pub fn payment(
        &mut self,
        municipality: &str,
        date: BusinessDate,
        amount: Money,
        dd_amount: Money,
    ) {
        let entry = self
            .payments
            .entry((municipality.to_owned(), date))
            .or_insert_with(|| PaymentRow {
                municipality: municipality.to_owned(),
                business_date: date,
                payments: 0,
                amount: Money::ZERO,
                dd_payments: 0,
                dd_amount: Money::ZERO,
            });
        entry.payments += 1;
        entry.amount += amount;
        if dd_amount.is_positive() {
            entry.dd_payments += 1;
            entry.dd_amount += dd_amount;
        }
    }

    /// Writes everything the batch changed; returns how many versions were written.
    pub async fn flush(self) -> Result<usize, DbErr> {
        let touched: Vec<&Tracked> = self.claims.values().filter(|t| t.touched).collect();
        let rows: Vec<&ClaimRow> = touched.iter().map(|t| &t.row).collect();
        queries::upsert_claims(self.tx, &rows).await?;
        let versions: Vec<(&ClaimRow, &Version)> = touched
            .iter()
            .flat_map(|t| t.versions.iter().map(move |v| (&t.row, v)))
            .collect();
        queries::upsert_versions(self.tx, &versions).await?;
        let flows: Vec<FlowRow> = self
            .flows
            .into_iter()
            .map(
                |((municipality, business_date, office, category, kind), (claims, amount))| {
                    FlowRow {
                        municipality,
                        business_date,
                        office,
                        category,
                        kind,
                        claims,
                        amount,
                    }
                },
            )
            .collect();
        queries::add_flows(self.tx, &flows).await?;
        let payments: Vec<PaymentRow> = self.payments.into_values().collect();
        queries::add_payments(self.tx, &payments).await?;
        let measures: Vec<MeasureCount> = self
            .measures
            .into_iter()
            .map(
                |((municipality, business_date, measure), count)| MeasureCount {
                    municipality,
                    business_date,
                    measure,
                    count,
                },
            )
            .collect();
        queries::add_measures(self.tx, &measures).await?;
        Ok(versions.len())
    }
}
