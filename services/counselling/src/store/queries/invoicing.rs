//! `debtors` and `claims`: invoicing's debtors (their national ids, to find an applicant's
//! claims) and claims (their open balance) as announced on the bus, each kept at the highest
//! version seen.

use restance_kernel::Money;
use sea_orm::sea_query::{Cond, Expr, ExprTrait, OnConflict, Order, Query};
use sea_orm::{ConnectionTrait, DbErr};

use super::{get, get_money};

/// Stores a debtor's national id at `version` (an older version changes nothing).
pub async fn upsert_debtor(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
    national_id: &str,
    version: i64,
) -> Result<(), DbErr> {
    let upsert = Query::insert()
        .into_table("debtors")
        .columns(["municipality", "debtor_id", "national_id", "version"])
        .values_panic([
            municipality.into(),
            debtor_id.into(),
            national_id.into(),
            version.into(),
        ])
        .on_conflict(
            OnConflict::columns(["municipality", "debtor_id"])
                .update_columns(["national_id", "version"])
                .action_and_where(
                    Expr::col(("debtors", "version")).lt(Expr::col(("excluded", "version"))),
                )
                .to_owned(),
        )
        .to_owned();
    db.execute(&upsert).await.map(|_| ())
}

/// The debtor ids of a person in a municipality.
pub async fn debtors_of_person(
    db: &impl ConnectionTrait,
    municipality: &str,
    national_id: &str,
) -> Result<Vec<String>, DbErr> {
    let select = Query::select()
        .column("debtor_id")
        .from("debtors")
        .and_where(Expr::col("municipality").eq(municipality))
        .and_where(Expr::col("national_id").eq(national_id))
        .order_by("debtor_id", Order::Asc)
        .to_owned();
    let rows = db.query_all(&select).await?;
    rows.iter().map(|r| get(r, "debtor_id")).collect()
}

/// A claim as kept here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRow {
    /// Invoicing's id.
    pub claim_id: String,
    /// The municipality.
    pub municipality: String,
    /// The debtor.
    pub debtor_id: String,
    /// The arrears category.
    pub category: String,
    /// The invoice number.
    pub invoice_id: String,
    /// `DKK` or `NOK`.
    pub currency: String,
    /// The open balance.
    pub balance: Money,
    /// Of it, interest.
    pub interest: Money,
    /// Whether it is still open.
    pub open: bool,
    /// Invoicing's version.
    pub version: i64,
}

/// Stores a claim at its version (an older version changes nothing).
pub async fn upsert_claim(db: &impl ConnectionTrait, c: &ClaimRow) -> Result<(), DbErr> {
    let upsert = Query::insert()
        .into_table("claims")
        .columns(CLAIM_COLUMNS)
        .values_panic([
            c.claim_id.clone().into(),
            c.municipality.clone().into(),
            c.debtor_id.clone().into(),
            c.category.clone().into(),
            c.invoice_id.clone().into(),
            c.currency.clone().into(),
            c.balance.to_minor().into(),
            c.interest.to_minor().into(),
            c.open.into(),
            c.version.into(),
        ])
        .on_conflict(
            OnConflict::column("claim_id")
                .update_columns(["balance_minor", "interest_minor", "open", "version"])
                .action_and_where(
                    Expr::col(("claims", "version")).lt(Expr::col(("excluded", "version"))),
                )
                .to_owned(),
        )
        .to_owned();
    db.execute(&upsert).await.map(|_| ())
}

/// The version of a claim kept here, if any.
pub async fn claim_version(
    db: &impl ConnectionTrait,
    claim_id: &str,
) -> Result<Option<ClaimRow>, DbErr> {
    let rows = claims_where(db, Cond::all().add(Expr::col("claim_id").eq(claim_id))).await?;
    Ok(rows.into_iter().next())
}

/// The open claims of the debtors `debtor_ids` in `municipality`.
pub async fn open_claims_of(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_ids: &[String],
) -> Result<Vec<ClaimRow>, DbErr> {
    let mut out = Vec::new();
    for d in debtor_ids {
        out.extend(
            claims_where(
                db,
                Cond::all()
                    .add(Expr::col("municipality").eq(municipality))
                    .add(Expr::col("debtor_id").eq(d.as_str()))
                    .add(Expr::col("open"))
                    .add(Expr::col("balance_minor").gt(0)),
            )
            .await?,
        );
    }
    Ok(out)
}

/// The columns of a [`ClaimRow`].
const CLAIM_COLUMNS: [&str; 10] = [
    "claim_id",
    "municipality",
    "debtor_id",
    "category",
    "invoice_id",
    "currency",
    "balance_minor",
    "interest_minor",
    "open",
    "version",
];

async fn claims_where(db: &impl ConnectionTrait, condition: Cond) -> Result<Vec<ClaimRow>, DbErr> {
    let select = Query::select()
        .columns(CLAIM_COLUMNS)
        .from("claims")
        .cond_where(condition)
        .order_by("claim_id", Order::Asc)
        .to_owned();
    let rows = db.query_all(&select).await?;
    rows.iter()
        .map(|r| {
            Ok(ClaimRow {
                claim_id: get(r, "claim_id")?,
                municipality: get(r, "municipality")?,
                debtor_id: get(r, "debtor_id")?,
                category: get(r, "category")?,
                invoice_id: get(r, "invoice_id")?,
                currency: get(r, "currency")?,
                balance: get_money(r, "balance_minor")?,
                interest: get_money(r, "interest_minor")?,
                open: get(r, "open")?,
                version: get(r, "version")?,
            })
        })
        .collect()
}
