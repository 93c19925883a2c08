//! Bus settings (the `[bus]` section of `restance.toml`, overridable as `RESTANCE__BUS__…`).

use serde::Deserialize;
use std::time::Duration;

/// Connection, topology and throughput settings for one service's use of the broker.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct BusSettings {
    /// AMQP URL (`RESTANCE__BUS__URL`). Contains credentials: never logged whole.
    pub url: String,
    /// The topic exchange everything is published to; queue names derive from it.
    pub exchange: String,
    /// Unacknowledged deliveries the broker may push to a consumer at once.
    pub prefetch: u16,
    /// Most deliveries handled in one database transaction.
    pub batch_size: usize,
    /// How long a consumer waits to fill a batch once it holds at least one delivery.
    pub batch_linger_ms: u64,
    /// Deliveries of one message before the broker dead-letters it (quorum `x-delivery-limit`).
    pub delivery_limit: u32,
    /// Publishes awaiting a broker confirm at once.
    pub confirm_window: usize,
    /// A publish not confirmed within this time counts as failed and is retried.
    pub confirm_timeout_ms: u64,
    /// Outbox rows the relay takes per round.
    pub relay_batch: usize,
    /// How often the relay looks at the outbox when nobody has woken it.
    pub relay_poll_ms: u64,
    /// Handlings of a message that names something the service has not learnt yet (a claim
    /// whose `claim.opened` another replica has not committed) before it is dead-lettered with
    /// its reason (`Outcome::NotYet`, see [`crate::consumer`]); 1 dead-letters it at once.
    pub not_yet_attempts: u32,
    /// The pause after the first "not yet"; it doubles after each further one…
    pub not_yet_first_pause_ms: u64,
    /// …up to this. The defaults (10 handlings, 200 ms doubling up to 6 s) wait about 30 s in
    /// all ([`Self::not_yet_pause`]).
    pub not_yet_max_pause_ms: u64,
    /// `[tls]`, which the service's settings copy here (not part of `[bus]`): the CA bundle for
    /// `amqps://` and whether plaintext off this machine is allowed.
    #[serde(skip)]
    pub tls: crate::tls::TlsSettings,
}

impl Default for BusSettings {
    fn default() -> Self {
        Self {
            url: "amqp://guest:guest@127.0.0.1:5672/%2f".into(),
            exchange: "restance".into(),
            prefetch: 500,
            batch_size: 250,
            batch_linger_ms: 20,
            delivery_limit: 10,
            confirm_window: 1000,
            confirm_timeout_ms: 10_000,
            relay_batch: 1000,
            relay_poll_ms: 500,
            not_yet_attempts: 10,
            not_yet_first_pause_ms: 200,
            not_yet_max_pause_ms: 6_000,
            tls: crate::tls::TlsSettings::default(),
        }
    }
}

impl BusSettings {
    /// The URL with any password replaced, fit for a log line.
    pub fn redacted_url(&self) -> String {
        redact_url(&self.url)
    }

    /// Every problem with these settings, as `bus.<field>: <what is wrong>`.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !(self.url.starts_with("amqp://") || self.url.starts_with("amqps://")) {
            out.push("bus.url: must be an amqp:// or amqps:// URL".to_owned());
        } else if let Err(e) =
            self.tls
                .check("bus.url", &self.url, crate::tls::amqp_transport(&self.url))
        {
            out.push(e);
        }
        if self.exchange.is_empty() || self.exchange.contains(char::is_whitespace) {
            out.push("bus.exchange: must be a non-empty name without spaces".to_owned());
        }
        if self.prefetch == 0 {
            out.push("bus.prefetch: must be at least 1".to_owned());
        }
        if self.batch_size == 0 || self.batch_size > usize::from(self.prefetch) {
            out.push("bus.batch_size: must be between 1 and bus.prefetch".to_owned());
        }
        if self.delivery_limit == 0 {
            out.push("bus.delivery_limit: must be at least 1".to_owned());
        }
        if self.not_yet_attempts == 0 {
            out.push("bus.not_yet_attempts: must be at least 1".to_owned());
        }
        if self.not_yet_first_pause_ms == 0
            || self.not_yet_first_pause_ms > self.not_yet_max_pause_ms
        {
            out.push(
                "bus.not_yet_first_pause_ms: must be at least 1 and at most bus.not_yet_max_pause_ms"
                    .to_owned(),
            );
        }
        if self.confirm_window == 0 || self.relay_batch == 0 {
            out.push("bus.confirm_window and bus.relay_batch: must be at least 1".to_owned());
        }
        out
    }

    /// [`Self::batch_linger_ms`] as a duration.
    pub fn batch_linger(&self) -> Duration {
        Duration::from_millis(self.batch_linger_ms)
    }

    /// [`Self::confirm_timeout_ms`] as a duration.
    pub fn confirm_timeout(&self) -> Duration {
        Duration::from_millis(self.confirm_timeout_ms)
    }

    /// [`Self::relay_poll_ms`] as a duration.
    pub fn relay_poll(&self) -> Duration {
        Duration::from_millis(self.relay_poll_ms)
    }

    /// The pause before handling a message again after its `times`-th "not yet" (1 for the
    /// first), or `None` when that was its last handling ([`Self::not_yet_attempts`]): it is
    /// then dead-lettered with its reason.
    pub fn not_yet_pause(&self, times: u32) -> Option<Duration> {
        if times == 0 || times >= self.not_yet_attempts {
            return None;
        }
        let doubled = self
            .not_yet_first_pause_ms
            .saturating_mul(1u64 << (times - 1).min(32));
        Some(Duration::from_millis(
            doubled.min(self.not_yet_max_pause_ms),
        ))
    }

    /// How long a message that stays "not yet" is retried before it is dead-lettered: the sum
    /// of its pauses (about 30 s by default).
    pub fn not_yet_budget(&self) -> Duration {
        (1..self.not_yet_attempts)
            .filter_map(|n| self.not_yet_pause(n))
            .sum()
    }
}

/// Replaces the password in `scheme://user:password@host` with `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_never_reaches_the_log() {
        assert_eq!(
            redact_url("amqp://guest:secret@127.0.0.1:5672/%2f"),
            "amqp://guest:***@127.0.0.1:5672/%2f"
        );
        assert_eq!(redact_url("postgres://h/db"), "postgres://h/db");
    }

    #[test]
    fn defaults_are_consistent() {
        assert!(BusSettings::default().problems().is_empty());
    }

    #[test]
    fn a_message_not_yet_processable_is_retried_for_about_thirty_seconds_by_default() {
        let s = BusSettings::default();
        let pauses: Vec<u64> = (1..=s.not_yet_attempts)
            .map_while(|n| s.not_yet_pause(n))
            .map(|p| p.as_millis() as u64)
            .collect();
        // Nine pauses between ten handlings, growing, capped.
        assert_eq!(pauses, [200, 400, 800, 1600, 3200, 6000, 6000, 6000, 6000]);
        assert_eq!(s.not_yet_pause(10), None, "the tenth handling is the last");
        assert_eq!(s.not_yet_pause(0), None);
        let total = s.not_yet_budget();
        assert!(
            total >= Duration::from_secs(25) && total <= Duration::from_secs(40),
            "{total:?}"
        );
    }

    #[test]
    fn the_not_yet_budget_can_be_shortened_or_switched_off() {
        let short = BusSettings {
            not_yet_attempts: 3,
            not_yet_first_pause_ms: 10,
            not_yet_max_pause_ms: 15,
            ..BusSettings::default()
        };
        assert_eq!(short.not_yet_pause(1), Some(Duration::from_millis(10)));
        assert_eq!(short.not_yet_pause(2), Some(Duration::from_millis(15)));
        assert_eq!(short.not_yet_pause(3), None);
        assert_eq!(short.not_yet_budget(), Duration::from_millis(25));
        let off = BusSettings {
            not_yet_attempts: 1,
            ..BusSettings::default()
        };
        assert_eq!(off.not_yet_pause(1), None, "dead-lettered at once");
        assert!(off.problems().is_empty());
        let huge = BusSettings {
            not_yet_attempts: u32::MAX,
            ..BusSettings::default()
        };
        assert_eq!(huge.not_yet_pause(200), Some(Duration::from_secs(6)));
        let bad = BusSettings {
            not_yet_attempts: 0,
            not_yet_first_pause_ms: 7_000,
            ..BusSettings::default()
        };
        assert_eq!(bad.problems().len(), 2, "{:?}", bad.problems());
    }
}
