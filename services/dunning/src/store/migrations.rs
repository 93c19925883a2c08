//! The dunning schema (PostgreSQL and SQLite alike). Money columns are integer øre (`*_minor`),
//! dates are `DATE` (ISO text on SQLite, so comparisons and the index order are the same).
//!
//! Decisions recorded here:
//! - **The daily run selects through `debtors_due`** (`next_action_date, municipality,
//!   debtor_id`): a debtor row carries the earliest next action date of its claims, and the run
//!   reads `next_action_date <= date` in that index order with a keyset cursor — never a scan of
//!   every claim.
//! - **`claims.history`** holds the domain's `ClaimHistory` as JSON: what the next decision
//!   reads, written back with the claim in the transaction that publishes the decision.
//! - **`history`** is the audit trail (`GET /api/v1/claims/{id}/dunning`): one row per claim and
//!   natural key (`step:2`, `fee:<fee_id>`, `interest:<interest_id>`, `notification:<id>` …),
//!   inserted with `ON CONFLICT DO NOTHING`, so a repeated decision is never recorded twice.
//! - **Personal data** (`debtors.details`: national id, name, address of the debtor, needed for
//!   `dunning.claim.transferred.v1`) is stored as the contract's JSON and never logged.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// The migrator run at start and by `restance-dunning migrate`.
#[derive(Debug)]
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(restance_bus::migration::InboxOutbox),
            Box::new(Dunning),
            Box::new(RunFailures),
            Box::new(DebtorVersions),
            Box::new(ClaimVersions),
            // the audit trail: rows are inserted, never changed or deleted
            Box::new(restance_runtime::audit::AppendOnly {
                name: "m20261217_000007_dunning_audit_append_only",
                table: "api_audit",
            }),
            Box::new(CollectionCases),
            Box::new(Campaigns),
            Box::new(DirectDebit),
            Box::new(DebtorTrace),
        ]
    }
}

/// Claims, debtors, holds, history, business days, write-offs, audit.
#[derive(Debug)]
struct Dunning;

impl MigrationName for Dunning {
    fn name(&self) -> &str {
        "m20261201_000002_dunning"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Dunning {
    // Long: the schema itself, one statement per table and index; applied migrations are never edited.
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("debtors")
                    .col(text("municipality"))
                    .col(text("debtor_id"))
                    .col(text("kind"))
                    .col(text_null("details"))
                    .col(date_null("next_action_date"))
                    .primary_key(Index::create().col("municipality").col("debtor_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("debtors_due")
                    .table("debtors")
                    .col("next_action_date")
                    .col("municipality")
                    .col("debtor_id")
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
                    .col(text("source"))
                    .col(text("invoice_id"))
                    .col(text("category"))
                    .col(text("office"))
                    .col(text("currency"))
                    .col(big_integer("amount_minor"))
                    .col(big_integer("principal_minor"))
                    .col(big_integer("fees_minor"))
                    .col(big_integer("interest_minor"))
                    .col(date("issue_date"))
                    .col(date("due_date"))
                    .col(text("payment_reference"))
                    .col(text_null("ocr_line"))
                    .col(text("status"))
                    .col(date_null("last_acknowledged"))
                    .col(text("history"))
                    .col(text_null("suspension_id"))
                    .col(date_null("next_action_date"))
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
                    .col(text("municipality"))
                    .col(text("debtor_id"))
                    .col(text("kind"))
                    .col(text("hold_id"))
                    .col(text_null("claim_ids"))
                    .col(date("from_date"))
                    .col(date_null("until_date"))
                    .col(text_null("reason"))
                    .primary_key(
                        Index::create()
                            .col("municipality")
                            .col("debtor_id")
                            .col("kind")
                            .col("hold_id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("broken_agreements")
                    .col(text("municipality"))
                    .col(text("debtor_id"))
                    .col(text("agreement_id"))
                    .col(text_null("claim_ids"))
                    .col(date("broken_on"))
                    .primary_key(
                        Index::create()
                            .col("municipality")
                            .col("debtor_id")
                            .col("agreement_id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("history")
                    .col(text("claim_id"))
                    .col(text("entry_key"))
                    .col(date("business_date"))
                    .col(big_integer("position"))
                    .col(text("action"))
                    .col(big_integer_null("step"))
                    .col(text("policy"))
                    .col(text("reason"))
                    .col(text("detail"))
                    .primary_key(Index::create().col("claim_id").col("entry_key"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("business_days")
                    .col(ColumnDef::new("business_date").date().primary_key())
                    .col(text("state"))
                    .col(date_null("cursor_date"))
                    .col(text_null("cursor_municipality"))
                    .col(text_null("cursor_debtor"))
                    .col(big_integer("debtors").default(0))
                    .col(big_integer("decisions").default(0))
                    .col(timestamp_with_time_zone("opened_at"))
                    .col(timestamp_with_time_zone_null("finished_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("write_offs")
                    .col(ColumnDef::new("write_off_id").text().primary_key())
                    .col(text("claim_id"))
                    .col(text("municipality"))
                    .col(text("debtor_id"))
                    .col(date("limitation_date"))
                    .col(big_integer("balance_minor"))
                    .col(text("currency"))
                    .col(date("proposed_date"))
                    .col(text("state"))
                    .col(text_null("approved_by"))
                    .col(timestamp_with_time_zone_null("approved_at"))
                    .col(date_null("approved_date"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("write_offs_by_state")
                    .table("write_offs")
                    .col("state")
                    .col("proposed_date")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("write_offs_by_claim")
                    .table("write_offs")
                    .col("claim_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(restance_runtime::audit::api_audit_table())
            .await
    }
}

/// The daily run's failed debtors: attempts per (day, debtor), and whether the debtor was parked
/// for that day (`run.rs`: a debtor that fails `park_after_failures` times is skipped for the
/// day with a caseworker alert; its next action date is unchanged, so the next day retries it).
#[derive(Debug)]
struct RunFailures;

impl MigrationName for RunFailures {
    fn name(&self) -> &str {
        "m20261206_000003_run_failures"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for RunFailures {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("run_failures")
                    .col(date("business_date"))
                    .col(text("municipality"))
                    .col(text("debtor_id"))
                    .col(big_integer("failures"))
                    .col(text("last_error"))
                    .col(big_integer("parked").default(0))
                    .col(timestamp_with_time_zone("updated_at"))
                    .primary_key(
                        Index::create()
                            .col("business_date")
                            .col("municipality")
                            .col("debtor_id"),
                    )
                    .to_owned(),
            )
            .await
    }
}

/// The version of `invoicing.debtor.updated.v1` the stored details came from (0: none, or only
/// copies without a version), so that an older copy arriving late cannot overwrite newer
/// details (`handlers::claims::debtor_updated`).
#[derive(Debug)]
struct DebtorVersions;

impl MigrationName for DebtorVersions {
    fn name(&self) -> &str {
        "m20261207_000004_dunning_debtor_versions"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for DebtorVersions {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("debtors")
                    .add_column(big_integer("details_version").default(0))
                    .to_owned(),
            )
            .await
    }
}

/// The version of invoicing's claim events the stored balance and status came from (0: none,
/// or only events without a version), so that an older balance change arriving late cannot
/// overwrite a newer one (`handlers::claims`).
#[derive(Debug)]
struct ClaimVersions;

impl MigrationName for ClaimVersions {
    fn name(&self) -> &str {
        "m20261208_000005_dunning_claim_versions"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for ClaimVersions {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("claims")
                    .add_column(big_integer("invoicing_version").default(0))
                    .to_owned(),
            )
            .await
    }
}

/// Prepayment claims (not arrears) and the caseworkers' collection cases: transfer proposals
/// (`transfer = review`) and the municipality's own distraint cases (priority claims). A case
/// row is inserted once under its deterministic id (`ON CONFLICT DO NOTHING`) and then only
/// changes state by a caseworker's audited decision.
#[derive(Debug)]
struct CollectionCases;

impl MigrationName for CollectionCases {
    fn name(&self) -> &str {
        "m20261220_000008_dunning_collection_cases"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CollectionCases {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("claims")
                    .add_column(boolean("prepayment").default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("collection_cases")
                    .col(ColumnDef::new("case_id").text().primary_key())
                    .col(text("kind"))
                    .col(text("municipality"))
                    .col(text("debtor_id"))
                    .col(text("office"))
                    .col(text("categories"))
                    .col(text("claim_ids"))
                    .col(text("currency"))
                    .col(big_integer("balance_minor"))
                    .col(date("opened_date"))
                    .col(text("state"))
                    .col(text("grounds"))
                    .col(text_null("decided_by"))
                    .col(date_null("decided_date"))
                    .col(text_null("decision"))
                    .col(text_null("reason"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("collection_cases_list")
                    .table("collection_cases")
                    .col("kind")
                    .col("state")
                    .col("municipality")
                    .col("opened_date")
                    .col("case_id")
                    .to_owned(),
            )
            .await
    }
}

/// Whether invoicing collects a claim by direct debit: such a claim gets no notice before its
/// due date (the payment service collects it).
#[derive(Debug)]
struct DirectDebit;

impl MigrationName for DirectDebit {
    fn name(&self) -> &str {
        "m20261222_000010_dunning_direct_debit"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for DirectDebit {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("claims")
                    .add_column(boolean("direct_debit").default(false))
                    .to_owned(),
            )
            .await
    }
}

/// The trace (W3C `traceparent`) of the claim that last opened for a debtor: the daily run
/// continues it when it acts on the debtor, so a reminder is found in its invoice's trace.
#[derive(Debug)]
struct DebtorTrace;

impl MigrationName for DebtorTrace {
    fn name(&self) -> &str {
        "m20261207_000011_dunning_debtor_trace"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for DebtorTrace {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("debtors")
                    .add_column(text_null("traceparent"))
                    .to_owned(),
            )
            .await
    }
}

/// Campaigns (`crate::campaigns`): the draft or sent campaign with its request, and the debtors
/// it was sent to with the claims selected and the notification requested (one row per campaign
/// and debtor, inserted in the approving transaction).
#[derive(Debug)]
struct Campaigns;

impl MigrationName for Campaigns {
    fn name(&self) -> &str {
        "m20261221_000009_dunning_campaigns"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Campaigns {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("campaigns")
                    .col(ColumnDef::new("campaign_id").text().primary_key())
                    .col(text("municipality"))
                    .col(text("spec"))
                    .col(text("state"))
                    .col(text("created_by"))
                    .col(date("created_date"))
                    .col(text_null("approved_by"))
                    .col(date_null("approved_date"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("campaigns_by_date")
                    .table("campaigns")
                    .col("created_date")
                    .col("campaign_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("campaign_debtors")
                    .col(text("campaign_id"))
                    .col(text("debtor_id"))
                    .col(text("claim_ids"))
                    .col(big_integer("arrears_minor"))
                    .col(text("notification_id"))
                    .primary_key(Index::create().col("campaign_id").col("debtor_id"))
                    .to_owned(),
            )
            .await
    }
}
