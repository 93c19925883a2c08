//! Retention: a debtor's personal data erased (`invoicing.debtor.erased.v1`) — the contact,
//! the requests and delivery plans of the notifications that concern it (names, addresses,
//! phone, e-mail, letter data), their attachments and the letters' PDFs; and the preview's
//! counts. Which notifications were sent, when, by which channel and with what outcome stays.

use chrono::NaiveDate;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ConnectionTrait, DbErr};

/// What a notification's request and its deliveries' plans become when erased.
pub const ERASED_JSON: &str = "{\"erased\":true}";

/// Invoicing's version of the debtor's details when it was erased, if it was.
pub async fn erased_version(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
) -> Result<Option<i64>, DbErr> {
    let select = Query::select()
        .column("version")
        .from("erased_debtors")
        .and_where(Expr::col("municipality").eq(municipality))
        .and_where(Expr::col("debtor_id").eq(debtor_id))
        .to_owned();
    db.query_one(&select)
        .await?
        .map(|r| r.try_get("", "version"))
        .transpose()
}

/// What one erasure removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Erased {
    /// Contacts deleted (0 or 1).
    pub contacts: u64,
    /// Notifications whose request was erased.
    pub notifications: u64,
    /// The letters' PDF files (relative to the documents directory) whose rows were deleted:
    /// the caller removes the files.
    pub documents: Vec<String>,
}

/// Erases the debtor's personal data held here and remembers the erasure with `version`
/// (kept the highest). Idempotent: a second erasure finds nothing more to erase.
pub async fn erase_debtor(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
    version: i64,
    erased_on: NaiveDate,
) -> Result<Erased, DbErr> {
    let record = Query::insert()
        .into_table("erased_debtors")
        .columns(["municipality", "debtor_id", "version", "erased_on"])
        .values_panic([
            municipality.into(),
            debtor_id.into(),
            version.into(),
            erased_on.into(),
        ])
        .on_conflict(
            OnConflict::columns(["municipality", "debtor_id"])
                .update_columns(["version", "erased_on"])
                .action_and_where(
                    Expr::col(("erased_debtors", "version")).lt(Expr::col(("excluded", "version"))),
                )
                .to_owned(),
        )
        .to_owned();
    db.execute(&record).await?;
    let contacts = db
        .execute(
            &Query::delete()
                .from_table("contacts")
                .and_where(Expr::col("municipality").eq(municipality))
                .and_where(Expr::col("debtor_id").eq(debtor_id))
                .to_owned(),
        )
        .await?
        .rows_affected();
    // the debtor's notifications
    let theirs = || -> Expr {
        Expr::col("notification_id").in_subquery(
            Query::select()
                .column("notification_id")
                .from("notifications")
                .and_where(Expr::col("municipality").eq(municipality))
                .and_where(Expr::col("debtor_id").eq(debtor_id))
                .to_owned(),
        )
    };
    let documents = db
        .query_all(
            &Query::select()
                .column("path")
                .from("documents")
                .and_where(theirs())
                .to_owned(),
        )
        .await?
        .iter()
        .map(|r| r.try_get::<String>("", "path"))
        .collect::<Result<Vec<_>, _>>()?;
    for table in ["documents", "attachments"] {
        db.execute(
            &Query::delete()
                .from_table(table)
                .and_where(theirs())
                .to_owned(),
        )
        .await?;
    }
    db.execute(
        &Query::update()
            .table("deliveries")
            .value("plan", ERASED_JSON)
            .value("last_error", Option::<String>::None)
            .and_where(theirs())
            .to_owned(),
    )
    .await?;
    // the gateway's error text may quote the number; the status and time stay
    db.execute(
        &Query::update()
            .table("sms_reports")
            .value("error", Option::<String>::None)
            .and_where(Expr::col("error").is_not_null())
            .and_where(theirs())
            .to_owned(),
    )
    .await?;
    let notifications = db
        .execute(
            &Query::update()
                .table("notifications")
                .value("request", ERASED_JSON)
                .value("redactions", Option::<String>::None)
                .and_where(Expr::col("municipality").eq(municipality))
                .and_where(Expr::col("debtor_id").eq(debtor_id))
                .and_where(Expr::col("request").ne(ERASED_JSON))
                .to_owned(),
        )
        .await?
        .rows_affected();
    Ok(Erased {
        contacts,
        notifications,
        documents,
    })
}
