//! The SMS gateway, GatewayAPI style: `POST {sms.url}/rest/mtsms` with
//! `Authorization: Token <sms.token>` (GatewayAPI's documented token header) and the JSON body
//! `{sender, message, recipients: [{msisdn}], userref}`; `userref` is the notification id, so the
//! gateway (and its delivery reports) can tie a message to our notification, and an operator
//! can find a duplicate after a crash. The answer `{"ids": [...]}` carries the gateway's id.
//!
//! Classification: connection errors, timeouts, 5xx and 429 are transient (retried with
//! backoff); any other 4xx is permanent (GatewayAPI answers
//! `{"code", "message", "incident_uuid", "variables"}` — the code and message become the
//! reason, with digit runs masked).

use super::SendError;
use crate::domain::ids::clean_reason;
use restance_bus::tls::{TlsSettings, Transport};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use std::time::Duration;

/// A configured SMS gateway.
#[derive(Debug, Clone)]
pub struct SmsGateway {
    client: reqwest::Client,
    endpoint: String,
    token: Option<SecretString>,
}

impl SmsGateway {
    /// A client for the gateway at `base_url` (e.g. `https://gatewayapi.eu` or the test fake).
    /// `https://` checks the gateway's certificate against Mozilla's roots and `tls.ca_file`;
    /// `http://` only to this machine, or with `tls.allow_plaintext`.
    pub fn new(
        base_url: &str,
        token: Option<SecretString>,
        tls: &TlsSettings,
    ) -> Result<Self, String> {
        let transport = if base_url.starts_with("https://") {
            Transport::Verified
        } else if base_url.starts_with("http://") {
            Transport::Plain
        } else {
            return Err(format!(
                "sms.url must start with https:// (or http:// to this machine) (got {:?})",
                base_url.chars().take(40).collect::<String>()
            ));
        };
        tls.check("sms.url", base_url, transport)?;
        restance_bus::tls::install_crypto_provider();
        let mut roots = Vec::new();
        if let Some(pem) = tls.ca_pem()? {
            roots = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
                .map_err(|e| format!("tls.ca_file: {e}"))?;
        }
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .https_only(transport == Transport::Verified)
            .tls_certs_merge(roots)
            .build()
            .map_err(|e| format!("cannot build the SMS client: {e}"))?;
        Ok(Self {
            client,
            endpoint: format!("{}/rest/mtsms", base_url.trim_end_matches('/')),
            token,
        })
    }

    /// Where SMS are posted (for the startup log).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Whether a token is configured.
    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// Sends one SMS; returns the gateway's message id.
    pub async fn send(
        &self,
        sender: &str,
        message: &str,
        msisdn: &str,
        userref: &str,
    ) -> Result<String, SendError> {
        // GatewayAPI documents the MSISDN as a number; 15 digits fit in a u64.
        let msisdn_value: Value = msisdn
            .parse::<u64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::from(msisdn));
        let body = json!({
            "sender": sender,
            "message": message,
            "recipients": [{"msisdn": msisdn_value}],
            "userref": userref,
        });
        let mut request = self.client.post(&self.endpoint).json(&body);
        // The gateway (and whatever traces it) sees the delivery's trace.
        if let Some(traceparent) = restance_bus::trace::current_traceparent() {
            request = request.header("traceparent", traceparent);
        }
        if let Some(token) = &self.token {
            request = request.header(
                reqwest::header::AUTHORIZATION,
                format!("Token {}", token.expose_secret()),
            );
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                let what = if e.is_timeout() {
                    "timed out"
                } else if e.is_connect() {
                    "cannot connect"
                } else {
                    "request failed"
                };
                return Err(SendError::Transient(format!("SMS gateway {what}")));
            }
        };
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if status.is_success() {
            let parsed: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            return match parsed
                .get("ids")
                .and_then(Value::as_array)
                .and_then(|a| a.first())
            {
                Some(Value::Number(n)) => Ok(n.to_string()),
                Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
                // Accepted but unreadable: not retried, so that it is not sent twice.
                _ => Err(SendError::Permanent(format!(
                    "the SMS gateway answered HTTP {} without a message id; not retried to avoid a duplicate",
                    status.as_u16()
                ))),
            };
        }
        let detail = gateway_error(&text);
        let reason = clean_reason(&format!(
            "SMS gateway answered HTTP {}{detail}",
            status.as_u16()
        ));
        if status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408 {
            Err(SendError::Transient(reason))
        } else {
            Err(SendError::Permanent(reason))
        }
    }
}

/// `: <message> (code <code>)` from GatewayAPI's error JSON, or nothing.
fn gateway_error(body: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let message = v.get("message").and_then(Value::as_str).unwrap_or_default();
    let code = v.get("code").and_then(Value::as_str).unwrap_or_default();
    match (message.is_empty(), code.is_empty()) {
        (true, true) => String::new(),
        (false, true) => format!(": {}", message.chars().take(200).collect::<String>()),
        (true, false) => format!(" (code {code})"),
        (false, false) => format!(
            ": {} (code {code})",
            message.chars().take(200).collect::<String>()
        ),
    }
}

/// What a delivery report means for us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    /// The handset has it.
    Delivered,
    /// It will not arrive: a permanent failure.
    Failed,
    /// On the way, buffered, or unknown: recorded, nothing else.
    Interim,
}

/// GatewayAPI's statuses: DELIVERED; UNDELIVERABLE (also seen as UNDELIVERED), EXPIRED,
/// REJECTED, DELETED, SKIPPED are final failures; the rest (ENROUTE, BUFFERED, ACCEPTED,
/// SCHEDULED, UNKNOWN) are interim.
pub fn report_kind(status: &str) -> ReportKind {
    match status.to_ascii_uppercase().as_str() {
        "DELIVERED" => ReportKind::Delivered,
        "UNDELIVERABLE" | "UNDELIVERED" | "EXPIRED" | "REJECTED" | "DELETED" | "SKIPPED" => {
            ReportKind::Failed
        }
        _ => ReportKind::Interim,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_errors_become_short_reasons() {
        assert_eq!(
            gateway_error(r#"{"code":"0x0216","message":"Invalid recipient","incident_uuid":"x"}"#),
            ": Invalid recipient (code 0x0216)"
        );
        assert_eq!(gateway_error("<html>"), "");
    }

    #[test]
    fn delivery_reports_are_classified() {
        assert_eq!(report_kind("DELIVERED"), ReportKind::Delivered);
        assert_eq!(report_kind("undeliverable"), ReportKind::Failed);
        assert_eq!(report_kind("EXPIRED"), ReportKind::Failed);
        assert_eq!(report_kind("REJECTED"), ReportKind::Failed);
        assert_eq!(report_kind("ENROUTE"), ReportKind::Interim);
    }

    #[test]
    fn only_http_urls_are_accepted() {
        let strict = TlsSettings::default();
        assert!(SmsGateway::new("ftp://x", None, &strict).is_err());
        let err = SmsGateway::new("http://gateway.example", None, &strict).expect_err("plaintext");
        assert!(err.contains("https://"), "{err}");
        assert!(SmsGateway::new("https://gateway.example", None, &strict).is_ok());
        let g = SmsGateway::new("http://127.0.0.1:9/", None, &strict).expect("ok");
        assert_eq!(g.endpoint(), "http://127.0.0.1:9/rest/mtsms");
    }
}
