//! Who a notification goes to, resolved: a debtor from the contact directory, or a party given
//! in the request. Personal data throughout — every field that holds it is [`Redacted`], so a
//! `Debug` of a contact shows ids and flags only.

use restance_contracts::messages::{Address, AddressProtection, Debtor, Party};
use restance_kernel::{Country, Language, NationalId, PartyKind, Redacted};
use serde::{Deserialize, Serialize};

/// A resolved recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// The debtor id when the recipient is a debtor.
    pub debtor_id: Option<String>,
    /// Person or company.
    pub kind: PartyKind,
    /// CPR/CVR or fødselsnummer/org.nr (the digital mailbox's owner).
    pub national_id: Option<Redacted<NationalId>>,
    /// The name on letters and e-mails.
    pub name: Redacted<String>,
    /// The postal address.
    pub address: Option<Address>,
    /// E-mail address.
    pub email: Option<Redacted<String>>,
    /// Mobile number (E.164).
    pub phone: Option<Redacted<String>>,
    /// Preferred language.
    pub language: Option<Language>,
    /// A debtor's digital-post flag (`None` for a party: it is decided by what the request gives).
    pub digital_post: Option<bool>,
    /// The address protection the letter is produced under.
    pub protection: AddressProtection,
}

impl Contact {
    /// A debtor from the directory.
    pub fn from_debtor(d: &Debtor) -> Self {
        Self {
            debtor_id: Some(d.id.clone()),
            kind: d.kind,
            national_id: Some(d.national_id.clone()),
            name: d.name.clone(),
            address: Some(d.address.clone()),
            email: d.email.clone(),
            phone: d.phone.clone(),
            language: d.language,
            digital_post: Some(d.digital_post),
            protection: d.address_protection,
        }
    }

    /// An explicit party (a bank, a creditor, a guarantor, a mailing list), under the address
    /// protection the request states for it (a person must state it; `none` for a company).
    pub fn from_party(p: &Party) -> Self {
        Self {
            debtor_id: None,
            kind: p.party_kind,
            national_id: p.national_id.clone(),
            name: p.name.clone(),
            address: p.address.clone(),
            email: p.email.clone(),
            phone: p.phone.clone(),
            language: p.language,
            digital_post: None,
            protection: p.protection(),
        }
    }

    /// The lines printed in the envelope window: street lines, "postcode city", and the
    /// country when the letter goes abroad.
    pub fn address_lines(&self, home: Country) -> Option<Vec<String>> {
        let a = self.address.as_ref()?;
        let mut lines: Vec<String> = a
            .lines
            .iter()
            .filter(|l| !l.trim().is_empty())
            .cloned()
            .collect();
        lines.push(format!("{} {}", a.postcode, a.city));
        if a.country != home {
            lines.push(
                match a.country {
                    Country::Dk => "DANMARK",
                    Country::Gl => "KALAALLIT NUNAAT / GRØNLAND",
                    Country::No => "NORGE",
                }
                .to_owned(),
            );
        }
        Some(lines)
    }
}

/// The address text that must not leave us when an address is protected: each street line and
/// "postcode city" (with and without the postcode), longest first so that a line is removed
/// before a part of it.
pub fn address_fragments(a: &Address) -> Vec<String> {
    let mut out: Vec<String> = a
        .lines
        .iter()
        .map(|l| l.trim().to_owned())
        .filter(|l| l.chars().count() >= 3)
        .collect();
    out.push(format!("{} {}", a.postcode, a.city));
    out.sort_by_key(|s| std::cmp::Reverse(s.chars().count()));
    out.dedup();
    out
}
