//! The channels: rendering the PDF, and sending the letter, the SMS and the e-mail.

use super::email;
use super::{SendError, Sent, Worker, file_stem, write_atomically};
use crate::domain::ids::{self, clean_reason};
use crate::domain::plan::DeliveryPlan;
use crate::store::queries::{self, DocumentRow};
use restance_contracts::messages::{
    DocumentRef, EmailSent, LetterChannel, LetterReady, LetterRecipient, SmsSent,
};
use restance_letters::TextPart;
use sha2::{Digest, Sha256};
use std::time::Instant;

impl Worker {
    pub(super) async fn render_pdf(
        &self,
        plan: &DeliveryPlan,
        protected: bool,
    ) -> Result<(Vec<u8>, u32), SendError> {
        let m = self.municipality(plan)?;
        let address = if protected {
            None
        } else {
            plan.contact.address_lines(m.country)
        };
        let input = plan.letter_input(m, address);
        let renderer = self.shared.renderer.clone();
        let template = plan.template.clone();
        let language = plan.language;
        let started = Instant::now();
        let rendered = self
            .renders
            .run(move || renderer.render_pdf(&template, language, &input))
            .await
            .map_err(|_| SendError::Transient("the letter renderer stopped".to_owned()))?
            .map_err(|e| SendError::Permanent(clean_reason(&e.to_string())))?;
        metrics::histogram!("restance_notifications_render_seconds")
            .record(started.elapsed().as_secs_f64());
        Ok((rendered.bytes, rendered.pages))
    }

    pub(super) async fn send_letter(
        &self,
        plan: &DeliveryPlan,
        channel: LetterChannel,
    ) -> Result<Sent, SendError> {
        let protected = channel == LetterChannel::Protected;
        let (bytes, pages) = self.render_pdf(plan, protected).await?;
        let document_id = ids::document_id(&plan.notification_id);
        let path = ids::document_path(plan.letter_date, &document_id);
        let full = self.documents.join(&path);
        let sha256 = hex::encode(Sha256::digest(&bytes));
        tokio::task::spawn_blocking(move || write_atomically(&full, &bytes))
            .await
            .map_err(|_| SendError::Transient("the letter writer stopped".to_owned()))?
            .map_err(|e| {
                SendError::Transient(format!(
                    "cannot write the letter to the documents directory: {e}"
                ))
            })?;
        let c = &plan.contact;
        let event = LetterReady {
            notification_id: plan.notification_id.clone(),
            municipality: plan.municipality.clone(),
            channel,
            recipient: LetterRecipient {
                debtor_id: c.debtor_id.clone(),
                party_kind: c.kind,
                national_id: c.national_id.clone(),
                name: c.name.clone(),
                address: if protected { None } else { c.address.clone() },
                address_protection: c.protection,
            },
            template: plan.template.clone(),
            language: plan.language,
            document: DocumentRef {
                id: document_id.clone(),
                path: path.clone(),
                sha256: sha256.clone(),
                pages,
            },
        };
        let row = DocumentRow {
            document_id,
            notification_id: plan.notification_id.clone(),
            path,
            sha256,
            pages: i64::from(pages),
        };
        Ok(Sent::Letter(Box::new((event, row))))
    }

    pub(super) async fn send_sms(
        &self,
        plan: &DeliveryPlan,
        msisdn: &str,
    ) -> Result<Sent, SendError> {
        let Some(gateway) = &self.sms else {
            return Err(SendError::Permanent(
                "SMS is switched off in this installation (no sms.url configured)".to_owned(),
            ));
        };
        let m = self.municipality(plan)?;
        let input = plan.letter_input(m, Some(Vec::new()));
        let text = self
            .shared
            .renderer
            .render_text(&plan.template, plan.language, TextPart::Sms, &input)
            .map_err(|e| SendError::Permanent(clean_reason(&e.to_string())))?
            .ok_or_else(|| {
                SendError::Permanent(format!("template {} has no SMS text", plan.template))
            })?;
        let sender = self.shared.config.sms_sender_for(&plan.municipality);
        let provider_id = gateway
            .send(sender, &text, msisdn, &plan.notification_id)
            .await?;
        Ok(Sent::Sms(SmsSent {
            notification_id: plan.notification_id.clone(),
            municipality: plan.municipality.clone(),
            template: plan.template.clone(),
            provider_id,
            sent_at: self.shared.clock.now(),
        }))
    }

    pub(super) async fn send_email(
        &self,
        plan: &DeliveryPlan,
        attach_pdf: bool,
    ) -> Result<Sent, SendError> {
        let m = self.municipality(plan)?;
        let to = plan.contact.email.as_ref().ok_or_else(|| {
            SendError::Permanent("no e-mail address is known for the recipient".to_owned())
        })?;
        let input = plan.letter_input(m, Some(Vec::new()));
        let part = |p: TextPart| {
            self.shared
                .renderer
                .render_text(&plan.template, plan.language, p, &input)
                .map_err(|e| SendError::Permanent(clean_reason(&e.to_string())))
        };
        let subject = part(TextPart::EmailSubject)?.ok_or_else(|| {
            SendError::Permanent(format!("template {} has no e-mail", plan.template))
        })?;
        let text = part(TextPart::EmailText)?.ok_or_else(|| {
            SendError::Permanent(format!("template {} has no e-mail text", plan.template))
        })?;
        let html = part(TextPart::EmailHtml)?;
        let mut attachments = Vec::new();
        if attach_pdf {
            let protected = plan.contact.protection
                == restance_contracts::messages::AddressProtection::StrictlyConfidential;
            let (bytes, _) = self.render_pdf(plan, protected).await?;
            attachments.push(email::EmailAttachment {
                name: format!("{}.pdf", file_stem(&plan.notification_id)),
                media_type: "application/pdf".to_owned(),
                bytes,
            });
        }
        let pdf_attached = !attachments.is_empty();
        // The request's own files (stored with the notification), after the letter.
        let files = queries::attachments_of(&self.db, &plan.notification_id)
            .await
            .map_err(|e| {
                SendError::Transient(format!("cannot read the e-mail's attachments: {e}"))
            })?;
        attachments.extend(files.into_iter().map(|f| email::EmailAttachment {
            name: f.name,
            media_type: f.media_type,
            bytes: f.content,
        }));
        let message_id = ids::message_id(&plan.notification_id, &m.sender.email);
        self.mailer
            .send(email::Email {
                from_name: &m.sender.name,
                from_address: &m.sender.email,
                to_name: plan.contact.name.expose(),
                to_address: to.expose(),
                message_id: &message_id,
                subject: &subject,
                text: &text,
                html: html.as_deref(),
                attachments,
            })
            .await?;
        Ok(Sent::Email(EmailSent {
            notification_id: plan.notification_id.clone(),
            municipality: plan.municipality.clone(),
            template: plan.template.clone(),
            message_id,
            attachment: pdf_attached,
            sent_at: self.shared.clock.now(),
        }))
    }
}
