//! Queues exist before anything publishes: `restance-<service> migrate` (the migration Job, run
//! at install before any publisher) declares the service's queue, its bindings and its
//! dead-letter queue. An invoice published before invoicing has ever run waits in the queue and
//! becomes a claim once invoicing starts. Without the queue the broker would confirm the
//! publish and drop the message: the first half of the test shows there was none before.

use restance_system_tests::{invoice, to_items};
use restance_testkit::{
    BusProbe, ServiceProcess, TestDatabase, binary, delete_test_topology, publish_raw, queue_depth,
    run_migrate, unique_exchange,
};
use std::time::Duration;

const T: Duration = Duration::from_secs(60);

#[tokio::test]
async fn an_invoice_published_before_invoicing_ever_ran_is_delivered() -> anyhow::Result<()> {
    let exchange = unique_exchange();
    let db = TestDatabase::sqlite()?;
    let queue = format!("{exchange}.invoicing");
    assert!(
        queue_depth(&queue).await.is_err(),
        "a fresh exchange has no invoicing queue: a publish now would be dropped"
    );

    let env = [
        ("RESTANCE__BUS__EXCHANGE", exchange.as_str()),
        ("RESTANCE__DATABASE__URL", db.url.as_str()),
    ];
    let log = run_migrate("invoicing", &env).await?;
    assert!(log.contains("migrations applied"), "{log}");
    assert!(
        log.contains("dead-letter queue declared") && log.contains(&queue),
        "{log}"
    );
    assert_eq!(queue_depth(&queue).await?, 0);
    assert_eq!(queue_depth(&format!("{exchange}.invoicing.dead")).await?, 0);

    // The billing system publishes while invoicing has never run: the invoice waits.
    publish_raw(
        &exchange,
        &to_items(&[invoice("early-1", "EARLY-1", "P-EARLY", "125.00")]),
    )
    .await?;
    assert_eq!(
        queue_depth(&queue).await?,
        1,
        "the invoice waits in invoicing's queue"
    );

    // A second migrate (every deploy runs it) changes nothing and loses nothing.
    run_migrate("invoicing", &env).await?;
    assert_eq!(queue_depth(&queue).await?, 1);

    let mut probe = BusProbe::start(&exchange).await?;
    let mut invoicing = ServiceProcess::spawn(
        "restance-invoicing",
        &[
            ("RESTANCE__BUS__EXCHANGE", &exchange),
            ("RESTANCE__DATABASE__URL", &db.url),
        ],
    )
    .await?;
    invoicing.wait_ready(T).await?;
    let opened = probe.wait_for("invoicing.claim.opened.v1", 1, T).await?;
    assert_eq!(opened[0]["data"]["invoice_id"], "EARLY-1");
    assert!(invoicing.terminate(T).await?);
    delete_test_topology(&exchange, &["invoicing"]).await;
    Ok(())
}

#[tokio::test]
async fn migrate_says_why_when_the_broker_cannot_be_reached() -> anyhow::Result<()> {
    // A broker that refuses: migrate waits with backoff (the Job's deadline bounds it) and says
    // what it waits for; it never reports success without the queues.
    let db = TestDatabase::sqlite()?;
    let mut child = tokio::process::Command::new(binary("restance-invoicing")?)
        .arg("migrate")
        .current_dir(std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."))
        .env("RESTANCE__BUS__URL", "amqp://guest:guest@127.0.0.1:1/%2f")
        .env("RESTANCE__DATABASE__URL", &db.url)
        .env("RESTANCE__API__OPEN", "true")
        .env("RESTANCE__LOG__FORMAT", "text")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        child.try_wait()?.is_none(),
        "migrate gave up or claimed success without a broker"
    );
    child.start_kill()?;
    let out = child.wait_with_output().await?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("migrations applied"), "{text}");
    assert!(text.contains("cannot reach the broker"), "{text}");
    Ok(())
}
