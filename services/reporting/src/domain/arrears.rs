//! Arrears on a date, precisely (DOMAIN.md "Arrears, precisely"): **arrears on date D** = the
//! unpaid balance (principal + fees + interest) at the end of D of every claim whose due date is
//! before D, split by office, category, state, age and direct debit, with counts of claims and
//! of distinct debtors. Written-off and settled claims are not arrears.
//!
//! A snapshot ([`Arrears`]) is a set of [`Cell`]s — one per office × category × state × age
//! bucket × direct debit that has arrears — and distinct debtor counts per dimension (a debtor
//! with claims in two categories counts once in the total, so debtors cannot be summed from the
//! cells). [`arrears_on`] computes one from claim versions in memory: the reference the SQL in
//! `store::queries` is tested against.

use std::collections::{BTreeMap, BTreeSet};

use restance_kernel::{BusinessDate, Money};
use serde::{Deserialize, Serialize};

use crate::domain::claim::{Balance, Version, version_on};
use crate::domain::report::{AgeBucket, ArrearsState};

/// Whether a claim due on `due` is in arrears on `as_of`: from the day after its due date.
pub fn in_arrears(due: BusinessDate, as_of: BusinessDate) -> bool {
    due < as_of
}

/// The age bucket of a claim due on `due`, on `as_of`: by the days from the due date.
pub fn bucket(due: BusinessDate, as_of: BusinessDate) -> AgeBucket {
    AgeBucket::for_days_overdue(due.days_until(as_of))
}

/// The earliest due dates of each age bucket on a date, so that SQL can bucket by comparing
/// dates (the same on PostgreSQL and SQLite): a claim due on or after `days_30` is 0–30 days
/// overdue, on or after `days_90` 31–90, on or after `days_365` 91–365, else over a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgeBounds {
    /// Earliest due date in 0–30 days.
    pub days_30: BusinessDate,
    /// Earliest due date in 31–90 days.
    pub days_90: BusinessDate,
    /// Earliest due date in 91–365 days.
    pub days_365: BusinessDate,
}

impl AgeBounds {
    /// The bounds on `as_of`.
    pub fn on(as_of: BusinessDate) -> AgeBounds {
        AgeBounds {
            days_30: as_of.add_days(-30),
            days_90: as_of.add_days(-90),
            days_365: as_of.add_days(-365),
        }
    }

    /// The bucket of a due date (what the SQL `CASE` computes).
    pub fn bucket(&self, due: BusinessDate) -> AgeBucket {
        if due >= self.days_30 {
            AgeBucket::Days0To30
        } else if due >= self.days_90 {
            AgeBucket::Days31To90
        } else if due >= self.days_365 {
            AgeBucket::Days91To365
        } else {
            AgeBucket::Over365
        }
    }
}

/// The arrears of one office × category × state × age bucket × direct debit on a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    /// The collection office.
    pub office: String,
    /// The category.
    pub category: String,
    /// The state.
    pub state: ArrearsState,
    /// How long overdue.
    pub bucket: AgeBucket,
    /// Invoices paid by direct debit.
    pub direct_debit: bool,
    /// The open amounts.
    pub balance: Balance,
    /// How many claims.
    pub claims: u64,
}

/// What a distinct debtor count is per.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// All arrears (key `all`).
    Total,
    /// Per category.
    Category,
    /// Per office.
    Office,
    /// Per state.
    State,
    /// Per age bucket.
    Age,
}

impl Dimension {
    /// Every dimension.
    pub const ALL: [Dimension; 5] = [
        Dimension::Total,
        Dimension::Category,
        Dimension::Office,
        Dimension::State,
        Dimension::Age,
    ];

    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Dimension::Total => "total",
            Dimension::Category => "category",
            Dimension::Office => "office",
            Dimension::State => "state",
            Dimension::Age => "age",
        }
    }

    /// The dimension a stored name stands for.
    pub fn parse(s: &str) -> Option<Dimension> {
        Dimension::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

/// The key of the [`Dimension::Total`] count.
pub const ALL_KEY: &str = "all";

/// Arrears on one date for one municipality.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Arrears {
    /// The cells with arrears.
    pub cells: Vec<Cell>,
    /// Distinct debtors per dimension and key (absent: none).
    pub debtors: BTreeMap<(Dimension, String), u64>,
}

impl Arrears {
    /// Distinct debtors of a dimension's key (0 when there are none).
    pub fn debtors_of(&self, dimension: Dimension, key: &str) -> u64 {
        self.debtors
            .get(&(dimension, key.to_owned()))
            .copied()
            .unwrap_or(0)
    }

    /// Puts the cells in a canonical order (for comparisons).
    pub fn sorted(mut self) -> Arrears {
        self.cells.sort_by(|a, b| {
            (&a.office, &a.category, a.state, a.bucket, a.direct_debit).cmp(&(
                &b.office,
                &b.category,
                b.state,
                b.bucket,
                b.direct_debit,
            ))
        });
        self
    }
}

/// A claim with its versions: what [`arrears_on`] reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimHistory {
    /// The collection office.
    pub office: String,
    /// The category.
    pub category: String,
    /// The debtor.
    pub debtor_id: String,
    /// The due date.
    pub due_date: BusinessDate,
    /// Paid by direct debit.
    pub direct_debit: bool,
    /// Its versions, oldest first.
    pub versions: Vec<Version>,
}

/// The arrears on `as_of` of `claims`, computed in memory from their versions.
pub fn arrears_on(claims: &[ClaimHistory], as_of: BusinessDate) -> Arrears {
    type Key = (String, String, ArrearsState, AgeBucket, bool);
    let mut cells: BTreeMap<Key, (Balance, u64)> = BTreeMap::new();
    let mut debtors: BTreeMap<(Dimension, String), BTreeSet<&str>> = BTreeMap::new();
    for claim in claims {
        if !in_arrears(claim.due_date, as_of) {
            continue;
        }
        let Some(version) = version_on(&claim.versions, as_of) else {
            continue;
        };
        let Some(state) = version.value.state.arrears() else {
            continue;
        };
        let balance = version.value.balance;
        if !balance.total().is_positive() {
            continue;
        }
        let age = bucket(claim.due_date, as_of);
        let entry = cells
            .entry((
                claim.office.clone(),
                claim.category.clone(),
                state,
                age,
                claim.direct_debit,
            ))
            .or_insert((Balance::ZERO, 0));
        entry.0.principal += balance.principal;
        entry.0.fees += balance.fees;
        entry.0.interest += balance.interest;
        entry.1 += 1;
        for (dimension, key) in [
            (Dimension::Total, ALL_KEY),
            (Dimension::Category, claim.category.as_str()),
            (Dimension::Office, claim.office.as_str()),
            (Dimension::State, state.as_str()),
            (Dimension::Age, age.as_str()),
        ] {
            debtors
                .entry((dimension, key.to_owned()))
                .or_default()
                .insert(claim.debtor_id.as_str());
        }
    }
    Arrears {
        cells: cells
            .into_iter()
            .map(
                |((office, category, state, bucket, direct_debit), (balance, claims))| Cell {
                    office,
                    category,
                    state,
                    bucket,
                    direct_debit,
                    balance,
                    claims,
                },
            )
            .collect(),
        debtors: debtors
            .into_iter()
            .map(|(k, set)| (k, set.len() as u64))
            .collect(),
    }
}

/// The total open amount of some cells.
pub fn total_of<'a>(cells: impl IntoIterator<Item = &'a Cell>) -> Money {
    cells
        .into_iter()
        .fold(Money::ZERO, |acc, c| acc + c.balance.total())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::claim::{ClaimState, VersionValue, supersede};
    use proptest::prelude::*;

    fn d(s: &str) -> BusinessDate {
        s.parse().expect("date")
    }

    fn open(principal: i64) -> VersionValue {
        VersionValue {
            state: ClaimState::Open,
            balance: Balance {
                principal: Money::from_minor(principal),
                ..Balance::ZERO
            },
        }
    }

    fn claim(
        debtor: &str,
        category: &str,
        due: &str,
        changes: &[(&str, VersionValue)],
    ) -> ClaimHistory {
        let mut versions = Vec::new();
        for (date, value) in changes {
            supersede(&mut versions, d(date), *value);
        }
        ClaimHistory {
            office: "main".into(),
            category: category.into(),
            debtor_id: debtor.into(),
            due_date: d(due),
            direct_debit: false,
            versions,
        }
    }

    #[test]
    fn a_claim_is_in_arrears_from_the_day_after_its_due_date() {
        assert!(!in_arrears(d("2027-01-15"), d("2027-01-15")));
        assert!(in_arrears(d("2027-01-15"), d("2027-01-16")));
        let claims = [claim(
            "P-1",
            "daycare",
            "2027-01-15",
            &[("2027-01-02", open(215_000))],
        )];
        assert!(arrears_on(&claims, d("2027-01-15")).cells.is_empty());
        let a = arrears_on(&claims, d("2027-01-16"));
        assert_eq!(a.cells.len(), 1);
        assert_eq!(a.cells[0].bucket, AgeBucket::Days0To30);
        assert_eq!(a.debtors_of(Dimension::Total, ALL_KEY), 1);
    }

    #[test]
    fn the_age_buckets_move_with_the_as_of_date() {
        let due = d("2026-01-31");
        assert_eq!(bucket(due, d("2026-03-02")), AgeBucket::Days0To30);
        assert_eq!(bucket(due, d("2026-03-03")), AgeBucket::Days31To90);
        assert_eq!(bucket(due, d("2026-05-01")), AgeBucket::Days31To90);
        assert_eq!(bucket(due, d("2026-05-02")), AgeBucket::Days91To365);
        assert_eq!(bucket(due, d("2027-01-31")), AgeBucket::Days91To365);
        assert_eq!(bucket(due, d("2027-02-01")), AgeBucket::Over365);
    }

    #[test]
    fn the_balance_at_the_end_of_the_day_counts_and_written_off_claims_do_not() {
        let written_off = VersionValue {
            state: ClaimState::WrittenOff,
            balance: Balance::ZERO,
        };
        let claims = [
            claim(
                "P-1",
                "daycare",
                "2027-01-15",
                &[("2027-01-02", open(100_000)), ("2027-02-01", open(40_000))],
            ),
            claim(
                "P-1",
                "water",
                "2027-01-10",
                &[("2027-01-02", open(50_000)), ("2027-02-01", written_off)],
            ),
            claim(
                "P-2",
                "water",
                "2027-01-10",
                &[("2027-01-02", open(70_000))],
            ),
        ];
        let jan = arrears_on(&claims, d("2027-01-31"));
        assert_eq!(total_of(&jan.cells), Money::from_minor(220_000));
        assert_eq!(jan.debtors_of(Dimension::Total, ALL_KEY), 2);
        assert_eq!(jan.debtors_of(Dimension::Category, "water"), 2);
        let feb = arrears_on(&claims, d("2027-02-01"));
        assert_eq!(total_of(&feb.cells), Money::from_minor(110_000));
        assert_eq!(feb.debtors_of(Dimension::Category, "water"), 1);
        assert_eq!(feb.debtors_of(Dimension::Total, ALL_KEY), 2);
    }

    proptest! {
        /// The date comparisons the SQL uses put every due date in the same bucket as counting
        /// the days does.
        #[test]
        fn age_bounds_agree_with_counting_days(as_of in 0i64..3000, back in 1i64..1200) {
            let as_of = d("2024-01-01").add_days(as_of);
            let due = as_of.add_days(-back);
            prop_assert_eq!(AgeBounds::on(as_of).bucket(due), bucket(due, as_of));
        }
    }
}
