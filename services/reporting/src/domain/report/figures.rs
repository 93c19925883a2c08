//! Arrears figures for one slice, the change between two dates, and a table row.

use restance_kernel::Money;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// Arrears figures for one slice (a category, a state, an office, an age bucket or the total)
/// on one date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Figures {
    /// Outstanding principal (the invoiced amounts less payments and credits applied to them).
    pub principal: Money,
    /// Outstanding reminder and collection fees.
    pub fees: Money,
    /// Outstanding interest.
    pub interest: Money,
    /// `principal + fees + interest`: the arrears the report compares.
    pub total: Money,
    /// Number of claims with a balance.
    pub claims: u64,
    /// Number of distinct debtors with a balance in this slice.
    pub debtors: u64,
}

impl Figures {
    /// No arrears: every amount and count zero.
    pub const ZERO: Figures = Figures {
        principal: Money::ZERO,
        fees: Money::ZERO,
        interest: Money::ZERO,
        total: Money::ZERO,
        claims: 0,
        debtors: 0,
    };

    /// Figures whose `total` is computed from the parts, so it always adds up.
    pub fn new(principal: Money, fees: Money, interest: Money, claims: u64, debtors: u64) -> Self {
        Figures {
            principal,
            fees,
            interest,
            total: principal + fees + interest,
            claims,
            debtors,
        }
    }

    /// Both slices together. Debtors are added too, so a debtor in both counts twice: use it for
    /// disjoint slices, or replace `debtors` with a distinct count (see [`Report::debtors_now`]).
    pub fn plus(&self, other: &Figures) -> Figures {
        Figures {
            principal: self.principal + other.principal,
            fees: self.fees + other.fees,
            interest: self.interest + other.interest,
            total: self.total + other.total,
            claims: self.claims + other.claims,
            debtors: self.debtors + other.debtors,
        }
    }

    /// Whether `total` equals `principal + fees + interest` (the writers refuse a report where
    /// it does not, rather than print figures that do not add up).
    pub fn adds_up(&self) -> bool {
        self.principal
            .checked_add(self.fees)
            .and_then(|s| s.checked_add(self.interest))
            == Some(self.total)
    }
}

/// The change from 12 months earlier to now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// `now − then` in kroner; positive when arrears grew.
    pub amount: Money,
    /// `(now − then) / |then| × 100`, one decimal, half away from zero; `None` when `then` is
    /// zero (a change from nothing has no percentage).
    pub percent: Option<Decimal>,
}

impl Change {
    /// The change from `then` to `now`.
    pub fn between(now: Money, then: Money) -> Change {
        let amount = now - then;
        let percent = if then.is_zero() {
            None
        } else {
            amount
                .as_decimal()
                .checked_mul(Decimal::ONE_HUNDRED)
                .and_then(|x| x.checked_div(then.as_decimal().abs()))
                .map(|p| {
                    p.round_dp_with_strategy(1, RoundingStrategy::MidpointAwayFromZero)
                        .normalize()
                })
                // Keep one decimal visible: 12 → 12.0, as the files show it.
                .map(|p| {
                    let mut p = p;
                    if p.scale() < 1 {
                        p.rescale(1);
                    }
                    p
                })
        };
        Change { amount, percent }
    }

    /// The change of two optional figures: `None` when there is nothing to compare with.
    pub fn of(now: &Figures, then: Option<&Figures>) -> Option<Change> {
        then.map(|then| Change::between(now.total, then.total))
    }
}

/// One row of a comparison table (a category or an office): its figures now and 12 months earlier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    /// The catalog key, e.g. `daycare` or `main`.
    pub key: String,
    /// The name shown in the report, e.g. "Daycare" (from the catalog).
    pub name: String,
    /// The figures as of [`Report::as_of`].
    pub now: Figures,
    /// The figures as of [`Report::compare_as_of`]; `None` when there is no history for that
    /// date (neither projection nor imported balance), which the files show as blank, not zero.
    pub then: Option<Figures>,
}

impl Row {
    /// The change in total arrears, when there is something to compare with.
    pub fn change(&self) -> Option<Change> {
        Change::of(&self.now, self.then.as_ref())
    }
}

/// A row of the arrears-by-category table.
pub type CategoryRow = Row;

/// A row of the arrears-by-office table.
pub type OfficeRow = Row;
