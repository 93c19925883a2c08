//! The agreements schema (PostgreSQL and SQLite alike). Money columns are integer øre
//! (`*_minor`), dates are `DATE` (ISO text on SQLite, so comparisons and index order agree),
//! instants are RFC 3339 text or `TIMESTAMPTZ` (audit).
//!
//! Decisions recorded here:
//! - **`claims`** is a projection of invoicing's claim events (and dunning's transfers): what a
//!   plan covers and what the caseworker sees, without a synchronous call to invoicing.
//! - **`coverage`** holds one row per claim and kind (`plan`, `deferral`) while an agreement is in
//!   force: its primary key is what makes "a claim is in at most one active plan" hold even
//!   when two caseworkers press the button at the same moment.
//! - **`debtors`** rows are locked (PostgreSQL `FOR UPDATE`, key order) by every writer — the
//!   consumer and the API — before an agreement of that debtor is read or changed.
//! - **Natural keys**: one payment per (plan, payment, claim), one reminder per (plan, revision,
//!   instalment), one task per deterministic task id, one business day per date.
//! - **`audit`** is written in the same transaction as the change it describes (who, what, when,
//!   before and after); it never holds national ids (agreements never receives them).

use restance_store::run_ddl;
use sea_orm::{ConnectionTrait as _, DatabaseBackend};
use sea_orm_migration::prelude::*;

/// The migrator run at start and by `restance-agreements migrate`.
#[derive(Debug)]
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(restance_bus::migration::InboxOutbox),
            Box::new(Agreements),
            Box::new(ClaimVersions),
            // the audit trail: rows are inserted, never changed or deleted
            Box::new(restance_runtime::audit::AppendOnly {
                name: "m20261217_000007_agreements_audit_append_only",
                table: "audit",
            }),
            Box::new(CaseworkerAlerts),
            Box::new(Assignments),
            Box::new(ErasedDebtors),
            Box::new(AuditErasable),
        ]
    }
}

/// Claims projection, plans, deferrals, meetings, tasks, business days, audit.
#[derive(Debug)]
struct Agreements;

impl MigrationName for Agreements {
    fn name(&self) -> &str {
        "m20261201_000003_agreements"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Agreements {
    // Long: the schema itself, one CREATE statement per table; applied migrations are never edited.
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(
            manager.get_connection(),
            "CREATE TABLE debtors (
                municipality TEXT NOT NULL,
                debtor_id TEXT NOT NULL,
                PRIMARY KEY (municipality, debtor_id)
            );
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
                state TEXT NOT NULL,
                closed_date DATE NULL
            );
            CREATE INDEX claims_by_debtor ON claims (municipality, debtor_id);
            CREATE TABLE business_days (
                business_date DATE PRIMARY KEY,
                opened_at TIMESTAMPTZ NOT NULL
            );
            CREATE TABLE reference_sequences (
                municipality TEXT PRIMARY KEY,
                last_seq BIGINT NOT NULL
            );
            CREATE TABLE plans (
                plan_id TEXT PRIMARY KEY,
                municipality TEXT NOT NULL,
                debtor_id TEXT NOT NULL,
                office TEXT NOT NULL,
                state TEXT NOT NULL,
                revision BIGINT NOT NULL,
                created_date DATE NOT NULL,
                revised_date DATE NOT NULL,
                currency TEXT NOT NULL,
                total_minor BIGINT NOT NULL,
                frequency TEXT NOT NULL,
                terms TEXT NOT NULL,
                payment_reference TEXT NOT NULL,
                ocr_line TEXT NOT NULL,
                note TEXT NULL,
                remaining_task_revision BIGINT NULL,
                ended_date DATE NULL,
                end_reason TEXT NULL,
                created_by TEXT NOT NULL
            );
            CREATE INDEX plans_by_debtor ON plans (municipality, debtor_id);
            CREATE INDEX plans_by_state ON plans (state);
            CREATE UNIQUE INDEX plans_by_reference ON plans (municipality, payment_reference);
            CREATE TABLE plan_claims (
                plan_id TEXT NOT NULL,
                claim_id TEXT NOT NULL,
                left_date DATE NULL,
                left_reason TEXT NULL,
                PRIMARY KEY (plan_id, claim_id)
            );
            CREATE INDEX plan_claims_by_claim ON plan_claims (claim_id);
            CREATE TABLE instalments (
                plan_id TEXT NOT NULL,
                revision BIGINT NOT NULL,
                seq BIGINT NOT NULL,
                due_date DATE NOT NULL,
                amount_minor BIGINT NOT NULL,
                PRIMARY KEY (plan_id, revision, seq)
            );
            CREATE TABLE plan_payments (
                plan_id TEXT NOT NULL,
                payment_id TEXT NOT NULL,
                claim_id TEXT NOT NULL,
                revision BIGINT NOT NULL,
                booking_date DATE NOT NULL,
                amount_minor BIGINT NOT NULL,
                PRIMARY KEY (plan_id, payment_id, claim_id)
            );
            CREATE TABLE plan_misses (
                plan_id TEXT NOT NULL,
                revision BIGINT NOT NULL,
                seq BIGINT NOT NULL,
                missed_date DATE NOT NULL,
                notification_id TEXT NOT NULL,
                PRIMARY KEY (plan_id, revision, seq)
            );
            CREATE TABLE coverage (
                claim_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                agreement_id TEXT NOT NULL,
                PRIMARY KEY (claim_id, kind)
            );
            CREATE INDEX coverage_by_agreement ON coverage (agreement_id);
            CREATE TABLE deferrals (
                deferral_id TEXT PRIMARY KEY,
                municipality TEXT NOT NULL,
                debtor_id TEXT NOT NULL,
                office TEXT NOT NULL,
                state TEXT NOT NULL,
                reason TEXT NOT NULL,
                from_date DATE NOT NULL,
                until_date DATE NOT NULL,
                review_date DATE NULL,
                review_raised BOOLEAN NOT NULL,
                note TEXT NULL,
                ended_date DATE NULL,
                end_reason TEXT NULL,
                created_by TEXT NOT NULL
            );
            CREATE INDEX deferrals_by_debtor ON deferrals (municipality, debtor_id);
            CREATE INDEX deferrals_by_state ON deferrals (state);
            CREATE TABLE deferral_claims (
                deferral_id TEXT NOT NULL,
                claim_id TEXT NOT NULL,
                PRIMARY KEY (deferral_id, claim_id)
            );
            CREATE TABLE meetings (
                meeting_id TEXT PRIMARY KEY,
                municipality TEXT NOT NULL,
                debtor_id TEXT NOT NULL,
                office TEXT NOT NULL,
                starts_at TEXT NOT NULL,
                meeting_date DATE NOT NULL,
                local_time TEXT NOT NULL,
                place TEXT NOT NULL,
                with_social_caseworker BOOLEAN NOT NULL,
                interpreter TEXT NULL,
                claim_ids TEXT NOT NULL,
                state TEXT NOT NULL,
                reminder_date DATE NOT NULL,
                reminder TEXT NOT NULL,
                overdue_raised BOOLEAN NOT NULL,
                outcome_date DATE NULL,
                result TEXT NULL,
                note TEXT NULL,
                created_by TEXT NOT NULL
            );
            CREATE INDEX meetings_by_debtor ON meetings (municipality, debtor_id);
            CREATE INDEX meetings_by_state ON meetings (state);
            CREATE TABLE tasks (
                task_id TEXT PRIMARY KEY,
                kind TEXT NOT NULL,
                municipality TEXT NOT NULL,
                office TEXT NOT NULL,
                debtor_id TEXT NOT NULL,
                subject TEXT NOT NULL,
                due_date DATE NOT NULL,
                text TEXT NOT NULL,
                state TEXT NOT NULL,
                created_date DATE NOT NULL,
                done_by TEXT NULL,
                done_at TIMESTAMPTZ NULL
            );
            CREATE INDEX tasks_by_state ON tasks (state, municipality, office, due_date);
            CREATE INDEX tasks_by_debtor ON tasks (municipality, debtor_id);
            CREATE TABLE audit (
                seq BIGSERIAL PRIMARY KEY,
                at TIMESTAMPTZ NOT NULL,
                caller TEXT NOT NULL,
                role TEXT NOT NULL,
                action TEXT NOT NULL,
                entity TEXT NOT NULL,
                outcome TEXT NOT NULL,
                before_json TEXT NULL,
                after_json TEXT NULL,
                detail TEXT NOT NULL
            );
            CREATE INDEX audit_by_entity ON audit (entity, seq)",
        )
        .await
    }
}

/// The version of invoicing's claim events the projection's balance and state came from (0:
/// none, or only events without a version), so that an older balance change arriving late
/// cannot overwrite a newer one (`handlers::claims`).
#[derive(Debug)]
struct ClaimVersions;

impl MigrationName for ClaimVersions {
    fn name(&self) -> &str {
        "m20261208_000005_agreements_claim_versions"
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

/// The social caseworker's alerts (`dunning.caseworker.alerted.v1`, natural key `alert_id`) and
/// their answer: released (by whom, when, why), answered by an agreement, or still open —
/// escalated to a supervisor once the answer day has passed (`alerts.rs`).
#[derive(Debug)]
struct CaseworkerAlerts;

impl MigrationName for CaseworkerAlerts {
    fn name(&self) -> &str {
        "m20261222_000008_agreements_caseworker_alerts"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CaseworkerAlerts {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(
            manager.get_connection(),
            "CREATE TABLE caseworker_alerts (
                alert_id TEXT PRIMARY KEY,
                municipality TEXT NOT NULL,
                debtor_id TEXT NOT NULL,
                office TEXT NOT NULL,
                category TEXT NOT NULL,
                claim_ids TEXT NOT NULL,
                reason TEXT NOT NULL,
                alerted_date DATE NOT NULL,
                answer_due DATE NOT NULL,
                state TEXT NOT NULL,
                escalated BOOLEAN NOT NULL,
                answered_date DATE NULL,
                answered_by TEXT NULL,
                answer TEXT NULL
            );
            CREATE INDEX caseworker_alerts_by_state ON caseworker_alerts (state, municipality, debtor_id);
            CREATE INDEX caseworker_alerts_by_debtor ON caseworker_alerts (municipality, debtor_id)",
        )
        .await
    }
}

/// Assignments of future receivables (transport) are plans of kind `assignment` with the
/// receivable's source (`plans.kind`, `plans.assignment_source`); existing plans are `plan`.
#[derive(Debug)]
struct Assignments;

impl MigrationName for Assignments {
    fn name(&self) -> &str {
        "m20261222_000009_agreements_assignments"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Assignments {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(
            manager.get_connection(),
            "ALTER TABLE plans ADD COLUMN kind TEXT NOT NULL DEFAULT 'plan';
            ALTER TABLE plans ADD COLUMN assignment_source TEXT NULL",
        )
        .await
    }
}

/// Retention: the debtors whose personal data was erased (`invoicing.debtor.erased.v1`), with
/// invoicing's version of the details at the erasure (kept the highest) and the date — when,
/// never what (`handlers::erasure`).
#[derive(Debug)]
struct ErasedDebtors;

impl MigrationName for ErasedDebtors {
    fn name(&self) -> &str {
        "m20261223_000010_agreements_erased_debtors"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for ErasedDebtors {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(
            manager.get_connection(),
            "CREATE TABLE erased_debtors (
                municipality TEXT NOT NULL,
                debtor_id TEXT NOT NULL,
                version BIGINT NOT NULL,
                erased_on DATE NOT NULL,
                PRIMARY KEY (municipality, debtor_id)
            )",
        )
        .await
    }
}

/// Retention and the audit trail: the trail stays append-only — no row is deleted, and who
/// (caller, role), what (action, entity), when and the outcome never change — but one change is
/// allowed: a row's snapshots and detail erased (`before_json`, `after_json` NULL, `detail`
/// `[erased]`) when the debtor's personal data goes (`store::queries::erasure`). The audit
/// then keeps who and when, not the data. Every other update is refused as before.
#[derive(Debug)]
struct AuditErasable;

impl MigrationName for AuditErasable {
    fn name(&self) -> &str {
        "m20261224_000011_agreements_audit_erasable"
    }
}

/// The only update the audit trail accepts: the snapshots and detail erased, all else equal.
const ERASURE_ONLY: &str = "NEW.seq = OLD.seq AND NEW.at = OLD.at AND NEW.caller = OLD.caller \
     AND NEW.role = OLD.role AND NEW.action = OLD.action AND NEW.entity = OLD.entity \
     AND NEW.outcome = OLD.outcome AND NEW.before_json IS NULL AND NEW.after_json IS NULL \
     AND NEW.detail = '[erased]'";

#[async_trait::async_trait]
impl MigrationTrait for AuditErasable {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let refusal = format!(
            "the table audit {} (an audit trail): its rows are never changed or deleted, \
             only their data erased by retention",
            restance_runtime::audit::APPEND_ONLY
        );
        let statements: Vec<String> = match db.get_database_backend() {
            DatabaseBackend::Postgres => vec![
                "DROP TRIGGER IF EXISTS audit_append_only ON audit".to_owned(),
                "CREATE OR REPLACE TRIGGER audit_no_delete BEFORE DELETE ON audit \
                 FOR EACH ROW EXECUTE FUNCTION restance_append_only()"
                    .to_owned(),
                format!(
                    "CREATE OR REPLACE TRIGGER audit_append_only BEFORE UPDATE ON audit FOR EACH ROW \
                     WHEN (NOT ({ERASURE_ONLY})) EXECUTE FUNCTION restance_append_only()"
                ),
            ],
            _ => vec![
                "DROP TRIGGER IF EXISTS audit_no_update".to_owned(),
                format!(
                    "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit \
                     WHEN NOT ({ERASURE_ONLY}) BEGIN SELECT RAISE(ABORT, '{refusal}'); END"
                ),
            ],
        };
        for sql in statements {
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }
}
