//! The counselling schema. Money columns are integer øre (`*_minor`).
//!
//! A case is one row: the columns the lists and the business day select by, the applicant as
//! given (personal data, JSON) and the domain's [`crate::domain::Case`] as JSON (its calls,
//! meetings, creditors, debt items, notes and timeline). The applicant's national id is stored
//! in full: earlier cases and invoicing's debtors are found by it. It is never logged, never
//! published and never answered by the API (the birth date is).

use restance_store::run_ddl;
use sea_orm_migration::prelude::*;

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
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(
            manager.get_connection(),
            &format!(
                "CREATE TABLE cases (
                case_id TEXT PRIMARY KEY,
                source TEXT NOT NULL,
                application_id TEXT NOT NULL,
                content_hash TEXT NOT NULL,
                municipality TEXT NOT NULL,
                applicant_id TEXT NOT NULL,
                national_id TEXT NULL,
                applicant TEXT NOT NULL,
                counsellor TEXT NOT NULL,
                routine TEXT NOT NULL,
                phase TEXT NOT NULL,
                opened_on DATE NOT NULL,
                next_timer DATE NULL,
                previous_case_id TEXT NULL,
                state TEXT NOT NULL,
                UNIQUE (source, application_id)
            );
            CREATE INDEX cases_by_person ON cases (municipality, national_id);
            CREATE INDEX cases_by_timer ON cases (next_timer);
            CREATE INDEX cases_by_counsellor ON cases (counsellor, phase);
            CREATE TABLE debtors (
                municipality TEXT NOT NULL,
                debtor_id TEXT NOT NULL,
                national_id TEXT NOT NULL,
                version BIGINT NOT NULL,
                PRIMARY KEY (municipality, debtor_id)
            );
            CREATE INDEX debtors_by_person ON debtors (municipality, national_id);
            CREATE TABLE claims (
                claim_id TEXT PRIMARY KEY,
                municipality TEXT NOT NULL,
                debtor_id TEXT NOT NULL,
                category TEXT NOT NULL,
                invoice_id TEXT NOT NULL,
                currency TEXT NOT NULL,
                balance_minor BIGINT NOT NULL,
                interest_minor BIGINT NOT NULL,
                open BOOLEAN NOT NULL,
                version BIGINT NOT NULL
            );
            CREATE INDEX claims_by_debtor ON claims (municipality, debtor_id);
            CREATE TABLE holds (
                case_id TEXT NOT NULL,
                municipality TEXT NOT NULL,
                debtor_id TEXT NOT NULL,
                held_from DATE NOT NULL,
                released_on DATE NULL,
                PRIMARY KEY (case_id, debtor_id)
            );
            CREATE INDEX holds_by_debtor ON holds (municipality, debtor_id);
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
        run_ddl(
            manager.get_connection(),
            "CREATE TABLE erasures (
                case_id TEXT PRIMARY KEY,
                municipality TEXT NOT NULL,
                closed_on DATE NOT NULL,
                erased_on DATE NOT NULL,
                legal_source TEXT NOT NULL
            );",
        )
        .await
    }
}
