//! Debt counselling end to end (seed 003, Kristiansand): `restance-counselling`,
//! `restance-invoicing`, `restance-dunning` and `restance-notifications` as processes on the real
//! broker, each on its own PostgreSQL database, with the fake GatewayAPI for SMS and the SMTP
//! test server for the creditors' e-mails.
//!
//! Three applications come in from the municipality's self-service forms on 1 September 2026:
//! - **A-1** (born on the 7th → counsellor EG) has a water bill in invoicing: its claim appears
//!   in the debt schedule and the case holds the municipality's dunning of it. Two unanswered
//!   calls, the reply (with the power of attorney on its own page) two business days later,
//!   missing documents, a meeting with its SMS confirmation and the SMS reminder the business day
//!   before, a creditor asked (letter and e-mail), its answer, the budget, the debt schedule sent
//!   as a letter with its table, the case closed with a note: the creditor's closing letter, the
//!   applicant's letter, the hold released — and the case closes two months later. Dunning
//!   reminds only after the release.
//! - **A-2** (born on the 20th → AG) goes silent after the reply: after three quiet weeks the
//!   counsellor calls twice, the contact SMS goes, and two weeks later the case closes for no
//!   contact with the applicant's letter.
//! - **A-3** has a D-number and a strictly confidential address (code 6): the protected
//!   counsellor KH, the address shown to KH only, a creditor asked and told of the closing — and
//!   the street is in no letter, e-mail or request to a creditor, in no PDF and in no service's
//!   log.
//!
//! Every letter is rendered as a PDF and read back with `pdftotext`; every SMS is checked at the
//! gateway (no amounts, no national id); the case events pass their contract's checks; nothing
//! is rejected and no log holds a national id, a phone number or an address.

use restance_system_tests::{day_opened, personal_data_in, to_items};
use restance_testkit::{
    BusProbe, FakeSmsGateway, ServiceProcess, SmsRequest, TestDatabase, delete_test_topology,
    envelope, publish_raw, unique_exchange,
};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

const T: Duration = Duration::from_secs(90);
const REQUESTED: &str = "notifications.notification.requested.v1";
const OPENED: &str = "counselling.case.opened.v1";
const CLOSED: &str = "counselling.case.closed.v1";
const HELD: &str = "counselling.dunning.held.v1";
const RELEASED: &str = "counselling.dunning.released.v1";
const SOURCE: &str = "/restance/counselling";

/// Counsellor EG (birth days 1–12).
const EG: &str = "eg-counsellor-token-01";
/// Counsellor AG (birth days 17–31).
const AG: &str = "ag-counsellor-token-01";
/// Counsellor KH (13–16, and the protected cases).
const KH: &str = "kh-counsellor-token-01";

/// Born 7 March 1985 (day 7: EG).
const FNR_EG: &str = "07038510007";
/// Born 20 March 1985 (day 20: AG).
const FNR_AG: &str = "20038510186";
/// A D-number: born 14 May 1985 (day 54 − 40 = 14: KH, who has the protected cases anyway).
const DNR_KH: &str = "54058510044";
const NATIONAL_IDS: [&str; 3] = [FNR_EG, FNR_AG, DNR_KH];

const STREET: &str = "Markens gate 12";
const SECRET_STREET: &str = "Hemmeligveien 66";
const PHONE: &str = "+4791234567";
const MSISDN: &str = "4791234567";
/// Invoicing's debtor id of A-1's applicant.
const DEBTOR: &str = "P-NO-77";

async fn spawn(
    name: &str,
    exchange: &str,
    db: &TestDatabase,
    extra: &[(&str, &str)],
) -> anyhow::Result<ServiceProcess> {
    let mut env = vec![
        ("RESTANCE__BUS__EXCHANGE", exchange),
        ("RESTANCE__DATABASE__URL", db.url.as_str()),
        ("RESTANCE__BUS__BATCH_LINGER_MS", "5"),
        ("RESTANCE__BUS__RELAY_POLL_MS", "50"),
    ];
    env.extend_from_slice(extra);
    let svc = ServiceProcess::spawn(name, &env).await?;
    svc.wait_ready(T).await?;
    Ok(svc)
}

/// An application from the self-service form of Kristiansand, applied on 1 September 2026.
fn application(
    id: &str,
    application_id: &str,
    national_id: &str,
    protection: &str,
    income_reported: bool,
) -> Value {
    let (name, street) = if protection == "none" {
        ("Ola Nordmann", STREET)
    } else {
        ("Kari Nordmann", SECRET_STREET)
    };
    envelope(
        "/selfservice/web",
        id,
        "selfservice.counselling.applied.v1",
        json!({"application_id":application_id,"municipality":"4204","channel":"web",
            "applied_date":"2026-09-01",
            "applicant":{"id":format!("P-{application_id}"),"national_id":national_id,"name":name,
                "address":{"lines":[street],"postcode":"4611","city":"Kristiansand","country":"NO"},
                "phone":PHONE,"email":"soker@example.org","language":"nb","digital_post":true,
                "address_protection":protection},
            "answers":{"income_reported":income_reported,"household_adults":1,"household_children":2,
                "debt_register_consent":true,"monthly_income":"24000.00","monthly_expenses":"21500.00"}}),
    )
}

/// A water bill of Kristiansand for A-1's applicant, due 25 August 2026.
fn water_bill() -> Value {
    envelope(
        "/billing/water",
        "bill-w-1",
        "billing.invoice.issued.v1",
        json!({"invoice_id":"W-2026-08-77","municipality":"4204","office":"main","category":"water",
          "debtor":{"id":DEBTOR,"kind":"person","national_id":FNR_EG,"name":"Ola Nordmann",
            "address":{"lines":[STREET],"postcode":"4611","city":"Kristiansand","country":"NO"},
            "phone":PHONE,"language":"nb","digital_post":true,"address_protection":"none"},
          "currency":"NOK","lines":[{"text":"Vann og avløp, 2. termin 2026","amount":"1500.00"}],
          "amount":"1500.00","issue_date":"2026-08-11","due_date":"2026-08-25",
          "prepayment":false,"direct_debit":false}),
    )
}

// ------------------------------------------------------------------ databases

async fn text(conn: &DatabaseConnection, sql: &str) -> anyhow::Result<Option<String>> {
    let row = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            sql.to_owned(),
        ))
        .await?;
    Ok(row.and_then(|r| r.try_get_by_index::<String>(0).ok()))
}

/// Polls `sql` (one text column) until it answers `want`.
async fn wait_text(conn: &DatabaseConnection, sql: &str, want: &str) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let got = text(conn, sql).await?;
        if got.as_deref() == Some(want) {
            return Ok(());
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "{sql}: {got:?}, waited for {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The system under test: the four services, their databases and the probe.
struct System {
    exchange: String,
    probe: BusProbe,
    counselling: ServiceProcess,
    dunning: ServiceProcess,
    cdb: DatabaseConnection,
    ddb: DatabaseConnection,
    http: reqwest::Client,
}

impl System {
    /// Opens business day `date` and waits until counselling ran its timers for it and dunning
    /// finished its run.
    async fn open_day(&mut self, date: &str) -> anyhow::Result<()> {
        publish_raw(&self.exchange, &to_items(&[day_opened(date)])).await?;
        wait_text(
            &self.cdb,
            "SELECT CAST(MAX(business_date) AS TEXT) FROM business_days",
            date,
        )
        .await?;
        wait_text(
            &self.ddb,
            &format!("SELECT state FROM business_days WHERE business_date = '{date}'"),
            "done",
        )
        .await
    }

    /// `POST` to the counselling API with a counsellor's token.
    async fn post(&self, token: &str, path: &str, body: Value) -> anyhow::Result<(u16, Value)> {
        let r = self
            .http
            .post(format!("{}{path}", self.counselling.base_url))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await?;
        let status = r.status().as_u16();
        Ok((status, r.json().await.unwrap_or(Value::Null)))
    }

    async fn get(
        &self,
        base: &str,
        token: Option<&str>,
        path: &str,
    ) -> anyhow::Result<(u16, Value)> {
        let mut req = self.http.get(format!("{base}{path}"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await?;
        let status = r.status().as_u16();
        Ok((status, r.json().await.unwrap_or(Value::Null)))
    }

    /// One step of the routine on `case`, which must succeed; returns the case view.
    async fn step(
        &self,
        token: &str,
        case: &str,
        what: &str,
        body: Value,
    ) -> anyhow::Result<Value> {
        let (s, v) = self
            .post(token, &format!("/api/v1/cases/{case}/{what}"), body)
            .await?;
        anyhow::ensure!(s == 200, "{case} {what}: {s} {v}");
        Ok(v)
    }

    async fn case(&self, token: &str, case: &str) -> anyhow::Result<Value> {
        let base = self.counselling.base_url.clone();
        let (s, v) = self
            .get(&base, Some(token), &format!("/api/v1/cases/{case}"))
            .await?;
        anyhow::ensure!(s == 200, "GET {case}: {s} {v}");
        Ok(v)
    }

    /// The claim's dunning view (holds) in dunning's API.
    async fn dunning_view(&self, claim_id: &str) -> anyhow::Result<Value> {
        let base = self.dunning.base_url.clone();
        let (s, v) = self
            .get(&base, None, &format!("/api/v1/claims/{claim_id}/dunning"))
            .await?;
        anyhow::ensure!(s == 200, "dunning view of {claim_id}: {s} {v}");
        Ok(v)
    }

    /// Counselling's notification requests for `case`.
    fn requests_of(&mut self, case: &str) -> Vec<Value> {
        self.probe
            .of_type(REQUESTED)
            .into_iter()
            .filter(|r| r["source"] == SOURCE && r["data"]["related"]["case_id"] == case)
            .collect()
    }

    /// The one request of `template` for `case`.
    fn request(&mut self, case: &str, template: &str) -> anyhow::Result<Value> {
        let mut found: Vec<Value> = self
            .requests_of(case)
            .into_iter()
            .filter(|r| r["data"]["template"] == template)
            .collect();
        anyhow::ensure!(found.len() == 1, "{case}: {} × {template}", found.len());
        Ok(found.remove(0))
    }

    /// Waits for the request of `template` for `case` (the relay publishes it after the
    /// step's commit); it must be the only one.
    async fn wait_request(&mut self, case: &str, template: &str) -> anyhow::Result<Value> {
        let deadline = tokio::time::Instant::now() + T;
        while !self
            .requests_of(case)
            .iter()
            .any(|r| r["data"]["template"] == template)
        {
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "{case}: no {template} requested"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.request(case, template)
    }

    /// The case events of `case` of one type.
    fn events(&mut self, ty: &str, case: &str) -> Vec<Value> {
        self.probe
            .of_type(ty)
            .into_iter()
            .filter(|e| e["data"]["case_id"] == case)
            .collect()
    }
}

fn templates(requests: &[Value]) -> Vec<String> {
    let mut t: Vec<String> = requests
        .iter()
        .filter_map(|r| r["data"]["template"].as_str().map(str::to_owned))
        .collect();
    t.sort();
    t
}

fn is_sms(template: &str) -> bool {
    matches!(
        template,
        "counselling_meeting_confirmation"
            | "counselling_meeting_reminder"
            | "counselling_contact_request"
    )
}

/// The event passes its contract's own checks.
fn assert_valid(event: &Value) {
    let ty = event["type"].as_str().unwrap_or_default();
    assert_eq!(
        restance_contracts::validate_dynamic(ty, &event["data"]).map_err(|e| e.to_string()),
        Ok(()),
        "{ty}: {event:#}"
    );
    assert_eq!(event["source"], SOURCE, "{ty}");
}

// ------------------------------------------------------------------ documents

/// The text of a PDF, by `pdftotext` (poppler-utils), pages separated by form feeds; with
/// non-breaking and narrow spaces made plain.
fn pdf_text(path: &Path) -> anyhow::Result<String> {
    let out = std::process::Command::new("pdftotext")
        .arg("-layout")
        .arg(path)
        .arg("-")
        .output()
        .map_err(|e| anyhow::anyhow!("pdftotext is needed (poppler-utils): {e}"))?;
    anyhow::ensure!(out.status.success(), "pdftotext {} failed", path.display());
    Ok(String::from_utf8_lossy(&out.stdout).replace(['\u{a0}', '\u{202f}'], " "))
}

/// `text` with its layout runs of spaces and line breaks made single spaces (a phrase may be
/// broken over two lines).
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// The SMTP test server's spool (deploy/local/ensure-services.sh).
fn smtp_spool() -> PathBuf {
    if let Some(dir) = std::env::var_os("RESTANCE_SMTP_DIR") {
        return PathBuf::from(dir);
    }
    std::env::var_os("RESTANCE_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/restance-tools")
        })
        .join("smtp/inbox")
}

/// The path of the received e-mail with `Message-ID: <message_id>`.
async fn mail_with_id(message_id: &str) -> anyhow::Result<PathBuf> {
    let needle = format!("<{message_id}>");
    let deadline = tokio::time::Instant::now() + T;
    loop {
        for path in walk(&smtp_spool()) {
            if path.extension().is_some_and(|x| x == "eml")
                && let Ok(bytes) = std::fs::read(&path)
                && String::from_utf8_lossy(&bytes).contains(&needle)
            {
                return Ok(path);
            }
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "no e-mail {needle} in {} (is the SMTP test server running? \
             deploy/local/ensure-services.sh smtp)",
            smtp_spool().display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An e-mail decoded by Python's `email` package: its headers and text parts as text, and the
/// text of each attached PDF.
const DECODE_MAIL: &str = r#"
import email, os, sys
from email import policy
msg = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=policy.default)
print('To:', msg['to'])
print('Subject:', msg['subject'])
n = 0
for part in msg.walk():
    if part.is_multipart():
        continue
    kind = part.get_content_type()
    if kind == 'application/pdf':
        n += 1
        with open(os.path.join(sys.argv[2], '%d.pdf' % n), 'wb') as f:
            f.write(part.get_payload(decode=True))
    elif kind.startswith('text/'):
        print(part.get_content())
"#;

struct Mail {
    text: String,
    pdfs: Vec<String>,
}

fn decode_mail(path: &Path) -> anyhow::Result<Mail> {
    let dir = std::env::temp_dir().join(format!("restance-mail-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir)?;
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(DECODE_MAIL)
        .arg(path)
        .arg(&dir)
        .output()
        .map_err(|e| anyhow::anyhow!("python3 is needed to read the e-mail: {e}"))?;
    anyhow::ensure!(
        out.status.success(),
        "decoding {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut pdfs = Vec::new();
    let mut files = walk(&dir);
    files.sort();
    for f in files {
        pdfs.push(pdf_text(&f)?);
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Mail {
        text: String::from_utf8_lossy(&out.stdout).into_owned(),
        pdfs,
    })
}

// ------------------------------------------------------------------ SMS

/// An SMS must carry no amount: no currency word and no decimal amount.
fn amounts_in(message: &str) -> Vec<String> {
    let mut found: Vec<String> = message
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| matches!(*w, "kr" | "NOK" | "Kr" | "kroner"))
        .map(str::to_owned)
        .collect();
    for amount in [",00", "1500", "1 500", "21500", "21 500", "20000", "20 000"] {
        if message.contains(amount) {
            found.push(amount.to_owned());
        }
    }
    found
}

fn sms_of(gateway: &FakeSmsGateway, notification_id: &str) -> Vec<SmsRequest> {
    gateway
        .accepted()
        .into_iter()
        .filter(|r| r.userref.as_deref() == Some(notification_id))
        .collect()
}

async fn wait_sms(gateway: &FakeSmsGateway, notification_id: &str) -> anyhow::Result<SmsRequest> {
    let deadline = tokio::time::Instant::now() + T;
    loop {
        if let Some(r) = sms_of(gateway, notification_id).pop() {
            return Ok(r);
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "no SMS {notification_id} at the gateway; it has {:?}",
            gateway
                .requests()
                .iter()
                .map(|r| r.userref.clone())
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ------------------------------------------------------------------ the test

#[tokio::test]
async fn two_cases_run_end_to_end_and_a_protected_address_stays_protected() -> anyhow::Result<()> {
    let exchange = unique_exchange();
    let probe = BusProbe::start(&exchange).await?;
    let (c_db, inv_db, dun_db, not_db) = (
        TestDatabase::postgres().await?,
        TestDatabase::postgres().await?,
        TestDatabase::postgres().await?,
        TestDatabase::postgres().await?,
    );
    let gateway = FakeSmsGateway::start().await?;
    let documents =
        std::env::temp_dir().join(format!("restance-counselling-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&documents)?;
    let documents_dir = documents.to_string_lossy().into_owned();
    let tokens = format!("{EG}:caseworker:EG,{AG}:caseworker:AG,{KH}:caseworker:KH");
    let counselling = spawn(
        "restance-counselling",
        &exchange,
        &c_db,
        &[("RESTANCE__API__TOKENS", tokens.as_str())],
    )
    .await?;
    let mut invoicing = spawn("restance-invoicing", &exchange, &inv_db, &[]).await?;
    let dunning = spawn(
        "restance-dunning",
        &exchange,
        &dun_db,
        &[("RESTANCE__DUNNING__RUN__POLL_MS", "100")],
    )
    .await?;
    let mut notifications = spawn(
        "restance-notifications",
        &exchange,
        &not_db,
        &[
            ("RESTANCE__DOCUMENTS__DIR", documents_dir.as_str()),
            ("RESTANCE__SMS__URL", gateway.url.as_str()),
            // the binary reads the system clock: no quiet hours, whatever the hour of the test
            ("RESTANCE__NOTIFICATIONS__QUIET_HOURS__START", "00:00"),
            ("RESTANCE__NOTIFICATIONS__QUIET_HOURS__END", "00:00"),
            ("RESTANCE__NOTIFICATIONS__WORKER__POLL_MS", "200"),
        ],
    )
    .await?;
    let mut sys = System {
        exchange: exchange.clone(),
        probe,
        cdb: Database::connect(&c_db.url).await?,
        ddb: Database::connect(&dun_db.url).await?,
        counselling,
        dunning,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?,
    };

    // ---------------------------------------------------------------- 1 September
    // A-1's applicant has a water bill: invoicing opens the claim and announces the debtor, and
    // counselling keeps both (the schedule shows the claim, the case holds its dunning).
    publish_raw(&exchange, &to_items(&[water_bill()])).await?;
    let opened = sys
        .probe
        .wait_for("invoicing.claim.opened.v1", 1, T)
        .await?;
    let claim_id = opened[0]["data"]["claim_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    wait_text(&sys.cdb, "SELECT CAST(COUNT(*) AS TEXT) FROM claims", "1").await?;
    wait_text(&sys.cdb, "SELECT CAST(COUNT(*) AS TEXT) FROM debtors", "1").await?;
    sys.open_day("2026-09-01").await?;

    publish_raw(
        &exchange,
        &to_items(&[
            application("app-1", "A-1", FNR_EG, "none", false),
            application("app-2", "A-2", FNR_AG, "none", true),
            application("app-3", "A-3", DNR_KH, "strictly_confidential", true),
        ]),
    )
    .await?;
    let opened = sys.probe.wait_for(OPENED, 3, T).await?;
    let mut cases: BTreeMap<String, String> = BTreeMap::new();
    for e in &opened {
        assert_valid(e);
        let s = e.to_string();
        for secret in NATIONAL_IDS.iter().chain(&[STREET, SECRET_STREET, PHONE]) {
            assert!(!s.contains(secret), "{secret} on the bus: {e}");
        }
        cases.insert(
            e["data"]["application_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            e["data"]["case_id"].as_str().unwrap_or_default().to_owned(),
        );
    }
    let counsellors: BTreeMap<&str, &str> = opened
        .iter()
        .map(|e| {
            (
                e["data"]["application_id"].as_str().unwrap_or_default(),
                e["data"]["counsellor"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        counsellors,
        BTreeMap::from([("A-1", "EG"), ("A-2", "AG"), ("A-3", "KH")]),
        "by day of birth; the protected case to the protected counsellor"
    );
    let (c1, c2, c3) = (
        cases["A-1"].clone(),
        cases["A-2"].clone(),
        cases["A-3"].clone(),
    );

    // The hold reaches dunning: the claim is held under the case.
    let held = sys.probe.wait_for(HELD, 1, T).await?;
    assert_eq!(
        held.len(),
        1,
        "only A-1 is a debtor in invoicing: {held:#?}"
    );
    assert_valid(&held[0]);
    assert_eq!(held[0]["data"]["case_id"], c1.as_str());
    assert_eq!(held[0]["data"]["debtor_id"], DEBTOR);
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let v = sys.dunning_view(&claim_id).await?;
        let holds = v["holds"].as_array().cloned().unwrap_or_default();
        if holds
            .iter()
            .any(|h| h["kind"] == "counselling" && h["hold_id"] == c1.as_str())
        {
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "dunning does not hold {claim_id}: {v}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A-1: the income is unclarified. Two calls nobody answers, then two business days' wait.
    sys.step(EG, &c1, "calls", json!({"outcome":"no_answer"}))
        .await?;
    sys.step(EG, &c1, "calls", json!({"outcome":"voicemail"}))
        .await?;
    let (s, v) = sys
        .post(
            EG,
            &format!("/api/v1/cases/{c1}/review"),
            json!({"decision":"suitable"}),
        )
        .await?;
    assert_eq!(s, 409, "two business days' wait first: {v}");

    // A-2: reviewed at once; the quiet period runs from here.
    let v = sys
        .step(AG, &c2, "review", json!({"decision":"suitable"}))
        .await?;
    assert_eq!(v["next_timer"], "2026-09-22", "15 business days: {v}");

    // A-3: the address is KH's to see only; a creditor is asked and told of the closing.
    let v = sys.case(EG, &c3).await?;
    assert_eq!(v["case"]["routine"], "protected");
    assert_eq!(v["applicant"]["address"], Value::Null, "not to EG");
    assert_eq!(v["applicant"]["address_protected"], true);
    let v = sys.case(KH, &c3).await?;
    assert_eq!(v["applicant"]["address"]["lines"][0], SECRET_STREET);
    sys.step(KH, &c3, "review", json!({"decision":"suitable"}))
        .await?;
    sys.step(
        KH,
        &c3,
        "documents",
        json!({"received":["Skattemelding"],"power_of_attorney":true}),
    )
    .await?;
    sys.step(KH, &c3, "creditors", json!({"name":"Intrum AS","reference":"I-3",
        "email":"gjeld@intrum.example",
        "address":{"lines":["Postboks 6354 Etterstad"],"postcode":"0604","city":"Oslo","country":"NO"}}))
        .await?;
    let v = sys
        .step(
            KH,
            &c3,
            "close",
            json!({"reason":"advice_given","note":"Råd gitt i telefon."}),
        )
        .await?;
    assert_eq!(v["case"]["phase"], "closing");
    assert_eq!(
        v["case"]["close_on"], "2026-11-02",
        "two months, to a business day"
    );

    // ---------------------------------------------------------------- 3 September
    sys.open_day("2026-09-03").await?;
    let v = sys
        .step(EG, &c1, "review", json!({"decision":"suitable"}))
        .await?;
    assert_eq!(v["case"]["phase"], "documentation");
    sys.step(
        EG,
        &c1,
        "documents",
        json!({"received":["Skattemelding"],"missing":["Lønnsslipper"]}),
    )
    .await?;
    sys.step(
        EG,
        &c1,
        "documents",
        json!({"received":["Lønnsslipper"],"power_of_attorney":true}),
    )
    .await?;
    sys.step(
        EG,
        &c1,
        "meetings",
        json!({"at":"2026-09-10T10:00:00","place":"Rådhusgata 18","interpreter":"arabisk"}),
    )
    .await?;
    let confirmation = sys
        .wait_request(&c1, "counselling_meeting_confirmation")
        .await?;
    let confirmation_sms = wait_sms(
        &gateway,
        confirmation["data"]["notification_id"]
            .as_str()
            .unwrap_or_default(),
    )
    .await?;

    // ---------------------------------------------------------------- 9 September
    // The business day before the meeting: the SMS reminder. Dunning's reminder 1 would have
    // been due yesterday (14 days after the due date): it is held.
    sys.open_day("2026-09-09").await?;
    let reminder = sys
        .wait_request(&c1, "counselling_meeting_reminder")
        .await?;
    let reminder_sms = wait_sms(
        &gateway,
        reminder["data"]["notification_id"]
            .as_str()
            .unwrap_or_default(),
    )
    .await?;

    // ---------------------------------------------------------------- 10 September
    sys.open_day("2026-09-10").await?;
    sys.step(EG, &c1, "meeting-outcome", json!({"outcome":"held"}))
        .await?;
    sys.step(EG, &c1, "creditors", json!({"name":"Lindorff AS","reference":"L-77",
        "email":"gjeld@lindorff.example",
        "address":{"lines":["Postboks 283 Skøyen"],"postcode":"0213","city":"Oslo","country":"NO"}}))
        .await?;
    let (s, v) = sys
        .post(
            EG,
            &format!("/api/v1/cases/{c1}/creditors/0/answer"),
            json!({"items":[{"kind":"forbrukslån","reference":"L-77","balance":"20000.00",
                "interest":"1500.00","monthly_cost":"1200.00"}]}),
        )
        .await?;
    assert_eq!(s, 200, "{v}");
    sys.step(
        EG,
        &c1,
        "budget",
        json!({"monthly_income":"24000.00","monthly_expenses":"21500.00"}),
    )
    .await?;
    let v = sys.step(EG, &c1, "schedule", json!({})).await?;
    assert_eq!(
        v["schedule"]["totals"]["balance"], "21500.00",
        "the creditor's 20,000.00 and the water bill in Restance: {v}"
    );
    let v = sys
        .step(
            EG,
            &c1,
            "close",
            json!({"reason":"completed","note":"Gjelden er kartlagt; søker selv om gjeldsordning."}),
        )
        .await?;
    assert_eq!(v["case"]["phase"], "closing");
    assert_eq!(v["case"]["close_on"], "2026-11-10", "the two-month tail");
    let released = sys.probe.wait_for(RELEASED, 1, T).await?;
    assert_valid(&released[0]);
    assert_eq!(released[0]["data"]["case_id"], c1.as_str());
    assert_eq!(released[0]["data"]["debtor_id"], DEBTOR);
    assert_eq!(released[0]["data"]["released_date"], "2026-09-10");
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let v = sys.dunning_view(&claim_id).await?;
        if v["holds"].as_array().is_some_and(|h| {
            h.iter()
                .any(|h| h["hold_id"] == c1.as_str() && h["until"] == "2026-09-09")
        }) {
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "dunning's hold not ended the day before the release: {v}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let dunning_reminders = |sys: &mut System| -> Vec<Value> {
        sys.probe
            .of_type(REQUESTED)
            .into_iter()
            .filter(|r| {
                r["source"] == "/restance/dunning"
                    && r["data"]["template"] == "reminder_1"
                    && r["data"]["recipient"]["debtor_id"] == DEBTOR
            })
            .collect()
    };
    assert!(
        dunning_reminders(&mut sys).is_empty(),
        "no reminder while the case held the claim"
    );

    // ---------------------------------------------------------------- A-2 goes silent
    sys.open_day("2026-09-22").await?;
    let v = sys.case(AG, &c2).await?;
    assert_eq!(v["case"]["watch"]["state"], "calls_due", "{v}");
    assert_eq!(v["tasks"][0]["kind"], "call");
    sys.step(AG, &c2, "calls", json!({"outcome":"no_answer"}))
        .await?;
    let v = sys
        .step(AG, &c2, "calls", json!({"outcome":"no_answer"}))
        .await?;
    assert_eq!(v["case"]["watch"]["state"], "sms_sent");
    assert_eq!(v["case"]["watch"]["close_on"], "2026-10-06");
    let contact = sys.wait_request(&c2, "counselling_contact_request").await?;
    assert_eq!(contact["data"]["data"]["respond_by"], "2026-10-06");
    let contact_sms = wait_sms(
        &gateway,
        contact["data"]["notification_id"]
            .as_str()
            .unwrap_or_default(),
    )
    .await?;
    sys.open_day("2026-10-05").await?;
    assert!(
        sys.events(CLOSED, &c2).is_empty(),
        "not before the two weeks are out"
    );
    sys.open_day("2026-10-06").await?;
    let deadline = tokio::time::Instant::now() + T;
    while sys.events(CLOSED, &c2).is_empty() {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "{c2} not closed on 2026-10-06"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let closed2 = sys.events(CLOSED, &c2).remove(0);
    assert_valid(&closed2);
    assert_eq!(closed2["data"]["reason"], "no_contact");
    assert_eq!(closed2["data"]["closed_date"], "2026-10-06");
    assert_eq!(closed2["data"]["counsellor"], "AG");

    // ---------------------------------------------------------------- the closing tails
    sys.open_day("2026-11-09").await?;
    let deadline = tokio::time::Instant::now() + T;
    while sys.events(CLOSED, &c3).is_empty() {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "{c3} not closed after its tail (2026-11-02)"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        sys.events(CLOSED, &c1).is_empty(),
        "A-1's tail runs to 2026-11-10"
    );
    sys.open_day("2026-11-10").await?;
    let deadline = tokio::time::Instant::now() + T;
    while sys.events(CLOSED, &c1).is_empty() {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "{c1} not closed on 2026-11-10"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let closed1 = sys.events(CLOSED, &c1).remove(0);
    assert_valid(&closed1);
    assert_eq!(closed1["data"]["reason"], "completed");
    assert_eq!(closed1["data"]["work_ended_date"], "2026-09-10");
    assert_eq!(closed1["data"]["closed_date"], "2026-11-10");
    let closed3 = sys.events(CLOSED, &c3).remove(0);
    assert_valid(&closed3);
    assert_eq!(closed3["data"]["reason"], "advice_given");
    assert_eq!(closed3["data"]["work_ended_date"], "2026-09-01");
    assert_eq!(closed3["data"]["counsellor"], "KH");
    assert_eq!(sys.probe.of_type(CLOSED).len(), 3);
    assert_eq!(sys.probe.of_type(RELEASED).len(), 1);

    // Dunning reminded A-1's applicant only after the release: one reminder 1, its "pay by"
    // after the case's work ended.
    let deadline = tokio::time::Instant::now() + T;
    let dunned = loop {
        let r = dunning_reminders(&mut sys);
        if !r.is_empty() {
            break r;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "dunning never reminded after the release"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(dunned.len(), 1, "{dunned:#?}");
    let pay_by = dunned[0]["data"]["data"]["pay_by"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // held from 1 to 9 September, the step's 14 days ran again from the release: due 23
    // September, sent on the next day opened (5 October) with 10 days to pay
    assert_eq!(
        pay_by, "2026-10-15",
        "reminder 1 not on the first business day after the released hold's interval"
    );

    // ---------------------------------------------------------------- what was sent
    sys.probe.settle(Duration::from_millis(500)).await;
    let r1 = sys.requests_of(&c1);
    let r2 = sys.requests_of(&c2);
    let r3 = sys.requests_of(&c3);
    assert_eq!(
        templates(&r1),
        [
            "counselling_case_closed",
            "counselling_creditor_closing",
            "counselling_debt_feedback",
            "counselling_debt_request",
            "counselling_meeting_confirmation",
            "counselling_meeting_reminder",
            "counselling_missing_documentation",
            "counselling_reply",
        ]
    );
    assert_eq!(
        templates(&r2),
        [
            "counselling_case_closed",
            "counselling_contact_request",
            "counselling_reply",
        ]
    );
    assert_eq!(
        templates(&r3),
        [
            "counselling_case_closed",
            "counselling_creditor_closing",
            "counselling_debt_request",
            "counselling_reply",
        ]
    );
    let all: Vec<Value> = r1.iter().chain(&r2).chain(&r3).cloned().collect();
    // no request to a creditor carries the applicant's address or national id
    for r in &all {
        let template = r["data"]["template"].as_str().unwrap_or_default();
        let s = r.to_string();
        if r["data"]["recipient"]["party_kind"] == "company" {
            for secret in NATIONAL_IDS.iter().chain(&[STREET, SECRET_STREET, PHONE]) {
                assert!(
                    !s.contains(secret),
                    "{template} to a creditor holds {secret}"
                );
            }
        } else if r["data"]["related"]["case_id"] == c3.as_str() {
            assert_eq!(
                r["data"]["recipient"]["address_protection"], "strictly_confidential",
                "{template}"
            );
        }
    }

    // Every letter rendered as a PDF; every SMS at the gateway.
    let letters: Vec<&Value> = all
        .iter()
        .filter(|r| !is_sms(r["data"]["template"].as_str().unwrap_or_default()))
        .collect();
    let ids: Vec<String> = letters
        .iter()
        .filter_map(|r| r["data"]["notification_id"].as_str().map(str::to_owned))
        .collect();
    let deadline = tokio::time::Instant::now() + T;
    let ready: BTreeMap<String, Value> = loop {
        let ready: BTreeMap<String, Value> = sys
            .probe
            .of_type("notifications.letter.ready.v1")
            .into_iter()
            .filter_map(|r| {
                let id = r["data"]["notification_id"].as_str()?.to_owned();
                ids.contains(&id).then_some((id, r["data"].clone()))
            })
            .collect();
        if ready.len() == ids.len() {
            break ready;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "letters rendered: {:?} of {ids:?}; failed: {:#?}",
            ready.keys().collect::<Vec<_>>(),
            sys.probe.of_type("notifications.delivery.failed.v1"),
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let mut pdf: BTreeMap<String, String> = BTreeMap::new(); // notification id → text
    for (id, r) in &ready {
        let path = documents.join(r["document"]["path"].as_str().unwrap_or("-"));
        let bytes =
            std::fs::read(&path).map_err(|e| anyhow::anyhow!("{id}: {}: {e}", path.display()))?;
        assert!(bytes.starts_with(b"%PDF-"), "{id}");
        pdf.insert(id.clone(), pdf_text(&path)?);
    }
    let letter_of =
        |sys: &mut System, case: &str, template: &str| -> anyhow::Result<(Value, String)> {
            let r = sys.request(case, template)?;
            let id = r["data"]["notification_id"].as_str().unwrap_or_default();
            let text = pdf
                .get(id)
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("no PDF for {id}"))?;
            Ok((ready[id].clone(), text))
        };

    // A-1's reply: digital post, the deadline after the unanswered calls, and the power of
    // attorney on a page of its own (after a page break).
    let (ready1, reply) = letter_of(&mut sys, &c1, "counselling_reply")?;
    assert_eq!(ready1["channel"], "digital_post");
    let flat_reply = flat(&reply);
    for expected in [
        "Svar på søknad om gjeldsrådgivning",
        c1.as_str(),
        "Eva Gran",
        "Signert fullmakt",
    ] {
        assert!(
            flat_reply.contains(expected),
            "{expected} not in the reply:\n{reply}"
        );
    }
    let pages: Vec<&str> = reply
        .split('\u{c}')
        .filter(|p| !p.trim().is_empty())
        .collect();
    assert!(
        pages.len() >= 2,
        "the reply has {} page(s):\n{reply}",
        pages.len()
    );
    let last = flat(pages[pages.len() - 1]);
    assert!(
        last.starts_with("Fullmakt") || last.contains("Fullmakt Saksnummer"),
        "the power of attorney is not a page of its own:\n{reply}"
    );
    assert!(
        last.contains("Underskrift") && last.contains(c1.as_str()),
        "{last}"
    );
    assert!(
        !pages[..pages.len() - 1]
            .iter()
            .any(|p| flat(p).contains("Underskrift")),
        "the form is on the last page only"
    );

    // the debt request to the creditor: the applicant by name and birth date only
    let (ready_req, request) = letter_of(&mut sys, &c1, "counselling_debt_request")?;
    let flat_request = flat(&request);
    for expected in [
        "Forespørsel om gjeldsopplysninger",
        "Ola Nordmann",
        "Lindorff AS",
        "L-77",
    ] {
        assert!(
            flat_request.contains(expected),
            "{expected} not in the debt request:\n{request}"
        );
    }
    assert!(
        flat_request.contains("07.03.1985")
            || flat_request.contains("1985-03-07")
            || flat_request.contains("7. mars 1985"),
        "no birth date in the debt request:\n{request}"
    );
    assert_eq!(ready_req["recipient"]["name"], "Lindorff AS");

    // the debt feedback: the schedule's table with the claim in Restance and the creditor's
    let (_, feedback) = letter_of(&mut sys, &c1, "counselling_debt_feedback")?;
    let flat_feedback = flat(&feedback);
    for expected in [
        "Tilbakemelding etter kartlegging av gjeld",
        "Gjeldsoversikt",
        "Kreditor",
        "Restgjeld",
        "Per måned",
        "Kristiansand kommune",
        "Lindorff AS",
        "forbrukslån",
        "Budsjett per måned",
    ] {
        assert!(
            flat_feedback.contains(expected),
            "{expected} not in the feedback:\n{feedback}"
        );
    }
    assert!(
        flat_feedback.contains("21 500,00") || flat_feedback.contains("21.500,00"),
        "the total 21,500.00 not in the feedback:\n{feedback}"
    );

    // the claim in Restance under its category's Norwegian name, not the catalog key
    assert!(
        flat_feedback.contains("Vann") && !flat_feedback.contains("W-2026-08-77 water "),
        "the claim's kind in the feedback:\n{feedback}"
    );

    // the closing letters
    let (_, creditor_closing) = letter_of(&mut sys, &c1, "counselling_creditor_closing")?;
    assert!(
        flat(&creditor_closing).contains("Avslutning av saksbehandling"),
        "{creditor_closing}"
    );
    let (_, closed_letter) = letter_of(&mut sys, &c1, "counselling_case_closed")?;
    let flat_closed = flat(&closed_letter);
    assert!(
        flat_closed.contains("Saken din om gjeldsrådgivning er avsluttet")
            && flat_closed.contains("Arbeidet vi avtalte i saken, er fullført"),
        "{closed_letter}"
    );
    let (_, missing) = letter_of(&mut sys, &c1, "counselling_missing_documentation")?;
    assert!(flat(&missing).contains("Lønnsslipper"), "{missing}");
    let (_, closed2_letter) = letter_of(&mut sys, &c2, "counselling_case_closed")?;
    assert!(
        flat(&closed2_letter).contains("Vi har ikke fått kontakt med deg"),
        "{closed2_letter}"
    );

    // A-3's own letters go by the protected route, without an address
    for template in ["counselling_reply", "counselling_case_closed"] {
        let (r, _) = letter_of(&mut sys, &c3, template)?;
        assert_eq!(r["channel"], "protected", "{template}");
        assert_eq!(r["recipient"]["address"], Value::Null, "{template}");
    }

    // No letter prints the protected street or a national id; no creditor's letter prints the
    // applicant's address.
    for (id, text) in &pdf {
        let t = flat(text);
        assert!(
            !t.contains(SECRET_STREET),
            "{id} prints the protected street:\n{text}"
        );
        for n in NATIONAL_IDS {
            assert!(!t.contains(n), "{id} prints a national id:\n{text}");
        }
    }
    for r in all
        .iter()
        .filter(|r| r["data"]["recipient"]["party_kind"] == "company")
    {
        let id = r["data"]["notification_id"].as_str().unwrap_or_default();
        let t = flat(pdf.get(id).map_or("", String::as_str));
        assert!(
            !t.contains(STREET),
            "{id}: the applicant's address to a creditor:\n{t}"
        );
        assert!(
            !t.contains("4611"),
            "{id}: the applicant's postcode to a creditor:\n{t}"
        );
    }
    let on_disk = walk(&documents)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "pdf"))
        .count();
    assert!(
        on_disk >= ready.len(),
        "{on_disk} PDFs for {} letters",
        ready.len()
    );

    // The creditors' e-mails (debt request and closing, for A-1 and A-3), each with its PDF:
    // nothing of the applicant's address or national id.
    let creditor_ids: Vec<String> = all
        .iter()
        .filter(|r| r["data"]["recipient"]["party_kind"] == "company")
        .filter_map(|r| r["data"]["notification_id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(creditor_ids.len(), 4, "{creditor_ids:?}");
    let deadline = tokio::time::Instant::now() + T;
    let emails = loop {
        let emails: Vec<Value> = sys
            .probe
            .of_type("notifications.email.sent.v1")
            .into_iter()
            .filter(|e| {
                creditor_ids
                    .iter()
                    .any(|id| e["data"]["notification_id"] == id.as_str())
            })
            .collect();
        if emails.len() == creditor_ids.len() {
            break emails;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "creditor e-mails sent: {} of {}; failed: {:#?} (is the SMTP test server running? \
             deploy/local/ensure-services.sh smtp)",
            emails.len(),
            creditor_ids.len(),
            sys.probe.of_type("notifications.delivery.failed.v1")
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for e in &emails {
        let id = e["data"]["notification_id"].as_str().unwrap_or_default();
        assert_eq!(e["data"]["attachment"], true, "{id}: the letter attached");
        let path = mail_with_id(e["data"]["message_id"].as_str().unwrap_or_default()).await?;
        let raw = String::from_utf8_lossy(&std::fs::read(&path)?).into_owned();
        let mail = decode_mail(&path)?;
        let to = if id.starts_with(&format!("counselling:{c1}:")) {
            "gjeld@lindorff.example"
        } else {
            "gjeld@intrum.example"
        };
        assert!(mail.text.contains(to), "{id}: not to {to}:\n{}", mail.text);
        assert_eq!(mail.pdfs.len(), 1, "{id}: one PDF attached");
        for secret in NATIONAL_IDS.iter().chain(&[STREET, SECRET_STREET, PHONE]) {
            assert!(!raw.contains(secret), "{id}: the raw e-mail holds {secret}");
            assert!(
                !mail.text.contains(secret),
                "{id}: the e-mail holds {secret}"
            );
            assert!(
                !flat(&mail.pdfs[0]).contains(secret),
                "{id}: the attached letter holds {secret}"
            );
        }
    }

    // The SMS: the confirmation, the reminder the business day before, the contact request —
    // to the applicant's mobile, with no amount and no national id.
    let sms_ids: Vec<String> = all
        .iter()
        .filter(|r| is_sms(r["data"]["template"].as_str().unwrap_or_default()))
        .filter_map(|r| r["data"]["notification_id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(sms_ids.len(), 3);
    for (what, sms) in [
        ("confirmation", &confirmation_sms),
        ("reminder", &reminder_sms),
        ("contact request", &contact_sms),
    ] {
        assert_eq!(sms.msisdns, [MSISDN], "{what}");
        assert_eq!(sms.sender, "Kemneren", "{what}");
        assert!(
            sms.message.contains("Kristiansand"),
            "{what}: {}",
            sms.message
        );
        assert_eq!(
            amounts_in(&sms.message),
            Vec::<String>::new(),
            "{what}: {}",
            sms.message
        );
        for n in NATIONAL_IDS.iter().chain(&[STREET, SECRET_STREET]) {
            assert!(!sms.message.contains(n), "{what}: {n} in {}", sms.message);
        }
    }
    assert!(
        confirmation_sms.message.contains("Rådhusgata 18")
            && reminder_sms.message.contains("Rådhusgata 18"),
        "{} / {}",
        confirmation_sms.message,
        reminder_sms.message
    );
    assert!(
        contact_sms.message.contains("06.10.2026")
            || contact_sms.message.contains("2026-10-06")
            || contact_sms.message.contains("6. oktober"),
        "{}",
        contact_sms.message
    );
    for id in &sms_ids {
        assert_eq!(sms_of(&gateway, id).len(), 1, "{id}: one SMS");
    }

    // Nothing was rejected or failed.
    sys.probe.settle(Duration::from_millis(500)).await;
    for service in ["counselling", "invoicing", "dunning", "notifications"] {
        let rejected = sys.probe.of_type(&format!("{service}.message.rejected.v1"));
        assert!(rejected.is_empty(), "{service} rejected: {rejected:#?}");
    }
    let failed = sys.probe.of_type("notifications.delivery.failed.v1");
    assert!(failed.is_empty(), "failed deliveries: {failed:#?}");

    // No log holds a national id, the applicant's phone, name or address — the protected
    // street least of all.
    let System {
        mut counselling,
        mut dunning,
        ..
    } = sys;
    assert!(counselling.terminate(T).await?, "SIGTERM ends counselling");
    assert!(invoicing.terminate(T).await?, "SIGTERM ends invoicing");
    assert!(dunning.terminate(T).await?, "SIGTERM ends dunning");
    assert!(
        notifications.terminate(T).await?,
        "SIGTERM ends notifications"
    );
    let personal = [
        FNR_EG,
        FNR_AG,
        DNR_KH,
        SECRET_STREET,
        "Hemmeligveien",
        STREET,
        MSISDN,
        "Kari Nordmann",
        "Ola Nordmann",
        "soker@example.org",
    ];
    for (name, log) in [
        ("counselling", counselling.log_text()),
        ("invoicing", invoicing.log_text()),
        ("dunning", dunning.log_text()),
        ("notifications", notifications.log_text()),
    ] {
        assert!(!log.is_empty(), "{name} logged nothing");
        let found = personal_data_in(&log, &personal);
        assert!(found.is_empty(), "{name}'s log holds {found:?}");
    }
    delete_test_topology(
        &exchange,
        &["counselling", "invoicing", "dunning", "notifications"],
    )
    .await;
    let _ = std::fs::remove_dir_all(&documents);
    Ok(())
}
