//! Connecting to the broker with backoff.
//!
//! Each service opens two connections — one to consume, one to publish — so that a publisher
//! blocked by a broker memory alarm cannot stall acknowledgements (RabbitMQ blocks publishing
//! connections, and acks travel on the consuming one).

use crate::config::{BusSettings, redact_url};
use lapin::{Connection, ConnectionProperties, tcp::OwnedTLSConfig};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Exponential backoff with a cap and jitter derived from the attempt, so replicas spread out.
#[derive(Debug, Clone)]
pub struct Backoff {
    attempt: u32,
    base: Duration,
    cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new(Duration::from_millis(200), Duration::from_secs(10))
    }
}

impl Backoff {
    /// A backoff that starts at `base` and never waits longer than `cap`.
    pub fn new(base: Duration, cap: Duration) -> Self {
        Self {
            attempt: 0,
            base,
            cap,
        }
    }

    /// The next delay; grows ×2 per attempt up to the cap, with up to 25 % jitter.
    pub fn next_delay(&mut self) -> Duration {
        let exp = self.base.saturating_mul(1u32 << self.attempt.min(16));
        self.attempt = self.attempt.saturating_add(1);
        let capped = exp.min(self.cap);
        let nanos = u64::from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0),
        );
        let quarter = capped / 4;
        let jitter_ms = if quarter.as_millis() == 0 {
            0
        } else {
            nanos % u64::try_from(quarter.as_millis()).unwrap_or(1)
        };
        capped.saturating_sub(Duration::from_millis(jitter_ms))
    }

    /// Starts over after a success.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// Sleeps for the next delay; returns false if cancelled meanwhile.
    pub async fn wait(&mut self, cancel: &CancellationToken) -> bool {
        let delay = self.next_delay();
        tokio::select! {
            () = cancel.cancelled() => false,
            () = tokio::time::sleep(delay) => true,
        }
    }
}

/// Connects, retrying with backoff until it succeeds or `cancel` fires (then `None`).
/// `name` shows in the RabbitMQ management UI as the connection name.
pub async fn connect_with_backoff(
    settings: &BusSettings,
    name: &str,
    cancel: &CancellationToken,
) -> Option<Connection> {
    let url = &settings.url;
    let mut backoff = Backoff::default();
    loop {
        match connect(settings, name).await {
            Ok(conn) => {
                tracing::info!(connection = name, broker = %redact_url(url), "connected to the broker");
                return Some(conn);
            }
            Err(err) => {
                tracing::warn!(connection = name, broker = %redact_url(url), error = %err,
                    "cannot reach the broker; retrying (is RabbitMQ running? see deploy/local/ensure-services.sh)");
                if !backoff.wait(cancel).await {
                    return None;
                }
            }
        }
    }
}

/// How long one connection attempt may take. Without a bound, an attempt into a network that
/// drops packets (rather than refusing them) hangs until the kernel gives up, minutes later,
/// and whatever waits on it (the relay, a consumer's supervisor) waits with it.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// One connection attempt, given up after [`CONNECT_TIMEOUT`]. `amqps://` goes over TLS,
/// checking the broker's certificate against Mozilla's roots and `tls.ca_file`.
pub async fn connect(settings: &BusSettings, name: &str) -> Result<Connection, lapin::Error> {
    // No lapin auto-recovery: the supervisors in this crate reconnect themselves, so the
    // service can report itself unready meanwhile and replay nothing behind our back.
    let props = ConnectionProperties::default().with_connection_name(name.into());
    crate::tls::install_crypto_provider();
    let tls = OwnedTLSConfig {
        identity: None,
        cert_chain: settings
            .tls
            .ca_pem()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?,
    };
    let runtime = lapin::runtime::default_runtime()?;
    let attempt = Connection::connect_with_config(&settings.url, props, tls, runtime);
    match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
        Ok(result) => result,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!(
                "no answer from the broker within {}s",
                CONNECT_TIMEOUT.as_secs()
            ),
        )
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_its_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
        let first = b.next_delay();
        assert!(first <= Duration::from_millis(100) && first >= Duration::from_millis(75));
        for _ in 0..20 {
            assert!(b.next_delay() <= Duration::from_secs(2));
        }
        assert!(b.next_delay() >= Duration::from_millis(1500));
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(100));
    }
}
