//! The guarantee schema. Money columns are integer øre (`*_minor`).
//!
//! National ids (`resident_national_id`, `spouse_national_id`, `recipient_national_id`, and
//! the guarantor's inside `guarantor`) are stored in full: the benefits are matched to the
//! guarantees by them, and the report to the immigration service carries them. They are never
//! logged and the API shows only the birth date part.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// The migrator run at start and by `restance-guarantee migrate`.
#[derive(Debug)]
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(restance_bus::migration::InboxOutbox),
            Box::new(Guarantees),
            Box::new(restance_runtime::audit::AppendOnly {
                name: "m20261207_000003_guarantee_audit_append_only",
                table: "api_audit",
            }),
            Box::new(RecoveryCases),
            Box::new(HeldLetters),
            Box::new(CasePayments),
            Box::new(Statements),
            Box::new(DailyWork),
            Box::new(BenefitsByRecipient),
            Box::new(Erasures),
        ]
    }
}

/// Guarantees with their history of changes, benefits paid with their classification, the
/// business date, and the API's audit trail.
#[derive(Debug)]
struct Guarantees;

impl MigrationName for Guarantees {
    fn name(&self) -> &str {
        "m20261207_000002_guarantee_guarantees"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Guarantees {
    // Long: the schema itself, one statement per table and index; applied migrations are never edited.
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("guarantees")
                    .col(ColumnDef::new("guarantee_id").text().primary_key())
                    .col(text("source"))
                    .col(text("municipality"))
                    .col(text("resident_national_id"))
                    .col(text("spouse_national_id"))
                    .col(text("person_id"))
                    .col(text("guarantor"))
                    .col(text("bank"))
                    .col(big_integer("amount_minor"))
                    .col(date("binding_period_end"))
                    .col(boolean("maintenance_requirement"))
                    .col(date("registered_on"))
                    .col(text("content_hash"))
                    .col(text("message_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("guarantees_by_spouse")
                    .table("guarantees")
                    .col("municipality")
                    .col("spouse_national_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("guarantees_by_resident")
                    .table("guarantees")
                    .col("municipality")
                    .col("resident_national_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("guarantee_changes")
                    .col(big_pk_auto("seq"))
                    .col(text("guarantee_id"))
                    .col(text("change_key").unique_key())
                    .col(text("reason"))
                    .col(date("effective_date"))
                    .col(big_integer_null("new_amount_minor"))
                    .col(text("source"))
                    .col(text("message_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("guarantee_changes_by_guarantee")
                    .table("guarantee_changes")
                    .col("guarantee_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("benefits")
                    .col(text("source"))
                    .col(text("benefit_id"))
                    .col(text("municipality"))
                    .col(text("recipient_national_id"))
                    .col(text("law"))
                    .col(big_integer("amount_minor"))
                    .col(date("paid_date"))
                    .col(text("classification"))
                    .col(text_null("recoverable_from"))
                    .col(boolean("reported"))
                    .col(text("content_hash"))
                    .col(text("message_id"))
                    .primary_key(Index::create().col("source").col("benefit_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("benefits_by_guarantee")
                    .table("benefits")
                    .col("recoverable_from")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("benefit_links")
                    .col(text("source"))
                    .col(text("benefit_id"))
                    .col(text("guarantee_id"))
                    .col(text("role"))
                    .col(boolean("recoverable"))
                    .col(boolean("reported"))
                    .col(text_null("not_recoverable_reason"))
                    .primary_key(
                        Index::create()
                            .col("source")
                            .col("benefit_id")
                            .col("guarantee_id")
                            .col("role"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("benefit_links_by_guarantee")
                    .table("benefit_links")
                    .col("guarantee_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("business_days")
                    .col(ColumnDef::new("business_date").date().primary_key())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(restance_runtime::audit::api_audit_table())
            .await
    }
}

/// The recovery cases (one per guarantee and case number) and their recorded steps: when, who
/// (`system` or a caseworker), what (the domain's `Step` as JSON) and what was sent for it.
#[derive(Debug)]
struct RecoveryCases;

impl MigrationName for RecoveryCases {
    fn name(&self) -> &str {
        "m20261207_000004_guarantee_recovery_cases"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for RecoveryCases {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("recovery_cases")
                    .col(ColumnDef::new("case_id").text().primary_key())
                    .col(text("guarantee_id"))
                    .col(big_integer("case_no"))
                    .col(text("municipality"))
                    .col(text("state"))
                    .col(date("opened_on"))
                    .col(big_integer("claim_minor"))
                    .col(big_integer("cap_minor"))
                    .col(big_integer("expired_minor"))
                    .col(text("message_id"))
                    .index(Index::create().unique().col("guarantee_id").col("case_no"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("case_steps")
                    .col(text("case_id"))
                    .col(big_integer("seq"))
                    .col(date("step_date"))
                    .col(text("actor"))
                    .col(text("step"))
                    .col(text("sent"))
                    .primary_key(Index::create().col("case_id").col("seq"))
                    .to_owned(),
            )
            .await
    }
}

/// The bank's hold-and-pay letter of a raised case, kept until invoicing has opened the claim and
/// given it its payment reference (`invoicing.claim.opened.v1`), then sent once.
#[derive(Debug)]
struct HeldLetters;

impl MigrationName for HeldLetters {
    fn name(&self) -> &str {
        "m20261207_000005_guarantee_held_letters"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for HeldLetters {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("held_letters")
                    .col(ColumnDef::new("case_id").text().primary_key())
                    .col(text("request"))
                    .col(text_null("claim_id"))
                    .col(date_null("sent_on"))
                    .to_owned(),
            )
            .await
    }
}

/// The bank's payments recorded on a case, once per payment id (`invoicing.payment.applied.v1`
/// redelivered under another envelope id is not recorded twice), and the claims invoicing
/// settled while the payments recorded on their case did not cover them (a credit note, say):
/// kept for a caseworker, the case left as it is.
#[derive(Debug)]
struct CasePayments;

impl MigrationName for CasePayments {
    fn name(&self) -> &str {
        "m20261207_000006_guarantee_case_payments"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CasePayments {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("case_payments")
                    .col(text("case_id"))
                    .col(text("payment_id"))
                    .col(big_integer("amount_minor"))
                    .col(date("booking_date"))
                    .col(text("message_id"))
                    .primary_key(Index::create().col("case_id").col("payment_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("case_claim_settlements")
                    .col(ColumnDef::new("case_id").text().primary_key())
                    .col(text("claim_id"))
                    .col(date("settled_on"))
                    .col(big_integer("outstanding_minor"))
                    .col(text("message_id"))
                    .to_owned(),
            )
            .await
    }
}

/// The quarterly statements: one per municipality and quarter (the id is deterministic), the
/// XLSX kept for download and the figures as JSON.
#[derive(Debug)]
struct Statements;

impl MigrationName for Statements {
    fn name(&self) -> &str {
        "m20261207_000007_guarantee_statements"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Statements {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("statements")
                    .col(ColumnDef::new("statement_id").text().primary_key())
                    .col(text("municipality"))
                    .col(text("quarter"))
                    .col(date("produced_on"))
                    .col(text("file_name"))
                    .col(text("xlsx_base64"))
                    .col(text("summary"))
                    .col(big_integer("recipients"))
                    .index(Index::create().unique().col("municipality").col("quarter"))
                    .to_owned(),
            )
            .await
    }
}

/// What the business day and the benefits handler keep: the limitation watch's alerts (one row
/// per guarantee and payment: each payment is alerted once, also when no administrator is
/// configured to receive it), the reports to the immigration service (one per benefit and
/// guarantee, until they go into a daily file), the daily files themselves, and the guidance
/// letters sent (once per guarantee, or per payment).
#[derive(Debug)]
struct DailyWork;

impl MigrationName for DailyWork {
    fn name(&self) -> &str {
        "m20261207_000008_guarantee_daily_work"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for DailyWork {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("watch_alerts")
                    .col(text("guarantee_id"))
                    .col(text("benefit_id"))
                    .col(text("municipality"))
                    .col(date("alerted_on"))
                    .col(date("deadline"))
                    .col(big_integer("amount_minor"))
                    .col(text_null("notification_id"))
                    .primary_key(Index::create().col("guarantee_id").col("benefit_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("benefits_by_paid_date")
                    .table("benefits")
                    .col("paid_date")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("benefit_reports")
                    .col(ColumnDef::new("report_id").text().primary_key())
                    .col(text("source"))
                    .col(text("benefit_id"))
                    .col(text("guarantee_id"))
                    .col(text("municipality"))
                    .col(text("person_id"))
                    .col(text("recipient_national_id"))
                    .col(text("recipient_role"))
                    .col(text("law"))
                    .col(big_integer("amount_minor"))
                    .col(date("paid_date"))
                    .col(date("reported_on"))
                    .col(date_null("file_date"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("benefit_reports_by_file")
                    .table("benefit_reports")
                    .col("file_date")
                    .col("reported_on")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("report_files")
                    .col(ColumnDef::new("file_date").date().primary_key())
                    .col(text("csv"))
                    .col(big_integer("row_count"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("guidance_letters")
                    .col(text("guarantee_id"))
                    .col(text("benefit_key"))
                    .col(text("notification_id"))
                    .col(date("sent_on"))
                    .primary_key(Index::create().col("guarantee_id").col("benefit_key"))
                    .to_owned(),
            )
            .await
    }
}

/// Benefits by their recipient: a registration or a change classifies the benefits of the
/// guarantee's two people again, and without this index each did a full scan of `benefits`
/// (measured: 1,000 changes over 100,000 benefits took 23 s, nearly all of it PostgreSQL).
#[derive(Debug)]
struct BenefitsByRecipient;

impl MigrationName for BenefitsByRecipient {
    fn name(&self) -> &str {
        "m20261207_000009_guarantee_benefits_by_recipient"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for BenefitsByRecipient {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("benefits_by_recipient")
                    .table("benefits")
                    .col("municipality")
                    .col("recipient_national_id")
                    .to_owned(),
            )
            .await
    }
}

/// Retention: one row per guarantee whose personal data was erased (when and why, never the
/// data).
#[derive(Debug)]
struct Erasures;

impl MigrationName for Erasures {
    fn name(&self) -> &str {
        "m20261207_000010_guarantee_erasures"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Erasures {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("erasures")
                    .col(ColumnDef::new("guarantee_id").text().primary_key())
                    .col(text("municipality"))
                    .col(date("ended_on"))
                    .col(date("erased_on"))
                    .col(text("legal_source"))
                    .to_owned(),
            )
            .await
    }
}
