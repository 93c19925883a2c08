//! The audit trails are append-only in the databases the services create: after
//! `restance-<service> migrate`, inserting an audit row works and changing or deleting one fails
//! with the reason, on SQLite and PostgreSQL (dunning's, reporting's and notifications'
//! `api_audit`, agreements' `audit`). Agreements' trail accepts one update: retention erasing a
//! row's snapshots and detail, with who, what and when unchanged.

use restance_testkit::{TestDatabase, run_migrate, unique_exchange};
use sea_orm::{ConnectionTrait, Database};

/// The insert each service's audit table takes (its own columns).
fn insert(table: &str) -> String {
    let now = "'2026-12-07T10:00:00Z'";
    if table == "audit" {
        format!(
            "INSERT INTO audit (at, caller, role, action, entity, outcome, detail) \
             VALUES ({now}, 'kim', 'caseworker', 'plan.create', 'plan:1', 'done', 'test')"
        )
    } else {
        format!(
            "INSERT INTO {table} (at, caller, role, action, target, outcome, detail) \
             VALUES ({now}, 'kim', 'caseworker', 'write_off.approve', 'claim:1', 'done', 'test')"
        )
    }
}

async fn check(service: &str, table: &str, kind: &str) -> anyhow::Result<()> {
    let db = TestDatabase::of_kind(kind).await?;
    let exchange = unique_exchange();
    run_migrate(
        service,
        &[
            ("RESTANCE__BUS__EXCHANGE", exchange.as_str()),
            ("RESTANCE__DATABASE__URL", db.url.as_str()),
        ],
    )
    .await?;
    let conn = Database::connect(&db.url).await?;
    conn.execute_unprepared(&insert(table)).await?;
    conn.execute_unprepared(&insert(table)).await?;
    for change in [
        format!("UPDATE {table} SET caller = 'someone else'"),
        format!("DELETE FROM {table}"),
    ]
    .into_iter()
    .chain((kind == "postgres").then(|| format!("TRUNCATE {table}")))
    // agreements' trail allows retention to erase a row's data, and nothing more with it
    .chain((table == "audit").then(|| {
        "UPDATE audit SET before_json = NULL, after_json = NULL, detail = '[erased]', \
         caller = 'someone else'"
            .to_owned()
    })) {
        let err = conn
            .execute_unprepared(&change)
            .await
            .err()
            .ok_or_else(|| anyhow::anyhow!("{service} ({kind}): `{change}` was allowed"))?;
        assert!(
            err.to_string().contains("is append-only"),
            "{service} ({kind}): `{change}` failed for another reason: {err}"
        );
    }
    if table == "audit" {
        conn.execute_unprepared(
            "UPDATE audit SET before_json = NULL, after_json = NULL, detail = '[erased]'",
        )
        .await
        .map_err(|e| anyhow::anyhow!("{service} ({kind}): retention's erasure refused: {e}"))?;
    }
    let row = conn
        .query_one_raw(sea_orm::Statement::from_string(
            conn.get_database_backend(),
            format!("SELECT COUNT(*) AS n, MIN(caller) AS who FROM {table}"),
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no row"))?;
    assert_eq!(
        row.try_get::<i64>("", "n")?,
        2,
        "{service} ({kind}): both rows kept"
    );
    assert_eq!(
        row.try_get::<String>("", "who")?,
        "kim",
        "{service} ({kind}): unchanged"
    );
    conn.close().await.ok();
    db.drop_database().await;
    Ok(())
}

#[tokio::test]
async fn audit_trails_are_append_only_on_sqlite() -> anyhow::Result<()> {
    for (service, table) in [
        ("dunning", "api_audit"),
        ("reporting", "api_audit"),
        ("agreements", "audit"),
        ("notifications", "api_audit"),
    ] {
        check(service, table, "sqlite").await?;
    }
    Ok(())
}

#[tokio::test]
async fn audit_trails_are_append_only_on_postgres() -> anyhow::Result<()> {
    for (service, table) in [
        ("dunning", "api_audit"),
        ("reporting", "api_audit"),
        ("agreements", "audit"),
        ("notifications", "api_audit"),
    ] {
        check(service, table, "postgres").await?;
    }
    Ok(())
}
