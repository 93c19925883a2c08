//! The outbox and its relay.
//!
//! Handlers never publish: they write [`OutgoingMessage`]s into `restance_outbox` in the same
//! transaction as their effects. The [`OutboxRelay`] publishes rows in `seq` order with
//! confirms, then deletes them. A crash between confirm and delete republishes a row; consumers
//! dedupe it by `(source, id)`. With several replicas of one service two relays may publish the
//! same row — harmless for the same reason.
//!
//! While the outbox is busy the relay reads the next round's rows while the broker confirms
//! the current round, and deletes a round's rows by their `seq` range when it read every `seq`
//! of that range (the usual case), by their list of `seq`s otherwise.

use crate::config::BusSettings;
use crate::connection::Backoff;
use crate::health::Readiness;
use crate::publisher::{ConfirmedPublisher, OutgoingMessage};
use crate::sql::{placeholder_list, rows_per_statement, stmt, value_rows};
use chrono::Utc;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Writes to the outbox and wakes the relay.
#[derive(Debug, Clone, Default)]
pub struct Outbox {
    wake: Arc<Notify>,
}

impl Outbox {
    /// A new outbox handle with its own wake-up signal.
    pub fn new() -> Self {
        Self::default()
    }

    /// Inserts `messages` within the caller's transaction. Call [`Self::wake`] after commit.
    pub async fn enqueue(
        &self,
        tx: &impl ConnectionTrait,
        messages: &[OutgoingMessage],
    ) -> Result<(), DbErr> {
        const COLS: usize = 8;
        let now = Utc::now();
        for chunk in messages.chunks(rows_per_statement(COLS)) {
            let sql = format!(
                "INSERT INTO restance_outbox (exchange, routing_key, message_id, message_type, \
                 headers, body, mandatory, created_at) VALUES {}",
                value_rows(chunk.len(), COLS)
            );
            let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * COLS);
            for m in chunk {
                let headers = serde_json::to_string(&m.headers)
                    .map_err(|e| DbErr::Custom(format!("outbox headers: {e}")))?;
                values.push(m.exchange.clone().into());
                values.push(m.routing_key.clone().into());
                values.push(m.message_id.clone().into());
                values.push(m.message_type.clone().into());
                values.push(headers.into());
                values.push(m.body.clone().into());
                values.push(m.mandatory.into());
                values.push(now.into());
            }
            tx.execute_raw(stmt(tx, sql, values)).await?;
        }
        Ok(())
    }

    /// Tells the relay there is something to publish (after the transaction committed).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Rows not yet published.
    pub async fn pending(db: &impl ConnectionTrait) -> Result<i64, DbErr> {
        let row = db
            .query_one_raw(stmt(db, "SELECT COUNT(*) FROM restance_outbox", vec![]))
            .await?;
        match row {
            Some(r) => r.try_get_by_index::<i64>(0),
            None => Ok(0),
        }
    }
}

/// Publishes the outbox in order, with confirms, until cancelled; then drains what is left.
#[derive(Debug)]
pub struct OutboxRelay {
    db: DatabaseConnection,
    publisher: Arc<ConfirmedPublisher>,
    outbox: Outbox,
    settings: BusSettings,
    readiness: Readiness,
    /// The last `seq` published while the outbox was busy. Reading on from it skips the dead
    /// rows (deleted, not yet vacuumed) that a scan from the start wades through ever more
    /// slowly under load. When a round comes back short the cursor returns to 0, so a row
    /// committed late with a smaller `seq` is still picked up.
    cursor: AtomicI64,
}

/// One round's rows, read from the outbox in `seq` order.
#[derive(Debug, Default)]
struct Round {
    seqs: Vec<i64>,
    messages: Vec<OutgoingMessage>,
    /// As many rows as asked for: more are probably waiting.
    full: bool,
}

impl OutboxRelay {
    /// A relay for `db`'s outbox.
    pub fn new(
        db: DatabaseConnection,
        publisher: Arc<ConfirmedPublisher>,
        outbox: Outbox,
        settings: &BusSettings,
        readiness: Readiness,
    ) -> Self {
        Self {
            db,
            publisher,
            outbox,
            settings: settings.clone(),
            readiness,
            cursor: AtomicI64::new(0),
        }
    }

    /// Runs until `cancel` fires, then publishes what remains (bounded by `drain_for`).
    pub async fn run(self, cancel: CancellationToken, drain_for: std::time::Duration) {
        let mut backoff = Backoff::default();
        if let Err(err) = self.publisher.connect().await {
            tracing::warn!(error = %err, "outbox relay cannot reach the broker yet; will retry");
        }
        // The next round's rows, read while the broker confirmed the last round.
        let mut ahead: Option<Round> = None;
        loop {
            if cancel.is_cancelled() {
                break;
            }
            match self.round(ahead.take(), true).await {
                Ok((n, next)) if n >= self.settings.relay_batch => {
                    backoff.reset();
                    ahead = next;
                    continue;
                }
                Ok(_) => {
                    backoff.reset();
                    tokio::select! {
                        () = cancel.cancelled() => break,
                        () = self.outbox.wake.notified() => {}
                        () = tokio::time::sleep(self.settings.relay_poll()) => {}
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, "outbox relay round failed; retrying with backoff");
                    if !backoff.wait(&cancel).await {
                        break;
                    }
                }
            }
        }
        // Graceful shutdown: flush what the last committed batches wrote.
        let deadline = tokio::time::Instant::now() + drain_for;
        while tokio::time::Instant::now() < deadline {
            match self.publish_round().await {
                Ok(0) => break,
                Ok(_) => {}
                Err(err) => {
                    tracing::warn!(error = %err, "outbox not fully flushed at shutdown; the rest goes out at next start");
                    break;
                }
            }
        }
        self.publisher.close().await;
    }

    /// Publishes one round of up to `relay_batch` rows; returns how many were published.
    pub async fn publish_round(&self) -> Result<usize, RelayError> {
        self.round(None, false).await.map(|(n, _)| n)
    }

    /// Publishes `ahead` (or the rows read now), then deletes them. With `read_ahead` and a full
    /// round, the next round's rows are read while the broker confirms this one and returned.
    async fn round(
        &self,
        ahead: Option<Round>,
        read_ahead: bool,
    ) -> Result<(usize, Option<Round>), RelayError> {
        let started = std::time::Instant::now();
        let round = match ahead {
            Some(r) if !r.seqs.is_empty() => r,
            _ => self.read().await?,
        };
        let Some(&last) = round.seqs.last() else {
            return Ok((0, None));
        };
        let read = started.elapsed();
        let (published, next) = if read_ahead && round.full {
            // Rows beyond `last` are not this round's, whatever becomes of it: reading them
            // now costs nothing but the read if the publish fails.
            let (published, next) = tokio::join!(
                self.publisher.publish_all(&round.messages),
                self.read_from(last)
            );
            (published, next.ok())
        } else {
            (self.publisher.publish_all(&round.messages).await, None)
        };
        published?;
        crate::crashpoint::reached("relay.after_publish");
        let publish = started.elapsed() - read;
        self.delete(&round.seqs).await?;
        tracing::debug!(
            rows = round.seqs.len(),
            read_us = read.as_micros() as u64,
            publish_us = publish.as_micros() as u64,
            delete_us = (started.elapsed() - read - publish).as_micros() as u64,
            read_ahead = next.is_some(),
            "outbox round"
        );
        self.cursor
            .store(if round.full { last } else { 0 }, Ordering::SeqCst);
        self.readiness.set_publishing(true);
        metrics::counter!("restance_outbox_published_total").increment(round.seqs.len() as u64);
        Ok((round.seqs.len(), next))
    }

    /// The next rows: from the cursor, and from the start if nothing lies beyond it.
    async fn read(&self) -> Result<Round, DbErr> {
        let from = self.cursor.load(Ordering::SeqCst);
        let round = self.read_from(from).await?;
        if !round.seqs.is_empty() || from == 0 {
            return Ok(round);
        }
        self.cursor.store(0, Ordering::SeqCst);
        self.read_from(0).await
    }

    /// Up to `relay_batch` rows with a `seq` above `from`, in `seq` order.
    async fn read_from(&self, from: i64) -> Result<Round, DbErr> {
        let db = &self.db;
        let limit = i64::try_from(self.settings.relay_batch).unwrap_or(1000);
        let rows = db
            .query_all_raw(stmt(
                db,
                "SELECT seq, exchange, routing_key, message_id, message_type, headers, body, mandatory \
                 FROM restance_outbox WHERE seq > $1 ORDER BY seq LIMIT $2",
                vec![from.into(), limit.into()],
            ))
            .await?;
        let mut round = Round {
            seqs: Vec::with_capacity(rows.len()),
            messages: Vec::with_capacity(rows.len()),
            full: rows.len() >= self.settings.relay_batch,
        };
        for row in rows {
            round.seqs.push(row.try_get_by_index::<i64>(0)?);
            let headers: String = row.try_get_by_index(5)?;
            let headers: BTreeMap<String, String> =
                serde_json::from_str(&headers).unwrap_or_default();
            round.messages.push(OutgoingMessage {
                exchange: row.try_get_by_index(1)?,
                routing_key: row.try_get_by_index(2)?,
                message_id: row.try_get_by_index(3)?,
                message_type: row.try_get_by_index(4)?,
                headers,
                body: row.try_get_by_index(6)?,
                mandatory: row.try_get_by_index(7)?,
            });
        }
        Ok(round)
    }

    /// Deletes published rows (`seqs` ascending). When they are every `seq` from the first to
    /// the last, one range does it: `seq` values are never reused, so no other row can lie in
    /// that range. Otherwise (a gap: a rolled-back transaction, or one not yet committed when
    /// the rows were read, whose row must stay) the rows are named one by one.
    async fn delete(&self, seqs: &[i64]) -> Result<(), DbErr> {
        let db = &self.db;
        let (Some(&first), Some(&last)) = (seqs.first(), seqs.last()) else {
            return Ok(());
        };
        if usize::try_from(last - first).ok() == Some(seqs.len() - 1) {
            db.execute_raw(stmt(
                db,
                "DELETE FROM restance_outbox WHERE seq >= $1 AND seq <= $2",
                vec![first.into(), last.into()],
            ))
            .await?;
            return Ok(());
        }
        for chunk in seqs.chunks(rows_per_statement(1)) {
            let sql = format!(
                "DELETE FROM restance_outbox WHERE seq IN ({})",
                placeholder_list(1, chunk.len())
            );
            let values = chunk.iter().map(|s| Value::from(*s)).collect();
            db.execute_raw(stmt(db, sql, values)).await?;
        }
        Ok(())
    }
}

/// Why a relay round failed.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// Reading or deleting outbox rows failed.
    #[error("outbox database error: {0}")]
    Database(#[from] DbErr),
    /// Publishing failed.
    #[error(transparent)]
    Publish(#[from] crate::publisher::PublishError),
}
