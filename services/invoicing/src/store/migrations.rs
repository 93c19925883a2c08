//! The invoicing schema. Money columns are integer øre (`*_minor`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

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
    // Long: the schema itself, one statement per table and index; applied migrations are never edited.
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("debtors")
                    .col(text("municipality"))
                    .col(text("debtor_id"))
                    .col(text("kind"))
                    .col(text("national_id"))
                    .col(text("details"))
                    .col(text("details_hash"))
                    .col(big_integer("credit_minor").default(0))
                    .primary_key(Index::create().col("municipality").col("debtor_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("debtors_by_national_id")
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
                    .col(big_pk_auto("seq"))
                    .col(text("claim_id").unique_key())
                    .col(text("source"))
                    .col(text("invoice_id"))
                    .col(text("municipality"))
                    .col(text("office"))
                    .col(text("category"))
                    .col(text("debtor_id"))
                    .col(text("currency"))
                    .col(big_integer("amount_minor"))
                    .col(big_integer("principal_minor"))
                    .col(big_integer("fees_minor").default(0))
                    .col(big_integer("interest_minor").default(0))
                    .col(date("issue_date"))
                    .col(date("due_date"))
                    .col(text("reference_key"))
                    .col(text("ocr_line"))
                    .col(boolean("prepayment"))
                    .col(boolean("direct_debit"))
                    .col(text("state"))
                    .col(text("content_hash"))
                    .col(date_null("settled_date"))
                    .index(Index::create().unique().col("source").col("invoice_id"))
                    .index(
                        Index::create()
                            .unique()
                            .col("municipality")
                            .col("reference_key"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("claims_open_by_debtor")
                    .table("claims")
                    .col("municipality")
                    .col("debtor_id")
                    .col("state")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("reference_sequences")
                    .col(text("municipality").primary_key())
                    .col(big_integer("next_value"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("payments")
                    .col(text("source"))
                    .col(text("payment_id"))
                    .col(text("municipality"))
                    .col(text_null("debtor_id"))
                    .col(big_integer("amount_minor"))
                    .col(date("booking_date"))
                    .col(text("matched_by"))
                    .primary_key(Index::create().col("source").col("payment_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("ledger_lines")
                    .col(big_pk_auto("seq"))
                    .col(text("claim_id"))
                    .col(text("kind"))
                    .col(text("ref_id"))
                    .col(big_integer("principal_minor"))
                    .col(big_integer("fees_minor"))
                    .col(big_integer("interest_minor"))
                    .col(date("business_date"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ledger_lines_by_claim")
                    .table("ledger_lines")
                    .col("claim_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("credit_notes")
                    .col(text("source"))
                    .col(text("credit_id"))
                    .col(text("claim_id"))
                    .col(big_integer("amount_minor"))
                    .primary_key(Index::create().col("source").col("credit_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("fees")
                    .col(text("claim_id"))
                    .col(big_integer("step"))
                    .col(text("fee_id"))
                    .col(big_integer("amount_minor"))
                    .primary_key(Index::create().col("claim_id").col("step"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("interest_charges")
                    .col(text("interest_id").primary_key())
                    .col(text("claim_id"))
                    .col(big_integer("amount_minor"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("business_days")
                    .col(big_integer("id").primary_key())
                    .col(date("last_date"))
                    .to_owned(),
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
        manager
            .create_table(
                Table::create()
                    .table("plan_references")
                    .col(text("municipality"))
                    .col(text("reference_key"))
                    .col(text("plan_id").unique_key())
                    .col(text("debtor_id"))
                    .col(text("claim_ids"))
                    .col(big_integer("revision"))
                    .primary_key(Index::create().col("municipality").col("reference_key"))
                    .to_owned(),
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
        manager
            .alter_table(
                Table::alter()
                    .table("claims")
                    .add_column(big_integer("version").default(0))
                    .to_owned(),
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
            .query_one(
                &Query::select()
                    .expr_as(Expr::col(Asterisk).count(), "twice")
                    .from_subquery(
                        Query::select()
                            .columns(["municipality", "payment_id"])
                            .from("payments")
                            .group_by_columns(["municipality", "payment_id"])
                            .and_having(Expr::col(Asterisk).count().gt(1))
                            .to_owned(),
                        "twice",
                    )
                    .to_owned(),
            )
            .await?
            .map(|r| r.try_get::<i64>("", "twice"))
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
        manager
            .create_index(
                Index::create()
                    .name("payments_once_per_municipality")
                    .table("payments")
                    .unique()
                    .col("municipality")
                    .col("payment_id")
                    .to_owned(),
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
        manager
            .alter_table(
                Table::alter()
                    .table("debtors")
                    .add_column(date_null("credit_since"))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::update()
                    .table("debtors")
                    .value(
                        "credit_since",
                        Query::select()
                            .expr(Expr::col("last_date").max())
                            .from("business_days")
                            .to_owned(),
                    )
                    .and_where(Expr::col("credit_minor").gt(0))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("refunds")
                    .col(text("refund_id").primary_key())
                    .col(text("municipality"))
                    .col(text("debtor_id"))
                    .col(text("currency"))
                    .col(big_integer("amount_minor"))
                    .col(date("requested_date"))
                    .col(text("requested_by"))
                    .col(text("state"))
                    .col(date_null("paid_date"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("refunds_by_debtor")
                    .table("refunds")
                    .col("municipality")
                    .col("debtor_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("refund_holds")
                    .col(text("municipality"))
                    .col(text("debtor_id"))
                    .col(text("reason"))
                    .col(text("held_by"))
                    .col(date("held_date"))
                    .primary_key(Index::create().col("municipality").col("debtor_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(restance_runtime::audit::api_audit_table())
            .await
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
        manager
            .create_table(
                Table::create()
                    .table("erasures")
                    .col(text("municipality"))
                    .col(text("debtor_id"))
                    .col(date("erased_on"))
                    .col(text("legal_source"))
                    .primary_key(
                        Index::create()
                            .col("municipality")
                            .col("debtor_id")
                            .col("erased_on"),
                    )
                    .to_owned(),
            )
            .await
    }
}
