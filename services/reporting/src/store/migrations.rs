//! The reporting schema (PostgreSQL and SQLite alike). Money columns are integer øre (`*_minor`),
//! dates are `DATE` (ISO text on SQLite, so comparisons and the index order are the same).
//!
//! Decisions recorded here (README "Tables"):
//! - **`claims`** is each claim as it stands now (its dimensions, lifecycle, the agreements
//!   covering it, state and balance); **`claim_versions`** is its history in business time, one
//!   row per claim and business date it changed on (`valid_from` inclusive, `valid_to`
//!   exclusive, `NULL` while current), with the dimensions copied so that a snapshot needs no
//!   join. Only the current row of a claim is ever updated.
//! - **`arrears_daily`** is the snapshot of every calendar date once it is closed (a later
//!   business day was opened): one row per municipality × date × office × category × state ×
//!   age bucket × direct debit with a balance; **`arrears_debtors`** the distinct debtors per
//!   dimension. An as-of query reads ≤ a few hundred rows through the primary key — with a
//!   million claims and years of history it stays a few milliseconds. Age buckets depend on
//!   the date, so they are stored per date, not per claim.
//! - The partial indexes `claim_versions_current` / `claim_versions_closed` serve taking a
//!   snapshot: the versions valid on a date are the current ones started by then plus the few
//!   closed after it.
//! - **`flows_daily`** / **`payments_daily`** add up what moved on each business date (claims
//!   billed, transferred, written off, fallen into arrears; payments), so a period's flows are a
//!   range sum.
//! - **`arrears_imported`**: month-end balances from `import-history`, per office and category.
//! - **`reports`** / **`report_files`**: one row per report (natural key `report_id`), claimed
//!   before its files are rendered, published with its files' SHA-256 in one transaction with
//!   the outbox.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, boolean, date, date_null, text, text_null, timestamp_with_time_zone,
    timestamp_with_time_zone_null,
};

/// The migrator run at start and by `restance-reporting migrate`.
#[derive(Debug)]
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(restance_bus::migration::InboxOutbox),
            Box::new(Reporting),
            Box::new(ClaimVersions),
            // the audit trail: rows are inserted, never changed or deleted
            Box::new(restance_runtime::audit::AppendOnly {
                name: "m20261217_000007_reporting_audit_append_only",
                table: "api_audit",
            }),
            Box::new(MeasuresDaily),
            Box::new(PrepaymentIndex),
            Box::new(CampaignsSent),
        ]
    }
}

/// Claims and their versions, holds, business days, snapshots, flows, imports, reports, audit.
#[derive(Debug)]
struct Reporting;

impl MigrationName for Reporting {
    fn name(&self) -> &str {
        "m20261201_000002_reporting"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Reporting {
    // Long: the schema itself, one CREATE statement per table; applied migrations are never edited.
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("claims")
                    .col(text("claim_id").primary_key())
                    .col(text("municipality"))
                    .col(text("office"))
                    .col(text("category"))
                    .col(text("debtor_id"))
                    .col(date("due_date"))
                    .col(boolean("direct_debit"))
                    .col(text("lifecycle"))
                    .col(text("holds"))
                    .col(text("state"))
                    .col(big_integer("principal_minor"))
                    .col(big_integer("fees_minor"))
                    .col(big_integer("interest_minor"))
                    .col(date("version_from"))
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
                    .table("claim_versions")
                    .col(text("claim_id"))
                    .col(date("valid_from"))
                    .col(date_null("valid_to"))
                    .col(text("municipality"))
                    .col(text("office"))
                    .col(text("category"))
                    .col(text("debtor_id"))
                    .col(date("due_date"))
                    .col(boolean("direct_debit"))
                    .col(text("state"))
                    .col(big_integer("principal_minor"))
                    .col(big_integer("fees_minor"))
                    .col(big_integer("interest_minor"))
                    .col(big_integer("total_minor"))
                    .primary_key(Index::create().col("claim_id").col("valid_from"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("claim_versions_current")
                    .table("claim_versions")
                    .col("municipality")
                    .col("due_date")
                    .and_where(Expr::col("valid_to").is_null())
                    .and_where(Expr::col("total_minor").gt(0))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("claim_versions_closed")
                    .table("claim_versions")
                    .col("municipality")
                    .col("valid_to")
                    .and_where(Expr::col("valid_to").is_not_null())
                    .and_where(Expr::col("total_minor").gt(0))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("holds")
                    .col(text("kind"))
                    .col(text("hold_id"))
                    .col(text("municipality"))
                    .col(text("debtor_id"))
                    .col(date("from_date"))
                    .col(date_null("until_date"))
                    .col(text("status"))
                    .col(text("claim_ids"))
                    .primary_key(Index::create().col("kind").col("hold_id"))
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("holds_starting", "from_date"),
            ("holds_expiring", "until_date"),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table("holds")
                        .col("status")
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table("business_days")
                    .col(date("business_date").primary_key())
                    .col(text("state"))
                    .col(timestamp_with_time_zone("opened_at"))
                    .col(timestamp_with_time_zone_null("finished_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("snapshot_days")
                    .col(date("as_of").primary_key())
                    .col(big_integer("cells"))
                    .col(timestamp_with_time_zone("computed_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("arrears_daily")
                    .col(text("municipality"))
                    .col(date("as_of"))
                    .col(text("office"))
                    .col(text("category"))
                    .col(text("state"))
                    .col(text("age_bucket"))
                    .col(boolean("direct_debit"))
                    .col(big_integer("principal_minor"))
                    .col(big_integer("fees_minor"))
                    .col(big_integer("interest_minor"))
                    .col(big_integer("claims"))
                    .primary_key(
                        Index::create()
                            .col("municipality")
                            .col("as_of")
                            .col("office")
                            .col("category")
                            .col("state")
                            .col("age_bucket")
                            .col("direct_debit"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("arrears_debtors")
                    .col(text("municipality"))
                    .col(date("as_of"))
                    .col(text("dimension"))
                    .col(text("dim_key"))
                    .col(big_integer("debtors"))
                    .primary_key(
                        Index::create()
                            .col("municipality")
                            .col("as_of")
                            .col("dimension")
                            .col("dim_key"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("flows_daily")
                    .col(text("municipality"))
                    .col(date("business_date"))
                    .col(text("office"))
                    .col(text("category"))
                    .col(text("kind"))
                    .col(big_integer("claims"))
                    .col(big_integer("amount_minor"))
                    .primary_key(
                        Index::create()
                            .col("municipality")
                            .col("business_date")
                            .col("office")
                            .col("category")
                            .col("kind"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("payments_daily")
                    .col(text("municipality"))
                    .col(date("business_date"))
                    .col(big_integer("payments"))
                    .col(big_integer("amount_minor"))
                    .col(big_integer("dd_payments"))
                    .col(big_integer("dd_amount_minor"))
                    .primary_key(Index::create().col("municipality").col("business_date"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("arrears_imported")
                    .col(text("municipality"))
                    .col(date("as_of"))
                    .col(text("office"))
                    .col(text("category"))
                    .col(big_integer("principal_minor"))
                    .col(big_integer("fees_minor"))
                    .col(big_integer("interest_minor"))
                    .col(big_integer("claims"))
                    .col(big_integer("debtors"))
                    .col(timestamp_with_time_zone("imported_at"))
                    .col(text("imported_by"))
                    .primary_key(
                        Index::create()
                            .col("municipality")
                            .col("as_of")
                            .col("office")
                            .col("category"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("reports")
                    .col(text("report_id").primary_key())
                    .col(text("kind"))
                    .col(text("municipality"))
                    .col(date("as_of"))
                    .col(date("period_start"))
                    .col(date("generated_on"))
                    .col(text("state"))
                    .col(text_null("claimed_by"))
                    .col(timestamp_with_time_zone_null("lease_until"))
                    .col(timestamp_with_time_zone_null("published_at"))
                    .col(text_null("failure"))
                    .col(text_null("report_json"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("reports_by_municipality")
                    .table("reports")
                    .col("municipality")
                    .col("as_of")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("report_files")
                    .col(text("report_id"))
                    .col(text("name"))
                    .col(text("media_type"))
                    .col(text("path"))
                    .col(text("sha256"))
                    .col(big_integer("size_bytes"))
                    .primary_key(Index::create().col("report_id").col("name"))
                    .to_owned(),
            )
            .await?;
        // The API audit trail (the shape every service's `api_audit` has).
        manager
            .create_table(restance_runtime::audit::api_audit_table())
            .await
    }
}

/// The version of invoicing's claim events the current claim row came from (0: none, or only
/// events without a version), so that an older balance change arriving late cannot overwrite a
/// newer one, nor enter the claim's history (`handlers::claims`). Not to be confused with
/// `claim_versions`, the claim's history in business time.
#[derive(Debug)]
struct ClaimVersions;

impl MigrationName for ClaimVersions {
    fn name(&self) -> &str {
        "m20261208_000005_reporting_claim_versions"
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

/// "Measures taken" per municipality, business date and measure (reminders, meeting offers,
/// fees, meetings held, plans made and broken, deferrals), added up as the events arrive; a
/// period's measures are a range sum (`domain::report::measures`). Transfers and write-offs are
/// counted in `flows_daily` already. Prepayments need no column: an unpaid prepayment is the
/// claim state `prepayment`, which is not an arrears state.
#[derive(Debug)]
struct MeasuresDaily;

impl MigrationName for MeasuresDaily {
    fn name(&self) -> &str {
        "m20261218_000009_reporting_measures_daily"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for MeasuresDaily {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("measures_daily")
                    .col(text("municipality"))
                    .col(date("business_date"))
                    .col(text("measure"))
                    .col(big_integer("count"))
                    .primary_key(
                        Index::create()
                            .col("municipality")
                            .col("business_date")
                            .col("measure"),
                    )
                    .to_owned(),
            )
            .await
    }
}

/// The outstanding prepayments of a date (`queries::prepayments_on`) read only the versions in
/// the state `prepayment`: a partial index keeps that a small read beside a million claims.
#[derive(Debug)]
struct PrepaymentIndex;

impl MigrationName for PrepaymentIndex {
    fn name(&self) -> &str {
        "m20261218_000010_reporting_prepayment_index"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for PrepaymentIndex {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("claim_versions_prepayment")
                    .table("claim_versions")
                    .col("municipality")
                    .col("valid_from")
                    .and_where(Expr::col("state").eq("prepayment"))
                    .and_where(Expr::col("total_minor").gt(0))
                    .to_owned(),
            )
            .await
    }
}

/// The campaigns sent (`dunning.campaign.sent.v1`): one row per campaign, its debtors and their
/// listed claims as JSON, read back for the campaign outcome in the council's reports
/// (`queries::campaign_outcomes`).
#[derive(Debug)]
struct CampaignsSent;

impl MigrationName for CampaignsSent {
    fn name(&self) -> &str {
        "m20261219_000011_reporting_campaigns_sent"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CampaignsSent {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("campaigns_sent")
                    .col(text("campaign_id").primary_key())
                    .col(text("municipality"))
                    .col(text("kind"))
                    .col(date("sent_date"))
                    .col(text("debtors"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("campaigns_sent_period")
                    .table("campaigns_sent")
                    .col("municipality")
                    .col("sent_date")
                    .to_owned(),
            )
            .await
    }
}
