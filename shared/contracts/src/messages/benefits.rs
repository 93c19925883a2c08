//! From the benefits office (Copenhagen: Ydelsesservice): benefits paid that a guarantee may cover.

use restance_kernel::BusinessDate;
use restance_kernel::{Money, NationalId, Redacted};
use serde::{Deserialize, Serialize};

use crate::check::Problems;
use crate::{Message, Problem, Validate};

/// `benefits.benefit.paid.v1`: a benefit was paid to a person. If the person's residence required a
/// guarantee, the guarantee service recovers the amount (within 3 years of `paid_date`).
/// The natural key is `(envelope source, benefit_id)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BenefitPaid {
    /// The benefits system's id for the payment.
    pub benefit_id: String,
    /// The paying municipality.
    pub municipality: String,
    /// The recipient's CPR (personal data; must be a person's number).
    pub recipient_national_id: Redacted<NationalId>,
    /// The act the benefit was paid under.
    pub law: BenefitLaw,
    /// Greater than zero (DKK).
    pub amount: Money,
    /// The payment date; the 3-year limitation runs from it.
    pub paid_date: BusinessDate,
}

/// The act a benefit was paid under; only the first two are recoverable from a guarantee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BenefitLaw {
    /// Lov om aktiv socialpolitik.
    Aktivloven,
    /// Integrationsloven.
    Integrationsloven,
    /// Anything else (recorded, not recoverable).
    Other,
}

impl Message for BenefitPaid {
    const TYPE: &'static str = "benefits.benefit.paid.v1";
}

impl Validate for BenefitPaid {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.benefit_id", &self.benefit_id);
        p.id("data.municipality", &self.municipality);
        p.person_id(
            "data.recipient_national_id",
            self.recipient_national_id.expose(),
        );
        p.positive("data.amount", self.amount);
        p.into_vec()
    }
}
