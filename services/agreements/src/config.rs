//! Agreements' configuration: `[agreements]` in `config/restance.toml`.
//!
//! ```toml
//! [agreements.plans]
//! grace_days = 7                 # an instalment is missed this many days after its due date
//! misses_before_default = 2      # missed instalments (at the same time) that break a plan
//! reminder_pay_within_days = 7   # a missed-instalment reminder asks for payment within this
//! max_first_due_days = 366       # the first instalment falls due within this many days
//!
//! [agreements.deferrals]
//! review_grace_days = 14         # a deferral with only a review date runs this much longer
//! max_days = 366                 # the longest deferral
//!
//! [agreements.meetings]
//! max_days_ahead = 366           # how far ahead a meeting may be booked
//! [agreements.meetings.places."0957"]
//! sisimiut = "Restanceafdelingen, Aqqusinersuaq 4, 3911 Sisimiut"   # default place per office
//!
//! [agreements.alerts]
//! caseworker_answer_days = 10    # business days from dunning's alert to the social caseworker's
//!                                # answer; unanswered after that: a supervisor task (never released)
//!
//! [agreements.legal_basis."0746"]  # per municipality: the rules each letter cites
//! plan = "…"
//! deferral = "…"
//! meeting = "…"
//! ```
//!
//! Everything is checked at start against the catalog; [`AgreementsConfig::load`] lists every
//! problem and the binary exits with status 2.

use std::collections::BTreeMap;

use restance_kernel::{Catalog, Municipality};
use restance_runtime::Settings;
use serde::Deserialize;

use crate::domain::TrackingRules;

/// `[agreements]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementsConfig {
    /// `[agreements.plans]`.
    #[serde(default)]
    pub plans: PlanSettings,
    /// `[agreements.deferrals]`.
    #[serde(default)]
    pub deferrals: DeferralSettings,
    /// `[agreements.meetings]`.
    #[serde(default)]
    pub meetings: MeetingSettings,
    /// `[agreements.alerts]`.
    #[serde(default)]
    pub alerts: AlertSettings,
    /// `[agreements.legal_basis."<municipality>"]`: every configured municipality needs one.
    #[serde(default)]
    pub legal_basis: BTreeMap<String, LegalBasis>,
}

/// `[agreements.plans]`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanSettings {
    /// Calendar days after a due date before an instalment is missed.
    #[serde(default = "default_grace")]
    pub grace_days: u32,
    /// Missed instalments (at the same time) that break the plan.
    #[serde(default = "default_misses")]
    pub misses_before_default: u32,
    /// The reminder of a missed instalment asks for payment within this many days.
    #[serde(default = "default_pay_within")]
    pub reminder_pay_within_days: u32,
    /// The first instalment must fall due within this many days of the business date.
    #[serde(default = "default_max_days")]
    pub max_first_due_days: u32,
}

fn default_grace() -> u32 {
    7
}
fn default_misses() -> u32 {
    2
}
fn default_pay_within() -> u32 {
    7
}
fn default_max_days() -> u32 {
    366
}
fn default_review_grace() -> u32 {
    14
}

impl Default for PlanSettings {
    fn default() -> Self {
        Self {
            grace_days: default_grace(),
            misses_before_default: default_misses(),
            reminder_pay_within_days: default_pay_within(),
            max_first_due_days: default_max_days(),
        }
    }
}

impl PlanSettings {
    /// The tracking rules these settings give.
    pub fn rules(&self) -> TrackingRules {
        TrackingRules {
            grace_days: self.grace_days,
            misses_before_default: self.misses_before_default,
        }
    }
}

/// `[agreements.deferrals]`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeferralSettings {
    /// A deferral with only a review date runs this many days past it (to a business day).
    #[serde(default = "default_review_grace")]
    pub review_grace_days: u32,
    /// The longest deferral, in days from the business date.
    #[serde(default = "default_max_days")]
    pub max_days: u32,
}

impl Default for DeferralSettings {
    fn default() -> Self {
        Self {
            review_grace_days: default_review_grace(),
            max_days: default_max_days(),
        }
    }
}

/// `[agreements.alerts]`: the social caseworker's alerts from dunning.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertSettings {
    /// Business days (of the municipality's country) from the alert's date within which the
    /// social caseworker answers; an alert still open after that is escalated to a supervisor
    /// task — the claims stay held, never released by time.
    #[serde(default = "default_answer_days")]
    pub caseworker_answer_days: u32,
}

fn default_answer_days() -> u32 {
    10
}

impl Default for AlertSettings {
    fn default() -> Self {
        Self {
            caseworker_answer_days: default_answer_days(),
        }
    }
}

/// `[agreements.meetings]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeetingSettings {
    /// How far ahead (days from the business date) a meeting may be booked.
    #[serde(default = "default_max_days")]
    pub max_days_ahead: u32,
    /// Per municipality and office: the place letters name when the request gives none.
    #[serde(default)]
    pub places: BTreeMap<String, BTreeMap<String, String>>,
}

impl Default for MeetingSettings {
    fn default() -> Self {
        Self {
            max_days_ahead: default_max_days(),
            places: BTreeMap::new(),
        }
    }
}

/// The rules a municipality's agreement letters cite (DOMAIN.md principle 5).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegalBasis {
    /// Payment plan confirmations and instalment reminders.
    pub plan: String,
    /// Deferral confirmations.
    pub deferral: String,
    /// Meeting invitations and reminders.
    pub meeting: String,
}

/// Which letter a legal basis is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LetterKind {
    /// Plans.
    Plan,
    /// Deferrals.
    Deferral,
    /// Meetings.
    Meeting,
}

/// An unusable `[agreements]` section: the kit's one refusal type.
pub use restance_runtime::settings::InvalidConfig;

fn one_line(text: &str) -> bool {
    !text.trim().is_empty() && text.chars().count() <= 1000 && !text.chars().any(char::is_control)
}

impl AgreementsConfig {
    /// Reads `[agreements]` and checks it against the catalog, listing every problem.
    pub fn load(settings: &Settings) -> Result<AgreementsConfig, InvalidConfig> {
        let config = settings
            .section::<AgreementsConfig>("agreements")
            .map_err(|e| InvalidConfig::new("agreements", e.0))?;
        config.check(&settings.catalog)?;
        Ok(config)
    }

    /// Every problem of this configuration against `catalog`.
    pub fn check(&self, catalog: &Catalog) -> Result<(), InvalidConfig> {
        let mut problems = Vec::new();
        let mut range = |path: &str, value: u32, min: u32, max: u32| {
            if !(min..=max).contains(&value) {
                problems.push(format!(
                    "agreements.{path}: {value} must be between {min} and {max}"
                ));
            }
        };
        range("plans.grace_days", self.plans.grace_days, 0, 90);
        range(
            "plans.misses_before_default",
            self.plans.misses_before_default,
            1,
            24,
        );
        range(
            "plans.reminder_pay_within_days",
            self.plans.reminder_pay_within_days,
            1,
            90,
        );
        range(
            "plans.max_first_due_days",
            self.plans.max_first_due_days,
            1,
            3660,
        );
        range(
            "deferrals.review_grace_days",
            self.deferrals.review_grace_days,
            0,
            90,
        );
        range("deferrals.max_days", self.deferrals.max_days, 1, 3660);
        range(
            "meetings.max_days_ahead",
            self.meetings.max_days_ahead,
            1,
            3660,
        );
        range(
            "alerts.caseworker_answer_days",
            self.alerts.caseworker_answer_days,
            1,
            120,
        );
        for (code, offices) in &self.meetings.places {
            let Some(m) = catalog.municipality(code) else {
                problems.push(format!(
                    "agreements.meetings.places.{code}: no such municipality in the catalog"
                ));
                continue;
            };
            for (office, place) in offices {
                if !m.has_office(office) {
                    problems.push(format!(
                        "agreements.meetings.places.{code}.{office}: no such office of {code}"
                    ));
                }
                if !one_line(place) {
                    problems.push(format!(
                        "agreements.meetings.places.{code}.{office}: must be one line of 1–1000 characters"
                    ));
                }
            }
        }
        for code in self.legal_basis.keys() {
            if catalog.municipality(code).is_none() {
                problems.push(format!(
                    "agreements.legal_basis.{code}: no such municipality in the catalog"
                ));
            }
        }
        for code in catalog.municipalities.keys() {
            match self.legal_basis.get(code) {
                None => problems.push(format!(
                    "agreements.legal_basis.{code}: missing (plan, deferral and meeting: the rules the letters cite)"
                )),
                Some(basis) => {
                    for (key, text) in [
                        ("plan", &basis.plan),
                        ("deferral", &basis.deferral),
                        ("meeting", &basis.meeting),
                    ] {
                        if !one_line(text) {
                            problems.push(format!(
                                "agreements.legal_basis.{code}.{key}: must be one line of 1–1000 characters"
                            ));
                        }
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(InvalidConfig::new("agreements", problems))
        }
    }

    /// The legal basis a letter of `kind` from municipality `code` cites.
    pub fn legal_basis(&self, code: &str, kind: LetterKind) -> String {
        self.legal_basis
            .get(code)
            .map(|b| match kind {
                LetterKind::Plan => b.plan.clone(),
                LetterKind::Deferral => b.deferral.clone(),
                LetterKind::Meeting => b.meeting.clone(),
            })
            .unwrap_or_default()
    }

    /// The place of a meeting at `office` when the request names none: the configured place,
    /// else the municipality's sender address with the office's name.
    pub fn default_place(&self, code: &str, municipality: &Municipality, office: &str) -> String {
        if let Some(place) = self.meetings.places.get(code).and_then(|o| o.get(office)) {
            return place.clone();
        }
        let s = &municipality.sender;
        let mut parts = vec![match municipality.offices.get(office) {
            Some(o) => format!("{}, {}", s.name, o.name),
            None => s.name.clone(),
        }];
        parts.extend(s.address_lines.iter().cloned());
        parts.push(format!("{} {}", s.postcode, s.city));
        parts.join(", ")
    }
}
