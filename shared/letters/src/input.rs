//! What a letter is made from: the sender's letterhead, the recipient's address block (or none,
//! for a protected address), the letter date, the reference and the template's own data.
//!
//! `Debug` never shows personal data (names, addresses, the data fields' values): these values
//! end up in logs through error chains and tracing fields.

use std::fmt;

use restance_kernel::{BusinessDate, Municipality};
use serde::{Deserialize, Serialize};

/// Everything a template is rendered from.
#[derive(Serialize, Deserialize, Clone)]
pub struct LetterInput {
    /// The sender: the municipality's catalog entry and the office.
    pub letterhead: Letterhead,
    /// The address block; `None` for a protected address (`strictly_confidential`): no address
    /// is printed, the letter says it was sent by the protected route instead.
    pub recipient: Option<RecipientBlock>,
    /// The date printed on the letter; also typst's "today", so nothing reads the clock.
    pub letter_date: BusinessDate,
    /// The notification id, printed small as "Ref.".
    pub reference: String,
    /// The template's own fields, as documented in `templates/manifest.toml`.
    pub data: serde_json::Value,
}

impl fmt::Debug for LetterInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fields: Vec<&str> = match &self.data {
            serde_json::Value::Object(map) => map.keys().map(String::as_str).collect(),
            _ => Vec::new(),
        };
        f.debug_struct("LetterInput")
            .field("letterhead", &self.letterhead)
            .field("recipient", &self.recipient)
            .field("letter_date", &self.letter_date)
            .field("reference", &self.reference)
            .field("data_fields", &fields)
            .finish()
    }
}

/// The sender block printed top right, and the contact details the letter refers to.
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq, Eq)]
pub struct Letterhead {
    /// E.g. "Skanderborg Kommune, Opkrævningen".
    pub municipality: String,
    /// The office that handles the case, e.g. "Maniitsoq"; `None` if the municipality has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub office: Option<String>,
    /// Street or box, then "postcode city".
    pub address_lines: Vec<String>,
    /// Phone number for debtors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// E-mail address for debtors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Web site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web: Option<String>,
    /// Bank account for manual transfers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

impl Letterhead {
    /// The letterhead of `municipality` from its catalog entry (`[catalog.municipalities."…".sender]`),
    /// naming the office `office_key` when it has more than one office (or when asked for one it has).
    ///
    /// An unknown office key is ignored (the letter still goes out with the municipality's sender).
    pub fn from_catalog(municipality: &Municipality, office_key: Option<&str>) -> Letterhead {
        let sender = &municipality.sender;
        let office = office_key
            .and_then(|key| municipality.offices.get(key))
            .filter(|_| municipality.offices.len() > 1)
            .map(|office| office.name.clone());
        let mut address_lines: Vec<String> = sender
            .address_lines
            .iter()
            .filter(|line| !line.trim().is_empty())
            .cloned()
            .collect();
        address_lines.push(format!("{} {}", sender.postcode, sender.city));
        let present = |s: &String| (!s.trim().is_empty()).then(|| s.clone());
        Letterhead {
            municipality: sender.name.clone(),
            office,
            address_lines,
            phone: present(&sender.phone),
            email: present(&sender.email),
            web: sender.website.clone(),
            account: sender.bank_account.clone(),
        }
    }
}

/// The recipient's name and postal address as printed in the envelope window.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
pub struct RecipientBlock {
    /// The person's or company's name.
    pub name: String,
    /// Street, "postcode city", and a country line if abroad.
    pub address_lines: Vec<String>,
}

impl fmt::Debug for RecipientBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "RecipientBlock {{ name: <redacted>, address_lines: <{} redacted> }}",
            self.address_lines.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    use restance_kernel::{Country, Currency, Language, Office, Sender};

    fn municipality(offices: &[(&str, &str)]) -> Municipality {
        Municipality {
            name: "Qeqqata Kommunia".to_owned(),
            country: Country::Gl,
            currency: Currency::Dkk,
            language: Language::Kl,
            creditor_number: None,
            kid: None,
            offices: offices
                .iter()
                .map(|(k, n)| {
                    (
                        (*k).to_owned(),
                        Office {
                            name: (*n).to_owned(),
                        },
                    )
                })
                .collect::<BTreeMap<_, _>>(),
            categories: Vec::new(),
            sender: Sender {
                name: "Qeqqata Kommunia, Restanceafdelingen".to_owned(),
                address_lines: vec!["Postboks 1014".to_owned()],
                postcode: "3911".to_owned(),
                city: "Sisimiut".to_owned(),
                phone: "+299 70 00 00".to_owned(),
                email: "restance@qeqqata.example".to_owned(),
                website: None,
                bank_account: Some("Reg.nr. 6471 konto 0001234567".to_owned()),
            },
        }
    }

    #[test]
    fn the_letterhead_comes_from_the_catalog_sender_and_names_the_office() {
        let m = municipality(&[("sisimiut", "Sisimiut"), ("maniitsoq", "Maniitsoq")]);
        let head = Letterhead::from_catalog(&m, Some("maniitsoq"));
        assert_eq!(head.municipality, "Qeqqata Kommunia, Restanceafdelingen");
        assert_eq!(head.office.as_deref(), Some("Maniitsoq"));
        assert_eq!(head.address_lines, ["Postboks 1014", "3911 Sisimiut"]);
        assert_eq!(head.phone.as_deref(), Some("+299 70 00 00"));
        assert_eq!(head.web, None);
        assert_eq!(
            head.account.as_deref(),
            Some("Reg.nr. 6471 konto 0001234567")
        );
        assert_eq!(
            Letterhead::from_catalog(&m, Some("nuuk")).office,
            None,
            "unknown office"
        );
        let single = municipality(&[("main", "Opkrævningen")]);
        assert_eq!(Letterhead::from_catalog(&single, Some("main")).office, None);
    }

    #[test]
    fn debug_output_shows_no_personal_data() {
        let input = LetterInput {
            letterhead: Letterhead::from_catalog(&municipality(&[("main", "x")]), None),
            recipient: Some(RecipientBlock {
                name: "Ane Hansen".to_owned(),
                address_lines: vec!["Parkvej 1".to_owned(), "8660 Skanderborg".to_owned()],
            }),
            letter_date: BusinessDate::new(2026, 12, 1).expect("date"),
            reference: "N-1".to_owned(),
            data: serde_json::json!({"claims": [{"text": "Daycare for Ane"}], "total": "10.00"}),
        };
        let shown = format!("{input:?}");
        for secret in ["Ane", "Parkvej", "8660", "Daycare"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("claims") && shown.contains("N-1"), "{shown}");
    }
}
