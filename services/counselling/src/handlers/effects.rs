//! What a step's [`Effect`]s become: notification requests (letters and SMS), the case's events
//! and the end of its dunning holds. Shared by the consumer (applications, the business day) and
//! the API (the counsellor's steps), so both send the same messages for the same step.
//!
//! - **The applicant** is a party given in full: digital post with the national id unless they
//!   reserved against it, else print to the address; a code 6 address goes by the protected
//!   route (notifications decides by `address_protection`). No letter names a related debtor:
//!   the applicant need not be a debtor invoicing announced.
//! - **A creditor** is an organisation: printed to its address and e-mailed where an address is
//!   known (the template's channels). Its letters name the applicant by name and birth date —
//!   never the national id, never the address, protected or not.

use restance_bus::{Effects, HandlerError};
use restance_contracts::messages::{
    CaseClosed, DunningReleased, NotificationRequested, Party, Recipient, Related,
};
use restance_kernel::{BusinessDate, PartyKind, Redacted};
use sea_orm::DatabaseTransaction;
use serde_json::{Value, json};

use crate::domain::{Effect, To};
use crate::state::Shared;
use crate::store::queries::cases::StoredCase;
use crate::store::queries::holds;

/// The notification id of a case's letter or SMS `key`.
pub fn notification_id(case_id: &str, key: &str) -> String {
    format!("counselling:{case_id}:{key}")
}

/// Carries out `effects` of a step of `stored` on `on`, in `tx`, into `out`.
pub async fn carry_out(
    shared: &Shared,
    tx: &DatabaseTransaction,
    out: &mut Effects,
    stored: &StoredCase,
    effects: Vec<Effect>,
    on: BusinessDate,
) -> Result<(), HandlerError> {
    for effect in effects {
        match effect {
            Effect::Notify {
                key,
                template,
                to,
                data,
            } => {
                let n = request(shared, stored, &key, template, to, data)?;
                out.emit(n)?;
                crate::metrics::notification(template);
            }
            Effect::WorkEnded => {
                let released = holds::release(tx, &stored.case_id, on).await?;
                crate::metrics::hold("released", released.len() as u64);
                for (municipality, debtor_id) in released {
                    out.emit(DunningReleased {
                        case_id: stored.case_id.clone(),
                        municipality,
                        debtor_id,
                        released_date: on,
                    })?;
                }
            }
            Effect::Closed => {
                let c = &stored.case;
                let reason = c.close_reason.ok_or_else(|| {
                    HandlerError::Other(format!("case {} closed without a reason", c.case_id))
                })?;
                out.emit(CaseClosed {
                    case_id: c.case_id.clone(),
                    municipality: stored.municipality.clone(),
                    applicant_id: stored.applicant_id.clone(),
                    counsellor: c.counsellor.clone(),
                    reason,
                    work_ended_date: c.work_ended_on.unwrap_or(on),
                    closed_date: on,
                })?;
                crate::metrics::case_closed(reason.as_str());
            }
        }
    }
    Ok(())
}

/// The notification request of one letter or SMS.
fn request(
    shared: &Shared,
    stored: &StoredCase,
    key: &str,
    template: &'static str,
    to: To,
    mut data: Value,
) -> Result<NotificationRequested, HandlerError> {
    let m = shared.municipality(&stored.municipality).ok_or_else(|| {
        HandlerError::Other(format!(
            "municipality {} has no [counselling] configuration any more",
            stored.municipality
        ))
    })?;
    let office = shared.office_of(&stored.municipality).ok_or_else(|| {
        HandlerError::Other(format!(
            "municipality {} has no office in the catalog",
            stored.municipality
        ))
    })?;
    let is_sms = crate::domain::case::is_sms(template);
    if let Value::Object(fields) = &mut data {
        if !is_sms {
            fields.insert("legal_basis".into(), json!(shared.config.legal_basis));
            fields.insert(
                "counsellor".into(),
                json!(m.name_of(&stored.case.counsellor)),
            );
        }
        if let Some(contact) = &m.contact {
            fields.insert("contact".into(), json!(contact));
        }
    }
    let recipient = match to {
        To::Applicant => Recipient::Party(applicant_party(stored)),
        To::Creditor(i) => {
            let c = stored.case.creditors.get(i).ok_or_else(|| {
                HandlerError::Other(format!("creditor {i} is not on case {}", stored.case_id))
            })?;
            if let Value::Object(fields) = &mut data {
                fields.insert("applicant".into(), json!(stored.applicant.name.expose()));
                if let Some(born) = stored
                    .applicant
                    .national_id
                    .as_ref()
                    .and_then(|n| n.expose().birth_date())
                {
                    fields.insert("birth_date".into(), json!(BusinessDate::from(born)));
                }
            }
            Recipient::Party(Party {
                name: Redacted(c.name.clone()),
                party_kind: PartyKind::Company,
                national_id: None,
                address: c.address.clone(),
                email: c.email.clone().map(Redacted),
                phone: None,
                language: None,
                address_protection: None,
            })
        }
    };
    Ok(NotificationRequested {
        notification_id: notification_id(&stored.case_id, key),
        municipality: stored.municipality.clone(),
        office: Some(office),
        template: template.to_owned(),
        language: None,
        recipient,
        data,
        related: Related {
            service: Some(crate::SERVICE.to_owned()),
            claim_ids: Vec::new(),
            debtor_id: None,
            case_id: Some(stored.case_id.clone()),
        },
        attachments: Vec::new(),
    })
}

/// The applicant as a recipient: digital post by national id unless reserved, else print; the
/// protection as registered.
fn applicant_party(stored: &StoredCase) -> Party {
    let a = &stored.applicant;
    Party {
        name: a.name.clone(),
        party_kind: PartyKind::Person,
        national_id: if a.digital_post {
            a.national_id.clone()
        } else {
            None
        },
        address: Some(a.address.clone()),
        email: a.email.clone(),
        phone: a.phone.clone(),
        language: a.language,
        address_protection: Some(a.address_protection),
    }
}
