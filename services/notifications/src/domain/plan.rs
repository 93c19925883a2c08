//! A delivery's plan: everything the worker needs to send one channel of one notification,
//! decided once when the notification is planned (recipient, route, language, letter date,
//! the data after address protection) and stored with the delivery row. Personal data: it lives
//! in the database only; `Debug` shows no values.

use crate::domain::contact::Contact;
use restance_contracts::messages::{LetterChannel, Related};
use restance_kernel::{BusinessDate, Language, Municipality, Redacted};
use restance_letters::{LetterInput, Letterhead, RecipientBlock};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// How the channel is used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PlannedRoute {
    /// A letter by this route.
    Letter {
        /// digital_post | print | protected.
        channel: LetterChannel,
    },
    /// An SMS.
    Sms {
        /// Digits without `+`.
        msisdn: Redacted<String>,
    },
    /// An e-mail.
    Email {
        /// With the letter PDF attached.
        attach_pdf: bool,
    },
}

/// One channel of one notification, ready to send.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryPlan {
    /// The request's id (the natural key with the channel).
    pub notification_id: String,
    /// Municipality code.
    pub municipality: String,
    /// The office whose letterhead the letter carries.
    pub office: Option<String>,
    /// Template id.
    pub template: String,
    /// The language it is written in.
    pub language: Language,
    /// The date printed on the letter.
    pub letter_date: BusinessDate,
    /// The template's data, after address protection.
    pub data: Value,
    /// What it concerns (copied into failure events).
    pub related: Related,
    /// The recipient.
    pub contact: Contact,
    /// The route.
    pub route: PlannedRoute,
    /// The W3C `traceparent` of the request's handling: the delivery, sent later by the
    /// worker, continues that trace (absent in plans stored before tracing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}

impl fmt::Debug for DeliveryPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeliveryPlan")
            .field("notification_id", &self.notification_id)
            .field("municipality", &self.municipality)
            .field("template", &self.template)
            .field("language", &self.language)
            .field("route", &self.route)
            .finish_non_exhaustive()
    }
}

impl DeliveryPlan {
    /// What the renderer gets. `address_lines`: the recipient block's lines (`Some(vec![])` for
    /// text parts, which print the name only); `None` prints no recipient block at all (the
    /// protected route).
    pub fn letter_input(
        &self,
        municipality: &Municipality,
        address_lines: Option<Vec<String>>,
    ) -> LetterInput {
        LetterInput {
            letterhead: Letterhead::from_catalog(municipality, self.office.as_deref()),
            recipient: address_lines.map(|lines| RecipientBlock {
                name: self.contact.name.expose().clone(),
                address_lines: lines,
            }),
            letter_date: self.letter_date,
            reference: self.notification_id.clone(),
            data: self.data.clone(),
        }
    }
}
