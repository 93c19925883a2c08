//! One broker identity per party on the bus (issue 18, item 2): the users, permissions and topic
//! permissions `deploy/rabbitmq/identities.py` makes from `deploy/rabbitmq/identities.toml`,
//! applied to the local RabbitMQ (rabbitmqctl) in a virtual host of each test's own, with user
//! names of the test's own (password = user name); both are removed at the end.
//!
//! What is shown: every identity may publish exactly the message types the table gives it — the
//! broker refuses every other (ACCESS_REFUSED closes the channel, nothing is confirmed), e.g.
//! dunning cannot publish a claim or a bank payment and a billing system cannot approve a
//! write-off; and the identities are enough to run the system: every service starts on its own
//! identity (declares and binds its queues, consumes, publishes its events and dead letters), the
//! day-open job opens a day and the operator lists dead letters — while a service cannot read
//! another service's queue, bind its queue to a type it does not consume, or declare a queue
//! outside its own names, and no identity can delete or redeclare the exchanges (none has
//! configure on them; the bus declares them passively). The collection authority's intake reads
//! the transfers (`dunning.claim.transferred.v1`, with the debtor's personal data) from the
//! queue the definitions make for it, and nothing else; no Restance service can bind them.

use lapin::options::{
    BasicConsumeOptions, BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions,
    ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use restance_system_tests::invoice;
use restance_testkit::{ServiceProcess, TestDatabase, binary};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

const T: Duration = Duration::from_secs(60);
/// The main exchange the identities' permissions name (production's).
const EXCHANGE: &str = "restance";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// One row of the table, as `identities.py table` prints it.
#[derive(Debug, Clone)]
struct Identity {
    user: String,
    role: String,
    publishes: Vec<String>,
}

impl Identity {
    fn from_json(v: &Value) -> anyhow::Result<Self> {
        let text = |key: &str| {
            v[key]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| anyhow::anyhow!("identities.py table: no {key} in {v}"))
        };
        let publishes = v["publishes"]
            .as_array()
            .ok_or_else(|| anyhow::anyhow!("identities.py table: no publishes in {v}"))?
            .iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect();
        Ok(Self {
            user: text("user")?,
            role: text("role")?,
            publishes,
        })
    }
}

/// The identities applied to a vhost of the test's own (guest may do anything there, for the
/// test's probe); removed (users and vhost) on drop.
struct Identities {
    vhost: String,
    prefix: String,
    table: BTreeMap<String, Identity>,
}

fn identities_py(args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("python3")
        .arg(root().join("deploy/rabbitmq/identities.py"))
        .args(args)
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run python3 deploy/rabbitmq/identities.py: {e}"))?;
    anyhow::ensure!(
        out.status.success(),
        "identities.py {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

impl Identities {
    fn apply() -> anyhow::Result<Self> {
        let id = &uuid::Uuid::new_v4().simple().to_string()[..12];
        let vhost = format!("restance-ids-{id}");
        let prefix = format!("ids{id}-");
        let common = ["--vhost", &vhost, "--user-prefix", &prefix];
        let rows: BTreeMap<String, Value> =
            serde_json::from_str(&identities_py(&[&["table"], &common[..]].concat())?)?;
        let table = rows
            .iter()
            .map(|(name, row)| Ok((name.clone(), Identity::from_json(row)?)))
            .collect::<anyhow::Result<_>>()?;
        let me = Self {
            vhost,
            prefix,
            table,
        };
        identities_py(&[
            "apply",
            "--passwords",
            "same-as-user",
            "--vhost",
            &me.vhost,
            "--user-prefix",
            &me.prefix,
            "--observer",
            "guest",
        ])?;
        Ok(me)
    }

    fn identity(&self, name: &str) -> &Identity {
        &self.table[name]
    }

    /// `amqp://user:user@127.0.0.1:5672/<vhost>` of an identity (local passwords = user names).
    fn url(&self, name: &str) -> String {
        let user = &self.identity(name).user;
        format!("amqp://{user}:{user}@127.0.0.1:5672/{}", self.vhost)
    }

    async fn connect(&self, name: &str) -> anyhow::Result<Connection> {
        Connection::connect(&self.url(name), ConnectionProperties::default())
            .await
            .map_err(|e| anyhow::anyhow!("{name} cannot log in to vhost {}: {e}", self.vhost))
    }
}

impl Drop for Identities {
    fn drop(&mut self) {
        let _ = identities_py(&[
            "remove",
            "--vhost",
            &self.vhost,
            "--user-prefix",
            &self.prefix,
            "--delete-vhost",
        ]);
    }
}

/// Publishes `{}` with `key` on a fresh channel with confirms: `Ok` when the broker confirmed
/// it, else what the broker said (a refusal closes the channel).
async fn publish(conn: &Connection, exchange: &str, key: &str) -> Result<(), String> {
    let ch = conn.create_channel().await.map_err(|e| e.to_string())?;
    ch.confirm_select(ConfirmSelectOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    let confirm = ch
        .basic_publish(
            exchange.into(),
            key.into(),
            BasicPublishOptions::default(),
            b"{}",
            BasicProperties::default(),
        )
        .await
        .map_err(|e| e.to_string())?;
    let outcome = match tokio::time::timeout(Duration::from_secs(10), confirm).await {
        Ok(Ok(c)) if c.is_ack() => Ok(()),
        Ok(Ok(_)) => Err("nacked".to_owned()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("no confirm within 10 s".to_owned()),
    };
    if ch.status().connected() {
        let _ = ch.close(200, "done".into()).await;
    }
    outcome
}

fn refused<T>(outcome: &Result<T, String>) -> bool {
    matches!(outcome, Err(e) if e.contains("ACCESS_REFUSED"))
}

/// What an operation on its own fresh channel answered (`Err` with the broker's words).
async fn on_channel<F, Fut, T>(conn: &Connection, op: F) -> Result<T, String>
where
    F: FnOnce(Channel) -> Fut,
    Fut: std::future::Future<Output = Result<T, lapin::Error>>,
{
    let ch = conn.create_channel().await.map_err(|e| e.to_string())?;
    op(ch).await.map_err(|e| e.to_string())
}

/// Declares `exchange` (durable, as the bus does) on a fresh channel, passively or for real.
async fn declare_exchange(
    conn: &Connection,
    exchange: &str,
    kind: ExchangeKind,
    passive: bool,
) -> Result<(), String> {
    on_channel(conn, |ch| async move {
        ch.exchange_declare(
            exchange.into(),
            kind,
            ExchangeDeclareOptions {
                passive,
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
    })
    .await
}

#[tokio::test]
async fn every_identity_publishes_exactly_its_own_types() -> anyhow::Result<()> {
    let ids = Identities::apply()?;

    // dunning: its own commands and events, and the notification request several services send
    let dunning = ids.connect("dunning").await?;
    for own in [
        "dunning.fee.assessed.v1",
        "dunning.write_off.approved.v1",
        "notifications.notification.requested.v1",
    ] {
        let got = publish(&dunning, EXCHANGE, own).await;
        assert_eq!(got, Ok(()), "dunning publishing {own}");
    }
    for foreign in ["invoicing.claim.opened.v1", "bank.payment.received.v1"] {
        let got = publish(&dunning, EXCHANGE, foreign).await;
        assert!(
            refused(&got),
            "dunning publishing {foreign} must be refused, got {got:?}"
        );
    }

    // the billing systems: invoices yes, a write-off approval (an internal command) no; no dead
    // letters of their own, and they may not declare (or delete) the exchange
    let billing = ids.connect("billing").await?;
    assert_eq!(
        publish(&billing, EXCHANGE, "billing.invoice.issued.v1").await,
        Ok(())
    );
    let got = publish(&billing, EXCHANGE, "dunning.write_off.approved.v1").await;
    assert!(
        refused(&got),
        "billing publishing dunning.write_off.approved.v1 must be refused, got {got:?}"
    );
    let got = publish(&billing, "restance.dead", "restance.invoicing.dead").await;
    assert!(refused(&got), "billing writing a dead letter: {got:?}");
    let got = on_channel(&billing, |ch| async move {
        ch.exchange_declare(
            EXCHANGE.into(),
            ExchangeKind::Topic,
            ExchangeDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
    })
    .await;
    assert!(refused(&got), "billing declaring the exchange: {got:?}");

    // no identity may delete or redeclare the exchanges (none has configure on them): the bus
    // declares them passively, which needs no permission (the services still start on their
    // identities: the_system_runs_with_one_identity_per_party)
    let mut wrong = Vec::new();
    for name in ids.table.keys() {
        let conn = ids.connect(name).await?;
        for (exchange, kind) in [
            (EXCHANGE, ExchangeKind::Topic),
            ("restance.dead", ExchangeKind::Direct),
        ] {
            let passive = declare_exchange(&conn, exchange, kind.clone(), true).await;
            if passive.is_err() {
                wrong.push(format!(
                    "{name} declaring {exchange} passively: {passive:?}"
                ));
            }
            let active = declare_exchange(&conn, exchange, kind, false).await;
            if !refused(&active) {
                wrong.push(format!("{name} redeclaring {exchange}: {active:?}"));
            }
            let deleted = on_channel(&conn, |ch| async move {
                ch.exchange_delete(exchange.into(), ExchangeDeleteOptions::default())
                    .await
            })
            .await;
            if !refused(&deleted) {
                wrong.push(format!("{name} deleting {exchange}: {deleted:?}"));
            }
        }
        let _ = conn.close(200, "done".into()).await;
    }
    assert!(
        wrong.is_empty(),
        "the exchanges are not safe from the identities:\n{}",
        wrong.join("\n")
    );
    // …and both are still there, with nothing lost: an identity still publishes (below)
    let guest = Connection::connect(
        &format!("amqp://guest:guest@127.0.0.1:5672/{}", ids.vhost),
        ConnectionProperties::default(),
    )
    .await?;
    for (exchange, kind) in [
        (EXCHANGE, ExchangeKind::Topic),
        ("restance.dead", ExchangeKind::Direct),
    ] {
        let got = declare_exchange(&guest, exchange, kind, true).await;
        assert_eq!(got, Ok(()), "{exchange} after the attempts");
    }
    let _ = guest.close(200, "done".into()).await;

    // every identity against every type of the contract: the broker's answer is the table's
    let mut wrong = Vec::new();
    for (name, identity) in &ids.table {
        let conn = ids.connect(name).await?;
        for ty in restance_contracts::known_types() {
            let got = publish(&conn, EXCHANGE, ty).await;
            let allowed = identity.publishes.iter().any(|t| t == ty);
            match (&got, allowed) {
                (Ok(()), true) => {}
                (Err(_), false) if refused(&got) => {}
                _ => wrong.push(format!("{name} {ty}: allowed {allowed}, broker {got:?}")),
            }
        }
        let _ = conn.close(200, "done".into()).await;
    }
    assert!(
        wrong.is_empty(),
        "publishing disagrees with identities.toml:\n{}",
        wrong.join("\n")
    );
    // …and the table is no wide-open one: nobody but the operator publishes another's types
    for (name, identity) in &ids.table {
        if identity.role == "operator" {
            continue;
        }
        assert!(
            // dunning, the widest, publishes 14 (issue 22 added the distraint and the campaign)
            identity.publishes.len() <= 16,
            "{name} publishes {} types",
            identity.publishes.len()
        );
    }
    Ok(())
}

/// A queue of the test's own on the vhost (guest, the `--observer`) bound to every key: what the
/// identities publish, read with basic.get.
struct Probe {
    _conn: Connection,
    ch: Channel,
    queue: String,
}

impl Probe {
    async fn start(ids: &Identities) -> anyhow::Result<Self> {
        let url = format!("amqp://guest:guest@127.0.0.1:5672/{}", ids.vhost);
        let conn = Connection::connect(&url, ConnectionProperties::default()).await?;
        let ch = conn.create_channel().await?;
        let q = ch
            .queue_declare(
                "".into(),
                QueueDeclareOptions {
                    exclusive: true,
                    auto_delete: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await?;
        ch.queue_bind(
            q.name().clone(),
            EXCHANGE.into(),
            "#".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
        Ok(Self {
            queue: q.name().to_string(),
            _conn: conn,
            ch,
        })
    }

    /// Waits until a message of type `ty` was published; returns its body.
    async fn wait_for(&self, ty: &str) -> anyhow::Result<Value> {
        let deadline = tokio::time::Instant::now() + T;
        let mut seen = BTreeSet::new();
        loop {
            match self
                .ch
                .basic_get(self.queue.as_str().into(), BasicGetOptions { no_ack: true })
                .await?
            {
                Some(m) if m.delivery.routing_key.as_str() == ty => {
                    return Ok(serde_json::from_slice(&m.delivery.data)?);
                }
                Some(m) => {
                    seen.insert(m.delivery.routing_key.to_string());
                }
                None => {
                    anyhow::ensure!(
                        tokio::time::Instant::now() < deadline,
                        "no {ty} within {T:?}; seen {seen:?}"
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

/// Waits until the service's `/readyz` answers 200 (plain HTTP on loopback, no client library).
async fn wait_ready(svc: &ServiceProcess) -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = svc
        .base_url
        .strip_prefix("http://")
        .unwrap_or(&svc.base_url)
        .to_owned();
    let deadline = tokio::time::Instant::now() + T;
    loop {
        if let Ok(mut stream) = tokio::net::TcpStream::connect(&addr).await {
            let request =
                format!("GET /readyz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
            let mut answer = Vec::new();
            if stream.write_all(request.as_bytes()).await.is_ok()
                && stream.read_to_end(&mut answer).await.is_ok()
                && answer.get(9..12) == Some(&b"200"[..])
            {
                return Ok(());
            }
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "not ready within {T:?}; log:\n{}",
            svc.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_system_runs_with_one_identity_per_party() -> anyhow::Result<()> {
    let ids = Identities::apply()?;
    let probe = Probe::start(&ids).await?;
    let documents = std::env::temp_dir().join(format!("restance-ids-{}", ids.prefix));
    std::fs::create_dir_all(&documents)?;
    let documents_dir = documents.display().to_string();

    // every service on its own identity: ready means it declared and bound its queues (and
    // dead-letter queue), consumes, and its publisher found the exchanges (passively: no
    // identity has configure on them)
    let services = [
        ("invoicing", "restance-invoicing"),
        ("dunning", "restance-dunning"),
        ("agreements", "restance-agreements"),
        ("notifications", "restance-notifications"),
        ("reporting", "restance-reporting"),
        ("guarantee", "restance-guarantee"),
        ("counselling", "restance-counselling"),
    ];
    let mut dbs = Vec::new();
    let mut running = Vec::new();
    for (name, bin) in services {
        let db = TestDatabase::sqlite()?;
        let url = ids.url(name);
        let svc = ServiceProcess::spawn(
            bin,
            &[
                ("RESTANCE__BUS__URL", url.as_str()),
                ("RESTANCE__BUS__EXCHANGE", EXCHANGE),
                ("RESTANCE__DATABASE__URL", db.url.as_str()),
                ("RESTANCE__DOCUMENTS__DIR", documents_dir.as_str()),
                ("RESTANCE__BUS__BATCH_LINGER_MS", "5"),
                ("RESTANCE__BUS__RELAY_POLL_MS", "50"),
            ],
        )
        .await?;
        dbs.push(db);
        running.push((name, svc));
    }
    for (name, svc) in &running {
        wait_ready(svc)
            .await
            .map_err(|e| anyhow::anyhow!("{name} on its own identity: {e}"))?;
    }

    // a billing system's invoice becomes a claim: invoicing publishes under its identity
    let billing = ids.connect("billing").await?;
    let id = uuid::Uuid::new_v4().simple().to_string();
    let good = invoice(
        &format!("good-{id}"),
        &format!("INV-{id}"),
        "D-IDS-1",
        "100.00",
    );
    let mut bad = invoice(
        &format!("bad-{id}"),
        &format!("BAD-{id}"),
        "D-IDS-2",
        "100.00",
    );
    bad["data"]["amount"] = Value::from("not an amount");
    for envelope in [&good, &bad] {
        let ch = billing.create_channel().await?;
        ch.confirm_select(ConfirmSelectOptions::default()).await?;
        let confirm = ch
            .basic_publish(
                EXCHANGE.into(),
                "billing.invoice.issued.v1".into(),
                BasicPublishOptions::default(),
                &serde_json::to_vec(envelope)?,
                BasicProperties::default().with_delivery_mode(2),
            )
            .await?
            .await?;
        assert!(confirm.is_ack(), "billing's invoice was not confirmed");
    }
    let opened = probe.wait_for("invoicing.claim.opened.v1").await?;
    assert_eq!(opened["source"], "/restance/invoicing");
    // …and the bad one is dead-lettered (restance.dead) and reported (the rejected event)
    let rejected = probe.wait_for("invoicing.message.rejected.v1").await?;
    assert_eq!(rejected["source"], "/restance/invoicing");

    // a self-service form's application becomes a counselling case: counselling consumes it and
    // publishes under its identity
    let selfservice = ids.connect("selfservice").await?;
    let application = restance_testkit::envelope(
        "/selfservice/web",
        &format!("app-{id}"),
        "selfservice.counselling.applied.v1",
        serde_json::json!({"application_id":format!("A-{id}"),"municipality":"4204",
            "channel":"web","applied_date":"2026-09-01",
            "applicant":{"id":format!("P-{id}"),"national_id":"07038510007","name":"Ola Nordmann",
                "address":{"lines":["Markens gate 12"],"postcode":"4611","city":"Kristiansand",
                    "country":"NO"},
                "language":"nb","digital_post":true,"address_protection":"none"},
            "answers":{"income_reported":true,"household_adults":1,"household_children":0,
                "debt_register_consent":true}}),
    );
    let ch = selfservice.create_channel().await?;
    ch.confirm_select(ConfirmSelectOptions::default()).await?;
    let confirm = ch
        .basic_publish(
            EXCHANGE.into(),
            "selfservice.counselling.applied.v1".into(),
            BasicPublishOptions::default(),
            &serde_json::to_vec(&application)?,
            BasicProperties::default().with_delivery_mode(2),
        )
        .await?
        .await?;
    assert!(
        confirm.is_ack(),
        "self-service's application was not confirmed"
    );
    let opened = probe.wait_for("counselling.case.opened.v1").await?;
    assert_eq!(opened["source"], "/restance/counselling");
    assert_eq!(opened["data"]["application_id"], format!("A-{id}"));

    // the day-open job opens a day with its identity (the CronJob's command)
    let today = chrono::Local::now().date_naive().to_string();
    let out = tokio::process::Command::new(binary("restance")?)
        .args(["day", "open", "--date", &today, "--force"])
        .current_dir(root())
        .env("RESTANCE__BUS__URL", ids.url("day-open"))
        .env("RESTANCE__BUS__EXCHANGE", EXCHANGE)
        .output()
        .await?;
    assert!(
        out.status.success(),
        "restance day open as day-open: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    probe.wait_for("calendar.day.opened.v1").await?;

    // the operator lists invoicing's dead letters (and leaves them there)
    let out = tokio::process::Command::new(binary("restance")?)
        .args(["dead", "list", "--service", "invoicing"])
        .current_dir(root())
        .env("RESTANCE__BUS__URL", ids.url("operator"))
        .env("RESTANCE__BUS__EXCHANGE", EXCHANGE)
        .output()
        .await?;
    let listing = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && listing.contains("billing.invoice.issued.v1"),
        "restance dead list as operator: {listing}{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // what a service's identity may not do with the queues
    let dunning = ids.connect("dunning").await?;
    let got = on_channel(&dunning, |ch| async move {
        ch.basic_get("restance.invoicing".into(), BasicGetOptions::default())
            .await
            .map(|_| ())
    })
    .await;
    assert!(refused(&got), "dunning reading invoicing's queue: {got:?}");
    let got = on_channel(&dunning, |ch| async move {
        ch.basic_consume(
            "restance.invoicing.dead".into(),
            "spy".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .map(|_| ())
    })
    .await;
    assert!(
        refused(&got),
        "dunning consuming invoicing's dead letters: {got:?}"
    );
    let got = on_channel(&dunning, |ch| async move {
        ch.queue_bind(
            "restance.dunning".into(),
            EXCHANGE.into(),
            "bank.payment.received.v1".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
    })
    .await;
    assert!(
        refused(&got),
        "dunning binding its queue to bank payments: {got:?}"
    );
    // the transfer with the debtor's details is the collection authority's alone (issue 18,
    // item 6): the services that act on a transfer may bind only the event without them
    for name in ["invoicing", "agreements", "reporting"] {
        let conn = ids.connect(name).await?;
        let queue = format!("restance.{name}");
        let got = on_channel(&conn, |ch| async move {
            ch.queue_bind(
                queue.as_str().into(),
                EXCHANGE.into(),
                "dunning.claim.transferred.v1".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
        })
        .await;
        assert!(
            refused(&got),
            "{name} binding its queue to dunning.claim.transferred.v1: {got:?}"
        );
        let _ = conn.close(200, "done".into()).await;
    }
    let got = on_channel(&dunning, |ch| async move {
        ch.queue_declare(
            "restance.spy".into(),
            QueueDeclareOptions::default(),
            FieldTable::default(),
        )
        .await
        .map(|_| ())
    })
    .await;
    assert!(
        refused(&got),
        "dunning declaring a queue outside its names: {got:?}"
    );
    // the bank feed reads nothing
    let bank = ids.connect("bank").await?;
    let got = on_channel(&bank, |ch| async move {
        ch.basic_get("restance.invoicing".into(), BasicGetOptions::default())
            .await
            .map(|_| ())
    })
    .await;
    assert!(refused(&got), "the bank feed reading a queue: {got:?}");

    for (name, mut svc) in running {
        let clean = svc.terminate(T).await?;
        assert!(clean, "{name} did not stop cleanly:\n{}", svc.log_text());
    }
    drop(dbs);
    let _ = std::fs::remove_dir_all(&documents);
    Ok(())
}

/// The collection authority's intake (`collection-intake`, role consumer; issue 18, item 6): its
/// queue is in the definitions, bound to the transfer only, so a transfer published before the
/// intake ever connected waits there; the intake reads it, and publishes nothing, binds nothing,
/// reads no other queue.
#[tokio::test]
async fn the_collection_intake_reads_the_transfers_and_nothing_else() -> anyhow::Result<()> {
    const QUEUE: &str = "restance.collection-intake";
    const TRANSFER: &str = "dunning.claim.transferred.v1";
    let ids = Identities::apply()?;
    let intake = ids.identity("collection-intake");
    assert_eq!(intake.role, "consumer");
    assert!(intake.publishes.is_empty(), "{:?}", intake.publishes);

    // dunning transfers a claim (and hands it over) before the intake ever connected
    let dunning = ids.connect("dunning").await?;
    for ty in [TRANSFER, "dunning.claim.handed_over.v1"] {
        assert_eq!(
            publish(&dunning, EXCHANGE, ty).await,
            Ok(()),
            "dunning {ty}"
        );
    }

    // the intake reads the transfer from its queue — and only the transfer arrived there
    let conn = ids.connect("collection-intake").await?;
    let ch = conn.create_channel().await?;
    let got = ch
        .basic_get(QUEUE.into(), BasicGetOptions { no_ack: false })
        .await?
        .ok_or_else(|| anyhow::anyhow!("no transfer in {QUEUE}"))?;
    assert_eq!(got.delivery.routing_key.as_str(), TRANSFER);
    got.delivery
        .acker
        .ack(lapin::options::BasicAckOptions::default())
        .await?;
    let more = ch
        .basic_get(QUEUE.into(), BasicGetOptions { no_ack: true })
        .await?;
    assert!(
        more.is_none(),
        "{QUEUE} holds more than the transfer: {:?}",
        more.map(|m| m.delivery.routing_key.to_string())
    );
    // …and may look at its own dead letters
    let got = on_channel(&conn, |ch| async move {
        ch.basic_get(
            "restance.collection-intake.dead".into(),
            BasicGetOptions { no_ack: false },
        )
        .await
        .map(|m| m.is_none())
    })
    .await;
    assert_eq!(got, Ok(true), "the intake reading its dead-letter queue");

    // it publishes no type at all, not even the transfer, nor a dead letter
    let mut published = Vec::new();
    for ty in restance_contracts::known_types() {
        let got = publish(&conn, EXCHANGE, ty).await;
        if !refused(&got) {
            published.push(format!("{ty}: {got:?}"));
        }
    }
    assert!(published.is_empty(), "the intake published {published:?}");
    let got = publish(&conn, "restance.dead", "restance.collection-intake.dead").await;
    assert!(refused(&got), "the intake writing a dead letter: {got:?}");

    // it binds its queue to no other type (nor again to the transfer), and declares nothing
    for key in [
        "dunning.claim.handed_over.v1",
        "invoicing.debtor.updated.v1",
        "#",
        TRANSFER,
    ] {
        let got = on_channel(&conn, |ch| async move {
            ch.queue_bind(
                QUEUE.into(),
                EXCHANGE.into(),
                key.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
        })
        .await;
        assert!(
            refused(&got),
            "the intake binding its queue to {key}: {got:?}"
        );
    }
    let got = on_channel(&conn, |ch| async move {
        ch.queue_declare(
            "restance.collection-intake.spy".into(),
            QueueDeclareOptions::default(),
            FieldTable::default(),
        )
        .await
        .map(|_| ())
    })
    .await;
    assert!(refused(&got), "the intake declaring a queue: {got:?}");
    // it reads no other queue (a service's, a service's dead letters)
    for queue in ["restance.invoicing", "restance.dunning.dead"] {
        let got = on_channel(&conn, |ch| async move {
            ch.basic_get(queue.into(), BasicGetOptions::default())
                .await
                .map(|_| ())
        })
        .await;
        assert!(refused(&got), "the intake reading {queue}: {got:?}");
    }
    // and the operator neither forges a transfer (above: its types) nor reads the intake's
    // dead letters, which hold the debtor's details
    let operator = ids.connect("operator").await?;
    assert!(refused(&publish(&operator, EXCHANGE, TRANSFER).await));
    let got = on_channel(&operator, |ch| async move {
        ch.basic_get(
            "restance.collection-intake.dead".into(),
            BasicGetOptions::default(),
        )
        .await
        .map(|_| ())
    })
    .await;
    assert!(
        refused(&got),
        "the operator reading the intake's dead letters: {got:?}"
    );
    let _ = conn.close(200, "done".into()).await;
    Ok(())
}
