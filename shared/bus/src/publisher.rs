//! Confirmed publishing: the only way anything of ours reaches the broker.
//!
//! A batch is published on a channel in confirm mode with at most `confirm_window` messages
//! awaiting their confirm (a sliding window: the next message goes out as soon as the oldest
//! one is confirmed); the batch succeeds only when every message is acked. A nack, a
//! return of a mandatory message, a timeout or a lost connection fails the batch, the channel is
//! dropped (late confirms of an abandoned channel must not be mistaken for new ones) and the
//! caller retries: consumers dedupe on `(source, id)`, so a republished message is harmless.

use crate::config::BusSettings;
use crate::connection;
use crate::health::Readiness;
use crate::topology::Topology;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, Channel, Confirmation, Connection, PublisherConfirm};
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;
use tokio::sync::Mutex;

/// One message ready to go out, exactly as the outbox stores it.
#[derive(Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// Target exchange; `None` means the main topic exchange.
    pub exchange: Option<String>,
    /// Routing key (the message type, or a dead queue's name on the dead exchange).
    pub routing_key: String,
    /// AMQP `message_id` (the envelope id).
    pub message_id: String,
    /// AMQP `type` (the message type).
    pub message_type: String,
    /// Extra string headers (e.g. the dead-letter reason).
    pub headers: BTreeMap<String, String>,
    /// The body: a CloudEvents JSON document, or the raw bytes of a dead letter.
    pub body: Vec<u8>,
    /// A message that must reach a queue: if unroutable, the broker returns it and the publish
    /// fails. Events are not mandatory (nobody may subscribe yet); dead letters and operator
    /// publishes are.
    pub mandatory: bool,
}

impl std::fmt::Debug for OutgoingMessage {
    // Bodies carry personal data: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutgoingMessage")
            .field("exchange", &self.exchange)
            .field("routing_key", &self.routing_key)
            .field("message_id", &self.message_id)
            .field("body_bytes", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl OutgoingMessage {
    /// An event for the main exchange, routed by its type.
    pub fn event(message_type: &str, message_id: &str, body: Vec<u8>) -> Self {
        Self {
            exchange: None,
            routing_key: message_type.to_owned(),
            message_id: message_id.to_owned(),
            message_type: message_type.to_owned(),
            headers: BTreeMap::new(),
            body,
            mandatory: false,
        }
    }

    /// Serialises an envelope into an event for the main exchange. An envelope without a
    /// `traceparent` of its own gets the current span's ([`crate::trace::current`]): what a
    /// handler or an API request enqueues carries the trace it was made in, and the outbox
    /// stores it so.
    pub fn from_envelope<T: serde::Serialize>(
        envelope: &restance_contracts::Envelope<T>,
    ) -> Result<Self, serde_json::Error> {
        let body = match crate::trace::current() {
            Some(cx) if envelope.traceparent.is_none() => envelope
                .to_json_bytes_traced(&cx.traceparent.to_string(), cx.tracestate.as_deref())?,
            _ => serde_json::to_vec(envelope)?,
        };
        Ok(Self::event(&envelope.r#type, &envelope.id, body))
    }
}

/// Why a batch was not (wholly) published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// No connection to the broker could be made.
    #[error("the broker is unreachable: {0}")]
    Unavailable(String),
    /// The broker refused a message (nack).
    #[error("the broker refused message {message_id} (nack)")]
    Nacked {
        /// The refused message.
        message_id: String,
    },
    /// A mandatory message could not be routed to any queue.
    #[error("message {message_id} to {routing_key} was returned unroutable: {reply}")]
    Returned {
        /// The returned message.
        message_id: String,
        /// Its routing key.
        routing_key: String,
        /// The broker's reply text.
        reply: String,
    },
    /// Confirms did not arrive in time.
    #[error("no confirm within {0:?}")]
    Timeout(Duration),
    /// The channel or connection failed mid-batch.
    #[error("publishing failed: {0}")]
    Channel(#[from] lapin::Error),
}

/// Publishes batches with confirms over its own supervised connection.
#[derive(Debug)]
pub struct ConfirmedPublisher {
    settings: BusSettings,
    topology: Topology,
    name: String,
    readiness: Readiness,
    state: Mutex<Option<(Connection, Channel)>>,
}

impl ConfirmedPublisher {
    /// A publisher for `name` (shown as the connection name); connects lazily.
    pub fn new(settings: &BusSettings, name: &str, readiness: Readiness) -> Self {
        Self {
            settings: settings.clone(),
            topology: Topology::new(settings.exchange.clone()),
            name: format!("{name}-publish"),
            readiness,
            state: Mutex::new(None),
        }
    }

    /// The topology this publisher publishes into.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// Connects now (and declares the exchanges) so readiness reflects the broker at start.
    pub async fn connect(&self) -> Result<(), PublishError> {
        let mut state = self.state.lock().await;
        self.ensure(&mut state).await.map(|_| ())
    }

    async fn ensure<'a>(
        &self,
        state: &'a mut Option<(Connection, Channel)>,
    ) -> Result<&'a Channel, PublishError> {
        let healthy = matches!(state, Some((conn, ch)) if conn.status().connected() && ch.status().connected());
        if !healthy {
            *state = None;
            let conn = connection::connect(&self.settings, &self.name)
                .await
                .map_err(|e| {
                    self.readiness.set_publishing(false);
                    PublishError::Unavailable(e.to_string())
                })?;
            // passively: the identity needs no configure on the exchanges (Topology docs)
            self.topology.ensure_exchanges(&conn).await?;
            let channel = conn.create_channel().await?;
            // Confirm mode: the broker acks each message once it is safely stored (for a
            // quorum queue: replicated to a majority), which is what lets the outbox forget it.
            channel
                .confirm_select(ConfirmSelectOptions::default())
                .await?;
            *state = Some((conn, channel));
            self.readiness.set_publishing(true);
        }
        match state {
            Some((_, ch)) => Ok(ch),
            None => Err(PublishError::Unavailable("no channel".into())),
        }
    }

    /// Publishes every message and waits for all confirms. On error nothing is known about
    /// which messages arrived: the caller publishes the whole batch again.
    pub async fn publish_all(&self, messages: &[OutgoingMessage]) -> Result<(), PublishError> {
        let mut state = self.state.lock().await;
        let result = self.publish_locked(&mut state, messages).await;
        if let Err(err) = &result {
            // Abandon the channel: its pending confirms belong to a failed batch.
            if let Some((conn, _)) = state.take() {
                let _ = conn
                    .close(200, "abandoning channel after a failed batch".into())
                    .await;
            }
            if matches!(err, PublishError::Unavailable(_) | PublishError::Channel(_)) {
                self.readiness.set_publishing(false);
            }
            metrics::counter!("restance_bus_publish_failures_total").increment(1);
        }
        result
    }

    async fn publish_locked(
        &self,
        state: &mut Option<(Connection, Channel)>,
        messages: &[OutgoingMessage],
    ) -> Result<(), PublishError> {
        let channel = self.ensure(state).await?;
        let window = self.settings.confirm_window.max(1);
        let mut pending = VecDeque::with_capacity(window.min(messages.len()));
        let mut confirmed = 0usize;
        let result = async {
            for msg in messages {
                if pending.len() >= window
                    && let Some((oldest, confirm)) = pending.pop_front()
                {
                    self.confirmed(oldest, confirm).await?;
                    confirmed += 1;
                }
                let exchange = msg.exchange.as_deref().unwrap_or(self.topology.exchange());
                let confirm = channel
                    .basic_publish(
                        exchange.into(),
                        msg.routing_key.as_str().into(),
                        BasicPublishOptions {
                            mandatory: msg.mandatory,
                            ..Default::default()
                        },
                        &msg.body,
                        properties(msg),
                    )
                    .await?;
                pending.push_back((msg, confirm));
            }
            while let Some((msg, confirm)) = pending.pop_front() {
                self.confirmed(msg, confirm).await?;
                confirmed += 1;
            }
            Ok(())
        }
        .await;
        metrics::counter!("restance_bus_published_total").increment(confirmed as u64);
        result
    }

    /// Waits (at most `confirm_timeout`) for the broker's confirm of `msg`.
    async fn confirmed(
        &self,
        msg: &OutgoingMessage,
        confirm: PublisherConfirm,
    ) -> Result<(), PublishError> {
        let timeout = self.settings.confirm_timeout();
        match tokio::time::timeout(timeout, confirm)
            .await
            .map_err(|_| PublishError::Timeout(timeout))??
        {
            Confirmation::Ack(None) | Confirmation::NotRequested => Ok(()),
            Confirmation::Ack(Some(returned)) => Err(PublishError::Returned {
                message_id: msg.message_id.clone(),
                routing_key: msg.routing_key.clone(),
                reply: returned.reply_text.to_string(),
            }),
            Confirmation::Nack(_) => Err(PublishError::Nacked {
                message_id: msg.message_id.clone(),
            }),
        }
    }

    /// Closes the connection (at shutdown).
    pub async fn close(&self) {
        if let Some((conn, channel)) = self.state.lock().await.take() {
            let _ = channel.close(200, "shutting down".into()).await;
            let _ = conn.close(200, "shutting down".into()).await;
        }
        self.readiness.set_publishing(false);
    }
}

/// At most `max` bytes of `s`, cut at a character boundary (AMQP short strings hold 255 bytes;
/// a longer one would not encode).
pub(crate) fn clip(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

fn properties(msg: &OutgoingMessage) -> BasicProperties {
    let mut headers = FieldTable::default();
    for (k, v) in &msg.headers {
        headers.insert(
            k.as_str().into(),
            AMQPValue::LongString(LongString::from(v.as_str())),
        );
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    BasicProperties::default()
        .with_message_id(clip(&msg.message_id, 255).into())
        .with_type(clip(&msg.message_type, 255).into())
        .with_content_type(restance_contracts::CONTENT_TYPE.into())
        .with_delivery_mode(2) // persistent
        .with_timestamp(now)
        .with_headers(headers)
}
