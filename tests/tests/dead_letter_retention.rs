//! Dead letters do not stay forever (issue 18, item 6): the retention policy
//! `deploy/rabbitmq/identities.py` makes from `[dead_letters]` in `deploy/rabbitmq/identities.toml`
//! (message TTL, max length with overflow drop-head) on the dead-letter queues
//! `<exchange>.<service>.dead`, applied with `identities.py policy` (rabbitmqctl set_policy) as
//! `deploy/local/ensure-services.sh` applies it to the local broker.
//!
//! The test's policy has a tiny TTL and length and a pattern that matches only its own exchange's
//! dead-letter queues (`test-<12 hex>`), declared as a service declares them
//! (`Topology::declare_service_queue`). It shows: without the policy the dead-letter queue keeps
//! everything; the policy reaches the queue that exists already, without redeclaring it, and trims
//! it to the newest; past the length the oldest dead letter goes, whether a service published it
//! or the broker dead-lettered it; past the TTL they expire; the service's own queue is untouched.
//! The policy, queues and exchanges are removed at the end.

use lapin::options::{
    BasicGetOptions, BasicNackOptions, BasicPublishOptions, ConfirmSelectOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, Channel};
use restance_bus::Topology;
use restance_testkit::{connect, delete_test_topology, queue_depth, take_all, unique_exchange};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// The service whose queues the test declares (any name: the pattern is `<exchange>.[^.]+.dead`).
const SERVICE: &str = "retention";
/// The key the service's queue is bound to.
const KEY: &str = "retention.thing.happened.v1";
/// The test's policy: at most this many dead letters per queue …
const MAX_LENGTH: u32 = 3;
/// … each kept this long.
const TTL: Duration = Duration::from_millis(2000);

fn identities_py(args: &[&str]) -> anyhow::Result<String> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/rabbitmq/identities.py");
    let out = Command::new("python3")
        .arg(script)
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

/// The retention policy for the test's exchange only; cleared on drop.
struct Policy {
    exchange: String,
}

impl Policy {
    /// Sets the policy with `overrides` (`--dead-ttl-ms`, `--dead-max-length`; none: the table's).
    fn set(exchange: &str, overrides: &[&str]) -> anyhow::Result<Self> {
        identities_py(&[&["policy", "--exchange", exchange], overrides].concat())?;
        Ok(Self {
            exchange: exchange.to_owned(),
        })
    }
}

impl Drop for Policy {
    fn drop(&mut self) {
        let _ = identities_py(&["policy", "--clear", "--exchange", &self.exchange]);
    }
}

/// Publishes `body` with confirms to `exchange` with `key` (a dead letter: as a service's
/// rejection does, to `<exchange>.dead` with the dead queue's name as key).
async fn publish(ch: &Channel, exchange: &str, key: &str, body: &str) -> anyhow::Result<()> {
    let mut headers = FieldTable::default();
    headers.insert(
        "x-restance-reason".into(),
        AMQPValue::LongString(LongString::from("test")),
    );
    let confirm = ch
        .basic_publish(
            exchange.into(),
            key.into(),
            BasicPublishOptions {
                mandatory: true,
                ..Default::default()
            },
            body.as_bytes(),
            BasicProperties::default()
                .with_delivery_mode(2)
                .with_headers(headers),
        )
        .await?;
    anyhow::ensure!(confirm.await?.is_ack(), "the broker nacked {body}");
    Ok(())
}

/// Polls `queue`'s depth until `want` or `within` passed; returns the last depth seen.
async fn depth_becomes(queue: &str, want: u32, within: Duration) -> anyhow::Result<u32> {
    let deadline = Instant::now() + within;
    loop {
        let depth = queue_depth(queue).await?;
        if depth == want || Instant::now() > deadline {
            return Ok(depth);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The bodies now in `queue`, oldest first, left in the queue (taken unacknowledged on a channel
/// of their own, which is then closed: the broker returns them, with their expiry).
async fn peek(queue: &str) -> anyhow::Result<Vec<String>> {
    let conn = connect().await?;
    let ch = conn.create_channel().await?;
    let mut bodies = Vec::new();
    while let Some(msg) = ch
        .basic_get(queue.into(), BasicGetOptions { no_ack: false })
        .await?
    {
        bodies.push(String::from_utf8_lossy(&msg.delivery.data).into_owned());
    }
    conn.close(200, "done".into()).await.ok();
    Ok(bodies)
}

fn bodies(taken: &[restance_testkit::DeadLetter]) -> Vec<String> {
    taken
        .iter()
        .map(|d| String::from_utf8_lossy(&d.body).into_owned())
        .collect()
}

#[tokio::test]
async fn dead_letters_past_the_length_or_the_ttl_are_dropped_oldest_first() -> anyhow::Result<()> {
    let exchange = unique_exchange();
    // on a task of its own, so that a failed assertion still leaves the broker clean: the policy
    // is cleared by its guard inside `scenario`, the queues and exchanges here
    let outcome = tokio::spawn(scenario(exchange.clone())).await;
    delete_test_topology(&exchange, &[SERVICE]).await;
    match outcome {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(e.into()),
    }
}

async fn scenario(exchange: String) -> anyhow::Result<()> {
    let exchange = exchange.as_str();
    let topology = Topology::new(exchange);
    let dead = topology.dead_queue(SERVICE);
    let conn = connect().await?;
    let ch = conn.create_channel().await?;
    ch.confirm_select(ConfirmSelectOptions::default()).await?;
    let queue = topology
        .declare_service_queue(&conn, SERVICE, None, &[KEY.to_owned()], 3)
        .await?;

    // Without the policy the dead-letter queue keeps every dead letter (and the service's queue
    // every message).
    for n in 1..=5 {
        publish(&ch, &topology.dead_exchange(), &dead, &format!("d{n}")).await?;
    }
    for n in 1..=5 {
        publish(&ch, exchange, KEY, &format!("m{n}")).await?;
    }
    assert_eq!(queue_depth(&dead).await?, 5, "no policy yet: all five kept");
    assert_eq!(queue_depth(&queue).await?, 5);

    // The policy, on the queue that exists: trimmed to the newest three at once, no redeclaring.
    let ttl_ms = TTL.as_millis().to_string();
    let max_length = MAX_LENGTH.to_string();
    let policy = Policy::set(
        exchange,
        &["--dead-ttl-ms", &ttl_ms, "--dead-max-length", &max_length],
    )?;
    assert_eq!(
        depth_becomes(&dead, MAX_LENGTH, Duration::from_secs(10)).await?,
        MAX_LENGTH,
        "the policy trims the existing dead-letter queue to its max length"
    );
    assert_eq!(
        bodies(&take_all(&dead).await?),
        ["d3", "d4", "d5"],
        "the oldest went, the newest stay"
    );
    assert_eq!(
        queue_depth(&queue).await?,
        5,
        "the service's own queue is not the policy's"
    );

    // New dead letters, from a service (published to <exchange>.dead) and from the broker (a
    // message the consumer rejects; at-least-once dead-lettering): past the length the oldest
    // goes as each arrives.
    let arrived = Instant::now();
    for n in 1..=3 {
        publish(&ch, &topology.dead_exchange(), &dead, &format!("e{n}")).await?;
    }
    let got = ch
        .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: false })
        .await?
        .ok_or_else(|| anyhow::anyhow!("the service's queue is empty"))?;
    assert_eq!(got.delivery.data, b"m1");
    ch.basic_nack(
        got.delivery.delivery_tag,
        BasicNackOptions {
            multiple: false,
            requeue: false,
        },
    )
    .await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    let kept = loop {
        let kept = peek(&dead).await?;
        if kept.last().map(String::as_str) == Some("m1") || Instant::now() > deadline {
            break kept;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(
        arrived.elapsed() < TTL,
        "the machine was too slow to look before the TTL ({:?})",
        arrived.elapsed()
    );
    assert_eq!(
        kept,
        ["e2", "e3", "m1"],
        "at most {MAX_LENGTH}: e1 went when the broker's dead letter arrived"
    );

    // Past the TTL they expire (none before it).
    assert_eq!(
        depth_becomes(&dead, 0, TTL + Duration::from_secs(10)).await?,
        0,
        "the dead letters expire after {TTL:?}"
    );
    assert!(
        arrived.elapsed() >= TTL,
        "expired after {:?}, before the TTL {TTL:?}",
        arrived.elapsed()
    );
    drop(policy);
    conn.close(200, "done".into()).await.ok();
    Ok(())
}
