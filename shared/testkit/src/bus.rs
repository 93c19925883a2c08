//! Publishing as an upstream system would, and watching the exchange.

use futures_util::StreamExt;
use lapin::options::{
    BasicConsumeOptions, BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions,
    ExchangeDeleteOptions, QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection, ConnectionProperties, ExchangeKind};
use restance_contracts::Envelope;
use serde_json::Value;
use std::time::Duration;

/// The local broker (override with `RESTANCE_TEST_AMQP_URL`).
pub const AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

fn amqp_url() -> String {
    std::env::var("RESTANCE_TEST_AMQP_URL").unwrap_or_else(|_| AMQP_URL.to_owned())
}

/// A fresh exchange name: every queue a service declares derives from it.
pub fn unique_exchange() -> String {
    format!("test-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// A connection to the test broker (`RESTANCE_TEST_AMQP_URL` or [`AMQP_URL`]).
pub async fn connect() -> anyhow::Result<Connection> {
    Connection::connect(&amqp_url(), ConnectionProperties::default())
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach RabbitMQ ({e}); run `just services`"))
}

/// Publishes raw bodies with a routing key, persistent, with confirms (waits for all).
pub async fn publish_raw(exchange: &str, items: &[(String, Vec<u8>)]) -> anyhow::Result<()> {
    publish_raw_over(connect().await?, exchange, items).await
}

/// [`publish_raw`] over `conn` (a broker other than the test broker: a TLS node), closing it.
pub async fn publish_raw_over(
    conn: Connection,
    exchange: &str,
    items: &[(String, Vec<u8>)],
) -> anyhow::Result<()> {
    let ch = conn.create_channel().await?;
    ch.confirm_select(ConfirmSelectOptions::default()).await?;
    declare_exchange(&ch, exchange).await?;
    let mut pending = Vec::new();
    for (key, body) in items {
        let c = ch
            .basic_publish(
                exchange.into(),
                key.as_str().into(),
                BasicPublishOptions::default(),
                body,
                BasicProperties::default().with_delivery_mode(2),
            )
            .await?;
        pending.push(c);
        if pending.len() >= 1000 {
            for c in pending.drain(..) {
                anyhow::ensure!(c.await?.is_ack(), "broker nacked a test publish");
            }
        }
    }
    for c in pending {
        anyhow::ensure!(c.await?.is_ack(), "broker nacked a test publish");
    }
    conn.close(200, "done".into()).await.ok();
    Ok(())
}

/// Publishes one body as `restance dead replay` does: with the `x-restance-replayed-from` header.
pub async fn publish_replayed(
    exchange: &str,
    key: &str,
    body: &[u8],
    from_queue: &str,
) -> anyhow::Result<()> {
    use lapin::types::{AMQPValue, LongString};
    let conn = connect().await?;
    let ch = conn.create_channel().await?;
    ch.confirm_select(ConfirmSelectOptions::default()).await?;
    let mut headers = FieldTable::default();
    headers.insert(
        "x-restance-replayed-from".into(),
        AMQPValue::LongString(LongString::from(from_queue)),
    );
    let c = ch
        .basic_publish(
            exchange.into(),
            key.into(),
            BasicPublishOptions::default(),
            body,
            BasicProperties::default()
                .with_delivery_mode(2)
                .with_headers(headers),
        )
        .await?;
    anyhow::ensure!(c.await?.is_ack(), "broker nacked a replay");
    conn.close(200, "done".into()).await.ok();
    Ok(())
}

/// Publishes envelopes routed by their type.
pub async fn publish_envelopes<T: serde::Serialize>(
    exchange: &str,
    envs: &[Envelope<T>],
) -> anyhow::Result<()> {
    let items: Vec<(String, Vec<u8>)> = envs
        .iter()
        .map(|e| Ok((e.r#type.clone(), serde_json::to_vec(e)?)))
        .collect::<anyhow::Result<_>>()?;
    publish_raw(exchange, &items).await
}

async fn declare_exchange(ch: &lapin::Channel, exchange: &str) -> anyhow::Result<()> {
    ch.exchange_declare(
        exchange.into(),
        ExchangeKind::Topic,
        ExchangeDeclareOptions {
            durable: true,
            ..Default::default()
        },
        FieldTable::default(),
    )
    .await?;
    Ok(())
}

/// An exclusive, auto-deleted queue bound to `binding` on `exchange` (declared too), for a
/// watcher that consumes without acks; returns the queue's name.
pub async fn exclusive_queue(
    ch: &lapin::Channel,
    exchange: &str,
    binding: &str,
) -> anyhow::Result<String> {
    declare_exchange(ch, exchange).await?;
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
        exchange.into(),
        binding.into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await?;
    Ok(q.name().to_string())
}

/// A durable quorum queue bound to `keys` on `exchange` (declared too): it survives broker
/// restarts, unlike a probe's exclusive queue, so a fault test can read it afterwards.
pub async fn declare_quorum_queue(
    exchange: &str,
    queue: &str,
    keys: &[&str],
) -> anyhow::Result<()> {
    use lapin::types::AMQPValue;
    let conn = connect().await?;
    let ch = conn.create_channel().await?;
    declare_exchange(&ch, exchange).await?;
    let mut args = FieldTable::default();
    args.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    ch.queue_declare(
        queue.into(),
        QueueDeclareOptions {
            durable: true,
            ..Default::default()
        },
        args,
    )
    .await?;
    for key in keys {
        ch.queue_bind(
            queue.into(),
            exchange.into(),
            (*key).into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    }
    conn.close(200, "done".into()).await.ok();
    Ok(())
}

/// Deletes a queue (best effort).
pub async fn delete_queue(queue: &str) {
    if let Ok(conn) = connect().await
        && let Ok(ch) = conn.create_channel().await
    {
        let _ = ch
            .queue_delete(queue.into(), QueueDeleteOptions::default())
            .await;
        conn.close(200, "done".into()).await.ok();
    }
}

/// Deletes an exchange (best effort).
pub async fn delete_exchange(exchange: &str) {
    if let Ok(conn) = connect().await
        && let Ok(ch) = conn.create_channel().await
    {
        let _ = ch
            .exchange_delete(exchange.into(), ExchangeDeleteOptions::default())
            .await;
        conn.close(200, "done".into()).await.ok();
    }
}

/// Collects every message published on an exchange (an exclusive queue bound to `#`).
pub struct BusProbe {
    rx: tokio::sync::mpsc::UnboundedReceiver<(String, Vec<u8>)>,
    seen: Vec<(String, Value)>,
    _conn: Connection,
}

impl std::fmt::Debug for BusProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BusProbe")
            .field("seen", &self.seen.len())
            .finish()
    }
}

impl BusProbe {
    /// Starts listening to `exchange` (create it before the services publish).
    pub async fn start(exchange: &str) -> anyhow::Result<Self> {
        Self::start_on(exchange, "#").await
    }

    /// Listens to `binding` on `exchange`.
    pub async fn start_on(exchange: &str, binding: &str) -> anyhow::Result<Self> {
        Self::start_over(connect().await?, exchange, binding).await
    }

    /// Listens to `binding` on `exchange` over `conn` (another broker: a TLS node).
    pub async fn start_over(
        conn: Connection,
        exchange: &str,
        binding: &str,
    ) -> anyhow::Result<Self> {
        let ch = conn.create_channel().await?;
        let q = exclusive_queue(&ch, exchange, binding).await?;
        let mut consumer = ch
            .basic_consume(
                q.as_str().into(),
                "probe".into(),
                BasicConsumeOptions {
                    no_ack: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await?;
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(Ok(d)) = consumer.next().await {
                if tx.send((d.routing_key.to_string(), d.data)).is_err() {
                    break;
                }
            }
        });
        Ok(Self {
            rx,
            seen: Vec::new(),
            _conn: conn,
        })
    }

    fn drain(&mut self) {
        while let Ok((key, body)) = self.rx.try_recv() {
            let v = serde_json::from_slice(&body).unwrap_or(Value::Null);
            self.seen.push((key, v));
        }
    }

    /// Everything seen so far: (routing key, envelope JSON).
    pub fn seen(&mut self) -> &[(String, Value)] {
        self.drain();
        &self.seen
    }

    /// Envelopes seen of one type.
    pub fn of_type(&mut self, message_type: &str) -> Vec<Value> {
        self.drain();
        self.seen
            .iter()
            .filter(|(k, _)| k == message_type)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Waits until at least `n` messages of `message_type` were seen; returns them.
    pub async fn wait_for(
        &mut self,
        message_type: &str,
        n: usize,
        timeout: Duration,
    ) -> anyhow::Result<Vec<Value>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let found = self.of_type(message_type);
            if found.len() >= n {
                return Ok(found);
            }
            if tokio::time::Instant::now() >= deadline {
                anyhow::bail!(
                    "saw {} of {n} {message_type} within {timeout:?}",
                    found.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until nothing new arrived for `quiet`.
    pub async fn settle(&mut self, quiet: Duration) {
        let mut last = self.seen().len();
        loop {
            tokio::time::sleep(quiet).await;
            let now = self.seen().len();
            if now == last {
                return;
            }
            last = now;
        }
    }
}

/// Deletes the exchanges and queues a test created for `service`s (best effort).
pub async fn delete_test_topology(exchange: &str, services: &[&str]) {
    let Ok(conn) = connect().await else { return };
    let Ok(ch) = conn.create_channel().await else {
        return;
    };
    for s in services {
        for q in [format!("{exchange}.{s}"), format!("{exchange}.{s}.dead")] {
            let _ = ch
                .queue_delete(q.as_str().into(), QueueDeleteOptions::default())
                .await;
        }
    }
    for x in [exchange.to_owned(), format!("{exchange}.dead")] {
        let _ = ch
            .exchange_delete(x.as_str().into(), ExchangeDeleteOptions::default())
            .await;
    }
    conn.close(200, "done".into()).await.ok();
}

/// Messages waiting in a queue (declares nothing: passive).
pub async fn queue_depth(queue: &str) -> anyhow::Result<u32> {
    let conn = connect().await?;
    let ch = conn.create_channel().await?;
    let q = ch
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await?;
    conn.close(200, "done".into()).await.ok();
    Ok(q.message_count())
}

/// A dead letter as a test sees it.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    /// The `x-restance-reason` header.
    pub reason: Option<String>,
    /// The `x-restance-original-routing-key` header.
    pub original_key: Option<String>,
    /// The body, byte for byte.
    pub body: Vec<u8>,
}

/// Takes (and acks) every message now in `queue`.
pub async fn take_all(queue: &str) -> anyhow::Result<Vec<DeadLetter>> {
    use lapin::options::{BasicAckOptions, BasicGetOptions};
    use lapin::types::AMQPValue;
    let conn = connect().await?;
    let ch = conn.create_channel().await?;
    let mut out = Vec::new();
    while let Some(msg) = ch
        .basic_get(queue.into(), BasicGetOptions::default())
        .await?
    {
        let header = |name: &str| -> Option<String> {
            msg.delivery.properties.headers().as_ref().and_then(|h| {
                h.inner().get(name).and_then(|v| match v {
                    AMQPValue::LongString(s) => Some(s.to_string()),
                    AMQPValue::ShortString(s) => Some(s.to_string()),
                    _ => None,
                })
            })
        };
        out.push(DeadLetter {
            reason: header("x-restance-reason"),
            original_key: header("x-restance-original-routing-key"),
            body: msg.delivery.data.clone(),
        });
        ch.basic_ack(msg.delivery.delivery_tag, BasicAckOptions::default())
            .await?;
    }
    conn.close(200, "done".into()).await.ok();
    Ok(out)
}
