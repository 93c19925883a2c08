//! The inbox: `(source, id)` of every message whose effects were committed.
//!
//! A message id is inserted in the same transaction as the message's effects; a message whose
//! key is already there is a duplicate (a redelivery, or a producer's retry) and is skipped.

use chrono::Utc;
use restance_store::{rows_per_statement, stmt, value_rows};
use sea_orm::sea_query::{Cond, Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DbErr, Value};
use std::collections::HashSet;

/// The inbox table.
const INBOX: &str = "restance_inbox";

/// The idempotency key of a message.
pub type MessageKey = (String, String);

/// Records `keys` and returns those that were not there before (the ones to process).
/// `keys` must not contain duplicates.
pub async fn record_new(
    tx: &impl ConnectionTrait,
    keys: &[MessageKey],
) -> Result<HashSet<MessageKey>, DbErr> {
    let mut fresh = HashSet::with_capacity(keys.len());
    let now = Utc::now();
    for chunk in keys.chunks(rows_per_statement(3)) {
        // Hand-written: every consumed message passes here, in runs of up to a batch
        // (bench-ingest, docs/performance.md); one multi-row statement with RETURNING.
        let sql = format!(
            "INSERT INTO restance_inbox (source, message_id, received_at) VALUES {} \
             ON CONFLICT DO NOTHING RETURNING source, message_id",
            value_rows(chunk.len(), 3)
        );
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 3);
        for (source, id) in chunk {
            values.push(source.clone().into());
            values.push(id.clone().into());
            values.push(now.into());
        }
        for row in tx.query_all_raw(stmt(tx, sql, values)).await? {
            let source: String = row.try_get_by_index(0)?;
            let id: String = row.try_get_by_index(1)?;
            fresh.insert((source, id));
        }
    }
    Ok(fresh)
}

/// `(source = … AND message_id = …) OR …` over `keys`.
fn any_key(keys: &[MessageKey]) -> Cond {
    keys.iter().fold(Cond::any(), |any, (source, id)| {
        any.add(
            Cond::all()
                .add(Expr::col("source").eq(source.as_str()))
                .add(Expr::col("message_id").eq(id.as_str())),
        )
    })
}

/// Marks keys (recorded in this transaction) as rejected: their effect was a dead letter.
pub async fn mark_rejected(tx: &impl ConnectionTrait, keys: &[MessageKey]) -> Result<(), DbErr> {
    for chunk in keys.chunks(rows_per_statement(2)) {
        let update = Query::update()
            .table(INBOX)
            .value("rejected", true)
            .cond_where(any_key(chunk))
            .to_owned();
        tx.execute(&update).await?;
    }
    Ok(())
}

/// Forgets rejections of replayed messages so they are processed again; keys whose message
/// took effect stay (a replay of those is still a duplicate).
pub async fn forget_rejected(tx: &impl ConnectionTrait, keys: &[MessageKey]) -> Result<(), DbErr> {
    for chunk in keys.chunks(rows_per_statement(2)) {
        let delete = Query::delete()
            .from_table(INBOX)
            .cond_where(Cond::all().add(Expr::col("rejected")).add(any_key(chunk)))
            .to_owned();
        tx.execute(&delete).await?;
    }
    Ok(())
}

/// Removes keys recorded in this transaction whose message is to be handled again later (it
/// named something not learnt yet: [`crate::Outcome::NotYet`]), so the next handling finds
/// it new.
pub async fn forget(tx: &impl ConnectionTrait, keys: &[MessageKey]) -> Result<(), DbErr> {
    for chunk in keys.chunks(rows_per_statement(2)) {
        let delete = Query::delete()
            .from_table(INBOX)
            .cond_where(any_key(chunk))
            .to_owned();
        tx.execute(&delete).await?;
    }
    Ok(())
}
