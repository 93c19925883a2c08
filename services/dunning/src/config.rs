//! Dunning's configuration: the policies (`[dunning]` jurisdictions, policies, municipalities —
//! [`crate::domain::Policies`]) and the service's own keys beside them in the same section:
//!
//! ```toml
//! [dunning.run]
//! chunk_debtors = 500      # debtors decided and committed per transaction in the daily run
//! poll_ms = 1000           # how often the run worker looks for a business day to run
//! park_after_failures = 3  # attempts at a failing debtor before it is parked for the day
//!
//! [dunning.letters]
//! pay_within_days = 10      # "pay by" printed in reminders: the business date + this
//! meeting_in_days = 10      # a meeting offer proposes a meeting this many days ahead …
//! meeting_time = "10:00"    # … at this local time
//! respond_within_days = 7   # … and asks for an answer within this many days
//!
//! [dunning.letters.legal_basis.dk_municipal]   # per jurisdiction: the rules letters cite
//! reminder = "opkrævningsloven § 6 og gebyrloven § 6, stk. 1"
//! meeting_offer = "…"
//! transfer = "…"
//! supply = "…"
//! ```
//!
//! Everything is checked at start; [`DunningConfig::load`] lists every problem (policies and
//! service keys together) and the binary exits with status 2.

use std::collections::BTreeMap;

use restance_kernel::Catalog;
use restance_runtime::Settings;
use serde::Deserialize;

use crate::domain::{Policies, TransferAuthority};

/// The whole configuration dunning runs with.
#[derive(Debug, Clone)]
pub struct DunningConfig {
    /// The validated policies.
    pub policies: Policies,
    /// The daily-run and letter settings.
    pub service: ServiceSettings,
}

/// `[dunning.run]` and `[dunning.letters]`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ServiceSettings {
    /// The daily run.
    #[serde(default)]
    pub run: RunSettings,
    /// What letters print besides the claims.
    #[serde(default)]
    pub letters: LetterSettings,
    /// `[dunning.campaigns]`: who is told of a settlement visit.
    #[serde(default)]
    pub campaigns: CampaignSettings,
}

/// `[dunning.campaigns]`: per collection office (`"<municipality>/<office>"`), the settlement
/// office manager who receives a settlement-visit campaign's list of debtors by e-mail (CSV
/// attached) when it is approved.
///
/// ```toml
/// [dunning.campaigns.offices."0957/sarfannguit"]
/// manager_email = "bygdekontor.sarfannguit@qeqqata.example"
/// manager_name = "Bygdekontoret i Sarfannguit"   # optional
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CampaignSettings {
    /// The office managers by `"<municipality>/<office>"`.
    #[serde(default)]
    pub offices: BTreeMap<String, OfficeManager>,
}

/// A settlement office manager.
#[derive(Clone, Deserialize)]
pub struct OfficeManager {
    /// Where the list goes.
    pub manager_email: String,
    /// The name on the e-mail (default: the office's).
    #[serde(default)]
    pub manager_name: Option<String>,
}

/// The e-mail address is personal data: not printed.
impl std::fmt::Debug for OfficeManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfficeManager").finish_non_exhaustive()
    }
}

impl CampaignSettings {
    /// The manager of `office` in `municipality`, if configured.
    pub fn manager(&self, municipality: &str, office: &str) -> Option<&OfficeManager> {
        self.offices.get(&format!("{municipality}/{office}"))
    }
}

/// `[dunning.run]`.
#[derive(Debug, Clone, Deserialize)]
pub struct RunSettings {
    /// Debtors per transaction (bounded memory; a crash repeats at most one chunk's work, which
    /// the natural keys make harmless).
    #[serde(default = "default_chunk")]
    pub chunk_debtors: usize,
    /// Poll interval of the run worker (it is also woken when a business day is recorded).
    #[serde(default = "default_poll_ms")]
    pub poll_ms: u64,
    /// Failed attempts at one debtor on one day before the debtor is parked for that day (a
    /// caseworker alert and a metric; the rest of the day goes on; retried the next business
    /// day). A chunk that fails is first retried one debtor at a time, so only the debtor that
    /// fails counts. The database being unreachable never counts.
    #[serde(default = "default_park_after")]
    pub park_after_failures: u32,
}

fn default_park_after() -> u32 {
    3
}

fn default_chunk() -> usize {
    500
}

fn default_poll_ms() -> u64 {
    1000
}

impl Default for RunSettings {
    fn default() -> Self {
        Self {
            chunk_debtors: default_chunk(),
            poll_ms: default_poll_ms(),
            park_after_failures: default_park_after(),
        }
    }
}

/// `[dunning.letters]`.
#[derive(Debug, Clone, Deserialize)]
pub struct LetterSettings {
    /// Reminders ask for payment within this many days of the letter.
    #[serde(default = "default_pay_within")]
    pub pay_within_days: u32,
    /// A meeting offer proposes a meeting this many days after the letter …
    #[serde(default = "default_meeting_in")]
    pub meeting_in_days: u32,
    /// … at this local time (`HH:MM`).
    #[serde(default = "default_meeting_time")]
    pub meeting_time: String,
    /// … and asks for an answer within this many days (before the meeting).
    #[serde(default = "default_respond_within")]
    pub respond_within_days: u32,
    /// Per jurisdiction key: the rules each kind of letter cites.
    #[serde(default)]
    pub legal_basis: BTreeMap<String, LegalBasis>,
}

fn default_pay_within() -> u32 {
    10
}
fn default_meeting_in() -> u32 {
    10
}
fn default_meeting_time() -> String {
    "10:00".into()
}
fn default_respond_within() -> u32 {
    7
}

impl Default for LetterSettings {
    fn default() -> Self {
        Self {
            pay_within_days: default_pay_within(),
            meeting_in_days: default_meeting_in(),
            meeting_time: default_meeting_time(),
            respond_within_days: default_respond_within(),
            legal_basis: BTreeMap::new(),
        }
    }
}

/// The rules a jurisdiction's letters cite (DOMAIN.md principle 5: letters cite the rules).
/// A missing entry falls back to the legal table's `fee_legal_basis`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegalBasis {
    /// Reminders and the company final notice.
    #[serde(default)]
    pub reminder: Option<String>,
    /// The meeting offer.
    #[serde(default)]
    pub meeting_offer: Option<String>,
    /// The letter telling the debtor the claim was transferred, and `dunning.claim.transferred.v1`.
    #[serde(default)]
    pub transfer: Option<String>,
    /// The supply suspension notice.
    #[serde(default)]
    pub supply: Option<String>,
    /// The notice that a claim was written off (limitation).
    #[serde(default)]
    pub write_off: Option<String>,
}

/// What a letter is about, to pick its legal basis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LetterKind {
    /// Reminders, transfer notices, the company final notice.
    Reminder,
    /// The meeting offer.
    MeetingOffer,
    /// Transferred to collection.
    Transfer,
    /// Supply suspension notice.
    Supply,
    /// The write-off notice.
    WriteOff,
}

impl LetterSettings {
    /// The legal basis a letter of `kind` cites under `jurisdiction`, else `fallback`.
    pub fn legal_basis(&self, jurisdiction: &str, kind: LetterKind, fallback: &str) -> String {
        let configured = self.legal_basis.get(jurisdiction).and_then(|b| match kind {
            LetterKind::Reminder => b.reminder.as_deref(),
            LetterKind::MeetingOffer => b.meeting_offer.as_deref(),
            LetterKind::Transfer => b.transfer.as_deref(),
            LetterKind::Supply => b.supply.as_deref(),
            LetterKind::WriteOff => b.write_off.as_deref(),
        });
        configured
            .filter(|s| !s.trim().is_empty())
            .unwrap_or(fallback)
            .to_owned()
    }

    /// `meeting_time` as (hour, minute), if well formed.
    pub fn meeting_hour_minute(&self) -> Option<(u32, u32)> {
        let (h, m) = self.meeting_time.split_once(':')?;
        let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
        (h < 24 && m < 60 && self.meeting_time.len() == 5).then_some((h, m))
    }
}

/// The authority's name as letters print it (its own name; the same in every language).
pub fn authority_name(authority: TransferAuthority) -> &'static str {
    match authority {
        TransferAuthority::Gaeldsstyrelsen => "Gældsstyrelsen",
        TransferAuthority::Skattestyrelsen => "Skattestyrelsen (Akileraartarnermut Aqutsisoqarfik)",
        TransferAuthority::StatensInnkrevingssentral => "Statens innkrevingssentral",
        TransferAuthority::Namsmannen => "Namsmannen",
        TransferAuthority::Inkasso => "inkassobyrå",
    }
}

/// An unusable `[dunning]` section: the kit's one refusal type.
pub use restance_runtime::settings::InvalidConfig;

impl DunningConfig {
    /// Reads `[dunning]` from the settings and checks it against the catalog: the policies
    /// ([`Policies::validate`]) and the service keys. Every problem is listed.
    pub fn load(settings: &Settings) -> Result<DunningConfig, InvalidConfig> {
        let policies = settings
            .section::<Policies>("dunning")
            .map_err(|e| InvalidConfig::new("dunning", e.0))?;
        let service = match settings.section::<ServiceSettings>("dunning") {
            Ok(s) => s,
            Err(e) => return Err(InvalidConfig::new("dunning", e.0)),
        };
        Self::check(policies, service, &settings.catalog)
    }

    /// Checks already-read policies and settings against `catalog`.
    pub fn check(
        policies: Policies,
        service: ServiceSettings,
        catalog: &Catalog,
    ) -> Result<DunningConfig, InvalidConfig> {
        let mut problems = match policies.validate(Some(catalog)) {
            Ok(()) => Vec::new(),
            Err(p) => p,
        };
        if !(1..=5000).contains(&service.run.chunk_debtors) {
            problems.push(format!(
                "dunning.run.chunk_debtors: {} must be between 1 and 5000",
                service.run.chunk_debtors
            ));
        }
        if !(10..=60_000).contains(&service.run.poll_ms) {
            problems.push(format!(
                "dunning.run.poll_ms: {} must be between 10 and 60000",
                service.run.poll_ms
            ));
        }
        let letters = &service.letters;
        if letters.meeting_hour_minute().is_none() {
            problems.push(format!(
                "dunning.letters.meeting_time: {:?} must be a local time like \"10:00\"",
                letters.meeting_time
            ));
        }
        if letters.respond_within_days >= letters.meeting_in_days {
            problems.push(format!(
                "dunning.letters.respond_within_days: {} must be less than meeting_in_days ({}): the answer is due before the meeting",
                letters.respond_within_days, letters.meeting_in_days
            ));
        }
        for (name, days) in [
            ("pay_within_days", letters.pay_within_days),
            ("meeting_in_days", letters.meeting_in_days),
        ] {
            if !(1..=365).contains(&days) {
                problems.push(format!(
                    "dunning.letters.{name}: {days} must be between 1 and 365"
                ));
            }
        }
        for key in letters.legal_basis.keys() {
            if !policies.jurisdictions.contains_key(key) {
                problems.push(format!(
                    "dunning.letters.legal_basis.{key}: no such jurisdiction in dunning.jurisdictions"
                ));
            }
        }
        for (key, manager) in &service.campaigns.offices {
            let known = key.split_once('/').is_some_and(|(m, o)| {
                catalog
                    .municipality(m)
                    .is_some_and(|m| m.offices.contains_key(o))
            });
            if !known {
                problems.push(format!(
                    "dunning.campaigns.offices.\"{key}\": must be \"<municipality>/<office>\" of an office in the catalog"
                ));
            }
            let email = manager.manager_email.trim();
            let well_formed = email
                .split_once('@')
                .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
                && !email.chars().any(|c| c.is_whitespace() || c.is_control());
            if !well_formed {
                problems.push(format!(
                    "dunning.campaigns.offices.\"{key}\".manager_email: must be an e-mail address"
                ));
            }
        }
        if problems.is_empty() {
            Ok(DunningConfig { policies, service })
        } else {
            Err(InvalidConfig::new("dunning", problems))
        }
    }

    /// `policy@version` for every version of every policy, for the start-up log.
    pub fn policy_versions(&self) -> Vec<String> {
        self.policies
            .policies
            .iter()
            .flat_map(|(id, p)| {
                p.versions
                    .iter()
                    .map(move |v| format!("{id}@{}", v.version))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalid_section_explains_itself_one_problem_a_line() {
        let err = DunningConfig::check(
            Policies::default(),
            ServiceSettings::default(),
            &Catalog::default(),
        )
        .expect_err("empty policies are invalid");
        let text = err.to_string();
        let n = err.problems.len();
        assert!(n >= 3, "{text}");
        assert!(
            text.starts_with(&format!(
                "invalid [dunning] configuration ({n} problems):\n  dunning."
            )),
            "{text}"
        );
        assert_eq!(text.lines().count(), n + 1, "{text}");
    }
}
