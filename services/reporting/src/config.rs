//! Reporting's configuration: the `[reporting]` section of `config/restance.toml` (every key has
//! a default, so the section may be absent).
//!
//! ```toml
//! [reporting]
//! # where people reach the reports (the e-mail, which carries the XLSX and CSV as attachments,
//! # also links to <public_url>/api/v1/reports/<id>); absent: the attachments only
//! public_url = "https://restance.example.org/reporting"
//!
//! [reporting.worker]
//! poll_ms = 1000     # how often the worker looks for an opened day to close
//! lease_secs = 600   # a report claimed by a worker that died is taken over after this
//!
//! [reporting.municipalities."0746"]
//! recipients = [
//!   { name = "Økonomiudvalget", email = "oekonomiudvalget@skanderborg.example" },
//! ]
//! ```
//!
//! Everything is checked at start; [`ReportingConfig::load`] lists every problem and the binary
//! exits with status 2.

use std::collections::BTreeMap;

use restance_contracts::messages::EmailContact;
use restance_kernel::Catalog;
use restance_runtime::Settings;
use serde::Deserialize;

/// `[reporting]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportingConfig {
    /// The address people reach reporting's API at, for links in e-mails.
    #[serde(default)]
    pub public_url: Option<String>,
    /// The worker that closes days and produces reports.
    #[serde(default)]
    pub worker: WorkerSettings,
    /// Per municipality code: who receives its reports.
    #[serde(default)]
    pub municipalities: BTreeMap<String, MunicipalityReports>,
}

/// `[reporting.worker]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerSettings {
    /// Poll interval (the worker is also woken when a business day is opened).
    #[serde(default = "default_poll_ms")]
    pub poll_ms: u64,
    /// How long a claimed report is reserved for the worker rendering it.
    #[serde(default = "default_lease_secs")]
    pub lease_secs: u64,
}

fn default_poll_ms() -> u64 {
    1000
}

fn default_lease_secs() -> u64 {
    600
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            poll_ms: default_poll_ms(),
            lease_secs: default_lease_secs(),
        }
    }
}

/// `[reporting.municipalities."<code>"]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MunicipalityReports {
    /// Who gets an e-mail when a report is published.
    #[serde(default)]
    pub recipients: Vec<ReportRecipient>,
}

/// A recipient of the report e-mails (a committee, the council secretariat, a person): the
/// contracts' [`EmailContact`], its `recipient()` the notifications command's party.
pub type ReportRecipient = EmailContact;

/// The configuration cannot be used; every problem on its own line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid [reporting] configuration ({} problems):\n  {}", .0.len(), .0.join("\n  "))]
pub struct InvalidConfig(pub Vec<String>);

impl ReportingConfig {
    /// Reads `[reporting]` from the settings (defaults when absent) and checks it against the
    /// catalog.
    pub fn load(settings: &Settings) -> Result<ReportingConfig, InvalidConfig> {
        let config = settings
            .section_or_default::<ReportingConfig>("reporting")
            .map_err(|e| InvalidConfig(e.0))?;
        config.check(&settings.catalog)
    }

    /// Checks the section against `catalog`; every problem is listed.
    pub fn check(self, catalog: &Catalog) -> Result<ReportingConfig, InvalidConfig> {
        let mut problems = Vec::new();
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            problems.push(format!(
                "reporting.public_url: {url:?} must be an http:// or https:// address"
            ));
        }
        if !(10..=60_000).contains(&self.worker.poll_ms) {
            problems.push(format!(
                "reporting.worker.poll_ms: {} must be between 10 and 60000",
                self.worker.poll_ms
            ));
        }
        if !(10..=86_400).contains(&self.worker.lease_secs) {
            problems.push(format!(
                "reporting.worker.lease_secs: {} must be between 10 and 86400",
                self.worker.lease_secs
            ));
        }
        for (code, m) in &self.municipalities {
            if catalog.municipality(code).is_none() {
                problems.push(format!(
                    "reporting.municipalities.{code}: no such municipality in the catalog"
                ));
            }
            let mut seen = std::collections::BTreeSet::new();
            for (i, r) in m.recipients.iter().enumerate() {
                let at = format!("reporting.municipalities.{code}.recipients[{i}]");
                if !seen.insert(r.email.to_lowercase()) {
                    problems.push(format!("{at}.email: listed twice"));
                }
                // The notifications command's own checks: what it would refuse, refused here.
                for (field, message) in r.problems(code) {
                    problems.push(format!("{at}.{field}: {message}"));
                }
            }
        }
        if problems.is_empty() {
            Ok(self)
        } else {
            Err(InvalidConfig(problems))
        }
    }

    /// The recipients of a municipality's reports.
    pub fn recipients(&self, municipality: &str) -> &[ReportRecipient] {
        self.municipalities
            .get(municipality)
            .map(|m| m.recipients.as_slice())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn every_problem_is_listed() {
        let config: ReportingConfig = toml::from_str(
            r#"
            public_url = "ftp://x"
            [worker]
            poll_ms = 1
            [municipalities."9999"]
            recipients = []
            [municipalities."0746"]
            recipients = [{ name = "Udvalget", email = "not-an-address" },
                          { name = " ", email = "a@example.org" },
                          { name = "B", email = "A@example.org" }]
            "#,
        )
        .expect("parses");
        let problems = config.check(&catalog()).expect_err("invalid").0;
        let text = problems.join("\n");
        assert!(text.contains("reporting.public_url"), "{text}");
        assert!(text.contains("reporting.worker.poll_ms: 1"), "{text}");
        assert!(
            text.contains("reporting.municipalities.9999: no such municipality"),
            "{text}"
        );
        assert!(
            text.contains("reporting.municipalities.0746.recipients[0].email"),
            "{text}"
        );
        assert!(
            text.contains("reporting.municipalities.0746.recipients[1].name"),
            "{text}"
        );
        assert!(
            text.contains("reporting.municipalities.0746.recipients[2].email: listed twice"),
            "{text}"
        );
        assert_eq!(problems.len(), 6, "{text}");
    }

    #[test]
    fn recipients_never_show_in_debug_output() {
        let r = ReportRecipient {
            name: "Ane Hansen".into(),
            email: "ane@example.org".into(),
            language: None,
        };
        let text = format!("{r:?}");
        assert!(!text.contains("Ane") && !text.contains("ane@"), "{text}");
    }
}
