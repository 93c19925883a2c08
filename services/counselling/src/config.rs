//! The counselling service's configuration: the `[counselling]` section of
//! `config/restance.toml`. The timers have defaults; a municipality the service serves must be
//! configured (its counsellors), or its applications are refused with that reason.
//!
//! ```toml
//! [counselling]
//! legal_basis = "Lov om sosiale tjenester i arbeids- og velferdsforvaltningen (sosialtjenesteloven) § 17"
//! documents = ["Skattemelding for siste år", "Lønnsslipper for de tre siste månedene"]
//!
//! [counselling.timers]            # business days, calendar months (domain::timers)
//! quiet_days = 15
//! meeting_reminders = ["business_day_before"]   # and/or "same_day"
//!
//! [counselling.municipalities."4204"]
//! office = "main"                 # the letterhead; absent: the municipality's first office
//! contact = "Gjeldsrådgivningen, tlf. 38 00 00 00"
//! refer_to = "NAV Kristiansand, økonomisk rådgivning"   # named in the guidance letter
//! hold_dunning = true             # hold the municipality's own dunning while a case is active
//! fallback = "EG"                 # no national id on the form
//! protected = ["KH"]              # code 6/7 cases
//! ranges = [ { counsellor = "EG", from = 1, to = 12 }, … ]
//! counsellors = { EG = "Eva Gran", KH = "Kari Holm", AG = "Anders Grønn" }
//! ```
//! Every problem is listed at start; the binary exits with status 2.

use std::collections::BTreeMap;

use restance_kernel::Catalog;
use restance_kernel::retention::RetentionPolicy;
use restance_runtime::Settings;
use serde::Deserialize;

use crate::domain::{Assignment, DayRange, Timers};

/// The legal basis cited in every letter unless configured.
pub const LEGAL_BASIS: &str =
    "Lov om sosiale tjenester i arbeids- og velferdsforvaltningen (sosialtjenesteloven) § 17";

/// `[counselling]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CounsellingConfig {
    /// Cited in every letter.
    #[serde(default = "default_legal_basis")]
    pub legal_basis: String,
    /// The documentation the reply asks for.
    #[serde(default = "default_documents")]
    pub documents: Vec<String>,
    /// The time limits.
    #[serde(default)]
    pub timers: Timers,
    /// Per municipality code.
    #[serde(default)]
    pub municipalities: BTreeMap<String, MunicipalityCounselling>,
}

impl Default for CounsellingConfig {
    fn default() -> Self {
        CounsellingConfig {
            legal_basis: default_legal_basis(),
            documents: default_documents(),
            timers: Timers::default(),
            municipalities: BTreeMap::new(),
        }
    }
}

fn default_legal_basis() -> String {
    LEGAL_BASIS.to_owned()
}

fn default_documents() -> Vec<String> {
    [
        "Skattemelding og skatteoppgjør for siste år",
        "Lønnsslipper eller vedtak om ytelser for de tre siste månedene",
        "Oversikt over gjeld, inkassosaker og betalingsavtaler",
        "Husleiekontrakt eller oversikt over boutgifter",
        "Signert fullmakt",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// `[counselling.municipalities."<code>"]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MunicipalityCounselling {
    /// The office whose letterhead the letters carry (absent: the municipality's first).
    #[serde(default)]
    pub office: Option<String>,
    /// Who the letters name to contact (e.g. the service's phone).
    #[serde(default)]
    pub contact: Option<String>,
    /// Where the guidance letter sends an applicant not suitable for debt counselling.
    pub refer_to: String,
    /// Hold the municipality's own dunning of an applicant while the case is active.
    #[serde(default)]
    pub hold_dunning: bool,
    /// The counsellor of an application without a national id.
    pub fallback: String,
    /// The counsellors of protected cases (code 6/7).
    pub protected: Vec<String>,
    /// The birth-day ranges.
    pub ranges: Vec<DayRange>,
    /// The counsellors' names by id (printed in the letters).
    #[serde(default)]
    pub counsellors: BTreeMap<String, String>,
}

/// An unusable `[counselling]` section: the kit's one refusal type.
pub use restance_runtime::settings::InvalidConfig;

/// Reads `[retention]` (defaults when absent: 5 years, enabled) and checks it; a category key
/// is the case kind `counselling` or one of the catalog's categories.
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

impl CounsellingConfig {
    /// Reads `[counselling]` from the settings (defaults when absent) and checks it.
    pub fn load(settings: &Settings) -> Result<CounsellingConfig, InvalidConfig> {
        let config = settings
            .section_or_default::<CounsellingConfig>("counselling")
            .map_err(|e| InvalidConfig::new("counselling", e.0))?;
        config.check(&settings.catalog)
    }

    /// Checks the section against `catalog`; every problem is listed.
    pub fn check(self, catalog: &Catalog) -> Result<CounsellingConfig, InvalidConfig> {
        let mut problems = self.timers.problems();
        if self.legal_basis.trim().is_empty() {
            problems.push("counselling.legal_basis: must not be empty".to_owned());
        }
        if self.documents.iter().any(|d| d.trim().is_empty()) {
            problems.push("counselling.documents: an entry is empty".to_owned());
        }
        for (code, m) in &self.municipalities {
            let at = format!("counselling.municipalities.{code}");
            let Some(municipality) = catalog.municipality(code) else {
                problems.push(format!("{at}: no such municipality in the catalog"));
                continue;
            };
            if let Some(office) = &m.office
                && !municipality.offices.contains_key(office)
            {
                problems.push(format!("{at}.office: {office} is not an office of {code}"));
            }
            if m.refer_to.trim().is_empty() {
                problems.push(format!("{at}.refer_to: must not be empty"));
            }
            if let Err(p) = m.assignment() {
                problems.extend(p.into_iter().map(|p| format!("{at}: {p}")));
            }
        }
        if problems.is_empty() {
            Ok(self)
        } else {
            Err(InvalidConfig::new("counselling", problems))
        }
    }
}

impl MunicipalityCounselling {
    /// The assignment rules.
    pub fn assignment(&self) -> Result<Assignment, Vec<String>> {
        Assignment::new(
            self.ranges.clone(),
            self.fallback.clone(),
            self.protected.clone(),
        )
    }

    /// The name of counsellor `id` (the id itself when no name is configured).
    pub fn name_of(&self, id: &str) -> String {
        self.counsellors
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct File {
        catalog: Catalog,
        counselling: CounsellingConfig,
    }

    fn shipped() -> File {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../config/restance.toml"
        ))
        .expect("shipped config");
        toml::from_str(&text).expect("shipped config parses")
    }

    #[test]
    fn the_shipped_section_is_valid_and_assigns_kristiansand_as_the_seed_does() {
        let File {
            catalog,
            counselling,
        } = shipped();
        let config = counselling.check(&catalog).expect("test data");
        let k = &config.municipalities["4204"];
        let r: Vec<(String, u32, u32)> = k
            .ranges
            .iter()
            .map(|r| (r.counsellor.clone(), r.from, r.to))
            .collect();
        assert_eq!(
            r.iter().map(|x| (x.1, x.2)).collect::<Vec<_>>(),
            [(1, 12), (13, 16), (17, 31)]
        );
        assert!(k.hold_dunning);
    }

    #[test]
    fn an_unknown_municipality_and_a_bad_range_are_named() {
        let File {
            catalog,
            counselling: mut config,
        } = shipped();
        let mut k = config.municipalities["4204"].clone();
        k.ranges.pop();
        config.municipalities.insert("9999".into(), k.clone());
        config.municipalities.insert("4204".into(), k);
        let e = config.check(&catalog).expect_err("refused");
        assert!(
            e.problems
                .iter()
                .any(|p| p.contains("9999: no such municipality")),
            "{e}"
        );
        assert!(
            e.problems
                .iter()
                .any(|p| p.contains("4204: no counsellor for the birth day(s) 17")),
            "{e}"
        );
    }
}
