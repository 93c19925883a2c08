//! The bus against the real RabbitMQ and PostgreSQL: confirms and returns, the relay, and the
//! consumer's promises (ack after commit, dedupe, poison isolation, dead letters with reasons).

use restance_bus::migration::InboxOutbox;
use restance_bus::{
    BatchHandler, BusSettings, ConfirmedPublisher, ConsumerRunner, Effects, HandlerError, Inbound,
    Outbox, OutboxRelay, Outcome, OutgoingMessage, PublishError, Readiness, Rejection,
    Subscription,
};
use restance_testkit::{
    BusProbe, TestDatabase, delete_test_topology, publish_raw, publish_replayed, take_all,
    unique_exchange,
};
use sea_orm::sea_query::{ColumnDef, Table};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, Statement};
use sea_orm_migration::{MigrationTrait, MigratorTrait};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

struct Migrator;
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(InboxOutbox)]
    }
}

fn settings(exchange: &str) -> BusSettings {
    BusSettings {
        exchange: exchange.to_owned(),
        batch_linger_ms: 5,
        relay_poll_ms: 50,
        // A short "not yet" budget (8 handlings, 3.55 s of pauses) so its test is fast.
        not_yet_attempts: 8,
        not_yet_first_pause_ms: 50,
        not_yet_max_pause_ms: 1000,
        ..BusSettings::default()
    }
}

async fn database() -> anyhow::Result<(TestDatabase, DatabaseConnection)> {
    let tdb = TestDatabase::postgres().await?;
    let db = Database::connect(&tdb.url).await?;
    Migrator::up(&db, None).await?;
    let seen = Table::create()
        .table("seen")
        .col(ColumnDef::new("n").big_integer().primary_key())
        .to_owned();
    db.execute(&seen).await?;
    Ok((tdb, db))
}

#[tokio::test]
async fn a_mandatory_message_that_no_queue_takes_fails_the_publish() -> anyhow::Result<()> {
    let exchange = unique_exchange();
    let publisher = ConfirmedPublisher::new(&settings(&exchange), "test", Readiness::new());
    let mut msg = OutgoingMessage::event("nobody.listens.here.v1", "m1", b"{}".to_vec());
    msg.mandatory = true;
    match publisher.publish_all(&[msg.clone()]).await {
        Err(PublishError::Returned { message_id, .. }) => assert_eq!(message_id, "m1"),
        other => panic!("expected a return, got {other:?}"),
    }
    // A non-mandatory event with no subscriber is fine (nobody may subscribe yet).
    msg.mandatory = false;
    publisher.publish_all(&[msg]).await?;
    publisher.close().await;
    delete_test_topology(&exchange, &[]).await;
    Ok(())
}

#[tokio::test]
async fn the_relay_publishes_the_outbox_in_order_and_empties_it() -> anyhow::Result<()> {
    let exchange = unique_exchange();
    let (tdb, db) = database().await?;
    let mut probe = BusProbe::start(&exchange).await?;
    let outbox = Outbox::new();
    let msgs: Vec<OutgoingMessage> = (0..2500)
        .map(|i| {
            OutgoingMessage::event(
                "test.thing.happened.v1",
                &format!("m{i}"),
                json!({"n": i}).to_string().into_bytes(),
            )
        })
        .collect();
    outbox.enqueue(&db, &msgs).await?;
    let readiness = Readiness::new();
    let publisher = Arc::new(ConfirmedPublisher::new(
        &settings(&exchange),
        "test",
        readiness.clone(),
    ));
    let relay = OutboxRelay::new(
        db.clone(),
        publisher,
        outbox.clone(),
        &settings(&exchange),
        readiness.clone(),
    );
    let cancel = CancellationToken::new();
    let task = tokio::spawn(relay.run(cancel.clone(), Duration::from_secs(5)));
    let seen = probe
        .wait_for("test.thing.happened.v1", 2500, Duration::from_secs(30))
        .await?;
    let order: Vec<i64> = seen.iter().map(|v| v["n"].as_i64().unwrap_or(-1)).collect();
    assert_eq!(
        order,
        (0..2500).collect::<Vec<_>>(),
        "published in outbox order"
    );
    assert!(readiness.report().broker_publish);
    cancel.cancel();
    task.await?;
    assert_eq!(Outbox::pending(&db).await?, 0);
    delete_test_topology(&exchange, &[]).await;
    tdb.drop_database().await;
    Ok(())
}

/// Issue 17 (`broker-restart-day`): a relay whose publish failed during a broker outage, and
/// whose rows then all went out through another replica's relay, found nothing to publish and
/// left its service unready for good. An idle relay now reconnects by itself.
#[tokio::test]
async fn an_idle_relay_whose_publisher_went_down_is_ready_again_without_rows_of_its_own()
-> anyhow::Result<()> {
    let exchange = unique_exchange();
    let (tdb, db) = database().await?;
    let readiness = Readiness::new();
    let publisher = Arc::new(ConfirmedPublisher::new(
        &settings(&exchange),
        "test",
        readiness.clone(),
    ));
    let relay = OutboxRelay::new(
        db.clone(),
        publisher.clone(),
        Outbox::new(),
        &settings(&exchange),
        readiness.clone(),
    );
    let cancel = CancellationToken::new();
    let task = tokio::spawn(relay.run(cancel.clone(), Duration::from_secs(1)));
    let publishing = |want: bool| {
        let readiness = readiness.clone();
        async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
            while readiness.report().broker_publish != want {
                if tokio::time::Instant::now() > deadline {
                    return false;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            true
        }
    };
    assert!(publishing(true).await, "the relay connects at start");
    // What a batch that failed on a lost connection leaves behind: no channel, "not publishing".
    publisher.close().await;
    assert!(!readiness.report().broker_publish);
    let recovered = publishing(true).await;
    cancel.cancel();
    task.await?;
    delete_test_topology(&exchange, &[]).await;
    tdb.drop_database().await;
    assert!(
        recovered,
        "an idle relay (empty outbox) reconnects and reports itself publishing again"
    );
    Ok(())
}

/// Records `data.n`; panics on `data.poison`; rejects `data.reject`; fails as a deadlock
/// victim the first `data.conflicts` times; is not yet processable while `data.needs` names an
/// `n` not recorded yet.
struct Recorder;

/// Attempts per message id (across transactions: a rollback does not undo them).
static ATTEMPTS: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<String, u64>>> =
    std::sync::LazyLock::new(Default::default);

impl BatchHandler for Recorder {
    async fn handle(
        &self,
        tx: &DatabaseTransaction,
        batch: &[Inbound],
        _effects: &mut Effects,
    ) -> Result<Vec<Outcome>, HandlerError> {
        let mut out = Vec::new();
        for m in batch {
            let data = &m.envelope.data;
            if data.get("poison").is_some() {
                panic!("a handler bug");
            }
            if data.get("reject").is_some() {
                out.push(Outcome::Rejected(Rejection::new(
                    "data.reject: this message asked to be rejected",
                )));
                continue;
            }
            // `conflicts: k`: the first k attempts fail as a deadlock victim does (SQLSTATE
            // 40P01), as when another replica's batch holds the same rows.
            let conflicts = data["conflicts"].as_u64().unwrap_or(0);
            let attempt = {
                let mut seen = ATTEMPTS.lock().unwrap_or_else(|e| e.into_inner());
                let n = seen.entry(m.envelope.id.clone()).or_default();
                *n += 1;
                *n
            };
            if attempt <= conflicts {
                tx.execute_unprepared(
                    "DO $$ BEGIN RAISE EXCEPTION 'simulated deadlock' \
                     USING ERRCODE = 'deadlock_detected'; END $$",
                )
                .await?;
            }
            if let Some(needs) = data["needs"].as_i64() {
                let found = tx
                    .query_one_raw(Statement::from_sql_and_values(
                        tx.get_database_backend(),
                        "SELECT COUNT(*) FROM seen WHERE n = $1",
                        [needs.into()],
                    ))
                    .await?
                    .map(|r| r.try_get_by_index::<i64>(0))
                    .transpose()?
                    .unwrap_or(0);
                if found == 0 {
                    out.push(Outcome::not_yet(
                        "unknown_thing",
                        Rejection::new(format!("data.needs: no thing {needs}")),
                    ));
                    continue;
                }
            }
            let n = data["n"].as_i64().unwrap_or(-1);
            tx.execute_raw(Statement::from_sql_and_values(
                tx.get_database_backend(),
                "INSERT INTO seen (n) VALUES ($1)",
                [n.into()],
            ))
            .await?;
            out.push(Outcome::Done);
        }
        Ok(out)
    }
}

/// The `tester` service: a consumer with the [`Recorder`] handler and its outbox relay, both
/// running, the consumer ready (its queue exists) when this returns.
async fn start_tester(
    exchange: &str,
    db: &DatabaseConnection,
) -> (
    CancellationToken,
    tokio::task::JoinHandle<()>,
    tokio::task::JoinHandle<()>,
) {
    let outbox = Outbox::new();
    let readiness = Readiness::new();
    let runner = ConsumerRunner::new(
        &settings(exchange),
        Subscription {
            service: "tester".into(),
            purpose: None,
            message_types: vec!["test.thing.happened.v1".into()],
        },
        db.clone(),
        outbox.clone(),
        Arc::new(Recorder),
        readiness.clone(),
    );
    let publisher = Arc::new(ConfirmedPublisher::new(
        &settings(exchange),
        "tester",
        readiness.clone(),
    ));
    let relay = OutboxRelay::new(
        db.clone(),
        publisher,
        outbox,
        &settings(exchange),
        readiness.clone(),
    );
    let cancel = CancellationToken::new();
    let consumer = tokio::spawn(runner.run(cancel.clone()));
    let relay_task = tokio::spawn(relay.run(cancel.clone(), Duration::from_secs(5)));
    for _ in 0..100 {
        if readiness.report().broker_consume {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (cancel, consumer, relay_task)
}

fn thing(id: &str, data: serde_json::Value) -> (String, Vec<u8>) {
    let env = json!({"specversion":"1.0","id":id,"source":"/test","type":"test.thing.happened.v1",
        "time":"2026-12-01T06:00:00Z","data":data});
    (
        "test.thing.happened.v1".to_owned(),
        env.to_string().into_bytes(),
    )
}

#[tokio::test]
async fn duplicates_have_no_effect_and_a_poison_message_is_dead_lettered_alone()
-> anyhow::Result<()> {
    let exchange = unique_exchange();
    let (tdb, db) = database().await?;
    let mut probe = BusProbe::start(&exchange).await?;
    let (cancel, consumer, relay_task) = start_tester(&exchange, &db).await;
    let mut items = Vec::new();
    for i in 0..200 {
        items.push(thing(&format!("t{i}"), json!({"n": i})));
        if i % 10 == 0 {
            items.push(thing(&format!("t{i}"), json!({"n": i}))); // a redelivered duplicate
        }
        if i == 77 {
            items.push(thing("poison", json!({"poison": true})));
            items.push(thing("refused", json!({"reject": true})));
        }
    }
    publish_raw(&exchange, &items).await?;
    probe
        .wait_for("tester.message.rejected.v1", 2, Duration::from_secs(60))
        .await?;
    let count = |db: DatabaseConnection| async move {
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT COUNT(*) FROM seen",
            ))
            .await?;
        anyhow::Ok(
            row.map(|r| r.try_get_by_index::<i64>(0))
                .transpose()?
                .unwrap_or(0),
        )
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while count(db.clone()).await? < 200 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        count(db.clone()).await?,
        200,
        "every good message once, the duplicates not again"
    );
    let dead = take_all(&format!("{exchange}.tester.dead")).await?;
    let mut reasons: Vec<String> = dead.iter().filter_map(|d| d.reason.clone()).collect();
    reasons.sort();
    assert_eq!(reasons.len(), 2);
    assert!(reasons[0].contains("asked to be rejected"), "{reasons:?}");
    assert!(reasons[1].contains("panicked"), "{reasons:?}");

    // A plain redelivery of a rejected message is a duplicate; an operator's replay is not.
    let refused = dead
        .iter()
        .find(|d| d.reason.as_deref().is_some_and(|r| r.contains("asked")))
        .expect("refused one");
    publish_raw(
        &exchange,
        &[("test.thing.happened.v1".to_owned(), refused.body.clone())],
    )
    .await?;
    publish_replayed(
        &exchange,
        "test.thing.happened.v1",
        &refused.body,
        &format!("{exchange}.tester.dead"),
    )
    .await?;
    probe
        .wait_for("tester.message.rejected.v1", 3, Duration::from_secs(30))
        .await?;
    probe.settle(Duration::from_millis(500)).await;
    assert_eq!(
        probe.of_type("tester.message.rejected.v1").len(),
        3,
        "the replay was processed again, the redelivery not"
    );
    cancel.cancel();
    consumer.await?;
    relay_task.await?;
    delete_test_topology(&exchange, &["tester"]).await;
    tdb.drop_database().await;
    Ok(())
}

/// Found by the fault suite's bad-input campaign: an id with a NUL character could not be
/// stored as an inbox key (PostgreSQL refuses NUL in text), so the rejection could not be
/// recorded either and the message was acknowledged without a dead letter. Control characters
/// in the id, source or type are now dead-lettered with a reason like any other bad input.
#[tokio::test]
async fn control_characters_in_id_source_or_type_are_dead_lettered_never_dropped()
-> anyhow::Result<()> {
    let exchange = unique_exchange();
    let (tdb, db) = database().await?;
    let mut probe = BusProbe::start(&exchange).await?;
    let (cancel, consumer, relay_task) = start_tester(&exchange, &db).await;
    let hostile = |id: &str, source: &str, ty: &str| {
        let env = json!({"specversion":"1.0","id":id,"source":source,"type":ty,
            "time":"2026-12-01T06:00:00Z","data":{"n": 1}});
        (
            "test.thing.happened.v1".to_owned(),
            env.to_string().into_bytes(),
        )
    };
    let items = vec![
        hostile("nul\u{0}id", "/test", "test.thing.happened.v1"),
        hostile("ok-1", "/te\u{0}st", "test.thing.happened.v1"),
        hostile("ok-2", "/test", "test.thing.happened.v1\u{0}"),
        hostile("ok-3", "/test", "test.thing.\u{7}happened.v1"),
        thing("good", json!({"n": 7})),
    ];
    publish_raw(&exchange, &items).await?;
    probe
        .wait_for("tester.message.rejected.v1", 4, Duration::from_secs(60))
        .await?;
    let dead = take_all(&format!("{exchange}.tester.dead")).await?;
    assert_eq!(dead.len(), 4, "one dead letter per hostile message");
    for d in &dead {
        let reason = d.reason.clone().unwrap_or_default();
        assert!(!reason.is_empty(), "every dead letter says why");
        assert!(!reason.contains('\u{0}'), "no NUL in a header");
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let good = loop {
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT COUNT(*) FROM seen WHERE n = 7",
            ))
            .await?;
        let n = row.map(|r| r.try_get_by_index::<i64>(0)).transpose()?;
        if n == Some(1) || tokio::time::Instant::now() > deadline {
            break n;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(good, Some(1), "the good message after them is processed");
    cancel.cancel();
    consumer.await?;
    relay_task.await?;
    delete_test_topology(&exchange, &["tester"]).await;
    tdb.drop_database().await;
    Ok(())
}

/// Issue 17: every replica of a service runs a relay on the one outbox. Three relays (each with
/// its own database pool and broker connection, as three processes have) publish 6,000 rows,
/// half written before they start and half while they run: the broker must carry exactly one
/// message per row, in outbox order.
#[tokio::test]
async fn three_relays_on_one_outbox_publish_each_row_once_in_order() -> anyhow::Result<()> {
    const ROWS: usize = 6000;
    let exchange = unique_exchange();
    let (tdb, db) = database().await?;
    let mut probe = BusProbe::start(&exchange).await?;
    let settings = BusSettings {
        relay_batch: 250,
        ..settings(&exchange)
    };
    let message = |i: usize| {
        OutgoingMessage::event(
            "test.thing.happened.v1",
            &format!("m{i}"),
            json!({ "n": i }).to_string().into_bytes(),
        )
    };
    let outbox = Outbox::new();
    let first: Vec<OutgoingMessage> = (0..ROWS / 2).map(message).collect();
    outbox.enqueue(&db, &first).await?;
    let cancel = CancellationToken::new();
    let mut relays = Vec::new();
    for _ in 0..3 {
        let own = Database::connect(&tdb.url).await?;
        let readiness = Readiness::new();
        let publisher = Arc::new(ConfirmedPublisher::new(
            &settings,
            "test",
            readiness.clone(),
        ));
        let relay = OutboxRelay::new(own, publisher, Outbox::new(), &settings, readiness);
        relays.push(tokio::spawn(
            relay.run(cancel.clone(), Duration::from_secs(5)),
        ));
    }
    for chunk in (ROWS / 2..ROWS).collect::<Vec<_>>().chunks(100) {
        let msgs: Vec<OutgoingMessage> = chunk.iter().map(|i| message(*i)).collect();
        outbox.enqueue(&db, &msgs).await?;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let arrived = probe
        .wait_for("test.thing.happened.v1", ROWS, Duration::from_secs(60))
        .await;
    probe.settle(Duration::from_millis(700)).await;
    cancel.cancel();
    for r in relays {
        r.await?;
    }
    let seen = probe.of_type("test.thing.happened.v1");
    let order: Vec<i64> = seen.iter().map(|v| v["n"].as_i64().unwrap_or(-1)).collect();
    let distinct: std::collections::HashSet<i64> = order.iter().copied().collect();
    let pending = Outbox::pending(&db).await?;
    eprintln!(
        "3 relays: {ROWS} outbox rows -> {} messages at the broker ({} distinct): {:.3} per row",
        order.len(),
        distinct.len(),
        order.len() as f64 / ROWS as f64
    );
    delete_test_topology(&exchange, &[]).await;
    tdb.drop_database().await;
    arrived?;
    assert_eq!(distinct.len(), ROWS, "every row published");
    assert_eq!(order.len(), ROWS, "no row published twice");
    assert_eq!(
        order,
        (0..ROWS as i64).collect::<Vec<_>>(),
        "in outbox order"
    );
    assert_eq!(pending, 0, "the outbox is empty");
    Ok(())
}

/// Issue 17: a batch that loses a lock conflict to another replica's batch (a deadlock victim,
/// a serialization failure) is retried — whole, then message by message — and such failures
/// never count toward dead-lettering the message: it takes effect once.
#[tokio::test]
async fn a_message_that_keeps_losing_lock_conflicts_is_retried_never_dead_lettered()
-> anyhow::Result<()> {
    let exchange = unique_exchange();
    let (tdb, db) = database().await?;
    let mut probe = BusProbe::start(&exchange).await?;
    let (cancel, consumer, relay_task) = start_tester(&exchange, &db).await;
    let mut items: Vec<(String, Vec<u8>)> = (0..50)
        .map(|i| thing(&format!("c{i}"), json!({"n": i})))
        .collect();
    // More conflicts than the whole-batch retries and than the attempts that reject a message.
    items.insert(25, thing("contended", json!({"n": 1000, "conflicts": 12})));
    publish_raw(&exchange, &items).await?;
    let count = || async {
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT COUNT(*) FROM seen",
            ))
            .await?;
        anyhow::Ok(
            row.map(|r| r.try_get_by_index::<i64>(0))
                .transpose()?
                .unwrap_or(0),
        )
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while count().await? < 51 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    probe.settle(Duration::from_millis(300)).await;
    let recorded = count().await?;
    let dead = take_all(&format!("{exchange}.tester.dead")).await?;
    let rejected = probe.of_type("tester.message.rejected.v1").len();
    cancel.cancel();
    consumer.await?;
    relay_task.await?;
    delete_test_topology(&exchange, &["tester"]).await;
    tdb.drop_database().await;
    assert_eq!(recorded, 51, "every message took effect once");
    assert!(
        dead.is_empty(),
        "no dead letter: {:?}",
        dead.iter().map(|d| &d.reason).collect::<Vec<_>>()
    );
    assert_eq!(rejected, 0, "no rejection");
    let attempts = ATTEMPTS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get("contended")
        .copied();
    assert_eq!(attempts, Some(13), "twelve conflicts, then it went through");
    Ok(())
}

/// A message naming something another replica is still committing (`data.needs`) is handled
/// again after growing pauses and applied once that arrives — no dead letter; one whose thing
/// never comes is dead-lettered with its reason after the whole budget. Neither holds back the
/// messages behind it.
#[tokio::test]
async fn a_message_not_yet_processable_waits_for_what_it_names_then_is_dead_lettered()
-> anyhow::Result<()> {
    let exchange = unique_exchange();
    let (tdb, db) = database().await?;
    let mut probe = BusProbe::start(&exchange).await?;
    let (cancel, consumer, relay_task) = start_tester(&exchange, &db).await;
    let count = |sql: &'static str| {
        let db = db.clone();
        async move {
            let row = db
                .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
                .await?;
            anyhow::Ok(
                row.map(|r| r.try_get_by_index::<i64>(0))
                    .transpose()?
                    .unwrap_or(0),
            )
        }
    };
    let started = tokio::time::Instant::now();
    let mut items = vec![
        thing("early", json!({"n": 1001, "needs": 1000})),
        thing("orphan", json!({"n": 2001, "needs": 9999})),
    ];
    items.extend((0..20).map(|i| thing(&format!("n{i}"), json!({"n": i}))));
    publish_raw(&exchange, &items).await?;

    // The others are not held back by the two waiting messages.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while count("SELECT COUNT(*) FROM seen WHERE n < 1000").await? < 20 {
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "the others waited");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let others_done = started.elapsed();
    // What `early` names arrives a moment later (another replica's commit).
    tokio::time::sleep(Duration::from_millis(300)).await;
    publish_raw(&exchange, &[thing("late", json!({"n": 1000}))]).await?;
    probe
        .wait_for("tester.message.rejected.v1", 1, Duration::from_secs(30))
        .await?;
    let orphan_rejected = started.elapsed();
    probe.settle(Duration::from_millis(300)).await;
    let applied = count("SELECT COUNT(*) FROM seen WHERE n IN (1000, 1001)").await?;
    let orphan = count("SELECT COUNT(*) FROM seen WHERE n = 2001").await?;
    let inbox = count("SELECT COUNT(*) FROM restance_inbox").await?;
    let rejected_in_inbox = count("SELECT COUNT(*) FROM restance_inbox WHERE rejected").await?;
    let dead = take_all(&format!("{exchange}.tester.dead")).await?;
    let rejected = probe.of_type("tester.message.rejected.v1");
    cancel.cancel();
    consumer.await?;
    relay_task.await?;
    delete_test_topology(&exchange, &["tester"]).await;
    tdb.drop_database().await;

    assert_eq!(
        applied, 2,
        "the early message took effect once what it names arrived"
    );
    assert_eq!(orphan, 0);
    let reasons: Vec<_> = dead.iter().filter_map(|d| d.reason.clone()).collect();
    assert_eq!(
        reasons,
        ["data.needs: no thing 9999"],
        "only the orphan is dead-lettered"
    );
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0]["data"]["message_id"], "orphan");
    assert_eq!(
        (inbox, rejected_in_inbox),
        (23, 1),
        "every message recorded once"
    );
    let attempts = |id: &str| {
        ATTEMPTS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .copied()
    };
    assert_eq!(
        attempts("orphan"),
        Some(8),
        "handled bus.not_yet_attempts times"
    );
    assert!(
        attempts("early").is_some_and(|n| n >= 2),
        "{:?}",
        attempts("early")
    );
    let budget = settings(&exchange).not_yet_budget();
    assert!(
        orphan_rejected >= budget,
        "dead-lettered after its budget ({budget:?}), not at once: {orphan_rejected:?}"
    );
    assert!(
        others_done < budget,
        "the others went through while it waited: {others_done:?}"
    );
    Ok(())
}
