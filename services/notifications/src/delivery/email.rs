//! E-mail over SMTP with lettre (no TLS: a relay inside the cluster, or the local test server).
//!
//! Every e-mail has a text part and, when the template has one, an HTML alternative; the letter
//! PDF is attached when the template's configuration says so. The `Message-ID` is derived from
//! the notification id ([`crate::domain::ids::message_id`]) so a resend after a crash carries
//! the same id and a receiver can deduplicate. The sender is the municipality's catalog
//! `sender` (name and e-mail).
//!
//! Classification: SMTP 5xx (and an address lettre cannot parse) is permanent; 4xx, connection
//! errors and timeouts are transient.

use super::SendError;
use crate::domain::ids::clean_reason;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
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
    /// Recipient name.
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
    /// `(file name, PDF bytes)`.
    pub attachment: Option<(String, Vec<u8>)>,
}

impl Mailer {
    /// A mailer for `smtp://[user:password@]host[:port]` (port 25 when absent).
    pub fn from_url(url: &str) -> Result<Self, String> {
        let rest = url
            .strip_prefix("smtp://")
            .ok_or_else(|| "smtp.url must look like smtp://host:port".to_owned())?;
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
        let (host, port) = match host_port.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>()
                    .map_err(|_| "smtp.url: the port must be a number".to_owned())?,
            ),
            None => (host_port, 25),
        };
        if host.is_empty() {
            return Err("smtp.url names no host".to_owned());
        }
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .timeout(Some(Duration::from_secs(30)));
        if let Some(c) = credentials {
            builder = builder.credentials(c);
        }
        Ok(Self {
            transport: builder.build(),
            server: format!("smtp://{host}:{port}"),
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
        let to = Mailbox::new(
            Some(email.to_name.to_owned()),
            email.to_address.parse().map_err(|_| {
                SendError::Permanent("the recipient's e-mail address is not usable".to_owned())
            })?,
        );
        let body = match email.html {
            Some(html) => MultiPart::alternative_plain_html(email.text.to_owned(), html.to_owned()),
            None => MultiPart::mixed().singlepart(SinglePart::plain(email.text.to_owned())),
        };
        let body = match email.attachment {
            Some((name, bytes)) => {
                MultiPart::mixed()
                    .multipart(body)
                    .singlepart(Attachment::new(name).body(
                        bytes,
                        ContentType::parse("application/pdf").map_err(|_| {
                            SendError::Permanent("cannot build the attachment".to_owned())
                        })?,
                    ))
            }
            None => body,
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

    #[test]
    fn smtp_urls_are_read_with_or_without_port_and_credentials() {
        assert_eq!(
            Mailer::from_url("smtp://127.0.0.1:2525")
                .expect("ok")
                .server(),
            "smtp://127.0.0.1:2525"
        );
        assert_eq!(
            Mailer::from_url("smtp://user:secret@relay.local")
                .expect("ok")
                .server(),
            "smtp://relay.local:25"
        );
        assert!(Mailer::from_url("http://x").is_err());
        assert!(Mailer::from_url("smtp://host:port").is_err());
    }
}
