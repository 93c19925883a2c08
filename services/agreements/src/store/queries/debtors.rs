//! Debtor rows: the write lock and the row locks every writer takes first, and who has an
//! agreement in force.

use std::collections::{BTreeMap, BTreeSet};

use super::DebtorKey;
use restance_store::{is_postgres, placeholder_list, rows_per_statement, stmt, value_rows};
use sea_orm::{ConnectionTrait, DbErr, Value};

/// Takes SQLite's write lock at the start of an API transaction (a no-op on PostgreSQL, where the
/// row locks of [`lock_debtors`] serialise writers). A SQLite transaction that reads first and
/// writes later fails at once with "database is locked" when another connection wrote meanwhile;
/// one that writes first waits for the lock (the busy timeout) instead.
pub async fn begin_write(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    restance_store::take_write_lock(db, "debtors", "debtor_id").await
}

/// Creates the debtor rows that do not exist yet.
pub async fn ensure_debtors(db: &impl ConnectionTrait, keys: &[DebtorKey]) -> Result<(), DbErr> {
    for chunk in keys.chunks(rows_per_statement(2)) {
        let sql = format!(
            "INSERT INTO debtors (municipality, debtor_id) VALUES {} ON CONFLICT DO NOTHING",
            value_rows(chunk.len(), 2)
        );
        let mut values = Vec::with_capacity(chunk.len() * 2);
        for (m, d) in chunk {
            values.push(m.clone().into());
            values.push(d.clone().into());
        }
        db.execute_raw(stmt(db, sql, values)).await?;
    }
    Ok(())
}

/// Locks (PostgreSQL, key order) the debtor rows that exist; returns which exist. Every writer —
/// the consumer and the API — takes these locks first, in the same order, so that neither
/// changes an agreement the other is changing, and they cannot deadlock on each other.
pub async fn lock_debtors(
    db: &impl ConnectionTrait,
    keys: &[DebtorKey],
) -> Result<BTreeSet<DebtorKey>, DbErr> {
    let mut sorted: Vec<&DebtorKey> = keys.iter().collect();
    sorted.sort();
    sorted.dedup();
    let lock = if is_postgres(db) {
        " ORDER BY municipality, debtor_id FOR UPDATE"
    } else {
        ""
    };
    let mut by_municipality: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (m, d) in sorted {
        by_municipality.entry(m).or_default().push(d);
    }
    let mut out = BTreeSet::new();
    for (m, ids) in by_municipality {
        for chunk in ids.chunks(rows_per_statement(1) - 1) {
            let sql = format!(
                "SELECT municipality, debtor_id FROM debtors WHERE municipality = $1 AND debtor_id IN ({}){lock}",
                placeholder_list(2, chunk.len())
            );
            let mut values: Vec<Value> = vec![m.into()];
            values.extend(chunk.iter().map(|d| Value::from(*d)));
            for row in db.query_all_raw(stmt(db, sql, values)).await? {
                out.insert((row.try_get_by_index(0)?, row.try_get_by_index(1)?));
            }
        }
    }
    Ok(out)
}

/// The debtors with an agreement in force (an active plan or deferral, a scheduled meeting):
/// the daily work looks at them.
pub async fn debtors_with_agreements(db: &impl ConnectionTrait) -> Result<Vec<DebtorKey>, DbErr> {
    let rows = db
        .query_all_raw(stmt(
            db,
            "SELECT municipality, debtor_id FROM plans WHERE state = 'active' \
             UNION SELECT municipality, debtor_id FROM deferrals WHERE state = 'active' \
             UNION SELECT municipality, debtor_id FROM meetings WHERE state = 'scheduled'",
            vec![],
        ))
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get_by_index(0)?, r.try_get_by_index(1)?)))
        .collect()
}
