//! To and from our notifications service: the one command other services use to reach a person,
//! and the delivery events it publishes (letters ready for the print / digital-post provider, SMS
//! and e-mail sent, deliveries that failed).

use chrono::{DateTime, Utc};
use restance_kernel::{Language, NationalId, PartyKind, Redacted};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::check::Problems;
use crate::messages::party::{Address, AddressProtection};
use crate::{Message, Problem, Validate};

/// Longest template id (`reminder_1`, `payment_plan_confirmation` …).
const MAX_TEMPLATE_CHARS: usize = 64;
/// How many claims one notification may concern.
const MAX_RELATED_CLAIMS: usize = 500;
/// How many files one notification may carry.
pub const MAX_ATTACHMENTS: usize = 10;
/// The most bytes (decoded) all attachments of one notification may hold together: 160 KiB.
///
/// Base64 makes that about 214 KiB, which leaves room for the rest of the message under
/// [`crate::MAX_MESSAGE_BYTES`] (256 KiB), the bound every consumer reads with. Larger files
/// go by link, not through the bus.
pub const MAX_ATTACHMENT_BYTES: usize = 160 * 1024;
/// Longest attachment file name, in characters.
const MAX_ATTACHMENT_NAME_CHARS: usize = 100;
/// Longest media type (`type/subtype` with parameters), in characters.
const MAX_MEDIA_TYPE_CHARS: usize = 127;

/// `notifications.notification.requested.v1`: send the template `template` to `recipient`.
///
/// `notification_id` is the natural key: one letter, one SMS and one e-mail per notification id
/// and channel, however often the command is delivered. Producers derive it from what the
/// notification is about (e.g. dunning: the claims and the step), so a re-run cannot send twice.
/// Which channels are used is the notifications service's configuration per template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationRequested {
    /// The producer's deterministic id for this notification.
    pub notification_id: String,
    /// Municipality code: chooses the letterhead, sender and payment details.
    pub municipality: String,
    /// The collection office whose letterhead and contact details the letter carries (the
    /// municipality's first office when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub office: Option<String>,
    /// Template id, e.g. `reminder_1`; must exist in every language.
    pub template: String,
    /// Overrides the recipient's language (else the debtor's, else the municipality's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<Language>,
    /// Who receives it.
    pub recipient: Recipient,
    /// The template's fields (a JSON object; each template lists what it needs).
    pub data: Value,
    /// What the notification concerns, for the case history and the delivery events.
    #[serde(default)]
    pub related: Related,
    /// Files the e-mail carries as attachments (e.g. reporting's XLSX and CSV), in this order.
    ///
    /// Only the e-mail channel sends them; a letter or SMS of the same notification goes
    /// without them (a letter's document is the rendered PDF, an SMS is text). They are sent as
    /// given: address protection cannot scrub a file, so a producer must not put a protected
    /// address into one. At most [`MAX_ATTACHMENTS`] files and [`MAX_ATTACHMENT_BYTES`] in all.
    /// Optional (added after v1 was published): absent means none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
}

impl Message for NotificationRequested {
    const TYPE: &'static str = "notifications.notification.requested.v1";
}

impl Validate for NotificationRequested {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.notification_id", &self.notification_id);
        p.id("data.municipality", &self.municipality);
        if let Some(office) = &self.office {
            p.id("data.office", office);
        }
        template_id(&mut p, "data.template", &self.template);
        match &self.recipient {
            Recipient::Debtor { debtor_id } => p.id("data.recipient.debtor_id", debtor_id),
            Recipient::Party(party) => party.check(&mut p, "data.recipient"),
        }
        if !self.data.is_object() {
            p.add(
                "data.data",
                "must be a JSON object with the template's fields",
            );
        }
        self.related.check(&mut p);
        check_attachments(&mut p, &self.attachments);
        p.into_vec()
    }
}

/// A file carried by a notification's e-mail.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The file name the recipient sees, e.g. `arrears-0746-2026-12.xlsx`: a plain name, no
    /// directories (no `/` or `\`), no control characters, not starting with `.`.
    pub name: String,
    /// Its media type, e.g. `text/csv; charset=utf-8` (`type/subtype`, optional parameters).
    pub media_type: String,
    /// The content in standard base64 (RFC 4648 §4: `+/`, `=` padding, no line breaks).
    pub content_base64: String,
}

impl Attachment {
    /// An attachment of `bytes`, encoded for the message.
    pub fn from_bytes(
        name: impl Into<String>,
        media_type: impl Into<String>,
        bytes: &[u8],
    ) -> Attachment {
        Attachment {
            name: name.into(),
            media_type: media_type.into(),
            content_base64: crate::base64::encode(bytes),
        }
    }

    /// The file's bytes; `None` when `content_base64` is not valid base64 (a validated message
    /// always decodes).
    pub fn content(&self) -> Option<Vec<u8>> {
        crate::base64::decode(&self.content_base64)
    }

    /// The size of the decoded content; `None` when it is not valid base64.
    pub fn size(&self) -> Option<usize> {
        crate::base64::decoded_len(&self.content_base64)
    }
}

/// Name, media type and size: the content is neither printed nor logged.
impl std::fmt::Debug for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attachment")
            .field("name", &self.name)
            .field("media_type", &self.media_type)
            .field("base64_chars", &self.content_base64.len())
            .finish()
    }
}

fn check_attachments(p: &mut Problems, attachments: &[Attachment]) {
    if attachments.len() > MAX_ATTACHMENTS {
        p.add(
            "data.attachments",
            format!("must hold at most {MAX_ATTACHMENTS} files"),
        );
    }
    let mut total = 0usize;
    let mut names = std::collections::BTreeSet::new();
    for (i, a) in attachments.iter().enumerate() {
        let at = format!("data.attachments[{i}]");
        if let Some(message) = file_name_problem(&a.name) {
            p.add(format!("{at}.name"), message);
        } else if !names.insert(a.name.to_lowercase()) {
            p.add(
                format!("{at}.name"),
                "is the name of an earlier attachment (names must differ)",
            );
        }
        if !is_media_type(&a.media_type) {
            p.add(
                format!("{at}.media_type"),
                "must be a media type like text/csv or application/pdf (type/subtype, optional ; parameters)",
            );
        }
        match a.size() {
            None => p.add(
                format!("{at}.content_base64"),
                "must be standard base64 (A-Z a-z 0-9 + /, = padding, no line breaks)",
            ),
            Some(0) => p.add(format!("{at}.content_base64"), "must not be empty"),
            Some(n) => total = total.saturating_add(n),
        }
    }
    if total > MAX_ATTACHMENT_BYTES {
        p.add(
            "data.attachments",
            format!(
                "the files must hold at most {MAX_ATTACHMENT_BYTES} bytes together (160 KiB, decoded); send larger files by link"
            ),
        );
    }
}

/// Why `name` is not a safe file name, if it is not.
fn file_name_problem(name: &str) -> Option<&'static str> {
    if name.trim().is_empty() {
        Some("must not be blank")
    } else if name.chars().count() > MAX_ATTACHMENT_NAME_CHARS {
        Some("must be at most 100 characters")
    } else if name.contains(['/', '\\']) {
        Some("must be a plain file name without a path (no / or \\)")
    } else if name.chars().any(char::is_control)
        || name.contains(['<', '>', ':', '"', '|', '?', '*'])
    {
        Some("must not contain control characters or any of < > : \" | ? *")
    } else if name.starts_with('.') || name.ends_with(['.', ' ']) || name.starts_with(' ') {
        Some("must not start with a dot or a space, nor end with a dot or a space")
    } else {
        None
    }
}

/// `type/subtype` with optional `; attribute=value` parameters, all RFC 2045 tokens (a value
/// may be a simple quoted string).
fn is_media_type(value: &str) -> bool {
    fn token(s: &str) -> bool {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b))
    }
    if value.chars().count() > MAX_MEDIA_TYPE_CHARS {
        return false;
    }
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or_default().trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    if !token(kind) || !token(subtype) {
        return false;
    }
    parts.all(|param| {
        let Some((attribute, v)) = param.trim().split_once('=') else {
            return false;
        };
        let quoted = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .is_some_and(|inner| {
                inner
                    .bytes()
                    .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\')
            });
        token(attribute) && (token(v) || quoted)
    })
}

/// A template id: lower-case letters, digits and `_`, starting with a letter.
fn template_id(p: &mut Problems, path: &str, value: &str) {
    let well_formed = !value.is_empty()
        && value.len() <= MAX_TEMPLATE_CHARS
        && value.starts_with(|c: char| c.is_ascii_lowercase())
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !well_formed {
        p.add(
            path,
            "must be a template id like reminder_1 (a-z, 0-9 and _, at most 64 characters)",
        );
    }
}

/// The recipient of a notification: a debtor the notifications service knows from
/// `invoicing.debtor.updated.v1`, or an explicit party (a bank, a creditor, a committee list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Recipient {
    /// A debtor by the upstream debtor id; contact details come from the contact directory. A
    /// request for a debtor not yet known is parked until the details arrive.
    Debtor {
        /// `debtor.id` of the invoices.
        debtor_id: String,
    },
    /// A party given in full; at least one of `address`, `email`, `phone` is needed.
    Party(Party),
}

/// An explicit recipient that is not a debtor of ours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    /// Name printed on the letter.
    pub name: Redacted<String>,
    /// Person or company (companies always receive digital post).
    #[serde(default = "company")]
    pub party_kind: PartyKind,
    /// For digital post: the mailbox owner's CPR/CVR or fødselsnummer/org.nr.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub national_id: Option<Redacted<NationalId>>,
    /// Postal address, for print.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Redacted<String>>,
    /// E.164 phone number for SMS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<Redacted<String>>,
    /// The party's language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<Language>,
    /// The party's address protection; required for a person (a guarantor, say), `none` when
    /// absent for a company.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_protection: Option<AddressProtection>,
}

fn company() -> PartyKind {
    PartyKind::Company
}

impl Party {
    /// The protection that applies: the given one, else `none` (only companies may omit it).
    pub fn protection(&self) -> AddressProtection {
        self.address_protection.unwrap_or(AddressProtection::None)
    }

    fn check(&self, p: &mut Problems, at: &str) {
        p.text(&format!("{at}.name"), self.name.expose());
        if let Some(id) = &self.national_id
            && id.expose().party_kind() != self.party_kind
        {
            p.add(
                format!("{at}.national_id"),
                "must be a national id of the party's kind",
            );
        }
        if let Some(address) = &self.address {
            address.check(p, &format!("{at}.address"));
        }
        if self.party_kind == PartyKind::Person && self.address_protection.is_none() {
            p.add(
                format!("{at}.address_protection"),
                "is required for a person (none, confidential or strictly_confidential)",
            );
        }
        if let Some(email) = &self.email {
            p.email(&format!("{at}.email"), email.expose());
        }
        if let Some(phone) = &self.phone {
            p.phone(&format!("{at}.phone"), phone.expose());
        }
        if self.address.is_none()
            && self.email.is_none()
            && self.phone.is_none()
            && self.national_id.is_none()
        {
            p.add(
                at,
                "needs at least one of address, email, phone or national_id (for digital post)",
            );
        }
    }
}

/// Someone a service e-mails by configuration rather than as a debtor — a committee, a
/// council secretariat, a guarantee administrator: a name, an e-mail address and optionally the
/// e-mail's language (absent: the municipality's). Read from a service's configuration section
/// (reporting's report recipients, guarantee's administrator and statement recipients).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailContact {
    /// The name the e-mail is addressed to.
    pub name: String,
    /// The e-mail address.
    pub email: String,
    /// The e-mail's language; absent: the municipality's.
    #[serde(default)]
    pub language: Option<Language>,
}

impl std::fmt::Debug for EmailContact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Names and addresses of people are personal data: never in logs.
        f.debug_struct("EmailContact")
            .field("name", &"[redacted]")
            .field("email", &"[redacted]")
            .field("language", &self.language)
            .finish()
    }
}

impl EmailContact {
    /// The notifications command's recipient: a party given in full, reached by e-mail.
    /// Committees, secretariats and administrators are functions of an organisation, so the
    /// party is company-kind (no address protection applies to a mailing address).
    pub fn recipient(&self) -> Recipient {
        Recipient::Party(Party {
            name: Redacted::new(self.name.clone()),
            party_kind: PartyKind::Company,
            national_id: None,
            address: None,
            email: Some(Redacted::new(self.email.clone())),
            phone: None,
            language: self.language,
            address_protection: None,
        })
    }

    /// What the notifications command would refuse about this contact for `municipality`, as
    /// `(field, message)` (`field` relative to the contact, e.g. `email`): checked when a
    /// configuration is loaded, so that a bad address stops the service at start rather than
    /// dead-lettering its first e-mail.
    pub fn problems(&self, municipality: &str) -> Vec<(String, String)> {
        let probe = NotificationRequested {
            notification_id: "probe".into(),
            municipality: municipality.to_owned(),
            office: None,
            template: "report_ready".into(),
            language: None,
            recipient: self.recipient(),
            data: serde_json::json!({}),
            related: Related::default(),
            attachments: Vec::new(),
        };
        probe
            .validate()
            .into_iter()
            .map(|p| {
                let field = p.path.strip_prefix("data.recipient.").unwrap_or(&p.path);
                (field.to_owned(), p.message)
            })
            .collect()
    }
}

/// What a notification concerns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Related {
    /// The producing service, e.g. `dunning`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Claims concerned (invoicing's claim ids).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claim_ids: Vec<String>,
    /// The debtor concerned (also for a letter to a bank about a debtor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debtor_id: Option<String>,
    /// A case in the producing service (a plan, a meeting, a guarantee case, a report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_id: Option<String>,
}

impl Related {
    fn check(&self, p: &mut Problems) {
        if let Some(service) = &self.service {
            p.id("data.related.service", service);
        }
        if self.claim_ids.len() > MAX_RELATED_CLAIMS {
            p.add(
                "data.related.claim_ids",
                format!("must list at most {MAX_RELATED_CLAIMS} claims"),
            );
        }
        for (i, id) in self.claim_ids.iter().enumerate() {
            p.id(&format!("data.related.claim_ids[{i}]"), id);
        }
        if let Some(debtor) = &self.debtor_id {
            p.id("data.related.debtor_id", debtor);
        }
        if let Some(case) = &self.case_id {
            p.id("data.related.case_id", case);
        }
    }
}

/// How a letter reaches its recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LetterChannel {
    /// The recipient's digital mailbox (Digital Post, e-Boks, Digipost); companies always.
    DigitalPost,
    /// Printed and posted (a person exempt from digital post).
    Print,
    /// Strictly confidential address: the provider's protected route, no address printed.
    Protected,
}

/// The rendered PDF a letter event points to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentRef {
    /// Document id, served at `GET /api/v1/documents/{id}` by the notifications service.
    pub id: String,
    /// Path relative to `RESTANCE__DOCUMENTS__DIR`.
    pub path: String,
    /// SHA-256 of the PDF bytes, lower-case hex.
    pub sha256: String,
    /// Number of pages.
    pub pages: u32,
}

/// Who a rendered letter is for, as the print / digital-post provider needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LetterRecipient {
    /// The debtor id, when the recipient is a debtor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debtor_id: Option<String>,
    /// Person or company.
    pub party_kind: PartyKind,
    /// The mailbox owner's national id (digital post needs it; absent for a party without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub national_id: Option<Redacted<NationalId>>,
    /// Name on the letter.
    pub name: Redacted<String>,
    /// The postal address; never present on the `protected` channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    /// The address protection the letter was produced under.
    pub address_protection: AddressProtection,
}

/// `notifications.letter.ready.v1`: a letter is rendered and waits for the print / digital-post
/// provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LetterReady {
    /// The request's id.
    pub notification_id: String,
    /// Municipality code.
    pub municipality: String,
    /// How the provider must deliver it.
    pub channel: LetterChannel,
    /// Who it is for.
    pub recipient: LetterRecipient,
    /// Template id.
    pub template: String,
    /// The language it was written in.
    pub language: Language,
    /// The PDF.
    pub document: DocumentRef,
}

impl Message for LetterReady {
    const TYPE: &'static str = "notifications.letter.ready.v1";
}

impl Validate for LetterReady {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.notification_id", &self.notification_id);
        p.id("data.municipality", &self.municipality);
        template_id(&mut p, "data.template", &self.template);
        if let Some(debtor) = &self.recipient.debtor_id {
            p.id("data.recipient.debtor_id", debtor);
        }
        p.text("data.recipient.name", self.recipient.name.expose());
        if let Some(address) = &self.recipient.address {
            address.check(&mut p, "data.recipient.address");
        }
        match self.channel {
            LetterChannel::Protected if self.recipient.address.is_some() => p.add(
                "data.recipient.address",
                "must be absent on the protected channel",
            ),
            LetterChannel::Print if self.recipient.address.is_none() => {
                p.add("data.recipient.address", "is required for print")
            }
            LetterChannel::DigitalPost if self.recipient.national_id.is_none() => {
                p.add("data.recipient.national_id", "is required for digital post")
            }
            _ => {}
        }
        if self.recipient.address_protection == AddressProtection::StrictlyConfidential
            && self.channel != LetterChannel::Protected
        {
            p.add(
                "data.channel",
                "must be protected for a strictly confidential address",
            );
        }
        p.id("data.document.id", &self.document.id);
        p.text("data.document.path", &self.document.path);
        if self.document.sha256.len() != 64
            || !self
                .document
                .sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            p.add("data.document.sha256", "must be 64 lower-case hex digits");
        }
        if self.document.pages == 0 {
            p.add("data.document.pages", "must be 1 or more");
        }
        p.into_vec()
    }
}

/// `notifications.sms.sent.v1`: the SMS gateway accepted an SMS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsSent {
    /// The request's id (sent to the gateway as `userref`).
    pub notification_id: String,
    /// Municipality code.
    pub municipality: String,
    /// Template id.
    pub template: String,
    /// The gateway's message id.
    pub provider_id: String,
    /// When the gateway accepted it.
    pub sent_at: DateTime<Utc>,
}

impl Message for SmsSent {
    const TYPE: &'static str = "notifications.sms.sent.v1";
}

impl Validate for SmsSent {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.notification_id", &self.notification_id);
        p.id("data.municipality", &self.municipality);
        template_id(&mut p, "data.template", &self.template);
        p.id("data.provider_id", &self.provider_id);
        p.into_vec()
    }
}

/// `notifications.email.sent.v1`: the mail server accepted an e-mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailSent {
    /// The request's id.
    pub notification_id: String,
    /// Municipality code.
    pub municipality: String,
    /// Template id.
    pub template: String,
    /// The `Message-ID` header of the e-mail.
    pub message_id: String,
    /// Whether the letter PDF was attached.
    pub attachment: bool,
    /// When the server accepted it.
    pub sent_at: DateTime<Utc>,
}

impl Message for EmailSent {
    const TYPE: &'static str = "notifications.email.sent.v1";
}

impl Validate for EmailSent {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.notification_id", &self.notification_id);
        p.id("data.municipality", &self.municipality);
        template_id(&mut p, "data.template", &self.template);
        p.text("data.message_id", &self.message_id);
        p.into_vec()
    }
}

/// The channel a delivery failed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryChannel {
    /// A letter (rendering or handing over).
    Letter,
    /// An SMS.
    Sms,
    /// An e-mail.
    Email,
    /// No channel could be used at all (e.g. no contact details).
    None,
}

/// `notifications.delivery.failed.v1`: a notification (or one of its channels) could not be
/// delivered, permanently; the producer may choose another way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryFailed {
    /// The request's id.
    pub notification_id: String,
    /// Municipality code.
    pub municipality: String,
    /// Template id.
    pub template: String,
    /// Which channel failed.
    pub channel: DeliveryChannel,
    /// Why, in words an operator can act on (never personal data).
    pub reason: String,
    /// What the notification concerns (copied from the request).
    #[serde(default)]
    pub related: Related,
}

impl Message for DeliveryFailed {
    const TYPE: &'static str = "notifications.delivery.failed.v1";
}

impl Validate for DeliveryFailed {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.notification_id", &self.notification_id);
        p.id("data.municipality", &self.municipality);
        if self.template.is_empty() {
            p.add("data.template", "must not be empty");
        }
        p.text("data.reason", &self.reason);
        self.related.check(&mut p);
        p.into_vec()
    }
}
