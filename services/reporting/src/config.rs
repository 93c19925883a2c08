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
//! # the fallback for every report kind without its own list
//! recipients = [
//!   { name = "Økonomiudvalget", email = "oekonomiudvalget@skanderborg.example" },
//! ]
//! # Skanderborg's council follows arrears at each budget follow-up (seed 001): a follow-up
//! # report as of each of these month-days, produced on the first business day after it
//! extra_dates = ["04-30", "08-31"]
//!
//! # who gets which report (monthly: the finance committee; quarterly and follow-ups: the
//! # council, seed 000); a kind not listed goes to `recipients`
//! [reporting.municipalities."0746".recipients_by_kind]
//! monthly = [{ name = "Økonomiudvalget", email = "oekonomiudvalget@skanderborg.example" }]
//! quarterly = [{ name = "Byrådet", email = "byraadet@skanderborg.example" }]
//!
//! # a consolidated report over several municipalities (seed 000: the self-government and the
//! # municipalities working together); their currencies must agree
//! [reporting.groups.kanukoka]
//! name = "KANUKOKA"
//! municipalities = ["0957", "0956"]
//! kinds = ["quarterly"]          # default: quarterly
//! language = "da"                # default: the first member's language
//! recipients = [{ name = "Selvstyret", email = "restancer@selvstyret.example" }]
//! ```
//!
//! Everything is checked at start; [`ReportingConfig::load`] lists every problem and the binary
//! exits with status 2.

use std::collections::BTreeMap;

use restance_contracts::messages::EmailContact;
use restance_kernel::{BusinessDate, Catalog, Language};
use restance_runtime::Settings;
use serde::Deserialize;

use crate::domain::report::ReportKind;

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
    /// Per municipality code: who receives its reports, and its extra report dates.
    #[serde(default)]
    pub municipalities: BTreeMap<String, MunicipalityReports>,
    /// Consolidated reports over groups of municipalities, by the group's key.
    #[serde(default)]
    pub groups: BTreeMap<String, ReportGroup>,
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
    /// Who gets an e-mail when a report is published: every kind without its own list.
    #[serde(default)]
    pub recipients: Vec<ReportRecipient>,
    /// Who gets an e-mail for a report of this kind (monthly → the finance committee,
    /// quarterly → the council); replaces `recipients` for that kind.
    #[serde(default)]
    pub recipients_by_kind: BTreeMap<ReportKind, Vec<ReportRecipient>>,
    /// Extra report dates, `MM-DD` (e.g. `"04-30"`): a follow-up report as of that date each
    /// year (Skanderborg's council at each budget follow-up, seed 001).
    #[serde(default)]
    pub extra_dates: Vec<String>,
}

/// `[reporting.groups.<key>]`: a consolidated report over several municipalities.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportGroup {
    /// The group's name on the report, e.g. "KANUKOKA".
    pub name: String,
    /// The member municipalities' codes (two or more, one currency).
    pub municipalities: Vec<String>,
    /// Which reports: `monthly`, `quarterly` (default: quarterly).
    #[serde(default = "default_group_kinds")]
    pub kinds: Vec<ReportKind>,
    /// The report's language (default: the first member's).
    #[serde(default)]
    pub language: Option<Language>,
    /// Who gets the e-mail.
    #[serde(default)]
    pub recipients: Vec<ReportRecipient>,
}

fn default_group_kinds() -> Vec<ReportKind> {
    vec![ReportKind::Quarterly]
}

/// A month and day of every year, `MM-DD` (an extra report date).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct MonthDay {
    /// 1–12.
    pub month: u32,
    /// 1–31, a day the month has in every year (no 29 February).
    pub day: u32,
}

impl std::str::FromStr for MonthDay {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{s:?} is not a month-day MM-DD, e.g. \"04-30\"");
        let (m, d) = s.split_once('-').ok_or_else(bad)?;
        if m.len() != 2 || d.len() != 2 {
            return Err(bad());
        }
        let month: u32 = m.parse().map_err(|_| bad())?;
        let day: u32 = d.parse().map_err(|_| bad())?;
        if month == 2 && day == 29 {
            return Err(format!(
                "{s:?}: 29 February is not in every year; use \"02-28\" (or \"03-01\")"
            ));
        }
        // 2027 is not a leap year: a day valid then is valid every year (29 February aside).
        BusinessDate::new(2027, month, day).ok_or_else(bad)?;
        Ok(MonthDay { month, day })
    }
}

impl MonthDay {
    /// This month-day in `year`.
    pub fn in_year(self, year: i32) -> Option<BusinessDate> {
        BusinessDate::new(year, self.month, self.day)
    }
}

/// A recipient of the report e-mails (a committee, the council secretariat, a person): the
/// contracts' [`EmailContact`], its `recipient()` the notifications command's party.
pub type ReportRecipient = EmailContact;

/// An unusable `[reporting]` section: the kit's one refusal type.
pub use restance_runtime::settings::InvalidConfig;

impl ReportingConfig {
    /// Reads `[reporting]` from the settings (defaults when absent) and checks it against the
    /// catalog.
    pub fn load(settings: &Settings) -> Result<ReportingConfig, InvalidConfig> {
        let config = settings
            .section_or_default::<ReportingConfig>("reporting")
            .map_err(|e| InvalidConfig::new("reporting", e.0))?;
        config.check(&settings.catalog)
    }

    // Long: every check of the section in the order of its fields, each problem listed.
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
            let at = format!("reporting.municipalities.{code}");
            check_recipients(
                &mut problems,
                &format!("{at}.recipients"),
                code,
                &m.recipients,
            );
            for (kind, list) in &m.recipients_by_kind {
                check_recipients(
                    &mut problems,
                    &format!("{at}.recipients_by_kind.{kind}"),
                    code,
                    list,
                );
            }
            let mut dates = std::collections::BTreeSet::new();
            for (i, text) in m.extra_dates.iter().enumerate() {
                match text.parse::<MonthDay>() {
                    Ok(md) if !dates.insert(md) => {
                        problems.push(format!("{at}.extra_dates[{i}]: {text:?} listed twice"));
                    }
                    Ok(_) => {}
                    Err(e) => problems.push(format!("{at}.extra_dates[{i}]: {e}")),
                }
            }
        }
        for (key, g) in &self.groups {
            let at = format!("reporting.groups.{key}");
            if key.is_empty()
                || !key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
            {
                problems.push(format!(
                    "{at}: a group key is lower-case letters, digits, - and _ (it names the report and its files)"
                ));
            }
            if catalog.municipality(key).is_some() {
                problems.push(format!(
                    "{at}: the key is a municipality's code; choose another"
                ));
            }
            if g.name.trim().is_empty() {
                problems.push(format!("{at}.name: empty"));
            }
            if g.municipalities.len() < 2 {
                problems.push(format!(
                    "{at}.municipalities: a consolidated report needs two or more municipalities"
                ));
            }
            let mut seen = std::collections::BTreeSet::new();
            let mut currencies = std::collections::BTreeSet::new();
            for (i, code) in g.municipalities.iter().enumerate() {
                if !seen.insert(code) {
                    problems.push(format!("{at}.municipalities[{i}]: {code} listed twice"));
                }
                match catalog.municipality(code) {
                    Some(m) => {
                        currencies.insert(m.currency.code().to_owned());
                    }
                    None => problems.push(format!(
                        "{at}.municipalities[{i}]: {code} is not a municipality in the catalog"
                    )),
                }
            }
            if currencies.len() > 1 {
                problems.push(format!(
                    "{at}.municipalities: the members' currencies differ ({}); amounts in different currencies cannot be added up",
                    currencies.into_iter().collect::<Vec<_>>().join(", ")
                ));
            }
            if g.kinds.is_empty() {
                problems.push(format!("{at}.kinds: empty (monthly and/or quarterly)"));
            }
            for (i, kind) in g.kinds.iter().enumerate() {
                if !ReportKind::ALL.contains(kind) {
                    problems.push(format!(
                        "{at}.kinds[{i}]: {kind} — a group has monthly and/or quarterly reports"
                    ));
                }
            }
            if let Some(first) = g.municipalities.first() {
                check_recipients(
                    &mut problems,
                    &format!("{at}.recipients"),
                    first,
                    &g.recipients,
                );
            }
        }
        if problems.is_empty() {
            Ok(self)
        } else {
            Err(InvalidConfig::new("reporting", problems))
        }
    }

    /// The recipients of a municipality's (or a group's) reports of `kind`: the kind's own list
    /// when there is one, else the municipality's `recipients` (a group has one list).
    pub fn recipients(&self, municipality: &str, kind: ReportKind) -> &[ReportRecipient] {
        if let Some(g) = self.groups.get(municipality) {
            return &g.recipients;
        }
        self.municipalities
            .get(municipality)
            .map(|m| {
                m.recipients_by_kind
                    .get(&kind)
                    .unwrap_or(&m.recipients)
                    .as_slice()
            })
            .unwrap_or_default()
    }

    /// A municipality's extra report dates (checked at start; an unreadable one is skipped).
    pub fn extra_dates(&self, municipality: &str) -> Vec<MonthDay> {
        self.municipalities
            .get(municipality)
            .map(|m| {
                m.extra_dates
                    .iter()
                    .filter_map(|t| t.parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Checks a list of recipients: no address twice, nothing the notifications command would
/// refuse for `municipality`.
fn check_recipients(
    problems: &mut Vec<String>,
    at: &str,
    municipality: &str,
    recipients: &[ReportRecipient],
) {
    let mut seen = std::collections::BTreeSet::new();
    for (i, r) in recipients.iter().enumerate() {
        let at = format!("{at}[{i}]");
        if !seen.insert(r.email.to_lowercase()) {
            problems.push(format!("{at}.email: listed twice"));
        }
        // The notifications command's own checks: what it would refuse, refused here.
        for (field, message) in r.problems(municipality) {
            problems.push(format!("{at}.{field}: {message}"));
        }
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
        let problems = config.check(&catalog()).expect_err("invalid").problems;
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
    fn each_kind_goes_to_its_own_recipients_and_the_old_list_is_the_fallback() {
        let config: ReportingConfig = toml::from_str(
            r#"
            [municipalities."0746"]
            recipients = [{ name = "Udvalget", email = "udvalg@example.org" }]
            [municipalities."0746".recipients_by_kind]
            quarterly = [{ name = "Byrådet", email = "byraad@example.org" }]
            [municipalities."0957"]
            recipients = [{ name = "Udvalget", email = "udvalg@example.gl" }]
            "#,
        )
        .expect("parses");
        let config = config.check(&catalog()).expect("valid");
        let to = |code, kind| {
            config
                .recipients(code, kind)
                .iter()
                .map(|r| r.email.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(to("0746", ReportKind::Monthly), ["udvalg@example.org"]);
        assert_eq!(to("0746", ReportKind::Quarterly), ["byraad@example.org"]);
        assert_eq!(to("0746", ReportKind::FollowUp), ["udvalg@example.org"]);
        assert_eq!(to("0957", ReportKind::Quarterly), ["udvalg@example.gl"]);
        assert!(to("4204", ReportKind::Monthly).is_empty());
    }

    #[test]
    fn the_shipped_configuration_sends_monthly_to_the_committee_and_quarterly_to_the_council() {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/restance.toml"),
        )
        .expect("shipped config");
        #[derive(Deserialize)]
        struct File {
            reporting: ReportingConfig,
        }
        let config = toml::from_str::<File>(&text)
            .expect("reporting")
            .reporting
            .check(&catalog())
            .expect("the shipped [reporting] is valid");
        for code in ["0957", "0746"] {
            let monthly = config.recipients(code, ReportKind::Monthly);
            let quarterly = config.recipients(code, ReportKind::Quarterly);
            assert!(!monthly.is_empty() && !quarterly.is_empty(), "{code}");
            assert_ne!(monthly[0].email, quarterly[0].email, "{code}");
        }
        assert_eq!(
            config.extra_dates("0746"),
            [
                MonthDay { month: 4, day: 30 },
                MonthDay { month: 8, day: 31 }
            ]
        );
    }

    #[test]
    fn extra_dates_and_groups_are_checked_at_start() {
        let config: ReportingConfig = toml::from_str(
            r#"
            [municipalities."0746"]
            extra_dates = ["04-30", "4-30", "02-29", "13-01", "04-30", "06-31"]
            [groups.nordic]
            name = "Nordic"
            municipalities = ["0746", "4204", "9999", "0746"]
            kinds = ["follow_up"]
            [groups."0957"]
            name = " "
            municipalities = ["0957"]
            "#,
        )
        .expect("parses");
        let text = config
            .check(&catalog())
            .expect_err("invalid")
            .problems
            .join("\n");
        for expected in [
            "extra_dates[1]: \"4-30\" is not a month-day",
            "extra_dates[2]: \"02-29\": 29 February",
            "extra_dates[3]",
            "extra_dates[4]: \"04-30\" listed twice",
            "extra_dates[5]",
            "reporting.groups.nordic.municipalities[2]: 9999 is not a municipality",
            "reporting.groups.nordic.municipalities[3]: 0746 listed twice",
            "reporting.groups.nordic.municipalities: the members' currencies differ (DKK, NOK)",
            "reporting.groups.nordic.kinds[0]: follow_up",
            "reporting.groups.0957: the key is a municipality's code",
            "reporting.groups.0957.name: empty",
            "reporting.groups.0957.municipalities: a consolidated report needs two or more",
        ] {
            assert!(text.contains(expected), "{expected}\n{text}");
        }
        assert!(!text.contains("extra_dates[0]"), "{text}");
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
