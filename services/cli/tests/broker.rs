//! The `restance` binary against the local RabbitMQ (127.0.0.1:5672, guest/guest; override with
//! RESTANCE_TEST_AMQP_URL). Each test works on its own exchange (`test-cli-<uuid>`, given to the
//! binary as RESTANCE__BUS__EXCHANGE) and deletes its queues and exchanges at the end.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use anyhow::{Context, ensure};
use lapin::options::{
    BasicAckOptions, BasicGetOptions, BasicNackOptions, ExchangeDeleteOptions, QueueBindOptions,
    QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{Channel, Connection, ConnectionProperties};
use restance_bus::topology::{ORIGINAL_KEY_HEADER, ORIGINAL_QUEUE_HEADER, REASON_HEADER};
use restance_bus::{BusSettings, ConfirmedPublisher, OutgoingMessage, Readiness, Topology};
use restance_cli::dead::REPLAYED_FROM_HEADER;
use serde_json::Value;

const INVOICE: &str = "billing.invoice.issued.v1";

fn amqp_url() -> String {
    std::env::var("RESTANCE_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

fn unique_exchange() -> String {
    format!("test-cli-{}", uuid::Uuid::new_v4().simple())
}

fn shipped_config() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/restance.toml")
}

/// Runs the built `restance` against `exchange`, from a directory without a config file, so
/// that only RESTANCE_CONFIG and the environment configure it.
async fn restance(exchange: &str, args: &[&str]) -> anyhow::Result<Output> {
    let dir = tempfile::tempdir()?;
    tokio::process::Command::new(env!("CARGO_BIN_EXE_restance"))
        .args(args)
        .current_dir(dir.path())
        .env("RESTANCE_CONFIG", shipped_config())
        .env("RESTANCE__BUS__URL", amqp_url())
        .env("RESTANCE__BUS__EXCHANGE", exchange)
        .output()
        .await
        .context("running restance")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

async fn channel() -> anyhow::Result<(Connection, Channel)> {
    let conn = Connection::connect(&amqp_url(), ConnectionProperties::default())
        .await
        .context("cannot reach RabbitMQ: is it running? `just services` starts it")?;
    let ch = conn.create_channel().await?;
    Ok((conn, ch))
}

/// A plain queue that records what is published with `key` on `exchange`.
async fn probe(ch: &Channel, exchange: &str, name: &str, key: &str) -> anyhow::Result<()> {
    Topology::new(exchange).declare_exchanges(ch).await?;
    ch.queue_declare(
        name.into(),
        QueueDeclareOptions::default(),
        FieldTable::default(),
    )
    .await?;
    ch.queue_bind(
        name.into(),
        exchange.into(),
        key.into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await?;
    Ok(())
}

async fn count(ch: &Channel, queue: &str) -> anyhow::Result<u32> {
    let passive = QueueDeclareOptions {
        passive: true,
        ..Default::default()
    };
    Ok(ch
        .queue_declare(queue.into(), passive, FieldTable::default())
        .await?
        .message_count())
}

/// Waits until `queue` holds `n` messages (dead-lettering by the broker is asynchronous).
async fn wait_for_count(ch: &Channel, queue: &str, n: u32) -> anyhow::Result<()> {
    let mut last = 0;
    for _ in 0..100 {
        last = count(ch, queue).await?;
        if last == n {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("{queue} holds {last} messages, expected {n}")
}

/// A message taken from a queue.
struct Taken {
    message_id: String,
    /// The string headers.
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

/// Takes every message of `queue` (acked).
async fn drain(ch: &Channel, queue: &str) -> anyhow::Result<Vec<Taken>> {
    let mut out = Vec::new();
    while let Some(got) = ch
        .basic_get(queue.into(), BasicGetOptions::default())
        .await?
    {
        let d = got.delivery;
        let id = d
            .properties
            .message_id()
            .as_ref()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default();
        let mut headers = BTreeMap::new();
        if let Some(table) = d.properties.headers() {
            for (k, v) in table.inner() {
                if let lapin::types::AMQPValue::LongString(s) = v {
                    headers.insert(
                        k.as_str().to_owned(),
                        String::from_utf8_lossy(s.as_bytes()).into_owned(),
                    );
                }
            }
        }
        d.acker.ack(BasicAckOptions::default()).await?;
        out.push(Taken {
            message_id: id,
            headers,
            body: d.data,
        });
    }
    Ok(out)
}

async fn cleanup(exchange: &str, queues: &[String]) {
    let Ok((conn, ch)) = channel().await else {
        return;
    };
    for q in queues {
        let _ = ch
            .queue_delete(q.as_str().into(), QueueDeleteOptions::default())
            .await;
    }
    let topology = Topology::new(exchange);
    for ex in [topology.exchange().to_owned(), topology.dead_exchange()] {
        let _ = ch
            .exchange_delete(ex.as_str().into(), ExchangeDeleteOptions::default())
            .await;
    }
    let _ = conn.close(200, "test done".into()).await;
}

fn envelope_ids(lines: &str) -> BTreeSet<String> {
    lines
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["id"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn publish_delivers_every_sample_invoice_with_confirms() {
    let exchange = unique_exchange();
    let queue = format!("{exchange}.probe");
    let result = publish_story(&exchange, &queue).await;
    cleanup(&exchange, std::slice::from_ref(&queue)).await;
    result.expect("publish story");
}

async fn publish_story(exchange: &str, queue: &str) -> anyhow::Result<()> {
    let (_conn, ch) = channel().await?;
    probe(&ch, exchange, queue, INVOICE).await?;

    let sample = restance(
        exchange,
        &[
            "sample",
            "invoices",
            "--count",
            "100",
            "--seed",
            "1",
            "--start-date",
            "2026-12-01",
        ],
    )
    .await?;
    ensure!(sample.status.success(), "sample: {}", stderr(&sample));
    let lines = stdout(&sample);
    ensure!(lines.lines().count() == 100);
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("invoices.jsonl");
    // Comments and blank lines are skipped.
    std::fs::write(&file, format!("# December invoices\n\n{lines}"))?;

    let publish = restance(exchange, &["publish", file.to_str().unwrap_or_default()]).await?;
    ensure!(
        publish.status.success(),
        "publish: {} {}",
        stdout(&publish),
        stderr(&publish)
    );
    ensure!(
        stdout(&publish).contains(&format!(
            "published 100 of 100 message(s) to exchange {exchange}"
        )),
        "{}",
        stdout(&publish)
    );
    ensure!(count(&ch, queue).await? == 100, "100 arrive");
    let arrived: BTreeSet<String> = drain(&ch, queue)
        .await?
        .into_iter()
        .map(|taken| {
            let v: Value = serde_json::from_slice(&taken.body).unwrap_or_default();
            v["id"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    ensure!(
        arrived == envelope_ids(&lines),
        "exactly the sample's envelopes"
    );

    // Bad input: reported by line number and not published, unless asked for.
    let bad = restance(
        exchange,
        &["sample", "bad", "--seed", "2", "--start-date", "2026-12-01"],
    )
    .await?;
    ensure!(bad.status.success(), "sample bad: {}", stderr(&bad));
    let bad_lines = stdout(&bad);
    let bad_count = bad_lines.lines().filter(|l| !l.starts_with('#')).count();
    let mixed = dir.path().join("mixed.jsonl");
    let first_two: String = lines.lines().take(2).map(|l| format!("{l}\n")).collect();
    std::fs::write(&mixed, format!("{first_two}{bad_lines}"))?;
    let refused = restance(exchange, &["publish", mixed.to_str().unwrap_or_default()]).await?;
    ensure!(!refused.status.success(), "invalid lines make the run fail");
    let err = stderr(&refused);
    ensure!(
        err.contains("line 4: not JSON") && err.contains("line 6: not a CloudEvent"),
        "{err}"
    );
    // Config-level problems are the services' to find: those lines pass the contract.
    let contract_bad = bad_lines
        .lines()
        .filter(|l| l.starts_with("# ") && !l.contains("(config)"))
        .count();
    ensure!(
        stdout(&refused).contains(&format!(
            "published {} of {} message(s)",
            2 + bad_count - contract_bad,
            2 + bad_count
        )),
        "{}",
        stdout(&refused)
    );
    ensure!(count(&ch, queue).await? == u32::try_from(2 + bad_count - contract_bad)?);
    drain(&ch, queue).await?;

    let anyway = restance(
        exchange,
        &[
            "publish",
            "--allow-invalid",
            "--routing-key",
            INVOICE,
            mixed.to_str().unwrap_or_default(),
        ],
    )
    .await?;
    ensure!(anyway.status.success(), "{}", stderr(&anyway));
    ensure!(count(&ch, queue).await? == u32::try_from(2 + bad_count)?);

    // A message no queue is bound for is an error, not a silent drop.
    let payment = dir.path().join("payment.jsonl");
    let with_payments = restance(
        exchange,
        &[
            "sample",
            "invoices",
            "--count",
            "20",
            "--seed",
            "3",
            "--with-payments",
            "1",
            "--start-date",
            "2026-12-01",
        ],
    )
    .await?;
    let payments: String = stdout(&with_payments)
        .lines()
        .filter(|l| l.contains("bank.payment.received.v1"))
        .map(|l| format!("{l}\n"))
        .collect();
    ensure!(!payments.is_empty());
    std::fs::write(&payment, payments)?;
    let unroutable = restance(exchange, &["publish", payment.to_str().unwrap_or_default()]).await?;
    ensure!(!unroutable.status.success());
    ensure!(
        stderr(&unroutable).contains("no queue is bound to bank.payment.received.v1"),
        "{}",
        stderr(&unroutable)
    );
    Ok(())
}

#[tokio::test]
async fn day_open_publishes_the_date_once_per_id() {
    let exchange = unique_exchange();
    let queue = format!("{exchange}.probe");
    let result = day_story(&exchange, &queue).await;
    cleanup(&exchange, std::slice::from_ref(&queue)).await;
    result.expect("day story");
}

async fn day_story(exchange: &str, queue: &str) -> anyhow::Result<()> {
    let (_conn, ch) = channel().await?;
    let unbound = restance(exchange, &["day", "open", "--date", "2026-12-16"]).await?;
    ensure!(!unbound.status.success(), "nobody listens: an error");

    probe(&ch, exchange, queue, "calendar.day.opened.v1").await?;
    let opened = restance(exchange, &["day", "open", "--date", "2026-12-16"]).await?;
    ensure!(opened.status.success(), "{}", stderr(&opened));
    ensure!(stdout(&opened).contains("opened business day 2026-12-16"));
    let got = drain(&ch, queue).await?;
    ensure!(got.len() == 1);
    let v: Value = serde_json::from_slice(&got[0].body)?;
    ensure!(v["id"] == "day-2026-12-16" && v["source"] == "/restance/calendar");
    ensure!(v["data"]["date"] == "2026-12-16");
    // a new trace, whose id the command prints for the operator to follow
    let traceparent = v["traceparent"].as_str().unwrap_or_default();
    let parsed = restance_contracts::TraceParent::parse(traceparent);
    ensure!(parsed.is_some(), "a W3C traceparent: {v}");
    let trace_id = parsed.map(|t| t.trace_id_hex()).unwrap_or_default();
    ensure!(
        stdout(&opened).contains(&format!("trace {trace_id}")),
        "{}",
        stdout(&opened)
    );
    ensure!(
        stdout(&opened).contains(&format!(
            "opening business day 2026-12-16 (Wed) on exchange {exchange} at amqp://guest:***@"
        )),
        "says what it is about to do: {}",
        stdout(&opened)
    );

    // a Sunday is refused without a word on the bus, and the error says what to do
    let sunday = restance(exchange, &["day", "open", "--date", "2026-12-06"]).await?;
    ensure!(!sunday.status.success(), "a Sunday is refused");
    ensure!(
        stderr(&sunday).contains("2026-12-06 (Sun) is not a business day in 0746")
            && stderr(&sunday).contains("Pass --force"),
        "{}",
        stderr(&sunday)
    );
    ensure!(drain(&ch, queue).await?.is_empty(), "nothing published");

    // the CronJob's way: skip it quietly, exit 0
    let skipped = restance(
        exchange,
        &["day", "open", "--date", "2026-12-06", "--if-business-day"],
    )
    .await?;
    ensure!(skipped.status.success(), "{}", stderr(&skipped));
    ensure!(stdout(&skipped).contains("not opened (--if-business-day)"));
    ensure!(drain(&ch, queue).await?.is_empty(), "nothing published");

    // an operator who means it
    let forced = restance(
        exchange,
        &["day", "open", "--date", "2026-12-06", "--force"],
    )
    .await?;
    ensure!(forced.status.success(), "{}", stderr(&forced));
    ensure!(stdout(&forced).contains("opening it anyway (--force)"));
    let got = drain(&ch, queue).await?;
    ensure!(got.len() == 1, "the forced day is published once");
    Ok(())
}

#[tokio::test]
async fn dead_letters_are_listed_without_disturbing_them_and_replayed_with_confirms() {
    let exchange = unique_exchange();
    let topology = Topology::new(exchange.clone());
    let queues = vec![topology.queue("x", None), topology.dead_queue("x")];
    let result = dead_story(&exchange, &topology).await;
    cleanup(&exchange, &queues).await;
    result.expect("dead-letter story");
}

async fn dead_story(exchange: &str, topology: &Topology) -> anyhow::Result<()> {
    let (conn, ch) = channel().await?;
    // The queues a service "x" consuming invoices would declare.
    let main = topology
        .declare_service_queue(&conn, "x", None, &[INVOICE.to_owned()], 5)
        .await?;
    let dead = topology.dead_queue("x");

    // Two dead letters as a service writes them (reason and original key in headers) …
    let sample = restance(
        exchange,
        &[
            "sample",
            "invoices",
            "--count",
            "3",
            "--seed",
            "4",
            "--start-date",
            "2026-12-01",
        ],
    )
    .await?;
    let bodies: Vec<String> = stdout(&sample).lines().map(str::to_owned).collect();
    let ids: Vec<String> = bodies
        .iter()
        .map(|b| {
            serde_json::from_str::<Value>(b)
                .map(|v| v["id"].as_str().unwrap_or_default().to_owned())
        })
        .collect::<Result<_, _>>()?;
    let settings = BusSettings {
        url: amqp_url(),
        exchange: exchange.to_owned(),
        ..BusSettings::default()
    };
    let publisher = ConfirmedPublisher::new(&settings, "cli-test", Readiness::new());
    let letters: Vec<OutgoingMessage> = bodies[..2]
        .iter()
        .zip(&ids)
        .map(|(body, id)| OutgoingMessage {
            exchange: Some(topology.dead_exchange()),
            routing_key: dead.clone(),
            message_id: id.clone(),
            message_type: INVOICE.to_owned(),
            headers: BTreeMap::from([
                (
                    REASON_HEADER.to_owned(),
                    "invalid data: data.office: is not an office of municipality 0746".to_owned(),
                ),
                (ORIGINAL_KEY_HEADER.to_owned(), INVOICE.to_owned()),
                (ORIGINAL_QUEUE_HEADER.to_owned(), main.clone()),
            ]),
            body: body.as_bytes().to_vec(),
            mandatory: true,
        })
        .collect();
    publisher.publish_all(&letters).await?;
    publisher.close().await;
    // … and one the broker dead-lettered itself (x-death, no reason header).
    let mut third = OutgoingMessage::event(INVOICE, &ids[2], bodies[2].as_bytes().to_vec());
    third.exchange = None;
    let publisher = ConfirmedPublisher::new(&settings, "cli-test", Readiness::new());
    publisher.publish_all(&[third]).await?;
    publisher.close().await;
    let got = ch
        .basic_get(main.as_str().into(), BasicGetOptions::default())
        .await?
        .context("the third message is in the service queue")?;
    got.delivery
        .acker
        .nack(BasicNackOptions {
            requeue: false,
            ..Default::default()
        })
        .await?;
    wait_for_count(&ch, &dead, 3).await?;

    // Listing shows all three and leaves them where they were, however often it runs.
    for _ in 0..3 {
        let list = restance(exchange, &["dead", "list", "--service", "x"]).await?;
        ensure!(list.status.success(), "{}", stderr(&list));
        let out = stdout(&list);
        for id in &ids {
            ensure!(out.contains(id.as_str()), "{id} listed: {out}");
        }
        ensure!(
            out.contains("is not an office of municipality 0746"),
            "{out}"
        );
        ensure!(
            out.contains(&format!("broker: rejected in {main} (x-death)")),
            "{out}"
        );
        ensure!(
            out.matches(INVOICE).count() >= 6,
            "type and original key: {out}"
        );
        ensure!(
            out.contains(&format!("x: 3 dead letter(s) in {dead}")),
            "{out}"
        );
        ensure!(!out.contains("\"national_id\""), "bodies are never shown");
        // Nothing was taken: the returned messages are back (a quorum queue applies the
        // return asynchronously, hence the wait).
        wait_for_count(&ch, &dead, 3).await?;
    }
    let limited = restance(
        exchange,
        &["dead", "list", "--service", "x", "--limit", "1"],
    )
    .await?;
    ensure!(
        stdout(&limited).contains("first 1 shown"),
        "{}",
        stdout(&limited)
    );
    let every = restance(exchange, &["dead", "list"]).await?;
    ensure!(every.status.success(), "{}", stderr(&every));
    ensure!(
        stdout(&every).contains("invoicing: no dead queue"),
        "{}",
        stdout(&every)
    );

    // Replay one by id: it goes back to the service queue, the others stay dead.
    let one = restance(
        exchange,
        &["dead", "replay", "--service", "x", "--id", &ids[1]],
    )
    .await?;
    ensure!(one.status.success(), "{} {}", stdout(&one), stderr(&one));
    ensure!(
        stdout(&one).contains("replayed 1 message(s)"),
        "{}",
        stdout(&one)
    );
    wait_for_count(&ch, &dead, 2).await?;
    wait_for_count(&ch, &main, 1).await?;

    let missing = restance(
        exchange,
        &["dead", "replay", "--service", "x", "--id", "nope"],
    )
    .await?;
    ensure!(!missing.status.success());
    ensure!(stdout(&missing).contains("not in the dead queue: nope"));
    // An unknown id touches nothing.
    wait_for_count(&ch, &dead, 2).await?;

    // Replay the rest, the broker's dead letter by its x-death routing key.
    let all = restance(exchange, &["dead", "replay", "--service", "x", "--all"]).await?;
    ensure!(all.status.success(), "{} {}", stdout(&all), stderr(&all));
    ensure!(
        stdout(&all).contains("replayed 2 message(s)"),
        "{}",
        stdout(&all)
    );
    wait_for_count(&ch, &dead, 0).await?;
    wait_for_count(&ch, &main, 3).await?;
    let replayed = drain(&ch, &main).await?;
    let by_id: BTreeMap<&str, &Taken> = replayed
        .iter()
        .map(|t| (t.message_id.as_str(), t))
        .collect();
    for (id, body) in ids.iter().zip(&bodies) {
        let taken = by_id.get(id.as_str()).context("replayed")?;
        ensure!(
            taken.body == body.as_bytes(),
            "the body is replayed byte for byte"
        );
        ensure!(taken.headers.get(REPLAYED_FROM_HEADER) == Some(&dead));
        ensure!(
            !taken.headers.contains_key(REASON_HEADER),
            "a replay is a fresh delivery"
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_tap_catches_the_types_it_was_opened_for_and_prints_them_redacted() {
    let exchange = unique_exchange();
    let tap = format!("{exchange}.tap.demo");
    let result = tap_story(&exchange).await;
    cleanup(&exchange, std::slice::from_ref(&tap)).await;
    result.expect("tap story");
}

async fn tap_story(exchange: &str) -> anyhow::Result<()> {
    let missing = restance(exchange, &["tap", "read", "demo"]).await?;
    ensure!(!missing.status.success(), "no tap yet: an error");
    ensure!(
        stderr(&missing).contains("there is no tap demo"),
        "{}",
        stderr(&missing)
    );
    let opened = restance(
        exchange,
        &["tap", "open", "demo", "--key", "selfservice.counselling.#"],
    )
    .await?;
    ensure!(opened.status.success(), "{}", stderr(&opened));
    ensure!(stdout(&opened).contains(&format!("tap {exchange}.tap.demo")));

    let sample = restance(
        exchange,
        &[
            "sample",
            "counselling",
            "--count",
            "2",
            "--seed",
            "7",
            "--applied-date",
            "2026-12-04",
        ],
    )
    .await?;
    ensure!(sample.status.success(), "{}", stderr(&sample));
    let lines = stdout(&sample);
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("counselling.jsonl");
    std::fs::write(&file, &lines)?;
    let path = file.to_string_lossy().into_owned();
    let published = restance(exchange, &["publish", &path]).await?;
    ensure!(published.status.success(), "{}", stderr(&published));
    let read = restance(exchange, &["tap", "read", "demo", "--json"]).await?;
    ensure!(read.status.success(), "{}", stderr(&read));
    let events: Vec<Value> = stdout(&read)
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    ensure!(events.len() == 2, "{events:?}");
    ensure!(envelope_ids(&stdout(&read)) == envelope_ids(&lines));
    for e in &events {
        ensure!(e["type"] == "selfservice.counselling.applied.v1");
        ensure!(e["data"]["applicant"]["national_id"] == "(personal data)");
        ensure!(e["data"]["applicant"]["name"] == "(personal data)");
        ensure!(e["data"]["municipality"] == "4204");
    }
    let sent: Vec<Value> = lines
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    for s in &sent {
        let id = s["data"]["applicant"]["national_id"]
            .as_str()
            .unwrap_or_default();
        ensure!(
            !id.is_empty() && !stdout(&read).contains(id),
            "{id} printed"
        );
    }
    let again = restance(exchange, &["tap", "read", "demo"]).await?;
    ensure!(again.status.success(), "{}", stderr(&again));
    ensure!(stdout(&again).is_empty(), "read takes the events");
    ensure!(stderr(&again).contains("0 event(s) taken"));
    Ok(())
}
