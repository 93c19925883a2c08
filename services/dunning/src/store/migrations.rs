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

use restance_store::run_ddl;
use sea_orm_migration::prelude::*;

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
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(
            manager.get_connection(),
            "CREATE TABLE debtors (
                municipality TEXT NOT NULL,
                debtor_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                details TEXT NULL,
                next_action_date DATE NULL,
                PRIMARY KEY (municipality, debtor_id)
            );
            CREATE INDEX debtors_due ON debtors (next_action_date, municipality, debtor_id);
            CREATE TABLE claims (
                claim_id TEXT PRIMARY KEY,
                municipality TEXT NOT NULL,
                debtor_id TEXT NOT NULL,
                source TEXT NOT NULL,
                invoice_id TEXT NOT NULL,
                category TEXT NOT NULL,
                office TEXT NOT NULL,
                currency TEXT NOT NULL,
                amount_minor BIGINT NOT NULL,
                principal_minor BIGINT NOT NULL,
                fees_minor BIGINT NOT NULL,
                interest_minor BIGINT NOT NULL,
                issue_date DATE NOT NULL,
                due_date DATE NOT NULL,
                payment_reference TEXT NOT NULL,
                ocr_line TEXT NULL,
                status TEXT NOT NULL,
                last_acknowledged DATE NULL,
                history TEXT NOT NULL,
                suspension_id TEXT NULL,
                next_action_date DATE NULL
            );
            CREATE INDEX claims_by_debtor ON claims (municipality, debtor_id);
            CREATE TABLE holds (
                municipality TEXT NOT NULL,
                debtor_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                hold_id TEXT NOT NULL,
                claim_ids TEXT NULL,
                from_date DATE NOT NULL,
                until_date DATE NULL,
                reason TEXT NULL,
                PRIMARY KEY (municipality, debtor_id, kind, hold_id)
            );
            CREATE TABLE broken_agreements (
                municipality TEXT NOT NULL,
                debtor_id TEXT NOT NULL,
                agreement_id TEXT NOT NULL,
                claim_ids TEXT NULL,
                broken_on DATE NOT NULL,
                PRIMARY KEY (municipality, debtor_id, agreement_id)
            );
            CREATE TABLE history (
                claim_id TEXT NOT NULL,
                entry_key TEXT NOT NULL,
                business_date DATE NOT NULL,
                position BIGINT NOT NULL,
                action TEXT NOT NULL,
                step BIGINT NULL,
                policy TEXT NOT NULL,
                reason TEXT NOT NULL,
                detail TEXT NOT NULL,
                PRIMARY KEY (claim_id, entry_key)
            );
            CREATE TABLE business_days (
                business_date DATE PRIMARY KEY,
                state TEXT NOT NULL,
                cursor_date DATE NULL,
                cursor_municipality TEXT NULL,
                cursor_debtor TEXT NULL,
                debtors BIGINT NOT NULL DEFAULT 0,
                decisions BIGINT NOT NULL DEFAULT 0,
                opened_at TIMESTAMPTZ NOT NULL,
                finished_at TIMESTAMPTZ NULL
            );
            CREATE TABLE write_offs (
                write_off_id TEXT PRIMARY KEY,
                claim_id TEXT NOT NULL,
                municipality TEXT NOT NULL,
                debtor_id TEXT NOT NULL,
                limitation_date DATE NOT NULL,
                balance_minor BIGINT NOT NULL,
                currency TEXT NOT NULL,
                proposed_date DATE NOT NULL,
                state TEXT NOT NULL,
                approved_by TEXT NULL,
                approved_at TIMESTAMPTZ NULL,
                approved_date DATE NULL
            );
            CREATE INDEX write_offs_by_state ON write_offs (state, proposed_date);
            CREATE INDEX write_offs_by_claim ON write_offs (claim_id);
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
        run_ddl(
            manager.get_connection(),
            "CREATE TABLE run_failures (
                business_date DATE NOT NULL,
                municipality TEXT NOT NULL,
                debtor_id TEXT NOT NULL,
                failures BIGINT NOT NULL,
                last_error TEXT NOT NULL,
                parked BIGINT NOT NULL DEFAULT 0,
                updated_at TIMESTAMPTZ NOT NULL,
                PRIMARY KEY (business_date, municipality, debtor_id)
            )",
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
        run_ddl(
            manager.get_connection(),
            "ALTER TABLE debtors ADD COLUMN details_version BIGINT NOT NULL DEFAULT 0",
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
        run_ddl(
            manager.get_connection(),
            "ALTER TABLE claims ADD COLUMN invoicing_version BIGINT NOT NULL DEFAULT 0",
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
        run_ddl(
            manager.get_connection(),
            "ALTER TABLE claims ADD COLUMN prepayment BOOLEAN NOT NULL DEFAULT FALSE;
            CREATE TABLE collection_cases (
                case_id TEXT PRIMARY KEY,
                kind TEXT NOT NULL,
                municipality TEXT NOT NULL,
                debtor_id TEXT NOT NULL,
                office TEXT NOT NULL,
                categories TEXT NOT NULL,
                claim_ids TEXT NOT NULL,
                currency TEXT NOT NULL,
                balance_minor BIGINT NOT NULL,
                opened_date DATE NOT NULL,
                state TEXT NOT NULL,
                grounds TEXT NOT NULL,
                decided_by TEXT NULL,
                decided_date DATE NULL,
                decision TEXT NULL,
                reason TEXT NULL
            );
            CREATE INDEX collection_cases_list ON collection_cases (kind, state, municipality, opened_date, case_id)",
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
        run_ddl(
            manager.get_connection(),
            "ALTER TABLE claims ADD COLUMN direct_debit BOOLEAN NOT NULL DEFAULT FALSE",
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
        run_ddl(
            manager.get_connection(),
            "ALTER TABLE debtors ADD COLUMN traceparent TEXT NULL",
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
        run_ddl(
            manager.get_connection(),
            "CREATE TABLE campaigns (
                campaign_id TEXT PRIMARY KEY,
                municipality TEXT NOT NULL,
                spec TEXT NOT NULL,
                state TEXT NOT NULL,
                created_by TEXT NOT NULL,
                created_date DATE NOT NULL,
                approved_by TEXT NULL,
                approved_date DATE NULL
            );
            CREATE INDEX campaigns_by_date ON campaigns (created_date, campaign_id);
            CREATE TABLE campaign_debtors (
                campaign_id TEXT NOT NULL,
                debtor_id TEXT NOT NULL,
                claim_ids TEXT NOT NULL,
                arrears_minor BIGINT NOT NULL,
                notification_id TEXT NOT NULL,
                PRIMARY KEY (campaign_id, debtor_id)
            )",
        )
        .await
    }
}
