//! The invoicing schema. Money columns are integer øre (`*_minor`).

use restance_store::run_ddl;
use sea_orm_migration::prelude::*;

/// The migrator run at start and by `restance-invoicing migrate`.
#[derive(Debug)]
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(restance_bus::migration::InboxOutbox),
            Box::new(Ledger),
            Box::new(PlanReferences),
            Box::new(DebtorVersions),
            Box::new(ClaimVersions),
            Box::new(PaymentsOncePerMunicipality),
            Box::new(Refunds),
            Box::new(restance_runtime::audit::AppendOnly {
                name: "m20261209_000008_invoicing_api_audit_append_only",
                table: "api_audit",
            }),
            Box::new(Erasures),
        ]
    }
}

/// Claims, debtors, payments and their ledger lines.
#[derive(Debug)]
struct Ledger;

impl MigrationName for Ledger {
    fn name(&self) -> &str {
        "m20261122_000002_invoicing_ledger"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Ledger {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(
            manager.get_connection(),
            "CREATE TABLE debtors (
                municipality TEXT NOT NULL,
                debtor_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                national_id TEXT NOT NULL,
                details TEXT NOT NULL,
                details_hash TEXT NOT NULL,
                credit_minor BIGINT NOT NULL DEFAULT 0,
                PRIMARY KEY (municipality, debtor_id)
            );
            CREATE INDEX debtors_by_national_id ON debtors (municipality, national_id);
            CREATE TABLE claims (
                seq BIGSERIAL PRIMARY KEY,
                claim_id TEXT NOT NULL UNIQUE,
                source TEXT NOT NULL,
                invoice_id TEXT NOT NULL,
                municipality TEXT NOT NULL,
                office TEXT NOT NULL,
                category TEXT NOT NULL,
                debtor_id TEXT NOT NULL,
                currency TEXT NOT NULL,
                amount_minor BIGINT NOT NULL,
                principal_minor BIGINT NOT NULL,
                fees_minor BIGINT NOT NULL DEFAULT 0,
                interest_minor BIGINT NOT NULL DEFAULT 0,
                issue_date DATE NOT NULL,
                due_date DATE NOT NULL,
                reference_key TEXT NOT NULL,
                ocr_line TEXT NOT NULL,
                prepayment BOOLEAN NOT NULL,
                direct_debit BOOLEAN NOT NULL,
                state TEXT NOT NULL,
                content_hash TEXT NOT NULL,
                settled_date DATE NULL,
                UNIQUE (source, invoice_id),
                UNIQUE (municipality, reference_key)
            );
            CREATE INDEX claims_open_by_debtor ON claims (municipality, debtor_id, state);
            CREATE TABLE reference_sequences (
                municipality TEXT PRIMARY KEY,
                next_value BIGINT NOT NULL
            );
            CREATE TABLE payments (
                source TEXT NOT NULL,
                payment_id TEXT NOT NULL,
                municipality TEXT NOT NULL,
                debtor_id TEXT NULL,
                amount_minor BIGINT NOT NULL,
                booking_date DATE NOT NULL,
                matched_by TEXT NOT NULL,
                PRIMARY KEY (source, payment_id)
            );
            CREATE TABLE ledger_lines (
                seq BIGSERIAL PRIMARY KEY,
                claim_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                ref_id TEXT NOT NULL,
                principal_minor BIGINT NOT NULL,
                fees_minor BIGINT NOT NULL,
                interest_minor BIGINT NOT NULL,
                business_date DATE NOT NULL
            );
            CREATE INDEX ledger_lines_by_claim ON ledger_lines (claim_id);
            CREATE TABLE credit_notes (
                source TEXT NOT NULL,
                credit_id TEXT NOT NULL,
                claim_id TEXT NOT NULL,
                amount_minor BIGINT NOT NULL,
                PRIMARY KEY (source, credit_id)
            );
            CREATE TABLE fees (
                claim_id TEXT NOT NULL,
                step BIGINT NOT NULL,
                fee_id TEXT NOT NULL,
                amount_minor BIGINT NOT NULL,
                PRIMARY KEY (claim_id, step)
            );
            CREATE TABLE interest_charges (
                interest_id TEXT PRIMARY KEY,
                claim_id TEXT NOT NULL,
                amount_minor BIGINT NOT NULL
            );
            CREATE TABLE business_days (
                id BIGINT PRIMARY KEY,
                last_date DATE NOT NULL
            )",
        )
        .await
    }
}

/// Payment plans' own references (from `agreements.plan.created.v1`): a payment quoting one is
/// allocated to the plan's claims first, oldest first.
#[derive(Debug)]
struct PlanReferences;

impl MigrationName for PlanReferences {
    fn name(&self) -> &str {
        "m20261203_000003_invoicing_plan_references"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for PlanReferences {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(
            manager.get_connection(),
            "CREATE TABLE plan_references (
                municipality TEXT NOT NULL,
                reference_key TEXT NOT NULL,
                plan_id TEXT NOT NULL UNIQUE,
                debtor_id TEXT NOT NULL,
                claim_ids TEXT NOT NULL,
                revision BIGINT NOT NULL,
                PRIMARY KEY (municipality, reference_key)
            )",
        )
        .await
    }
}

/// The version of a debtor's details: raised by one with every write of the details (0 for the
/// debtors stored before it existed, so their next write is version 1), and carried by
/// `invoicing.debtor.updated.v1` so that consumers keep the newest copy whatever the order of
/// arrival.
#[derive(Debug)]
struct DebtorVersions;

impl MigrationName for DebtorVersions {
    fn name(&self) -> &str {
        "m20261206_000004_invoicing_debtor_versions"
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

/// The version of a claim: 1 when opened, raised by one with every write of its balance or
/// state in the same statement (`queries::update_claim`), and carried by the claim events so that
/// consumers keep the newest state whatever the order of arrival. Claims stored before it
/// existed start at 0 (their events so far had no version), so their next write is version 1.
#[derive(Debug)]
struct ClaimVersions;

impl MigrationName for ClaimVersions {
    fn name(&self) -> &str {
        "m20261208_000005_invoicing_claim_versions"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for ClaimVersions {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(
            manager.get_connection(),
            "ALTER TABLE claims ADD COLUMN version BIGINT NOT NULL DEFAULT 0",
        )
        .await
    }
}

/// A payment is one effect per `(municipality, payment_id)`, whatever the envelope's `source`:
/// the source is the sender's to choose, so the same bank payment published under a second
/// source must not pay twice. Payments keep their `(source, payment_id)` key; this index makes
/// the insert of a second copy do nothing. A database that already holds one payment id twice
/// in a municipality stops the migration with what to do: those payments were booked twice and
/// need a caseworker's look before the upgrade.
#[derive(Debug)]
struct PaymentsOncePerMunicipality;

impl MigrationName for PaymentsOncePerMunicipality {
    fn name(&self) -> &str {
        "m20261208_000006_invoicing_payments_once_per_municipality"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for PaymentsOncePerMunicipality {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let twice = db
            .query_one_raw(restance_store::stmt(
                db,
                "SELECT COUNT(*) FROM (SELECT municipality, payment_id FROM payments \
                 GROUP BY municipality, payment_id HAVING COUNT(*) > 1) AS twice",
                vec![],
            ))
            .await?
            .map(|r| r.try_get_by_index::<i64>(0))
            .transpose()?
            .unwrap_or(0);
        if twice > 0 {
            return Err(DbErr::Migration(format!(
                "{twice} payment id(s) are booked more than once in one municipality under \
                 different sources (SELECT municipality, payment_id, source FROM payments WHERE \
                 (municipality, payment_id) IN (SELECT municipality, payment_id FROM payments \
                 GROUP BY 1, 2 HAVING COUNT(*) > 1)); reverse the extra bookings, then migrate again"
            )));
        }
        run_ddl(
            db,
            "CREATE UNIQUE INDEX payments_once_per_municipality ON payments (municipality, payment_id)",
        )
        .await
    }
}

/// Refunds of credit balances and the caseworkers' holds on them (issue 22, item 11); since when
/// a debtor has had a credit balance (the refund waits `refund_after_days` from then); the API
/// audit trail of the caseworkers' refund decisions. A credit balance that exists already starts
/// its period on the last business day.
#[derive(Debug)]
struct Refunds;

impl MigrationName for Refunds {
    fn name(&self) -> &str {
        "m20261209_000007_invoicing_refunds"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Refunds {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        run_ddl(
            db,
            "ALTER TABLE debtors ADD COLUMN credit_since DATE;
            UPDATE debtors SET credit_since = (SELECT MAX(last_date) FROM business_days)
                WHERE credit_minor > 0;
            CREATE TABLE refunds (
                refund_id TEXT PRIMARY KEY,
                municipality TEXT NOT NULL,
                debtor_id TEXT NOT NULL,
                currency TEXT NOT NULL,
                amount_minor BIGINT NOT NULL,
                requested_date DATE NOT NULL,
                requested_by TEXT NOT NULL,
                state TEXT NOT NULL,
                paid_date DATE
            );
            CREATE INDEX refunds_by_debtor ON refunds (municipality, debtor_id);
            CREATE TABLE refund_holds (
                municipality TEXT NOT NULL,
                debtor_id TEXT NOT NULL,
                reason TEXT NOT NULL,
                held_by TEXT NOT NULL,
                held_date DATE NOT NULL,
                PRIMARY KEY (municipality, debtor_id)
            )",
        )
        .await?;
        run_ddl(db, restance_runtime::audit::API_AUDIT_TABLE).await
    }
}

/// Retention (`restance_kernel::retention`): one row per debtor whose personal data was erased
/// on a business day, with the legal source of the period that ran out. Who and when, never the
/// data.
#[derive(Debug)]
struct Erasures;

impl MigrationName for Erasures {
    fn name(&self) -> &str {
        "m20261218_000009_invoicing_erasures"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Erasures {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(
            manager.get_connection(),
            "CREATE TABLE erasures (
                municipality TEXT NOT NULL,
                debtor_id TEXT NOT NULL,
                erased_on DATE NOT NULL,
                legal_source TEXT NOT NULL,
                PRIMARY KEY (municipality, debtor_id, erased_on)
            )",
        )
        .await
    }
}
