//! Issue 17: replicas started at once on an empty PostgreSQL database all come up — they
//! migrate one after the other under an advisory lock, and the schema is migrated once.

use restance_runtime::database;
use sea_orm::{ConnectionTrait, Database, Statement};
use sea_orm_migration::prelude::*;
use tokio_util::sync::CancellationToken;

/// A slow migration (it sleeps inside its transaction) widens the window in which replicas
/// without a lock would run it twice.
#[derive(Debug)]
struct Slow;

impl MigrationName for Slow {
    fn name(&self) -> &str {
        "m20990101_000001_slow"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Slow {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("CREATE TABLE slow_things (id BIGINT PRIMARY KEY)")
            .await?;
        db.execute_unprepared("SELECT pg_sleep(0.3)").await?;
        Ok(())
    }
}

#[derive(Debug)]
struct After;

impl MigrationName for After {
    fn name(&self) -> &str {
        "m20990101_000002_after"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for After {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("ALTER TABLE slow_things ADD COLUMN n BIGINT NOT NULL DEFAULT 0")
            .await?;
        Ok(())
    }
}

struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(restance_bus::migration::InboxOutbox),
            Box::new(Slow),
            Box::new(After),
        ]
    }
}

fn admin_url() -> String {
    std::env::var("RESTANCE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

#[tokio::test]
async fn three_replicas_migrating_one_fresh_database_at_once_all_succeed() -> anyhow::Result<()> {
    let name = format!(
        "restance_test_migrate_{}",
        std::process::id() as u64 * 1000
            + u64::from(std::time::UNIX_EPOCH.elapsed()?.subsec_millis())
    );
    let admin = Database::connect(admin_url()).await?;
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await?;
    let url = match admin_url().rsplit_once('/') {
        Some((prefix, _)) => format!("{prefix}/{name}"),
        None => anyhow::bail!("cannot derive a database URL"),
    };
    let cancel = CancellationToken::new();
    let replica = || database::connect_and_migrate::<Migrator>(&url, 1, "test", &cancel);
    let (a, b, c) = tokio::join!(replica(), replica(), replica());
    let mut failures = Vec::new();
    for (i, r) in [a, b, c].into_iter().enumerate() {
        match r {
            Ok(Some(db)) => db.close().await?,
            Ok(None) => failures.push(format!("replica {i}: cancelled")),
            Err(e) => failures.push(format!("replica {i}: {e}")),
        }
    }
    let db = Database::connect(&url).await?;
    let versions: Vec<(String, i64)> = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT version, COUNT(*) FROM seaql_migrations GROUP BY version ORDER BY version",
        ))
        .await?
        .iter()
        .map(|r| Ok((r.try_get_by_index(0)?, r.try_get_by_index(1)?)))
        .collect::<Result<_, DbErr>>()?;
    let columns = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) FROM information_schema.columns WHERE table_name = 'slow_things'",
        ))
        .await?
        .map(|r| r.try_get_by_index::<i64>(0))
        .transpose()?;
    db.close().await?;
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await?;
    admin.close().await?;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(
        versions,
        Migrator::migrations()
            .iter()
            .map(|m| (m.name().to_owned(), 1))
            .collect::<Vec<_>>(),
        "each migration applied once"
    );
    assert_eq!(columns, Some(2), "the schema is complete");
    Ok(())
}
