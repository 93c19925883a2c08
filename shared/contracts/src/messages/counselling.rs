//! Debt counselling (seed 003, Norway's gjeldsrådgivning): the application from the
//! municipality's self-service form, and the counselling service's case events.
//!
//! The case events carry case and applicant ids, never a national id or an address: reporting
//! and other consumers count cases, they do not need to know who. The application carries the
//! applicant in full (like an invoice's debtor) and is routed to the counselling service only.

use restance_kernel::{BusinessDate, Language, Money, NationalId, PartyKind, Redacted};
use serde::{Deserialize, Serialize};

use crate::check::Problems;
use crate::messages::party::{Address, AddressProtection};
use crate::{Message, Problem, Validate};

/// How an application came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationChannel {
    /// The municipality's web form (the case opens automatically).
    Web,
    /// A paper form registered by the document centre.
    Paper,
    /// Handed in at drop-in, with help: the applicant gets the meeting invitation with
    /// information instead of the reply letter.
    DropIn,
}

impl ApplicationChannel {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            ApplicationChannel::Web => "web",
            ApplicationChannel::Paper => "paper",
            ApplicationChannel::DropIn => "drop_in",
        }
    }
}

/// The applicant as the form gives them: the debtor block of an invoice, except that the
/// national id may be missing (the counsellor finds it; the case goes to the fallback
/// counsellor meanwhile).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applicant {
    /// The municipality's id for the person (the form system's or the archive's), e.g. `P-4711`.
    pub id: String,
    /// Fødselsnummer, D-number or CPR, if given: check digits verified when read (personal data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub national_id: Option<Redacted<NationalId>>,
    /// Full name (personal data).
    pub name: Redacted<String>,
    /// Postal address (personal data; see `address_protection`).
    pub address: Address,
    /// E-mail address, if given (personal data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Redacted<String>>,
    /// Mobile number in E.164 form, if given (personal data): the meeting SMS go here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<Redacted<String>>,
    /// Preferred language for letters; absent means the municipality's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<Language>,
    /// Whether letters go to the digital mailbox (false: reserved against digital post).
    pub digital_post: bool,
    /// Address protection from the population register (code 6 / code 7). Required: a missing
    /// value must never mean `none`.
    pub address_protection: AddressProtection,
}

/// The answers on the form that decide the first review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationAnswers {
    /// Whether the applicant reported an income (no income is an unclarified matter: the
    /// counsellor calls first).
    pub income_reported: bool,
    /// Adults in the household (at least 1).
    pub household_adults: u32,
    /// Children in the household.
    pub household_children: u32,
    /// Consent to fetch the applicant's data from the debt-collection register
    /// (Inkassoregisteret): voluntary, and no bearing on the advice.
    pub debt_register_consent: bool,
    /// Net income per month, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_income: Option<Money>,
    /// Necessary expenses per month, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_expenses: Option<Money>,
}

/// `selfservice.counselling.applied.v1`: a citizen applied for debt counselling on the
/// municipality's web form. The natural key is `application_id`: the same application twice
/// opens one case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounsellingApplied {
    /// The form system's id for the application.
    pub application_id: String,
    /// The municipality applied to.
    pub municipality: String,
    /// How it came in.
    pub channel: ApplicationChannel,
    /// The date it was submitted.
    pub applied_date: BusinessDate,
    /// Who applies.
    pub applicant: Applicant,
    /// The answers that matter.
    pub answers: ApplicationAnswers,
}

impl Message for CounsellingApplied {
    const TYPE: &'static str = "selfservice.counselling.applied.v1";
}

/// The most adults a household may report (a typo guard).
const MAX_HOUSEHOLD: u32 = 50;

impl Applicant {
    /// Checks the block found at `at` (e.g. `data.applicant`).
    pub(crate) fn check_at(&self, p: &mut Problems, at: &str) {
        p.id(&format!("{at}.id"), &self.id);
        if let Some(id) = &self.national_id
            && id.expose().party_kind() != PartyKind::Person
        {
            p.add(
                format!("{at}.national_id"),
                "is not a valid national id for a person (fødselsnummer, D-number or CPR)",
            );
        }
        p.text(&format!("{at}.name"), self.name.expose());
        self.address.check(p, &format!("{at}.address"));
        if let Some(email) = &self.email {
            p.email(&format!("{at}.email"), email.expose());
        }
        if let Some(phone) = &self.phone {
            p.phone(&format!("{at}.phone"), phone.expose());
        }
    }
}

impl ApplicationAnswers {
    /// Checks the answers found at `at`.
    pub(crate) fn check_at(&self, p: &mut Problems, at: &str) {
        if self.household_adults == 0 || self.household_adults > MAX_HOUSEHOLD {
            p.add(
                format!("{at}.household_adults"),
                format!("must be between 1 and {MAX_HOUSEHOLD}"),
            );
        }
        if self.household_children > MAX_HOUSEHOLD {
            p.add(
                format!("{at}.household_children"),
                format!("must be at most {MAX_HOUSEHOLD}"),
            );
        }
        if let Some(m) = self.monthly_income {
            p.not_negative(&format!("{at}.monthly_income"), m);
        }
        if let Some(m) = self.monthly_expenses {
            p.not_negative(&format!("{at}.monthly_expenses"), m);
        }
    }
}

impl Validate for CounsellingApplied {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.application_id", &self.application_id);
        p.id("data.municipality", &self.municipality);
        self.applicant.check_at(&mut p, "data.applicant");
        self.answers.check_at(&mut p, "data.answers");
        p.into_vec()
    }
}

/// Why a counselling case closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// The advice the applicant needed was given (after the first meeting or later).
    AdviceGiven,
    /// The debt was mapped, the schedule sent and the work is done.
    Completed,
    /// Matters stayed unclarified.
    Unclarified,
    /// Not suitable for debt counselling (the applicant was guided elsewhere).
    NotSuitable,
    /// No contact: calls, then an SMS, then no word within the deadline.
    NoContact,
    /// No follow-up after a warning of closure.
    NoFollowUp,
    /// The applicant withdrew the application.
    Withdrawn,
}

impl CloseReason {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            CloseReason::AdviceGiven => "advice_given",
            CloseReason::Completed => "completed",
            CloseReason::Unclarified => "unclarified",
            CloseReason::NotSuitable => "not_suitable",
            CloseReason::NoContact => "no_contact",
            CloseReason::NoFollowUp => "no_follow_up",
            CloseReason::Withdrawn => "withdrawn",
        }
    }

    /// Every reason, in the wire order.
    pub const ALL: [CloseReason; 7] = [
        CloseReason::AdviceGiven,
        CloseReason::Completed,
        CloseReason::Unclarified,
        CloseReason::NotSuitable,
        CloseReason::NoContact,
        CloseReason::NoFollowUp,
        CloseReason::Withdrawn,
    ];

    /// The reason named `s`.
    pub fn parse(s: &str) -> Option<CloseReason> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// `counselling.case.opened.v1`: a counselling case opened from an application and was
/// assigned. The natural key is `case_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseOpened {
    /// The counselling service's case id.
    pub case_id: String,
    /// The application it opened from.
    pub application_id: String,
    /// The municipality.
    pub municipality: String,
    /// The applicant's id (`applicant.id` of the application): no national id, no address.
    pub applicant_id: String,
    /// The counsellor it was assigned to (the configured id, e.g. `EG`).
    pub counsellor: String,
    /// How the application came in.
    pub channel: ApplicationChannel,
    /// The business date it opened.
    pub opened_date: BusinessDate,
    /// The applicant's earlier case, if any ("new information?").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_case_id: Option<String>,
}

impl Message for CaseOpened {
    const TYPE: &'static str = "counselling.case.opened.v1";
}

impl Validate for CaseOpened {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.case_id", &self.case_id);
        p.id("data.application_id", &self.application_id);
        p.id("data.municipality", &self.municipality);
        p.id("data.applicant_id", &self.applicant_id);
        p.id("data.counsellor", &self.counsellor);
        if let Some(prev) = &self.previous_case_id {
            p.id("data.previous_case_id", prev);
        }
        p.into_vec()
    }
}

/// `counselling.case.closed.v1`: a counselling case closed. `work_ended_date` is when the
/// closing letters went out and the power of attorney ended; `closed_date` when the case itself
/// closed (the same day, or two months later when creditors had been written to). The natural
/// key is `case_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseClosed {
    /// The counselling service's case id.
    pub case_id: String,
    /// The municipality.
    pub municipality: String,
    /// The applicant's id: no national id, no address.
    pub applicant_id: String,
    /// The counsellor who had it.
    pub counsellor: String,
    /// Why it closed.
    pub reason: CloseReason,
    /// When the work ended (closing letters sent, power of attorney ended).
    pub work_ended_date: BusinessDate,
    /// When the case closed.
    pub closed_date: BusinessDate,
}

impl Message for CaseClosed {
    const TYPE: &'static str = "counselling.case.closed.v1";
}

impl Validate for CaseClosed {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.case_id", &self.case_id);
        p.id("data.municipality", &self.municipality);
        p.id("data.applicant_id", &self.applicant_id);
        p.id("data.counsellor", &self.counsellor);
        p.not_before(
            "data.closed_date",
            self.closed_date,
            self.work_ended_date,
            "work_ended_date",
        );
        p.into_vec()
    }
}

/// `counselling.dunning.held.v1`: while a counselling case is active, the municipality's own
/// dunning of the applicant (as invoicing's debtor `debtor_id`) is held, where the municipality
/// configured it. Dunning keeps a `counselling` hold from `from_date` without end. The natural
/// key is (`case_id`, `debtor_id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DunningHeld {
    /// The counselling case.
    pub case_id: String,
    /// The municipality.
    pub municipality: String,
    /// Invoicing's (the upstream) debtor id of the applicant.
    pub debtor_id: String,
    /// The first business date held.
    pub from_date: BusinessDate,
}

impl Message for DunningHeld {
    const TYPE: &'static str = "counselling.dunning.held.v1";
}

/// `counselling.dunning.released.v1`: the case's work ended: its hold on the debtor's dunning
/// ends the day before `released_date`. The natural key is (`case_id`, `debtor_id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DunningReleased {
    /// The counselling case.
    pub case_id: String,
    /// The municipality.
    pub municipality: String,
    /// Invoicing's debtor id of the applicant.
    pub debtor_id: String,
    /// The first business date no longer held.
    pub released_date: BusinessDate,
}

impl Message for DunningReleased {
    const TYPE: &'static str = "counselling.dunning.released.v1";
}

impl Validate for DunningHeld {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.case_id", &self.case_id);
        p.id("data.municipality", &self.municipality);
        p.id("data.debtor_id", &self.debtor_id);
        p.into_vec()
    }
}

impl Validate for DunningReleased {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.case_id", &self.case_id);
        p.id("data.municipality", &self.municipality);
        p.id("data.debtor_id", &self.debtor_id);
        p.into_vec()
    }
}
