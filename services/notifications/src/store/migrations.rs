//! The notifications schema. Instants are integer milliseconds since the Unix epoch (`*_ms`),
//! so that "due now" compares the same way on PostgreSQL and SQLite.

use restance_store::run_ddl;
use sea_orm_migration::prelude::*;

/// The migrator run at start and by `restance-notifications migrate`.
#[derive(Debug)]
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(restance_bus::migration::InboxOutbox),
            Box::new(Deliveries),
            Box::new(OutcomeUnknown),
            Box::new(Attachments),
            Box::new(ContactVersions),
            Box::new(ReadAudit),
            Box::new(restance_runtime::audit::AppendOnly {
                name: "m20261217_000007_notifications_audit_append_only",
                table: "api_audit",
            }),
            Box::new(Erasures),
        ]
    }
}

/// Contact directory, notifications, deliveries, documents, SMS status reports.
#[derive(Debug)]
struct Deliveries;

impl MigrationName for Deliveries {
    fn name(&self) -> &str {
        "m20261201_000002_notifications_deliveries"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Deliveries {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(
            manager.get_connection(),
            "CREATE TABLE contacts (
                municipality TEXT NOT NULL,
                debtor_id TEXT NOT NULL,
                details TEXT NOT NULL,
                updated_ms BIGINT NOT NULL,
                PRIMARY KEY (municipality, debtor_id)
            );
            CREATE TABLE notifications (
                notification_id TEXT PRIMARY KEY,
                municipality TEXT NOT NULL,
                template TEXT NOT NULL,
                content_hash TEXT NOT NULL,
                request TEXT NOT NULL,
                state TEXT NOT NULL,
                waiting_for TEXT NULL,
                received_ms BIGINT NOT NULL,
                park_deadline_ms BIGINT NULL,
                redactions TEXT NULL
            );
            CREATE INDEX notifications_waiting ON notifications (municipality, waiting_for, state);
            CREATE INDEX notifications_parked ON notifications (state, park_deadline_ms);
            CREATE TABLE deliveries (
                notification_id TEXT NOT NULL,
                channel TEXT NOT NULL,
                municipality TEXT NOT NULL,
                template TEXT NOT NULL,
                status TEXT NOT NULL,
                attempts BIGINT NOT NULL,
                next_attempt_ms BIGINT NOT NULL,
                first_due_ms BIGINT NOT NULL,
                lease_until_ms BIGINT NULL,
                plan TEXT NOT NULL,
                provider_id TEXT NULL,
                last_error TEXT NULL,
                delivery_status TEXT NULL,
                updated_ms BIGINT NOT NULL,
                PRIMARY KEY (notification_id, channel)
            );
            CREATE INDEX deliveries_due ON deliveries (status, next_attempt_ms);
            CREATE INDEX deliveries_by_provider ON deliveries (provider_id);
            CREATE TABLE documents (
                document_id TEXT PRIMARY KEY,
                notification_id TEXT NOT NULL,
                path TEXT NOT NULL,
                sha256 TEXT NOT NULL,
                pages BIGINT NOT NULL,
                created_ms BIGINT NOT NULL
            );
            CREATE TABLE sms_reports (
                provider_id TEXT NOT NULL,
                status TEXT NOT NULL,
                notification_id TEXT NULL,
                error TEXT NULL,
                received_ms BIGINT NOT NULL,
                PRIMARY KEY (provider_id, status)
            );
            CREATE TABLE business_days (
                id BIGINT PRIMARY KEY,
                last_date DATE NOT NULL
            )",
        )
        .await
    }
}

/// When a delivery was claimed again while its previous attempt was still `sending` (the
/// process died mid-send, so whether the gateway got the SMS is unknown), and an index to find
/// the gateway's delivery reports by notification id (`userref`).
#[derive(Debug)]
struct OutcomeUnknown;

impl MigrationName for OutcomeUnknown {
    fn name(&self) -> &str {
        "m20261203_000003_notifications_outcome_unknown"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for OutcomeUnknown {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(
            manager.get_connection(),
            "ALTER TABLE deliveries ADD COLUMN outcome_unknown_ms BIGINT NULL;
            CREATE INDEX sms_reports_by_notification ON sms_reports (notification_id)",
        )
        .await
    }
}

/// The files a notification's e-mail carries (the request's `attachments`, decoded), in their
/// order (`seq`). Kept apart from `notifications.request`, which is stored without them, so the
/// JSON read when a parked request is planned stays small.
#[derive(Debug)]
struct Attachments;

impl MigrationName for Attachments {
    fn name(&self) -> &str {
        "m20261215_000004_notifications_attachments"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Attachments {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(
            manager.get_connection(),
            "CREATE TABLE attachments (
                notification_id TEXT NOT NULL,
                seq BIGINT NOT NULL,
                name TEXT NOT NULL,
                media_type TEXT NOT NULL,
                content BYTEA NOT NULL,
                sha256 TEXT NOT NULL,
                size_bytes BIGINT NOT NULL,
                PRIMARY KEY (notification_id, seq)
            )",
        )
        .await
    }
}

/// The version of `invoicing.debtor.updated.v1` a contact was stored from (0: only copies
/// without a version so far), so that an older copy arriving late cannot overwrite a newer one
/// (`handlers::directory`).
#[derive(Debug)]
struct ContactVersions;

impl MigrationName for ContactVersions {
    fn name(&self) -> &str {
        "m20261216_000005_notifications_contact_versions"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for ContactVersions {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(
            manager.get_connection(),
            "ALTER TABLE contacts ADD COLUMN version BIGINT NOT NULL DEFAULT 0",
        )
        .await
    }
}

/// The audit trail of reads of a protected debtor's letters (`GET /api/v1/documents/{id}` of a
/// debtor with a confidential or strictly confidential address): who read which document, when.
/// Append-only (the next migration).
#[derive(Debug)]
struct ReadAudit;

impl MigrationName for ReadAudit {
    fn name(&self) -> &str {
        "m20261217_000006_notifications_read_audit"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for ReadAudit {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(
            manager.get_connection(),
            &format!(
                "{};
                CREATE INDEX api_audit_by_target ON api_audit (target, seq)",
                restance_runtime::audit::API_AUDIT_TABLE
            ),
        )
        .await
    }
}

/// Retention (`invoicing.debtor.erased.v1`): each notification names the debtor it concerns
/// (the recipient, else the related debtor; filled from the stored requests), so a debtor's
/// letters, attachments and delivery plans can be found and erased; `erased_debtors` remembers
/// the erasure with invoicing's version of the details, so a late copy of
/// `invoicing.debtor.updated.v1` from before it cannot bring the contact back.
#[derive(Debug)]
struct Erasures;

impl MigrationName for Erasures {
    fn name(&self) -> &str {
        "m20261218_000008_notifications_erasures"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Erasures {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let fill = if restance_store::is_postgres(db) {
            "UPDATE notifications SET debtor_id = COALESCE(
                request::jsonb #>> '{recipient,debtor_id}', request::jsonb #>> '{related,debtor_id}')"
        } else {
            "UPDATE notifications SET debtor_id = COALESCE(
                json_extract(request, '$.recipient.debtor_id'), json_extract(request, '$.related.debtor_id'))"
        };
        run_ddl(
            db,
            &format!(
                "ALTER TABLE notifications ADD COLUMN debtor_id TEXT NULL;
                {fill};
                CREATE INDEX notifications_by_debtor ON notifications (municipality, debtor_id);
                CREATE TABLE erased_debtors (
                    municipality TEXT NOT NULL,
                    debtor_id TEXT NOT NULL,
                    version BIGINT NOT NULL,
                    erased_on DATE NOT NULL,
                    PRIMARY KEY (municipality, debtor_id)
                )"
            ),
        )
        .await
    }
}
