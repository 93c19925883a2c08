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

use restance_store::run_ddl;
use sea_orm_migration::prelude::*;

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
        run_ddl(
            manager.get_connection(),
            "CREATE TABLE claims (
                claim_id TEXT PRIMARY KEY,
                municipality TEXT NOT NULL,
                office TEXT NOT NULL,
                category TEXT NOT NULL,
                debtor_id TEXT NOT NULL,
                due_date DATE NOT NULL,
                direct_debit BOOLEAN NOT NULL,
                lifecycle TEXT NOT NULL,
                holds TEXT NOT NULL,
                state TEXT NOT NULL,
                principal_minor BIGINT NOT NULL,
                fees_minor BIGINT NOT NULL,
                interest_minor BIGINT NOT NULL,
                version_from DATE NOT NULL
            );
            CREATE INDEX claims_by_debtor ON claims (municipality, debtor_id);
            CREATE TABLE claim_versions (
                claim_id TEXT NOT NULL,
                valid_from DATE NOT NULL,
                valid_to DATE NULL,
                municipality TEXT NOT NULL,
                office TEXT NOT NULL,
                category TEXT NOT NULL,
                debtor_id TEXT NOT NULL,
                due_date DATE NOT NULL,
                direct_debit BOOLEAN NOT NULL,
                state TEXT NOT NULL,
                principal_minor BIGINT NOT NULL,
                fees_minor BIGINT NOT NULL,
                interest_minor BIGINT NOT NULL,
                total_minor BIGINT NOT NULL,
                PRIMARY KEY (claim_id, valid_from)
            );
            CREATE INDEX claim_versions_current ON claim_versions (municipality, due_date)
                WHERE valid_to IS NULL AND total_minor > 0;
            CREATE INDEX claim_versions_closed ON claim_versions (municipality, valid_to)
                WHERE valid_to IS NOT NULL AND total_minor > 0;
            CREATE TABLE holds (
                kind TEXT NOT NULL,
                hold_id TEXT NOT NULL,
                municipality TEXT NOT NULL,
                debtor_id TEXT NOT NULL,
                from_date DATE NOT NULL,
                until_date DATE NULL,
                status TEXT NOT NULL,
                claim_ids TEXT NOT NULL,
                PRIMARY KEY (kind, hold_id)
            );
            CREATE INDEX holds_starting ON holds (status, from_date);
            CREATE INDEX holds_expiring ON holds (status, until_date);
            CREATE TABLE business_days (
                business_date DATE PRIMARY KEY,
                state TEXT NOT NULL,
                opened_at TIMESTAMPTZ NOT NULL,
                finished_at TIMESTAMPTZ NULL
            );
            CREATE TABLE snapshot_days (
                as_of DATE PRIMARY KEY,
                cells BIGINT NOT NULL,
                computed_at TIMESTAMPTZ NOT NULL
            );
            CREATE TABLE arrears_daily (
                municipality TEXT NOT NULL,
                as_of DATE NOT NULL,
                office TEXT NOT NULL,
                category TEXT NOT NULL,
                state TEXT NOT NULL,
                age_bucket TEXT NOT NULL,
                direct_debit BOOLEAN NOT NULL,
                principal_minor BIGINT NOT NULL,
                fees_minor BIGINT NOT NULL,
                interest_minor BIGINT NOT NULL,
                claims BIGINT NOT NULL,
                PRIMARY KEY (municipality, as_of, office, category, state, age_bucket, direct_debit)
            );
            CREATE TABLE arrears_debtors (
                municipality TEXT NOT NULL,
                as_of DATE NOT NULL,
                dimension TEXT NOT NULL,
                dim_key TEXT NOT NULL,
                debtors BIGINT NOT NULL,
                PRIMARY KEY (municipality, as_of, dimension, dim_key)
            );
            CREATE TABLE flows_daily (
                municipality TEXT NOT NULL,
                business_date DATE NOT NULL,
                office TEXT NOT NULL,
                category TEXT NOT NULL,
                kind TEXT NOT NULL,
                claims BIGINT NOT NULL,
                amount_minor BIGINT NOT NULL,
                PRIMARY KEY (municipality, business_date, office, category, kind)
            );
            CREATE TABLE payments_daily (
                municipality TEXT NOT NULL,
                business_date DATE NOT NULL,
                payments BIGINT NOT NULL,
                amount_minor BIGINT NOT NULL,
                dd_payments BIGINT NOT NULL,
                dd_amount_minor BIGINT NOT NULL,
                PRIMARY KEY (municipality, business_date)
            );
            CREATE TABLE arrears_imported (
                municipality TEXT NOT NULL,
                as_of DATE NOT NULL,
                office TEXT NOT NULL,
                category TEXT NOT NULL,
                principal_minor BIGINT NOT NULL,
                fees_minor BIGINT NOT NULL,
                interest_minor BIGINT NOT NULL,
                claims BIGINT NOT NULL,
                debtors BIGINT NOT NULL,
                imported_at TIMESTAMPTZ NOT NULL,
                imported_by TEXT NOT NULL,
                PRIMARY KEY (municipality, as_of, office, category)
            );
            CREATE TABLE reports (
                report_id TEXT PRIMARY KEY,
                kind TEXT NOT NULL,
                municipality TEXT NOT NULL,
                as_of DATE NOT NULL,
                period_start DATE NOT NULL,
                generated_on DATE NOT NULL,
                state TEXT NOT NULL,
                claimed_by TEXT NULL,
                lease_until TIMESTAMPTZ NULL,
                published_at TIMESTAMPTZ NULL,
                failure TEXT NULL,
                report_json TEXT NULL
            );
            CREATE INDEX reports_by_municipality ON reports (municipality, as_of);
            CREATE TABLE report_files (
                report_id TEXT NOT NULL,
                name TEXT NOT NULL,
                media_type TEXT NOT NULL,
                path TEXT NOT NULL,
                sha256 TEXT NOT NULL,
                size_bytes BIGINT NOT NULL,
                PRIMARY KEY (report_id, name)
            );
            CREATE TABLE api_audit (
                seq BIGSERIAL PRIMARY KEY,
                at TIMESTAMPTZ NOT NULL,
                caller TEXT NOT NULL,
                role TEXT NOT NULL,
                action TEXT NOT NULL,
                target TEXT NOT NULL,
                outcome TEXT NOT NULL,
                detail TEXT NOT NULL
            )",
        )
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
        run_ddl(
            manager.get_connection(),
            "ALTER TABLE claims ADD COLUMN invoicing_version BIGINT NOT NULL DEFAULT 0",
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
        run_ddl(
            manager.get_connection(),
            "CREATE TABLE measures_daily (
                municipality TEXT NOT NULL,
                business_date DATE NOT NULL,
                measure TEXT NOT NULL,
                count BIGINT NOT NULL,
                PRIMARY KEY (municipality, business_date, measure)
            )",
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
        run_ddl(
            manager.get_connection(),
            "CREATE INDEX claim_versions_prepayment ON claim_versions (municipality, valid_from) \
             WHERE state = 'prepayment' AND total_minor > 0",
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
        run_ddl(
            manager.get_connection(),
            "CREATE TABLE campaigns_sent (
                campaign_id TEXT PRIMARY KEY,
                municipality TEXT NOT NULL,
                kind TEXT NOT NULL,
                sent_date DATE NOT NULL,
                debtors TEXT NOT NULL
            );
            CREATE INDEX campaigns_sent_period ON campaigns_sent (municipality, sent_date);",
        )
        .await
    }
}
