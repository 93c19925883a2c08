//! The outbox and its relay.
//!
//! Handlers never publish: they write [`OutgoingMessage`]s into `restance_outbox` in the same
//! transaction as their effects. The [`OutboxRelay`] publishes rows in `seq` order with
//! confirms, then deletes them. A crash between confirm and delete republishes a row; consumers
//! dedupe it by `(source, id)`.
//!
//! **How a relay claims rows (several replicas, one outbox).** Every replica of a service runs a
//! relay on the same `restance_outbox`. On PostgreSQL a round is one transaction that first
//! takes the transaction-scoped advisory lock [`RELAY_LOCK`] (`pg_try_advisory_xact_lock`),
//! then reads its rows, publishes them, waits for every confirm, deletes them and commits: the
//! lock is held across publish + confirm + delete, so no two relays ever hold the same rows, and
//! commit (or a dead connection's rollback) is what lets the next relay in. A relay that does
//! not get the lock publishes nothing that round and tries again shortly (the holder is
//! publishing everybody's rows). One relay at a time rather than `FOR UPDATE SKIP LOCKED` on
//! disjoint rows: consumers keep absolute state from our events
//! (`invoicing.claim.balance_changed.v1` carries the whole balance), so two relays publishing
//! neighbouring rounds at once could deliver a claim's older balance after its newer one; with
//! the lock rounds follow each other in `seq` order, as with a single replica. What is left is
//! the crash window (a relay dies after the broker confirmed, before its commit): those rows go
//! out again, and consumers dedupe them.
//!
//! On SQLite (one process per database file, one writer) there is one relay and no lock: a
//! write transaction held across the publish would stall the consumer, so a round reads,
//! publishes and deletes as separate statements.
//!
//! While the outbox is busy the relay reads the next round's rows while the broker confirms
//! the current round, and deletes a round's rows by their `seq` range when it read every `seq`
//! of that range (the usual case), by their list of `seq`s otherwise. Rows read ahead are
//! checked to be still there once the next round holds the lock (another relay may have
//! published them in between).

use crate::config::BusSettings;
use crate::connection::Backoff;
use crate::health::Readiness;
use crate::publisher::{ConfirmedPublisher, OutgoingMessage};
use chrono::Utc;
use restance_store::{is_postgres, rows_per_statement, stmt, value_rows};
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, TransactionTrait, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The outbox table.
const OUTBOX: &str = "restance_outbox";

/// The PostgreSQL advisory lock a relay holds for one round (transaction-scoped): one relay
/// publishes at a time. The database is the service's own, so one key serves every service.
pub const RELAY_LOCK: i64 = 0x7265_7374_5f6f_7574; // "rest_out"

/// How long a relay that found another relay publishing waits before trying again.
const BUSY_RETRY: std::time::Duration = std::time::Duration::from_millis(25);

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
            // Hand-written: every published event is inserted here, a transaction's events in
            // one multi-row statement (bench-ingest, docs/performance.md).
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
        let count = Query::select()
            .expr(Expr::col("seq").count())
            .from(OUTBOX)
            .to_owned();
        match db.query_one(&count).await? {
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

/// What a round did.
#[derive(Debug)]
enum Rounded {
    /// Published (and deleted) this many rows; the next round's rows if they were read ahead.
    Published(usize, Option<Round>),
    /// Another relay holds the lock: it is publishing (everybody's rows).
    Busy,
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
        metrics::counter!("restance_outbox_published_total").increment(0);
        metrics::counter!("restance_bus_published_total").increment(0);
        metrics::counter!("restance_bus_publish_failures_total").increment(0);
        if let Err(err) = self.publisher.connect().await {
            tracing::warn!(error = %err, "outbox relay cannot reach the broker yet; will retry");
        }
        // The next round's rows, read while the broker confirmed the last round.
        let mut ahead: Option<Round> = None;
        loop {
            if cancel.is_cancelled() {
                break;
            }
            let round = self.round(ahead.take(), true).await;
            match self.stay_connected(round).await {
                Ok(Rounded::Published(n, next)) if n >= self.settings.relay_batch => {
                    backoff.reset();
                    ahead = next;
                    continue;
                }
                Ok(Rounded::Published(..)) => {
                    backoff.reset();
                    // A short round read every row there was: the outbox was empty.
                    metrics::gauge!("restance_outbox_last_drained_timestamp_seconds")
                        .set(Utc::now().timestamp() as f64);
                    tokio::select! {
                        () = cancel.cancelled() => break,
                        () = self.outbox.wake.notified() => {}
                        () = tokio::time::sleep(self.settings.relay_poll()) => {}
                    }
                }
                Ok(Rounded::Busy) => {
                    // Another replica's relay is publishing; it takes our rows too. Try again
                    // soon, so rows it read before ours were committed wait no longer than that.
                    backoff.reset();
                    tokio::select! {
                        () = cancel.cancelled() => break,
                        () = tokio::time::sleep(BUSY_RETRY.min(self.settings.relay_poll())) => {}
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
        // Graceful shutdown: flush what the last committed batches wrote (or see another
        // replica's relay do it).
        let deadline = tokio::time::Instant::now() + drain_for;
        while tokio::time::Instant::now() < deadline {
            match self.round(None, false).await {
                Ok(Rounded::Published(0, _)) => break,
                Ok(Rounded::Published(..)) => {}
                Ok(Rounded::Busy) => tokio::time::sleep(BUSY_RETRY).await,
                Err(err) => {
                    tracing::warn!(error = %err, "outbox not fully flushed at shutdown; the rest goes out at next start");
                    break;
                }
            }
        }
        self.publisher.close().await;
    }

    /// After a round that published nothing (an empty outbox, or another replica's relay
    /// holding the lock): makes sure this relay's own connection is up all the same. A publish
    /// that failed during a broker outage marks the service "not publishing"; without this, a
    /// replica whose rows all went out through another replica's relay after the outage would
    /// stay unready until it next had rows of its own, which after the day's work may be never.
    async fn stay_connected(
        &self,
        round: Result<Rounded, RelayError>,
    ) -> Result<Rounded, RelayError> {
        match round {
            Ok(Rounded::Published(0, _) | Rounded::Busy) => {
                self.publisher.connect().await?;
                round
            }
            other => other,
        }
    }

    /// Publishes one round of up to `relay_batch` rows; returns how many were published (0
    /// also when another relay holds the lock and is publishing).
    pub async fn publish_round(&self) -> Result<usize, RelayError> {
        match self.round(None, false).await? {
            Rounded::Published(n, _) => Ok(n),
            Rounded::Busy => Ok(0),
        }
    }

    /// One round. On PostgreSQL inside a transaction holding [`RELAY_LOCK`] from before the
    /// read until after the delete (see the module docs); on SQLite without one.
    async fn round(&self, ahead: Option<Round>, read_ahead: bool) -> Result<Rounded, RelayError> {
        if !is_postgres(&self.db) {
            let (n, next) = self.publish_and_delete(&self.db, ahead, read_ahead).await?;
            return Ok(Rounded::Published(n, next));
        }
        let tx = self.db.begin().await?;
        let locked = restance_store::try_advisory_lock(&tx, RELAY_LOCK).await?;
        if !locked {
            tx.rollback().await?;
            return Ok(Rounded::Busy);
        }
        // Rows read ahead before this transaction held the lock: another relay may have
        // published them since.
        let ahead = match ahead {
            Some(r) if still_pending(&tx, &r.seqs).await? => Some(r),
            _ => None,
        };
        let (n, next) = self.publish_and_delete(&tx, ahead, read_ahead).await?;
        tx.commit().await?;
        Ok(Rounded::Published(n, next))
    }

    /// Publishes `ahead` (or the rows read now through `conn`), then deletes them through
    /// `conn`. With `read_ahead` and a full round, the next round's rows are read (on the pool)
    /// while the broker confirms this one and returned.
    async fn publish_and_delete(
        &self,
        conn: &impl ConnectionTrait,
        ahead: Option<Round>,
        read_ahead: bool,
    ) -> Result<(usize, Option<Round>), RelayError> {
        let started = std::time::Instant::now();
        let round = match ahead {
            Some(r) if !r.seqs.is_empty() => r,
            _ => self.read(conn).await?,
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
                self.read_from(&self.db, last)
            );
            (published, next.ok())
        } else {
            (self.publisher.publish_all(&round.messages).await, None)
        };
        published?;
        crate::crashpoint::reached("relay.after_publish");
        let publish = started.elapsed() - read;
        delete(conn, &round.seqs).await?;
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
    async fn read(&self, conn: &impl ConnectionTrait) -> Result<Round, DbErr> {
        let from = self.cursor.load(Ordering::SeqCst);
        let round = self.read_from(conn, from).await?;
        if !round.seqs.is_empty() || from == 0 {
            return Ok(round);
        }
        self.cursor.store(0, Ordering::SeqCst);
        self.read_from(conn, 0).await
    }

    /// Up to `relay_batch` rows with a `seq` above `from`, in `seq` order.
    async fn read_from(&self, db: &impl ConnectionTrait, from: i64) -> Result<Round, DbErr> {
        let limit = u64::try_from(self.settings.relay_batch).unwrap_or(1000);
        let select = Query::select()
            .columns([
                "seq",
                "exchange",
                "routing_key",
                "message_id",
                "message_type",
                "headers",
                "body",
                "mandatory",
            ])
            .from(OUTBOX)
            .and_where(Expr::col("seq").gt(from))
            .order_by("seq", Order::Asc)
            .limit(Ord::max(limit, 1))
            .to_owned();
        let rows = db.query_all(&select).await?;
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
}

/// Deletes published rows (`seqs` ascending). When they are every `seq` from the first to
/// the last, one range does it: `seq` values are never reused, so no other row can lie in
/// that range. Otherwise (a gap: a rolled-back transaction, or one not yet committed when
/// the rows were read, whose row must stay) the rows are named one by one.
async fn delete(db: &impl ConnectionTrait, seqs: &[i64]) -> Result<(), DbErr> {
    let (Some(&first), Some(&last)) = (seqs.first(), seqs.last()) else {
        return Ok(());
    };
    if usize::try_from(last - first).ok() == Some(seqs.len() - 1) {
        let range = Query::delete()
            .from_table(OUTBOX)
            .and_where(Expr::col("seq").between(first, last))
            .to_owned();
        db.execute(&range).await?;
        return Ok(());
    }
    for chunk in seqs.chunks(rows_per_statement(1)) {
        let named = Query::delete()
            .from_table(OUTBOX)
            .and_where(Expr::col("seq").is_in(chunk.iter().copied()))
            .to_owned();
        db.execute(&named).await?;
    }
    Ok(())
}

/// True when every row of `seqs` (ascending) is still in the outbox: none was published by
/// another relay since it was read.
async fn still_pending(db: &impl ConnectionTrait, seqs: &[i64]) -> Result<bool, DbErr> {
    let (Some(&first), Some(&last)) = (seqs.first(), seqs.last()) else {
        return Ok(false);
    };
    let mut found = 0i64;
    if usize::try_from(last - first).ok() == Some(seqs.len() - 1) {
        // Every `seq` of the range is one of ours, so the range holds nothing else.
        if let Some(r) = db
            .query_one(&count_where(Expr::col("seq").between(first, last)))
            .await?
        {
            found = r.try_get_by_index(0)?;
        }
    } else {
        for chunk in seqs.chunks(rows_per_statement(1)) {
            let named = count_where(Expr::col("seq").is_in(chunk.iter().copied()));
            if let Some(r) = db.query_one(&named).await? {
                found += r.try_get_by_index::<i64>(0)?;
            }
        }
    }
    Ok(usize::try_from(found).ok() == Some(seqs.len()))
}

/// `SELECT COUNT(seq) FROM restance_outbox WHERE <condition>`.
fn count_where(condition: Expr) -> SelectStatement {
    Query::select()
        .expr(Expr::col("seq").count())
        .from(OUTBOX)
        .and_where(condition)
        .to_owned()
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
