//! Audit trails that cannot be rewritten by the service that writes them.
//!
//! [`AppendOnly`] is a migration that puts triggers on an audit table so that every `UPDATE`
//! and `DELETE` (and on PostgreSQL `TRUNCATE`) fails with the reason, on PostgreSQL and SQLite
//! alike: a bug, an injected statement or a hand at a `psql` prompt under the service's own
//! database role cannot quietly change who did what. Rows are only ever inserted. (A superuser
//! or the table's owner can drop a trigger; the production overlay runs the services under a
//! role that owns their schema, so dropping one is a schema change the migration history and
//! PostgreSQL's own log show — `SECURITY.md`.)

use sea_orm::{ConnectionTrait, DatabaseBackend};
use sea_orm_migration::prelude::*;

/// Makes `table` append-only. `name` is the migration's name (`mYYYYMMDD_NNNNNN_…`), unique in
/// the service's migrator.
#[derive(Debug, Clone, Copy)]
pub struct AppendOnly {
    /// The migration's name.
    pub name: &'static str,
    /// The audit table.
    pub table: &'static str,
}

impl MigrationName for AppendOnly {
    fn name(&self) -> &str {
        self.name
    }
}

/// The API audit table every service with API writes or audited reads keeps (`api_audit`; the
/// shape dunning's and reporting's first migrations created): one row per action, with the
/// token's holder and role, the action, its target, the outcome and a detail without personal
/// data. A migration creates it with `manager.create_table(api_audit_table())` and makes it
/// append-only with [`AppendOnly`].
pub fn api_audit_table() -> TableCreateStatement {
    use sea_orm_migration::schema::{big_pk_auto, text, timestamp_with_time_zone};
    Table::create()
        .table(API_AUDIT)
        .col(big_pk_auto("seq"))
        .col(timestamp_with_time_zone("at"))
        .col(text("caller"))
        .col(text("role"))
        .col(text("action"))
        .col(text("target"))
        .col(text("outcome"))
        .col(text("detail"))
        .to_owned()
}

/// The API audit table's name.
pub const API_AUDIT: &str = "api_audit";

/// One row of [`api_audit_table`]: who (the token's holder and role), what, on what, the outcome
/// and a detail without personal data.
#[derive(Debug, Clone, Copy)]
pub struct ApiAuditRow<'a> {
    /// The token's holder, or `anonymous`.
    pub caller: &'a str,
    /// The token's role, or `-`.
    pub role: &'a str,
    /// What was done or tried (`approve_write_off`, `read_document`, …).
    pub action: &'a str,
    /// On what (`claim:<id>`, `document:<id>`, …).
    pub target: &'a str,
    /// `approved`, `refused`, `served`, …
    pub outcome: &'a str,
    /// Why or what else, without personal data.
    pub detail: &'a str,
}

/// Appends `row` to the service's `api_audit` ([`api_audit_table`]), stamped with the wall
/// clock; caller, role and target are cut to [`crate::api::MAX_AUDIT_TARGET`] characters.
pub async fn record_api_audit(
    db: &impl ConnectionTrait,
    row: ApiAuditRow<'_>,
) -> Result<(), DbErr> {
    use crate::api::bounded_target;
    let insert = Query::insert()
        .into_table(API_AUDIT)
        .columns([
            "at", "caller", "role", "action", "target", "outcome", "detail",
        ])
        .values_panic([
            chrono::Utc::now().into(),
            bounded_target(row.caller).into(),
            bounded_target(row.role).into(),
            row.action.into(),
            bounded_target(row.target).into(),
            row.outcome.into(),
            row.detail.into(),
        ])
        .to_owned();
    db.execute(&insert).await.map(drop)
}

/// The error every refused change carries (a test looks for it).
pub const APPEND_ONLY: &str = "is append-only";

#[async_trait::async_trait]
impl MigrationTrait for AppendOnly {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let t = self.table;
        let statements: Vec<String> = match db.get_database_backend() {
            DatabaseBackend::Postgres => vec![
                format!(
                    "CREATE OR REPLACE FUNCTION restance_append_only() RETURNS trigger AS $$ \
                     BEGIN RAISE EXCEPTION 'the table % {APPEND_ONLY} (an audit trail): its rows are never changed or deleted', TG_TABLE_NAME; END \
                     $$ LANGUAGE plpgsql"
                ),
                format!(
                    "CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t} \
                     FOR EACH ROW EXECUTE FUNCTION restance_append_only()"
                ),
                format!(
                    "CREATE TRIGGER {t}_no_truncate BEFORE TRUNCATE ON {t} \
                     FOR EACH STATEMENT EXECUTE FUNCTION restance_append_only()"
                ),
            ],
            _ => vec![
                format!(
                    "CREATE TRIGGER {t}_no_update BEFORE UPDATE ON {t} BEGIN \
                     SELECT RAISE(ABORT, 'the table {t} {APPEND_ONLY} (an audit trail): its rows are never changed or deleted'); END"
                ),
                format!(
                    "CREATE TRIGGER {t}_no_delete BEFORE DELETE ON {t} BEGIN \
                     SELECT RAISE(ABORT, 'the table {t} {APPEND_ONLY} (an audit trail): its rows are never changed or deleted'); END"
                ),
            ],
        };
        for sql in statements {
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }
}
