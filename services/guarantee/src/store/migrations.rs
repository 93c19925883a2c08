//! The guarantee schema. Money columns are integer øre (`*_minor`).
//!
//! National ids (`resident_national_id`, `spouse_national_id`, `recipient_national_id`, and
//! the guarantor's inside `guarantor`) are stored in full: the benefits are matched to the
//! guarantees by them, and the report to the immigration service carries them. They are never
//! logged and the API shows only the birth date part.

use restance_store::run_ddl;
use sea_orm_migration::prelude::*;

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
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(
            manager.get_connection(),
            &format!(
                "CREATE TABLE guarantees (
                guarantee_id TEXT PRIMARY KEY,
                source TEXT NOT NULL,
                municipality TEXT NOT NULL,
                resident_national_id TEXT NOT NULL,
                spouse_national_id TEXT NOT NULL,
                person_id TEXT NOT NULL,
                guarantor TEXT NOT NULL,
                bank TEXT NOT NULL,
                amount_minor BIGINT NOT NULL,
                binding_period_end DATE NOT NULL,
                maintenance_requirement BOOLEAN NOT NULL,
                registered_on DATE NOT NULL,
                content_hash TEXT NOT NULL,
                message_id TEXT NOT NULL
            );
            CREATE INDEX guarantees_by_spouse ON guarantees (municipality, spouse_national_id);
            CREATE INDEX guarantees_by_resident ON guarantees (municipality, resident_national_id);
            CREATE TABLE guarantee_changes (
                seq BIGSERIAL PRIMARY KEY,
                guarantee_id TEXT NOT NULL,
                change_key TEXT NOT NULL UNIQUE,
                reason TEXT NOT NULL,
                effective_date DATE NOT NULL,
                new_amount_minor BIGINT NULL,
                source TEXT NOT NULL,
                message_id TEXT NOT NULL
            );
            CREATE INDEX guarantee_changes_by_guarantee ON guarantee_changes (guarantee_id);
            CREATE TABLE benefits (
                source TEXT NOT NULL,
                benefit_id TEXT NOT NULL,
                municipality TEXT NOT NULL,
                recipient_national_id TEXT NOT NULL,
                law TEXT NOT NULL,
                amount_minor BIGINT NOT NULL,
                paid_date DATE NOT NULL,
                classification TEXT NOT NULL,
                recoverable_from TEXT NULL,
                reported BOOLEAN NOT NULL,
                content_hash TEXT NOT NULL,
                message_id TEXT NOT NULL,
                PRIMARY KEY (source, benefit_id)
            );
            CREATE INDEX benefits_by_guarantee ON benefits (recoverable_from);
            CREATE TABLE benefit_links (
                source TEXT NOT NULL,
                benefit_id TEXT NOT NULL,
                guarantee_id TEXT NOT NULL,
                role TEXT NOT NULL,
                recoverable BOOLEAN NOT NULL,
                reported BOOLEAN NOT NULL,
                not_recoverable_reason TEXT NULL,
                PRIMARY KEY (source, benefit_id, guarantee_id, role)
            );
            CREATE INDEX benefit_links_by_guarantee ON benefit_links (guarantee_id);
            CREATE TABLE business_days (
                business_date DATE PRIMARY KEY
            );
            {}",
                restance_runtime::audit::API_AUDIT_TABLE
            ),
        )
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
        run_ddl(
            manager.get_connection(),
            "CREATE TABLE recovery_cases (
                case_id TEXT PRIMARY KEY,
                guarantee_id TEXT NOT NULL,
                case_no BIGINT NOT NULL,
                municipality TEXT NOT NULL,
                state TEXT NOT NULL,
                opened_on DATE NOT NULL,
                claim_minor BIGINT NOT NULL,
                cap_minor BIGINT NOT NULL,
                expired_minor BIGINT NOT NULL,
                message_id TEXT NOT NULL,
                UNIQUE (guarantee_id, case_no)
            );
            CREATE TABLE case_steps (
                case_id TEXT NOT NULL,
                seq BIGINT NOT NULL,
                step_date DATE NOT NULL,
                actor TEXT NOT NULL,
                step TEXT NOT NULL,
                sent TEXT NOT NULL,
                PRIMARY KEY (case_id, seq)
            )",
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
        run_ddl(
            manager.get_connection(),
            "CREATE TABLE held_letters (
                case_id TEXT PRIMARY KEY,
                request TEXT NOT NULL,
                claim_id TEXT NULL,
                sent_on DATE NULL
            )",
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
        run_ddl(
            manager.get_connection(),
            "CREATE TABLE case_payments (
                case_id TEXT NOT NULL,
                payment_id TEXT NOT NULL,
                amount_minor BIGINT NOT NULL,
                booking_date DATE NOT NULL,
                message_id TEXT NOT NULL,
                PRIMARY KEY (case_id, payment_id)
            );
            CREATE TABLE case_claim_settlements (
                case_id TEXT PRIMARY KEY,
                claim_id TEXT NOT NULL,
                settled_on DATE NOT NULL,
                outstanding_minor BIGINT NOT NULL,
                message_id TEXT NOT NULL
            )",
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
        run_ddl(
            manager.get_connection(),
            "CREATE TABLE statements (
                statement_id TEXT PRIMARY KEY,
                municipality TEXT NOT NULL,
                quarter TEXT NOT NULL,
                produced_on DATE NOT NULL,
                file_name TEXT NOT NULL,
                xlsx_base64 TEXT NOT NULL,
                summary TEXT NOT NULL,
                recipients BIGINT NOT NULL,
                UNIQUE (municipality, quarter)
            )",
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
        run_ddl(
            manager.get_connection(),
            "CREATE TABLE watch_alerts (
                guarantee_id TEXT NOT NULL,
                benefit_id TEXT NOT NULL,
                municipality TEXT NOT NULL,
                alerted_on DATE NOT NULL,
                deadline DATE NOT NULL,
                amount_minor BIGINT NOT NULL,
                notification_id TEXT NULL,
                PRIMARY KEY (guarantee_id, benefit_id)
            );
            CREATE INDEX benefits_by_paid_date ON benefits (paid_date);
            CREATE TABLE benefit_reports (
                report_id TEXT PRIMARY KEY,
                source TEXT NOT NULL,
                benefit_id TEXT NOT NULL,
                guarantee_id TEXT NOT NULL,
                municipality TEXT NOT NULL,
                person_id TEXT NOT NULL,
                recipient_national_id TEXT NOT NULL,
                recipient_role TEXT NOT NULL,
                law TEXT NOT NULL,
                amount_minor BIGINT NOT NULL,
                paid_date DATE NOT NULL,
                reported_on DATE NOT NULL,
                file_date DATE NULL
            );
            CREATE INDEX benefit_reports_by_file ON benefit_reports (file_date, reported_on);
            CREATE TABLE report_files (
                file_date DATE PRIMARY KEY,
                csv TEXT NOT NULL,
                row_count BIGINT NOT NULL
            );
            CREATE TABLE guidance_letters (
                guarantee_id TEXT NOT NULL,
                benefit_key TEXT NOT NULL,
                notification_id TEXT NOT NULL,
                sent_on DATE NOT NULL,
                PRIMARY KEY (guarantee_id, benefit_key)
            )",
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
        run_ddl(
            manager.get_connection(),
            "CREATE INDEX benefits_by_recipient ON benefits (municipality, recipient_national_id)",
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
        run_ddl(
            manager.get_connection(),
            "CREATE TABLE erasures (
                guarantee_id TEXT PRIMARY KEY,
                municipality TEXT NOT NULL,
                ended_on DATE NOT NULL,
                erased_on DATE NOT NULL,
                legal_source TEXT NOT NULL
            )",
        )
        .await
    }
}
