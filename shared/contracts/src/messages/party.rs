//! The debtor block: who owes, where they live, how to reach them, whether the address is protected.
//!
//! It appears in `billing.invoice.issued.v1` (`debtor`), `immigration.guarantee.registered.v1`
//! (`guarantor`) and `invoicing.debtor.updated.v1` (`debtor`). Everything in it except ids, kinds
//! and flags is personal data: `Debug` shows `[redacted]` for it.

use std::fmt;

use restance_kernel::{Country, Language, NationalId, PartyKind, Redacted};
use serde::{Deserialize, Serialize};

use crate::check::Problems;

/// A debtor (or guarantor) as the upstream system knows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Debtor {
    /// The upstream system's id for the party, e.g. `P-77`.
    pub id: String,
    /// Person or company.
    pub kind: PartyKind,
    /// CPR / fødselsnummer for a person, CVR / organisasjonsnummer for a company; check digits
    /// are verified when the message is read. Personal data: `Debug` prints `[redacted]`.
    pub national_id: Redacted<NationalId>,
    /// Full name (personal data).
    pub name: Redacted<String>,
    /// Postal address (personal data; see `address_protection` before passing it on).
    pub address: Address,
    /// E-mail address, if known (personal data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Redacted<String>>,
    /// Mobile number in E.164 form, e.g. `+4512345678`, if known (personal data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<Redacted<String>>,
    /// Preferred language for letters; absent means the municipality's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<Language>,
    /// Whether letters go to the digital mailbox (false: exempted/reserved, letters on paper).
    pub digital_post: bool,
    /// Address protection. Required on the wire: a missing value must never silently mean `none`.
    pub address_protection: AddressProtection,
}

/// A postal address. Personal data: `Debug` shows only the country.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// Street lines, first to last (at least one).
    pub lines: Vec<String>,
    /// Postcode: four digits in Denmark, Greenland (39xx) and Norway.
    pub postcode: String,
    /// Post town.
    pub city: String,
    /// `DK`, `GL` or `NO`.
    pub country: Country,
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Address")
            .field("lines", &"[redacted]")
            .field("postcode", &"[redacted]")
            .field("city", &"[redacted]")
            .field("country", &self.country)
            .finish()
    }
}

/// How an address is protected (DOMAIN.md, "Personal data and protection"). Ordered from
/// least to most protected: `None < Confidential < StrictlyConfidential`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressProtection {
    /// No protection.
    None,
    /// Code 7 / navne- og adressebeskyttelse: never passed to private parties.
    Confidential,
    /// Code 6: never printed, exported or shown outside the system; letters go a protected route.
    StrictlyConfidential,
}

impl Debtor {
    /// Checks the block found at `at` (e.g. `data.debtor`).
    pub(crate) fn check(&self, p: &mut Problems, at: &str) {
        p.id(&format!("{at}.id"), &self.id);
        if self.national_id.expose().party_kind() != self.kind {
            let message = match self.kind {
                PartyKind::Person => {
                    "is not a valid national id for a person (CPR or fødselsnummer)"
                }
                PartyKind::Company => {
                    "is not a valid national id for a company (CVR or organisasjonsnummer)"
                }
            };
            p.add(format!("{at}.national_id"), message);
        }
        p.text(&format!("{at}.name"), self.name.expose());
        self.address.check(p, &format!("{at}.address"));
        if let Some(email) = &self.email {
            p.email(&format!("{at}.email"), email.expose());
        }
        if let Some(phone) = &self.phone {
            p.phone(&format!("{at}.phone"), phone.expose());
        }
    }
}

impl Address {
    /// Checks the address found at `at` (e.g. `data.debtor.address`).
    pub(crate) fn check(&self, p: &mut Problems, at: &str) {
        if self.lines.is_empty() {
            p.add(format!("{at}.lines"), "must have at least one line");
        }
        for (i, line) in self.lines.iter().enumerate() {
            p.text(&format!("{at}.lines[{i}]"), line);
        }
        if self.postcode.len() != 4 || !self.postcode.bytes().all(|b| b.is_ascii_digit()) {
            p.add(format!("{at}.postcode"), "must be four digits");
        }
        p.text(&format!("{at}.city"), &self.city);
    }
}
