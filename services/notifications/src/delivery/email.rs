//! E-mail over SMTP with lettre. `smtps://` is implicit TLS (port 465 by default) and
//! `smtp://…?tls=required` is STARTTLS that must succeed (port 587 by default), both with the
//! server's certificate checked against Mozilla's roots and `tls.ca_file`; a plain `smtp://`
//! (port 25) is for the loopback test server, or for a relay on a trusted network with
//! `tls.allow_plaintext` ([`restance_bus::tls`]).
//!
//! Every e-mail has a text part and, when the template has one, an HTML alternative; then its
//! attachments, each a part with its own `Content-Type` and `Content-Disposition: attachment;
//! filename=…` (RFC 2231 for a name that is not ASCII): the letter PDF when the template's
//! configuration says so, and the files the request carried (reporting's XLSX and CSV). The
//! `Message-ID` is derived from the notification id ([`crate::domain::ids::message_id`]) so a
//! resend after a crash carries the same id and a receiver can deduplicate. The sender is the
//! municipality's catalog `sender` (name and e-mail).
//!
//! Headers: lettre writes a subject or display name that is not plain ASCII as RFC 2047
//! encoded words (`=?utf-8?b?…?=`) and folds a long header onto continuation lines; a reader
//! that decodes headers (any mail client, Python's `email`) shows the subject whole, while a
//! tool reading one line per header (the demo's `grep '^Subject:'`) sees its first, partly
//! encoded line only. The `To:` header carries the recipient's name only when lettre writes it
//! on one line with the address ([`recipient`]): a long name such as Qeqqata's committee
//! ("Aningaasaqarnermut Ataatsimiititaliaq, Qeqqata Kommunia") becomes two encoded words on
//! two lines, the address on the second, so the first line was a `To:` without an address
//! (what the demo showed). Such a recipient gets the bare address; the text greets them.
//!
//! Classification: SMTP 5xx (and an address lettre cannot parse) is permanent; 4xx, connection
//! errors and timeouts are transient.

use super::SendError;
use crate::domain::ids::clean_reason;
use lettre::Address;
use lettre::message::header::{self, ContentType, Headers};
use lettre::message::{Attachment, Mailbox, Mailboxes, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use restance_bus::tls::{TlsSettings, Transport};
use std::time::Duration;

/// The SMTP connection settings.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    server: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("server", &self.server)
            .finish()
    }
}

/// An e-mail to send.
#[derive(Debug)]
pub struct Email<'a> {
    /// Sender name (the municipality's).
    pub from_name: &'a str,
    /// Sender address.
    pub from_address: &'a str,
    /// Recipient name (in `To:` when it fits on the header's first line, see [`recipient`]).
    pub to_name: &'a str,
    /// Recipient address.
    pub to_address: &'a str,
    /// `Message-ID` without angle brackets.
    pub message_id: &'a str,
    /// Subject line.
    pub subject: &'a str,
    /// Plain text.
    pub text: &'a str,
    /// HTML alternative.
    pub html: Option<&'a str>,
    /// The attachments, in order.
    pub attachments: Vec<EmailAttachment>,
}

/// A file attached to an e-mail.
#[derive(Clone, PartialEq, Eq)]
pub struct EmailAttachment {
    /// The file name.
    pub name: String,
    /// Its media type, e.g. `application/pdf` or `text/csv; charset=utf-8`.
    pub media_type: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for EmailAttachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailAttachment")
            .field("name", &self.name)
            .field("media_type", &self.media_type)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

impl Mailer {
    /// A mailer for `smtp://[user:password@]host[:port][?tls=required]` or
    /// `smtps://[user:password@]host[:port]`; plaintext off this machine only with
    /// `tls.allow_plaintext`.
    pub fn from_url(url: &str, tls: &TlsSettings) -> Result<Self, String> {
        let (implicit_tls, rest) = if let Some(rest) = url.strip_prefix("smtps://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("smtp://") {
            (false, rest)
        } else {
            return Err(
                "smtp.url must look like smtp://host:port, smtp://host:port?tls=required or smtps://host:port"
                    .to_owned(),
            );
        };
        let (rest, starttls) = match rest.split_once('?') {
            None => (rest, false),
            Some((rest, "tls=required")) if !implicit_tls => (rest, true),
            Some(_) => {
                return Err(
                    "smtp.url: the only query it takes is ?tls=required (STARTTLS), on smtp://"
                        .to_owned(),
                );
            }
        };
        let rest = rest.trim_end_matches('/');
        let (credentials, host_port) = match rest.rsplit_once('@') {
            Some((userinfo, hp)) => {
                let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                (
                    Some(Credentials::new(user.to_owned(), password.to_owned())),
                    hp,
                )
            }
            None => (None, rest),
        };
        let default_port = match (implicit_tls, starttls) {
            (true, _) => 465,
            (false, true) => 587,
            (false, false) => 25,
        };
        let (host, port) = match host_port.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>()
                    .map_err(|_| "smtp.url: the port must be a number".to_owned())?,
            ),
            None => (host_port, default_port),
        };
        if host.is_empty() {
            return Err("smtp.url names no host".to_owned());
        }
        let transport = if implicit_tls || starttls {
            Transport::Verified
        } else {
            Transport::Plain
        };
        tls.check("smtp.url", url, transport)?;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .timeout(Some(Duration::from_secs(30)));
        if transport == Transport::Verified {
            restance_bus::tls::install_crypto_provider();
            let mut params = TlsParameters::builder(host.to_owned());
            if let Some(pem) = tls.ca_pem()? {
                let ca = Certificate::from_pem(pem.as_bytes())
                    .map_err(|e| format!("tls.ca_file: {e}"))?;
                params = params.add_root_certificate(ca);
            }
            let params = params
                .build_rustls()
                .map_err(|e| format!("smtp.url: cannot set up TLS: {e}"))?;
            builder = builder.tls(if implicit_tls {
                Tls::Wrapper(params)
            } else {
                Tls::Required(params)
            });
        }
        if let Some(c) = credentials {
            builder = builder.credentials(c);
        }
        let scheme = if implicit_tls { "smtps" } else { "smtp" };
        let query = if starttls { "?tls=required" } else { "" };
        Ok(Self {
            transport: builder.build(),
            server: format!("{scheme}://{host}:{port}{query}"),
        })
    }

    /// The server, without credentials (for the startup log).
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Builds and sends the e-mail.
    pub async fn send(&self, email: Email<'_>) -> Result<(), SendError> {
        let from = Mailbox::new(
            Some(email.from_name.to_owned()),
            email.from_address.parse().map_err(|_| {
                SendError::Permanent(
                    "the municipality's sender e-mail address is not usable".to_owned(),
                )
            })?,
        );
        let to = recipient(
            email.to_name,
            email.to_address.parse().map_err(|_| {
                SendError::Permanent("the recipient's e-mail address is not usable".to_owned())
            })?,
        );
        let body = match email.html {
            Some(html) => MultiPart::alternative_plain_html(email.text.to_owned(), html.to_owned()),
            None => MultiPart::mixed().singlepart(SinglePart::plain(email.text.to_owned())),
        };
        let body = if email.attachments.is_empty() {
            body
        } else {
            let mut mixed = MultiPart::mixed().multipart(body);
            for a in email.attachments {
                let content_type = ContentType::parse(&a.media_type).map_err(|_| {
                    SendError::Permanent(clean_reason(&format!(
                        "attachment {}: {} is not a media type an e-mail can carry",
                        a.name, a.media_type
                    )))
                })?;
                mixed = mixed.singlepart(Attachment::new(a.name).body(a.bytes, content_type));
            }
            mixed
        };
        let message = Message::builder()
            .from(from)
            .to(to)
            .subject(email.subject)
            .message_id(Some(format!("<{}>", email.message_id)))
            .multipart(body)
            .map_err(|e| {
                SendError::Permanent(clean_reason(&format!("cannot build the e-mail: {e}")))
            })?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SendError::Permanent(clean_reason(&format!(
                "the mail server refused the e-mail: {}",
                smtp_status(&e)
            )))),
            Err(e) => Err(SendError::Transient(clean_reason(&format!(
                "the mail server is not available: {}",
                smtp_status(&e)
            )))),
        }
    }
}

/// The `To:` mailbox: `Name <address>` when lettre writes that header on one line (after RFC
/// 2047 encoding and folding), else the bare address, so the first line of `To:` always holds
/// the address (see the module documentation).
pub fn recipient(name: &str, address: Address) -> Mailbox {
    let name = name.trim();
    if name.is_empty() {
        return Mailbox::new(None, address);
    }
    let named = Mailbox::new(Some(name.to_owned()), address.clone());
    let mut probe = Headers::new();
    probe.set(header::To::from(Mailboxes::from(named.clone())));
    if probe.to_string().trim_end().contains('\n') {
        Mailbox::new(None, address)
    } else {
        named
    }
}

/// The SMTP status code, or the kind of failure; never the server's text (it may quote the
/// recipient's address).
fn smtp_status(e: &lettre::transport::smtp::Error) -> String {
    match e.status() {
        Some(code) => format!("SMTP {code}"),
        None if e.is_timeout() => "timed out".to_owned(),
        None => "cannot connect or the connection broke".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to_header(m: &Mailbox) -> String {
        let mut h = Headers::new();
        h.set(header::To::from(Mailboxes::from(m.clone())));
        h.to_string()
    }

    #[test]
    fn the_to_header_holds_the_address_on_its_first_line() {
        let address = |a: &str| a.parse::<Address>().expect("an address");
        let cases = [
            (
                "Ane Hansen",
                "ane@example.org",
                "\"Ane Hansen\" <ane@example.org>",
            ),
            (
                "Økonomiudvalget, Skanderborg Kommune",
                "oekonomiudvalget@skanderborg.example",
                "=?utf-8?b?w5hrb25vbWl1ZHZhbGdldCwgU2thbmRlcmJvcmcgS29tbXVuZQ==?= \
                 <oekonomiudvalget@skanderborg.example>",
            ),
            // lettre writes this name as two encoded words on two lines: the first line of
            // To: would hold no address. The bare address instead.
            (
                "Aningaasaqarnermut Ataatsimiititaliaq, Qeqqata Kommunia",
                "aningaasaqarneq@qeqqata.example",
                "aningaasaqarneq@qeqqata.example",
            ),
            ("  ", "a@example.org", "a@example.org"),
        ];
        for (name, mail, expected) in cases {
            let named = Mailbox::new(Some(name.to_owned()), address(mail));
            let header = to_header(&recipient(name, address(mail)));
            assert_eq!(header, format!("To: {expected}\r\n"), "{name}");
            if expected == mail && !name.trim().is_empty() {
                assert!(
                    to_header(&named).contains("\r\n "),
                    "{name}: dropped only because lettre folds it"
                );
            }
        }
    }

    #[test]
    fn smtp_urls_are_read_with_or_without_port_and_credentials() {
        let strict = TlsSettings::default();
        let open = TlsSettings {
            allow_plaintext: true,
            ..TlsSettings::default()
        };
        let server = |url: &str, tls: &TlsSettings| {
            Mailer::from_url(url, tls).map(|m| m.server().to_owned())
        };
        assert_eq!(
            server("smtp://127.0.0.1:2525", &strict).expect("ok"),
            "smtp://127.0.0.1:2525"
        );
        assert_eq!(
            server("smtp://user:secret@relay.local", &open).expect("ok"),
            "smtp://relay.local:25"
        );
        assert_eq!(
            server("smtps://user:secret@relay.local", &strict).expect("ok"),
            "smtps://relay.local:465"
        );
        assert_eq!(
            server("smtp://relay.local?tls=required", &strict).expect("ok"),
            "smtp://relay.local:587?tls=required"
        );
        assert!(Mailer::from_url("http://x", &open).is_err());
        assert!(Mailer::from_url("smtp://host:port", &open).is_err());
        assert!(Mailer::from_url("smtps://relay.local?tls=required", &open).is_err());
        assert!(Mailer::from_url("smtp://relay.local?tls=opportunistic", &open).is_err());
    }

    #[test]
    fn plain_smtp_off_this_machine_is_refused_unless_allowed() {
        let err = Mailer::from_url("smtp://user:secret@relay.local", &TlsSettings::default())
            .expect_err("plaintext to another host");
        assert!(
            err.contains("smtps://") && err.contains("tls=required"),
            "{err}"
        );
        assert!(!err.contains("secret"), "{err}");
    }
}
