//! The notifications schema. Instants are integer milliseconds since the Unix epoch (`*_ms`),
//! so that "due now" compares the same way on PostgreSQL and SQLite.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

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
    // Long: the schema itself, one statement per table and index; applied migrations are never edited.
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("contacts")
                    .col(text("municipality"))
                    .col(text("debtor_id"))
                    .col(text("details"))
                    .col(big_integer("updated_ms"))
                    .primary_key(Index::create().col("municipality").col("debtor_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("notifications")
                    .col(ColumnDef::new("notification_id").text().primary_key())
                    .col(text("municipality"))
                    .col(text("template"))
                    .col(text("content_hash"))
                    .col(text("request"))
                    .col(text("state"))
                    .col(text_null("waiting_for"))
                    .col(big_integer("received_ms"))
                    .col(big_integer_null("park_deadline_ms"))
                    .col(text_null("redactions"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("notifications_waiting")
                    .table("notifications")
                    .col("municipality")
                    .col("waiting_for")
                    .col("state")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("notifications_parked")
                    .table("notifications")
                    .col("state")
                    .col("park_deadline_ms")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("deliveries")
                    .col(text("notification_id"))
                    .col(text("channel"))
                    .col(text("municipality"))
                    .col(text("template"))
                    .col(text("status"))
                    .col(big_integer("attempts"))
                    .col(big_integer("next_attempt_ms"))
                    .col(big_integer("first_due_ms"))
                    .col(big_integer_null("lease_until_ms"))
                    .col(text("plan"))
                    .col(text_null("provider_id"))
                    .col(text_null("last_error"))
                    .col(text_null("delivery_status"))
                    .col(big_integer("updated_ms"))
                    .primary_key(Index::create().col("notification_id").col("channel"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("deliveries_due")
                    .table("deliveries")
                    .col("status")
                    .col("next_attempt_ms")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("deliveries_by_provider")
                    .table("deliveries")
                    .col("provider_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("documents")
                    .col(ColumnDef::new("document_id").text().primary_key())
                    .col(text("notification_id"))
                    .col(text("path"))
                    .col(text("sha256"))
                    .col(big_integer("pages"))
                    .col(big_integer("created_ms"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("sms_reports")
                    .col(text("provider_id"))
                    .col(text("status"))
                    .col(text_null("notification_id"))
                    .col(text_null("error"))
                    .col(big_integer("received_ms"))
                    .primary_key(Index::create().col("provider_id").col("status"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("business_days")
                    .col(ColumnDef::new("id").big_integer().primary_key())
                    .col(date("last_date"))
                    .to_owned(),
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
        manager
            .alter_table(
                Table::alter()
                    .table("deliveries")
                    .add_column(big_integer_null("outcome_unknown_ms"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("sms_reports_by_notification")
                    .table("sms_reports")
                    .col("notification_id")
                    .to_owned(),
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
        manager
            .create_table(
                Table::create()
                    .table("attachments")
                    .col(text("notification_id"))
                    .col(big_integer("seq"))
                    .col(text("name"))
                    .col(text("media_type"))
                    .col(blob("content"))
                    .col(text("sha256"))
                    .col(big_integer("size_bytes"))
                    .primary_key(Index::create().col("notification_id").col("seq"))
                    .to_owned(),
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
        manager
            .alter_table(
                Table::alter()
                    .table("contacts")
                    .add_column(big_integer("version").default(0))
                    .to_owned(),
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
        manager
            .create_table(restance_runtime::audit::api_audit_table())
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("api_audit_by_target")
                    .table("api_audit")
                    .col("target")
                    .col("seq")
                    .to_owned(),
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
        manager
            .alter_table(
                Table::alter()
                    .table("notifications")
                    .add_column(text_null("debtor_id"))
                    .to_owned(),
            )
            .await?;
        // the request's `recipient.debtor_id`, else its `related.debtor_id` (JSON text): each
        // backend reads a path out of JSON text its own way
        let path = |object: &str| -> Expr {
            match manager.get_database_backend() {
                sea_orm::DbBackend::Postgres => {
                    Expr::cust(format!("request::jsonb #>> '{{{object},debtor_id}}'"))
                }
                _ => Func::cust("json_extract")
                    .arg(Expr::col("request"))
                    .arg(format!("$.{object}.debtor_id"))
                    .into(),
            }
        };
        let fill = Query::update()
            .table("notifications")
            .value(
                "debtor_id",
                Func::coalesce([path("recipient"), path("related")]),
            )
            .to_owned();
        manager.get_connection().execute(&fill).await?;
        manager
            .create_index(
                Index::create()
                    .name("notifications_by_debtor")
                    .table("notifications")
                    .col("municipality")
                    .col("debtor_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("erased_debtors")
                    .col(text("municipality"))
                    .col(text("debtor_id"))
                    .col(big_integer("version"))
                    .col(date("erased_on"))
                    .primary_key(Index::create().col("municipality").col("debtor_id"))
                    .to_owned(),
            )
            .await
    }
}
