//! A household's monthly budget and the capacity to pay it leaves: the rule agreements sizes a
//! payment plan by and debt counselling assesses the ability to service debt with.

use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::{BusinessDate, Money};

/// How often an instalment falls due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Frequency {
    /// Once a month, on the first due date's day of the month.
    Monthly,
    /// Every 14 days.
    Fortnightly,
    /// Every 7 days.
    Weekly,
}

impl Frequency {
    /// Instalments per year (a monthly budget converts with `12 / per_year`).
    pub const fn per_year(self) -> u32 {
        match self {
            Frequency::Monthly => 12,
            Frequency::Fortnightly => 26,
            Frequency::Weekly => 52,
        }
    }

    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Frequency::Monthly => "monthly",
            Frequency::Fortnightly => "fortnightly",
            Frequency::Weekly => "weekly",
        }
    }

    /// The calendar date of instalment `k` (0-based) before it is moved to a business day.
    pub fn nominal_date(self, first: BusinessDate, k: u32) -> Option<BusinessDate> {
        match self {
            Frequency::Monthly => first
                .as_naive()
                .checked_add_months(chrono::Months::new(k))
                .map(BusinessDate::from),
            Frequency::Fortnightly => first.checked_add_days(14 * i64::from(k)),
            Frequency::Weekly => first.checked_add_days(7 * i64::from(k)),
        }
    }
}

impl fmt::Display for Frequency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A monthly budget: what comes in and what must go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budget {
    /// Net income per month.
    pub monthly_income: Money,
    /// Necessary expenses per month (rent, food, childcare …).
    pub monthly_expenses: Money,
}

impl Budget {
    /// What is left each month: income − expenses (may be zero or negative).
    pub fn monthly_capacity(&self) -> Option<Money> {
        self.monthly_income.checked_sub(self.monthly_expenses)
    }

    /// The capacity per instalment of `frequency`: the monthly capacity × 12 / instalments per
    /// year, rounded down to øre (a plan never asks for more than the budget leaves).
    pub fn capacity(&self, frequency: Frequency) -> Option<Money> {
        let monthly = self.monthly_capacity()?;
        if frequency == Frequency::Monthly {
            return Some(monthly);
        }
        let scaled = monthly.as_decimal().checked_mul(Decimal::from(12))?
            / Decimal::from(frequency.per_year());
        Money::try_round_from(scaled.round_dp_with_strategy(2, RoundingStrategy::ToZero)).ok()
    }
}
