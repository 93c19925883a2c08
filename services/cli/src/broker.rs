//! The CLI's side of the broker: the shared [`ConfirmedPublisher`] with operator-friendly
//! errors, and a batch publish that tells which messages of a batch the broker refused.

use restance_bus::{
    Backoff, BusSettings, ConfirmedPublisher, OutgoingMessage, PublishError, Readiness,
};
use std::time::Duration;

/// How often a batch is tried again after connection trouble before the command gives up.
const ATTEMPTS: u32 = 4;

/// "cannot reach RabbitMQ at …: is it running?" with the password masked.
pub fn unreachable(bus: &BusSettings, cause: &dyn std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!(
        "cannot reach RabbitMQ at {} ({cause}): is it running? `just services` starts it; \
         RESTANCE__BUS__URL sets the address",
        bus.redacted_url()
    )
}

/// A connected publisher for the CLI (connection name `restance-cli-publish`).
pub async fn publisher(bus: &BusSettings) -> anyhow::Result<ConfirmedPublisher> {
    let publisher = ConfirmedPublisher::new(bus, "restance-cli", Readiness::new());
    match publisher.connect().await {
        Ok(()) => Ok(publisher),
        Err(PublishError::Unavailable(cause)) => Err(unreachable(bus, &cause)),
        Err(other) => Err(unreachable(bus, &other)),
    }
}

/// Explains a publish error to an operator.
pub fn explain(bus: &BusSettings, err: &PublishError) -> String {
    match err {
        PublishError::Unavailable(cause) => unreachable(bus, cause).to_string(),
        PublishError::Returned { routing_key, .. } => format!(
            "no queue is bound to {routing_key} on exchange {}: is the service that consumes it \
             running (it declares its queue at start)?",
            bus.exchange
        ),
        other => other.to_string(),
    }
}

/// Publishes `messages` with confirms and returns, per message, `None` when the broker
/// confirmed it or the reason it refused it.
///
/// A message the broker returns (unroutable) or nacks fails only itself: the batch is then
/// published again one message at a time to find out which (a message delivered twice is
/// harmless — consumers dedupe on `(source, id)`). Connection trouble is retried with backoff;
/// if it persists the error is returned and nothing is known about the batch.
pub async fn publish_confirmed(
    publisher: &ConfirmedPublisher,
    messages: &[OutgoingMessage],
) -> Result<Vec<Option<PublishError>>, PublishError> {
    match publish_retrying(publisher, messages).await {
        Ok(()) => Ok(messages.iter().map(|_| None).collect()),
        Err(err) if refused(&err) => {
            let mut outcome = Vec::with_capacity(messages.len());
            for msg in messages {
                match publish_retrying(publisher, std::slice::from_ref(msg)).await {
                    Ok(()) => outcome.push(None),
                    Err(err) if refused(&err) => outcome.push(Some(err)),
                    Err(err) => return Err(err),
                }
            }
            Ok(outcome)
        }
        Err(err) => Err(err),
    }
}

/// The broker answered, and the answer was no: trying again will not help.
fn refused(err: &PublishError) -> bool {
    matches!(
        err,
        PublishError::Returned { .. } | PublishError::Nacked { .. }
    )
}

async fn publish_retrying(
    publisher: &ConfirmedPublisher,
    messages: &[OutgoingMessage],
) -> Result<(), PublishError> {
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(5));
    let mut attempt = 1;
    loop {
        match publisher.publish_all(messages).await {
            Ok(()) => return Ok(()),
            Err(err) if refused(&err) || attempt >= ATTEMPTS => return Err(err),
            Err(_) => {
                attempt += 1;
                tokio::time::sleep(backoff.next_delay()).await;
            }
        }
    }
}
