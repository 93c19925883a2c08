//! `benefits.benefit.paid.v1`: every benefit paid is classified against the municipality's
//! guarantees the recipient is part of ([`crate::domain::classify`]) and stored with the
//! classification:
//!
//! - `recoverable`: paid to the spouse of a guarantee in force under aktivloven or
//!   integrationsloven; it counts in the guarantee's recoverable amount until its limitation
//!   runs out;
//! - `reported`: paid to the spouse or the resident where a maintenance requirement applies
//!   (a recoverable benefit may be reported too: the `reported` column);
//! - `no_guarantee`: the recipient is in no guarantee here — counted, not an error;
//! - `not_recoverable`: linked to a guarantee, but another law, paid to the resident, outside
//!   the guarantee's period, or covered by another guarantee (the reason per guarantee is kept).
//!
//! The benefit's natural key is `(source, benefit_id)`: the same benefit again is a no-op, the
//! same key with other content is rejected. A malformed benefit (a negative amount, an unknown
//! law, an invalid national id) never gets here: the contract's decoder rejects it with the
//! field's path.
//!
//! A benefit is classified against the guarantees stored when it arrives; when a guarantee of
//! its recipient is registered or changed later, [`reclassify`] classifies it again.
//!
//! Once stored, the classification is acted on ([`act_on`], also after [`reclassify`]), in the
//! same transaction:
//!
//! - **Reports.** Each [`crate::domain::Report`] (a maintenance requirement; spouse or
//!   resident) is kept once in `benefit_reports` (key `report_id`, deterministic per benefit and
//!   guarantee, [`report_id`]) and published once as `guarantee.benefit.reported.v1` through the
//!   outbox, `reported_date` the business day (never before the paid date). The event carries
//!   the national id: only the integration's consumer queue is bound to it
//!   (`deploy/rabbitmq/identities.toml`, `immigration-reporting`). The business day opened next
//!   puts it into the daily file ([`crate::daily_file`]).
//! - **Guidance.** A recoverable benefit (the spouse's, aktivloven or integrationsloven, the
//!   guarantee in force) gets the recipient the `guarantee_guidance` letter, once per guarantee
//!   or per payment as `[guarantee] guidance_letters` says ([`crate::domain::GuidanceLetters`];
//!   `guidance_letters` table; notification id [`guidance_notification_id`]). The spouse is known
//!   by national id only (no name, no address, no contact details in the registration), so the
//!   recipient is a party given by national id: notifications sends it by **digital post** to
//!   the CPR mailbox (a party with a national id gets digital post; without an address there is
//!   no print fallback, and a spouse exempt from digital post gets `delivery.failed`, for the
//!   caseworker). No address is given or printed; the party is stated `confidential` at least
//!   (`strictly_confidential` when the guarantor, the spouse's household, is: the protected
//!   route), and the guarantor's name goes in the letter only when the guarantor's address is
//!   unprotected. The name on the letter is the function, [`RECIPIENT_NAME`].

use restance_bus::{Effects, HandlerError, Inbound, Outcome, Rejection};
use restance_contracts::messages::{
    AddressProtection, BenefitPaid, BenefitReported, NotificationRequested, Party, Recipient,
    RecipientRole, Related,
};
use restance_kernel::{BusinessDate, Money, NationalId, PartyKind, Redacted};
use sea_orm::DatabaseTransaction;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::domain::{BenefitLaw, Classification, Link, PaidBenefit, Role, classify};
use crate::metrics;
use crate::state::Shared;
use crate::store::queries::benefits::{self, NewBenefit, outcome};
use crate::store::queries::daily::{self, StoredReport};
use crate::store::queries::guarantees::{self, StoredGuarantee};
use crate::store::queries::word;

/// The recipient's guidance letter.
pub const GUIDANCE: &str = "guarantee_guidance";

/// The name the guidance letter is addressed to: the registration does not name the spouse.
pub const RECIPIENT_NAME: &str = "Ydelsesmodtager";

/// Classifies and stores a benefit paid, and acts on it (see the module documentation).
pub async fn receive(
    shared: &Shared,
    tx: &DatabaseTransaction,
    effects: &mut Effects,
    inbound: &Inbound,
    b: BenefitPaid,
) -> Result<Outcome, HandlerError> {
    let on = super::guarantees::today(shared, tx, inbound, &b.municipality).await?;
    let by = Recording {
        source: &inbound.envelope.source,
        message_id: &inbound.envelope.id,
        on,
    };
    record(shared, tx, effects, by, b).await
}

/// Who records a benefit: the source (the envelope's, or the API's `/restance/guarantee/api`
/// for a benefit entered by hand), the message's or the request's id, and the business day it
/// is recorded on (reports are dated by it).
#[derive(Debug, Clone, Copy)]
pub struct Recording<'a> {
    /// The envelope source (or the API's).
    pub source: &'a str,
    /// The message's or the request's id.
    pub message_id: &'a str,
    /// The business day.
    pub on: BusinessDate,
}

/// Classifies and stores a benefit paid and acts on it: [`receive`] without the envelope.
pub async fn record(
    shared: &Shared,
    tx: &DatabaseTransaction,
    effects: &mut Effects,
    by: Recording<'_>,
    b: BenefitPaid,
) -> Result<Outcome, HandlerError> {
    let Recording {
        source,
        message_id,
        on,
    } = by;
    let content_hash = super::content_hash(&b)?;
    let recipient = b.recipient_national_id.expose().as_str();
    guarantees::lock_people(tx, &b.municipality, &[recipient]).await?;
    if let Some(known) = benefits::content_hash(tx, source, &b.benefit_id).await? {
        return Ok(same_or_rejected(&b.benefit_id, &known, &content_hash));
    }
    let (classification, stored) = classify_against_guarantees(
        tx,
        &b.municipality,
        recipient,
        PaidBenefit {
            law: b.law,
            paid_date: b.paid_date,
        },
    )
    .await?;
    let benefit = NewBenefit {
        source: source.to_owned(),
        benefit_id: b.benefit_id.clone(),
        municipality: b.municipality.clone(),
        recipient_national_id: Redacted(recipient.to_owned()),
        law: b.law,
        amount: b.amount,
        paid_date: b.paid_date,
        content_hash: content_hash.clone(),
    };
    if !benefits::insert(tx, &benefit, &classification, message_id).await? {
        // A replica stored the same key between the look and the insert.
        let known = benefits::content_hash(tx, source, &b.benefit_id)
            .await?
            .unwrap_or_default();
        return Ok(same_or_rejected(&b.benefit_id, &known, &content_hash));
    }
    let outcome = outcome(&classification);
    metrics::benefit_classified(outcome);
    tracing::info!(
        benefit_id = %b.benefit_id,
        municipality = %b.municipality,
        outcome,
        recoverable_from = classification.recoverable_from.as_deref().unwrap_or("-"),
        reports = classification.reports.len(),
        "benefit classified"
    );
    act_on(
        shared,
        tx,
        effects,
        on,
        &Paid {
            source,
            benefit_id: &b.benefit_id,
            recipient: b.recipient_national_id.expose(),
            law: b.law,
            amount: b.amount,
            paid_date: b.paid_date,
        },
        &classification,
        &stored,
    )
    .await?;
    Ok(Outcome::Done)
}

/// A benefit paid, as [`act_on`] reads it.
#[derive(Debug, Clone, Copy)]
pub struct Paid<'a> {
    /// The envelope source.
    pub source: &'a str,
    /// The benefits system's id.
    pub benefit_id: &'a str,
    /// The recipient (never logged).
    pub recipient: &'a NationalId,
    /// The act.
    pub law: BenefitLaw,
    /// The amount paid.
    pub amount: Money,
    /// The day it was paid.
    pub paid_date: BusinessDate,
}

/// Reports the benefit under each guarantee its classification says (once per benefit and
/// guarantee), and sends the recipient of a recoverable one the guidance letter when it is due
/// (see the module documentation). `stored` are the guarantees it was classified against.
pub async fn act_on(
    shared: &Shared,
    tx: &DatabaseTransaction,
    effects: &mut Effects,
    on: BusinessDate,
    paid: &Paid<'_>,
    classification: &Classification,
    stored: &[StoredGuarantee],
) -> Result<(), HandlerError> {
    let find = |id: &str| stored.iter().find(|g| g.guarantee_id == id);
    for report in &classification.reports {
        let Some(g) = find(&report.guarantee_id) else {
            continue;
        };
        let event = reported(paid, g, report.role, on);
        let row = StoredReport {
            report_id: event.report_id.clone(),
            source: paid.source.to_owned(),
            benefit_id: paid.benefit_id.to_owned(),
            guarantee_id: g.guarantee_id.clone(),
            municipality: g.municipality.clone(),
            person_id: g.person_id.clone(),
            recipient_national_id: Redacted(paid.recipient.as_str().to_owned()),
            recipient_role: word(&report.role),
            law: word(&paid.law),
            amount: paid.amount,
            paid_date: paid.paid_date,
            reported_on: event.reported_date,
        };
        if daily::insert_report(tx, &row).await? {
            effects.emit(event)?;
            metrics::benefit_reported();
            tracing::info!(benefit_id = %paid.benefit_id, guarantee_id = %g.guarantee_id,
                role = %row.recipient_role, "benefit reported to the immigration service");
        }
    }
    if let Some(g) = classification.recoverable_from.as_deref().and_then(find) {
        let already = daily::guidance_sent(tx, &g.guarantee_id).await?;
        if shared.guidance.is_due(already) {
            let key = match shared.guidance {
                crate::domain::GuidanceLetters::OncePerGuarantee => String::new(),
                crate::domain::GuidanceLetters::PerPayment => {
                    format!("{}/{}", paid.source, paid.benefit_id)
                }
            };
            let letter = guidance(shared, g, paid, &key)?;
            if daily::record_guidance(tx, &g.guarantee_id, &key, &letter.notification_id, on)
                .await?
            {
                tracing::info!(benefit_id = %paid.benefit_id, guarantee_id = %g.guarantee_id,
                    notification_id = %letter.notification_id,
                    "guidance letter to the recipient of a recoverable benefit");
                effects.emit(letter)?;
                metrics::guidance_letter();
            }
        }
    }
    Ok(())
}

/// The report id of a benefit under a guarantee: `BR-` and 32 hex digits of SHA-256 over the
/// benefit's natural key and the guarantee (the same benefit and guarantee, the same id).
pub fn report_id(source: &str, benefit_id: &str, guarantee_id: &str) -> String {
    let digest = Sha256::digest(format!("{source}\u{0}{benefit_id}\u{0}{guarantee_id}"));
    format!("BR-{}", &hex::encode(digest)[..32])
}

/// `guarantee.benefit.reported.v1` for `paid` under `g`, reported on `on` (or the paid date,
/// when that is later: a report is never dated before the payment).
pub fn reported(
    paid: &Paid<'_>,
    g: &StoredGuarantee,
    role: Role,
    on: BusinessDate,
) -> BenefitReported {
    BenefitReported {
        report_id: report_id(paid.source, paid.benefit_id, &g.guarantee_id),
        municipality: g.municipality.clone(),
        guarantee_id: g.guarantee_id.clone(),
        person_id: g.person_id.clone(),
        recipient_national_id: Redacted(paid.recipient.clone()),
        recipient_role: match role {
            Role::Spouse => RecipientRole::Spouse,
            Role::Resident => RecipientRole::Resident,
        },
        benefit_id: paid.benefit_id.to_owned(),
        law: paid.law,
        amount: paid.amount,
        paid_date: paid.paid_date,
        reported_date: on.max(paid.paid_date),
    }
}

/// The guidance letter's notification id: `guarantee:<guarantee>:guarantee_guidance` once per
/// guarantee, with 16 hex digits of the payment's key appended per payment.
pub fn guidance_notification_id(guarantee_id: &str, benefit_key: &str) -> String {
    if benefit_key.is_empty() {
        format!("guarantee:{guarantee_id}:{GUIDANCE}")
    } else {
        let digest = Sha256::digest(benefit_key);
        format!(
            "guarantee:{guarantee_id}:{GUIDANCE}:{}",
            &hex::encode(digest)[..16]
        )
    }
}

/// The guidance letter for `paid`, recoverable from `g`, to its recipient by national id.
fn guidance(
    shared: &Shared,
    g: &StoredGuarantee,
    paid: &Paid<'_>,
    benefit_key: &str,
) -> Result<NotificationRequested, HandlerError> {
    let guarantor = g.guarantor.expose();
    let guarantor_protection: AddressProtection =
        serde_json::from_value(guarantor["address_protection"].clone())
            .unwrap_or(AddressProtection::StrictlyConfidential);
    let guarantor_is_person = guarantor["kind"].as_str() != Some("company");
    let protection = if guarantor_is_person {
        guarantor_protection.max(AddressProtection::Confidential)
    } else {
        AddressProtection::Confidential
    };
    let mut data = json!({
        "guarantee_id": g.guarantee_id,
        "benefit": {
            "benefit_id": paid.benefit_id,
            "law": paid.law,
            "paid_date": paid.paid_date,
            "amount": paid.amount,
        },
        "currency": "DKK",
        "legal_basis": super::recovery::legal_basis(&[paid.law]),
    });
    if guarantor_protection == AddressProtection::None
        && let Some(name) = guarantor["name"].as_str()
    {
        data["guarantor"] = json!(name);
    }
    let office = shared.office_of(&g.municipality).ok_or_else(|| {
        HandlerError::Other(format!(
            "municipality {} has no office in the catalog",
            g.municipality
        ))
    })?;
    Ok(NotificationRequested {
        notification_id: guidance_notification_id(&g.guarantee_id, benefit_key),
        municipality: g.municipality.clone(),
        office: Some(office),
        template: GUIDANCE.to_owned(),
        language: None,
        recipient: Recipient::Party(Party {
            name: Redacted(RECIPIENT_NAME.to_owned()),
            party_kind: PartyKind::Person,
            national_id: Some(Redacted(paid.recipient.clone())),
            address: None,
            email: None,
            phone: None,
            language: None,
            address_protection: Some(protection),
        }),
        data,
        related: Related {
            service: Some(crate::SERVICE.to_owned()),
            claim_ids: Vec::new(),
            debtor_id: None,
            case_id: None,
        },
        attachments: Vec::new(),
    })
}

/// Classifies a benefit paid to `recipient` against the municipality's guarantees as they are
/// stored now; the classification and the guarantees it was made against.
async fn classify_against_guarantees(
    tx: &DatabaseTransaction,
    municipality: &str,
    recipient: &str,
    benefit: PaidBenefit,
) -> Result<(Classification, Vec<StoredGuarantee>), HandlerError> {
    let stored = guarantees::of_person(tx, municipality, recipient).await?;
    let mut loaded = Vec::with_capacity(stored.len());
    for g in &stored {
        if let Some(role) = g.role_of(recipient) {
            loaded.push((role, guarantees::load(tx, g).await?));
        }
    }
    let links: Vec<Link<'_>> = loaded
        .iter()
        .map(|(role, guarantee)| Link {
            role: *role,
            guarantee,
        })
        .collect();
    let classification = classify(&benefit, &links);
    Ok((classification, stored))
}

/// Classifies again the municipality's benefits paid to `people` (a guarantee's resident and
/// spouse) after their guarantees changed: a guarantee registered after some of its benefits
/// arrived (the two come from different systems, in no promised order), or a change that moves
/// the guarantee's end before a payment. A classification that changes is stored with its new
/// links and counted (`restance_guarantee_benefits_reclassified_total{outcome}`), and acted on
/// ([`act_on`], business day `on`): a benefit that became reported or recoverable is reported
/// and gets its guidance letter now.
pub async fn reclassify(
    shared: &Shared,
    tx: &DatabaseTransaction,
    effects: &mut Effects,
    on: BusinessDate,
    municipality: &str,
    people: &[&str],
) -> Result<(), HandlerError> {
    for b in benefits::of_recipients(tx, municipality, people).await? {
        let (classification, stored) = classify_against_guarantees(
            tx,
            municipality,
            b.recipient_national_id.expose(),
            PaidBenefit {
                law: b.law,
                paid_date: b.paid_date,
            },
        )
        .await?;
        let now = outcome(&classification);
        if now == b.classification
            && classification.recoverable_from == b.recoverable_from
            && classification.is_reported() == b.reported
        {
            continue;
        }
        benefits::reclassify(tx, &b.source, &b.benefit_id, &classification).await?;
        metrics::benefit_reclassified(now);
        tracing::info!(
            benefit_id = %b.benefit_id,
            municipality,
            was = %b.classification,
            outcome = now,
            "benefit classified again"
        );
        let Ok(recipient) = NationalId::parse_any(b.recipient_national_id.expose()) else {
            continue;
        };
        act_on(
            shared,
            tx,
            effects,
            on,
            &Paid {
                source: &b.source,
                benefit_id: &b.benefit_id,
                recipient: &recipient,
                law: b.law,
                amount: b.amount,
                paid_date: b.paid_date,
            },
            &classification,
            &stored,
        )
        .await?;
    }
    Ok(())
}

fn same_or_rejected(benefit_id: &str, known: &str, now: &str) -> Outcome {
    if known == now {
        Outcome::Done
    } else {
        Outcome::Rejected(Rejection::new(format!(
            "benefit {benefit_id} is already recorded from this source with other content"
        )))
    }
}
