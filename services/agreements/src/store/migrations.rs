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

use sea_orm::{ConnectionTrait as _, DatabaseBackend};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

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

/// Creates the index `name` on `table` over `cols` (in that order), unique or not.
async fn index(
    manager: &SchemaManager<'_>,
    name: &str,
    table: &'static str,
    cols: &[&'static str],
    unique: bool,
) -> Result<(), DbErr> {
    let mut index = Index::create();
    index.name(name).table(table);
    for col in cols {
        index.col(*col);
    }
    if unique {
        index.unique();
    }
    manager.create_index(index).await
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
    // Long: the schema itself, one table and its indexes after another, in the order they were
    // first created; applied migrations are never edited (the schema they build stays the same).
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("debtors")
                    .col(text("municipality"))
                    .col(text("debtor_id"))
                    .primary_key(Index::create().col("municipality").col("debtor_id"))
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
                    .col(text("state"))
                    .col(date_null("closed_date"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "claims_by_debtor",
            "claims",
            &["municipality", "debtor_id"],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table("business_days")
                    .col(ColumnDef::new("business_date").date().primary_key())
                    .col(timestamp_with_time_zone("opened_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("reference_sequences")
                    .col(ColumnDef::new("municipality").text().primary_key())
                    .col(big_integer("last_seq"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("plans")
                    .col(ColumnDef::new("plan_id").text().primary_key())
                    .col(text("municipality"))
                    .col(text("debtor_id"))
                    .col(text("office"))
                    .col(text("state"))
                    .col(big_integer("revision"))
                    .col(date("created_date"))
                    .col(date("revised_date"))
                    .col(text("currency"))
                    .col(big_integer("total_minor"))
                    .col(text("frequency"))
                    .col(text("terms"))
                    .col(text("payment_reference"))
                    .col(text("ocr_line"))
                    .col(text_null("note"))
                    .col(big_integer_null("remaining_task_revision"))
                    .col(date_null("ended_date"))
                    .col(text_null("end_reason"))
                    .col(text("created_by"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "plans_by_debtor",
            "plans",
            &["municipality", "debtor_id"],
            false,
        )
        .await?;
        index(manager, "plans_by_state", "plans", &["state"], false).await?;
        index(
            manager,
            "plans_by_reference",
            "plans",
            &["municipality", "payment_reference"],
            true,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table("plan_claims")
                    .col(text("plan_id"))
                    .col(text("claim_id"))
                    .col(date_null("left_date"))
                    .col(text_null("left_reason"))
                    .primary_key(Index::create().col("plan_id").col("claim_id"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "plan_claims_by_claim",
            "plan_claims",
            &["claim_id"],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table("instalments")
                    .col(text("plan_id"))
                    .col(big_integer("revision"))
                    .col(big_integer("seq"))
                    .col(date("due_date"))
                    .col(big_integer("amount_minor"))
                    .primary_key(Index::create().col("plan_id").col("revision").col("seq"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("plan_payments")
                    .col(text("plan_id"))
                    .col(text("payment_id"))
                    .col(text("claim_id"))
                    .col(big_integer("revision"))
                    .col(date("booking_date"))
                    .col(big_integer("amount_minor"))
                    .primary_key(
                        Index::create()
                            .col("plan_id")
                            .col("payment_id")
                            .col("claim_id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("plan_misses")
                    .col(text("plan_id"))
                    .col(big_integer("revision"))
                    .col(big_integer("seq"))
                    .col(date("missed_date"))
                    .col(text("notification_id"))
                    .primary_key(Index::create().col("plan_id").col("revision").col("seq"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("coverage")
                    .col(text("claim_id"))
                    .col(text("kind"))
                    .col(text("agreement_id"))
                    .primary_key(Index::create().col("claim_id").col("kind"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "coverage_by_agreement",
            "coverage",
            &["agreement_id"],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table("deferrals")
                    .col(ColumnDef::new("deferral_id").text().primary_key())
                    .col(text("municipality"))
                    .col(text("debtor_id"))
                    .col(text("office"))
                    .col(text("state"))
                    .col(text("reason"))
                    .col(date("from_date"))
                    .col(date("until_date"))
                    .col(date_null("review_date"))
                    .col(boolean("review_raised"))
                    .col(text_null("note"))
                    .col(date_null("ended_date"))
                    .col(text_null("end_reason"))
                    .col(text("created_by"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "deferrals_by_debtor",
            "deferrals",
            &["municipality", "debtor_id"],
            false,
        )
        .await?;
        index(
            manager,
            "deferrals_by_state",
            "deferrals",
            &["state"],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table("deferral_claims")
                    .col(text("deferral_id"))
                    .col(text("claim_id"))
                    .primary_key(Index::create().col("deferral_id").col("claim_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("meetings")
                    .col(ColumnDef::new("meeting_id").text().primary_key())
                    .col(text("municipality"))
                    .col(text("debtor_id"))
                    .col(text("office"))
                    .col(text("starts_at"))
                    .col(date("meeting_date"))
                    .col(text("local_time"))
                    .col(text("place"))
                    .col(boolean("with_social_caseworker"))
                    .col(text_null("interpreter"))
                    .col(text("claim_ids"))
                    .col(text("state"))
                    .col(date("reminder_date"))
                    .col(text("reminder"))
                    .col(boolean("overdue_raised"))
                    .col(date_null("outcome_date"))
                    .col(text_null("result"))
                    .col(text_null("note"))
                    .col(text("created_by"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "meetings_by_debtor",
            "meetings",
            &["municipality", "debtor_id"],
            false,
        )
        .await?;
        index(manager, "meetings_by_state", "meetings", &["state"], false).await?;
        manager
            .create_table(
                Table::create()
                    .table("tasks")
                    .col(ColumnDef::new("task_id").text().primary_key())
                    .col(text("kind"))
                    .col(text("municipality"))
                    .col(text("office"))
                    .col(text("debtor_id"))
                    .col(text("subject"))
                    .col(date("due_date"))
                    .col(text("text"))
                    .col(text("state"))
                    .col(date("created_date"))
                    .col(text_null("done_by"))
                    .col(timestamp_with_time_zone_null("done_at"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "tasks_by_state",
            "tasks",
            &["state", "municipality", "office", "due_date"],
            false,
        )
        .await?;
        index(
            manager,
            "tasks_by_debtor",
            "tasks",
            &["municipality", "debtor_id"],
            false,
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table("audit")
                    .col(big_pk_auto("seq"))
                    .col(timestamp_with_time_zone("at"))
                    .col(text("caller"))
                    .col(text("role"))
                    .col(text("action"))
                    .col(text("entity"))
                    .col(text("outcome"))
                    .col(text_null("before_json"))
                    .col(text_null("after_json"))
                    .col(text("detail"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "audit_by_entity",
            "audit",
            &["entity", "seq"],
            false,
        )
        .await?;

        Ok(())
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
        manager
            .create_table(
                Table::create()
                    .table("caseworker_alerts")
                    .col(ColumnDef::new("alert_id").text().primary_key())
                    .col(text("municipality"))
                    .col(text("debtor_id"))
                    .col(text("office"))
                    .col(text("category"))
                    .col(text("claim_ids"))
                    .col(text("reason"))
                    .col(date("alerted_date"))
                    .col(date("answer_due"))
                    .col(text("state"))
                    .col(boolean("escalated"))
                    .col(date_null("answered_date"))
                    .col(text_null("answered_by"))
                    .col(text_null("answer"))
                    .to_owned(),
            )
            .await?;
        index(
            manager,
            "caseworker_alerts_by_state",
            "caseworker_alerts",
            &["state", "municipality", "debtor_id"],
            false,
        )
        .await?;
        index(
            manager,
            "caseworker_alerts_by_debtor",
            "caseworker_alerts",
            &["municipality", "debtor_id"],
            false,
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
        // one column per ALTER: SQLite adds one at a time
        manager
            .alter_table(
                Table::alter()
                    .table("plans")
                    .add_column(text("kind").default("plan"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("plans")
                    .add_column(text_null("assignment_source"))
                    .to_owned(),
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
