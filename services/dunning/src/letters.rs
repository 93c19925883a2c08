//! The `data` of the letters dunning asks for: what each harmonised template needs
//! (`templates/manifest.toml`), built from the claims as they stand after the day's decisions.
//!
//! Decisions recorded here:
//! - **Claim lines**: `invoice_id`, `text` (the category's name from the catalog — invoicing's
//!   claim events carry no invoice text), `due_date`, and `amount` = the open principal plus the
//!   fees and interest that the template has no row for (reminder 1 has an interest row,
//!   reminder 2 an interest and a fee row, the others none), so the lines always add up to
//!   `total` = every open amount of the letter's claims.
//! - **Payment block**: the reference of the claim with the earliest due date (a payment quoting
//!   it pays that claim first, then the debtor's other open claims — invoicing's allocation):
//!   its FIK +71 line in Denmark and Greenland, its KID in Norway, and the municipality's bank
//!   account.
//! - **Dates**: `pay_by` = the business date + `letters.pay_within_days`; the notice of transfer
//!   names the earliest day the policy's transfer step can follow; a company's deadline is the
//!   one the decision fixed; a supply notice names the earliest suspension day.
//! - **Meeting offer**: a meeting `letters.meeting_in_days` ahead at `letters.meeting_time`, at
//!   the office (the municipality's sender address), contact = the sender's phone and e-mail.
//! - **Legal basis**: `[dunning.letters.legal_basis.<jurisdiction>]`, else the legal table's
//!   `fee_legal_basis`.

use restance_kernel::{BusinessDate, Catalog, Country, Money, Municipality, PaymentReference};
use serde_json::{Map, Value, json};

use crate::config::{LetterKind, LetterSettings, authority_name};
use crate::domain::{Action, PolicyVersion, Resolved, Step, StepAction, templates};
use crate::store::queries::ClaimRow;

/// Everything a letter's data is built from.
#[derive(Debug)]
pub struct LetterContext<'a> {
    /// The business date (the letter date).
    pub date: BusinessDate,
    /// The municipality (sender, bank account, country).
    pub municipality: &'a Municipality,
    /// The catalog: category names for the claim lines, their flags.
    pub catalog: &'a Catalog,
    /// The policy that decided it.
    pub resolved: &'a Resolved<'a>,
    /// The policy's jurisdiction key (for the legal basis).
    pub jurisdiction: &'a str,
    /// Letter settings.
    pub settings: &'a LetterSettings,
    /// Debtor kind (which steps apply).
    pub kind: restance_kernel::PartyKind,
}

/// Which amount rows a template prints besides the claim lines.
fn rows_of(template: &str) -> (bool, bool) {
    match template {
        templates::REMINDER_1 => (true, false),
        templates::REMINDER_2 => (true, true),
        _ => (false, false),
    }
}

fn sum(values: impl IntoIterator<Item = Money>) -> Money {
    values
        .into_iter()
        .fold(Money::ZERO, |a, b| a.checked_add(b).unwrap_or(a))
}

fn plus(date: BusinessDate, days: u32) -> BusinessDate {
    date.checked_add_days(i64::from(days)).unwrap_or(date)
}

/// The `data` object for `action`'s letter to the claims `claims` (the letter's claims, as
/// stored after today's decisions).
pub fn letter_data(
    ctx: &LetterContext<'_>,
    action: &Action,
    template: &str,
    claims: &[&ClaimRow],
) -> Value {
    let mut claims: Vec<&ClaimRow> = claims.to_vec();
    claims.sort_by(|a, b| (a.due_date, &a.claim_id).cmp(&(b.due_date, &b.claim_id)));
    let (interest_row, fee_row) = rows_of(template);
    let lines: Vec<Value> = claims
        .iter()
        .map(|c| {
            let mut amount = c.balance.principal;
            if !fee_row {
                amount = amount.checked_add(c.balance.fees).unwrap_or(amount);
            }
            if !interest_row {
                amount = amount.checked_add(c.balance.interest).unwrap_or(amount);
            }
            json!({
                "invoice_id": c.invoice_id,
                "text": ctx.catalog.category(&c.category).map_or_else(|| c.category.clone(), |k| k.name_in(ctx.municipality.language).to_owned()),
                "due_date": c.due_date,
                "amount": amount,
            })
        })
        .collect();
    let interest = sum(claims.iter().map(|c| c.balance.interest));
    let fees = sum(claims.iter().map(|c| c.balance.fees));
    let total = sum(claims
        .iter()
        .map(|c| c.balance.total().unwrap_or(c.balance.principal)));
    let currency = claims
        .first()
        .map_or(ctx.municipality.currency, |c| c.currency);
    let mut data = Map::new();
    data.insert("claims".into(), Value::Array(lines));
    data.insert("total".into(), json!(total));
    data.insert("currency".into(), json!(currency));
    if interest_row && interest.is_positive() {
        data.insert("interest".into(), json!(interest));
    }
    if fee_row {
        data.insert("fee".into(), json!(fees));
    }
    template_fields(ctx, action, template, &claims, &mut data);
    Value::Object(data)
}

/// The fields particular to `template`'s letter: dates, the payment, the legal basis.
fn template_fields(
    ctx: &LetterContext<'_>,
    action: &Action,
    template: &str,
    claims: &[&ClaimRow],
    data: &mut Map<String, Value>,
) {
    let pay_by = plus(ctx.date, ctx.settings.pay_within_days);
    let authority = authority_name(ctx.resolved.jurisdiction.transfer_authority);
    let fallback = ctx.resolved.table.fee_legal_basis.as_str();
    let basis = |kind| ctx.settings.legal_basis(ctx.jurisdiction, kind, fallback);
    match template {
        templates::REMINDER_1 | templates::REMINDER_2 => {
            let notice = transfer_date(ctx, action, claims.first().copied());
            data.insert("pay_by".into(), json!(pay_by.min(notice)));
            data.insert("transfer_notice_date".into(), json!(notice));
            data.insert("collection_authority".into(), json!(authority));
            data.insert("payment".into(), payment(ctx.municipality, claims.first()));
            data.insert("legal_basis".into(), json!(basis(LetterKind::Reminder)));
        }
        templates::MEETING_OFFER => {
            let (h, m) = ctx.settings.meeting_hour_minute().unwrap_or((10, 0));
            let day = plus(ctx.date, ctx.settings.meeting_in_days);
            data.insert("proposed".into(), json!(format!("{day}T{h:02}:{m:02}")));
            data.insert(
                "place".into(),
                json!(place(ctx.municipality, claims.first())),
            );
            data.insert("contact".into(), json!(contact(ctx.municipality)));
            data.insert(
                "respond_by".into(),
                json!(plus(ctx.date, ctx.settings.respond_within_days)),
            );
            data.insert(
                "social_caseworker".into(),
                json!(claims.iter().any(|c| social(ctx, c))),
            );
            data.insert("legal_basis".into(), json!(basis(LetterKind::MeetingOffer)));
        }
        templates::COMPANY_FINAL_NOTICE => {
            let deadline = match action {
                Action::CompanyFinalNotice { deadline, .. } => *deadline,
                _ => pay_by,
            };
            data.insert("pay_by".into(), json!(deadline));
            data.insert("collection_authority".into(), json!(authority));
            data.insert("payment".into(), payment(ctx.municipality, claims.first()));
            data.insert("legal_basis".into(), json!(basis(LetterKind::Reminder)));
        }
        templates::SUPPLY_SUSPENSION_NOTICE => {
            let suspension = suspension_date(ctx, action);
            let supply = claims
                .first()
                .filter(|c| c.category == "heat")
                .map_or("water", |_| "heat");
            data.insert("supply".into(), json!(supply));
            data.insert("suspension_date".into(), json!(suspension));
            let last_day = suspension.checked_add_days(-1).unwrap_or(suspension);
            data.insert("pay_by".into(), json!(pay_by.min(last_day)));
            data.insert("payment".into(), payment(ctx.municipality, claims.first()));
            data.insert("legal_basis".into(), json!(basis(LetterKind::Supply)));
        }
        templates::DISTRAINT_NOTICE => {
            let (step, legal) = match action {
                Action::DistraintNotice {
                    step, legal_basis, ..
                } => (*step, legal_basis.as_str()),
                _ => (0, ""),
            };
            let notice_days = usize::try_from(step.saturating_sub(1))
                .ok()
                .and_then(|i| ctx.resolved.version.steps.get(i))
                .and_then(|s| match s.action {
                    StepAction::Transfer { notice_min_days } => Some(notice_min_days),
                    _ => None,
                })
                .unwrap_or(ctx.settings.pay_within_days);
            let distraint = plus(ctx.date, notice_days);
            let last_day = distraint.checked_add_days(-1).unwrap_or(distraint);
            data.insert("distraint_date".into(), json!(distraint));
            data.insert("pay_by".into(), json!(pay_by.min(last_day)));
            data.insert("payment".into(), payment(ctx.municipality, claims.first()));
            let basis = if legal.is_empty() {
                basis(LetterKind::Reminder)
            } else {
                legal.to_owned()
            };
            data.insert("legal_basis".into(), json!(basis));
        }
        templates::PRE_DUE_NOTICE => {
            let due = claims.iter().map(|c| c.due_date).min().unwrap_or(ctx.date);
            data.insert("due_date".into(), json!(due));
            data.insert("payment".into(), payment(ctx.municipality, claims.first()));
            data.insert("legal_basis".into(), json!(basis(LetterKind::Reminder)));
        }
        templates::WRITE_OFF_NOTICE => {
            data.insert("written_off_on".into(), json!(ctx.date));
            data.insert("reason".into(), json!("statute_barred"));
            data.insert("legal_basis".into(), json!(basis(LetterKind::WriteOff)));
        }
        templates::TRANSFERRED_TO_COLLECTION => {
            data.insert("transferred_on".into(), json!(ctx.date));
            data.insert("collection_authority".into(), json!(authority));
            data.insert("legal_basis".into(), json!(basis(LetterKind::Transfer)));
        }
        _ => {
            data.insert("legal_basis".into(), json!(basis(LetterKind::Reminder)));
        }
    }
}

/// The category involves the social caseworker (the meeting offer says they will attend).
fn social(ctx: &LetterContext<'_>, claim: &ClaimRow) -> bool {
    ctx.catalog
        .category(&claim.category)
        .is_some_and(|c| c.social_caseworker)
}

/// The municipality's payment block for the claim with the earliest due date.
fn payment(municipality: &Municipality, lead: Option<&&ClaimRow>) -> Value {
    let mut block = Map::new();
    if let Some(c) = lead {
        match municipality.country {
            Country::Dk | Country::Gl => {
                let line = c.ocr_line.clone().or_else(|| {
                    PaymentReference::parse_fik(&c.payment_reference)
                        .ok()
                        .map(|r| match r {
                            PaymentReference::Fik { id, .. } => PaymentReference::Fik {
                                id,
                                creditor: municipality.creditor_number.clone(),
                            }
                            .ocr_line(),
                            other => other.ocr_line(),
                        })
                });
                if let Some(line) = line {
                    block.insert("ocr_line".into(), json!(line));
                }
            }
            Country::No => {
                block.insert("kid".into(), json!(c.payment_reference));
            }
        }
    }
    if let Some(account) = &municipality.sender.bank_account {
        block.insert("account".into(), json!(account));
    }
    Value::Object(block)
}

fn place(municipality: &Municipality, lead: Option<&&ClaimRow>) -> String {
    let s = &municipality.sender;
    let office = lead
        .and_then(|c| municipality.offices.get(&c.office))
        .map_or_else(|| s.name.clone(), |o| format!("{}, {}", s.name, o.name));
    let mut parts = vec![office];
    parts.extend(s.address_lines.iter().cloned());
    parts.push(format!("{} {}", s.postcode, s.city));
    parts.join(", ")
}

fn contact(municipality: &Municipality) -> String {
    let s = &municipality.sender;
    format!("{}, {}", s.phone, s.email)
}

/// The steps after `from` (a 1-based step number) that apply to the debtor.
fn later_steps(
    version: &PolicyVersion,
    from: u32,
    kind: restance_kernel::PartyKind,
) -> impl Iterator<Item = (u32, &Step)> {
    version
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| (u32::try_from(i + 1).unwrap_or(u32::MAX), s))
        .filter(move |(n, s)| *n > from && s.applies_to(kind))
}

/// The earliest day the transfer can follow a notice sent today: the policy's timing up to its
/// transfer step, and at least the notice period. A notice sent outside the step sequence (a
/// gate) counts from the lead claim's last step.
fn transfer_date(
    ctx: &LetterContext<'_>,
    action: &Action,
    lead: Option<&ClaimRow>,
) -> BusinessDate {
    let due = lead.map(|c| c.due_date);
    let from = action
        .step()
        .unwrap_or_else(|| lead.map_or(0, |c| c.history.last_step()));
    let mut day = ctx.date;
    for (_, step) in later_steps(ctx.resolved.version, from, ctx.kind) {
        day = match (step.after_due_days, step.after_previous_days, due) {
            (Some(d), _, Some(due)) => plus(due, d).max(day),
            (_, Some(d), _) => plus(day, d),
            _ => day,
        };
        if let StepAction::Transfer { notice_min_days } = step.action {
            return day.max(plus(ctx.date, notice_min_days));
        }
    }
    plus(ctx.date, ctx.settings.pay_within_days)
}

/// The earliest suspension day after a supply notice sent today.
fn suspension_date(ctx: &LetterContext<'_>, action: &Action) -> BusinessDate {
    let from = action.step().unwrap_or(0);
    let mut day = ctx.date;
    for (_, step) in later_steps(ctx.resolved.version, from, ctx.kind) {
        if let Some(d) = step.after_previous_days {
            day = plus(day, d);
        }
        if let StepAction::SupplySuspension { notice_min_days } = step.action {
            return day.max(plus(ctx.date, notice_min_days));
        }
    }
    plus(ctx.date, ctx.settings.pay_within_days)
}
