//! The notifications service in-process against the real RabbitMQ, PostgreSQL and SQLite, the
//! real SMTP test server, a fake GatewayAPI and `pdftotext`: every story and every bad input of
//! the notifications issue.

mod support;

use restance_contracts::messages::Attachment;
use restance_notifications::clock::ManualClock;
use restance_testkit::{FakeSmsGateway, SmsReply, TestApp, logs, shipped_settings};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;
use support::*;

async fn letter_pdf(app: &TestApp, letter: &Value) -> anyhow::Result<Vec<u8>> {
    let id = letter["document"]["id"].as_str().unwrap_or_default();
    let r = reqwest::Client::new()
        .get(format!("{}/api/v1/documents/{id}", app.url))
        .bearer_auth(API_TOKEN)
        .send()
        .await?;
    anyhow::ensure!(r.status().is_success(), "GET document: {}", r.status());
    assert_eq!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/pdf")
    );
    Ok(r.bytes().await?.to_vec())
}

/// A reminder to a debtor with digital post: a PDF on disk announced for digital post, an SMS
/// at the gateway with the notification id as `userref`, `sms.sent` with the gateway's id.
async fn a_reminder_becomes_a_letter_and_an_sms(kind: &'static str) -> anyhow::Result<()> {
    let gateway = FakeSmsGateway::start_with_token(SMS_TOKEN).await?;
    let mut app = builder(kind, Some(&gateway))
        .configure(api_tokens)
        .spawn_with(|s, c| build(s, c, daytime(), |_| {}))
        .await?;
    let n = unique("N");
    app.publish(&[
        debtor_updated(&unique("d"), debtor("P-1")),
        request(
            &unique("e"),
            &n,
            "reminder_1",
            to_debtor("P-1"),
            reminder_data(),
        ),
    ])
    .await?;

    let letter = app
        .events("notifications.letter.ready.v1", 1)
        .await?
        .remove(0);
    assert_eq!(letter["notification_id"], n.as_str());
    assert_eq!(letter["channel"], "digital_post");
    assert_eq!(letter["template"], "reminder_1");
    assert_eq!(letter["language"], "da");
    assert_eq!(letter["recipient"]["debtor_id"], "P-1");
    assert_eq!(letter["recipient"]["address"]["lines"][0], "Parkvej 1");
    let path = letter["document"]["path"].as_str().unwrap_or_default();
    assert!(
        path.starts_with("2026/12/"),
        "dated by data.letter_date: {path}"
    );
    let on_disk = std::fs::read(app.documents().join(path))?;
    assert_eq!(
        hex::encode(Sha256::digest(&on_disk)),
        letter["document"]["sha256"].as_str().unwrap_or_default()
    );
    assert!(letter["document"]["pages"].as_u64().unwrap_or(0) >= 1);
    let served = letter_pdf(&app, &letter).await?;
    assert_eq!(served, on_disk, "the API serves the file on disk");
    let text = pdf_text(&served)?;
    for expected in [
        "Ane Hansen",
        "Parkvej 1",
        "8670 Låsby",
        "2.150,00",
        "DAY-2026-12-1",
        "+71<000000067097535+85412345<",
        "opkrævningsloven § 6",
        "20. december 2026",
    ] {
        assert!(
            text.contains(expected),
            "{expected} missing from the letter:\n{text}"
        );
    }

    let sms = gateway.wait_for_accepted(1, T).await?;
    assert_eq!(sms.len(), 1);
    assert_eq!(sms[0].userref.as_deref(), Some(n.as_str()));
    assert_eq!(sms[0].msisdns, ["4512345678"]);
    assert_eq!(sms[0].sender, "Skanderborg");
    assert_eq!(
        sms[0].authorization.as_deref(),
        Some("Token gatewayapi-test-token")
    );
    assert!(sms[0].message.contains("2.150,00"), "{}", sms[0].message);
    let sent = app.events("notifications.sms.sent.v1", 1).await?;
    assert_eq!(sent[0]["notification_id"], n.as_str());
    assert_eq!(
        sent[0]["provider_id"],
        sms[0].id.map(|i| i.to_string()).unwrap_or_default()
    );

    // The API: a token is needed; unknown documents are 404.
    let client = reqwest::Client::new();
    let no_token = client
        .get(format!(
            "{}/api/v1/documents/{}",
            app.url,
            letter["document"]["id"].as_str().unwrap_or_default()
        ))
        .send()
        .await?;
    assert_eq!(no_token.status(), 401);
    let unknown = client
        .get(format!(
            "{}/api/v1/documents/{}",
            app.url,
            uuid::Uuid::new_v4()
        ))
        .bearer_auth(API_TOKEN)
        .send()
        .await?;
    assert_eq!(unknown.status(), 404);
    let traversal = client
        .get(format!(
            "{}/api/v1/documents/..%2F..%2Fetc%2Fpasswd",
            app.url
        ))
        .bearer_auth(API_TOKEN)
        .send()
        .await?;
    assert_eq!(traversal.status(), 404);
    let deliveries = app.deliveries(&n).await?;
    assert_eq!(deliveries["deliveries"][0]["channel"], "letter");
    assert_eq!(deliveries["deliveries"][0]["status"], "sent");
    assert_eq!(deliveries["deliveries"][1]["channel"], "sms");
    assert_eq!(deliveries["deliveries"][1]["status"], "sent");
    assert_eq!(
        client
            .get(format!("{}/readyz", app.url))
            .send()
            .await?
            .status(),
        200
    );
    let metrics = client
        .get(format!("{}/metrics", app.url))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        metrics.contains("restance_notifications_deliveries_total"),
        "{metrics}"
    );
    app.stop().await
}

#[tokio::test]
async fn a_reminder_becomes_a_letter_and_an_sms_on_postgres() -> anyhow::Result<()> {
    a_reminder_becomes_a_letter_and_an_sms("postgres").await
}

#[tokio::test]
async fn a_reminder_becomes_a_letter_and_an_sms_on_sqlite() -> anyhow::Result<()> {
    a_reminder_becomes_a_letter_and_an_sms("sqlite").await
}

/// `report_ready` to a committee's mailing list: an e-mail at the SMTP server with a text part
/// and an HTML alternative, the municipality as sender, a Message-ID from the notification id.
#[tokio::test]
async fn a_report_is_e_mailed_with_text_and_html() -> anyhow::Result<()> {
    let (mut app, gateway) = start("sqlite").await?;
    let n = unique("R");
    let committee = json!({"kind":"party","name":"Økonomiudvalget","party_kind":"company",
        "email":"oekonomiudvalget@skanderborg.example","language":"da"});
    let data = json!({"report_title":"Restancerapport til økonomiudvalget","as_of":"2026-11-30",
        "period":"november 2026","location":"https://restance.example/reports/R-1"});
    app.publish(&[request(&unique("e"), &n, "report_ready", committee, data)])
        .await?;
    let sent = app
        .events("notifications.email.sent.v1", 1)
        .await?
        .remove(0);
    let message_id = format!("notification.{n}@skanderborg.example");
    assert_eq!(sent["message_id"], message_id.as_str());
    assert_eq!(sent["attachment"], false);
    let mail = mails_with(&message_id, 1).await?.remove(0).parsed;
    assert_eq!(mail["message_id"], format!("<{message_id}>"));
    assert_eq!(
        mail["subject"],
        "Restancerapport til økonomiudvalget pr. 30. november 2026"
    );
    assert!(
        mail["from"]
            .as_str()
            .unwrap_or_default()
            .contains("opkraevning@skanderborg.example")
    );
    assert!(
        mail["envelope_to"]
            .as_str()
            .unwrap_or_default()
            .contains("oekonomiudvalget@skanderborg.example")
    );
    assert_eq!(mail["content_type"], "multipart/alternative");
    let parts = mail["parts"].as_array().cloned().unwrap_or_default();
    let text = parts
        .iter()
        .find(|p| p["type"] == "text/plain")
        .expect("a text part");
    let html = parts
        .iter()
        .find(|p| p["type"] == "text/html")
        .expect("an HTML part");
    assert!(
        text["text"]
            .as_str()
            .unwrap_or_default()
            .contains("https://restance.example/reports/R-1")
    );
    assert!(
        html["text"].as_str().unwrap_or_default().contains("<"),
        "{html}"
    );
    assert!(
        html["text"]
            .as_str()
            .unwrap_or_default()
            .contains("økonomiudvalget")
    );
    // Nothing else goes out for an e-mail-only template.
    assert!(app.seen("notifications.letter.ready.v1").is_empty());
    assert!(gateway.requests().is_empty());
    app.stop().await
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A stand-in workbook (every byte value, so a transfer encoding that mangles any of them
/// shows) and a CSV for Danish Excel (byte-order mark, `;`, decimal comma, æøå).
fn report_files() -> (Vec<u8>, Vec<u8>) {
    let mut workbook = b"PK\x03\x04".to_vec();
    workbook.extend((0..=255u8).cycle().take(20_000));
    let csv = "\u{feff}Kategori;Restance 31.12.2026;Restance 31.12.2025\r\n\
               Daginstitution;2.400,00;1.950,00\r\nVand og spildevand;900,00;1.100,00\r\n\
               Ejendomsskat på grunde;0,00;0,00\r\n"
        .as_bytes()
        .to_vec();
    (workbook, csv)
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `report_ready` with the report's XLSX and CSV: the e-mail at the SMTP server, read back by
/// Python's `email` package, has the decoded subject with its å, the address in `To:` (on the
/// header's first line), and both files as attachments with their content types, names and
/// exact bytes. The same notification id with other files is refused.
async fn a_report_e_mail_carries_its_files_as_attachments(
    kind: &'static str,
) -> anyhow::Result<()> {
    let (mut app, _gateway) = start(kind).await?;
    let n = unique("RA");
    let address = format!("{}@skanderborg.example", unique("oekonomiudvalget"));
    // A name long enough that lettre would fold it onto a second line of To: (with the
    // address): the header carries the bare address instead.
    let committee = json!({"kind":"party",
        "name":"Økonomiudvalget og Erhvervs- og Beskæftigelsesudvalget, Skanderborg Kommune",
        "party_kind":"company","email":address,"language":"da"});
    let data = json!({"report_title":"Restancerapport til økonomiudvalget","as_of":"2026-12-31",
        "period":"1. december 2026–31. december 2026",
        "attached_files":"arrears-0746-2026-12.xlsx, arrears-0746-2026-12.csv"});
    let (workbook, csv) = report_files();
    let attachments = vec![
        Attachment::from_bytes("arrears-0746-2026-12.xlsx", XLSX, &workbook),
        Attachment::from_bytes("arrears-0746-2026-12.csv", "text/csv; charset=utf-8", &csv),
    ];
    let mut req = request(&unique("e"), &n, "report_ready", committee, data);
    req["data"]["attachments"] = serde_json::to_value(&attachments)?;
    app.publish(std::slice::from_ref(&req)).await?;
    let sent = app
        .events("notifications.email.sent.v1", 1)
        .await?
        .remove(0);
    assert_eq!(
        sent["attachment"], false,
        "no letter PDF: report_ready has no letter"
    );
    let mail = mails_with(&address, 1).await?.remove(0);
    let parsed = &mail.parsed;
    assert_eq!(
        parsed["subject"],
        "Restancerapport til økonomiudvalget pr. 31. december 2026"
    );
    assert_eq!(parsed["to_addresses"], json!([address]));
    assert!(
        parsed["to_first_line"]
            .as_str()
            .is_some_and(|l| l.contains(&address)),
        "the address is on To:'s first line: {}",
        parsed["to_first_line"]
    );
    assert_eq!(parsed["content_type"], "multipart/mixed");
    let parts = parsed["parts"].as_array().cloned().unwrap_or_default();
    let files: Vec<&Value> = parts
        .iter()
        .filter(|p| p["disposition"] == "attachment")
        .collect();
    assert_eq!(files.len(), 2, "{parts:#?}");
    assert_eq!(files[0]["filename"], "arrears-0746-2026-12.xlsx");
    assert_eq!(files[0]["type"], XLSX);
    assert_eq!(files[0]["sha256"], sha256(&workbook));
    assert_eq!(files[1]["filename"], "arrears-0746-2026-12.csv");
    assert_eq!(files[1]["type"], "text/csv");
    assert_eq!(files[1]["sha256"], sha256(&csv));
    // The text says the files are attached, and there is no link to give.
    let text = parts
        .iter()
        .find(|p| p["type"] == "text/plain" && p["disposition"].is_null())
        .and_then(|p| p["text"].as_str())
        .unwrap_or_default()
        .to_owned();
    assert!(
        text.contains("Vedhæftet: arrears-0746-2026-12.xlsx, arrears-0746-2026-12.csv"),
        "{text}"
    );
    assert!(
        text.contains("Rapporten findes her: i de vedhæftede filer"),
        "{text}"
    );
    assert!(parts.iter().any(|p| p["type"] == "text/html"));

    // The same notification id with other files is a conflicting re-send: refused, not sent.
    let mut other = req.clone();
    other["id"] = json!(unique("e"));
    other["data"]["attachments"] = serde_json::to_value(vec![Attachment::from_bytes(
        "arrears-0746-2026-12.csv",
        "text/csv",
        b"other",
    )])?;
    app.publish(&[other]).await?;
    app.events("notifications.message.rejected.v1", 1).await?;
    let dead = app.dead_letters().await?;
    let reason = dead
        .first()
        .and_then(|d| d.reason.clone())
        .unwrap_or_default();
    assert!(
        reason.contains("already received with different content"),
        "{reason}"
    );
    assert_eq!(mails_with(&address, 1).await?.len(), 1, "sent once");
    app.stop().await
}

#[tokio::test]
async fn a_report_e_mail_carries_its_files_as_attachments_on_postgres() -> anyhow::Result<()> {
    a_report_e_mail_carries_its_files_as_attachments("postgres").await
}

#[tokio::test]
async fn a_report_e_mail_carries_its_files_as_attachments_on_sqlite() -> anyhow::Result<()> {
    a_report_e_mail_carries_its_files_as_attachments("sqlite").await
}

/// Attachments go by e-mail only: a letter of a request that carries files goes out as usual,
/// without them.
#[tokio::test]
async fn attachments_on_a_letter_are_not_sent_and_the_letter_still_goes() -> anyhow::Result<()> {
    let (mut app, _gateway) = start_with("sqlite", |c| {
        if let Some(t) = c.templates.get_mut("reminder_1") {
            t.channels = vec![restance_notifications::config::Channel::Letter];
        }
    })
    .await?;
    let n = unique("L");
    let mut req = request(
        &unique("e"),
        &n,
        "reminder_1",
        to_debtor("P-3"),
        reminder_data(),
    );
    req["data"]["attachments"] = serde_json::to_value(vec![Attachment::from_bytes(
        "bilag.csv",
        "text/csv",
        b"a;b\r\n",
    )])?;
    app.publish(&[debtor_updated(&unique("d"), debtor("P-3")), req])
        .await?;
    let letter = app
        .events("notifications.letter.ready.v1", 1)
        .await?
        .remove(0);
    assert_eq!(letter["notification_id"], n.as_str());
    assert!(app.seen("notifications.email.sent.v1").is_empty());
    assert!(app.dead_letters().await?.is_empty());
    app.stop().await
}

/// A template configured with the PDF attached: the e-mail carries the letter.
#[tokio::test]
async fn an_e_mail_carries_the_letter_when_the_template_says_so() -> anyhow::Result<()> {
    let (mut app, _gateway) = start_with("postgres", |c| {
        if let Some(t) = c.templates.get_mut("reminder_1") {
            t.channels = vec![restance_notifications::config::Channel::Email];
            t.email_attach_pdf = Some(true);
        }
    })
    .await?;
    let n = unique("A");
    app.publish(&[
        debtor_updated(&unique("d"), debtor("P-2")),
        request(
            &unique("e"),
            &n,
            "reminder_1",
            to_debtor("P-2"),
            reminder_data(),
        ),
    ])
    .await?;
    let sent = app
        .events("notifications.email.sent.v1", 1)
        .await?
        .remove(0);
    assert_eq!(sent["attachment"], true);
    let mail = mails_with(&format!("notification.{n}@"), 1)
        .await?
        .remove(0)
        .parsed;
    assert_eq!(mail["content_type"], "multipart/mixed");
    let parts = mail["parts"].as_array().cloned().unwrap_or_default();
    let pdf = parts
        .iter()
        .find(|p| p["type"] == "application/pdf")
        .expect("the letter attached");
    assert_eq!(pdf["filename"], format!("{n}.pdf"));
    assert!(pdf["size"].as_u64().unwrap_or(0) > 1000);
    assert!(parts.iter().any(|p| p["type"] == "text/plain"));
    assert!(parts.iter().any(|p| p["type"] == "text/html"));
    assert!(
        mail["envelope_to"]
            .as_str()
            .unwrap_or_default()
            .contains("ane@example.org")
    );
    app.stop().await
}

/// The same request twice under other message ids, and the same message redelivered: one
/// letter, one SMS. The same notification id with other content is refused.
#[tokio::test]
async fn a_duplicate_request_sends_once_per_channel() -> anyhow::Result<()> {
    let (mut app, gateway) = start("postgres").await?;
    let n = unique("D");
    let first = request("e-1", &n, "reminder_1", to_debtor("P-3"), reminder_data());
    app.publish(&[
        debtor_updated(&unique("d"), debtor("P-3")),
        first.clone(),
        first.clone(),
        request("e-2", &n, "reminder_1", to_debtor("P-3"), reminder_data()),
    ])
    .await?;
    app.events("notifications.letter.ready.v1", 1).await?;
    app.events("notifications.sms.sent.v1", 1).await?;
    app.publish(&[request(
        "e-3",
        &n,
        "reminder_1",
        to_debtor("P-3"),
        reminder_data(),
    )])
    .await?;
    let mut changed = reminder_data();
    changed["total"] = json!("9999.00");
    app.publish(&[request("e-4", &n, "reminder_1", to_debtor("P-3"), changed)])
        .await?;
    app.events("notifications.message.rejected.v1", 1).await?;
    app.probe.settle(Duration::from_millis(800)).await;
    assert_eq!(app.seen("notifications.letter.ready.v1").len(), 1);
    assert_eq!(app.seen("notifications.sms.sent.v1").len(), 1);
    assert_eq!(gateway.requests().len(), 1, "one SMS at the gateway");
    let dead = app.dead_letters().await?;
    assert_eq!(dead.len(), 1);
    assert!(
        dead[0]
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("already received with different content"),
        "{:?}",
        dead[0].reason
    );
    app.stop().await
}

/// A request that arrives before invoicing announced its debtor waits, and goes out when the
/// debtor's details arrive.
#[tokio::test]
async fn a_request_before_its_debtor_is_parked_then_completed() -> anyhow::Result<()> {
    let (mut app, gateway) = start("sqlite").await?;
    let n = unique("P");
    app.publish(&[request(
        &unique("e"),
        &n,
        "reminder_1",
        to_debtor("P-4"),
        reminder_data(),
    )])
    .await?;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        app.seen("notifications.letter.ready.v1").is_empty(),
        "nothing before the debtor"
    );
    assert!(gateway.requests().is_empty());
    assert_eq!(
        reqwest::get(format!("{}/api/v1/notifications/{n}", app.url))
            .await?
            .status(),
        404,
        "parked: no deliveries yet"
    );
    app.publish(&[debtor_updated(&unique("d"), debtor("P-4"))])
        .await?;
    let letter = app.events("notifications.letter.ready.v1", 1).await?;
    assert_eq!(letter[0]["notification_id"], n.as_str());
    app.events("notifications.sms.sent.v1", 1).await?;
    assert!(app.seen("notifications.delivery.failed.v1").is_empty());
    app.stop().await
}

/// A request whose debtor never arrives fails after the configured wait, with a reason.
#[tokio::test]
async fn a_parked_request_fails_when_its_debtor_never_arrives() -> anyhow::Result<()> {
    let (mut app, _gateway) = start_with("postgres", |c| c.parked_timeout_secs = 1).await?;
    let n = unique("T");
    app.publish(&[request(
        &unique("e"),
        &n,
        "reminder_1",
        to_debtor("P-404"),
        reminder_data(),
    )])
    .await?;
    let failed = app
        .events("notifications.delivery.failed.v1", 1)
        .await?
        .remove(0);
    assert_eq!(failed["notification_id"], n.as_str());
    assert_eq!(failed["channel"], "none");
    assert_eq!(failed["related"]["claim_ids"][0], "c-1");
    let reason = failed["reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("no contact details for debtor P-404 after"),
        "{reason}"
    );
    // A late debtor does not revive it.
    app.publish(&[debtor_updated(&unique("d"), debtor("P-404"))])
        .await?;
    app.probe.settle(Duration::from_millis(700)).await;
    assert!(app.seen("notifications.letter.ready.v1").is_empty());
    app.stop().await
}

/// The gateway answers 503 twice, then accepts: exactly one SMS accepted, one `sms.sent`.
#[tokio::test]
async fn a_gateway_outage_is_retried_and_the_sms_is_sent_once() -> anyhow::Result<()> {
    let (mut app, gateway) = start("sqlite").await?;
    gateway.fail_next(SmsReply::Transient(503), 1);
    gateway.fail_next(SmsReply::Transient(429), 1);
    let n = unique("S");
    app.publish(&[
        debtor_updated(&unique("d"), debtor("P-5")),
        request(&unique("e"), &n, "meeting_reminder", to_debtor("P-5"), json!({
            "meeting":"2026-12-10T09:30","place":"Adelgade 44, Skanderborg","contact":"Opkrævningen, tlf. 87 94 70 00",
            "legal_basis":"forvaltningsloven"})),
    ])
    .await?;
    let sent = app.events("notifications.sms.sent.v1", 1).await?;
    assert_eq!(sent[0]["notification_id"], n.as_str());
    app.probe.settle(Duration::from_millis(500)).await;
    let requests = gateway.requests();
    assert_eq!(
        requests.iter().map(|r| r.status).collect::<Vec<_>>(),
        [503, 429, 200],
        "two transient failures, then one accepted"
    );
    assert!(
        requests
            .iter()
            .all(|r| r.userref.as_deref() == Some(n.as_str()))
    );
    assert_eq!(app.seen("notifications.sms.sent.v1").len(), 1);
    assert!(app.seen("notifications.delivery.failed.v1").is_empty());
    let d = app.deliveries(&n).await?;
    assert_eq!(d["deliveries"][0]["attempts"], 3);
    app.stop().await
}

/// A permanent refusal (HTTP 400, GatewayAPI's error) fails the SMS at once; the letter goes.
/// A gateway that stays down fails the SMS once the attempts are used up.
#[tokio::test]
async fn permanent_refusals_and_exhausted_retries_fail_the_sms() -> anyhow::Result<()> {
    let (mut app, gateway) = start_with("postgres", |c| c.retry.max_attempts = 3).await?;
    gateway.fail_next(SmsReply::invalid_recipient(), 1);
    let n = unique("F");
    app.publish(&[
        debtor_updated(&unique("d"), debtor("P-6")),
        request(
            &unique("e"),
            &n,
            "reminder_1",
            to_debtor("P-6"),
            reminder_data(),
        ),
    ])
    .await?;
    let failed = app
        .events("notifications.delivery.failed.v1", 1)
        .await?
        .remove(0);
    assert_eq!(failed["channel"], "sms");
    assert_eq!(
        failed["reason"],
        "SMS gateway answered HTTP 400: Invalid recipient(s) (code 0x0216)"
    );
    app.events("notifications.letter.ready.v1", 1).await?;
    assert_eq!(gateway.requests().len(), 1, "not retried");

    gateway.fail_next(SmsReply::Transient(503), 10);
    let n2 = unique("F");
    app.publish(&[request(
        &unique("e"),
        &n2,
        "reminder_1",
        to_debtor("P-6"),
        reminder_data(),
    )])
    .await?;
    let failed = app.events("notifications.delivery.failed.v1", 2).await?;
    let second = failed
        .iter()
        .find(|f| f["notification_id"] == n2.as_str())
        .expect("n2 failed");
    assert_eq!(
        second["reason"],
        "gave up after 3 attempt(s): SMS gateway answered HTTP 503: Service temporarily unavailable (code 0x0500)"
    );
    assert_eq!(gateway.requests().len(), 4, "1 + 3 attempts");
    assert!(app.seen("notifications.sms.sent.v1").is_empty());
    app.stop().await
}

/// An SMS due at 22:30 local time waits until 08:00; the letter goes at once.
#[tokio::test]
async fn an_sms_due_at_night_is_held_until_the_morning() -> anyhow::Result<()> {
    let clock = Arc::new(ManualClock::new("2026-12-01T21:30:00Z".parse()?)); // 22:30 in Skanderborg
    let gateway = FakeSmsGateway::start_with_token(SMS_TOKEN).await?;
    let mut app = builder("sqlite", Some(&gateway))
        .spawn_with(|s, c| build(s, c, clock.clone(), |_| {}))
        .await?;
    let n = unique("Q");
    app.publish(&[
        debtor_updated(&unique("d"), debtor("P-7")),
        request(
            &unique("e"),
            &n,
            "reminder_1",
            to_debtor("P-7"),
            reminder_data(),
        ),
    ])
    .await?;
    app.events("notifications.letter.ready.v1", 1).await?;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(gateway.requests().is_empty(), "no SMS at night");
    let d = app.deliveries(&n).await?;
    let sms = &d["deliveries"][1];
    assert_eq!(sms["channel"], "sms");
    assert_eq!(sms["status"], "pending");
    assert_eq!(
        sms["next_attempt_at"], "2026-12-02T07:00:00Z",
        "08:00 in Copenhagen"
    );
    assert_eq!(sms["attempts"], 0);

    clock.set("2026-12-02T06:59:00Z".parse()?);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(gateway.requests().is_empty(), "still 07:59");
    clock.set("2026-12-02T07:01:00Z".parse()?);
    gateway.wait_for_accepted(1, T).await?;
    let sent = app.events("notifications.sms.sent.v1", 1).await?;
    assert_eq!(sent[0]["sent_at"], "2026-12-02T07:01:00Z");
    app.stop().await
}

/// Bad requests: each is dead-lettered with a reason that says what is wrong, a rejected event
/// goes out, and a good request after them is still served.
#[tokio::test]
async fn bad_requests_are_dead_lettered_with_clear_reasons() -> anyhow::Result<()> {
    let (mut app, _gateway) = start("postgres").await?;
    let mut missing = reminder_data();
    missing.as_object_mut().map(|m| m.remove("legal_basis"));
    let mut bad_date = reminder_data();
    bad_date["letter_date"] = json!("20-12-2026");
    let mut other_muni = request(
        "b-3",
        "B-3",
        "reminder_1",
        to_debtor("P-8"),
        reminder_data(),
    );
    other_muni["data"]["municipality"] = json!("9999");
    let cases: Vec<(Value, &str)> = vec![
        (
            request(
                "b-1",
                "B-1",
                "reminder_9",
                to_debtor("P-8"),
                reminder_data(),
            ),
            "data.template: is not a known template (the templates are: ",
        ),
        (
            request("b-2", "B-2", "reminder_1", to_debtor("P-8"), missing),
            "invalid notification request: data.data.legal_basis: required",
        ),
        (
            other_muni,
            "data.municipality: is not a configured municipality",
        ),
        (
            request("b-4", "B-4", "reminder_1", to_debtor("P-8"), bad_date),
            "data.data.letter_date: must be a date like",
        ),
        (
            request(
                "b-5",
                "B-5",
                "reminder_1",
                json!({"kind":"debtor"}),
                reminder_data(),
            ),
            "data.recipient",
        ),
    ];
    let bodies: Vec<Value> = cases.iter().map(|(b, _)| b.clone()).collect();
    app.publish(&bodies).await?;
    let rejected = app
        .events("notifications.message.rejected.v1", cases.len())
        .await?;
    assert_eq!(rejected.len(), cases.len());
    let dead = app.dead_letters().await?;
    assert_eq!(dead.len(), cases.len(), "one dead letter per bad request");
    for (d, (body, expected)) in dead.iter().zip(&cases) {
        let reason = d.reason.clone().unwrap_or_default();
        assert!(reason.contains(expected), "{expected:?} not in {reason:?}");
        assert_eq!(
            serde_json::from_slice::<Value>(&d.body)?,
            *body,
            "the dead letter keeps the message"
        );
    }
    // Still serving.
    let n = unique("G");
    app.publish(&[
        debtor_updated(&unique("d"), debtor("P-8")),
        request(
            &unique("e"),
            &n,
            "reminder_1",
            to_debtor("P-8"),
            reminder_data(),
        ),
    ])
    .await?;
    app.events("notifications.letter.ready.v1", 1).await?;
    app.stop().await
}

/// Security (issue 18, item 3): a request to write to a debtor is a command only the services
/// that write to debtors send (not by its type's prefix: dunning, agreements, guarantee and
/// reporting). From invoicing it is dead-lettered with "unexpected source", and so is a debtor's
/// details not from invoicing; nothing is sent. The same request from dunning goes out.
#[tokio::test]
async fn a_request_from_a_source_not_allowed_to_send_it_is_dead_lettered_and_nothing_is_sent()
-> anyhow::Result<()> {
    let (mut app, gateway) = start("sqlite").await?;
    let n = unique("S");
    let mut forged = request(
        &unique("e"),
        &n,
        "reminder_1",
        to_debtor("P-9"),
        reminder_data(),
    );
    forged["source"] = json!("/restance/invoicing");
    let mut forged_debtor = debtor_updated(&unique("d"), debtor("P-9"));
    forged_debtor["source"] = json!("/bank/nets");
    app.publish(&[
        debtor_updated(&unique("d"), debtor("P-9")),
        forged,
        forged_debtor,
    ])
    .await?;
    app.events("notifications.message.rejected.v1", 2).await?;
    app.wait_processed().await?;
    app.probe.settle(Duration::from_millis(800)).await;
    assert!(app.seen("notifications.letter.ready.v1").is_empty());
    assert!(gateway.requests().is_empty(), "no SMS");
    let dead = app.dead_letters().await?;
    let mut reasons: Vec<String> = dead.iter().filter_map(|d| d.reason.clone()).collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [
            "unexpected source /bank/nets for invoicing.debtor.updated.v1 (allowed: /restance/invoicing)",
            "unexpected source /restance/invoicing for notifications.notification.requested.v1 \
             (allowed: /restance/dunning, /restance/agreements, /restance/guarantee, /restance/reporting, \
             /restance/counselling)",
        ]
    );

    app.publish(&[request(
        &unique("e"),
        &n,
        "reminder_1",
        to_debtor("P-9"),
        reminder_data(),
    )])
    .await?;
    let letter = app.events("notifications.letter.ready.v1", 1).await?;
    assert_eq!(letter[0]["notification_id"], n.as_str());
    app.stop().await
}

/// A recipient without any usable channel gets one failure per channel with the reason; an
/// invalid phone number fails the SMS while the letter goes; an exempt debtor gets print.
#[tokio::test]
async fn unusable_channels_fail_with_reasons_and_the_others_still_go() -> anyhow::Result<()> {
    let (mut app, gateway) = start("sqlite").await?;
    // A creditor given only by e-mail, for a template sent by letter and SMS.
    let creditor = json!({"kind":"party","name":"Kreditor A/S","party_kind":"company",
        "email":"kreditor@example.org"});
    let n1 = unique("U");
    let mut exempt = debtor("P-9");
    exempt["phone"] = json!("+451234567"); // E.164, but not a Danish number
    exempt["digital_post"] = json!(false);
    let n2 = unique("U");
    app.publish(&[
        request(&unique("e"), &n1, "reminder_1", creditor, reminder_data()),
        debtor_updated(&unique("d"), exempt),
        request(
            &unique("e"),
            &n2,
            "reminder_1",
            to_debtor("P-9"),
            reminder_data(),
        ),
    ])
    .await?;
    let failed = app.events("notifications.delivery.failed.v1", 3).await?;
    let of = |n: &str, ch: &str| {
        failed
            .iter()
            .find(|f| f["notification_id"] == n && f["channel"] == ch)
            .map(|f| f["reason"].as_str().unwrap_or_default().to_owned())
    };
    assert_eq!(
        of(&n1, "letter").as_deref(),
        Some("no national id for digital post and no postal address for print")
    );
    assert_eq!(
        of(&n1, "sms").as_deref(),
        Some("no mobile number is known for the recipient")
    );
    assert_eq!(
        of(&n2, "sms").as_deref(),
        Some("the recipient's phone number is not a valid Danish number (+45 and 8 digits)")
    );
    let letter = app
        .events("notifications.letter.ready.v1", 1)
        .await?
        .remove(0);
    assert_eq!(letter["notification_id"], n2.as_str());
    assert_eq!(letter["channel"], "print", "exempt from digital post");
    assert!(gateway.requests().is_empty());
    assert!(
        app.dead_letters().await?.is_empty(),
        "failures are events, not dead letters"
    );
    app.stop().await
}

/// Reading a protected debtor's letter is audited (who, which document, which protection) before
/// it is served; reading an unprotected debtor's letter is not; and the trail is append-only.
#[tokio::test]
async fn reading_a_protected_debtors_letter_is_audited() -> anyhow::Result<()> {
    use sea_orm::ConnectionTrait;
    let gateway = FakeSmsGateway::start_with_token(SMS_TOKEN).await?;
    let mut app = builder("sqlite", Some(&gateway))
        .configure(api_tokens)
        .spawn_with(|s, c| build(s, c, daytime(), |_| {}))
        .await?;
    let mut protected = debtor("P-20");
    protected["address_protection"] = json!("confidential");
    protected["digital_post"] = json!(false);
    let mut open = debtor("P-21");
    open["digital_post"] = json!(false);
    let (n1, n2) = (unique("A"), unique("B"));
    app.publish(&[
        debtor_updated(&unique("d"), protected),
        debtor_updated(&unique("d"), open),
        request(
            &unique("e"),
            &n1,
            "reminder_1",
            to_debtor("P-20"),
            reminder_data(),
        ),
        request(
            &unique("e"),
            &n2,
            "reminder_1",
            to_debtor("P-21"),
            reminder_data(),
        ),
    ])
    .await?;
    let letters = app.events("notifications.letter.ready.v1", 2).await?;
    let of = |n: &str| {
        letters
            .iter()
            .find(|l| l["notification_id"] == n)
            .cloned()
            .unwrap_or_default()
    };
    let (protected_letter, open_letter) = (of(&n1), of(&n2));
    letter_pdf(&app, &open_letter).await?;
    let audit = |app: &TestApp| {
        let db = app.db.clone();
        async move {
            let rows = db
                .query_all_raw(sea_orm::Statement::from_string(
                    db.get_database_backend(),
                    "SELECT caller, role, action, target, detail FROM api_audit ORDER BY seq",
                ))
                .await?;
            rows.iter()
                .map(|r| -> anyhow::Result<Vec<String>> {
                    (0..5)
                        .map(|i| Ok(r.try_get_by_index::<String>(i)?))
                        .collect()
                })
                .collect::<anyhow::Result<Vec<_>>>()
        }
    };
    assert!(
        audit(&app).await?.is_empty(),
        "an unprotected debtor's letter is not audited"
    );
    letter_pdf(&app, &protected_letter).await?;
    letter_pdf(&app, &protected_letter).await?;
    let rows = audit(&app).await?;
    let doc = protected_letter["document"]["id"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(rows.len(), 2, "each read is recorded: {rows:?}");
    assert_eq!(
        rows[0],
        [
            "token#1(unnamed-caseworker)",
            "caseworker",
            "read_document",
            &format!("document:{doc}"),
            "address protection: confidential",
        ]
    );
    // A token of another municipality gets neither the letter nor its deliveries (answered as
    // missing), a `reader` no letter at all; neither read is served, so neither is recorded.
    let get = |path: String, token: &'static str| {
        let url = format!("{}{path}", app.url);
        async move {
            let r = reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await?;
            anyhow::Ok(r.status().as_u16())
        }
    };
    assert_eq!(
        get(format!("/api/v1/documents/{doc}"), ELSEWHERE_TOKEN).await?,
        404
    );
    assert_eq!(
        get(format!("/api/v1/notifications/{n1}"), ELSEWHERE_TOKEN).await?,
        404
    );
    assert_eq!(
        get(format!("/api/v1/notifications/{n1}"), API_TOKEN).await?,
        200
    );
    assert_eq!(
        get(format!("/api/v1/documents/{doc}"), READER_TOKEN).await?,
        403
    );
    assert_eq!(audit(&app).await?.len(), 2, "refused reads serve nothing");
    let err = app
        .db
        .execute_unprepared("DELETE FROM api_audit")
        .await
        .err()
        .ok_or_else(|| anyhow::anyhow!("the read audit could be deleted"))?;
    assert!(err.to_string().contains("append-only"), "{err}");
    app.stop().await
}

/// Strictly confidential (code 6): the letter goes by the protected route, `letter.ready`
/// carries no address, and the PDF prints none — not even where the data repeats it.
#[tokio::test]
async fn a_strictly_confidential_address_is_never_printed() -> anyhow::Result<()> {
    let (mut app, gateway) = start("postgres").await?;
    let mut d = debtor("P-10");
    d["address_protection"] = json!("strictly_confidential");
    d["digital_post"] = json!(false);
    let mut data = reminder_data();
    data["claims"][0]["text"] = json!("Daginstitution, Parkvej 1, 8670 Låsby");
    data["debtor_address"] = json!("Parkvej 1, 8670 Låsby");
    let n = unique("X");
    app.publish(&[
        debtor_updated(&unique("d"), d),
        request(&unique("e"), &n, "reminder_1", to_debtor("P-10"), data),
    ])
    .await?;
    let letter = app
        .events("notifications.letter.ready.v1", 1)
        .await?
        .remove(0);
    assert_eq!(letter["channel"], "protected");
    assert!(letter["recipient"].get("address").is_none(), "{letter}");
    assert_eq!(
        letter["recipient"]["address_protection"],
        "strictly_confidential"
    );
    let text = pdf_text(&letter_pdf(&app, &letter).await?)?;
    assert!(
        !text.contains("Parkvej") && !text.contains("Låsby") && !text.contains("8670"),
        "{text}"
    );
    assert!(
        text.contains("2.150,00") && text.contains("Daginstitution"),
        "{text}"
    );
    // The SMS carries no address either (and still goes).
    let sms = gateway.wait_for_accepted(1, T).await?;
    assert!(!sms[0].message.contains("Parkvej"));
    app.stop().await
}

/// Copies of a debtor's details out of order (two invoicing replicas, a replay): version 2
/// (strictly confidential) arrives before version 1 (no protection), then a copy without a
/// version (no protection). The contact keeps version 2 and its protection — no copy is an
/// error — and the next letter goes by the protected route without an address.
async fn an_older_copy_of_the_debtor_cannot_lift_the_protection(
    kind: &'static str,
) -> anyhow::Result<()> {
    let (mut app, _gateway) = start(kind).await?;
    let mut strict = debtor("P-V");
    strict["address_protection"] = json!("strictly_confidential");
    strict["digital_post"] = json!(false);
    let mut open = debtor("P-V");
    open["digital_post"] = json!(false);
    let version = "SELECT version FROM contacts WHERE municipality = '0746' AND debtor_id = 'P-V'";
    let protected = "SELECT COUNT(*) FROM contacts WHERE municipality = '0746' AND debtor_id = 'P-V' \
        AND details LIKE '%\"address_protection\":\"strictly_confidential\"%'";

    app.publish(&[debtor_updated_version(&unique("d"), strict, 2)])
        .await?;
    app.wait_inbox(1).await?;
    assert_eq!(app.count(version).await?, 2);
    app.publish(&[debtor_updated_version(&unique("d"), open.clone(), 1)])
        .await?;
    app.wait_inbox(2).await?;
    assert_eq!(app.count(version).await?, 2, "the older copy is ignored");
    assert_eq!(app.count(protected).await?, 1);
    app.publish(&[debtor_updated(&unique("d"), open)]).await?;
    app.wait_inbox(3).await?;
    assert_eq!(app.count(version).await?, 2);
    assert_eq!(
        app.count(protected).await?,
        1,
        "a copy without a version does not lower a versioned protection"
    );
    assert!(app.dead_letters().await?.is_empty(), "no copy is an error");

    let n = unique("V");
    let mut data = reminder_data();
    data["debtor_address"] = json!("Parkvej 1, 8670 Låsby");
    app.publish(&[request(
        &unique("e"),
        &n,
        "reminder_1",
        to_debtor("P-V"),
        data,
    )])
    .await?;
    let letter = app
        .events("notifications.letter.ready.v1", 1)
        .await?
        .remove(0);
    assert_eq!(letter["notification_id"], n.as_str());
    assert_eq!(letter["channel"], "protected");
    assert!(letter["recipient"].get("address").is_none(), "{letter}");
    assert_eq!(
        letter["recipient"]["address_protection"],
        "strictly_confidential"
    );
    let text = pdf_text(&letter_pdf(&app, &letter).await?)?;
    assert!(
        !text.contains("Parkvej") && !text.contains("Låsby"),
        "{text}"
    );

    let metrics = reqwest::get(format!("{}/metrics", app.url))
        .await?
        .text()
        .await?;
    for outcome in ["stale", "protection_kept"] {
        assert!(
            metrics.contains(&format!(
                "restance_notifications_debtor_updates_total{{outcome=\"{outcome}\"}}"
            )),
            "{outcome}: {metrics}"
        );
    }
    app.stop().await
}

#[tokio::test]
async fn an_older_copy_of_the_debtor_cannot_lift_the_protection_on_postgres() -> anyhow::Result<()>
{
    an_older_copy_of_the_debtor_cannot_lift_the_protection("postgres").await
}

#[tokio::test]
async fn an_older_copy_of_the_debtor_cannot_lift_the_protection_on_sqlite() -> anyhow::Result<()> {
    an_older_copy_of_the_debtor_cannot_lift_the_protection("sqlite").await
}

/// Confidential (code 7): a letter to the debtor's bank about the debtor carries no debtor
/// address — address fields are removed and address text in other fields is masked — while
/// the bank's own address is printed. Without protection the same letter keeps the text.
#[tokio::test]
async fn a_confidential_address_is_not_sent_to_a_third_party() -> anyhow::Result<()> {
    let (mut app, _gateway) = start("sqlite").await?;
    let bank = json!({"kind":"party","name":"Jyske Bank, Garantiafdelingen","party_kind":"company",
        "address":{"lines":["Bankvej 5"],"postcode":"8600","city":"Silkeborg","country":"DK"}});
    let mut confidential = debtor("P-11");
    confidential["address_protection"] = json!("confidential");
    let open = debtor("P-12");
    let data = || {
        let mut data = reminder_data();
        data["claims"][0]["text"] = json!("Garanti for familien på Parkvej 1, 8670 Låsby");
        data["debtor_address"] = json!("Parkvej 1, 8670 Låsby");
        data
    };
    let about = |event: &str, n: &str, debtor: &str| {
        let mut r = request(event, n, "reminder_1", bank.clone(), data());
        r["data"]["related"]["debtor_id"] = json!(debtor);
        r
    };
    let (n1, n2) = (unique("C"), unique("C"));
    app.publish(&[
        debtor_updated(&unique("d"), confidential),
        debtor_updated(&unique("d"), open),
        about(&unique("e"), &n1, "P-11"),
        about(&unique("e"), &n2, "P-12"),
    ])
    .await?;
    let letters = app.events("notifications.letter.ready.v1", 2).await?;
    let letter = |n: &str| {
        letters
            .iter()
            .find(|l| l["notification_id"] == n)
            .cloned()
            .expect("letter")
    };
    let protected = letter(&n1);
    assert_eq!(protected["channel"], "print");
    assert_eq!(
        protected["recipient"]["address"]["lines"][0], "Bankvej 5",
        "the bank's own address"
    );
    let text = pdf_text(&letter_pdf(&app, &protected).await?)?;
    assert!(
        !text.contains("Parkvej") && !text.contains("Låsby"),
        "{text}"
    );
    assert!(
        text.contains("Bankvej 5") && text.contains("Garanti for familien"),
        "{text}"
    );
    let unprotected = pdf_text(&letter_pdf(&app, &letter(&n2)).await?)?;
    assert!(
        unprotected.contains("Parkvej 1"),
        "without protection the text stays:\n{unprotected}"
    );
    assert!(
        logs().contains("data.debtor_address"),
        "the removal is recorded by path"
    );
    app.stop().await
}

/// Delivery reports: a final failure publishes `delivery.failed` once; a repeated report and
/// a DELIVERED report publish nothing; a wrong secret is refused.
#[tokio::test]
async fn sms_delivery_reports_are_stored_and_a_final_failure_is_published_once()
-> anyhow::Result<()> {
    let (mut app, gateway) = start("postgres").await?;
    let (n1, n2) = (unique("K"), unique("K"));
    let meeting = json!({"meeting":"2026-12-10T09:30","place":"Adelgade 44","contact":"Opkrævningen",
        "legal_basis":"forvaltningsloven"});
    app.publish(&[
        debtor_updated(&unique("d"), debtor("P-13")),
        request(
            &unique("e"),
            &n1,
            "meeting_reminder",
            to_debtor("P-13"),
            meeting.clone(),
        ),
        request(
            &unique("e"),
            &n2,
            "meeting_reminder",
            to_debtor("P-13"),
            meeting,
        ),
    ])
    .await?;
    let sms = gateway.wait_for_accepted(2, T).await?;
    app.events("notifications.sms.sent.v1", 2).await?;
    let by = |n: &str| {
        sms.iter()
            .find(|s| s.userref.as_deref() == Some(n))
            .cloned()
            .expect("sms")
    };
    let url = app.callback_url();
    assert_eq!(
        FakeSmsGateway::post_status(&url, Some("wrong"), &by(&n1), "UNDELIVERABLE", None).await?,
        401
    );
    assert_eq!(
        FakeSmsGateway::post_status(&url, None, &by(&n1), "UNDELIVERABLE", None).await?,
        401
    );
    assert_eq!(
        FakeSmsGateway::post_status(
            &url,
            Some(CALLBACK_TOKEN),
            &by(&n1),
            "UNDELIVERABLE",
            Some("Absent subscriber")
        )
        .await?,
        204
    );
    assert_eq!(
        FakeSmsGateway::post_status(
            &url,
            Some(CALLBACK_TOKEN),
            &by(&n1),
            "UNDELIVERABLE",
            Some("Absent subscriber")
        )
        .await?,
        204
    );
    assert_eq!(
        FakeSmsGateway::post_status(&url, Some(CALLBACK_TOKEN), &by(&n2), "DELIVERED", None)
            .await?,
        204
    );
    let failed = app.events("notifications.delivery.failed.v1", 1).await?;
    assert_eq!(failed[0]["notification_id"], n1.as_str());
    assert_eq!(failed[0]["channel"], "sms");
    assert_eq!(
        failed[0]["reason"],
        "the SMS gateway reported UNDELIVERABLE (Absent subscriber)"
    );
    app.probe.settle(Duration::from_millis(600)).await;
    assert_eq!(
        app.seen("notifications.delivery.failed.v1").len(),
        1,
        "once"
    );
    let d = app.deliveries(&n2).await?;
    assert_eq!(d["deliveries"][0]["delivery_status"], "DELIVERED");
    // The secret only in a header: in a URL it ends up in proxy and gateway logs.
    let in_url = reqwest::Client::new()
        .post(format!("{url}?token={CALLBACK_TOKEN}"))
        .body("not json")
        .send()
        .await?;
    assert_eq!(in_url.status(), 401, "the secret as ?token= is refused");
    let text = in_url.text().await?;
    assert!(text.contains("Authorization header"), "{text}");
    let bad = reqwest::Client::new()
        .post(&url)
        .bearer_auth(CALLBACK_TOKEN)
        .body("not json")
        .send()
        .await?;
    assert_eq!(
        bad.status(),
        400,
        "with the header, a body that is not JSON"
    );
    app.stop().await
}

/// SMS switched off: the SMS channel fails at once with that reason; the letter goes.
#[tokio::test]
async fn without_an_sms_gateway_sms_deliveries_fail_with_a_reason() -> anyhow::Result<()> {
    let mut app = builder("sqlite", None)
        .spawn_with(|s, c| build(s, c, daytime(), |_| {}))
        .await?;
    let n = unique("O");
    app.publish(&[
        debtor_updated(&unique("d"), debtor("P-14")),
        request(
            &unique("e"),
            &n,
            "reminder_1",
            to_debtor("P-14"),
            reminder_data(),
        ),
    ])
    .await?;
    let failed = app.events("notifications.delivery.failed.v1", 1).await?;
    assert_eq!(failed[0]["channel"], "sms");
    assert_eq!(
        failed[0]["reason"],
        "SMS is switched off in this installation (no sms.url configured)"
    );
    app.events("notifications.letter.ready.v1", 1).await?;
    app.stop().await
}

/// Publishes a meeting reminder (SMS only) for debtor `party` and waits until the gateway is
/// answering it slowly; returns the notification id.
async fn sms_in_flight(
    app: &TestApp,
    gateway: &FakeSmsGateway,
    prefix: &str,
    party: &str,
) -> anyhow::Result<String> {
    let n = unique(prefix);
    app.publish(&[
        debtor_updated(&unique("d"), debtor(party)),
        request(
            &unique("e"),
            &n,
            "meeting_reminder",
            to_debtor(party),
            json!({
            "meeting":"2026-12-10T09:30","place":"Adelgade 44","contact":"Opkrævningen",
            "legal_basis":"forvaltningsloven"}),
        ),
    ])
    .await?;
    let deadline = tokio::time::Instant::now() + T;
    while gateway.in_flight() == 0 {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the SMS never reached the gateway"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(n)
}

/// SIGTERM while an SMS is at the gateway: the send finishes, its `sms.sent` is committed and
/// published before the service stops, and it is sent once.
#[tokio::test]
async fn a_shutdown_lets_an_sms_in_flight_finish() -> anyhow::Result<()> {
    let (app, gateway) = start("sqlite").await?;
    gateway.answer_next(SmsReply::Slow(Duration::from_millis(1500)), 1);
    let n = sms_in_flight(&app, &gateway, "Z", "P-16").await?;
    // The drain: the send in flight finishes and its sms.sent is published before the
    // service stops.
    let mut probe = app.shutdown().await?;
    assert_eq!(gateway.accepted().len(), 1, "the send in flight finished");
    let sent = probe.wait_for("notifications.sms.sent.v1", 1, T).await?;
    assert_eq!(sent[0]["data"]["notification_id"], n.as_str());
    assert_eq!(gateway.requests().len(), 1);
    Ok(())
}

/// A send that outlasts its claim is given up before the lease runs out, so no other replica can
/// claim the delivery while this one still sends it: with a 5 s lease (1 s of margin) and a
/// gateway that answers after 6 s, the worker gives up after 4 s, publishes nothing and leaves
/// the delivery `sending`, to be claimed again with its outcome unknown once the lease is over.
#[tokio::test]
async fn a_send_that_outlasts_its_lease_is_given_up_before_another_replica_could_claim_it()
-> anyhow::Result<()> {
    let (mut app, gateway) = start_with("sqlite", |c| c.worker.lease_secs = 5).await?;
    gateway.answer_next(SmsReply::Slow(Duration::from_secs(6)), 1);
    let n = sms_in_flight(&app, &gateway, "L", "P-17").await?;
    // The gateway answers after 6 s; the worker has given up by then. Checked before the
    // lease (5 s from the claim) is over by more than 1.5 s: later, the delivery is claimed
    // again.
    tokio::time::sleep(Duration::from_millis(4500)).await;
    let d = app.deliveries(&n).await?;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert!(
        app.seen("notifications.sms.sent.v1").is_empty(),
        "no sms.sent from a send given up at its lease"
    );
    let sms = d["deliveries"]
        .as_array()
        .and_then(|all| all.iter().find(|x| x["channel"] == "sms"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(sms["status"], "sending", "left to its lease: {d}");
    assert_eq!(sms["attempts"], 1);
    assert!(
        logs().contains("the send did not finish within its lease"),
        "the give-up is logged"
    );
    app.stop().await
}

/// A configuration that cannot work is refused at start with every problem listed.
#[tokio::test]
async fn a_configuration_that_cannot_work_is_refused_with_every_problem() -> anyhow::Result<()> {
    use restance_notifications::config::{Channel, NotificationsConfig};
    let mut settings = shipped_settings("notifications")?;
    settings.api.open = true;
    settings.smtp.url = "mail.example:25".into();
    settings.sms.url = Some("gateway.example".into());
    let mut config = NotificationsConfig::default();
    config.templates.remove("write_off_notice");
    if let Some(t) = config.templates.get_mut("report_ready") {
        t.channels = vec![Channel::Letter, Channel::Sms];
        t.email_attach_pdf = Some(true);
    }
    config.sms_sender = "A far too long sender".into();
    let err = restance_notifications::Application::build_with(
        settings,
        config,
        renderer().await?,
        Arc::new(restance_notifications::clock::SystemClock),
        tokio_util::sync::CancellationToken::new(),
    )
    .await
    .expect_err("must be refused");
    let text = err.to_string();
    for expected in [
        "notifications.sms_sender: must be 1–11 letters and digits",
        "notifications.templates.write_off_notice: no channels configured for this template",
        "notifications.templates.report_ready.channels: letter, but the template has no letter",
        "notifications.templates.report_ready.channels: sms, but the template has no SMS text",
        "notifications.templates.report_ready.email_attach_pdf: the template has no letter to attach",
        "smtp.url must look like smtp://host:port",
        "sms.url must start with https:// (or http:// to this machine)",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
    Ok(())
}

/// Nothing personal in what the service logs: no national id, phone, address, name or e-mail.
/// (Runs a full story itself; the buffer also holds every other test's logs so far.)
#[tokio::test]
async fn the_service_logs_no_personal_data() -> anyhow::Result<()> {
    let (mut app, gateway) = start("sqlite").await?;
    gateway.fail_next(SmsReply::invalid_recipient(), 1);
    let n = unique("L");
    let mut d = debtor("P-15");
    d["address_protection"] = json!("confidential");
    app.publish(&[
        request(
            &unique("e"),
            &n,
            "reminder_1",
            to_debtor("P-15"),
            reminder_data(),
        ),
        debtor_updated(&unique("d"), d),
    ])
    .await?;
    app.events("notifications.letter.ready.v1", 1).await?;
    app.events("notifications.delivery.failed.v1", 1).await?;
    app.stop().await?;
    let logs = logs();
    assert!(logs.contains(&n), "the capture works");
    for needle in PERSONAL_DATA {
        assert!(
            !logs.contains(needle),
            "the log contains personal data ({needle})"
        );
    }
    Ok(())
}

/// Throughput, not run by default: `RESTANCE_NOTIFY_N=500 cargo test -p restance-notifications
/// --release --test deliveries -- --ignored --nocapture many_reminders`. Every reminder becomes
/// exactly one letter and one SMS.
#[tokio::test]
#[ignore = "a measurement; run explicitly"]
async fn many_reminders_flow_through() -> anyhow::Result<()> {
    let n: usize = std::env::var("RESTANCE_NOTIFY_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let concurrency: usize = std::env::var("RESTANCE_NOTIFY_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let (mut app, gateway) =
        start_with("postgres", move |c| c.worker.concurrency = concurrency).await?;
    let mut msgs = Vec::with_capacity(n + 50);
    for d in 0..50 {
        msgs.push(debtor_updated(&unique("d"), debtor(&format!("P-{d}"))));
    }
    for i in 0..n {
        msgs.push(request(
            &unique("e"),
            &format!("M-{i}"),
            "reminder_1",
            to_debtor(&format!("P-{}", i % 50)),
            reminder_data(),
        ));
    }
    let started = std::time::Instant::now();
    app.publish(&msgs).await?;
    app.probe
        .wait_for("notifications.letter.ready.v1", n, Duration::from_secs(600))
        .await?;
    let letters = started.elapsed();
    app.probe
        .wait_for("notifications.sms.sent.v1", n, Duration::from_secs(600))
        .await?;
    let all = started.elapsed();
    app.probe.settle(Duration::from_millis(500)).await;
    assert_eq!(app.seen("notifications.letter.ready.v1").len(), n);
    assert_eq!(gateway.accepted().len(), n);
    let rate = (n as u128 * 1000) / letters.as_millis().max(1);
    eprintln!(
        "{n} reminders: {n} letters in {letters:.1?} ({rate} letters/s), letters and SMS done in {all:.1?}"
    );
    app.stop().await
}
