//! The request bodies and query strings of the API, read exactly as `openapi.yaml` describes
//! them: a body that does not match its schema (unknown field, wrong type, missing field, a
//! string too long, a date that is not `YYYY-MM-DD` …) is a 400 with every problem and its path;
//! a body that matches but cannot be used (an unknown municipality, a date in the past) is
//! refused later by the operation (422, 404, 409).
//!
//! Optional fields may be absent or `null` (both mean "not given"); the three ways to size a
//! plan (`instalment`, `number_of_instalments`, `budget`) may not be `null`, and exactly one of
//! them must be given.

use chrono::{DateTime, Utc};
use restance_contracts::Problem;
use restance_kernel::{BusinessDate, Language, Money};
use serde::de::{DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::Number;

use crate::deferrals::NewDeferral;
use crate::domain::{Budget, DeferralReason, Frequency, MAX_INSTALMENTS, MeetingResult, Sizing};
use crate::meetings::{NewMeeting, Outcome};
use crate::plans::{AssignmentTerms, NewPlan, Revision};

/// Longest id (municipality, debtor, claim, path ids): the contract's limit.
pub const MAX_ID: usize = restance_runtime::api::MAX_ID;
/// Most claims in one request: the contract's limit.
pub const MAX_CLAIMS: usize = 500;
/// Longest note.
pub const MAX_NOTE: usize = 2000;
/// Longest reason or place (one line).
pub const MAX_LINE: usize = 1000;

/// Problems found while reading a request: a 400.
#[derive(Debug, Default)]
pub struct Invalid(pub Vec<Problem>);

impl Invalid {
    fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem::new(path, message));
    }
}

/// A field that may be absent but not `null` (`#[serde(default, deserialize_with = "present")]`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// Reads the body as `T`; a JSON or shape error is a 400 naming the field.
pub fn body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Invalid> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        let mut p = Invalid::default();
        p.add("body", "a JSON object is required");
        return Err(p);
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { "body".to_owned() } else { path };
        let mut p = Invalid::default();
        p.add(path, e.inner().to_string());
        p
    })
}

/// An id: 1–100 characters, no whitespace or control characters (the contract's rule, one
/// definition for every service).
pub use restance_runtime::api::valid_id;

fn check_id(p: &mut Invalid, path: &str, id: &str) {
    if !valid_id(id) {
        p.add(
            path,
            "must be 1–100 characters without whitespace or control characters",
        );
    }
}

fn check_claims(p: &mut Invalid, ids: &[String]) {
    if ids.len() > MAX_CLAIMS {
        p.add(
            "claim_ids",
            format!("must list at most {MAX_CLAIMS} claims"),
        );
    }
    for (i, id) in ids.iter().enumerate() {
        check_id(p, &format!("claim_ids[{i}]"), id);
        if ids[..i].contains(id) {
            p.add(format!("claim_ids[{i}]"), "is listed twice");
        }
    }
}

fn check_line(p: &mut Invalid, path: &str, text: &str, max: usize) {
    if text.is_empty() || text.chars().count() > max {
        p.add(path, format!("must be 1–{max} characters"));
    }
}

/// A date `YYYY-MM-DD` that exists.
fn date(p: &mut Invalid, path: &str, text: &str) -> Option<BusinessDate> {
    match text.parse() {
        Ok(d) => Some(d),
        Err(_) => {
            p.add(path, "must be a date YYYY-MM-DD");
            None
        }
    }
}

/// An amount `1234.50`: digits (at most 13), optionally `.` and one or two decimals; never a
/// JSON number, never negative.
fn money(p: &mut Invalid, path: &str, text: &str) -> Option<Money> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let shaped = !int.is_empty()
        && int.len() <= 13
        && int.bytes().all(|b| b.is_ascii_digit())
        && (!text.contains('.') || (1..=2).contains(&frac.len()))
        && frac.bytes().all(|b| b.is_ascii_digit());
    match Money::parse(text) {
        Ok(m) if shaped => Some(m),
        _ => {
            p.add(path, "must be an amount like \"1234.50\" (a string)");
            None
        }
    }
}

/// A whole number; JSON Schema's `integer` also admits `3.0`.
fn integral(n: &Number) -> Option<u64> {
    n.as_u64().or_else(|| {
        n.as_f64()
            .filter(|f| f.is_finite() && *f >= 0.0 && f.fract() == 0.0 && *f <= 1e15)
            .map(|f| f as u64)
    })
}

/// `{monthly_income, monthly_expenses}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetBody {
    monthly_income: String,
    monthly_expenses: String,
}

/// The sizing fields shared by a new plan and a revision.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SizingFields {
    #[serde(default, deserialize_with = "present")]
    instalment: Option<String>,
    #[serde(default, deserialize_with = "present")]
    number_of_instalments: Option<Number>,
    #[serde(default, deserialize_with = "present")]
    budget: Option<BudgetBody>,
}

fn sizing(p: &mut Invalid, f: SizingFields) -> Option<Sizing> {
    let given = usize::from(f.instalment.is_some())
        + usize::from(f.number_of_instalments.is_some())
        + usize::from(f.budget.is_some());
    if given != 1 {
        p.add(
            "body",
            "give exactly one of instalment, number_of_instalments or budget",
        );
        return None;
    }
    if let Some(a) = f.instalment {
        return money(p, "instalment", &a).map(Sizing::Instalment);
    }
    if let Some(n) = f.number_of_instalments {
        return match integral(&n).and_then(|n| u32::try_from(n).ok()) {
            Some(n) if (1..=MAX_INSTALMENTS).contains(&n) => Some(Sizing::Count(n)),
            _ => {
                p.add(
                    "number_of_instalments",
                    format!("must be a whole number from 1 to {MAX_INSTALMENTS}"),
                );
                None
            }
        };
    }
    let b = f.budget?;
    let income = money(p, "budget.monthly_income", &b.monthly_income);
    let expenses = money(p, "budget.monthly_expenses", &b.monthly_expenses);
    Some(Sizing::Budget(Budget {
        monthly_income: income?,
        monthly_expenses: expenses?,
    }))
}

/// `POST /api/v1/plans`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanBody {
    municipality: String,
    debtor_id: String,
    #[serde(default)]
    claim_ids: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    instalment: Option<String>,
    #[serde(default, deserialize_with = "present")]
    number_of_instalments: Option<Number>,
    #[serde(default, deserialize_with = "present")]
    budget: Option<BudgetBody>,
    #[serde(default)]
    frequency: Option<Frequency>,
    first_due_date: String,
    #[serde(default)]
    note: Option<String>,
}

fn check_note(p: &mut Invalid, note: &Option<String>) {
    if let Some(n) = note
        && n.chars().count() > MAX_NOTE
    {
        p.add("note", format!("must be at most {MAX_NOTE} characters"));
    }
}

impl PlanBody {
    /// The plan to create, or every problem.
    pub fn into_plan(self) -> Result<NewPlan, Invalid> {
        let mut p = Invalid::default();
        check_id(&mut p, "municipality", &self.municipality);
        check_id(&mut p, "debtor_id", &self.debtor_id);
        let claim_ids = self.claim_ids.unwrap_or_default();
        check_claims(&mut p, &claim_ids);
        check_note(&mut p, &self.note);
        let sizing = sizing(
            &mut p,
            SizingFields {
                instalment: self.instalment,
                number_of_instalments: self.number_of_instalments,
                budget: self.budget,
            },
        );
        let first = date(&mut p, "first_due_date", &self.first_due_date);
        match (sizing, first) {
            (Some(sizing), Some(first_due_date)) if p.0.is_empty() => Ok(NewPlan {
                municipality: self.municipality,
                debtor_id: self.debtor_id,
                claim_ids,
                sizing,
                frequency: self.frequency.unwrap_or(Frequency::Monthly),
                first_due_date,
                note: self.note,
                assignment: None,
            }),
            _ => Err(p),
        }
    }
}

/// `POST /api/v1/assignments`: an assignment of a future receivable (transport).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignmentBody {
    municipality: String,
    debtor_id: String,
    #[serde(default)]
    claim_ids: Option<Vec<String>>,
    source: String,
    expected_date: String,
    expected_amount: String,
    #[serde(default)]
    note: Option<String>,
}

impl AssignmentBody {
    /// The assignment to record (as a plan of kind `assignment`), or every problem.
    pub fn into_plan(self) -> Result<NewPlan, Invalid> {
        let mut p = Invalid::default();
        check_id(&mut p, "municipality", &self.municipality);
        check_id(&mut p, "debtor_id", &self.debtor_id);
        let claim_ids = self.claim_ids.unwrap_or_default();
        check_claims(&mut p, &claim_ids);
        check_note(&mut p, &self.note);
        if self.source.trim().is_empty()
            || self.source.chars().count() > 200
            || self.source.chars().any(char::is_control)
        {
            p.add(
                "source",
                "must name the receivable in one line of 1–200 characters, e.g. \"tax refund 2026\"",
            );
        }
        let expected = date(&mut p, "expected_date", &self.expected_date);
        let amount = money(&mut p, "expected_amount", &self.expected_amount);
        match (expected, amount) {
            (Some(expected), Some(amount)) if p.0.is_empty() => Ok(NewPlan {
                municipality: self.municipality,
                debtor_id: self.debtor_id,
                claim_ids,
                sizing: Sizing::Count(1),
                frequency: Frequency::Monthly,
                first_due_date: expected,
                note: self.note,
                assignment: Some(AssignmentTerms {
                    source: self.source.trim().to_owned(),
                    expected_amount: amount,
                }),
            }),
            _ => Err(p),
        }
    }
}

/// `POST /api/v1/plans/{id}/revise`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviseBody {
    #[serde(default, deserialize_with = "present")]
    instalment: Option<String>,
    #[serde(default, deserialize_with = "present")]
    number_of_instalments: Option<Number>,
    #[serde(default, deserialize_with = "present")]
    budget: Option<BudgetBody>,
    #[serde(default)]
    frequency: Option<Frequency>,
    first_due_date: String,
    #[serde(default)]
    note: Option<String>,
}

impl ReviseBody {
    /// The revision, or every problem.
    pub fn into_revision(self) -> Result<Revision, Invalid> {
        let mut p = Invalid::default();
        check_note(&mut p, &self.note);
        let sizing = sizing(
            &mut p,
            SizingFields {
                instalment: self.instalment,
                number_of_instalments: self.number_of_instalments,
                budget: self.budget,
            },
        );
        let first = date(&mut p, "first_due_date", &self.first_due_date);
        match (sizing, first) {
            (Some(sizing), Some(first_due_date)) if p.0.is_empty() => Ok(Revision {
                sizing,
                frequency: self.frequency,
                first_due_date,
                note: self.note,
            }),
            _ => Err(p),
        }
    }
}

/// `{reason}` for cancelling a plan or ending a deferral.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    reason: String,
}

impl ReasonBody {
    /// The reason (one line), or the problem.
    pub fn into_reason(self) -> Result<String, Invalid> {
        let mut p = Invalid::default();
        check_line(&mut p, "reason", &self.reason, MAX_LINE);
        if p.0.is_empty() {
            Ok(self.reason)
        } else {
            Err(p)
        }
    }
}

/// `POST /api/v1/deferrals`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeferralBody {
    municipality: String,
    debtor_id: String,
    #[serde(default)]
    claim_ids: Option<Vec<String>>,
    reason: DeferralReason,
    #[serde(default)]
    until: Option<String>,
    #[serde(default)]
    review_date: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

impl DeferralBody {
    /// The deferral to grant, or every problem.
    pub fn into_deferral(self) -> Result<NewDeferral, Invalid> {
        let mut p = Invalid::default();
        check_id(&mut p, "municipality", &self.municipality);
        check_id(&mut p, "debtor_id", &self.debtor_id);
        let claim_ids = self.claim_ids.unwrap_or_default();
        check_claims(&mut p, &claim_ids);
        check_note(&mut p, &self.note);
        let until = self.until.as_deref().and_then(|t| date(&mut p, "until", t));
        let review = self
            .review_date
            .as_deref()
            .and_then(|t| date(&mut p, "review_date", t));
        if self.until.is_none() && self.review_date.is_none() {
            p.add("until", "give until, review_date or both");
        }
        if !p.0.is_empty() {
            return Err(p);
        }
        Ok(NewDeferral {
            municipality: self.municipality,
            debtor_id: self.debtor_id,
            claim_ids,
            reason: self.reason,
            until,
            review_date: review,
            note: self.note,
        })
    }
}

/// `POST /api/v1/meetings`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeetingBody {
    municipality: String,
    debtor_id: String,
    #[serde(default)]
    claim_ids: Option<Vec<String>>,
    at: String,
    office: String,
    #[serde(default)]
    with_social_caseworker: Option<bool>,
    #[serde(default)]
    interpreter_language: Option<Language>,
    #[serde(default)]
    place: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

impl MeetingBody {
    /// The meeting to book, or every problem.
    pub fn into_meeting(self) -> Result<NewMeeting, Invalid> {
        let mut p = Invalid::default();
        check_id(&mut p, "municipality", &self.municipality);
        check_id(&mut p, "debtor_id", &self.debtor_id);
        check_id(&mut p, "office", &self.office);
        let claim_ids = self.claim_ids.unwrap_or_default();
        check_claims(&mut p, &claim_ids);
        check_note(&mut p, &self.note);
        if let Some(place) = &self.place {
            check_line(&mut p, "place", place, MAX_LINE);
        }
        let at = match DateTime::parse_from_rfc3339(&self.at) {
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(_) => {
                p.add(
                    "at",
                    "must be an RFC 3339 instant like 2027-01-11T09:30:00+01:00",
                );
                None
            }
        };
        match at {
            Some(at) if p.0.is_empty() => Ok(NewMeeting {
                municipality: self.municipality,
                debtor_id: self.debtor_id,
                claim_ids,
                at,
                office: self.office,
                with_social_caseworker: self.with_social_caseworker.unwrap_or(false),
                interpreter: self.interpreter_language,
                place: self.place,
                note: self.note,
            }),
            _ => Err(p),
        }
    }
}

/// `held` or `missed`.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
enum OutcomeName {
    Held,
    Missed,
}

/// `POST /api/v1/meetings/{id}/outcome`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeBody {
    outcome: OutcomeName,
    #[serde(default)]
    result: Option<MeetingResult>,
    #[serde(default)]
    note: Option<String>,
}

impl OutcomeBody {
    /// The outcome, or the problem.
    pub fn into_outcome(self) -> Result<(Outcome, Option<MeetingResult>, Option<String>), Invalid> {
        let mut p = Invalid::default();
        check_note(&mut p, &self.note);
        if !p.0.is_empty() {
            return Err(p);
        }
        let outcome = match self.outcome {
            OutcomeName::Held => Outcome::Held,
            OutcomeName::Missed => Outcome::Missed,
        };
        Ok((outcome, self.result, self.note))
    }
}

/// The value of a query parameter.
pub fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}
