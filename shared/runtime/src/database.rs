//! Connecting to the service's own database (SQLite file or PostgreSQL) and migrating it.
//!
//! Replicas started at once on one PostgreSQL database migrate one after the other: [`migrate`]
//! holds the advisory lock [`MIGRATION_LOCK`] while the migrator runs, so the first replica
//! applies what is pending and the others, once they get the lock, find nothing left to do.
//! (Without it two replicas create the same tables at once and all but one fail.) SQLite is one
//! process per database file: no lock.

use restance_bus::Backoff;
use restance_store::is_postgres;
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr, TransactionTrait};
use sea_orm_migration::MigratorTrait;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// One connection attempt. For SQLite the file's directory is created, WAL is on and writers
/// wait for each other instead of failing.
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    if let Some(path) = sqlite_path(url)
        && let Some(dir) = std::path::Path::new(&path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", dir.display())))?;
    }
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.max_connections(max_connections)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    // Plan every statement with its actual parameters: a generic plan cached while a table was
    // still empty (a seq scan) would otherwise stay in use as the table grows to millions.
    opts.map_sqlx_postgres_opts(|o| o.options([("plan_cache_mode", "force_custom_plan")]));
    opts.map_sqlx_sqlite_opts(|o| {
        o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true)
    });
    Database::connect(opts).await
}

/// Connects and migrates, retrying with backoff while the database is unreachable.
/// Returns `None` if cancelled first. A failing migration is not retried: it is a bug or a
/// manual change to the schema, and the operator must look.
pub async fn connect_and_migrate<M: MigratorTrait>(
    url: &str,
    max_connections: u32,
    redacted: &str,
    cancel: &CancellationToken,
) -> Result<Option<DatabaseConnection>, DbErr> {
    let mut backoff = Backoff::default();
    let db = loop {
        match connect(url, max_connections).await {
            Ok(db) => break db,
            Err(err) => {
                tracing::warn!(database = %redacted, error = %err,
                    "cannot reach the database; retrying (is PostgreSQL running? see deploy/local/ensure-services.sh)");
                if !backoff.wait(cancel).await {
                    return Ok(None);
                }
            }
        }
    };
    if !migrate::<M>(&db, url, redacted, cancel).await? {
        return Ok(None);
    }
    tracing::info!(database = %redacted, "database migrated");
    Ok(Some(db))
}

/// The PostgreSQL advisory lock held while migrating. The database is the service's own, so
/// one key serves every service.
pub const MIGRATION_LOCK: i64 = 0x7265_7374_5f6d_6967; // "rest_mig"

/// Applies `M`'s pending migrations to `db` (whose URL is `url`). On PostgreSQL under
/// [`MIGRATION_LOCK`], taken in a transaction on a connection of its own (so `db`'s pool may
/// have any size) and held until the migrator is done: a replica that finds it taken waits —
/// another replica is migrating — and then runs the migrator, which finds nothing pending. A
/// replica that dies while migrating releases the lock with its connection. Returns `false` if
/// cancelled while waiting.
pub async fn migrate<M: MigratorTrait>(
    db: &DatabaseConnection,
    url: &str,
    redacted: &str,
    cancel: &CancellationToken,
) -> Result<bool, DbErr> {
    if !is_postgres(db) {
        M::up(db, None).await?;
        return Ok(true);
    }
    let lock_db = connect(url, 1).await?;
    let migrated = migrate_locked::<M>(db, &lock_db, redacted, cancel).await;
    lock_db.close().await.ok();
    migrated
}

async fn migrate_locked<M: MigratorTrait>(
    db: &DatabaseConnection,
    lock_db: &DatabaseConnection,
    redacted: &str,
    cancel: &CancellationToken,
) -> Result<bool, DbErr> {
    let lock = lock_db.begin().await?;
    let mut waited = false;
    loop {
        let got = restance_store::try_advisory_lock(&lock, MIGRATION_LOCK).await?;
        if got {
            break;
        }
        if !waited {
            tracing::info!(database = %redacted,
                "another replica is migrating the database; waiting for it");
            waited = true;
        }
        tokio::select! {
            () = cancel.cancelled() => {
                lock.rollback().await.ok();
                return Ok(false);
            }
            () = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
    }
    let migrated = M::up(db, None).await;
    // Commit releases the lock (a failed migration too: the next replica tries and fails the
    // same way, for the operator to see).
    lock.commit().await?;
    migrated?;
    Ok(true)
}

fn sqlite_path(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        None
    } else {
        Some(path.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths_are_found() {
        assert_eq!(
            sqlite_path("sqlite://var/invoicing.db?mode=rwc").as_deref(),
            Some("var/invoicing.db")
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://x/y"), None);
    }
}
