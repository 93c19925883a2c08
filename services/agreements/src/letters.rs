//! The letters and SMS agreements asks for (`notifications.notification.requested.v1`), with the
//! `data` each harmonised template needs (`templates/manifest.toml`; a test checks every one
//! against the manifest and renders it).
//!
//! | occasion | template | channels (config/restance.toml) |
//! |---|---|---|
//! | plan agreed or revised | `payment_plan_confirmation` | letter |
//! | an instalment missed | `plan_instalment_reminder` | letter, SMS |
//! | deferral granted | `deferral_confirmation` | letter |
//! | meeting booked | `meeting_confirmation` (invitation letter + SMS confirmation) | letter, SMS |
//! | the business day before the meeting | `meeting_reminder` | SMS |
//!
//! Decisions recorded here:
//! - **Recipient** is always the debtor by id: the notifications service knows the contact
//!   details and the address protection (agreements never holds them).
//! - **Claim lines**: invoice id, the category's catalog name, due date and the open balance
//!   (principal + fees + interest); they add up to the letter's total.
//! - **Payment block** of a plan: the plan's own reference — the FI-kort +71 line with the
//!   municipality's creditor number (Denmark, Greenland) or the KID (Norway) — and the
//!   municipality's bank account.
//! - **Contact**: the municipality's phone and e-mail (the sender block of the catalog).
//! - **Legal basis**: `[agreements.legal_basis."<municipality>"]`.

use restance_contracts::messages::{NotificationRequested, Recipient, Related};
use restance_kernel::{BusinessDate, Catalog, Country, Currency, Language, Money, Municipality};
use serde_json::{Map, Value, json};

use crate::SERVICE;
use crate::domain::{Instalment, MeetingTime};
use crate::store::queries::ClaimRow;

/// The template ids agreements uses.
pub mod templates {
    /// A plan's confirmation with its schedule.
    pub const PLAN_CONFIRMATION: &str = "payment_plan_confirmation";
    /// An assignment of a future receivable (transport) is confirmed.
    pub const ASSIGNMENT_CONFIRMATION: &str = "assignment_confirmation";
    /// A missed instalment.
    pub const INSTALMENT_REMINDER: &str = "plan_instalment_reminder";
    /// A deferral's confirmation.
    pub const DEFERRAL_CONFIRMATION: &str = "deferral_confirmation";
    /// A booked meeting: invitation letter and SMS confirmation.
    pub const MEETING_CONFIRMATION: &str = "meeting_confirmation";
    /// The SMS the business day before a meeting.
    pub const MEETING_REMINDER: &str = "meeting_reminder";
}

/// Who a notification is for and what it concerns.
#[derive(Debug, Clone)]
pub struct Addressee<'a> {
    /// Municipality code.
    pub municipality: &'a str,
    /// Whose letterhead.
    pub office: &'a str,
    /// The debtor.
    pub debtor_id: &'a str,
    /// The plan, deferral or meeting.
    pub case_id: &'a str,
    /// The claims concerned.
    pub claim_ids: Vec<String>,
}

/// The notification request for `template` with `data`.
pub fn request(
    notification_id: String,
    template: &str,
    to: &Addressee<'_>,
    data: Value,
) -> NotificationRequested {
    NotificationRequested {
        notification_id,
        municipality: to.municipality.to_owned(),
        office: Some(to.office.to_owned()),
        template: template.to_owned(),
        language: None,
        recipient: Recipient::Debtor {
            debtor_id: to.debtor_id.to_owned(),
        },
        data,
        related: Related {
            service: Some(SERVICE.to_owned()),
            claim_ids: to.claim_ids.clone(),
            debtor_id: Some(to.debtor_id.to_owned()),
            case_id: Some(to.case_id.to_owned()),
        },
        attachments: Vec::new(),
    }
}

/// The claims table; a category is named in the municipality's language (`Category::name_in`).
fn claim_lines(catalog: &Catalog, language: Language, claims: &[&ClaimRow]) -> (Vec<Value>, Money) {
    let mut total = Money::ZERO;
    let lines = claims
        .iter()
        .map(|c| {
            let amount = c.balance();
            total = total.checked_add(amount).unwrap_or(total);
            json!({
                "invoice_id": c.invoice_id,
                "text": catalog.category(&c.category).map_or_else(|| c.category.clone(), |k| k.name_in(language).to_owned()),
                "due_date": c.due_date,
                "amount": amount,
            })
        })
        .collect();
    (lines, total)
}

/// The payment block of a plan: its own reference and the municipality's account.
pub fn plan_payment(municipality: &Municipality, ocr_line: &str) -> Value {
    let mut block = Map::new();
    match municipality.country {
        Country::Dk | Country::Gl => {
            block.insert("ocr_line".into(), json!(ocr_line));
        }
        Country::No => {
            block.insert("kid".into(), json!(ocr_line));
        }
    }
    if let Some(account) = &municipality.sender.bank_account {
        block.insert("account".into(), json!(account));
    }
    Value::Object(block)
}

/// The municipality's phone and e-mail for debtors.
pub fn contact(municipality: &Municipality) -> String {
    let s = &municipality.sender;
    format!("{}, {}", s.phone, s.email)
}

/// What a plan confirmation prints.
#[derive(Debug)]
pub struct PlanLetter<'a> {
    /// The plan.
    pub plan_id: &'a str,
    /// The schedule.
    pub instalments: &'a [Instalment],
    /// The covered claims (open ones) with their balances.
    pub claims: &'a [&'a ClaimRow],
    /// The plan's FIK line or KID.
    pub ocr_line: &'a str,
    /// Currency.
    pub currency: Currency,
    /// The rules cited.
    pub legal_basis: String,
}

/// `payment_plan_confirmation`.
pub fn plan_confirmation(
    catalog: &Catalog,
    municipality: &Municipality,
    letter: &PlanLetter<'_>,
) -> Value {
    let (lines, _) = claim_lines(catalog, municipality.language, letter.claims);
    let total = letter
        .instalments
        .iter()
        .fold(Money::ZERO, |s, i| s.checked_add(i.amount).unwrap_or(s));
    json!({
        "plan_id": letter.plan_id,
        "instalments": letter.instalments.iter().map(|i| json!({"due_date": i.due_date, "amount": i.amount})).collect::<Vec<_>>(),
        "first_due": letter.instalments.first().map(|i| i.due_date),
        "instalment_count": letter.instalments.len(),
        "total": total,
        "currency": letter.currency,
        "claims": lines,
        "payment": plan_payment(municipality, letter.ocr_line),
        "legal_basis": letter.legal_basis,
    })
}

/// `assignment_confirmation`: an assignment of a future receivable (transport) — what was
/// assigned, when it is expected, how much of it covers the claims, and the agreement's own
/// payment details (the receivable's payer or the citizen pays with them).
pub fn assignment_confirmation(
    catalog: &Catalog,
    municipality: &Municipality,
    letter: &PlanLetter<'_>,
    source: &str,
) -> Value {
    let (lines, _) = claim_lines(catalog, municipality.language, letter.claims);
    let first = letter.instalments.first();
    json!({
        "assignment_id": letter.plan_id,
        "source": source,
        "expected_date": first.map(|i| i.due_date),
        "amount": first.map(|i| i.amount),
        "currency": letter.currency,
        "claims": lines,
        "payment": plan_payment(municipality, letter.ocr_line),
        "legal_basis": letter.legal_basis,
    })
}

/// What a missed-instalment reminder prints.
#[derive(Debug)]
pub struct ReminderLetter<'a> {
    /// The plan.
    pub plan_id: &'a str,
    /// The missed instalment.
    pub instalment: Instalment,
    /// How far behind the plan is.
    pub overdue: Money,
    /// Pay by.
    pub pay_by: BusinessDate,
    /// The plan's FIK line or KID.
    pub ocr_line: &'a str,
    /// Currency.
    pub currency: Currency,
    /// The rules cited.
    pub legal_basis: String,
}

/// `plan_instalment_reminder`.
pub fn instalment_reminder(municipality: &Municipality, letter: &ReminderLetter<'_>) -> Value {
    json!({
        "plan_id": letter.plan_id,
        "instalment_due": letter.instalment.due_date,
        "instalment_amount": letter.instalment.amount,
        "overdue": letter.overdue,
        "currency": letter.currency,
        "pay_by": letter.pay_by,
        "payment": plan_payment(municipality, letter.ocr_line),
        "legal_basis": letter.legal_basis,
    })
}

/// `deferral_confirmation`.
pub fn deferral_confirmation(
    catalog: &Catalog,
    language: Language,
    currency: Currency,
    until: BusinessDate,
    claims: &[&ClaimRow],
    legal_basis: String,
) -> Value {
    let (lines, total) = claim_lines(catalog, language, claims);
    json!({
        "deferred_until": until,
        "total": total,
        "currency": currency,
        "claims": lines,
        "legal_basis": legal_basis,
    })
}

/// What a meeting letter or SMS prints.
#[derive(Debug)]
pub struct MeetingLetter<'a> {
    /// When.
    pub time: &'a MeetingTime,
    /// Where.
    pub place: &'a str,
    /// The social caseworker takes part.
    pub with_social_caseworker: bool,
    /// An interpreter is booked.
    pub interpreter: bool,
    /// The claims it is about (may be empty).
    pub claims: &'a [&'a ClaimRow],
    /// Currency.
    pub currency: Currency,
    /// The rules cited.
    pub legal_basis: String,
}

/// `meeting_confirmation`: the invitation letter and the SMS confirmation.
pub fn meeting_confirmation(
    catalog: &Catalog,
    municipality: &Municipality,
    letter: &MeetingLetter<'_>,
) -> Value {
    let mut data = Map::new();
    data.insert("meeting".into(), json!(letter.time.local));
    data.insert("place".into(), json!(letter.place));
    data.insert("contact".into(), json!(contact(municipality)));
    data.insert(
        "social_caseworker".into(),
        json!(letter.with_social_caseworker),
    );
    data.insert("interpreter".into(), json!(letter.interpreter));
    if !letter.claims.is_empty() {
        let (lines, total) = claim_lines(catalog, municipality.language, letter.claims);
        data.insert("claims".into(), Value::Array(lines));
        data.insert("total".into(), json!(total));
        data.insert("currency".into(), json!(letter.currency));
    }
    data.insert("legal_basis".into(), json!(letter.legal_basis));
    Value::Object(data)
}

/// `meeting_reminder`: the SMS the business day before.
pub fn meeting_reminder(
    municipality: &Municipality,
    local: &str,
    place: &str,
    interpreter: bool,
    legal_basis: String,
) -> Value {
    json!({
        "meeting": local,
        "place": place,
        "contact": contact(municipality),
        "interpreter": interpreter,
        "legal_basis": legal_basis,
    })
}
