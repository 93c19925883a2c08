//! The municipality catalog: which municipalities, offices and arrears categories exist, and how
//! each municipality bills (country, currency, language, payment references, letter sender).
//!
//! Pure data read from the `[catalog]` table of `config/restance.toml` by the runtime's config
//! loader; every service uses it to check that an invoice's municipality, office and category are
//! configured. [`Catalog::validate`] lists every problem at once so that operations can fix a
//! configuration in one go; services refuse to start when the list is not empty.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::UnknownCode;
use crate::date::BusinessCalendar;
use crate::money::Currency;
use crate::national_id::Country;
use crate::reference::{
    CreditorNumber, FikId, KID_MAX_LEN, KID_MIN_LEN, Kid, KidScheme, PaymentReference,
    ReferenceError,
};

/// Every configured municipality and arrears category.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Catalog {
    /// Municipalities by code, e.g. `"0746"` (Skanderborg) or `"4204"` (Kristiansand).
    #[serde(default)]
    pub municipalities: BTreeMap<String, Municipality>,
    /// Arrears categories by key, e.g. `"daycare"`; shared by all municipalities.
    #[serde(default)]
    pub categories: BTreeMap<String, Category>,
}

/// One municipality: how it bills and who sends its letters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Municipality {
    /// Its name, e.g. "Skanderborg Kommune".
    pub name: String,
    /// The country whose rules apply.
    pub country: Country,
    /// The currency it bills in (DKK in Denmark and Greenland, NOK in Norway).
    pub currency: Currency,
    /// The default language of its letters.
    pub language: Language,
    /// Denmark/Greenland: the FI creditor number printed in the +71 OCR line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creditor_number: Option<CreditorNumber>,
    /// Norway: how its KIDs are made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<KidSettings>,
    /// Its collection offices by key, e.g. `"sisimiut"`; at least one.
    pub offices: BTreeMap<String, Office>,
    /// The keys of the categories it bills (each must exist in [`Catalog::categories`]).
    #[serde(default)]
    pub categories: Vec<String>,
    /// The sender block of its letters.
    pub sender: Sender,
}

/// How a Norwegian municipality's KIDs are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KidSettings {
    /// MOD10 or MOD11, as agreed with the bank.
    pub scheme: KidScheme,
    /// Total length including the check character, 2–25.
    pub width: usize,
}

/// A collection office (restancekontor) of a municipality.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Office {
    /// Its name as shown to caseworkers and in letters, e.g. "Maniitsoq".
    pub name: String,
}

/// The sender block printed on a municipality's letters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sender {
    /// E.g. "Skanderborg Kommune, Opkrævningen".
    pub name: String,
    /// Street address lines.
    pub address_lines: Vec<String>,
    /// Postcode, e.g. "8660".
    pub postcode: String,
    /// Town, e.g. "Skanderborg".
    pub city: String,
    /// Phone number for debtors.
    pub phone: String,
    /// E-mail address for debtors.
    pub email: String,
    /// Web site, if printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    /// Bank account for manual transfers, if printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_account: Option<String>,
}

/// An arrears category and the special rules that follow from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    /// Human name, e.g. "Daycare" (English; the default for every language without its own).
    pub name: String,
    /// The name in the municipalities' languages, e.g. `{ da = "Dagtilbud", nb = "Barnehage" }`,
    /// for the reports to the politicians. See [`Category::name_in`].
    #[serde(default)]
    pub names: BTreeMap<Language, String>,
    /// Meeting offer and holistic view before any hard step (daycare, family area).
    #[serde(default)]
    pub special_consideration: bool,
    /// A social caseworker must be involved before fees, transfer or other hard steps.
    #[serde(default)]
    pub social_caseworker: bool,
    /// A priority claim (e.g. property tax) on which the municipality itself makes distraint.
    #[serde(default)]
    pub priority_claim: bool,
    /// Supply (water, heat) may be closed when a reasonable agreement is broken.
    #[serde(default)]
    pub supply_closure_allowed: bool,
    /// A private-law claim (e.g. rent): the interest act and the private-law fee rules apply.
    #[serde(default)]
    pub private_law: bool,
}

impl Category {
    /// The category's name in `language`: its own name there, else the Danish one for
    /// Greenlandic (the administration in Greenland works in both), else [`Category::name`].
    pub fn name_in(&self, language: Language) -> &str {
        self.names
            .get(&language)
            .or_else(|| match language {
                Language::Kl => self.names.get(&Language::Da),
                _ => None,
            })
            .map_or(self.name.as_str(), String::as_str)
    }
}

/// The language of letters and messages (`"da"`, `"kl"`, `"nb"`, `"en"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Danish.
    Da,
    /// Greenlandic (kalaallisut).
    Kl,
    /// Norwegian bokmål.
    Nb,
    /// English.
    En,
}

impl Language {
    /// The ISO 639-1 code, as used for the template folders.
    pub const fn code(self) -> &'static str {
        match self {
            Language::Da => "da",
            Language::Kl => "kl",
            Language::Nb => "nb",
            Language::En => "en",
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Language {
    type Err = UnknownCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "da" => Ok(Language::Da),
            "kl" => Ok(Language::Kl),
            "nb" => Ok(Language::Nb),
            "en" => Ok(Language::En),
            _ => Err(UnknownCode::new("language", "da, kl, nb or en")),
        }
    }
}

impl Catalog {
    /// Every problem in the catalog, as `path: message` lines; empty when it is usable.
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.municipalities.is_empty() {
            problems
                .push("municipalities: at least one municipality must be configured".to_owned());
        }
        for (code, m) in &self.municipalities {
            m.validate_into(
                &format!("municipalities.{code}"),
                &self.categories,
                &mut problems,
            );
        }
        for (key, category) in &self.categories {
            if category.name.trim().is_empty() {
                problems.push(format!("categories.{key}.name: must not be empty"));
            }
        }
        problems
    }

    /// The municipality with this code.
    pub fn municipality(&self, code: &str) -> Option<&Municipality> {
        self.municipalities.get(code)
    }

    /// The category with this key.
    pub fn category(&self, key: &str) -> Option<&Category> {
        self.categories.get(key)
    }
}

impl Municipality {
    /// True if `key` is one of its offices.
    pub fn has_office(&self, key: &str) -> bool {
        self.offices.contains_key(key)
    }

    /// True if it bills the category `key`.
    pub fn has_category(&self, key: &str) -> bool {
        self.categories.iter().any(|c| c == key)
    }

    /// The business calendar of its country.
    pub fn calendar(&self) -> BusinessCalendar {
        BusinessCalendar::new(self.country)
    }

    /// The payment reference for claim sequence number `seq`: a +71 id with its creditor number in
    /// Denmark and Greenland, a KID with its scheme and width in Norway.
    pub fn payment_reference(&self, seq: u64) -> Result<PaymentReference, ReferenceError> {
        match self.country {
            Country::Dk | Country::Gl => {
                let creditor =
                    self.creditor_number
                        .clone()
                        .ok_or(ReferenceError::NotConfigured {
                            what: "FI creditor number",
                        })?;
                Ok(PaymentReference::Fik {
                    id: FikId::from_sequence(seq)?,
                    creditor: Some(creditor),
                })
            }
            Country::No => {
                let settings = self.kid.ok_or(ReferenceError::NotConfigured {
                    what: "KID setting",
                })?;
                Kid::from_sequence(seq, settings.width, settings.scheme).map(PaymentReference::Kid)
            }
        }
    }

    /// The payment reference of payment plan number `seq` (agreements). Plans use the top tenth of
    /// the municipality's number space — payloads starting with 9 — so a plan's reference can never
    /// equal a claim's (claims count up from 1 in invoicing and would need 9 × 10^13 invoices to
    /// reach it). `seq` must stay below a ninth of the space.
    pub fn plan_payment_reference(&self, seq: u64) -> Result<PaymentReference, ReferenceError> {
        let payload_digits = match self.country {
            Country::Dk | Country::Gl => 14,
            Country::No => self
                .kid
                .ok_or(ReferenceError::NotConfigured {
                    what: "KID setting",
                })?
                .width
                .saturating_sub(1),
        };
        let base = u32::try_from(payload_digits.saturating_sub(1))
            .ok()
            .and_then(|exp| 10u64.checked_pow(exp))
            .and_then(|p| p.checked_mul(9))
            .ok_or(ReferenceError::SequenceTooLarge {
                digits: payload_digits,
            })?;
        if seq >= base / 9 {
            return Err(ReferenceError::SequenceTooLarge {
                digits: payload_digits,
            });
        }
        self.payment_reference(base + seq)
    }

    /// Parses a payment reference as this municipality's payers quote it (+71 or KID, with its scheme).
    pub fn parse_payment_reference(&self, s: &str) -> Result<PaymentReference, ReferenceError> {
        match (self.country, self.kid) {
            (Country::No, Some(settings)) => {
                Kid::parse_with_scheme(s, settings.scheme).map(PaymentReference::Kid)
            }
            (country, _) => PaymentReference::parse(country, s),
        }
    }

    fn validate_into(
        &self,
        path: &str,
        categories: &BTreeMap<String, Category>,
        problems: &mut Vec<String>,
    ) {
        let mut problem =
            |field: &str, message: &str| problems.push(format!("{path}.{field}: {message}"));
        if self.name.trim().is_empty() {
            problem("name", "must not be empty");
        }
        let adjective = match self.country {
            Country::Dk => "Danish",
            Country::Gl => "Greenlandic",
            Country::No => "Norwegian",
        };
        let expected_currency = self.country.currency();
        if self.currency != expected_currency {
            problem(
                "currency",
                &format!("a {adjective} municipality bills in {expected_currency}"),
            );
        }
        match self.country {
            Country::Dk | Country::Gl => {
                if self.creditor_number.is_none() {
                    problem(
                        "creditor_number",
                        &format!("a {adjective} municipality needs a FIK creditor number"),
                    );
                }
                if self.kid.is_some() {
                    problem("kid", "KID settings are only for Norwegian municipalities");
                }
            }
            Country::No => {
                if self.kid.is_none() {
                    problem(
                        "kid",
                        "a Norwegian municipality needs KID settings (scheme and width)",
                    );
                }
                if self.creditor_number.is_some() {
                    problem(
                        "creditor_number",
                        "FIK creditor numbers are only for Danish and Greenlandic municipalities",
                    );
                }
            }
        }
        if let Some(kid) = self.kid
            && !(KID_MIN_LEN..=KID_MAX_LEN).contains(&kid.width)
        {
            problem("kid.width", "must be 2 to 25 (check digit included)");
        }
        if self.offices.is_empty() {
            problem("offices", "at least one office is needed");
        }
        for (key, office) in &self.offices {
            if office.name.trim().is_empty() {
                problem(&format!("offices.{key}.name"), "must not be empty");
            }
        }
        let mut seen = BTreeSet::new();
        for key in &self.categories {
            if !categories.contains_key(key) {
                problem(
                    "categories",
                    &format!("category \"{key}\" is not defined under categories"),
                );
            }
            if !seen.insert(key) {
                problem("categories", &format!("category \"{key}\" is listed twice"));
            }
        }
        let sender = &self.sender;
        for (field, value) in [
            ("sender.name", &sender.name),
            ("sender.postcode", &sender.postcode),
            ("sender.city", &sender.city),
        ] {
            if value.trim().is_empty() {
                problem(field, "must not be empty");
            }
        }
        if sender
            .address_lines
            .iter()
            .all(|line| line.trim().is_empty())
        {
            problem(
                "sender.address_lines",
                "at least one address line is needed",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sender(name: &str) -> Sender {
        Sender {
            name: name.to_owned(),
            address_lines: vec!["Rådhuset".to_owned()],
            postcode: "8660".to_owned(),
            city: "Skanderborg".to_owned(),
            phone: "+45 00 00 00 00".to_owned(),
            email: "opkraevning@example.org".to_owned(),
            website: None,
            bank_account: None,
        }
    }

    fn category(name: &str) -> Category {
        Category {
            name: name.to_owned(),
            names: BTreeMap::new(),
            special_consideration: false,
            social_caseworker: false,
            priority_claim: false,
            supply_closure_allowed: false,
            private_law: false,
        }
    }

    fn office(name: &str) -> Office {
        Office {
            name: name.to_owned(),
        }
    }

    fn catalog() -> Catalog {
        let danish = Municipality {
            name: "Skanderborg Kommune".to_owned(),
            country: Country::Dk,
            currency: Currency::Dkk,
            language: Language::Da,
            creditor_number: CreditorNumber::parse("85412345").ok(),
            kid: None,
            offices: BTreeMap::from([("main".to_owned(), office("Opkrævningen"))]),
            categories: vec!["daycare".to_owned()],
            sender: sender("Skanderborg Kommune"),
        };
        let norwegian = Municipality {
            name: "Kristiansand kommune".to_owned(),
            country: Country::No,
            currency: Currency::Nok,
            language: Language::Nb,
            creditor_number: None,
            kid: Some(KidSettings {
                scheme: KidScheme::Mod10,
                width: 15,
            }),
            offices: BTreeMap::from([("main".to_owned(), office("Kemneren"))]),
            categories: vec!["daycare".to_owned()],
            sender: sender("Kristiansand kommune"),
        };
        Catalog {
            municipalities: BTreeMap::from([
                ("0746".to_owned(), danish),
                ("4204".to_owned(), norwegian),
            ]),
            categories: BTreeMap::from([("daycare".to_owned(), category("Daycare"))]),
        }
    }

    fn with_municipality(code: &str, change: impl FnOnce(&mut Municipality)) -> Catalog {
        let mut c = catalog();
        if let Some(m) = c.municipalities.get_mut(code) {
            change(m);
        }
        c
    }

    #[test]
    fn a_good_catalog_has_no_problems_and_answers_lookups() {
        let c = catalog();
        assert_eq!(c.validate(), Vec::<String>::new());
        let m = c.municipality("0746").expect("configured");
        assert!(m.has_office("main") && !m.has_office("sisimiut"));
        assert!(m.has_category("daycare") && !m.has_category("water"));
        assert!(c.category("daycare").is_some() && c.category("water").is_none());
        assert!(c.municipality("0101").is_none());
        assert_eq!(m.calendar().country(), Country::Dk);
    }

    #[test]
    fn a_danish_municipality_needs_a_creditor_number_and_dkk() {
        let c = with_municipality("0746", |m| {
            m.creditor_number = None;
            m.currency = Currency::Nok;
            m.kid = Some(KidSettings {
                scheme: KidScheme::Mod11,
                width: 10,
            });
        });
        assert_eq!(
            c.validate(),
            [
                "municipalities.0746.currency: a Danish municipality bills in DKK",
                "municipalities.0746.creditor_number: a Danish municipality needs a FIK creditor number",
                "municipalities.0746.kid: KID settings are only for Norwegian municipalities",
            ]
        );
    }

    #[test]
    fn a_greenlandic_municipality_follows_the_danish_payment_rules() {
        let c = with_municipality("0746", |m| {
            m.country = Country::Gl;
            m.creditor_number = None;
        });
        assert_eq!(
            c.validate(),
            [
                "municipalities.0746.creditor_number: a Greenlandic municipality needs a FIK creditor number"
            ]
        );
    }

    #[test]
    fn a_norwegian_municipality_needs_kid_settings_and_nok() {
        let c = with_municipality("4204", |m| {
            m.kid = None;
            m.currency = Currency::Dkk;
            m.creditor_number = CreditorNumber::parse("85412345").ok();
        });
        assert_eq!(
            c.validate(),
            [
                "municipalities.4204.currency: a Norwegian municipality bills in NOK",
                "municipalities.4204.kid: a Norwegian municipality needs KID settings (scheme and width)",
                "municipalities.4204.creditor_number: FIK creditor numbers are only for Danish and Greenlandic municipalities",
            ]
        );
        for width in [1, 26] {
            let c = with_municipality("4204", |m| {
                m.kid = Some(KidSettings {
                    scheme: KidScheme::Mod10,
                    width,
                })
            });
            assert_eq!(
                c.validate(),
                ["municipalities.4204.kid.width: must be 2 to 25 (check digit included)"]
            );
        }
    }

    #[test]
    fn offices_categories_and_sender_are_checked() {
        let c = with_municipality("0746", |m| {
            m.offices.clear();
            m.categories = vec![
                "daycare".to_owned(),
                "water".to_owned(),
                "daycare".to_owned(),
            ];
            m.sender.name = " ".to_owned();
            m.sender.address_lines.clear();
        });
        assert_eq!(
            c.validate(),
            [
                "municipalities.0746.offices: at least one office is needed",
                "municipalities.0746.categories: category \"water\" is not defined under categories",
                "municipalities.0746.categories: category \"daycare\" is listed twice",
                "municipalities.0746.sender.name: must not be empty",
                "municipalities.0746.sender.address_lines: at least one address line is needed",
            ]
        );
        let mut c = catalog();
        c.categories.insert("water".to_owned(), category(""));
        assert_eq!(c.validate(), ["categories.water.name: must not be empty"]);
        assert_eq!(
            Catalog::default().validate(),
            ["municipalities: at least one municipality must be configured"]
        );
    }

    #[test]
    fn municipalities_issue_their_own_payment_references() {
        let c = catalog();
        let dk = c.municipality("0746").expect("configured");
        let reference = dk
            .payment_reference(6_709_753)
            .expect("creditor configured");
        assert_eq!(reference.ocr_line(), "+71<000000067097535+85412345<");
        assert_eq!(
            dk.parse_payment_reference("71/000000067097535")
                .map(|r| r.key().to_owned()),
            Ok("000000067097535".to_owned())
        );
        let no = c.municipality("4204").expect("configured");
        let kid = no.payment_reference(1234).expect("KID configured");
        assert_eq!(kid.key(), "000000000012344");
        assert_eq!(no.parse_payment_reference("000000000012344"), Ok(kid));
        assert!(
            no.parse_payment_reference("12343").is_err(),
            "a MOD11 KID is not this municipality's"
        );
        let unconfigured = with_municipality("4204", |m| m.kid = None);
        assert_eq!(
            unconfigured
                .municipality("4204")
                .map(|m| m.payment_reference(1)),
            Some(Err(ReferenceError::NotConfigured {
                what: "KID setting"
            }))
        );
    }

    #[test]
    fn a_plan_reference_never_equals_a_claim_reference() {
        let c = catalog();
        let dk = c.municipality("0746").expect("configured");
        let plan = dk.plan_payment_reference(1).expect("creditor configured");
        assert_eq!(plan.key(), "900000000000019");
        assert!(plan.key().starts_with('9'));
        assert!(
            dk.plan_payment_reference(10_000_000_000_000).is_err(),
            "beyond the plans' tenth"
        );
        let no = c.municipality("4204").expect("configured");
        let kid = no.plan_payment_reference(1234).expect("KID configured");
        assert_eq!(kid.key().len(), 15);
        assert!(kid.key().starts_with("90000000001234"));
        assert_eq!(no.parse_payment_reference(kid.key()), Ok(kid));
    }

    #[test]
    fn a_category_is_named_in_the_report_language() {
        let mut daycare = category("Daycare");
        daycare.names = BTreeMap::from([
            (Language::Da, "Dagtilbud".to_owned()),
            (Language::Nb, "Barnehage".to_owned()),
        ]);
        assert_eq!(daycare.name_in(Language::Da), "Dagtilbud");
        assert_eq!(daycare.name_in(Language::Nb), "Barnehage");
        assert_eq!(
            daycare.name_in(Language::Kl),
            "Dagtilbud",
            "Greenlandic falls back to Danish"
        );
        assert_eq!(daycare.name_in(Language::En), "Daycare");
    }

    #[test]
    fn language_codes() {
        assert_eq!(
            serde_json::to_string(&Language::Kl).ok().as_deref(),
            Some("\"kl\"")
        );
        assert_eq!("nb".parse::<Language>(), Ok(Language::Nb));
        assert!("no".parse::<Language>().is_err());
    }

    #[test]
    fn serde_round_trip_with_defaults_for_flags() {
        let c = catalog();
        let json = serde_json::to_string(&c).expect("serialises");
        assert_eq!(serde_json::from_str::<Catalog>(&json).ok(), Some(c));
        let minimal: Category =
            serde_json::from_str("{\"name\":\"Other\"}").expect("flags default to false");
        assert_eq!(minimal, category("Other"));
    }

    /// The shipped example configuration must deserialise into a catalog without problems.
    #[test]
    fn the_shipped_configuration_is_valid() {
        #[derive(Deserialize)]
        struct ConfigFile {
            catalog: Catalog,
        }
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/restance.toml");
        let text = std::fs::read_to_string(path).expect("config/restance.toml is readable");
        let file: ConfigFile =
            toml::from_str(&text).expect("config/restance.toml has a valid [catalog]");
        let catalog = file.catalog;
        assert_eq!(catalog.validate(), Vec::<String>::new());
        for (code, country) in [
            ("0746", Country::Dk),
            ("0957", Country::Gl),
            ("4204", Country::No),
        ] {
            assert_eq!(
                catalog.municipality(code).map(|m| m.country),
                Some(country),
                "{code}"
            );
        }
        let qeqqata = catalog.municipality("0957").expect("Qeqqata");
        assert!(qeqqata.has_office("sisimiut") && qeqqata.has_office("maniitsoq"));
        for key in [
            "daycare",
            "family",
            "water",
            "heat",
            "rent",
            "property_tax",
            "building_permit",
            "child_support_advance",
            "guarantee",
            "business",
            "other",
        ] {
            assert!(catalog.category(key).is_some(), "{key}");
        }
        let daycare = catalog.category("daycare").expect("daycare");
        assert!(daycare.special_consideration && daycare.social_caseworker && !daycare.private_law);
        assert!(catalog.category("rent").is_some_and(|c| c.private_law));
        assert!(
            catalog
                .category("property_tax")
                .is_some_and(|c| c.priority_claim)
        );
        assert!(
            catalog
                .category("water")
                .is_some_and(|c| c.supply_closure_allowed)
        );
    }
}
