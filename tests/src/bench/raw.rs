//! The raw limits of this machine: confirmed publishes, acked consumes, multi-row inserts.

#![allow(clippy::float_arithmetic)]

use super::*;

/// A quorum queue of its own exchange for the raw measurements; [`RawQueue::delete`] removes
/// both.
#[derive(Debug)]
pub struct RawQueue {
    exchange: String,
    queue: String,
}

impl RawQueue {
    /// A fresh exchange and a quorum queue bound to `raw`.
    pub async fn declare() -> anyhow::Result<Self> {
        let exchange = unique_exchange();
        let queue = format!("{exchange}.raw");
        declare_quorum_queue(&exchange, &queue, &["raw"]).await?;
        Ok(Self { exchange, queue })
    }

    /// Publishes `n` persistent 1 KiB messages with confirms, at most [`RAW_WINDOW`] awaiting
    /// their confirm at any time (a sliding window); the seconds it took.
    pub async fn publish(&self, n: usize) -> anyhow::Result<f64> {
        let conn = connect().await?;
        let ch = conn.create_channel().await?;
        ch.confirm_select(ConfirmSelectOptions::default()).await?;
        let body = vec![b'x'; RAW_BODY];
        let t = Instant::now();
        let mut last = Instant::now();
        let mut pending = std::collections::VecDeque::with_capacity(RAW_WINDOW);
        for i in 0..n {
            let c = ch
                .basic_publish(
                    self.exchange.as_str().into(),
                    "raw".into(),
                    BasicPublishOptions::default(),
                    &body,
                    BasicProperties::default().with_delivery_mode(2),
                )
                .await?;
            pending.push_back(c);
            if pending.len() >= RAW_WINDOW
                && let Some(c) = pending.pop_front()
            {
                anyhow::ensure!(c.await?.is_ack(), "the broker nacked a raw publish");
            }
            if last.elapsed() > Duration::from_secs(10) {
                progress(t, &format!("{i}/{n} published"));
                last = Instant::now();
            }
        }
        for c in pending {
            anyhow::ensure!(c.await?.is_ack(), "the broker nacked a raw publish");
        }
        let secs = t.elapsed().as_secs_f64();
        conn.close(200, "done".into()).await.ok();
        Ok(secs)
    }

    /// Consumes `n` messages with manual acks: prefetch [`RAW_PREFETCH`], one `multiple` ack
    /// every [`RAW_ACK_EVERY`] deliveries; the seconds it took.
    pub async fn consume(&self, n: usize) -> anyhow::Result<f64> {
        let conn = connect().await?;
        let ch = conn.create_channel().await?;
        ch.basic_qos(RAW_PREFETCH, BasicQosOptions::default())
            .await?;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
        let t = Instant::now();
        let consumer = ch
            .basic_consume(
                self.queue.as_str().into(),
                "bench-raw".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        // The delegate runs in delivery order; it only hands the tag on.
        consumer.set_delegate(move |d: DeliveryResult| {
            if let Ok(Some(d)) = d {
                let _ = tx.send(d.delivery_tag);
            }
            std::future::ready(())
        });
        let mut seen = 0usize;
        let mut unacked = 0u64;
        let mut last = Instant::now();
        while seen < n {
            let tag = tokio::time::timeout(Duration::from_secs(60), rx.recv())
                .await
                .map_err(|_| anyhow::anyhow!("no delivery for 60 s after {seen} of {n}"))?
                .ok_or_else(|| anyhow::anyhow!("the raw consumer stopped after {seen} of {n}"))?;
            seen += 1;
            unacked += 1;
            if unacked >= RAW_ACK_EVERY || seen == n {
                ch.basic_ack(tag, BasicAckOptions { multiple: true })
                    .await?;
                unacked = 0;
            }
            if last.elapsed() > Duration::from_secs(10) {
                progress(t, &format!("{seen}/{n} consumed"));
                last = Instant::now();
            }
        }
        let secs = t.elapsed().as_secs_f64();
        conn.close(200, "done".into()).await.ok();
        Ok(secs)
    }

    /// Deletes the queue and its exchange.
    pub async fn delete(self) {
        delete_queue(&self.queue).await;
        delete_exchange(&self.exchange).await;
    }
}

/// `n` persistent 1 KiB messages with confirms into a fresh quorum queue (deleted afterwards);
/// the seconds it took.
pub async fn raw_publish(n: usize) -> anyhow::Result<f64> {
    let q = RawQueue::declare().await?;
    let secs = q.publish(n).await;
    q.delete().await;
    secs
}

/// `n` rows shaped like a claim row into a plain table (primary key only) of a fresh database,
/// [`RAW_ROWS_PER_INSERT`] rows per multi-row `INSERT … VALUES` and per transaction; the
/// seconds it took and the CPU used (measured before the connection closes: a PostgreSQL
/// backend's CPU time goes with it).
pub async fn raw_insert(n: usize) -> anyhow::Result<(f64, CpuUse)> {
    const COLS: usize = 8;
    let db = TestDatabase::postgres().await?;
    let result = async {
        let conn = Database::connect(&db.url).await?;
        conn.execute_unprepared(
            "CREATE TABLE raw_claims (
                seq BIGSERIAL PRIMARY KEY,
                claim_id TEXT NOT NULL,
                municipality TEXT NOT NULL,
                debtor_id TEXT NOT NULL,
                amount_minor BIGINT NOT NULL,
                due_date DATE NOT NULL,
                reference_key TEXT NOT NULL,
                state TEXT NOT NULL,
                content_hash TEXT NOT NULL
            )",
        )
        .await?;
        let backend = conn.get_database_backend();
        let due = chrono::NaiveDate::from_ymd_opt(2026, 12, 15)
            .ok_or_else(|| anyhow::anyhow!("bad date"))?;
        let cpu = CpuMeter::start(None);
        let t = Instant::now();
        let mut last = Instant::now();
        let mut start = 0;
        while start < n {
            let end = (start + RAW_ROWS_PER_INSERT).min(n);
            let mut sql = String::from(
                "INSERT INTO raw_claims (claim_id, municipality, debtor_id, amount_minor, due_date, \
                 reference_key, state, content_hash) VALUES ",
            );
            let mut values: Vec<Value> = Vec::with_capacity((end - start) * COLS);
            for i in start..end {
                let p = values.len();
                if i > start {
                    sql.push(',');
                }
                sql.push('(');
                for c in 1..=COLS {
                    if c > 1 {
                        sql.push(',');
                    }
                    sql.push('$');
                    sql.push_str(&(p + c).to_string());
                }
                sql.push(')');
                values.push(format!("{:032x}", i as u128 * 0x9e37_79b9_7f4a_7c15).into());
                values.push("0746".into());
                values.push(format!("P-{}", i % 50_000).into());
                values.push((10_000 + (i as i64 % 4000) * 100).into());
                values.push(due.into());
                values.push(format!("{:015}", i + 1).into());
                values.push("open".into());
                values.push(format!("{:064x}", i).into());
            }
            let tx = sea_orm::TransactionTrait::begin(&conn).await?;
            tx.execute_raw(Statement::from_sql_and_values(backend, sql, values))
                .await?;
            tx.commit().await?;
            start = end;
            if last.elapsed() > Duration::from_secs(10) {
                progress(t, &format!("{start}/{n} rows inserted"));
                last = Instant::now();
            }
        }
        let secs = t.elapsed().as_secs_f64();
        let cpu = cpu.stop();
        conn.close().await.ok();
        anyhow::Ok((secs, cpu))
    }
    .await;
    db.drop_database().await;
    result
}
