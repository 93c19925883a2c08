//! The notifications service in-process for tests: its own exchange, database, documents
//! directory and fake SMS gateway; the real broker, SMTP test server and `pdftotext`.

#![allow(dead_code)]

use restance_notifications::clock::{Clock, ManualClock};
use restance_notifications::config::NotificationsConfig;
use restance_notifications::{Application, load_renderer};
use restance_runtime::Settings;
use restance_testkit::{
    BusProbe, DeadLetter, FakeSmsGateway, TestDatabase, delete_test_topology, publish_raw,
    take_all, unique_exchange,
};
use secrecy::SecretString;
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
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

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Everything the service logged in this test process (every test's service).
pub fn logs() -> String {
    String::from_utf8_lossy(&log_buffer().lock().map(|b| b.clone()).unwrap_or_default())
        .into_owned()
}

fn log_buffer() -> &'static Arc<Mutex<Vec<u8>>> {
    static BUF: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUF.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
            .json()
            .with_writer(LogSink(writer))
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        buf
    })
}

struct LogSink(Arc<Mutex<Vec<u8>>>);

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogSink {
    type Writer = LogWriter;
    fn make_writer(&'a self) -> LogWriter {
        LogWriter(self.0.clone())
    }
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(data);
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One renderer for every test of the process (loading renders every sample once).
pub async fn renderer() -> anyhow::Result<Arc<restance_letters::Renderer>> {
    static RENDERER: OnceCell<Arc<restance_letters::Renderer>> = OnceCell::const_new();
    RENDERER
        .get_or_try_init(|| async { load_renderer(&root().join("templates")).await })
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

/// How a test wants the service.
pub struct Setup {
    /// `postgres` or `sqlite`.
    pub kind: &'static str,
    /// A clock the test moves (else the system clock).
    pub clock: Option<Arc<ManualClock>>,
    /// Configure an SMS gateway.
    pub sms: bool,
    /// Require bearer tokens on the API.
    pub api_tokens: bool,
    /// Changes to `[notifications]`.
    pub tweak: Box<dyn FnOnce(&mut NotificationsConfig) + Send>,
}

impl Setup {
    /// The defaults: SMS on, system clock, open API, fast retries and polling.
    pub fn on(kind: &'static str) -> Self {
        Self {
            kind,
            clock: None,
            sms: true,
            api_tokens: false,
            tweak: Box::new(|_| {}),
        }
    }

    /// With changes to `[notifications]`.
    pub fn tweak(mut self, f: impl FnOnce(&mut NotificationsConfig) + Send + 'static) -> Self {
        self.tweak = Box::new(f);
        self
    }
}

/// A running service and what surrounds it.
pub struct Running {
    pub exchange: String,
    pub url: String,
    pub docs: tempfile::TempDir,
    pub gateway: FakeSmsGateway,
    pub probe: BusProbe,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    db: TestDatabase,
    _config_dir: tempfile::TempDir,
}

/// Starts the service as `setup` says.
pub async fn start(setup: Setup) -> anyhow::Result<Running> {
    log_buffer();
    let exchange = unique_exchange();
    let db = TestDatabase::of_kind(setup.kind).await?;
    let docs = tempfile::tempdir()?;
    let gateway = FakeSmsGateway::start_with_token(SMS_TOKEN).await?;
    // The shipped configuration plus the callback secret (read from `sms.callback_token`).
    let config_dir = tempfile::tempdir()?;
    let config_path = config_dir.path().join("restance.toml");
    let shipped = std::fs::read_to_string(root().join("config/restance.toml"))?;
    std::fs::write(
        &config_path,
        format!("{shipped}\n[sms]\ncallback_token = \"{CALLBACK_TOKEN}\"\n"),
    )?;
    let mut settings = Settings::load_from("notifications", Some(&config_path), false)?;
    settings.bus.exchange = exchange.clone();
    settings.bus.batch_linger_ms = 5;
    settings.bus.relay_poll_ms = 50;
    settings.database.url = db.url.clone();
    settings.http.host = "127.0.0.1".into();
    settings.http.port = 0;
    settings.documents.dir = docs.path().to_path_buf();
    settings.templates.dir = root().join("templates");
    if setup.sms {
        settings.sms.url = Some(gateway.url.clone());
        settings.sms.token = Some(SecretString::from(SMS_TOKEN));
    }
    if setup.api_tokens {
        settings.api.tokens = Some(SecretString::from(format!("{API_TOKEN}:caseworker")));
    }
    let mut config = NotificationsConfig::from_settings(&settings).map_err(anyhow::Error::msg)?;
    config.worker.poll_ms = 100;
    config.retry.initial_backoff_ms = 100;
    config.retry.max_backoff_ms = 400;
    (setup.tweak)(&mut config);
    let clock: Arc<dyn Clock> = match &setup.clock {
        Some(c) => c.clone(),
        None => Arc::new(DaytimeClock::new()),
    };
    let cancel = CancellationToken::new();
    let app =
        Application::build_with(settings, config, renderer().await?, clock, cancel.clone()).await?;
    let url = format!("http://{}", app.local_addr());
    let probe = BusProbe::start(&exchange).await?;
    let task = tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    for _ in 0..400 {
        if client
            .get(format!("{url}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Ok(Running {
        exchange,
        url,
        docs,
        gateway,
        probe,
        cancel,
        task,
        db,
        _config_dir: config_dir,
    })
}

impl Running {
    /// Stops the service (graceful) and removes its queues and database.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown().await.map(|_| ())
    }

    /// Stops the service like [`Running::stop`]; returns the probe and the gateway, to look at
    /// what happened during the drain.
    pub async fn shutdown(self) -> anyhow::Result<(BusProbe, FakeSmsGateway)> {
        self.cancel.cancel();
        tokio::time::timeout(Duration::from_secs(60), self.task).await???;
        delete_test_topology(&self.exchange, &["notifications"]).await;
        self.db.drop_database().await;
        Ok((self.probe, self.gateway))
    }

    /// Publishes envelopes routed by their type.
    pub async fn send(&self, envs: &[Value]) -> anyhow::Result<()> {
        let items = envs
            .iter()
            .map(|e| {
                Ok((
                    e["type"].as_str().unwrap_or("x").to_owned(),
                    serde_json::to_vec(e)?,
                ))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        publish_raw(&self.exchange, &items).await
    }

    /// Takes the dead letters of the notifications queue.
    pub async fn dead_letters(&self) -> anyhow::Result<Vec<DeadLetter>> {
        take_all(&format!("{}.notifications.dead", self.exchange)).await
    }

    /// Waits for `n` events of a type and returns their `data`.
    pub async fn events(&mut self, ty: &str, n: usize) -> anyhow::Result<Vec<Value>> {
        Ok(self
            .probe
            .wait_for(ty, n, T)
            .await?
            .into_iter()
            .map(|e| e["data"].clone())
            .collect())
    }

    /// Events of a type seen so far (their `data`).
    pub fn seen(&mut self, ty: &str) -> Vec<Value> {
        self.probe
            .of_type(ty)
            .into_iter()
            .map(|e| e["data"].clone())
            .collect()
    }

    /// The deliveries of a notification (`GET /api/v1/notifications/{id}`).
    pub async fn deliveries(&self, notification_id: &str) -> anyhow::Result<Value> {
        Ok(reqwest::Client::new()
            .get(format!(
                "{}/api/v1/notifications/{notification_id}",
                self.url
            ))
            .bearer_auth(API_TOKEN)
            .send()
            .await?
            .json()
            .await?)
    }

    /// The SMS status callback URL.
    pub fn callback_url(&self) -> String {
        format!("{}/api/v1/sms/status", self.url)
    }

    /// The service's database.
    pub fn db_url(&self) -> &str {
        &self.db.url
    }

    /// The first column of the first row of `sql` (an integer) in the service's database.
    pub async fn query_i64(&self, sql: &str) -> anyhow::Result<i64> {
        use sea_orm::ConnectionTrait;
        let conn = sea_orm::Database::connect(&self.db.url).await?;
        let row = conn
            .query_one_raw(sea_orm::Statement::from_string(
                conn.get_database_backend(),
                sql.to_owned(),
            ))
            .await?
            .ok_or_else(|| anyhow::anyhow!("no row: {sql}"))?;
        let value = row.try_get_by_index::<i64>(0)?;
        conn.close().await.ok();
        Ok(value)
    }

    /// Waits until `n` messages went through the inbox (processed or rejected) and the outbox
    /// is empty.
    pub async fn wait_inbox(&self, n: i64) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + T;
        loop {
            let seen = self
                .query_i64("SELECT COUNT(*) FROM restance_inbox")
                .await?;
            let pending = self
                .query_i64("SELECT COUNT(*) FROM restance_outbox")
                .await?;
            if seen >= n && pending == 0 {
                return Ok(());
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "{seen} of {n} messages processed, {pending} events not published"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

// ------------------------------------------------------------------ messages

/// A CloudEvents envelope.
pub fn envelope(source: &str, id: &str, ty: &str, data: Value) -> Value {
    json!({"specversion":"1.0","id":id,"source":source,"type":ty,"time":"2026-12-01T06:00:00Z",
           "datacontenttype":"application/json","data":data})
}

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
