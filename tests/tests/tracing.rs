//! Tracing across the bus (issue 23): an invoice published with a known W3C `traceparent` is
//! followed through `restance-invoicing`, `restance-dunning` and `restance-notifications` as
//! processes on the real broker — the claim event, the reminder, the notification request, the
//! letter's delivery log line and the SMS request at the (fake) gateway all carry its trace id,
//! and the spans exported over OTLP to a receiver in the test link each consumer to the span
//! that published what it consumed.

use restance_system_tests::otlp::OtlpReceiver;
use restance_system_tests::{day_opened, invoice_due, to_items};
use restance_testkit::{
    BusProbe, FakeSmsGateway, ServiceProcess, TestDatabase, delete_test_topology, publish_raw,
    unique_exchange,
};
use serde_json::Value;
use std::time::Duration;

const T: Duration = Duration::from_secs(60);
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_SPAN: &str = "00f067aa0ba902b7";

/// The trace id and span id of a message's `traceparent`.
fn trace_of(message: &Value) -> (String, String) {
    let tp = message["traceparent"].as_str().unwrap_or_default();
    let mut parts = tp.split('-').skip(1);
    (
        parts.next().unwrap_or_default().to_owned(),
        parts.next().unwrap_or_default().to_owned(),
    )
}

async fn spawn(
    name: &str,
    exchange: &str,
    db: &TestDatabase,
    otlp: &str,
    extra: &[(&str, &str)],
) -> anyhow::Result<ServiceProcess> {
    let mut env = vec![
        ("RESTANCE__BUS__EXCHANGE", exchange),
        ("RESTANCE__DATABASE__URL", db.url.as_str()),
        ("RESTANCE__BUS__BATCH_LINGER_MS", "5"),
        ("RESTANCE__BUS__RELAY_POLL_MS", "50"),
        ("RESTANCE__DUNNING__RUN__POLL_MS", "100"),
        ("RESTANCE__TELEMETRY__OTLP_ENDPOINT", otlp),
        // business days far after the wall clock's today
        ("RESTANCE__CALENDAR__MAX_DAYS_AHEAD", "36500"),
    ];
    env.extend_from_slice(extra);
    let svc = ServiceProcess::spawn(name, &env).await?;
    svc.wait_ready(T).await?;
    Ok(svc)
}

#[tokio::test]
async fn an_invoices_trace_reaches_its_reminder_letter_and_sms() -> anyhow::Result<()> {
    let exchange = unique_exchange();
    let receiver = OtlpReceiver::start().await?;
    let inv_db = TestDatabase::postgres().await?;
    let dun_db = TestDatabase::postgres().await?;
    let not_db = TestDatabase::sqlite()?;
    let gateway = FakeSmsGateway::start().await?;
    let documents = std::env::temp_dir().join(format!("restance-docs-{}", uuid::Uuid::new_v4()));
    let documents_dir = documents.display().to_string();
    let mut probe = BusProbe::start(&exchange).await?;
    let mut invoicing = spawn(
        "restance-invoicing",
        &exchange,
        &inv_db,
        &receiver.endpoint,
        &[],
    )
    .await?;
    let mut dunning = spawn(
        "restance-dunning",
        &exchange,
        &dun_db,
        &receiver.endpoint,
        &[],
    )
    .await?;
    let mut notifications = spawn(
        "restance-notifications",
        &exchange,
        &not_db,
        &receiver.endpoint,
        &[
            ("RESTANCE__DOCUMENTS__DIR", documents_dir.as_str()),
            ("RESTANCE__SMS__URL", gateway.url.as_str()),
            (
                "RESTANCE__NOTIFICATIONS__TEMPLATES__REMINDER_1__CHANNELS",
                "letter,sms",
            ),
            // The binary reads the system clock: no quiet hours, whatever the hour of the test.
            ("RESTANCE__NOTIFICATIONS__QUIET_HOURS__START", "00:00"),
            ("RESTANCE__NOTIFICATIONS__QUIET_HOURS__END", "00:00"),
            ("RESTANCE__NOTIFICATIONS__WORKER__POLL_MS", "200"),
        ],
    )
    .await?;

    // The billing system's invoice, published inside its own trace.
    let mut invoice = invoice_due("inv-t1", "STD-T1", "other", "P-T1", "2150.00", "2026-12-15");
    invoice["traceparent"] = Value::from(format!("00-{TRACE_ID}-{PARENT_SPAN}-01"));
    invoice["tracestate"] = Value::from("billing=daycare");
    publish_raw(&exchange, &to_items(&[invoice])).await?;

    // invoicing: the claim event carries the trace, with the consumer span as its parent.
    let opened = probe.wait_for("invoicing.claim.opened.v1", 1, T).await?;
    let (trace, invoicing_span) = trace_of(&opened[0]);
    assert_eq!(trace, TRACE_ID, "the claim event's traceparent");
    assert_ne!(invoicing_span, PARENT_SPAN);
    assert_eq!(opened[0]["tracestate"], "billing=daycare");

    // dunning: the first reminder, decided by the daily run of 2026-12-22 (reminder 1 seven
    // days after the due date under dk_standard), continues the claim's trace.
    publish_raw(&exchange, &to_items(&[day_opened("2026-12-22")])).await?;
    let reminder = probe.wait_for("dunning.reminder.issued.v1", 1, T).await?;
    assert_eq!(
        trace_of(&reminder[0]).0,
        TRACE_ID,
        "the reminder's traceparent"
    );
    let requested = probe
        .wait_for("notifications.notification.requested.v1", 1, T)
        .await?;
    assert_eq!(
        trace_of(&requested[0]).0,
        TRACE_ID,
        "the notification request's traceparent"
    );

    // notifications: the letter (its event and its delivery's log line) and the SMS request.
    let letter = probe
        .wait_for("notifications.letter.ready.v1", 1, T)
        .await?;
    assert_eq!(
        trace_of(&letter[0]).0,
        TRACE_ID,
        "letter.ready's traceparent"
    );
    let sms = gateway.wait_for_accepted(1, T).await?;
    let header = sms[0].traceparent.as_deref().unwrap_or_default();
    assert!(
        header.starts_with(&format!("00-{TRACE_ID}-")),
        "the SMS request's traceparent header: {header:?}"
    );
    let deadline = tokio::time::Instant::now() + T;
    let delivered = loop {
        let log = notifications.log_text();
        let line = log
            .lines()
            .find(|l| {
                l.contains("\"delivered\"")
                    && l.contains("\"channel\":\"letter\"")
                    && l.contains(&format!("\"trace_id\":\"{TRACE_ID}\""))
            })
            .map(str::to_owned);
        if let Some(line) = line {
            break line;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "no letter delivery log line with the trace id:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let delivered: Value = serde_json::from_str(&delivered)?;
    assert_eq!(delivered["trace_id"], TRACE_ID);

    // The exported spans: invoicing's consumer span is a child of the invoice's traceparent,
    // and dunning's consumer span of the claim event a child of invoicing's span that
    // published it.
    let consumed = receiver
        .wait_for(T, |s| {
            s.service == "restance-invoicing" && s.name == "consume" && s.trace_id == TRACE_ID
        })
        .await?;
    assert_eq!(consumed.parent_span_id, PARENT_SPAN);
    assert_eq!(
        consumed.attribute("message_type"),
        Some("billing.invoice.issued.v1")
    );
    let dunning_consumed = receiver
        .wait_for(T, |s| {
            s.service == "restance-dunning"
                && s.name == "consume"
                && s.attribute("message_type") == Some("invoicing.claim.opened.v1")
        })
        .await?;
    assert_eq!(dunning_consumed.trace_id, TRACE_ID);
    assert_eq!(dunning_consumed.parent_span_id, invoicing_span);
    receiver
        .wait_for(T, |s| {
            s.service == "restance-notifications" && s.name == "delivery" && s.trace_id == TRACE_ID
        })
        .await?;

    for svc in [&mut invoicing, &mut dunning, &mut notifications] {
        svc.terminate(T).await?;
    }
    delete_test_topology(&exchange, &["invoicing", "dunning", "notifications"]).await;
    let _ = std::fs::remove_dir_all(&documents);
    Ok(())
}
