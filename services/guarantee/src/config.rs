//! The guarantee service's configuration: the `[guarantee]` section of `config/restance.toml`
//! (every key has a default, so the section may be absent).
//!
//! ```toml
//! [guarantee]
//! due_days = 30                          # the bank is asked to pay within this many days
//! guidance_letters = "once_per_guarantee" # or "per_payment": the recipient's guidance letter
//!
//! [guarantee.watch]
//! within_days = 60                       # alert before recoverable payments expire
//!
//! # forældelsesloven § 3: three years from each payment; a later rule takes effect from a date
//! [[guarantee.limitation]]
//! effective_from = "2008-01-01"
//! years = 3
//! on_non_business_day = "previous_business_day"   # or "none"
//!
//! [guarantee.municipalities."0746"]
//! office = "main"                        # the letterhead; absent: the municipality's first office
//! administrator = { name = "Sikkerhedsstillelser", email = "sikkerhed@skanderborg.example" }
//! statement_recipients = [ { name = "Sikkerhedsstillelser", email = "sikkerhed@skanderborg.example" } ]
//! ```
//!
//! The administrator gets the alerts (payments about to expire, a case settled) by e-mail; the
//! statement recipients get the quarterly statement. A municipality without an administrator
//! gets no such e-mails, which the service says at start. Everything is checked at start;
//! [`GuaranteeConfig::load`] lists every problem and the binary exits with status 2.

use std::collections::BTreeMap;

use restance_contracts::messages::EmailContact;
use restance_kernel::retention::RetentionPolicy;
use restance_kernel::{BusinessCalendar, Catalog, Country};
use restance_runtime::Settings;
use serde::Deserialize;

use crate::domain::{GuidanceLetters, Limitation, LimitationRule, WatchConfig};

/// `[guarantee]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuaranteeConfig {
    /// Days from the raise date to the date the bank is asked to pay by.
    #[serde(default = "default_due_days")]
    pub due_days: u32,
    /// Whether the benefit recipient's guidance letter goes once per guarantee or per payment.
    #[serde(default)]
    pub guidance_letters: GuidanceLetters,
    /// The daily limitation watch.
    #[serde(default)]
    pub watch: WatchSettings,
    /// The limitation rules (absent: forældelsesloven's three years from 2008).
    #[serde(default)]
    pub limitation: Vec<LimitationRule>,
    /// Per municipality code: its office and who is told.
    #[serde(default)]
    pub municipalities: BTreeMap<String, MunicipalityGuarantees>,
}

impl Default for GuaranteeConfig {
    fn default() -> Self {
        GuaranteeConfig {
            due_days: default_due_days(),
            guidance_letters: GuidanceLetters::default(),
            watch: WatchSettings::default(),
            limitation: Vec::new(),
            municipalities: BTreeMap::new(),
        }
    }
}

fn default_due_days() -> u32 {
    crate::state::DUE_DAYS
}

/// `[guarantee.watch]`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchSettings {
    /// Alert for payments whose deadline is within this many days.
    #[serde(default = "default_within_days")]
    pub within_days: u32,
}

impl Default for WatchSettings {
    fn default() -> Self {
        WatchSettings {
            within_days: default_within_days(),
        }
    }
}

fn default_within_days() -> u32 {
    WatchConfig::default().within_days
}

/// `[guarantee.municipalities."<code>"]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MunicipalityGuarantees {
    /// The office whose letterhead the letters carry (absent: the municipality's first).
    #[serde(default)]
    pub office: Option<String>,
    /// The guarantee administrator: alerts and settled cases by e-mail.
    #[serde(default)]
    pub administrator: Option<Contact>,
    /// Who gets the quarterly statement.
    #[serde(default)]
    pub statement_recipients: Vec<Contact>,
}

/// A person or function reached by e-mail (the administrator, a statement recipient): the
/// contracts' [`EmailContact`], its `recipient()` the notifications command's party.
pub type Contact = EmailContact;

/// An unusable `[guarantee]` section: the kit's one refusal type.
pub use restance_runtime::settings::InvalidConfig;

impl GuaranteeConfig {
    /// Reads `[guarantee]` from the settings (defaults when absent) and checks it against the
    /// catalog.
    pub fn load(settings: &Settings) -> Result<GuaranteeConfig, InvalidConfig> {
        let config = settings
            .section_or_default::<GuaranteeConfig>("guarantee")
            .map_err(|e| InvalidConfig::new("guarantee", e.0))?;
        config.check(&settings.catalog)
    }

    /// Checks the section against `catalog`; every problem is listed.
    pub fn check(self, catalog: &Catalog) -> Result<GuaranteeConfig, InvalidConfig> {
        let mut problems = Vec::new();
        if !(1..=365).contains(&self.due_days) {
            problems.push(format!(
                "guarantee.due_days: {} must be between 1 and 365",
                self.due_days
            ));
        }
        if self.watch.within_days > 1_095 {
            problems.push(format!(
                "guarantee.watch.within_days: {} must be at most 1095 (three years)",
                self.watch.within_days
            ));
        }
        if !self.limitation.is_empty()
            && let Err(e) =
                Limitation::new(BusinessCalendar::new(Country::Dk), self.limitation.clone())
        {
            problems.extend(
                e.problems
                    .iter()
                    .map(|p| format!("guarantee.limitation: {p}")),
            );
        }
        for (code, m) in &self.municipalities {
            let at = format!("guarantee.municipalities.{code}");
            let Some(municipality) = catalog.municipality(code) else {
                problems.push(format!("{at}: no such municipality in the catalog"));
                continue;
            };
            if let Some(office) = &m.office
                && !municipality.offices.contains_key(office)
            {
                problems.push(format!(
                    "{at}.office: {office:?} is not an office of {code} in the catalog"
                ));
            }
            let contacts = m
                .administrator
                .iter()
                .map(|c| ("administrator".to_owned(), c))
                .chain(
                    m.statement_recipients
                        .iter()
                        .enumerate()
                        .map(|(i, c)| (format!("statement_recipients[{i}]"), c)),
                );
            for (field, c) in contacts {
                // the notifications command's own checks: what it would refuse, refused here
                for (sub, message) in c.problems(code) {
                    problems.push(format!("{at}.{field}.{sub}: {message}"));
                }
            }
        }
        if problems.is_empty() {
            Ok(self)
        } else {
            Err(InvalidConfig::new("guarantee", problems))
        }
    }

    /// The limitation the payments' deadlines are counted by (Danish calendar).
    pub fn limitation(&self) -> Limitation {
        let calendar = BusinessCalendar::new(Country::Dk);
        if self.limitation.is_empty() {
            return Limitation::danish(calendar);
        }
        // checked by `check`; the Danish default if the rules were never checked
        Limitation::new(calendar, self.limitation.clone())
            .unwrap_or_else(|_| Limitation::danish(calendar))
    }

    /// The municipality's settings (empty when not configured).
    pub fn municipality(&self, code: &str) -> MunicipalityGuarantees {
        self.municipalities.get(code).cloned().unwrap_or_default()
    }
}

/// Reads `[retention]` (defaults when absent: 5 years, enabled) and checks it; a category key
/// is the case kind `guarantee` or one of the catalog's categories.
pub fn load_retention(
    settings: &Settings,
) -> Result<RetentionPolicy, restance_kernel::retention::InvalidRetention> {
    settings
        .section_or_default::<RetentionPolicy>("retention")
        .map_err(|e| restance_kernel::retention::InvalidRetention(e.0))?
        .checked(|key| {
            key == crate::handlers::retention::CATEGORY || settings.catalog.category(key).is_some()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml: &str) -> GuaranteeConfig {
        #[derive(Deserialize)]
        struct File {
            guarantee: GuaranteeConfig,
        }
        toml::from_str::<File>(toml).expect("config").guarantee
    }

    fn catalog() -> Catalog {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/restance.toml"),
        )
        .expect("shipped config");
        #[derive(Deserialize)]
        struct File {
            catalog: Catalog,
        }
        toml::from_str::<File>(&text).expect("catalog").catalog
    }

    #[test]
    fn the_shipped_section_is_valid() {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/restance.toml"),
        )
        .expect("shipped config");
        let c = parse(&text);
        c.check(&catalog())
            .expect("the shipped [guarantee] is valid");
    }

    #[test]
    fn an_empty_section_is_the_defaults() {
        let c = parse("[guarantee]\n");
        assert_eq!(c.due_days, 30);
        assert_eq!(c.watch.within_days, 60);
        assert_eq!(c.guidance_letters, GuidanceLetters::OncePerGuarantee);
        assert!(c.limitation.is_empty());
    }

    #[test]
    fn every_problem_is_listed() {
        let c = parse(
            r#"
            [guarantee]
            due_days = 0
            [guarantee.watch]
            within_days = 5000
            [[guarantee.limitation]]
            effective_from = "2008-01-01"
            years = 0
            [guarantee.municipalities."9999"]
            [guarantee.municipalities."0746"]
            office = "nowhere"
            administrator = { name = "", email = "nope" }
            "#,
        );
        let err = c.check(&catalog()).expect_err("refused");
        let text = err.to_string();
        for needle in [
            "guarantee.due_days",
            "guarantee.watch.within_days",
            "guarantee.limitation",
            "guarantee.municipalities.9999",
            "guarantee.municipalities.0746.office",
            "guarantee.municipalities.0746.administrator.name",
            "guarantee.municipalities.0746.administrator.email",
        ] {
            assert!(text.contains(needle), "{needle} missing from:\n{text}");
        }
    }
}
