//! The `[notifications]` section of `config/restance.toml`: which channels each template uses,
//! how long a request waits for its debtor, quiet hours for SMS, retries and the worker.
//!
//! Every key has a default, so the section may be absent; every problem is listed at start
//! ([`NotificationsConfig::problems`], [`NotificationsConfig::check_templates`]) and the service
//! refuses to start while the list is not empty.

use chrono::NaiveTime;
use restance_letters::{Part, Renderer};
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// A way of reaching a recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A PDF letter (digital post, print or the protected route).
    Letter,
    /// An SMS through the gateway.
    Sms,
    /// An e-mail over SMTP.
    Email,
}

impl Channel {
    /// The name used in the database, in metrics and in configuration.
    pub const fn as_str(self) -> &'static str {
        match self {
            Channel::Letter => "letter",
            Channel::Sms => "sms",
            Channel::Email => "email",
        }
    }

    /// Reads a stored or configured name.
    pub fn parse(s: &str) -> Option<Channel> {
        match s.trim() {
            "letter" => Some(Channel::Letter),
            "sms" => Some(Channel::Sms),
            "email" => Some(Channel::Email),
            _ => None,
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[notifications.templates.<id>]`: how one template is delivered.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TemplateChannels {
    /// The channels, e.g. `["letter", "sms"]` (or `"letter,sms"` from an environment variable:
    /// `RESTANCE__NOTIFICATIONS__TEMPLATES__REMINDER_1__CHANNELS=letter,sms,email`).
    #[serde(deserialize_with = "channel_list")]
    pub channels: Vec<Channel>,
    /// Attach the letter PDF to the e-mail; absent: the template manifest's `attach_pdf`.
    #[serde(default)]
    pub email_attach_pdf: Option<bool>,
}

/// Quiet hours for SMS in the municipality's local time: an SMS due in the window waits for
/// its end. `start == end` switches them off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    /// First quiet minute, e.g. 21:00.
    pub start: NaiveTime,
    /// First minute an SMS may go again, e.g. 08:00.
    pub end: NaiveTime,
}

impl Default for QuietHours {
    fn default() -> Self {
        Self {
            start: NaiveTime::from_hms_opt(21, 0, 0).unwrap_or(NaiveTime::MIN),
            end: NaiveTime::from_hms_opt(8, 0, 0).unwrap_or(NaiveTime::MIN),
        }
    }
}

impl<'de> Deserialize<'de> for QuietHours {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            start: String,
            end: String,
        }
        let raw = Raw::deserialize(d)?;
        let parse = |s: &str, what: &str| {
            NaiveTime::parse_from_str(s.trim(), "%H:%M").map_err(|_| {
                de::Error::custom(format!("quiet_hours.{what} must be a time like \"21:00\""))
            })
        };
        Ok(Self {
            start: parse(&raw.start, "start")?,
            end: parse(&raw.end, "end")?,
        })
    }
}

/// `[notifications.retry]`: transient failures (gateway 5xx/429, SMTP 4xx, connection errors)
/// are retried with exponential backoff until either limit is reached.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Wait after the first failed attempt; doubled after each further one.
    pub initial_backoff_ms: u64,
    /// Longest wait between attempts.
    pub max_backoff_ms: u64,
    /// Give up once the delivery has been due this long.
    pub max_age_secs: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 10,
            initial_backoff_ms: 30_000,
            max_backoff_ms: 3_600_000,
            max_age_secs: 86_400,
        }
    }
}

/// `[notifications.worker]`: the delivery worker.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct WorkerSettings {
    /// Deliveries sent at the same time.
    pub concurrency: usize,
    /// Letters rendered at the same time, each on a render thread of its own (0: one per CPU
    /// core).
    pub render_threads: usize,
    /// Fallback poll for due deliveries and parked requests (the worker is also woken after
    /// every commit that plans a delivery).
    pub poll_ms: u64,
    /// How long a claimed delivery is reserved for the worker that claimed it; after a crash
    /// it is claimed again once this has passed. A send still running shortly before the lease
    /// ends (a fifth of the lease, at most 15 s) is given up (left to be claimed again, its
    /// outcome unknown), so two workers never send one delivery at the same time. At least 2;
    /// below 45 a slow provider's answer may come too late to count.
    pub lease_secs: u64,
    /// On shutdown, how long in-flight sends may take to finish.
    pub drain_secs: u64,
    /// An SMS whose sender died mid-send (outcome unknown) is not sent again before the
    /// gateway's delivery report has had this long to arrive: a report for its `userref` proves
    /// it went out. Only with `sms.callback_token` set (without reports it is sent again at once).
    pub report_wait_secs: u64,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            concurrency: 8,
            render_threads: 0,
            poll_ms: 1_000,
            lease_secs: 300,
            drain_secs: 30,
            report_wait_secs: 900,
        }
    }
}

/// The `[notifications]` section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct NotificationsConfig {
    /// Channels per template id.
    pub templates: BTreeMap<String, TemplateChannels>,
    /// How long a request for a debtor without contact details waits for
    /// `invoicing.debtor.updated.v1` before `notifications.delivery.failed.v1` (channel none).
    pub parked_timeout_secs: u64,
    /// No SMS in this local-time window.
    pub quiet_hours: QuietHours,
    /// The SMS sender name when the municipality has none in `sms_senders` (GatewayAPI: at
    /// most 11 letters/digits, or a number of at most 15 digits).
    pub sms_sender: String,
    /// SMS sender per municipality code.
    pub sms_senders: BTreeMap<String, String>,
    /// Retries of transient failures.
    pub retry: RetryPolicy,
    /// The delivery worker.
    pub worker: WorkerSettings,
}

impl Default for NotificationsConfig {
    fn default() -> Self {
        let t = |channels: &[Channel]| TemplateChannels {
            channels: channels.to_vec(),
            email_attach_pdf: None,
        };
        use Channel::{Email, Letter, Sms};
        let templates = [
            ("reminder_1", t(&[Letter, Sms])),
            ("reminder_2", t(&[Letter, Sms])),
            ("meeting_offer", t(&[Letter, Sms])),
            ("meeting_reminder", t(&[Sms])),
            ("payment_plan_confirmation", t(&[Letter])),
            ("deferral_confirmation", t(&[Letter])),
            ("transferred_to_collection", t(&[Letter])),
            ("company_final_notice", t(&[Letter])),
            ("supply_suspension_notice", t(&[Letter, Sms])),
            ("write_off_notice", t(&[Letter])),
            ("campaign_office_list", t(&[Email])),
            ("report_ready", t(&[Email])),
        ]
        .into_iter()
        .map(|(id, c)| (id.to_owned(), c))
        .collect();
        Self {
            templates,
            parked_timeout_secs: 86_400,
            quiet_hours: QuietHours::default(),
            sms_sender: "Kommunen".to_owned(),
            sms_senders: BTreeMap::new(),
            retry: RetryPolicy::default(),
            worker: WorkerSettings::default(),
        }
    }
}

impl NotificationsConfig {
    /// Reads `[notifications]` from the loaded settings (defaults when absent).
    pub fn from_settings(
        settings: &restance_runtime::Settings,
    ) -> Result<Self, restance_runtime::settings::SettingsError> {
        settings.section_or_default::<NotificationsConfig>("notifications")
    }

    /// Problems that need no templates: numbers, sender names.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.templates.is_empty() {
            out.push("notifications.templates: no template has channels configured".to_owned());
        }
        for (id, t) in &self.templates {
            if t.channels.is_empty() {
                out.push(format!(
                    "notifications.templates.{id}.channels: name at least one of letter, sms, email"
                ));
            }
        }
        if self.parked_timeout_secs == 0 {
            out.push("notifications.parked_timeout_secs: must be at least 1".to_owned());
        }
        if let Some(p) = sender_problem(&self.sms_sender) {
            out.push(format!("notifications.sms_sender: {p}"));
        }
        for (code, sender) in &self.sms_senders {
            if let Some(p) = sender_problem(sender) {
                out.push(format!("notifications.sms_senders.{code}: {p}"));
            }
        }
        if self.retry.max_attempts == 0 {
            out.push("notifications.retry.max_attempts: must be at least 1".to_owned());
        }
        if self.retry.initial_backoff_ms == 0
            || self.retry.max_backoff_ms < self.retry.initial_backoff_ms
        {
            out.push(
                "notifications.retry: initial_backoff_ms must be at least 1 and max_backoff_ms at least initial_backoff_ms"
                    .to_owned(),
            );
        }
        if self.worker.concurrency == 0 {
            out.push("notifications.worker.concurrency: must be at least 1".to_owned());
        }
        if self.worker.poll_ms == 0 {
            out.push("notifications.worker.poll_ms: must be at least 1".to_owned());
        }
        let min_lease = crate::delivery::MIN_LEASE_SECS;
        if self.worker.lease_secs < min_lease {
            out.push(format!(
                "notifications.worker.lease_secs: {} is too short: at least {min_lease} (in production 60 or more: a send must end before its lease does, and the SMTP and SMS gateway timeouts are 30 s)",
                self.worker.lease_secs
            ));
        }
        out
    }

    /// Problems between this configuration and the loaded templates: every template needs
    /// channels, and each channel needs its part (a letter, an SMS text, an e-mail).
    pub fn check_templates(&self, renderer: &Renderer) -> Vec<String> {
        let mut out = Vec::new();
        for id in renderer.template_ids() {
            if !self.templates.contains_key(id) {
                out.push(format!(
                    "notifications.templates.{id}: no channels configured for this template"
                ));
            }
        }
        for (id, t) in &self.templates {
            let Ok(spec) = renderer.spec(id) else {
                out.push(format!(
                    "notifications.templates.{id}: there is no such template (templates: {})",
                    renderer.template_ids().join(", ")
                ));
                continue;
            };
            for channel in &t.channels {
                let (part, what) = match channel {
                    Channel::Letter => (Part::Letter, "letter"),
                    Channel::Sms => (Part::Sms, "SMS text"),
                    Channel::Email => (Part::EmailText, "e-mail"),
                };
                if !spec.has(part) {
                    out.push(format!(
                        "notifications.templates.{id}.channels: {channel}, but the template has no {what}"
                    ));
                }
            }
            if t.email_attach_pdf == Some(true) && !spec.has(Part::Letter) {
                out.push(format!(
                    "notifications.templates.{id}.email_attach_pdf: the template has no letter to attach"
                ));
            }
        }
        out
    }

    /// The SMS sender of a municipality.
    pub fn sms_sender_for(&self, municipality: &str) -> &str {
        self.sms_senders
            .get(municipality)
            .map_or(self.sms_sender.as_str(), String::as_str)
    }

    /// Whether e-mails of this template carry the letter PDF.
    pub fn attach_pdf(&self, template: &str, manifest_default: bool) -> bool {
        self.templates
            .get(template)
            .and_then(|t| t.email_attach_pdf)
            .unwrap_or(manifest_default)
    }

    /// The fallback poll interval.
    pub fn poll(&self) -> Duration {
        Duration::from_millis(self.worker.poll_ms)
    }
}

/// GatewayAPI's sender rule: 1–11 letters and digits, or a number of at most 15 digits.
fn sender_problem(sender: &str) -> Option<&'static str> {
    let all_digits = !sender.is_empty() && sender.bytes().all(|b| b.is_ascii_digit());
    let alnum = sender.chars().count() <= 11
        && !sender.trim().is_empty()
        && sender.chars().all(|c| c.is_alphanumeric() || c == ' ');
    if (all_digits && sender.len() <= 15) || alnum {
        None
    } else {
        Some("must be 1–11 letters and digits, or a number of at most 15 digits")
    }
}

/// Accepts `["letter", "sms"]` or `"letter,sms"`.
fn channel_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Channel>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<String>),
        Text(String),
    }
    let names: Vec<String> = match Raw::deserialize(d)? {
        Raw::List(l) => l,
        Raw::Text(t) => t.split(',').map(str::to_owned).collect(),
    };
    let mut out = Vec::new();
    for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        let channel = Channel::parse(name).ok_or_else(|| {
            de::Error::custom(format!("unknown channel {name:?} (letter, sms or email)"))
        })?;
        if !out.contains(&channel) {
            out.push(channel);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_read_from_a_list_or_a_comma_separated_string() {
        let t: TemplateChannels =
            serde_json::from_value(serde_json::json!({"channels": "letter, sms,email,sms"}))
                .expect("string");
        assert_eq!(t.channels, [Channel::Letter, Channel::Sms, Channel::Email]);
        let t: TemplateChannels = serde_json::from_value(
            serde_json::json!({"channels": ["email"], "email_attach_pdf": true}),
        )
        .expect("list");
        assert_eq!(t.channels, [Channel::Email]);
        assert_eq!(t.email_attach_pdf, Some(true));
        let err = serde_json::from_value::<TemplateChannels>(
            serde_json::json!({"channels": "letter,fax"}),
        )
        .expect_err("fax");
        assert!(err.to_string().contains("unknown channel \"fax\""), "{err}");
    }

    #[test]
    fn quiet_hours_are_read_as_times_and_bad_values_are_named() {
        let q: QuietHours =
            serde_json::from_value(serde_json::json!({"start": "22:30", "end": "07:00"}))
                .expect("valid");
        assert_eq!(q.start, NaiveTime::from_hms_opt(22, 30, 0).expect("time"));
        let err = serde_json::from_value::<QuietHours>(
            serde_json::json!({"start": "late", "end": "07:00"}),
        )
        .expect_err("bad");
        assert!(err.to_string().contains("quiet_hours.start"), "{err}");
    }

    #[test]
    fn the_defaults_are_usable_and_bad_numbers_are_all_listed() {
        assert_eq!(
            NotificationsConfig::default().problems(),
            Vec::<String>::new()
        );
        let mut c = NotificationsConfig::default();
        c.retry.max_attempts = 0;
        c.worker.concurrency = 0;
        c.sms_sender = "A sender name that is far too long".into();
        let p = c.problems();
        assert_eq!(p.len(), 3, "{p:?}");
    }
}
