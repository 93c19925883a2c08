//! Settling a delivery: the outcome, the row's new state and its event in one transaction;
//! and an SMS whose outcome is unknown.

use super::{SendError, Sent, Worker, effects_emit};
use crate::config::Channel;
use crate::domain::ids::clean_reason;
use crate::domain::plan::DeliveryPlan;
use crate::domain::timing::{backoff_ms, may_retry};
use crate::handlers::requests::delivery_channel;
use crate::store::queries::{self, DeliveryKey, DocumentRow};
use restance_bus::{Backoff, Effects};
use restance_contracts::messages::{DeliveryFailed, SmsSent};
use sea_orm::{DbErr, TransactionTrait};
use tokio_util::sync::CancellationToken;

impl Worker {
    /// An SMS whose previous sender died mid-send: the gateway may already have it. A delivery
    /// report carrying its `userref` proves it went out (`Some`: record it as sent, send
    /// nothing). Without one, wait until `report_wait_secs` after the outcome became unknown
    /// (`Err`: put back until then); after that, send again (`None`) — the request most
    /// likely never reached the gateway.
    pub(super) async fn outcome_unknown_sms(
        &self,
        key: &DeliveryKey,
        attempts: i64,
        plan: &DeliveryPlan,
        since_ms: i64,
    ) -> Result<Option<Sent>, ()> {
        match queries::sms_reported(&self.db, &key.notification_id).await {
            Ok(Some(provider_id)) => {
                tracing::info!(notification_id = %key.notification_id,
                    "the gateway reported this SMS although its sender died before recording it: recorded as sent, not sent again");
                return Ok(Some(Sent::Sms(SmsSent {
                    notification_id: plan.notification_id.clone(),
                    municipality: plan.municipality.clone(),
                    template: plan.template.clone(),
                    provider_id,
                    sent_at: self.shared.clock.now(),
                })));
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(notification_id = %key.notification_id, error = %e,
                    "cannot look up delivery reports; the delivery is claimed again after its lease");
                return Err(());
            }
        }
        let wait_ms = i64::try_from(
            self.shared
                .config
                .worker
                .report_wait_secs
                .saturating_mul(1000),
        )
        .unwrap_or(i64::MAX);
        let until = since_ms.saturating_add(wait_ms);
        let now_ms = self.shared.clock.now_ms();
        if now_ms >= until {
            tracing::info!(notification_id = %key.notification_id,
                "no delivery report for an SMS whose sender died mid-send: sending it again");
            return Ok(None);
        }
        let reason = "the previous attempt stopped mid-send; waiting for the gateway's delivery report before sending again";
        if let Err(e) = queries::retry_at(&self.db, key, attempts, until, reason, now_ms).await {
            tracing::warn!(notification_id = %key.notification_id, error = %e,
                "cannot put the delivery back; it is claimed again after its lease");
        } else {
            tracing::info!(notification_id = %key.notification_id, wait_ms = until - now_ms,
                "outcome of the last SMS attempt unknown: waiting for the gateway's delivery report");
        }
        Err(())
    }

    // Long: the outcome is decided once (sent, retry, failed) and then committed in a retry loop that must publish that decision's event ids.
    /// Commits the outcome: the row's new state and its event, in one transaction.
    pub(super) async fn settle(
        &self,
        key: &DeliveryKey,
        plan: &DeliveryPlan,
        attempt: u32,
        first_due_ms: i64,
        result: Result<Sent, SendError>,
    ) {
        let now_ms = self.shared.clock.now_ms();
        let policy = &self.shared.config.retry;
        let channel = Channel::parse(&key.channel).unwrap_or(Channel::Letter);
        // Decide once, outside the retry loop, so that a retried commit publishes the same
        // event ids.
        enum Step {
            Sent(Option<String>, Option<DocumentRow>),
            Retry(i64, String),
            Failed(String),
        }
        let mut effects = Effects::new(self.source.clone());
        let step = match result {
            Ok(sent) => {
                let (provider, document) = match sent {
                    Sent::Letter(letter) => {
                        let (event, doc) = *letter;
                        let id = event.document.id.clone();
                        effects_emit(&mut effects, event);
                        (Some(id), Some(doc))
                    }
                    Sent::Sms(event) => {
                        let id = event.provider_id.clone();
                        effects_emit(&mut effects, event);
                        (Some(id), None)
                    }
                    Sent::Email(event) => {
                        let id = event.message_id.clone();
                        effects_emit(&mut effects, event);
                        (Some(id), None)
                    }
                };
                Step::Sent(provider, document)
            }
            Err(SendError::Transient(reason))
                if may_retry(attempt, first_due_ms, now_ms, policy) =>
            {
                let wait = i64::try_from(backoff_ms(attempt, policy)).unwrap_or(i64::MAX);
                Step::Retry(now_ms.saturating_add(wait), reason)
            }
            Err(SendError::Transient(reason)) => {
                Step::Failed(format!("gave up after {attempt} attempt(s): {reason}"))
            }
            Err(SendError::Permanent(reason)) => Step::Failed(reason),
        };
        if let Step::Failed(reason) = &step {
            effects_emit(
                &mut effects,
                DeliveryFailed {
                    notification_id: plan.notification_id.clone(),
                    municipality: plan.municipality.clone(),
                    template: plan.template.clone(),
                    channel: delivery_channel(channel),
                    reason: clean_reason(reason),
                    related: plan.related.clone(),
                },
            );
        }
        let messages = effects.into_messages();
        // This claim's fencing token: the row's attempts as this worker claimed it.
        let fence = i64::from(attempt);
        let mut backoff = Backoff::default();
        let never = CancellationToken::new();
        for round in 1..=20 {
            let committed: Result<bool, DbErr> = async {
                let tx = self.db.begin().await?;
                let kept = match &step {
                    Step::Sent(provider, document) => {
                        if let Some(doc) = document {
                            queries::insert_document(&tx, doc, now_ms).await?;
                        }
                        queries::finish(&tx, key, fence, "sent", provider.as_deref(), None, now_ms)
                            .await?
                    }
                    Step::Retry(next_ms, reason) => {
                        queries::retry_at(&tx, key, fence, *next_ms, &clean_reason(reason), now_ms)
                            .await?
                    }
                    Step::Failed(reason) => {
                        queries::finish(
                            &tx,
                            key,
                            fence,
                            "failed",
                            None,
                            Some(&clean_reason(reason)),
                            now_ms,
                        )
                        .await?
                    }
                };
                if !kept {
                    tx.rollback().await?;
                    return Ok(false);
                }
                if !matches!(step, Step::Retry(..)) {
                    self.outbox.enqueue(&tx, &messages).await?;
                }
                tx.commit().await?;
                Ok(true)
            }
            .await;
            match committed {
                Ok(true) => {
                    self.outbox.wake();
                    break;
                }
                Ok(false) => {
                    tracing::warn!(notification_id = %key.notification_id, channel = %key.channel,
                        "this delivery was settled elsewhere (its lease ran out and another attempt owns it, or a delivery report recorded it as sent)");
                    return;
                }
                Err(e) => {
                    tracing::warn!(notification_id = %key.notification_id, channel = %key.channel,
                        error = %e, round, "cannot record a delivery outcome; retrying");
                    backoff.wait(&never).await;
                }
            }
        }
        let outcome = match &step {
            Step::Sent(..) => "sent",
            Step::Retry(..) => "retry",
            Step::Failed(_) => "failed",
        };
        metrics::counter!("restance_notifications_deliveries_total",
            "channel" => channel.as_str(), "outcome" => outcome)
        .increment(1);
        match &step {
            Step::Sent(..) => tracing::info!(notification_id = %key.notification_id,
                channel = %key.channel, attempt, "delivered"),
            Step::Retry(next_ms, reason) => tracing::warn!(notification_id = %key.notification_id,
                channel = %key.channel, attempt, reason = %clean_reason(reason),
                retry_in_ms = next_ms.saturating_sub(now_ms), "transient failure; retrying later"),
            Step::Failed(reason) => tracing::warn!(notification_id = %key.notification_id,
                channel = %key.channel, attempt, reason = %clean_reason(reason), "delivery failed"),
        }
    }
}
