//! The counselling schema. Money columns are integer øre (`*_minor`).
//!
//! A case is one row: the columns the lists and the business day select by, the applicant as
//! given (personal data, JSON) and the domain's [`crate::domain::Case`] as JSON (its calls,
//! meetings, creditors, debt items, notes and timeline). The applicant's national id is stored
//! in full: earlier cases and invoicing's debtors are found by it. It is never logged, never
//! published and never answered by the API (the birth date is).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// The migrator run at start and by `restance-counselling migrate`.
#[derive(Debug)]
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(restance_bus::migration::InboxOutbox),
            Box::new(Cases),
            Box::new(restance_runtime::audit::AppendOnly {
                name: "m20261207_000003_counselling_audit_append_only",
                table: "api_audit",
            }),
            Box::new(Erasures),
        ]
    }
}

/// Cases, invoicing's debtors and claims as counselling keeps them, the dunning holds, the
/// business date, and the API's audit trail.
#[derive(Debug)]
struct Cases;

impl MigrationName for Cases {
    fn name(&self) -> &str {
        "m20261207_000002_counselling_cases"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Cases {
    // Long: the schema itself, one statement per table and index; applied migrations are never edited.
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("cases")
                    .col(ColumnDef::new("case_id").text().primary_key())
                    .col(text("source"))
                    .col(text("application_id"))
                    .col(text("content_hash"))
                    .col(text("municipality"))
                    .col(text("applicant_id"))
                    .col(text_null("national_id"))
                    .col(text("applicant"))
                    .col(text("counsellor"))
                    .col(text("routine"))
                    .col(text("phase"))
                    .col(date("opened_on"))
                    .col(date_null("next_timer"))
                    .col(text_null("previous_case_id"))
                    .col(text("state"))
                    .index(Index::create().unique().col("source").col("application_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("cases_by_person")
                    .table("cases")
                    .col("municipality")
                    .col("national_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("cases_by_timer")
                    .table("cases")
                    .col("next_timer")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("cases_by_counsellor")
                    .table("cases")
                    .col("counsellor")
                    .col("phase")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("debtors")
                    .col(text("municipality"))
                    .col(text("debtor_id"))
                    .col(text("national_id"))
                    .col(big_integer("version"))
                    .primary_key(Index::create().col("municipality").col("debtor_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("debtors_by_person")
                    .table("debtors")
                    .col("municipality")
                    .col("national_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("claims")
                    .col(ColumnDef::new("claim_id").text().primary_key())
                    .col(text("municipality"))
                    .col(text("debtor_id"))
                    .col(text("category"))
                    .col(text("invoice_id"))
                    .col(text("currency"))
                    .col(big_integer("balance_minor"))
                    .col(big_integer("interest_minor"))
                    .col(boolean("open"))
                    .col(big_integer("version"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("claims_by_debtor")
                    .table("claims")
                    .col("municipality")
                    .col("debtor_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("holds")
                    .col(text("case_id"))
                    .col(text("municipality"))
                    .col(text("debtor_id"))
                    .col(date("held_from"))
                    .col(date_null("released_on"))
                    .primary_key(Index::create().col("case_id").col("debtor_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("holds_by_debtor")
                    .table("holds")
                    .col("municipality")
                    .col("debtor_id")
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

/// Retention: one row per case whose personal data was erased (when and why, never the data).
#[derive(Debug)]
struct Erasures;

impl MigrationName for Erasures {
    fn name(&self) -> &str {
        "m20261207_000004_counselling_erasures"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Erasures {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("erasures")
                    .col(ColumnDef::new("case_id").text().primary_key())
                    .col(text("municipality"))
                    .col(date("closed_on"))
                    .col(date("erased_on"))
                    .col(text("legal_source"))
                    .to_owned(),
            )
            .await
    }
}
