//! Raising recovery when a change ends a guarantee (binding period expired, moved away, divorce,
//! death), in the transaction that stores the change.
//!
//! - **The day.** The claim is raised "on the day the claim is raised" (issue 20): the business
//!   date the change is processed — the last business day opened (`calendar.day.opened.v1`),
//!   else the envelope's date in the municipality's time zone (as the API's "today"). The
//!   amount is `domain::recoverable` that day over the guarantee's recoverable payments (the
//!   spouse's, paid while it was in force), so limitation counts to the raise date, not the
//!   change's effective date, and the cap is the guarantee's amount that day.
//! - **Only an ended guarantee.** A change whose ending lies after that day (a divorce reported
//!   ahead of its date) raises nothing now; the guarantee has not ended yet.
//! - **One case per guarantee.** The case is `<guarantee>/R1` ([`cases::case_id`]); a guarantee
//!   that has a case opens no other on a later ending change (death after divorce). The
//!   guarantee's row lock serialises the changes; a redelivered change is already known and
//!   never reaches here.
//! - **Release.** Nothing to recover: a `guarantee_bank_release` letter to the bank for the
//!   guarantee's amount that day, and the case is closed.
//! - **Raise.** `guarantee.recovery.raised.v1` (invoicing opens the guarantor's claim) and a
//!   `guarantee_notice` letter to the guarantor. The bank's `guarantee_bank_hold` letter needs
//!   the claim's payment reference, which invoicing assigns: it is kept (`held_letters`) and
//!   sent by [`send_held_letter`] on the `invoicing.claim.opened.v1` of the case's claim.
//! - **Office** is the municipality's first office in the catalog; **due date** is the raise
//!   date plus [`Shared::due_days`] (30).
//! - **Recipients** are parties given in full (the guarantor is no debtor notifications knows
//!   until invoicing publishes the claim's debtor): the bank as a company with its address and
//!   e-mail; the guarantor with the registration's name, address, e-mail, language and address
//!   protection, and the national id for digital post only when the registration says the
//!   guarantor receives digital post.

use restance_bus::{Effects, HandlerError, Inbound};
use restance_contracts::Message;
use restance_contracts::messages::{
    Debtor, GuaranteeBank, NotificationRequested, Party, Recipient, RecoveredPayment,
    RecoveryRaised, Related,
};
use restance_kernel::{BusinessDate, Currency, Money, PartyKind};
use sea_orm::DatabaseTransaction;
use serde_json::{Value, json};

use crate::domain::{
    Actor, BenefitLaw, Effect, EndCause, Guarantee, Recovery, RecoveryCase, Trigger, recoverable,
};
use crate::state::Shared;
use crate::store::queries::guarantees::StoredGuarantee;
use crate::store::queries::{benefits, cases, days, word};

/// The letter to the guarantor when a claim is raised.
pub const NOTICE: &str = "guarantee_notice";
/// The letter to the bank when nothing is recovered.
pub const RELEASE: &str = "guarantee_bank_release";
/// The notification key of the bank's release letter after a settlement (the rest of the
/// guarantee): distinct from [`RELEASE`]'s, so its id never collides with a release letter's.
pub const RELEASE_SETTLED: &str = "guarantee_bank_release:settled";
/// The letter to the bank asking it to hold and pay (sent once the claim has its reference).
pub const HOLD: &str = "guarantee_bank_hold";

/// The legal basis of every guarantee recovery.
pub const ALIENS_ACT: &str = "udlændingeloven § 9, stk. 5";

/// Opens, raises or releases the guarantee's recovery case if `guarantee` (with the change just
/// recorded) has ended by the business day; see the module documentation.
pub async fn on_ending(
    shared: &Shared,
    tx: &DatabaseTransaction,
    effects: &mut Effects,
    inbound: &Inbound,
    stored: &StoredGuarantee,
    guarantee: &Guarantee,
) -> Result<(), HandlerError> {
    let on = match days::latest(tx).await? {
        Some(day) => day,
        None => super::guarantees::business_date_of(shared, inbound, &stored.municipality),
    };
    let ending = guarantee.ending();
    if ending.from > on {
        tracing::info!(guarantee_id = %stored.guarantee_id, ends = %ending.from, %on,
            "the guarantee ends later: no recovery raised yet");
        return Ok(());
    }
    open_case(
        shared,
        tx,
        effects,
        Opening {
            stored,
            guarantee,
            trigger: Trigger::GuaranteeEnded(ending.cause),
            by: Actor::Service,
            on,
            message_id: &inbound.envelope.id,
        },
    )
    .await
    .map(drop)
}

/// What opens a case: the guarantee (locked by the caller), why, who, the business day it is
/// raised on, and the message or request id that asked for it.
#[derive(Debug)]
pub struct Opening<'a> {
    /// The guarantee as stored (its row locked by the caller's transaction).
    pub stored: &'a StoredGuarantee,
    /// The guarantee with its history.
    pub guarantee: &'a Guarantee,
    /// Why the case opens: the guarantee ended, or a caseworker asked.
    pub trigger: Trigger,
    /// Who opens it.
    pub by: Actor,
    /// The business day the claim is raised on (limitation counts to this day).
    pub on: BusinessDate,
    /// The inbound message's id, or the API request's id.
    pub message_id: &'a str,
}

/// Opens the guarantee's recovery case on `opening.on` and raises or releases it at once (see
/// the module documentation); `None` when the guarantee has a case already (one per guarantee),
/// else the case as stored. The caller holds the guarantee's row lock.
pub async fn open_case(
    shared: &Shared,
    tx: &DatabaseTransaction,
    effects: &mut Effects,
    opening: Opening<'_>,
) -> Result<Option<RecoveryCase>, HandlerError> {
    let Opening {
        stored,
        guarantee,
        trigger,
        by,
        on,
        message_id,
    } = opening;
    if cases::count_of(tx, &stored.guarantee_id).await? > 0 {
        return Ok(None);
    }
    let case_no = 1;
    let case_id = cases::case_id(&stored.guarantee_id, case_no);
    let linked = benefits::of_guarantee(tx, &stored.guarantee_id).await?;
    let payments = crate::http::recoverable_payments(guarantee, &linked);
    let recovery = recoverable(guarantee, &payments, &shared.limitation, on);
    let mut case = RecoveryCase::open(
        case_id.clone(),
        stored.guarantee_id.clone(),
        trigger,
        on,
        by.clone(),
    );
    let refused = |e: crate::domain::CaseError| HandlerError::Other(format!("case {case_id}: {e}"));
    let decided = case
        .raise_or_release(&recovery, by.clone())
        .map_err(refused)?;
    let letters = Letters::of(shared, stored, &case_id, trigger, &recovery)?;
    // What the decision sends, built first and emitted only once the case is stored: a case
    // already there (which the row lock and the count above rule out) sends nothing.
    let mut raised = None;
    let mut held = None;
    let mut requests = Vec::new();
    let mut sent = vec![Vec::new(), Vec::new()];
    for effect in decided {
        match effect {
            Effect::RecoveryRaised { .. } => {
                raised = Some(letters.raised(shared.due_days));
                sent[1].push(format!("{} {case_id}", RecoveryRaised::TYPE));
            }
            Effect::GuarantorNotice { .. } => {
                let n = letters.notice(shared.due_days);
                sent[1].push(format!("{NOTICE} {}", n.notification_id));
                requests.push(n);
            }
            Effect::BankHoldAndPayLetter { .. } => {
                let n = letters.hold(shared.due_days);
                sent[1].push(format!(
                    "{HOLD} {} (sent when invoicing gives the claim its payment reference)",
                    n.notification_id
                ));
                held = Some(n);
            }
            Effect::BankReleaseLetter { released } => {
                let n = letters.release(released);
                sent[1].push(format!("{RELEASE} {}", n.notification_id));
                requests.push(n);
            }
            Effect::ClaimLowered { .. }
            | Effect::AdministratorNotified
            | Effect::CreditToGuarantor { .. } => {}
        }
    }
    if recovery.is_release() {
        case.close(on, by.clone()).map_err(refused)?;
        sent.push(Vec::new());
    }
    let stored_now = cases::insert(
        tx,
        &case,
        case_no,
        &stored.municipality,
        on,
        &sent,
        message_id,
    )
    .await?;
    if !stored_now {
        return Ok(None);
    }
    if let Some(r) = raised {
        effects.emit(r)?;
    }
    if let Some(n) = held {
        cases::hold_letter(tx, &case_id, &n).await?;
    }
    for n in requests {
        effects.emit(n)?;
    }
    crate::metrics::case_decided(case.state().as_str());
    tracing::info!(
        guarantee_id = %stored.guarantee_id,
        case_id = %case_id,
        state = %case.state(),
        amount = %case.claim(),
        "recovery case opened"
    );
    Ok(Some(case))
}

/// The legal basis of a recovery: the Aliens Act and the acts the payments were made under,
/// e.g. `udlændingeloven § 9, stk. 5; lov om aktiv socialpolitik og integrationsloven`.
pub fn legal_basis(laws: &[BenefitLaw]) -> String {
    let acts: Vec<&str> = laws
        .iter()
        .filter_map(|law| match law {
            BenefitLaw::Aktivloven => Some("lov om aktiv socialpolitik"),
            BenefitLaw::Integrationsloven => Some("integrationsloven"),
            BenefitLaw::Other => None,
        })
        .collect();
    match acts.as_slice() {
        [] => ALIENS_ACT.to_owned(),
        [one] => format!("{ALIENS_ACT}; {one}"),
        [rest @ .., last] => format!("{ALIENS_ACT}; {} og {last}", rest.join(", ")),
    }
}

/// The payments a recovery takes something from, oldest first, as the contract lists them.
pub fn recovered_payments(recovery: &Recovery) -> Vec<RecoveredPayment> {
    recovery
        .shares()
        .filter(|l| l.recovered.is_positive())
        .map(|l| RecoveredPayment {
            benefit_id: l.benefit_id.clone(),
            law: l.law,
            paid_date: l.paid_date,
            paid_amount: l.amount,
            recovered: l.recovered,
        })
        .collect()
}

/// The reason word of the notice template for why the case was opened.
pub fn reason_word(trigger: Trigger) -> String {
    match trigger {
        Trigger::GuaranteeEnded(EndCause::BindingPeriodEnd) => "binding_period_expired".to_owned(),
        Trigger::GuaranteeEnded(EndCause::Change(reason)) => word(&reason),
        Trigger::Caseworker => "caseworker".to_owned(),
    }
}

/// The notification id of a case's letter: the same case and template give the same id.
pub fn notification_id(case_id: &str, template: &str) -> String {
    format!("guarantee:{case_id}:{template}")
}

/// `invoicing.claim.opened.v1` for a raised case's claim (category `guarantee`, opened from
/// `guarantee.recovery.raised.v1`, so its invoice id is the case id): the bank's held
/// hold-and-pay letter goes out now with the claim's payment reference, once. Any other claim
/// is none of this service's business.
pub async fn send_held_letter(
    tx: &DatabaseTransaction,
    effects: &mut Effects,
    claim: &restance_contracts::messages::ClaimOpened,
) -> Result<(), HandlerError> {
    if claim.claim.category != "guarantee" || claim.claim.source != SOURCE {
        return Ok(());
    }
    let case_id = &claim.claim.invoice_id;
    let Some(mut letter) = cases::held_letter(tx, case_id).await? else {
        return Ok(());
    };
    if let Value::Object(data) = &mut letter.data {
        let payment = match &claim.ocr_line {
            Some(line) => json!({ "ocr_line": line }),
            None => json!({}),
        };
        data.insert("payment".into(), payment);
    }
    letter.related.claim_ids = vec![claim.claim.claim_id.clone()];
    cases::letter_sent(tx, case_id, &claim.claim.claim_id, claim.issue_date).await?;
    tracing::info!(case_id = %case_id, claim_id = %claim.claim.claim_id,
        "the bank's hold-and-pay letter is sent with the claim's payment reference");
    effects.emit(letter)?;
    Ok(())
}

/// The envelope source of this service's events, which invoicing keeps as the claim's source.
pub const SOURCE: &str = "/restance/guarantee";

/// Who a case's messages are for and from: the guarantee as stored, the case, the office whose
/// letterhead they carry, the guarantor and the bank. What the release letter after a
/// settlement needs ([`crate::handlers::payments`]); the raise's letters add the recovery
/// ([`Letters`]).
pub(crate) struct Parties<'a> {
    pub(crate) stored: &'a StoredGuarantee,
    pub(crate) case_id: &'a str,
    pub(crate) office: String,
    pub(crate) guarantor: Debtor,
    pub(crate) bank: GuaranteeBank,
}

impl<'a> Parties<'a> {
    /// The parties of `case_id` from the stored guarantee (its guarantor and bank blocks).
    pub(crate) fn of(
        shared: &Shared,
        stored: &'a StoredGuarantee,
        case_id: &'a str,
    ) -> Result<Self, HandlerError> {
        let guarantor: Debtor = serde_json::from_value(stored.guarantor.expose().clone())
            .map_err(|e| HandlerError::Other(format!("stored guarantor does not read: {e}")))?;
        let bank: GuaranteeBank = serde_json::from_value(stored.bank.clone())
            .map_err(|e| HandlerError::Other(format!("stored bank does not read: {e}")))?;
        let office = shared.office_of(&stored.municipality).ok_or_else(|| {
            HandlerError::Other(format!(
                "municipality {} has no office in the catalog",
                stored.municipality
            ))
        })?;
        Ok(Self {
            stored,
            case_id,
            office,
            guarantor,
            bank,
        })
    }

    /// The bank's `guarantee_bank_release` letter releasing `released`, with what was
    /// `recovered` when something was; its notification id is the case and `key` (the template
    /// itself for the release without recovery, [`RELEASE_SETTLED`] after a settlement).
    pub(crate) fn release(
        &self,
        key: &str,
        released: Money,
        recovered: Option<Money>,
    ) -> NotificationRequested {
        let mut data = json!({
            "guarantee_id": self.stored.guarantee_id,
            "guarantor": self.guarantor.name.expose(),
            "released_amount": released,
            "currency": "DKK",
            "legal_basis": ALIENS_ACT,
        });
        if let (Some(recovered), Value::Object(fields)) = (recovered, &mut data) {
            fields.insert("recovered_amount".into(), json!(recovered));
        }
        let mut n = self.request(RELEASE, Recipient::Party(self.bank_party()), data);
        n.notification_id = notification_id(self.case_id, key);
        if recovered.is_none() {
            // Nothing was recovered, so invoicing never opened a claim for the guarantor and
            // never told notifications about them: naming the guarantor as the related debtor
            // would park the bank's letter for good (notifications waits for a related debtor's
            // address protection). The letter carries the guarantor's name, not their address.
            n.related.debtor_id = None;
        }
        n
    }

    fn bank_party(&self) -> Party {
        Party {
            name: restance_kernel::Redacted(self.bank.name.clone()),
            party_kind: PartyKind::Company,
            national_id: None,
            address: Some(self.bank.address.clone()),
            email: self.bank.email.clone().map(restance_kernel::Redacted),
            phone: None,
            language: None,
            address_protection: None,
        }
    }

    /// A notification of the case with `template` to `recipient`; its id is the case and the
    /// template.
    pub(crate) fn request(
        &self,
        template: &str,
        recipient: Recipient,
        data: Value,
    ) -> NotificationRequested {
        NotificationRequested {
            notification_id: notification_id(self.case_id, template),
            municipality: self.stored.municipality.clone(),
            office: Some(self.office.clone()),
            template: template.to_owned(),
            language: None,
            recipient,
            data,
            related: Related {
                service: Some(crate::SERVICE.to_owned()),
                claim_ids: Vec::new(),
                debtor_id: Some(self.guarantor.id.clone()),
                case_id: Some(self.case_id.to_owned()),
            },
            attachments: Vec::new(),
        }
    }
}

/// What the raise's messages are made of: the parties and the recovery.
struct Letters<'a> {
    parties: Parties<'a>,
    trigger: Trigger,
    recovery: &'a Recovery,
    payments: Vec<RecoveredPayment>,
    legal_basis: String,
}

impl<'a> Letters<'a> {
    fn of(
        shared: &Shared,
        stored: &'a StoredGuarantee,
        case_id: &'a str,
        trigger: Trigger,
        recovery: &'a Recovery,
    ) -> Result<Self, HandlerError> {
        let parties = Parties::of(shared, stored, case_id)?;
        let payments = recovered_payments(recovery);
        let laws: Vec<BenefitLaw> = recovery
            .laws()
            .into_iter()
            .filter(|law| payments.iter().any(|p| p.law == *law))
            .collect();
        Ok(Self {
            parties,
            trigger,
            recovery,
            payments,
            legal_basis: legal_basis(&laws),
        })
    }

    fn due(&self, due_days: u32) -> BusinessDate {
        let on = self.recovery.raised_on;
        on.checked_add_days(i64::from(due_days)).unwrap_or(on)
    }

    fn period(&self) -> (BusinessDate, BusinessDate) {
        let on = self.recovery.raised_on;
        let from = self.payments.first().map_or(on, |p| p.paid_date);
        let to = self.payments.last().map_or(on, |p| p.paid_date);
        (from, to)
    }

    fn raised(&self, due_days: u32) -> RecoveryRaised {
        let (period_from, period_to) = self.period();
        RecoveryRaised {
            case_id: self.parties.case_id.to_owned(),
            guarantee_id: self.parties.stored.guarantee_id.clone(),
            municipality: self.parties.stored.municipality.clone(),
            office: self.parties.office.clone(),
            guarantor: self.parties.guarantor.clone(),
            bank: self.parties.bank.clone(),
            currency: Currency::Dkk,
            amount: self.recovery.total,
            legal_basis: self.legal_basis.clone(),
            period_from,
            period_to,
            raised_date: self.recovery.raised_on,
            due_date: self.due(due_days),
            payments: self.payments.clone(),
        }
    }

    fn notice(&self, due_days: u32) -> NotificationRequested {
        let (period_from, period_to) = self.period();
        let g = &self.parties.guarantor;
        let digital = g.digital_post.then(|| g.national_id.clone());
        let party = Party {
            name: g.name.clone(),
            party_kind: g.kind,
            national_id: digital,
            address: Some(g.address.clone()),
            email: g.email.clone(),
            phone: g.phone.clone(),
            language: g.language,
            address_protection: Some(g.address_protection),
        };
        let data = json!({
            "guarantee_id": self.parties.stored.guarantee_id,
            "bank": self.parties.bank.name,
            "reason": reason_word(self.trigger),
            "amount": self.recovery.total,
            "currency": "DKK",
            "period_from": period_from,
            "period_to": period_to,
            // the contract's payment has exactly the letters' fields
            "payments": self.payments,
            "pay_by": self.due(due_days),
            "legal_basis": self.legal_basis,
        });
        self.parties.request(NOTICE, Recipient::Party(party), data)
    }

    /// The bank's hold-and-pay letter without its payment block: [`send_held_letter`] adds the
    /// claim's payment reference once invoicing has opened the claim.
    fn hold(&self, due_days: u32) -> NotificationRequested {
        let (period_from, period_to) = self.period();
        let data = json!({
            "guarantee_id": self.parties.stored.guarantee_id,
            "guarantor": self.parties.guarantor.name.expose(),
            "amount": self.recovery.total,
            "currency": "DKK",
            "period_from": period_from,
            "period_to": period_to,
            // the contract's payment has exactly the letters' fields
            "payments": self.payments,
            "pay_by": self.due(due_days),
            "legal_basis": self.legal_basis,
        });
        self.parties
            .request(HOLD, Recipient::Party(self.parties.bank_party()), data)
    }

    fn release(&self, released: Money) -> NotificationRequested {
        self.parties.release(RELEASE, released, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Limitation, RecoverablePayment, recoverable_with_cap};
    use restance_kernel::{BusinessCalendar, Country};

    fn date(s: &str) -> BusinessDate {
        s.parse().expect("date")
    }

    fn money(s: &str) -> Money {
        Money::parse(s).expect("money")
    }

    #[test]
    fn the_legal_basis_names_the_acts_of_the_payments() {
        assert_eq!(legal_basis(&[]), "udlændingeloven § 9, stk. 5");
        assert_eq!(
            legal_basis(&[BenefitLaw::Integrationsloven]),
            "udlændingeloven § 9, stk. 5; integrationsloven"
        );
        assert_eq!(
            legal_basis(&[
                BenefitLaw::Aktivloven,
                BenefitLaw::Integrationsloven,
                BenefitLaw::Other
            ]),
            "udlændingeloven § 9, stk. 5; lov om aktiv socialpolitik og integrationsloven"
        );
    }

    #[test]
    fn only_payments_something_is_recovered_from_are_listed() {
        let limitation = Limitation::danish(BusinessCalendar::new(Country::Dk));
        let pay = |id: &str, paid: &str, amount: &str| RecoverablePayment {
            benefit_id: id.into(),
            law: BenefitLaw::Aktivloven,
            paid_date: date(paid),
            amount: money(amount),
        };
        let payments = [
            pay("OLD", "2022-01-03", "500.00"),
            pay("B-1", "2025-02-03", "700.00"),
            pay("B-2", "2025-03-03", "800.00"),
            pay("B-3", "2025-04-01", "900.00"),
        ];
        // capped at 1,000.00: B-1 in full, B-2 in part, B-3 nothing; OLD expired
        let recovery =
            recoverable_with_cap(money("1000.00"), &payments, &limitation, date("2026-05-04"));
        let listed = recovered_payments(&recovery);
        let ids: Vec<&str> = listed.iter().map(|p| p.benefit_id.as_str()).collect();
        assert_eq!(ids, ["B-1", "B-2"]);
        assert_eq!(listed[1].recovered, money("300.00"));
        assert_eq!(listed[1].paid_amount, money("800.00"));
    }

    #[test]
    fn the_reason_is_the_templates_word() {
        use crate::domain::GuaranteeChangeReason as R;
        let ended = |cause| Trigger::GuaranteeEnded(cause);
        assert_eq!(reason_word(ended(EndCause::Change(R::Divorce))), "divorce");
        assert_eq!(
            reason_word(ended(EndCause::Change(R::MovedAway))),
            "moved_away"
        );
        assert_eq!(
            reason_word(ended(EndCause::BindingPeriodEnd)),
            "binding_period_expired"
        );
        assert_eq!(reason_word(Trigger::Caseworker), "caseworker");
    }

    #[test]
    fn a_letters_id_is_the_case_and_template() {
        assert_eq!(
            notification_id("G-1/R1", NOTICE),
            "guarantee:G-1/R1:guarantee_notice"
        );
    }
}
