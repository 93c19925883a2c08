//! The delivery worker: claims due deliveries, sends them, and records the result with its
//! event in one transaction.
//!
//! # The state machine (table `deliveries`, one row per `(notification_id, channel)`)
//! ```text
//!   pending ──claim──▶ sending ──sent──▶ sent        (+ letter.ready / sms.sent / email.sent)
//!      ▲                  │ ├───permanent──▶ failed  (+ delivery.failed)
//!      └──transient───────┘ └──transient, attempts or age used up──▶ failed (+ delivery.failed)
//!   pending (SMS in quiet hours) ──hold──▶ pending, due at the end of the quiet hours
//! ```
//! A claim is an `UPDATE … WHERE status = 'pending' AND next_attempt_ms <= now` that sets a
//! lease: only one worker (of any replica) wins it. A claim whose lease ran out (its worker
//! died) is due again. Each claim raises `attempts`, and the outcome is written only where the
//! row is still `sending` with the claim's `attempts` (a fencing token): a worker whose lease
//! ran out while it was still busy cannot settle, or put back, the claim of the worker that
//! took the delivery over. Nor can it still be sending then: a send still running shortly before
//! the lease ends (a fifth of the lease, at most 15 s) is given up and left `sending`, to be
//! claimed again with its outcome unknown, as after a crash.
//!
//! # Exactly one send per (notification, channel) — and the one window
//! The natural key makes a redelivered or duplicated request plan nothing twice, and a row
//! leaves `sending` only in the transaction that also writes its event to the outbox. The
//! remaining window: the provider accepted the SMS or e-mail, and the process died before that
//! transaction committed. The lease then runs out and the message is sent again. Both carry a
//! key derived from the notification id so the duplicate can be recognised: the SMS its
//! `userref` (the gateway reports it with every delivery status; GatewayAPI itself does not
//! deduplicate on it), the e-mail its `Message-ID` (mail clients and archives dedupe on it).
//! A letter re-rendered after a crash overwrites the same file with the same document id, so
//! the print provider sees at most a second `letter.ready` for the same document.
//!
//! # Wake-ups and shutdown
//! The consumer wakes the worker after it planned deliveries; the worker also polls
//! (`worker.poll_ms`) and sweeps parked requests whose wait is over. On shutdown it claims
//! nothing new and lets in-flight sends finish (`worker.drain_secs`).

pub mod email;
pub mod render_pool;
mod send;
mod settle;
pub mod sms;

use crate::config::Channel;
use crate::domain::ids::{self, clean_reason};
use crate::domain::plan::{DeliveryPlan, PlannedRoute};
use crate::domain::timing::{quiet_until, time_zone};
use crate::handlers::requests::{STATE_FAILED, STATE_PARKED};
use crate::state::Shared;
use crate::store::queries::{self, DeliveryKey, DocumentRow};
use render_pool::RenderPool;
use restance_bus::{Effects, Outbox};
use restance_contracts::messages::{
    DeliveryChannel, DeliveryFailed, EmailSent, LetterReady, NotificationRequested, SmsSent,
};
use restance_runtime::rounds::{self, Next, Pace, Rounds};
use sea_orm::{DatabaseConnection, DbErr, TransactionTrait};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

/// Why a send did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Worth another attempt later (connection, 5xx, 429, SMTP 4xx, a disk error).
    Transient(String),
    /// Will not succeed (4xx, SMTP 5xx, an unusable recipient, a template that cannot render).
    Permanent(String),
}

/// How long before its lease ends a send is given up: a fifth of the lease, at most 15 s (the
/// shipped lease of 300 s). Wider than the clock skew between replicas (leases are wall-clock
/// times written by one replica and read by another) and than settling takes after the send.
fn lease_margin_ms(lease_secs: u64) -> i64 {
    i64::try_from(lease_secs.saturating_mul(200))
        .unwrap_or(i64::MAX)
        .min(15_000)
}

/// The shortest lease the configuration accepts. A lease below 45 s (the SMTP and SMS gateway
/// timeouts of 30 s and the margin) gives up sends that a slow provider would still have
/// answered; short leases are for tests that want a crashed replica's sends taken over soon.
pub const MIN_LEASE_SECS: u64 = 2;

/// What a successful send produced.
enum Sent {
    Letter(Box<(LetterReady, DocumentRow)>),
    Sms(SmsSent),
    Email(EmailSent),
}

/// The worker and what it sends with.
#[derive(Debug)]
pub struct Worker {
    db: DatabaseConnection,
    outbox: Outbox,
    source: String,
    shared: Arc<Shared>,
    sms: Option<sms::SmsGateway>,
    mailer: email::Mailer,
    documents: PathBuf,
    renders: RenderPool,
}

impl Worker {
    /// A worker writing through `db`/`outbox`, events from `source`, letters under `documents`,
    /// typesetting on `worker.render_threads` threads of its own (0: one per core).
    ///
    /// # Errors
    /// When the operating system refuses the render threads.
    pub fn new(
        db: DatabaseConnection,
        outbox: Outbox,
        source: String,
        shared: Arc<Shared>,
        sms: Option<sms::SmsGateway>,
        mailer: email::Mailer,
        documents: PathBuf,
    ) -> std::io::Result<Self> {
        // At 0 from the start: the deliveries' dashboard and the SMS failure alert
        // (k8s/monitoring) see "none yet" rather than "no data".
        for channel in ["letter", "sms", "email"] {
            for outcome in ["sent", "retry", "failed"] {
                metrics::counter!("restance_notifications_deliveries_total",
                    "channel" => channel, "outcome" => outcome)
                .increment(0);
            }
        }
        let threads = match shared.config.worker.render_threads {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        };
        Ok(Self {
            db,
            outbox,
            source,
            shared,
            sms,
            mailer,
            documents,
            renders: RenderPool::start(threads)?,
        })
    }

    /// Runs until `cancel` fires, then lets in-flight sends finish (its rounds in
    /// [`restance_runtime::rounds`]).
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        let pace = Pace {
            wake: self.shared.wake.clone(),
            poll: self.shared.config.poll(),
        };
        let deliveries = Deliveries {
            worker: self,
            inflight: Mutex::new(JoinSet::new()),
        };
        rounds::run(&deliveries, &pace, &cancel).await;
    }

    /// Claims up to `limit` due deliveries; SMS due in quiet hours are held until the morning.
    async fn claim_due(&self, limit: usize) -> Result<Vec<DeliveryKey>, DbErr> {
        let now = self.shared.clock.now();
        let now_ms = now.timestamp_millis();
        let lease_ms = i64::try_from(self.shared.config.worker.lease_secs.saturating_mul(1000))
            .unwrap_or(i64::MAX);
        let due = queries::due_deliveries(
            &self.db,
            now_ms,
            i64::try_from(limit.saturating_mul(2)).unwrap_or(100),
        )
        .await?;
        let mut claimed = Vec::new();
        for d in due {
            if claimed.len() >= limit {
                break;
            }
            if d.key.channel == Channel::Sms.as_str()
                && self.sms.is_some()
                && let Some(m) = self.shared.catalog.municipality(&d.municipality)
                && let Some(until) =
                    quiet_until(now, time_zone(m.country), self.shared.config.quiet_hours)
            {
                if queries::hold(&self.db, &d.key, now_ms, until.timestamp_millis()).await? {
                    metrics::counter!("restance_notifications_deliveries_total",
                        "channel" => "sms", "outcome" => "held")
                    .increment(1);
                    tracing::info!(notification_id = %d.key.notification_id, until = %until,
                        "SMS due in quiet hours: held until the morning");
                }
                continue;
            }
            if queries::claim(&self.db, &d.key, now_ms, now_ms.saturating_add(lease_ms)).await? {
                claimed.push(d.key);
            }
        }
        Ok(claimed)
    }

    /// Sends one claimed delivery and records the outcome.
    async fn deliver(self: Arc<Self>, key: DeliveryKey) {
        let claimed = match queries::claimed(&self.db, &key).await {
            Ok(Some(c)) => c,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(notification_id = %key.notification_id, channel = %key.channel,
                    error = %e, "cannot read a claimed delivery; it is claimed again after its lease");
                return;
            }
        };
        let plan: DeliveryPlan = match serde_json::from_str(&claimed.plan) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(notification_id = %key.notification_id, error = %ids::json_error(&e),
                    "stored delivery plan unreadable");
                return;
            }
        };
        // The delivery continues the trace of the request that planned it.
        let span = restance_bus::trace::resumed_span("delivery", plan.traceparent.as_deref());
        self.deliver_claimed(key, claimed, plan)
            .instrument(span)
            .await;
    }

    async fn deliver_claimed(
        self: Arc<Self>,
        key: DeliveryKey,
        claimed: queries::Claimed,
        plan: DeliveryPlan,
    ) {
        let attempt = u32::try_from(claimed.attempts).unwrap_or(u32::MAX);
        if let (PlannedRoute::Sms { .. }, Some(since)) = (&plan.route, claimed.outcome_unknown_ms)
            && self.shared.sms_reports_enabled
        {
            match self
                .outcome_unknown_sms(&key, claimed.attempts, &plan, since)
                .await
            {
                Ok(Some(sent)) => {
                    self.settle(&key, &plan, attempt, claimed.first_due_ms, Ok(sent))
                        .await;
                    return;
                }
                Ok(None) => {}
                Err(()) => return,
            }
        }
        // The send must end while the claim is still ours: once the lease runs out another
        // worker may claim the delivery and send it too.
        let left_ms = claimed
            .lease_until_ms
            .unwrap_or(i64::MIN)
            .saturating_sub(self.shared.clock.now_ms())
            .saturating_sub(lease_margin_ms(self.shared.config.worker.lease_secs));
        if left_ms <= 0 {
            let reason = "claimed too long before it could be sent: not sent, tried again";
            self.settle(
                &key,
                &plan,
                attempt,
                claimed.first_due_ms,
                Err(SendError::Transient(reason.to_owned())),
            )
            .await;
            return;
        }
        let send = async {
            match &plan.route {
                PlannedRoute::Letter { channel } => self.send_letter(&plan, *channel).await,
                PlannedRoute::Sms { msisdn } => self.send_sms(&plan, msisdn.expose()).await,
                PlannedRoute::Email { attach_pdf } => self.send_email(&plan, *attach_pdf).await,
            }
        };
        let left = Duration::from_millis(u64::try_from(left_ms).unwrap_or(0));
        let Ok(result) = tokio::time::timeout(left, send).await else {
            // The provider may or may not have it. Left `sending`, the delivery is claimed
            // again when the lease runs out, exactly as after a crash mid-send: with its
            // outcome unknown (an SMS is first looked up in the delivery reports).
            metrics::counter!("restance_notifications_deliveries_total",
                "channel" => key.channel.clone(), "outcome" => "lease_ran_out")
            .increment(1);
            tracing::warn!(notification_id = %key.notification_id, channel = %key.channel,
                "the send did not finish within its lease; the delivery is claimed again when the lease runs out, its outcome unknown");
            return;
        };
        // Test harnesses only: the window between the provider's acceptance and the commit.
        if result.is_ok() {
            match &plan.route {
                PlannedRoute::Sms { .. } => {
                    restance_bus::crashpoint::reached("notifications.after_send");
                }
                PlannedRoute::Email { .. } => {
                    restance_bus::crashpoint::reached("notifications.after_send_email");
                }
                PlannedRoute::Letter { .. } => {}
            }
        }
        self.settle(&key, &plan, attempt, claimed.first_due_ms, result)
            .await;
    }

    fn municipality(
        &self,
        plan: &DeliveryPlan,
    ) -> Result<&restance_kernel::Municipality, SendError> {
        self.shared
            .catalog
            .municipality(&plan.municipality)
            .ok_or_else(|| {
                SendError::Permanent(format!(
                    "municipality {} is no longer configured",
                    plan.municipality
                ))
            })
    }

    // -------------------------------------------------------------- parked requests

    /// Parked requests whose wait is over: each fails with channel `none`.
    async fn expire_parked(&self) -> Result<(), DbErr> {
        let now_ms = self.shared.clock.now_ms();
        let expired = queries::expired_parked(&self.db, now_ms, 100).await?;
        for p in expired {
            let req: NotificationRequested = match serde_json::from_str(&p.request) {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(notification_id = %p.notification_id, error = %ids::json_error(&e),
                        "parked notification unreadable; left parked");
                    continue;
                }
            };
            let waited = human_duration(now_ms.saturating_sub(p.received_ms));
            let reason = format!(
                "no contact details for debtor {} after {waited} (no invoicing.debtor.updated.v1 arrived for the debtor)",
                p.waiting_for
            );
            let mut effects = Effects::new(self.source.clone());
            effects_emit(
                &mut effects,
                DeliveryFailed {
                    notification_id: req.notification_id.clone(),
                    municipality: req.municipality.clone(),
                    template: req.template.clone(),
                    channel: DeliveryChannel::None,
                    reason: clean_reason(&reason),
                    related: req.related.clone(),
                },
            );
            let tx = self.db.begin().await?;
            if queries::set_notification_state(
                &tx,
                &p.notification_id,
                STATE_PARKED,
                STATE_FAILED,
                None,
            )
            .await?
            {
                self.outbox.enqueue(&tx, &effects.into_messages()).await?;
                tx.commit().await?;
                self.outbox.wake();
                metrics::counter!("restance_notifications_deliveries_total",
                    "channel" => "none", "outcome" => "failed")
                .increment(1);
                tracing::warn!(notification_id = %p.notification_id, debtor_id = %p.waiting_for,
                    waited = %waited, "parked notification gave up: the debtor's details never arrived");
            } else {
                tx.rollback().await?;
            }
        }
        Ok(())
    }
}

/// Emits an event into `effects`; serialising our own event types cannot fail, and if it ever
/// did the event is logged and skipped rather than failing the delivery.
fn effects_emit<T: restance_contracts::Message>(effects: &mut Effects, event: T) {
    if let Err(e) = effects.emit(event) {
        tracing::error!(error = %e, "cannot serialise an event");
    }
}

pub use restance_runtime::files::write_atomically;

fn file_stem(notification_id: &str) -> String {
    let clean: String = notification_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    if clean.is_empty() {
        "letter".to_owned()
    } else {
        clean
    }
}

fn human_duration(ms: i64) -> String {
    let secs = ms.max(0) / 1000;
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

/// The delivery loop's rounds: the sends in flight, at most `worker.concurrency` at once.
struct Deliveries {
    worker: Arc<Worker>,
    inflight: Mutex<JoinSet<()>>,
}

impl Deliveries {
    /// The sends in flight, finished ones reaped.
    fn in_flight(&self) -> usize {
        let mut set = self.inflight.lock().unwrap_or_else(PoisonError::into_inner);
        while set.try_join_next().is_some() {}
        set.len()
    }
}

impl Rounds for Deliveries {
    const NAME: &'static str = "delivery worker";
    type Error = DbErr;

    /// Sweeps expired parked notifications, then claims as many due deliveries as there are
    /// free places and starts sending them. A finished send wakes the loop, so a freed place is
    /// filled at once.
    async fn round(&self, _cancel: &CancellationToken) -> Result<Next, DbErr> {
        let worker = &self.worker;
        let concurrency = worker.shared.config.worker.concurrency.max(1);
        worker.expire_parked().await?;
        let free = concurrency.saturating_sub(self.in_flight());
        if free == 0 {
            return Ok(Next::Idle);
        }
        let keys = worker.claim_due(free).await?;
        let claimed_any = !keys.is_empty();
        let mut set = self.inflight.lock().unwrap_or_else(PoisonError::into_inner);
        for key in keys {
            // Test harnesses only (`RESTANCE_CRASH_AT=panic:…`): the worker panics holding
            // leased claims, which come back after the lease.
            restance_bus::crashpoint::reached("notifications.worker.claimed");
            let me = worker.clone();
            let wake = worker.shared.wake.clone();
            set.spawn(async move {
                me.deliver(key).await;
                wake.notify_one();
            });
        }
        // More may be due while there is room.
        Ok(if claimed_any && set.len() < concurrency {
            Next::Again
        } else {
            Next::Idle
        })
    }

    async fn stop(&self) {
        let mut inflight =
            std::mem::take(&mut *self.inflight.lock().unwrap_or_else(PoisonError::into_inner));
        let drain = Duration::from_secs(self.worker.shared.config.worker.drain_secs);
        if !inflight.is_empty() {
            tracing::info!(
                in_flight = inflight.len(),
                "finishing in-flight deliveries before stopping"
            );
        }
        let finished = tokio::time::timeout(drain, async {
            while inflight.join_next().await.is_some() {}
        })
        .await;
        if finished.is_err() {
            tracing::warn!(
                left = inflight.len(),
                "in-flight deliveries did not finish in time; they are claimed again after their lease"
            );
            inflight.abort_all();
        }
        tracing::info!("delivery worker stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_person_would_say_them() {
        assert_eq!(human_duration(3_000), "3 s");
        assert_eq!(human_duration(600_000), "10 min");
        assert_eq!(human_duration(86_400_000), "24 h");
        assert_eq!(human_duration(7 * 86_400_000), "7 days");
        assert_eq!(file_stem("N-1/ø"), "N-1__");
    }
}
