//! Connecting to the service's own database (SQLite file or PostgreSQL) and migrating it.

use restance_bus::Backoff;
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};
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
    M::up(&db, None).await?;
    tracing::info!(database = %redacted, "database migrated");
    Ok(Some(db))
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
