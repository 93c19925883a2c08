//! The inbox: `(source, id)` of every message whose effects were committed.
//!
//! A message id is inserted in the same transaction as the message's effects; a message whose
//! key is already there is a duplicate (a redelivery, or a producer's retry) and is skipped.

use chrono::Utc;
use restance_store::{rows_per_statement, stmt, value_rows};
use sea_orm::{ConnectionTrait, DbErr, Value};
use std::collections::HashSet;

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

fn key_condition(start: usize, n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "(source = ${} AND message_id = ${})",
                start + 2 * i,
                start + 2 * i + 1
            )
        })
        .collect::<Vec<_>>()
        .join(" OR ")
}

fn key_values(keys: &[MessageKey]) -> Vec<Value> {
    keys.iter()
        .flat_map(|(s, i)| [Value::from(s.clone()), Value::from(i.clone())])
        .collect()
}

/// Marks keys (recorded in this transaction) as rejected: their effect was a dead letter.
pub async fn mark_rejected(tx: &impl ConnectionTrait, keys: &[MessageKey]) -> Result<(), DbErr> {
    for chunk in keys.chunks(rows_per_statement(2)) {
        let sql = format!(
            "UPDATE restance_inbox SET rejected = TRUE WHERE {}",
            key_condition(1, chunk.len())
        );
        tx.execute_raw(stmt(tx, sql, key_values(chunk))).await?;
    }
    Ok(())
}

/// Forgets rejections of replayed messages so they are processed again; keys whose message
/// took effect stay (a replay of those is still a duplicate).
pub async fn forget_rejected(tx: &impl ConnectionTrait, keys: &[MessageKey]) -> Result<(), DbErr> {
    for chunk in keys.chunks(rows_per_statement(2)) {
        let sql = format!(
            "DELETE FROM restance_inbox WHERE rejected AND ({})",
            key_condition(1, chunk.len())
        );
        tx.execute_raw(stmt(tx, sql, key_values(chunk))).await?;
    }
    Ok(())
}

/// Removes keys recorded in this transaction whose message is to be handled again later (it
/// named something not learnt yet: [`crate::Outcome::NotYet`]), so the next handling finds
/// it new.
pub async fn forget(tx: &impl ConnectionTrait, keys: &[MessageKey]) -> Result<(), DbErr> {
    for chunk in keys.chunks(rows_per_statement(2)) {
        let sql = format!(
            "DELETE FROM restance_inbox WHERE {}",
            key_condition(1, chunk.len())
        );
        tx.execute_raw(stmt(tx, sql, key_values(chunk))).await?;
    }
    Ok(())
}
