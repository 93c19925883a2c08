//! `restance-notifications` with `restance-invoicing` as processes on the real broker: an
//! invoice's debtor becomes a contact, and a reminder for that debtor becomes a rendered PDF
//! letter, an SMS at the (fake) GatewayAPI and an e-mail at the SMTP test server.

use restance_system_tests::{
    PERSONAL_DATA, invoice, notification_request, reminder_1_data, to_items,
};
use restance_testkit::{
    BusProbe, FakeSmsGateway, ServiceProcess, TestDatabase, delete_test_topology, publish_raw,
    unique_exchange,
};
use std::path::PathBuf;
use std::time::Duration;

const T: Duration = Duration::from_secs(60);
const SMS_TOKEN: &str = "system-test-gateway-token";

/// The SMTP test server's spool (deploy/local/ensure-services.sh).
fn smtp_spool() -> PathBuf {
    if let Some(dir) = std::env::var_os("RESTANCE_SMTP_DIR") {
        return PathBuf::from(dir);
    }
    let tools = std::env::var_os("RESTANCE_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/restance-tools")
        });
    tools.join("smtp/inbox")
}

/// The raw text of the one received e-mail that contains `needle`.
async fn mail_containing(needle: &str) -> anyhow::Result<String> {
    let deadline = tokio::time::Instant::now() + T;
    loop {
        if let Ok(entries) = std::fs::read_dir(smtp_spool()) {
            for e in entries.flatten() {
                let path = e.path();
                if path.extension().is_some_and(|x| x == "eml")
                    && let Ok(bytes) = std::fs::read(&path)
                {
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    if text.contains(needle) {
                        return Ok(text);
                    }
                }
            }
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "no e-mail with {needle} in {} (is the SMTP test server running? just services)",
            smtp_spool().display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The text of a PDF, by `pdftotext` (poppler-utils).
fn pdf_text(bytes: &[u8]) -> anyhow::Result<String> {
    let path = std::env::temp_dir().join(format!("restance-{}.pdf", uuid::Uuid::new_v4()));
    std::fs::write(&path, bytes)?;
    let out = std::process::Command::new("pdftotext")
        .arg("-layout")
        .arg(&path)
        .arg("-")
        .output();
    let _ = std::fs::remove_file(&path);
    let out = out.map_err(|e| anyhow::anyhow!("pdftotext is needed (poppler-utils): {e}"))?;
    anyhow::ensure!(out.status.success(), "pdftotext failed");
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[tokio::test]
async fn an_invoices_debtor_gets_a_letter_an_sms_and_an_e_mail() -> anyhow::Result<()> {
    let exchange = unique_exchange();
    let invoicing_db = TestDatabase::postgres().await?;
    let notifications_db = TestDatabase::sqlite()?;
    let documents = std::env::temp_dir().join(format!("restance-docs-{}", uuid::Uuid::new_v4()));
    let gateway = FakeSmsGateway::start_with_token(SMS_TOKEN).await?;
    let documents_dir = documents.display().to_string();
    let mut notifications = ServiceProcess::spawn(
        "restance-notifications",
        &[
            ("RESTANCE__BUS__EXCHANGE", &exchange),
            ("RESTANCE__DATABASE__URL", &notifications_db.url),
            ("RESTANCE__BUS__BATCH_LINGER_MS", "5"),
            ("RESTANCE__BUS__RELAY_POLL_MS", "50"),
            ("RESTANCE__DOCUMENTS__DIR", &documents_dir),
            ("RESTANCE__SMS__URL", &gateway.url),
            ("RESTANCE__SMS__TOKEN", SMS_TOKEN),
            (
                "RESTANCE__SMS__CALLBACK_TOKEN",
                "system-test-callback-secret",
            ),
            // This reminder goes by every channel.
            (
                "RESTANCE__NOTIFICATIONS__TEMPLATES__REMINDER_1__CHANNELS",
                "letter,sms,email",
            ),
            // The binary reads the system clock: no quiet hours, whatever the hour of the test.
            ("RESTANCE__NOTIFICATIONS__QUIET_HOURS__START", "00:00"),
            ("RESTANCE__NOTIFICATIONS__QUIET_HOURS__END", "00:00"),
            ("RESTANCE__NOTIFICATIONS__WORKER__POLL_MS", "200"),
        ],
    )
    .await?;
    notifications.wait_ready(T).await?;
    let mut invoicing = ServiceProcess::spawn(
        "restance-invoicing",
        &[
            ("RESTANCE__BUS__EXCHANGE", &exchange),
            ("RESTANCE__DATABASE__URL", &invoicing_db.url),
            ("RESTANCE__BUS__BATCH_LINGER_MS", "5"),
            ("RESTANCE__BUS__RELAY_POLL_MS", "50"),
        ],
    )
    .await?;
    invoicing.wait_ready(T).await?;
    let mut probe = BusProbe::start(&exchange).await?;

    // The billing system's invoice: invoicing opens a claim and announces the debtor.
    publish_raw(
        &exchange,
        &to_items(&[invoice("inv-1", "DAY-77", "P-77", "2150.00")]),
    )
    .await?;
    let opened = probe.wait_for("invoicing.claim.opened.v1", 1, T).await?;
    probe.wait_for("invoicing.debtor.updated.v1", 1, T).await?;
    let ocr = opened[0]["data"]["ocr_line"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    // Dunning's reminder for that debtor.
    let n = format!(
        "N-0746-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    publish_raw(
        &exchange,
        &to_items(&[notification_request(
            "req-1",
            &n,
            "reminder_1",
            "P-77",
            reminder_1_data("DAY-77", "2150.00", &ocr),
        )]),
    )
    .await?;

    // The letter: announced for digital post, served as a PDF with the claim and its +71 line.
    let letter = probe
        .wait_for("notifications.letter.ready.v1", 1, T)
        .await?
        .remove(0);
    let letter = &letter["data"];
    assert_eq!(letter["notification_id"], n.as_str());
    assert_eq!(letter["channel"], "digital_post");
    assert_eq!(letter["recipient"]["debtor_id"], "P-77");
    let doc_id = letter["document"]["id"].as_str().unwrap_or_default();
    let pdf = reqwest::get(format!(
        "{}/api/v1/documents/{doc_id}",
        notifications.base_url
    ))
    .await?
    .error_for_status()?
    .bytes()
    .await?;
    assert!(pdf.starts_with(b"%PDF-"));
    let on_disk =
        std::fs::read(documents.join(letter["document"]["path"].as_str().unwrap_or("x")))?;
    assert_eq!(on_disk, pdf.to_vec());
    let text = pdf_text(&pdf)?;
    for expected in [
        "Ane Hansen",
        "Parkvej 1",
        "DAY-77",
        "2.150,00",
        ocr.as_str(),
    ] {
        assert!(
            text.contains(expected),
            "{expected} missing from the letter:\n{text}"
        );
    }

    // The SMS at the gateway, announced with the gateway's id.
    let sms = gateway.wait_for_accepted(1, T).await?;
    assert_eq!(sms[0].userref.as_deref(), Some(n.as_str()));
    assert_eq!(sms[0].msisdns, ["4512345678"]);
    assert_eq!(
        sms[0].authorization.as_deref(),
        Some(format!("Token {SMS_TOKEN}").as_str())
    );
    let sent = probe.wait_for("notifications.sms.sent.v1", 1, T).await?;
    assert_eq!(
        sent[0]["data"]["provider_id"],
        sms[0].id.map(|i| i.to_string()).unwrap_or_default()
    );

    // The e-mail at the SMTP server, with the letter attached.
    let email = probe.wait_for("notifications.email.sent.v1", 1, T).await?;
    let message_id = email[0]["data"]["message_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(message_id, format!("notification.{n}@skanderborg.example"));
    assert_eq!(email[0]["data"]["attachment"], true);
    let mail = mail_containing(&format!("<{message_id}>")).await?;
    assert!(mail.contains("X-Envelope-To: ane@example.org"), "{mail}");
    assert!(mail.contains("multipart/alternative") && mail.contains("text/html"));
    assert!(mail.contains("application/pdf"));

    probe.settle(Duration::from_millis(500)).await;
    assert!(probe.of_type("notifications.delivery.failed.v1").is_empty());
    assert!(
        probe
            .of_type("notifications.message.rejected.v1")
            .is_empty()
    );
    assert_eq!(gateway.requests().len(), 1, "one SMS");

    assert!(
        notifications.terminate(T).await?,
        "SIGTERM ends notifications cleanly"
    );
    assert!(invoicing.terminate(T).await?);
    let log = notifications.log_text();
    assert!(log.contains("channel sms: enabled"), "{log}");
    assert!(log.contains("stopped"), "no orderly stop:\n{log}");
    for needle in PERSONAL_DATA {
        assert!(
            !log.contains(needle),
            "the notifications log contains personal data ({needle})"
        );
    }
    delete_test_topology(&exchange, &["invoicing", "notifications"]).await;
    invoicing_db.drop_database().await;
    let _ = std::fs::remove_dir_all(&documents);
    Ok(())
}
