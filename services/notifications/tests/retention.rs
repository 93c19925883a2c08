//! Retention in notifications, against the real RabbitMQ and databases: on
//! `invoicing.debtor.erased.v1` the debtor's contact, the requests and delivery plans of the
//! notifications about the debtor and the letters' PDFs (rows and files) go; what was sent and
//! when stays; a late copy of the details from before the erasure does not bring them back,
//! a newer one (a later invoice) does; a repeat erases nothing more.

mod support;

use restance_testkit::envelope;
use serde_json::json;
use support::*;

fn erased(event_id: &str, debtor_id: &str, version: u64) -> serde_json::Value {
    envelope(
        "/restance/invoicing",
        event_id,
        "invoicing.debtor.erased.v1",
        json!({"municipality":"0746","debtor_id":debtor_id,"erased_on":"2032-01-02",
            "version":version}),
    )
}

async fn an_erased_debtors_contact_requests_and_letters_go(
    kind: &'static str,
) -> anyhow::Result<()> {
    let (mut app, _gateway) = start(kind).await?;
    let n = unique("N");
    app.publish(&[
        debtor_updated_version(&unique("d"), debtor("P-1"), 1),
        debtor_updated_version(&unique("d"), debtor("P-2"), 1),
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
    let path = letter["document"]["path"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let pdf = app.documents().join(&path);
    assert!(pdf.exists(), "the letter is on disk: {path}");
    app.wait_processed().await?;
    let sent_before = app
        .count(&format!(
            "SELECT COUNT(*) FROM deliveries WHERE notification_id = '{n}' AND status = 'sent'"
        ))
        .await?;

    // a delivery report whose error text quotes the number
    {
        use sea_orm::ConnectionTrait as _;
        let db = sea_orm::Database::connect(app.db_url()).await?;
        db.execute_unprepared(&format!(
            "INSERT INTO sms_reports (provider_id, status, notification_id, error, received_ms) \
             VALUES ('{n}-r', 'failed', '{n}', 'number +45 28 91 44 05 unreachable', 1)"
        ))
        .await?;
        db.close().await?;
    }
    app.publish(&[
        erased(&unique("x"), "P-1", 2),
        erased(&unique("x"), "P-1", 2),
    ])
    .await?;
    app.wait_processed().await?;
    assert!(!pdf.exists(), "the letter's PDF is removed");
    let count = |sql: String| {
        let app = &app;
        async move { app.count(&sql).await }
    };
    assert_eq!(
        count("SELECT COUNT(*) FROM contacts WHERE debtor_id = 'P-1'".into()).await?,
        0
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM contacts WHERE debtor_id = 'P-2'".into()).await?,
        1,
        "another debtor is kept"
    );
    assert_eq!(
        count(format!(
            "SELECT COUNT(*) FROM documents WHERE notification_id = '{n}'"
        ))
        .await?,
        0
    );
    assert_eq!(
        count(format!(
            "SELECT COUNT(*) FROM notifications WHERE notification_id = '{n}' \
             AND request = '{{\"erased\":true}}'"
        ))
        .await?,
        1,
        "the request (name, address, letter data) is gone, the notification stays"
    );
    assert_eq!(
        count(format!(
            "SELECT COUNT(*) FROM deliveries WHERE notification_id = '{n}' \
             AND plan = '{{\"erased\":true}}'"
        ))
        .await?,
        count(format!(
            "SELECT COUNT(*) FROM deliveries WHERE notification_id = '{n}'"
        ))
        .await?,
        "every delivery plan (addresses, phone, e-mail) is gone"
    );
    assert_eq!(
        count(format!(
            "SELECT COUNT(*) FROM deliveries WHERE notification_id = '{n}' AND status = 'sent'"
        ))
        .await?,
        sent_before,
        "what was sent stays"
    );
    assert_eq!(
        count(format!(
            "SELECT COUNT(*) FROM sms_reports WHERE notification_id = '{n}' \
             AND status = 'failed' AND error IS NULL"
        ))
        .await?,
        1,
        "the delivery report stays without the gateway's text"
    );

    // A late copy from before the erasure does not bring the contact back; a later invoice does.
    app.publish(&[debtor_updated_version(&unique("d"), debtor("P-1"), 1)])
        .await?;
    app.wait_processed().await?;
    assert_eq!(
        count("SELECT COUNT(*) FROM contacts WHERE debtor_id = 'P-1'".into()).await?,
        0
    );
    app.publish(&[debtor_updated_version(&unique("d"), debtor("P-1"), 3)])
        .await?;
    app.wait_processed().await?;
    assert_eq!(
        count("SELECT COUNT(*) FROM contacts WHERE debtor_id = 'P-1'".into()).await?,
        1
    );
    let logs = app.logs();
    assert!(
        !logs.contains("Ane Hansen") && !logs.contains("0101901234"),
        "no personal data in the logs"
    );
    app.stop().await
}

#[tokio::test]
async fn an_erased_debtors_contact_requests_and_letters_go_on_postgres() -> anyhow::Result<()> {
    an_erased_debtors_contact_requests_and_letters_go("postgres").await
}

#[tokio::test]
async fn an_erased_debtors_contact_requests_and_letters_go_on_sqlite() -> anyhow::Result<()> {
    an_erased_debtors_contact_requests_and_letters_go("sqlite").await
}

/// The preview (admin) says how many debtors were erased here and that nothing is left of them;
/// an erased debtor of whom something is left (here a contact put back by hand) is counted with
/// its records, on either backend.
async fn the_preview_counts_erased_debtors_and_what_is_left_of_them(
    backend: &str,
) -> anyhow::Result<()> {
    const ADMIN: &str = "retention-admin-token-0001";
    let gateway = restance_testkit::FakeSmsGateway::start_with_token(SMS_TOKEN).await?;
    let app = builder(backend, Some(&gateway))
        .configure(|s| {
            s.api.tokens = Some(secrecy::SecretString::from(format!(
                "{ADMIN}:admin:ops,{API_TOKEN}:caseworker"
            )));
        })
        .spawn_with(|s, c| build(s, c, daytime(), |_| {}))
        .await?;
    let (status, _) = app
        .get("/api/v1/retention/preview", Some(API_TOKEN))
        .await?;
    assert_eq!(status, 403, "a caseworker may not");
    app.publish(&[
        debtor_updated_version(&unique("d"), debtor("P-1"), 1),
        erased(&unique("x"), "P-1", 2),
    ])
    .await?;
    app.wait_processed().await?;
    let (status, preview) = app.get("/api/v1/retention/preview", Some(ADMIN)).await?;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["service"], "notifications");
    assert_eq!(preview["debtors"], 0, "{preview}");
    assert_eq!(preview["erased_so_far"], 1, "{preview}");

    let db = sea_orm::Database::connect(app.db_url()).await?;
    let back = sea_orm::sea_query::Query::insert()
        .into_table("contacts")
        .columns([
            "municipality",
            "debtor_id",
            "details",
            "updated_ms",
            "version",
        ])
        .values_panic([
            "0746".into(),
            "P-1".into(),
            "{}".into(),
            0i64.into(),
            9i64.into(),
        ])
        .to_owned();
    sea_orm::ConnectionTrait::execute(&db, &back).await?;
    let (status, preview) = app.get("/api/v1/retention/preview", Some(ADMIN)).await?;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["debtors"], 1, "{preview}");
    assert_eq!(preview["records"], 1, "{preview}");
    app.stop().await
}

#[tokio::test]
async fn the_preview_counts_erased_debtors_and_what_is_left_of_them_on_sqlite() -> anyhow::Result<()>
{
    the_preview_counts_erased_debtors_and_what_is_left_of_them("sqlite").await
}

#[tokio::test]
async fn the_preview_counts_erased_debtors_and_what_is_left_of_them_on_postgres()
-> anyhow::Result<()> {
    the_preview_counts_erased_debtors_and_what_is_left_of_them("postgres").await
}
