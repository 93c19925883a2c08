//! From our dunning service to invoicing: fees and interest to add to a claim's balance.

use restance_kernel::BusinessDate;
use restance_kernel::{Currency, Money};
use serde::{Deserialize, Serialize};

use crate::check::Problems;
use crate::{Message, Problem, Validate};

/// `dunning.fee.assessed.v1`: a reminder fee is added to a claim.
///
/// Invoicing treats `(claim_id, step)` as the natural key: one fee per claim and dunning step, even
/// if the fee is assessed twice with different `fee_id`s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeAssessed {
    /// Dunning's id for the fee.
    pub fee_id: String,
    /// The claim the fee is added to (from `invoicing.claim.opened.v1`).
    pub claim_id: String,
    /// The debtor, as in the claim.
    pub debtor_id: String,
    /// The claim's municipality.
    pub municipality: String,
    /// The dunning step that caused the fee (1 = first reminder).
    pub step: u32,
    /// Greater than zero and within the legal maximum (checked by dunning's policy).
    pub amount: Money,
    /// The claim's currency.
    pub currency: Currency,
    /// The business date the fee was assessed.
    pub assessed_date: BusinessDate,
    /// The rule cited in the letter, e.g. `gebyrloven § 6, stk. 1`.
    pub legal_basis: String,
}

impl Message for FeeAssessed {
    const TYPE: &'static str = "dunning.fee.assessed.v1";
}

impl Validate for FeeAssessed {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.fee_id", &self.fee_id);
        p.id("data.claim_id", &self.claim_id);
        p.id("data.debtor_id", &self.debtor_id);
        p.id("data.municipality", &self.municipality);
        if self.step == 0 {
            p.add("data.step", "must be 1 or more");
        }
        p.positive("data.amount", self.amount);
        p.text("data.legal_basis", &self.legal_basis);
        p.into_vec()
    }
}

/// `dunning.interest.assessed.v1`: default interest for a period is added to a claim.
///
/// Invoicing treats `interest_id` as the natural key; dunning derives it from the claim and period
/// so that a re-run of the same day produces the same id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterestAssessed {
    /// Dunning's id for this interest charge (deterministic per claim and period).
    pub interest_id: String,
    /// The claim the interest is added to.
    pub claim_id: String,
    /// The debtor, as in the claim.
    pub debtor_id: String,
    /// The claim's municipality.
    pub municipality: String,
    /// First day of the interest period.
    pub period_from: BusinessDate,
    /// Last day of the interest period (not before `period_from`).
    pub period_to: BusinessDate,
    /// The rate applied, in percent, as a decimal string: `"1.00"` = 1 % (per the policy's unit,
    /// e.g. per started month in Denmark, per year in Norway). 2 to 6 decimals.
    pub rate: String,
    /// The interest amount, greater than zero.
    pub amount: Money,
    /// The claim's currency.
    pub currency: Currency,
    /// The business date the interest was assessed.
    pub assessed_date: BusinessDate,
}

impl Message for InterestAssessed {
    const TYPE: &'static str = "dunning.interest.assessed.v1";
}

impl Validate for InterestAssessed {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.interest_id", &self.interest_id);
        p.id("data.claim_id", &self.claim_id);
        p.id("data.debtor_id", &self.debtor_id);
        p.id("data.municipality", &self.municipality);
        p.not_before(
            "data.period_to",
            self.period_to,
            self.period_from,
            "period_from",
        );
        if !is_percent(&self.rate) {
            p.add(
                "data.rate",
                "must be a percentage like \"1.00\" (1 to 3 digits, '.', 2 to 6 decimals)",
            );
        }
        p.positive("data.amount", self.amount);
        p.into_vec()
    }
}

/// `1.00`, `9.6000`, `12.25`: 1–3 integer digits, a point, 2–6 decimals (no sign: rates are not negative).
fn is_percent(s: &str) -> bool {
    let digits = |part: &str, range: std::ops::RangeInclusive<usize>| {
        range.contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit())
    };
    s.split_once('.')
        .is_some_and(|(int, frac)| digits(int, 1..=3) && digits(frac, 2..=6))
}

#[cfg(test)]
mod tests {
    use super::is_percent;

    #[test]
    fn a_rate_is_a_plain_percentage_with_two_to_six_decimals() {
        for good in ["1.00", "0.50", "9.6000", "12.25", "100.000001"] {
            assert!(is_percent(good), "{good}");
        }
        for bad in [
            "1",
            "1.0",
            "-1.00",
            "+1.00",
            "1000.00",
            "1.0000000",
            ".50",
            "1,00",
            "",
            "1.00 ",
            "1e2",
        ] {
            assert!(!is_percent(bad), "{bad}");
        }
    }
}
