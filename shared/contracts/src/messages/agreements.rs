//! From our agreements service: payment plans, deferrals (henstand) and meetings (sættemøder).
//! Dunning holds a debtor's claims while one of them is in force; a defaulted plan counts as a
//! broken agreement.

use chrono::{DateTime, Utc};
use restance_kernel::{BusinessDate, Currency, Language, Money};
use serde::{Deserialize, Serialize};

use crate::check::{Problems, ReferenceScheme};
use crate::{Message, Problem, Validate};

/// How many claims one agreement may cover.
const MAX_CLAIMS: usize = 500;
/// How many instalments one plan may have.
const MAX_INSTALMENTS: usize = 600;

/// The parties and claims every agreement event names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgreementScope {
    /// Municipality code.
    pub municipality: String,
    /// The upstream debtor id.
    pub debtor_id: String,
    /// The claims covered (invoicing's claim ids); empty = every open claim of the debtor.
    #[serde(default)]
    pub claim_ids: Vec<String>,
}

impl AgreementScope {
    fn check(&self, p: &mut Problems) {
        p.id("data.municipality", &self.municipality);
        p.id("data.debtor_id", &self.debtor_id);
        if self.claim_ids.len() > MAX_CLAIMS {
            p.add(
                "data.claim_ids",
                format!("must list at most {MAX_CLAIMS} claims"),
            );
        }
        for (i, id) in self.claim_ids.iter().enumerate() {
            p.id(&format!("data.claim_ids[{i}]"), id);
        }
    }
}

/// One instalment of a payment plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instalment {
    /// When it is due.
    pub due_date: BusinessDate,
    /// How much, greater than zero.
    pub amount: Money,
}

/// `agreements.plan.created.v1`: a payment plan (afdragsordning) was agreed. It is an
/// acknowledgement of the debt (limitation restarts) and a hold on dunning while kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanCreated {
    /// The plan's id.
    pub plan_id: String,
    /// Debtor, municipality, claims.
    #[serde(flatten)]
    pub scope: AgreementScope,
    /// The business date it was agreed (signed).
    pub created_date: BusinessDate,
    /// The currency of the claims.
    pub currency: Currency,
    /// The sum of the instalments.
    pub total: Money,
    /// The schedule, in date order.
    pub instalments: Vec<Instalment>,
    /// The plan's own payment reference (the 15-digit FI-kort +71 payment id in Denmark and
    /// Greenland, a KID in Norway). Invoicing allocates a payment carrying it to the covered
    /// claims, oldest first. Absent: payments are matched by the claims' own references.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_reference: Option<String>,
    /// 1 for a new plan; a caseworker's revision (new instalment or term) publishes the plan again
    /// with the same `plan_id`, the next revision and the whole new schedule, which replaces the
    /// earlier one. Absent reads as 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<u32>,
    /// What kind of agreement: a payment plan, or an assignment of a future receivable
    /// (transport) published as a plan with one instalment (the expected amount on the expected
    /// date). Absent reads as `plan`; consumers that do not care treat both alike (the claims
    /// are held, a missed date is a default, a payment on the reference settles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<AgreementKind>,
    /// For an assignment: the receivable assigned. Present exactly when `kind` is `assignment`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignment: Option<AssignedReceivable>,
}

/// The kind of agreement a `agreements.plan.created.v1` carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgreementKind {
    /// A payment plan (afdragsordning).
    Plan,
    /// An assignment of a future receivable (transport i et fremtidigt tilgodehavende).
    Assignment,
}

/// The future receivable a citizen assigned to cover claims (seed 002, "transport").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignedReceivable {
    /// What it is, e.g. `tax refund 2026` or `holiday pay`: no personal data.
    pub source: String,
}

impl PlanCreated {
    /// The kind, absent read as a plan.
    pub fn kind(&self) -> AgreementKind {
        self.kind.unwrap_or(AgreementKind::Plan)
    }
}

impl Message for PlanCreated {
    const TYPE: &'static str = "agreements.plan.created.v1";
}

impl Validate for PlanCreated {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.plan_id", &self.plan_id);
        self.scope.check(&mut p);
        p.positive("data.total", self.total);
        if self.instalments.is_empty() {
            p.add("data.instalments", "must have at least one instalment");
        }
        if self.instalments.len() > MAX_INSTALMENTS {
            p.add(
                "data.instalments",
                format!("must have at most {MAX_INSTALMENTS} instalments"),
            );
        }
        for (i, instalment) in self.instalments.iter().enumerate() {
            p.positive(&format!("data.instalments[{i}].amount"), instalment.amount);
        }
        if self
            .instalments
            .windows(2)
            .any(|w| w[1].due_date < w[0].due_date)
        {
            p.add("data.instalments", "must be in due-date order");
        }
        if let Some(first) = self.instalments.first() {
            p.not_before(
                "data.instalments[0].due_date",
                first.due_date,
                self.created_date,
                "created_date",
            );
        }
        p.sum_equals(
            "data.total",
            self.total,
            self.instalments.iter().map(|i| i.amount),
            "the instalments",
        );
        if let Some(reference) = &self.payment_reference {
            p.reference_key(
                "data.payment_reference",
                ReferenceScheme::for_currency(self.currency),
                reference,
            );
        }
        if self.revision == Some(0) {
            p.add("data.revision", "must be 1 or more");
        }
        match (self.kind(), &self.assignment) {
            (AgreementKind::Assignment, None) => {
                p.add("data.assignment", "an assignment names its receivable");
            }
            (AgreementKind::Assignment, Some(a)) => {
                p.text("data.assignment.source", &a.source);
                if self.instalments.len() != 1 {
                    p.add(
                        "data.instalments",
                        "an assignment has exactly one instalment: the expected amount on the expected date",
                    );
                }
            }
            (AgreementKind::Plan, Some(_)) => {
                p.add("data.assignment", "only an assignment names a receivable");
            }
            (AgreementKind::Plan, None) => {}
        }
        p.into_vec()
    }
}

/// `agreements.plan.defaulted.v1`: the debtor broke the plan (an instalment unpaid past its grace
/// period). Dunning resumes and counts it as a broken agreement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanDefaulted {
    /// The plan's id.
    pub plan_id: String,
    /// Debtor, municipality, claims.
    #[serde(flatten)]
    pub scope: AgreementScope,
    /// The business date the default was established.
    pub defaulted_date: BusinessDate,
    /// Why, e.g. `instalment of 2027-02-01 unpaid after 14 days`.
    pub reason: String,
}

impl Message for PlanDefaulted {
    const TYPE: &'static str = "agreements.plan.defaulted.v1";
}

impl Validate for PlanDefaulted {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.plan_id", &self.plan_id);
        self.scope.check(&mut p);
        p.text("data.reason", &self.reason);
        p.into_vec()
    }
}

/// `agreements.plan.completed.v1`: every instalment is paid (or the plan was ended by agreement).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanCompleted {
    /// The plan's id.
    pub plan_id: String,
    /// Debtor, municipality, claims.
    #[serde(flatten)]
    pub scope: AgreementScope,
    /// The business date it ended.
    pub completed_date: BusinessDate,
    /// Why it ended: `paid` (every covered claim settled) or `cancelled` (a caseworker ended it by
    /// agreement — not a broken agreement). Absent reads as `paid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<PlanEndReason>,
}

/// Why a payment plan ended without a default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanEndReason {
    /// Every covered claim is settled.
    Paid,
    /// A caseworker cancelled the plan by agreement with the debtor.
    Cancelled,
}

impl Message for PlanCompleted {
    const TYPE: &'static str = "agreements.plan.completed.v1";
}

impl Validate for PlanCompleted {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.plan_id", &self.plan_id);
        self.scope.check(&mut p);
        p.into_vec()
    }
}

/// `agreements.deferral.granted.v1`: a deferral (henstand) — no dunning until `until`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeferralGranted {
    /// The deferral's id.
    pub deferral_id: String,
    /// Debtor, municipality, claims.
    #[serde(flatten)]
    pub scope: AgreementScope,
    /// First day of the deferral.
    pub from: BusinessDate,
    /// Last day of the deferral (not before `from`).
    pub until: BusinessDate,
    /// The caseworker's reason, e.g. `acute social situation`.
    pub reason: String,
}

impl Message for DeferralGranted {
    const TYPE: &'static str = "agreements.deferral.granted.v1";
}

impl Validate for DeferralGranted {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.deferral_id", &self.deferral_id);
        self.scope.check(&mut p);
        p.not_before("data.until", self.until, self.from, "from");
        p.text("data.reason", &self.reason);
        p.into_vec()
    }
}

/// Why a deferral ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeferralEndReason {
    /// Its last day passed.
    Expired,
    /// A caseworker ended it early.
    Revoked,
    /// It was replaced by a payment plan.
    ReplacedByPlan,
}

/// `agreements.deferral.ended.v1`: a deferral ended; dunning resumes from `ended_date`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeferralEnded {
    /// The deferral's id.
    pub deferral_id: String,
    /// Debtor, municipality, claims.
    #[serde(flatten)]
    pub scope: AgreementScope,
    /// The business date it ended.
    pub ended_date: BusinessDate,
    /// Why.
    pub reason: DeferralEndReason,
}

impl Message for DeferralEnded {
    const TYPE: &'static str = "agreements.deferral.ended.v1";
}

impl Validate for DeferralEnded {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.deferral_id", &self.deferral_id);
        self.scope.check(&mut p);
        p.into_vec()
    }
}

/// `agreements.meeting.scheduled.v1`: a meeting (sættemøde) with the debtor is booked; dunning
/// holds until it is held or missed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingScheduled {
    /// The meeting's id.
    pub meeting_id: String,
    /// Debtor, municipality, claims.
    #[serde(flatten)]
    pub scope: AgreementScope,
    /// The office holding it.
    pub office: String,
    /// When it starts.
    pub starts_at: DateTime<Utc>,
    /// The business date of the meeting.
    pub date: BusinessDate,
    /// Where (an address of the office, a settlement visit, by phone).
    pub place: String,
    /// The social caseworker takes part (joint meeting).
    #[serde(default)]
    pub with_social_caseworker: bool,
    /// An interpreter is needed, for this language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interpreter: Option<Language>,
}

impl Message for MeetingScheduled {
    const TYPE: &'static str = "agreements.meeting.scheduled.v1";
}

impl Validate for MeetingScheduled {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.meeting_id", &self.meeting_id);
        self.scope.check(&mut p);
        p.id("data.office", &self.office);
        p.text("data.place", &self.place);
        if self.starts_at.date_naive() != chrono::NaiveDate::from(self.date)
            && self.starts_at.date_naive().succ_opt() != Some(self.date.into())
            && self.starts_at.date_naive().pred_opt() != Some(self.date.into())
        {
            p.add("data.date", "must be the (local) date of starts_at");
        }
        p.into_vec()
    }
}

/// `agreements.meeting.held.v1`: the meeting took place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingHeld {
    /// The meeting's id.
    pub meeting_id: String,
    /// Debtor, municipality, claims.
    #[serde(flatten)]
    pub scope: AgreementScope,
    /// The business date it was held.
    pub held_date: BusinessDate,
    /// A short outcome (`plan agreed`, `deferral granted`, `no agreement`), no personal data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
}

impl Message for MeetingHeld {
    const TYPE: &'static str = "agreements.meeting.held.v1";
}

impl Validate for MeetingHeld {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.meeting_id", &self.meeting_id);
        self.scope.check(&mut p);
        if let Some(outcome) = &self.outcome {
            p.text("data.outcome", outcome);
        }
        p.into_vec()
    }
}

/// `agreements.meeting.missed.v1`: the debtor did not come; dunning resumes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingMissed {
    /// The meeting's id.
    pub meeting_id: String,
    /// Debtor, municipality, claims.
    #[serde(flatten)]
    pub scope: AgreementScope,
    /// The business date of the missed meeting.
    pub date: BusinessDate,
}

impl Message for MeetingMissed {
    const TYPE: &'static str = "agreements.meeting.missed.v1";
}

impl Validate for MeetingMissed {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.meeting_id", &self.meeting_id);
        self.scope.check(&mut p);
        p.into_vec()
    }
}

/// `agreements.claim.released.v1`: the social caseworker released claims held at the
/// special-consideration gate: dunning may go on with fees and transfer.
///
/// The answer to `dunning.caseworker.alerted.v1` (social-caseworker categories such as daycare
/// and family): a caseworker's release, with a reason, is one of the gate's openers beside a held
/// meeting, a payment plan and a deferral. Natural key: `release_id` (deterministic, e.g. from
/// `alert_id`: one alert is released once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimReleased {
    /// The release's id, deterministic (e.g. from `alert_id`).
    pub release_id: String,
    /// Debtor, municipality, claims (never empty: a release names the claims it frees).
    #[serde(flatten)]
    pub scope: AgreementScope,
    /// The alert answered, when the release answers one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_id: Option<String>,
    /// The business date of the release.
    pub released_date: BusinessDate,
    /// The caseworker's reason, no personal data.
    pub reason: String,
    /// The caseworker's user id.
    pub released_by: String,
}

impl Message for ClaimReleased {
    const TYPE: &'static str = "agreements.claim.released.v1";
}

impl Validate for ClaimReleased {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.release_id", &self.release_id);
        self.scope.check(&mut p);
        if self.scope.claim_ids.is_empty() {
            p.add("data.claim_ids", "must name at least one claim");
        }
        if let Some(alert_id) = &self.alert_id {
            p.id("data.alert_id", alert_id);
        }
        p.text("data.reason", &self.reason);
        p.id("data.released_by", &self.released_by);
        p.into_vec()
    }
}

/// Any of the agreements service's events, for a consumer that handles them alike (dunning's
/// holds, reporting's claim states).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgreementEvent {
    /// `agreements.plan.created.v1`.
    PlanCreated(PlanCreated),
    /// `agreements.plan.defaulted.v1`.
    PlanDefaulted(PlanDefaulted),
    /// `agreements.plan.completed.v1`.
    PlanCompleted(PlanCompleted),
    /// `agreements.deferral.granted.v1`.
    DeferralGranted(DeferralGranted),
    /// `agreements.deferral.ended.v1`.
    DeferralEnded(DeferralEnded),
    /// `agreements.meeting.scheduled.v1`.
    MeetingScheduled(MeetingScheduled),
    /// `agreements.meeting.held.v1`.
    MeetingHeld(MeetingHeld),
    /// `agreements.meeting.missed.v1`.
    MeetingMissed(MeetingMissed),
}

impl AgreementEvent {
    /// The debtor and claims it concerns.
    pub fn scope(&self) -> &AgreementScope {
        match self {
            AgreementEvent::PlanCreated(e) => &e.scope,
            AgreementEvent::PlanDefaulted(e) => &e.scope,
            AgreementEvent::PlanCompleted(e) => &e.scope,
            AgreementEvent::DeferralGranted(e) => &e.scope,
            AgreementEvent::DeferralEnded(e) => &e.scope,
            AgreementEvent::MeetingScheduled(e) => &e.scope,
            AgreementEvent::MeetingHeld(e) => &e.scope,
            AgreementEvent::MeetingMissed(e) => &e.scope,
        }
    }
}
