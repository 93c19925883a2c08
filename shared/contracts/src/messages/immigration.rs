//! From the immigration authority: family-reunification guarantees (sikkerhedsstillelse).

use restance_kernel::BusinessDate;
use restance_kernel::{Money, NationalId, Redacted};
use serde::{Deserialize, Serialize};

use crate::check::Problems;
use crate::messages::party::{Address, Debtor};
use crate::{Message, Problem, Validate};

/// `immigration.guarantee.registered.v1`: a guarantee was provided for a resident's spouse.
/// The natural key is `(envelope source, guarantee_id)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuaranteeRegistered {
    /// The immigration authority's id for the guarantee.
    pub guarantee_id: String,
    /// The municipality that recovers from it.
    pub municipality: String,
    /// The resident who provided the guarantee (personal data; a person's number).
    pub resident_national_id: Redacted<NationalId>,
    /// The reunified spouse (personal data; a person's number, not the resident's).
    pub spouse_national_id: Redacted<NationalId>,
    /// The immigration authority's PersonID for the spouse (reported back with benefits paid).
    pub person_id: String,
    /// Who stands behind the guarantee (usually the resident), as a debtor block.
    pub guarantor: Debtor,
    /// The bank holding the guarantee amount.
    pub bank: GuaranteeBank,
    /// The guaranteed amount (DKK), greater than zero.
    pub amount: Money,
    /// When the binding period ends; claims must be raised before.
    pub binding_period_end: BusinessDate,
    /// Whether the resident must also support the spouse (forsørgelseskrav).
    pub maintenance_requirement: bool,
}

/// The bank that holds a guarantee (a company: not personal data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuaranteeBank {
    /// The bank's name.
    pub name: String,
    /// Danish bank registration number (four digits).
    pub reg_no: String,
    /// Where letters to the bank may be e-mailed, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The bank's postal address.
    pub address: Address,
}

impl Message for GuaranteeRegistered {
    const TYPE: &'static str = "immigration.guarantee.registered.v1";
}

impl Validate for GuaranteeRegistered {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.guarantee_id", &self.guarantee_id);
        p.id("data.municipality", &self.municipality);
        p.person_id(
            "data.resident_national_id",
            self.resident_national_id.expose(),
        );
        p.person_id("data.spouse_national_id", self.spouse_national_id.expose());
        if self.resident_national_id == self.spouse_national_id {
            p.add(
                "data.spouse_national_id",
                "must differ from resident_national_id",
            );
        }
        p.id("data.person_id", &self.person_id);
        self.guarantor.check(&mut p, "data.guarantor");
        self.bank.check(&mut p, "data.bank");
        p.positive("data.amount", self.amount);
        p.into_vec()
    }
}

impl GuaranteeBank {
    /// The bank's name, a four-digit registration number, an e-mail address if given and the
    /// postal address, at `path`.
    pub(crate) fn check(&self, p: &mut Problems, path: &str) {
        p.text(&format!("{path}.name"), &self.name);
        if self.reg_no.len() != 4 || !self.reg_no.bytes().all(|b| b.is_ascii_digit()) {
            p.add(format!("{path}.reg_no"), "must be four digits");
        }
        if let Some(email) = &self.email {
            p.email(&format!("{path}.email"), email);
        }
        self.address.check(p, &format!("{path}.address"));
    }
}

/// `immigration.guarantee.changed.v1`: something ends or reduces a guarantee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuaranteeChanged {
    /// The guarantee, as in its `immigration.guarantee.registered.v1`.
    pub guarantee_id: String,
    /// What happened.
    pub reason: GuaranteeChangeReason,
    /// From when it applies.
    pub effective_date: BusinessDate,
    /// The new guaranteed amount: required for `amount_reduced`, greater than zero when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_amount: Option<Money>,
}

/// Why a guarantee changed; each ends or reduces what can be recovered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuaranteeChangeReason {
    /// The binding period is over.
    BindingPeriodExpired,
    /// The spouse moved away.
    MovedAway,
    /// The couple divorced.
    Divorce,
    /// The resident or spouse died.
    Death,
    /// The guaranteed amount was reduced (see `new_amount`).
    AmountReduced,
}

impl Message for GuaranteeChanged {
    const TYPE: &'static str = "immigration.guarantee.changed.v1";
}

impl Validate for GuaranteeChanged {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.guarantee_id", &self.guarantee_id);
        match (self.reason, self.new_amount) {
            (GuaranteeChangeReason::AmountReduced, None) => {
                p.add(
                    "data.new_amount",
                    "is required when reason is amount_reduced",
                );
            }
            (_, Some(amount)) => p.positive("data.new_amount", amount),
            (_, None) => {}
        }
        p.into_vec()
    }
}
