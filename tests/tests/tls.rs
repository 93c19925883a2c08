//! TLS on every connection, against real servers the test starts with certificates it
//! generates: a RabbitMQ node with only a TLS listener, a PostgreSQL cluster that accepts only
//! TLS (`hostssl`), the fake SMS gateway on `https`, an SMTP server on `smtps`. An invoice
//! goes through `restance-invoicing` and `restance-notifications` (processes, as deployed) and
//! becomes a letter, an SMS and an e-mail; nothing could have gone in plaintext, as none of the
//! servers speaks it. Then what must be refused is: a server whose certificate comes from
//! another CA, and plaintext to a host off this machine.

use restance_system_tests::{invoice, notification_request, reminder_1_data, to_items};
use restance_testkit::{
    BusProbe, FakeSmsGateway, FakeSmtps, ServiceProcess, TestPki, TlsPostgres, TlsRabbitMq,
    publish_raw_over, unique_exchange,
};
use sea_orm::{ConnectionTrait, Statement};
use std::time::Duration;

const T: Duration = Duration::from_secs(90);
const SMS_TOKEN: &str = "tls-test-gateway-token";

#[tokio::test]
async fn an_invoice_goes_through_invoicing_and_notifications_over_tls_only() -> anyhow::Result<()> {
    let pki = TestPki::generate()?;
    let (rabbit, pg) = tokio::try_join!(TlsRabbitMq::start(&pki), TlsPostgres::start(&pki))?;
    let gateway = FakeSmsGateway::start_https(SMS_TOKEN, &pki).await?;
    let smtp = FakeSmtps::start(&pki).await?;
    let exchange = unique_exchange();
    pg.create_database("invoicing").await?;
    pg.create_database("notifications").await?;
    let ca_file = pki.ca_file.display().to_string();
    let bus_url = rabbit.url();
    let documents = tempfile::tempdir()?;
    let documents_dir = documents.path().display().to_string();
    let tls_env = |db: &str| {
        vec![
            ("RESTANCE__BUS__URL".to_owned(), bus_url.clone()),
            ("RESTANCE__BUS__EXCHANGE".to_owned(), exchange.clone()),
            ("RESTANCE__DATABASE__URL".to_owned(), pg.url(db)),
            ("RESTANCE__TLS__CA_FILE".to_owned(), ca_file.clone()),
            ("RESTANCE__BUS__BATCH_LINGER_MS".to_owned(), "5".to_owned()),
            ("RESTANCE__BUS__RELAY_POLL_MS".to_owned(), "50".to_owned()),
        ]
    };
    let mut env = tls_env("notifications");
    env.extend(
        [
            ("RESTANCE__DOCUMENTS__DIR", documents_dir.as_str()),
            ("RESTANCE__SMS__URL", gateway.url.as_str()),
            ("RESTANCE__SMS__TOKEN", SMS_TOKEN),
            ("RESTANCE__SMTP__URL", smtp.url().as_str()),
            (
                "RESTANCE__NOTIFICATIONS__TEMPLATES__REMINDER_1__CHANNELS",
                "letter,sms,email",
            ),
            ("RESTANCE__NOTIFICATIONS__QUIET_HOURS__START", "00:00"),
            ("RESTANCE__NOTIFICATIONS__QUIET_HOURS__END", "00:00"),
            ("RESTANCE__NOTIFICATIONS__WORKER__POLL_MS", "200"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    fn as_refs(env: &[(String, String)]) -> Vec<(&str, &str)> {
        env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }
    let mut notifications = ServiceProcess::spawn("restance-notifications", &as_refs(&env)).await?;
    let invoicing_env = tls_env("invoicing");
    let mut invoicing =
        ServiceProcess::spawn("restance-invoicing", &as_refs(&invoicing_env)).await?;
    notifications.wait_ready(T).await?;
    invoicing.wait_ready(T).await?;

    let settings = rabbit.bus_settings(&pki, &exchange);
    let mut probe = BusProbe::start_over(
        restance_bus::connection::connect(&settings, "tls-test-probe").await?,
        &exchange,
        "#",
    )
    .await?;
    let publish = |items: Vec<(String, Vec<u8>)>| {
        let settings = settings.clone();
        let exchange = exchange.clone();
        async move {
            let conn = restance_bus::connection::connect(&settings, "tls-test-billing").await?;
            publish_raw_over(conn, &exchange, &items).await
        }
    };

    publish(to_items(&[invoice(
        "tls-inv-1",
        "TLS-1",
        "P-TLS",
        "410.00",
    )]))
    .await?;
    let opened = probe.wait_for("invoicing.claim.opened.v1", 1, T).await?;
    probe.wait_for("invoicing.debtor.updated.v1", 1, T).await?;
    let ocr = opened[0]["data"]["ocr_line"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let n = format!(
        "N-0746-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    publish(to_items(&[notification_request(
        "tls-req-1",
        &n,
        "reminder_1",
        "P-TLS",
        reminder_1_data("TLS-1", "410.00", &ocr),
    )]))
    .await?;

    let letter = probe
        .wait_for("notifications.letter.ready.v1", 1, T)
        .await?;
    assert_eq!(letter[0]["data"]["notification_id"], n.as_str());
    let sms = gateway.wait_for_accepted(1, T).await?;
    assert_eq!(sms[0].userref.as_deref(), Some(n.as_str()));
    assert_eq!(
        sms[0].authorization.as_deref(),
        Some(format!("Token {SMS_TOKEN}").as_str())
    );
    probe.wait_for("notifications.sms.sent.v1", 1, T).await?;
    let email = probe.wait_for("notifications.email.sent.v1", 1, T).await?;
    let message_id = email[0]["data"]["message_id"].as_str().unwrap_or_default();
    let mails = smtp.messages();
    assert_eq!(mails.len(), 1, "one e-mail at the smtps server");
    assert!(mails[0].contains(message_id), "{}", mails[0]);

    // Every connection the services hold to the database is TLS (pg_hba allows nothing else;
    // this says so from the server's side).
    let admin = sea_orm::Database::connect(pg.url_with_ca("postgres")).await?;
    let row = admin
        .query_one_raw(Statement::from_string(
            admin.get_database_backend(),
            "SELECT count(*) FILTER (WHERE s.ssl) AS tls, count(*) AS all \
             FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
             WHERE a.datname IN ('invoicing', 'notifications')",
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no row"))?;
    let (tls, all): (i64, i64) = (row.try_get("", "tls")?, row.try_get("", "all")?);
    assert!(all >= 2, "both services connected ({all})");
    assert_eq!(tls, all, "every database connection is TLS");
    admin.close().await.ok();

    assert!(
        notifications.terminate(T).await?,
        "notifications stops cleanly"
    );
    assert!(invoicing.terminate(T).await?, "invoicing stops cleanly");
    Ok(())
}

#[tokio::test]
async fn a_server_whose_certificate_is_from_another_ca_is_refused() -> anyhow::Result<()> {
    let pki = TestPki::generate()?;
    let stranger = TestPki::generate()?;
    let (rabbit, pg) = tokio::try_join!(TlsRabbitMq::start(&pki), TlsPostgres::start(&pki))?;
    let gateway = FakeSmsGateway::start_https(SMS_TOKEN, &pki).await?;

    // The broker: the connection fails on the certificate.
    let wrong = rabbit.bus_settings(&stranger, "unused");
    let err = restance_bus::connection::connect(&wrong, "tls-test-wrong-ca")
        .await
        .err()
        .ok_or_else(|| anyhow::anyhow!("a broker with an unknown CA was accepted"))?;
    assert!(
        format!("{err:?}").to_lowercase().contains("certificate")
            || format!("{err:?}").contains("UnknownIssuer"),
        "{err:?}"
    );

    // The database: verify-full against the stranger's CA fails.
    let url = format!(
        "{}&sslrootcert={}",
        pg.url("postgres"),
        stranger.ca_file.display()
    );
    assert!(
        sea_orm::Database::connect(url).await.is_err(),
        "a database with an unknown CA was accepted"
    );

    // The SMS gateway: a client trusting only the stranger's CA cannot post.
    restance_bus::tls::install_crypto_provider();
    let roots = reqwest::Certificate::from_pem_bundle(&std::fs::read(&stranger.ca_file)?)?;
    let client = reqwest::Client::builder().tls_certs_only(roots).build()?;
    let sent = client
        .post(format!("{}/rest/mtsms", gateway.url))
        .header("Authorization", format!("Token {SMS_TOKEN}"))
        .json(&serde_json::json!({"sender": "Test", "message": "hello", "recipients": [{"msisdn": 4512345678u64}]}))
        .send()
        .await;
    assert!(
        sent.is_err(),
        "an https gateway with an unknown CA was used"
    );
    assert!(gateway.requests().is_empty());

    // A service given the stranger's CA never becomes ready, and says why.
    let exchange = unique_exchange();
    let mut invoicing = ServiceProcess::spawn(
        "restance-invoicing",
        &[
            ("RESTANCE__BUS__URL", &rabbit.url()),
            ("RESTANCE__BUS__EXCHANGE", &exchange),
            ("RESTANCE__DATABASE__URL", &pg.url("postgres")),
            (
                "RESTANCE__TLS__CA_FILE",
                &stranger.ca_file.display().to_string(),
            ),
        ],
    )
    .await?;
    assert!(
        invoicing.wait_ready(Duration::from_secs(8)).await.is_err(),
        "ready with a database and broker it cannot trust"
    );
    let log = invoicing.log_text();
    assert!(log.contains("cannot reach the database"), "{log}");
    invoicing.kill9().await?;
    Ok(())
}

#[tokio::test]
async fn plaintext_to_a_host_off_this_machine_is_refused_at_start() -> anyhow::Result<()> {
    for (key, value, expected) in [
        (
            "RESTANCE__BUS__URL",
            "amqp://guest:guest@rabbitmq.example:5672/%2f",
            "amqps://",
        ),
        (
            "RESTANCE__DATABASE__URL",
            "postgres://restance@db.example/invoicing?sslmode=require",
            "sslmode=verify-full",
        ),
    ] {
        let mut p = ServiceProcess::spawn("restance-invoicing", &[(key, value)]).await?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = p.exited() {
                break status;
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "{key}={value} was not refused"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(status.code(), Some(2), "{key}: a configuration error");
        let log = p.log_text();
        assert!(
            log.contains(expected) && log.contains("RESTANCE__TLS__ALLOW_PLAINTEXT"),
            "{log}"
        );
        assert!(
            !log.contains("guest:guest"),
            "credentials in the message: {log}"
        );
    }
    // With allow_plaintext the same URL passes the check (and the service then waits for a
    // broker that does not exist, unready).
    let mut p = ServiceProcess::spawn(
        "restance-invoicing",
        &[
            (
                "RESTANCE__BUS__URL",
                "amqp://guest:guest@rabbitmq.invalid:5672/%2f",
            ),
            ("RESTANCE__TLS__ALLOW_PLAINTEXT", "true"),
        ],
    )
    .await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        p.exited().is_none(),
        "allow_plaintext accepted the URL:\n{}",
        p.log_text()
    );
    assert!(
        p.log_text().contains("allow_plaintext"),
        "the start-up warning"
    );
    p.kill9().await?;
    Ok(())
}
