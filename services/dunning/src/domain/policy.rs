//! Dunning policies: the `[dunning]` section of `config/restance.toml`, as data.
//!
//! Three tables, each keyed so that a configuration problem can be named by its path:
//!
//! - `[dunning.jurisdictions.<key>]` — the **law**: the country, whether it is the private-law
//!   regime, the state collection authority, and dated [`LegalTable`]s with the reminder fee, its
//!   cap, how many fee-bearing reminders are allowed and how far apart, and the minimum balance
//!   for transfer (DOMAIN.md, "Rules and parameters": every number has an effective date);
//! - `[dunning.policies.<id>]` — the **municipality's procedure**: versions with an
//!   `effective_from` date, each an ordered list of [`Step`]s (timing + one [`StepAction`]), an
//!   [`InterestRule`], the special-consideration wait and the limitation period;
//! - `[dunning.municipalities."<code>"]` — which policy a municipality uses for each category
//!   (`categories = { daycare = "…" }`), and its `default` for every other category.
//!
//! The version in force on a business date is the one with the latest `effective_from` on or
//! before it; every decision records the policy id and version ([`PolicyRef`]).
//! [`Policies::validate`] lists every problem at once; a service refuses to start unless it
//! returns `Ok(())`.
//!
//! Amounts are strings (`"250.00"`, like money on the wire) and so are percentages (`"1"`,
//! `"8"`): no value of the policy passes through a float.

mod validate;

use std::collections::BTreeMap;

use restance_kernel::{BusinessDate, Country, Money, PartyKind};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::domain::terms::HoldKind;
pub use crate::domain::terms::{Channel, PolicyRef, RateUnit, TransferAuthority};

/// The template ids dunning uses; the letters crate ships each of them in every language.
pub mod templates {
    /// The first reminder.
    pub const REMINDER_1: &str = "reminder_1";
    /// The second reminder; it carries the notice of transfer to state collection.
    pub const REMINDER_2: &str = "reminder_2";
    /// The offer of a meeting (sættemøde), by letter and SMS.
    pub const MEETING_OFFER: &str = "meeting_offer";
    /// The notice to a company debtor: pay by the deadline or the claim goes to collection.
    pub const COMPANY_FINAL_NOTICE: &str = "company_final_notice";
    /// The notice that water or heat supply will be closed.
    pub const SUPPLY_SUSPENSION_NOTICE: &str = "supply_suspension_notice";
    /// The letter telling the debtor that the claim was transferred to state collection.
    pub const TRANSFERRED_TO_COLLECTION: &str = "transferred_to_collection";
    /// The letter telling the debtor that a claim was written off (sent after approval).
    pub const WRITE_OFF_NOTICE: &str = "write_off_notice";
    /// The notice before distraint (udlægsvarsel) for a priority claim.
    pub const DISTRAINT_NOTICE: &str = "distraint_notice";
    /// The friendly notice before the due date (adviser).
    pub const PRE_DUE_NOTICE: &str = "pre_due_notice";
    /// A campaign's letter (company notice, settlement visit, direct debit, information).
    pub const CAMPAIGN_NOTICE: &str = "campaign_notice";
    /// Every template id above.
    pub const ALL: [&str; 10] = [
        REMINDER_1,
        REMINDER_2,
        MEETING_OFFER,
        COMPANY_FINAL_NOTICE,
        SUPPLY_SUSPENSION_NOTICE,
        TRANSFERRED_TO_COLLECTION,
        WRITE_OFF_NOTICE,
        DISTRAINT_NOTICE,
        PRE_DUE_NOTICE,
        CAMPAIGN_NOTICE,
    ];
    /// The templates a `reminder` or `transfer_notice` step may name.
    pub const REMINDERS: [&str; 2] = [REMINDER_1, REMINDER_2];
}

/// Every template id dunning may request (see [`templates`]).
pub fn known_templates() -> &'static [&'static str] {
    &templates::ALL
}

/// Limitation period when a policy version does not say (DK forældelsesloven § 3).
pub const DEFAULT_LIMITATION_YEARS: u32 = 3;

/// The whole `[dunning]` section: jurisdictions, policies and the municipalities' assignments.
///
/// Deserialises from TOML (the `config` crate or `toml`) and JSON. Other keys in `[dunning]`
/// are ignored, so the service may keep its own settings beside the policies.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Policies {
    /// The legal regimes by key, e.g. `dk_municipal`, `dk_private_law`, `gl_municipal`.
    #[serde(default)]
    pub jurisdictions: BTreeMap<String, Jurisdiction>,
    /// The dunning procedures by id, e.g. `dk_standard`, `dk_special`.
    #[serde(default)]
    pub policies: BTreeMap<String, Policy>,
    /// Municipality code → which policy it uses per category.
    #[serde(default)]
    pub municipalities: BTreeMap<String, Assignment>,
}

/// A legal regime: one country's public-law or private-law rules for fees and transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Jurisdiction {
    /// The country whose law this is.
    pub country: Country,
    /// The private-law regime (renteloven, private-law fee rules); categories flagged
    /// `private_law` must use such a jurisdiction, and only they.
    #[serde(default)]
    pub private_law: bool,
    /// Who receives transferred claims.
    pub transfer_authority: TransferAuthority,
    /// The fee and transfer figures, oldest first; the one in force on a date applies.
    pub tables: Vec<LegalTable>,
}

/// The legal figures of a jurisdiction from `effective_from` until the next table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegalTable {
    /// First day these figures apply.
    pub effective_from: BusinessDate,
    /// The reminder fee charged per fee-bearing reminder letter.
    pub fee: Money,
    /// The legal maximum per reminder letter (DK municipal 250, DK private-law 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_cap: Option<Money>,
    /// Norway: the collection rate (inkassosatsen); the fee cap is a tenth of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection_rate: Option<Money>,
    /// The rule cited in letters and in `dunning.fee.assessed.v1`.
    pub fee_legal_basis: String,
    /// At most this many fee-bearing reminders per claim (DK private-law 3, NO 2); none: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_fee_reminders: Option<u32>,
    /// Days at least between two fee-bearing reminders of a claim (DK private-law 10).
    #[serde(default)]
    pub min_days_between_fees: u32,
    /// The first fee no earlier than this many days after the due date (NO 14).
    #[serde(default)]
    pub first_fee_min_days_after_due: u32,
    /// A claim is transferred only if principal + fees + interest is at least this (DK 100 kr).
    pub transfer_min_balance: Money,
    /// The rule the notice before distraint cites (priority claims, made by the municipality).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distraint_legal_basis: Option<String>,
}

/// One dunning procedure with its versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// What it is for, e.g. "Standard municipal claims (DK)".
    #[serde(default)]
    pub name: String,
    /// The key of its [`Jurisdiction`].
    pub jurisdiction: String,
    /// Its versions, oldest first.
    pub versions: Vec<PolicyVersion>,
}

/// A policy as it applies from `effective_from` until the next version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyVersion {
    /// Version number, increasing with `effective_from`.
    pub version: u32,
    /// First business date this version is in force.
    pub effective_from: BusinessDate,
    /// The steps in the order they are taken; step number = position + 1.
    pub steps: Vec<Step>,
    /// Default interest.
    pub interest: InterestRule,
    /// Holds during which interest keeps running; during any other hold it is not charged.
    #[serde(default)]
    pub interest_continues_during: Vec<HoldKind>,
    /// The meeting wait for categories flagged `special_consideration`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub special_consideration: Option<SpecialConsideration>,
    /// Limitation period in years from the due date or the last acknowledgement.
    #[serde(default = "default_limitation_years")]
    pub limitation_years: u32,
    /// Whether a claim that reaches its transfer step is transferred at once or proposed to a
    /// caseworker (`transfer = { mode = "review" }`); automatic when absent.
    #[serde(default)]
    pub transfer: TransferRule,
    /// The small-balance threshold (bagatelgrænse): below it no reminder, fee or transfer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<Threshold>,
    /// Send the debtor the `write_off_notice` letter when a caseworker approves a write-off.
    #[serde(default)]
    pub write_off_notice: bool,
    /// A friendly notice before the due date (adviser, seed 001) for the categories of this
    /// policy; not for direct-debit or prepayment claims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_due_notice: Option<PreDueNotice>,
}

/// `pre_due_notice = { days_before = 5 }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreDueNotice {
    /// Sent this many days before the due date (1 to 60).
    pub days_before: u32,
}

/// How a claim that reached its transfer step goes to the state (issue: seeds 001 and 002).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferRule {
    /// `automatic` (Greenland: about 14 days after the deadline) or `review` (Skanderborg
    /// decides case by case; Albertslund transfers only the able-but-unwilling).
    #[serde(default)]
    pub mode: TransferMode,
    /// Seed 002: a proposal needs no response from the debtor after the written notice, or at
    /// least `broken_agreements_for_transfer` broken agreements.
    #[serde(default)]
    pub only_unwilling_or_defaulting: bool,
    /// How many broken agreements make a repeated defaulter (seed 002: "gentagne gange").
    #[serde(default = "default_broken_agreements")]
    pub broken_agreements_for_transfer: u32,
    /// Where the rule comes from (the municipality's collection policy), shown with proposals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl Default for TransferRule {
    fn default() -> Self {
        TransferRule {
            mode: TransferMode::Automatic,
            only_unwilling_or_defaulting: false,
            broken_agreements_for_transfer: default_broken_agreements(),
            source: None,
        }
    }
}

fn default_broken_agreements() -> u32 {
    2
}

/// Transfer at once or after a caseworker's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferMode {
    /// The transfer step transfers.
    #[default]
    Automatic,
    /// The transfer step makes a transfer proposal; a caseworker transfers or keeps it.
    Review,
}

/// The small-balance threshold (bagatelgrænse) of a policy version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    /// An open balance (principal + fees + interest) below this gets no further reminder, fee,
    /// transfer or distraint; it waits for a payment or, in the end, limitation and write-off.
    pub below: Money,
    /// No interest is charged for a period when the amount would be below this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_interest: Option<Money>,
    /// Where the figure comes from (the municipality's decision, a circular).
    pub source: String,
}

fn default_limitation_years() -> u32 {
    DEFAULT_LIMITATION_YEARS
}

/// The special-consideration gate (DOMAIN.md principle 4): before any fee, transfer or supply
/// suspension the debtor is offered a meeting (and, for social-caseworker categories, the
/// caseworker is alerted); then dunning waits `meeting_wait_days`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecialConsideration {
    /// Days between the meeting offer (or caseworker alert, whichever is later) and the next hard step.
    pub meeting_wait_days: u32,
}

/// The meeting wait used when a special-consideration claim's policy does not configure one
/// (validation reports that as a problem; at run time the debtor gets the benefit of two weeks).
pub const FALLBACK_MEETING_WAIT_DAYS: u32 = 14;

/// One step of a procedure: when, for whom, and what.
///
/// Exactly one of `after_due_days` / `after_previous_days` is set. `after_due_days` counts from
/// the claim's due date, `after_previous_days` from the date the claim's previous step was taken
/// (the due date for the first). Either way, after a hold the count starts again from the day the
/// hold ended (see [`crate::domain::schedule`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Days after the due date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_due_days: Option<u32>,
    /// Days after the previous step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_previous_days: Option<u32>,
    /// Only for persons or only for companies; for both when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only_for: Option<PartyKind>,
    /// What the step does.
    pub action: StepAction,
}

/// When a step falls due, relative to an anchor date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    /// `after_due_days`.
    AfterDue(u32),
    /// `after_previous_days`.
    AfterPrevious(u32),
}

/// What a step does. `kind` names it in the configuration:
/// `action = { kind = "reminder", template = "reminder_2", fee = true, transfer_notice = true }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum StepAction {
    /// A reminder letter; with `fee` it carries the jurisdiction's reminder fee, with
    /// `transfer_notice` it is the written notice of transfer to state collection.
    Reminder {
        /// `reminder_1` or `reminder_2`.
        template: String,
        /// Channels to use; empty: the notifications service's choice for the template.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        channels: Vec<Channel>,
        /// This reminder carries a fee (which step charges the first fee is configurable).
        #[serde(default)]
        fee: bool,
        /// This reminder is the written notice of transfer.
        #[serde(default)]
        transfer_notice: bool,
    },
    /// A meeting offer (template `meeting_offer`, letter and SMS); for social-caseworker
    /// categories the caseworker is alerted at the same time.
    MeetingOffer {
        /// Channels; default letter and SMS.
        #[serde(default = "letter_and_sms")]
        channels: Vec<Channel>,
    },
    /// An alert to the social caseworker (`dunning.caseworker.alerted.v1`); no letter.
    CaseworkerAlert,
    /// A separate written notice of transfer.
    TransferNotice {
        /// The letter; default `reminder_2`, which contains the notice.
        #[serde(default = "reminder_2")]
        template: String,
        /// Channels; empty: the notifications service's choice.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        channels: Vec<Channel>,
    },
    /// Transfer to the jurisdiction's collection authority (letter `transferred_to_collection`).
    Transfer {
        /// The written notice must have been sent at least this many days earlier.
        notice_min_days: u32,
    },
    /// The final notice to a company debtor (template `company_final_notice`); it counts as the
    /// written notice of transfer. Only for company debtors.
    CompanyFinalNotice {
        /// The deadline printed in the letter: this many days after it is sent.
        deadline_days: u32,
    },
    /// The notice that supply will be closed (template `supply_suspension_notice`); only for
    /// categories that allow closure and only after a broken agreement.
    SupplySuspensionNotice,
    /// Closing water or heat supply; only for categories that allow closure, only after a broken
    /// agreement and a supply suspension notice at least `notice_min_days` earlier.
    SupplySuspension {
        /// Days at least between the notice and the suspension.
        notice_min_days: u32,
    },
}

fn letter_and_sms() -> Vec<Channel> {
    vec![Channel::Letter, Channel::Sms]
}

fn reminder_2() -> String {
    templates::REMINDER_2.to_owned()
}

impl StepAction {
    /// The configuration name, e.g. `reminder`.
    pub const fn kind(&self) -> &'static str {
        match self {
            StepAction::Reminder { .. } => "reminder",
            StepAction::MeetingOffer { .. } => "meeting_offer",
            StepAction::CaseworkerAlert => "caseworker_alert",
            StepAction::TransferNotice { .. } => "transfer_notice",
            StepAction::Transfer { .. } => "transfer",
            StepAction::CompanyFinalNotice { .. } => "company_final_notice",
            StepAction::SupplySuspensionNotice => "supply_suspension_notice",
            StepAction::SupplySuspension { .. } => "supply_suspension",
        }
    }

    /// The letter template this action sends, if it sends one.
    pub fn template(&self) -> Option<&str> {
        match self {
            StepAction::Reminder { template, .. } | StepAction::TransferNotice { template, .. } => {
                Some(template)
            }
            StepAction::MeetingOffer { .. } => Some(templates::MEETING_OFFER),
            StepAction::Transfer { .. } => Some(templates::TRANSFERRED_TO_COLLECTION),
            StepAction::CompanyFinalNotice { .. } => Some(templates::COMPANY_FINAL_NOTICE),
            StepAction::SupplySuspensionNotice => Some(templates::SUPPLY_SUSPENSION_NOTICE),
            StepAction::CaseworkerAlert | StepAction::SupplySuspension { .. } => None,
        }
    }
}

impl Step {
    /// The timing, or `None` unless exactly one of the two fields is set (a validation problem).
    pub fn timing(&self) -> Option<Timing> {
        match (self.after_due_days, self.after_previous_days) {
            (Some(days), None) => Some(Timing::AfterDue(days)),
            (None, Some(days)) => Some(Timing::AfterPrevious(days)),
            _ => None,
        }
    }

    /// True if the step is taken for a debtor of this kind (`only_for`; a company final notice
    /// only for companies).
    pub fn applies_to(&self, kind: PartyKind) -> bool {
        let company_only = matches!(self.action, StepAction::CompanyFinalNotice { .. });
        self.only_for.is_none_or(|only| only == kind)
            && (!company_only || kind == PartyKind::Company)
    }

    /// A reminder that carries a fee.
    pub fn carries_fee(&self) -> bool {
        matches!(self.action, StepAction::Reminder { fee: true, .. })
    }

    /// A step whose letter is the written notice of transfer.
    pub fn gives_transfer_notice(&self) -> bool {
        matches!(
            self.action,
            StepAction::Reminder {
                transfer_notice: true,
                ..
            } | StepAction::TransferNotice { .. }
                | StepAction::CompanyFinalNotice { .. }
        )
    }

    /// A step of the supply-closure track (notice or suspension).
    pub fn is_supply_step(&self) -> bool {
        matches!(
            self.action,
            StepAction::SupplySuspensionNotice | StepAction::SupplySuspension { .. }
        )
    }

    /// A hard step: one that the special-consideration gate holds back until a meeting was
    /// offered — a fee, a notice of transfer, the transfer itself, supply notice or suspension.
    pub fn is_hard(&self) -> bool {
        self.carries_fee()
            || self.gives_transfer_notice()
            || self.is_supply_step()
            || matches!(self.action, StepAction::Transfer { .. })
    }

    /// A step that sends a reminder letter (`reminder`).
    pub fn is_reminder(&self) -> bool {
        matches!(self.action, StepAction::Reminder { .. })
    }
}

/// Default interest (morarente / forsinkelsesrente).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum InterestRule {
    /// Danish municipal claims: `rate_percent` of the open principal for each started month
    /// after the due date.
    MonthlyStarted {
        /// Percent per started month, e.g. `"1"`.
        rate_percent: Decimal,
    },
    /// Renteloven / Norway's forsinkelsesrente: (reference + margin) percent a year, per day.
    AnnualOverReference {
        /// The reference rate (Nationalbanken's lending rate, Norges Bank's policy rate); may be
        /// negative as long as the total is positive. A change is a new policy version.
        reference_rate_percent: Decimal,
        /// The margin, e.g. `"8"`.
        margin_percent: Decimal,
    },
    /// No default interest.
    None,
}

impl InterestRule {
    /// The rate in percent per its unit, or `None` for [`InterestRule::None`].
    pub fn rate_percent(&self) -> Option<(Decimal, RateUnit)> {
        match *self {
            InterestRule::MonthlyStarted { rate_percent } => {
                Some((rate_percent, RateUnit::PerStartedMonth))
            }
            InterestRule::AnnualOverReference {
                reference_rate_percent,
                margin_percent,
            } => reference_rate_percent
                .checked_add(margin_percent)
                .map(|rate| (rate, RateUnit::PerYear)),
            InterestRule::None => None,
        }
    }
}

/// Which policy a municipality uses for which category.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    /// The policy for every category not listed in `categories`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// Category key → policy id.
    #[serde(default)]
    pub categories: BTreeMap<String, String>,
}

/// Everything the decision needs for one claim on one date.
#[derive(Debug, Clone, Copy)]
pub struct Resolved<'a> {
    /// The policy id.
    pub policy_id: &'a str,
    /// The policy with all its versions (interest uses the version in force in each period).
    pub policy: &'a Policy,
    /// The version in force on the date.
    pub version: &'a PolicyVersion,
    /// The policy's jurisdiction.
    pub jurisdiction: &'a Jurisdiction,
    /// The jurisdiction's table in force on the date.
    pub table: &'a LegalTable,
}

impl Resolved<'_> {
    /// The id and version to record with a decision.
    pub fn policy_ref(&self) -> PolicyRef {
        PolicyRef {
            id: self.policy_id.to_owned(),
            version: self.version.version,
        }
    }
}

impl Policies {
    /// The id of the policy `municipality` uses for `category`: the category's own, else the
    /// municipality's default.
    pub fn policy_id_for(&self, municipality: &str, category: &str) -> Option<&str> {
        let assignment = self.municipalities.get(municipality)?;
        assignment
            .categories
            .get(category)
            .or(assignment.default.as_ref())
            .map(String::as_str)
    }

    /// The policy, version, jurisdiction and legal table for a claim of `category` in
    /// `municipality` on `date`, or why there is none.
    pub fn resolve(
        &self,
        municipality: &str,
        category: &str,
        date: BusinessDate,
    ) -> Result<Resolved<'_>, String> {
        let policy_id = self.policy_id_for(municipality, category).ok_or_else(|| {
            format!("no dunning policy for category {category:?} in municipality {municipality}")
        })?;
        let policy = self
            .policies
            .get(policy_id)
            .ok_or_else(|| format!("policy {policy_id:?} is not configured"))?;
        let version = policy
            .version_on(date)
            .ok_or_else(|| format!("policy {policy_id:?} has no version in force on {date}"))?;
        let jurisdiction = self
            .jurisdictions
            .get(&policy.jurisdiction)
            .ok_or_else(|| {
                format!(
                    "jurisdiction {:?} of policy {policy_id:?} is not configured",
                    policy.jurisdiction
                )
            })?;
        let table = jurisdiction.table_on(date).ok_or_else(|| {
            format!(
                "jurisdiction {:?} has no legal table in force on {date}",
                policy.jurisdiction
            )
        })?;
        Ok(Resolved {
            policy_id,
            policy,
            version,
            jurisdiction,
            table,
        })
    }

    /// The first date after `date` on which the version or legal table that applies to
    /// `category` in `municipality` changes (a new one takes effect), if any.
    pub fn next_change_after(
        &self,
        municipality: &str,
        category: &str,
        date: BusinessDate,
    ) -> Option<BusinessDate> {
        let policy = self
            .policies
            .get(self.policy_id_for(municipality, category)?)?;
        let next_version = policy
            .versions
            .iter()
            .map(|v| v.effective_from)
            .filter(|from| *from > date)
            .min();
        let next_table = self.jurisdictions.get(&policy.jurisdiction).and_then(|j| {
            j.tables
                .iter()
                .map(|t| t.effective_from)
                .filter(|from| *from > date)
                .min()
        });
        next_version.into_iter().chain(next_table).min()
    }

    /// Every problem in the configuration, each as `dunning.<path>: <what is wrong>`, checked
    /// against the municipality catalog when one is given (categories, countries, flags).
    /// `Ok(())` means the service may start.
    pub fn validate(&self, catalog: Option<&restance_kernel::Catalog>) -> Result<(), Vec<String>> {
        let problems = validate::problems(self, catalog);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

impl Policy {
    /// The version in force on `date`: the latest `effective_from` on or before it.
    pub fn version_on(&self, date: BusinessDate) -> Option<&PolicyVersion> {
        self.versions
            .iter()
            .filter(|v| v.effective_from <= date)
            .max_by_key(|v| (v.effective_from, v.version))
    }

    /// True if any version has a supply suspension step.
    pub fn has_supply_steps(&self) -> bool {
        self.versions
            .iter()
            .any(|v| v.steps.iter().any(Step::is_supply_step))
    }
}

impl Jurisdiction {
    /// The legal table in force on `date`.
    pub fn table_on(&self, date: BusinessDate) -> Option<&LegalTable> {
        self.tables
            .iter()
            .filter(|t| t.effective_from <= date)
            .max_by_key(|t| t.effective_from)
    }
}

impl LegalTable {
    /// The cap per reminder letter: the lower of `fee_cap` and a tenth of `collection_rate`
    /// (rounded down to øre), or `None` when neither is configured.
    pub fn cap(&self) -> Option<Money> {
        let from_rate = self.collection_rate.and_then(|rate| {
            let tenth = (rate.as_decimal() / Decimal::TEN)
                .round_dp_with_strategy(2, RoundingStrategy::ToZero);
            Money::from_decimal(tenth).ok()
        });
        match (self.fee_cap, from_rate) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The fee to charge: the configured fee, never above the cap; `None` when no positive fee
    /// can be charged (no cap configured, or a fee of zero).
    pub fn fee_amount(&self) -> Option<Money> {
        let amount = self.fee.min(self.cap()?);
        amount.is_positive().then_some(amount)
    }
}

#[cfg(test)]
mod tests;
