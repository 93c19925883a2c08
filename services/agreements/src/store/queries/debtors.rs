//! Debtor rows: the write lock and the row locks every writer takes first, and who has an
//! agreement in force.

use std::collections::{BTreeMap, BTreeSet};

use super::{DebtorKey, col};
use restance_store::rows_per_statement;
use sea_orm::sea_query::{Expr, ExprTrait, LockType, OnConflict, Order, Query, UnionType};
use sea_orm::{ConnectionTrait, DbErr};

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
        let mut insert = Query::insert();
        insert
            .into_table("debtors")
            .columns(["municipality", "debtor_id"])
            .on_conflict(OnConflict::new().do_nothing().to_owned());
        for (m, d) in chunk {
            insert.values_panic([m.as_str().into(), d.as_str().into()]);
        }
        db.execute(&insert).await?;
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
    let mut by_municipality: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (m, d) in sorted {
        by_municipality.entry(m).or_default().push(d);
    }
    let mut out = BTreeSet::new();
    for (m, ids) in by_municipality {
        for chunk in ids.chunks(rows_per_statement(1) - 1) {
            // FOR UPDATE on PostgreSQL (sea-query leaves it out on SQLite, which has one writer)
            let select = Query::select()
                .columns(["municipality", "debtor_id"])
                .from("debtors")
                .and_where(Expr::col("municipality").eq(m))
                .and_where(Expr::col("debtor_id").is_in(chunk.iter().copied()))
                .order_by("municipality", Order::Asc)
                .order_by("debtor_id", Order::Asc)
                .lock(LockType::Update)
                .to_owned();
            for row in db.query_all(&select).await? {
                out.insert((col(&row, "municipality")?, col(&row, "debtor_id")?));
            }
        }
    }
    Ok(out)
}

/// The debtors with an agreement in force (an active plan or deferral, a scheduled meeting):
/// the daily work looks at them.
pub async fn debtors_with_agreements(db: &impl ConnectionTrait) -> Result<Vec<DebtorKey>, DbErr> {
    let of = |table: &'static str, state: &'static str| {
        Query::select()
            .columns(["municipality", "debtor_id"])
            .from(table)
            .and_where(Expr::col("state").eq(state))
            .to_owned()
    };
    let union = of("plans", "active")
        .union(UnionType::Distinct, of("deferrals", "active"))
        .union(UnionType::Distinct, of("meetings", "scheduled"))
        .to_owned();
    db.query_all(&union)
        .await?
        .iter()
        .map(|r| Ok((col(r, "municipality")?, col(r, "debtor_id")?)))
        .collect()
}
