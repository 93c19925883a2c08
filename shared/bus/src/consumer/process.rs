//! Processing a batch: one transaction with the inbox, the handler and the outbox, retried on
//! contention and message by message when the batch as a whole fails.

use super::{
    BatchHandler, CONTENTION_RETRIES, Committed, ConsumerRunner, Decoded, Effects, HandlerError,
    Inbound, Outcome, RejectedMeta, contention_pause,
};
use crate::connection::Backoff;
use crate::inbox::{self, MessageKey};
use crate::rejection::{RejectedDelivery, Rejection, rejection_messages};
use futures_util::FutureExt;
use sea_orm::{ConnectionTrait as _, TransactionTrait};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

impl<H: BatchHandler> ConsumerRunner<H> {
    /// Processes a batch, retrying as described in the module docs, until it is committed.
    pub(super) async fn process_until_committed(
        &self,
        decoded: &[Decoded],
        cancel: &CancellationToken,
    ) -> Committed {
        let mut conflicts = 0u32;
        loop {
            match self.try_process(decoded).await {
                Ok(committed) => return committed,
                Err(err) if err.is_contention() && conflicts < CONTENTION_RETRIES => {
                    conflicts += 1;
                    self.count_contention(&err, conflicts, decoded.len());
                    tokio::time::sleep(contention_pause(conflicts)).await;
                }
                Err(err) if decoded.len() > 1 => {
                    tracing::warn!(queue = %self.queue, error = %err, size = decoded.len(),
                        "batch failed; retrying its messages one by one");
                    break;
                }
                Err(err) => {
                    tracing::warn!(queue = %self.queue, error = %err, "message failed; retrying");
                    break;
                }
            }
        }
        let mut all = Committed::default();
        for (index, one) in decoded.iter().enumerate() {
            let single = std::slice::from_ref(one);
            let mut attempts = 0u32;
            let mut conflicts = 0u32;
            let mut backoff = Backoff::default();
            loop {
                match self.try_process(single).await {
                    Ok(committed) => {
                        all.deferred
                            .extend(committed.deferred.into_iter().map(|(_, r)| (index, r)));
                        all.gave_up.extend(committed.gave_up);
                        break;
                    }
                    Err(err) if err.is_contention() => {
                        // Not the message's fault: never a step towards its rejection.
                        conflicts += 1;
                        self.count_contention(&err, conflicts, 1);
                        tokio::time::sleep(contention_pause(conflicts)).await;
                    }
                    Err(err) => {
                        let db_up = self.database_answers().await;
                        self.readiness.set_database(db_up);
                        if db_up {
                            attempts += 1;
                            if attempts >= 3 {
                                self.reject_poison(one, &err).await;
                                break;
                            }
                        } else {
                            tracing::warn!(queue = %self.queue, "database unreachable; holding deliveries until it is back");
                        }
                        // Never give up on a message because of an outage: wait even when
                        // cancelled, since exiting with unacked work only redelivers it.
                        if !backoff.wait(cancel).await {
                            tokio::time::sleep(Duration::from_millis(500)).await;
                        }
                    }
                }
            }
        }
        all
    }

    pub(super) fn count_contention(&self, err: &HandlerError, attempt: u32, size: usize) {
        metrics::counter!("restance_bus_contention_retries_total", "queue" => self.queue.clone())
            .increment(1);
        tracing::info!(queue = %self.queue, error = %err, attempt, size,
            "batch collided with a concurrent transaction (lock conflict); retrying it");
    }

    pub(super) async fn database_answers(&self) -> bool {
        self.db.execute_unprepared("SELECT 1").await.is_ok()
    }

    /// Turns a message that keeps failing while the database works into a rejection.
    ///
    /// A message that was already a rejection (it could not be decoded) and still cannot be
    /// recorded — its key is something the database refuses — is recorded under the hash of
    /// its bytes instead, so it is dead-lettered with its reason and never dropped silently
    /// (found by the fault suite's bad-input campaign: an id holding a NUL character).
    pub(super) async fn reject_poison(&self, d: &Decoded, err: &HandlerError) {
        let (meta, rejection) = match &d.item {
            Ok(inbound) => (
                RejectedMeta {
                    key: (inbound.envelope.source.clone(), inbound.envelope.id.clone()),
                    message_type: inbound.envelope.r#type.clone(),
                    routing_key: inbound.envelope.r#type.clone(),
                    body: inbound.raw.to_vec(),
                },
                Rejection::new(format!("processing failed repeatedly: {err}")),
            ),
            Err((meta, why)) => (
                RejectedMeta {
                    key: (
                        "amqp".to_owned(),
                        format!("sha256:{}", hex::encode(Sha256::digest(&meta.body))),
                    ),
                    ..meta.clone()
                },
                why.clone(),
            ),
        };
        let poisoned = Decoded {
            replayed: false,
            not_yet: 0,
            item: Err((meta, rejection)),
        };
        let mut backoff = Backoff::default();
        while let Err(e) = self.try_process(std::slice::from_ref(&poisoned)).await {
            tracing::error!(queue = %self.queue, error = %e, "cannot even record a rejection; retrying");
            backoff.wait(&CancellationToken::new()).await;
        }
    }

    // Long: the batch's one transaction step by step (inbox, handler, outcomes, outbox, commit),
    // as the module docs number them.
    pub(super) async fn try_process(&self, decoded: &[Decoded]) -> Result<Committed, HandlerError> {
        // Same message twice in one batch (a producer retry): the first one counts.
        let mut seen = HashSet::with_capacity(decoded.len());
        let mut keys = Vec::with_capacity(decoded.len());
        for d in decoded {
            let key = match &d.item {
                Ok(i) => (i.envelope.source.clone(), i.envelope.id.clone()),
                Err((meta, _)) => meta.key.clone(),
            };
            if seen.insert(key.clone()) {
                keys.push(key);
            }
        }
        let replayed: Vec<MessageKey> = decoded
            .iter()
            .filter(|d| d.replayed)
            .map(|d| match &d.item {
                Ok(i) => (i.envelope.source.clone(), i.envelope.id.clone()),
                Err((meta, _)) => meta.key.clone(),
            })
            .collect();
        let tx = self.db.begin().await?;
        inbox::forget_rejected(&tx, &replayed).await?;
        let fresh = inbox::record_new(&tx, &keys).await?;
        let mut todo: Vec<Inbound> = Vec::new();
        // The index in `decoded` of each message of `todo`.
        let mut todo_at: Vec<usize> = Vec::new();
        let mut rejected: Vec<(RejectedMeta, Rejection)> = Vec::new();
        // The span of each rejected message (none for one that did not decode): its
        // `<service>.message.rejected.v1` carries the message's trace.
        let mut rejected_spans: Vec<tracing::Span> = Vec::new();
        let mut taken = HashSet::with_capacity(fresh.len());
        for (at, d) in decoded.iter().enumerate() {
            match &d.item {
                Ok(i) => {
                    let key = (i.envelope.source.clone(), i.envelope.id.clone());
                    if fresh.contains(&key) && taken.insert(key) {
                        todo.push(i.clone());
                        todo_at.push(at);
                    }
                }
                Err((meta, why)) => {
                    if fresh.contains(&meta.key) && taken.insert(meta.key.clone()) {
                        rejected.push((meta.clone(), why.clone()));
                        rejected_spans.push(tracing::Span::none());
                    }
                }
            }
        }
        let duplicates = decoded.len() - todo.len() - rejected.len();
        if duplicates > 0 {
            metrics::counter!("restance_bus_duplicates_total", "queue" => self.queue.clone())
                .increment(duplicates as u64);
        }
        let mut effects = Effects::new(self.source.clone());
        let mut committed = Committed::default();
        let mut forget: Vec<MessageKey> = Vec::new();
        if !todo.is_empty() {
            let outcomes = AssertUnwindSafe(self.handler.handle(&tx, &todo, &mut effects))
                .catch_unwind()
                .await
                .map_err(|_| HandlerError::Other("the handler panicked".into()))??;
            if outcomes.len() != todo.len() {
                return Err(HandlerError::Other(format!(
                    "handler returned {} outcomes for {} messages",
                    outcomes.len(),
                    todo.len()
                )));
            }
            for ((inbound, at), outcome) in todo.iter().zip(todo_at).zip(outcomes) {
                let key = (inbound.envelope.source.clone(), inbound.envelope.id.clone());
                let why = match outcome {
                    Outcome::Done => continue,
                    Outcome::Rejected(why) => why,
                    Outcome::NotYet { reason, rejection } => {
                        if self
                            .settings
                            .not_yet_pause(decoded[at].not_yet + 1)
                            .is_some()
                        {
                            // Handled again later: as if it had not arrived yet.
                            forget.push(key);
                            committed.deferred.push((at, reason));
                            continue;
                        }
                        tracing::info!(queue = %self.queue, message_id = %key.1, reason,
                            attempts = decoded[at].not_yet + 1,
                            "message still names something not known after its retries; dead-lettering it");
                        committed.gave_up.push(reason);
                        rejection
                    }
                };
                let meta = RejectedMeta {
                    key,
                    message_type: inbound.envelope.r#type.clone(),
                    routing_key: inbound.envelope.r#type.clone(),
                    body: inbound.raw.to_vec(),
                };
                rejected.push((meta, why));
                rejected_spans.push(inbound.span.clone());
            }
        }
        if !forget.is_empty() {
            inbox::forget(&tx, &forget).await?;
        }
        let mut out = effects.into_messages();
        for ((meta, why), span) in rejected.iter().zip(&rejected_spans) {
            // The type passed the routing-key pattern, but its version digits are input: a
            // national id can hide there (found by fuzzing), so the log shows it with long
            // digit runs hidden, like the rejection reason does.
            tracing::warn!(queue = %self.queue, message_id = %meta.key.1, source = %meta.key.0,
                message_type = %restance_contracts::hide_digit_runs(&meta.message_type),
                reason = %why.short_reason(), "message rejected");
            let delivery = RejectedDelivery {
                message_id: &meta.key.1,
                source: &meta.key.0,
                message_type: &meta.message_type,
                routing_key: &meta.routing_key,
                body: &meta.body,
            };
            let pair = span
                .in_scope(|| {
                    rejection_messages(
                        &self.topology,
                        &self.subscription.service,
                        &self.queue,
                        &delivery,
                        why,
                    )
                })
                .map_err(|e| HandlerError::Other(format!("cannot serialise a rejection: {e}")))?;
            out.extend(pair);
        }
        if !rejected.is_empty() {
            let keys: Vec<MessageKey> = rejected.iter().map(|(m, _)| m.key.clone()).collect();
            inbox::mark_rejected(&tx, &keys).await?;
            metrics::counter!("restance_bus_rejected_total", "queue" => self.queue.clone())
                .increment(rejected.len() as u64);
        }
        self.outbox.enqueue(&tx, &out).await?;
        crate::crashpoint::reached("consumer.before_commit");
        tx.commit().await?;
        crate::crashpoint::reached("consumer.after_commit");
        self.readiness.set_database(true);
        if !out.is_empty() {
            self.outbox.wake();
        }
        Ok(committed)
    }
}
