//! The notifications service in process for tests, on `restance_testkit::TestApp` (its own
//! exchange, database and documents directory) with a build of its own (a clock, the shared
//! renderer, fast worker and retries) and a fake SMS gateway; the real broker, SMTP test
//! server and `pdftotext`.

#![allow(dead_code)]

use restance_notifications::Application;
use restance_notifications::clock::Clock;
use restance_notifications::config::NotificationsConfig;
use restance_notifications::load_renderer;
use restance_runtime::Settings;
use restance_testkit::{Db, FakeSmsGateway, Spawn, TestApp, envelope, workspace_root};
use secrecy::SecretString;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;

/// How long a test waits for an event.
pub const T: Duration = Duration::from_secs(30);
/// The gateway token the service is configured with.
pub const SMS_TOKEN: &str = "gatewayapi-test-token";
/// The secret the SMS status callbacks carry.
pub const CALLBACK_TOKEN: &str = "callback-secret-0123456789";
/// A caseworker token for the documents API.
pub const API_TOKEN: &str = "caseworker-token-0123456789";

/// A caseworker of another municipality (0751) than the tests' requests (0746).
pub const ELSEWHERE_TOKEN: &str = "aarhus-caseworker-token-0751";

/// A read-only `reader`: notifications' letters are not for it.
pub const READER_TOKEN: &str = "reader-token-0123456789";

/// One renderer for every test of the process (loading renders every sample once).
pub async fn renderer() -> anyhow::Result<Arc<restance_letters::Renderer>> {
    static RENDERER: OnceCell<Arc<restance_letters::Renderer>> = OnceCell::const_new();
    RENDERER
        .get_or_try_init(|| async { load_renderer(&workspace_root().join("templates")).await })
        .await
        .cloned()
}

/// A clock that runs in real time from noon in Copenhagen on a weekday, so that tests do not
/// depend on the hour they run at (SMS quiet hours) while retries and timeouts still see time
/// pass.
#[derive(Debug)]
pub struct DaytimeClock {
    start: chrono::DateTime<chrono::Utc>,
    since: std::time::Instant,
}

impl DaytimeClock {
    /// Starts at 2026-12-01 12:00 Copenhagen time.
    pub fn new() -> Self {
        Self {
            start: "2026-12-01T11:00:00Z".parse().unwrap_or_default(),
            since: std::time::Instant::now(),
        }
    }
}

impl Clock for DaytimeClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.start + chrono::Duration::from_std(self.since.elapsed()).unwrap_or_default()
    }
}

/// Notifications on a fresh `kind` database (`postgres` or `sqlite`): the shipped configuration
/// with the secret the SMS status callbacks carry, and, given a gateway, SMS to it with
/// [`SMS_TOKEN`]. Then `.configure(…)` and `.spawn_with(|s, c| build(s, c, clock, tweak))`.
pub fn builder<'a>(kind: &str, gateway: Option<&'a FakeSmsGateway>) -> Spawn<'a> {
    TestApp::builder(Db::of(kind))
        .toml(&format!("[sms]\ncallback_token = \"{CALLBACK_TOKEN}\""))
        .configure(move |s| {
            if let Some(gateway) = gateway {
                s.sms.url = Some(gateway.url.clone());
                s.sms.token = Some(SecretString::from(SMS_TOKEN));
            }
        })
}

/// For `configure`: bearer tokens required on the API ([`API_TOKEN`], a caseworker's).
pub fn api_tokens(settings: &mut Settings) {
    settings.api.tokens = Some(SecretString::from(format!(
        "{API_TOKEN}:caseworker,{ELSEWHERE_TOKEN}:caseworker:ola:0751,{READER_TOKEN}:reader:kim"
    )));
}

/// The application as the tests build it: `[notifications]` as configured with the worker
/// polling every 100 ms and retries after 100–400 ms, then `tweak`; one renderer for the
/// process; `clock`.
pub async fn build(
    settings: Settings,
    cancel: CancellationToken,
    clock: Arc<dyn Clock>,
    tweak: impl FnOnce(&mut NotificationsConfig),
) -> anyhow::Result<Application> {
    let mut config = NotificationsConfig::from_settings(&settings).map_err(anyhow::Error::msg)?;
    config.worker.poll_ms = 100;
    config.retry.initial_backoff_ms = 100;
    config.retry.max_backoff_ms = 400;
    tweak(&mut config);
    Application::build_with(settings, config, renderer().await?, clock, cancel).await
}

/// A clock at noon on a weekday ([`DaytimeClock`]).
pub fn daytime() -> Arc<dyn Clock> {
    Arc::new(DaytimeClock::new())
}

/// Notifications on `kind` with a fake gateway for its SMS, an open API and a [`DaytimeClock`].
pub async fn start(kind: &str) -> anyhow::Result<(TestApp, FakeSmsGateway)> {
    start_with(kind, |_| {}).await
}

/// [`start`] with `tweak` applied to `[notifications]`.
pub async fn start_with(
    kind: &str,
    tweak: impl FnOnce(&mut NotificationsConfig),
) -> anyhow::Result<(TestApp, FakeSmsGateway)> {
    let gateway = FakeSmsGateway::start_with_token(SMS_TOKEN).await?;
    let app = builder(kind, Some(&gateway))
        .spawn_with(|s, c| build(s, c, daytime(), tweak))
        .await?;
    Ok((app, gateway))
}

/// What the tests ask of a running notifications service beyond [`TestApp`]'s own.
pub trait NotificationsApp {
    /// Waits for `n` events of a type and returns their `data`.
    async fn events(&mut self, ty: &str, n: usize) -> anyhow::Result<Vec<Value>>;
    /// Events of a type seen so far (their `data`).
    fn seen(&mut self, ty: &str) -> Vec<Value>;
    /// The deliveries of a notification (`GET /api/v1/notifications/{id}`, with [`API_TOKEN`]).
    async fn deliveries(&self, notification_id: &str) -> anyhow::Result<Value>;
    /// The SMS status callback URL.
    fn callback_url(&self) -> String;
}

impl NotificationsApp for TestApp {
    async fn events(&mut self, ty: &str, n: usize) -> anyhow::Result<Vec<Value>> {
        Ok(self
            .probe
            .wait_for(ty, n, T)
            .await?
            .into_iter()
            .map(|e| e["data"].clone())
            .collect())
    }

    fn seen(&mut self, ty: &str) -> Vec<Value> {
        self.probe
            .of_type(ty)
            .into_iter()
            .map(|e| e["data"].clone())
            .collect()
    }

    async fn deliveries(&self, notification_id: &str) -> anyhow::Result<Value> {
        let (status, body) = self
            .get(
                &format!("/api/v1/notifications/{notification_id}"),
                Some(API_TOKEN),
            )
            .await?;
        anyhow::ensure!(
            body.is_object(),
            "GET /api/v1/notifications/{notification_id}: {status} {body}"
        );
        Ok(body)
    }

    fn callback_url(&self) -> String {
        format!("{}/api/v1/sms/status", self.url)
    }
}

// ------------------------------------------------------------------ messages

/// A debtor block (Skanderborg), with an address that does not repeat the letterhead's.
pub fn debtor(id: &str) -> Value {
    json!({"id":id,"kind":"person","national_id":"0101901234","name":"Ane Hansen",
        "address":{"lines":["Parkvej 1"],"postcode":"8670","city":"Låsby","country":"DK"},
        "email":"ane@example.org","phone":"+4512345678","language":"da","digital_post":true,
        "address_protection":"none"})
}

/// `invoicing.debtor.updated.v1` for Skanderborg.
pub fn debtor_updated(event_id: &str, debtor: Value) -> Value {
    envelope(
        "/restance/invoicing",
        event_id,
        "invoicing.debtor.updated.v1",
        json!({"municipality":"0746","debtor":debtor}),
    )
}

/// `invoicing.debtor.updated.v1` for Skanderborg with a version.
pub fn debtor_updated_version(event_id: &str, debtor: Value, version: u64) -> Value {
    envelope(
        "/restance/invoicing",
        event_id,
        "invoicing.debtor.updated.v1",
        json!({"municipality":"0746","debtor":debtor,"version":version}),
    )
}

/// reminder_1's data for Skanderborg.
pub fn reminder_data() -> Value {
    json!({
        "claims":[{"invoice_id":"DAY-2026-12-1","text":"Daginstitution december 2026",
                   "due_date":"2026-12-15","amount":"2150.00"}],
        "total":"2150.00","currency":"DKK","pay_by":"2027-01-05",
        "payment":{"ocr_line":"+71<000000067097535+85412345<"},
        "legal_basis":"opkrævningsloven § 6",
        "letter_date":"2026-12-20"
    })
}

/// `notifications.notification.requested.v1`.
pub fn request(
    event_id: &str,
    notification_id: &str,
    template: &str,
    recipient: Value,
    data: Value,
) -> Value {
    envelope(
        "/restance/dunning",
        event_id,
        "notifications.notification.requested.v1",
        json!({"notification_id":notification_id,"municipality":"0746","template":template,
               "recipient":recipient,"data":data,
               "related":{"service":"dunning","claim_ids":["c-1"]}}),
    )
}

/// A debtor recipient.
pub fn to_debtor(id: &str) -> Value {
    json!({"kind":"debtor","debtor_id":id})
}

/// A unique id for this test run.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}

// ------------------------------------------------------------------ PDFs and mail

/// The text of a PDF (`pdftotext -layout`).
pub fn pdf_text(bytes: &[u8]) -> anyhow::Result<String> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("letter.pdf");
    std::fs::write(&path, bytes)?;
    let out = std::process::Command::new("pdftotext")
        .arg("-layout")
        .arg(&path)
        .arg("-")
        .output()
        .map_err(|e| anyhow::anyhow!("pdftotext is needed (poppler-utils): {e}"))?;
    anyhow::ensure!(out.status.success(), "pdftotext failed");
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The SMTP test server's spool (deploy/local/ensure-services.sh).
pub fn smtp_spool() -> PathBuf {
    std::env::var_os("RESTANCE_SMTP_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let tools = std::env::var_os("RESTANCE_TOOLS_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                        .join(".cache/restance-tools")
                });
            tools.join("smtp/inbox")
        })
}

/// A received e-mail, parsed by Python's `email` package.
#[derive(Debug, Clone)]
pub struct Mail {
    pub file: PathBuf,
    pub parsed: Value,
}

/// Reads an `.eml` with Python's `email` package (`policy.default`: headers decoded from
/// RFC 2047, folded lines joined) and prints what the tests look at as JSON: the decoded
/// subject, the `To:` addresses and the header's first raw line, and per part its content type,
/// file name, disposition, size and SHA-256 (text parts also decoded).
pub const PARSE_MAIL: &str = r#"
import email, email.policy, hashlib, json, sys
raw = open(sys.argv[1], 'rb').read()
m = email.message_from_bytes(raw, policy=email.policy.default)
parts = []
for p in m.walk():
    if p.is_multipart():
        parts.append({"type": p.get_content_type(), "multipart": True})
        continue
    payload = p.get_payload(decode=True) or b""
    entry = {"type": p.get_content_type(), "filename": p.get_filename(), "size": len(payload),
             "disposition": p.get_content_disposition(),
             "sha256": hashlib.sha256(payload).hexdigest()}
    if p.get_content_maintype() == "text":
        entry["text"] = payload.decode(p.get_content_charset() or "utf-8", "replace")
    parts.append(entry)
head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii", "replace").split("\r\n")
to_line = next((l for l in head if l.lower().startswith("to:")), None)
print(json.dumps({"subject": str(m["subject"]), "from": str(m["from"]), "to": str(m["to"]),
                  "to_addresses": [a.addr_spec for a in m["to"].addresses] if m["to"] else [],
                  "to_first_line": to_line,
                  "message_id": str(m["message-id"]), "envelope_to": str(m["x-envelope-to"]),
                  "content_type": m.get_content_type(), "parts": parts}))
"#;

pub fn parse_mail(path: &Path) -> anyhow::Result<Value> {
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(PARSE_MAIL)
        .arg(path)
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "python3 could not parse {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// Every mail in the spool whose raw text contains `needle` (a Message-ID), waiting for at
/// least `n` of them.
pub async fn mails_with(needle: &str, n: usize) -> anyhow::Result<Vec<Mail>> {
    let spool = smtp_spool();
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let mut found = Vec::new();
        if let Ok(entries) = std::fs::read_dir(&spool) {
            for e in entries.flatten() {
                let path = e.path();
                if path.extension().is_some_and(|x| x == "eml")
                    && std::fs::read(&path)
                        .is_ok_and(|b| String::from_utf8_lossy(&b).contains(needle))
                {
                    found.push(Mail {
                        parsed: parse_mail(&path)?,
                        file: path,
                    });
                }
            }
        }
        if found.len() >= n {
            return Ok(found);
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "{} of {n} e-mails with {needle} in {} (is the SMTP test server running? deploy/local/ensure-services.sh smtp)",
            found.len(),
            spool.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The personal data the fixtures use: none of it may reach a log line.
pub const PERSONAL_DATA: &[&str] = &[
    "0101901234",
    "010190-1234",
    "+4512345678",
    "4512345678",
    "+451234567",
    "Parkvej",
    "Låsby",
    "ane@example.org",
    "Ane Hansen",
];
