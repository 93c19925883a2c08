//! Credit balances, refunds and refund holds.

use chrono::NaiveDate;
use restance_kernel::Money;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};

/// A debtor with a credit balance, as the daily refund run sees it.
#[derive(Debug, Clone)]
pub struct CreditRow {
    /// Municipality code.
    pub municipality: String,
    /// Debtor id.
    pub debtor_id: String,
    /// The booked credit balance.
    pub credit: Money,
    /// Since when (`None`: from before this was recorded).
    pub since: Option<NaiveDate>,
    /// `person` or `company`.
    pub kind: String,
    /// The debtor's national id (personal data: never logged).
    pub national_id: String,
}

/// A debtor row as [`CreditRow`] reads it.
#[derive(Debug, FromQueryResult)]
struct CreditRecord {
    municipality: String,
    debtor_id: String,
    credit_minor: i64,
    credit_since: Option<NaiveDate>,
    kind: String,
    national_id: String,
}

impl From<CreditRecord> for CreditRow {
    fn from(r: CreditRecord) -> Self {
        Self {
            municipality: r.municipality,
            debtor_id: r.debtor_id,
            credit: Money::from_minor(r.credit_minor),
            since: r.credit_since,
            kind: r.kind,
            national_id: r.national_id,
        }
    }
}

fn select_credits() -> SelectStatement {
    Query::select()
        .columns([
            "municipality",
            "debtor_id",
            "credit_minor",
            "credit_since",
            "kind",
            "national_id",
        ])
        .from("debtors")
        .to_owned()
}

async fn credits(
    db: &impl ConnectionTrait,
    select: &SelectStatement,
) -> Result<Vec<CreditRow>, DbErr> {
    db.query_all(select)
        .await?
        .iter()
        .map(|r| Ok(CreditRecord::from_query_result(r, "")?.into()))
        .collect()
}

/// Every debtor with a credit balance, in key order.
pub async fn debtors_with_credit(db: &impl ConnectionTrait) -> Result<Vec<CreditRow>, DbErr> {
    let select = select_credits()
        .and_where(Expr::col("credit_minor").gt(0))
        .order_by("municipality", Order::Asc)
        .order_by("debtor_id", Order::Asc)
        .to_owned();
    credits(db, &select).await
}

/// One debtor's credit (whatever its size), if the debtor exists.
pub async fn credit_of(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
) -> Result<Option<CreditRow>, DbErr> {
    let select = select_credits()
        .and_where(Expr::col("municipality").eq(municipality))
        .and_where(Expr::col("debtor_id").eq(debtor_id))
        .to_owned();
    db.query_one(&select)
        .await?
        .map(|r| Ok(CreditRecord::from_query_result(&r, "")?.into()))
        .transpose()
}

/// Every municipality a debtor id has a debtor row in.
pub async fn credits_of_debtor(
    db: &impl ConnectionTrait,
    debtor_id: &str,
) -> Result<Vec<CreditRow>, DbErr> {
    let select = select_credits()
        .and_where(Expr::col("debtor_id").eq(debtor_id))
        .order_by("municipality", Order::Asc)
        .to_owned();
    credits(db, &select).await
}

/// Starts a credit balance's refund period on `date` where it has none (a balance from before
/// periods were recorded).
pub async fn start_credit_period(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
    date: NaiveDate,
) -> Result<(), DbErr> {
    let update = Query::update()
        .table("debtors")
        .value("credit_since", date)
        .and_where(Expr::col("municipality").eq(municipality))
        .and_where(Expr::col("debtor_id").eq(debtor_id))
        .and_where(Expr::col("credit_since").is_null())
        .to_owned();
    db.execute(&update).await.map(drop)
}

/// A refund as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRow {
    /// The refund's id (`invoicing.refund.requested.v1`).
    pub refund_id: String,
    /// Municipality code.
    pub municipality: String,
    /// Debtor id.
    pub debtor_id: String,
    /// Currency code.
    pub currency: String,
    /// Amount requested.
    pub amount: Money,
    /// Business date of the request.
    pub requested_date: NaiveDate,
    /// `daily_run` or the caseworker's token name.
    pub requested_by: String,
    /// `requested` (reserved out of the credit balance) or `paid` (booked).
    pub state: String,
    /// When the payment system paid it.
    pub paid_date: Option<NaiveDate>,
}

/// A `refunds` row.
#[derive(Debug, FromQueryResult)]
struct RefundRecord {
    refund_id: String,
    municipality: String,
    debtor_id: String,
    currency: String,
    amount_minor: i64,
    requested_date: NaiveDate,
    requested_by: String,
    state: String,
    paid_date: Option<NaiveDate>,
}

impl From<RefundRecord> for RefundRow {
    fn from(r: RefundRecord) -> Self {
        Self {
            refund_id: r.refund_id,
            municipality: r.municipality,
            debtor_id: r.debtor_id,
            currency: r.currency,
            amount: Money::from_minor(r.amount_minor),
            requested_date: r.requested_date,
            requested_by: r.requested_by,
            state: r.state,
            paid_date: r.paid_date,
        }
    }
}

fn select_refunds() -> SelectStatement {
    Query::select()
        .columns([
            "refund_id",
            "municipality",
            "debtor_id",
            "currency",
            "amount_minor",
            "requested_date",
            "requested_by",
            "state",
            "paid_date",
        ])
        .from("refunds")
        .to_owned()
}

/// Stores a new requested refund; false when one with this id exists (the same request again).
pub async fn insert_refund(db: &impl ConnectionTrait, r: &RefundRow) -> Result<bool, DbErr> {
    super::insert_once(
        db,
        Query::insert()
            .into_table("refunds")
            .columns([
                "refund_id",
                "municipality",
                "debtor_id",
                "currency",
                "amount_minor",
                "requested_date",
                "requested_by",
                "state",
                "paid_date",
            ])
            .values_panic([
                r.refund_id.as_str().into(),
                r.municipality.as_str().into(),
                r.debtor_id.as_str().into(),
                r.currency.as_str().into(),
                r.amount.to_minor().into(),
                r.requested_date.into(),
                r.requested_by.as_str().into(),
                "requested".into(),
                Option::<NaiveDate>::None.into(),
            ])
            .to_owned(),
    )
    .await
}

/// A refund by id.
pub async fn refund_by_id(
    db: &impl ConnectionTrait,
    refund_id: &str,
) -> Result<Option<RefundRow>, DbErr> {
    let select = select_refunds()
        .and_where(Expr::col("refund_id").eq(refund_id))
        .to_owned();
    db.query_one(&select)
        .await?
        .map(|r| Ok(RefundRecord::from_query_result(&r, "")?.into()))
        .transpose()
}

/// A debtor's refunds in a municipality, oldest first.
pub async fn refunds_of_debtor(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
) -> Result<Vec<RefundRow>, DbErr> {
    let select = select_refunds()
        .and_where(Expr::col("municipality").eq(municipality))
        .and_where(Expr::col("debtor_id").eq(debtor_id))
        .order_by("requested_date", Order::Asc)
        .order_by("refund_id", Order::Asc)
        .to_owned();
    db.query_all(&select)
        .await?
        .iter()
        .map(|r| Ok(RefundRecord::from_query_result(r, "")?.into()))
        .collect()
}

/// The sum of a debtor's requested, unconfirmed refunds (reserved out of the credit balance).
pub async fn pending_refunds(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
) -> Result<Money, DbErr> {
    Ok(refunds_of_debtor(db, municipality, debtor_id)
        .await?
        .iter()
        .filter(|r| r.state == "requested")
        .fold(Money::ZERO, |sum, r| sum + r.amount))
}

/// Books a refund as paid on `date`; false when it was not `requested` any more.
pub async fn mark_refund_paid(
    db: &impl ConnectionTrait,
    refund_id: &str,
    date: NaiveDate,
) -> Result<bool, DbErr> {
    let update = Query::update()
        .table("refunds")
        .value("state", "paid")
        .value("paid_date", date)
        .and_where(Expr::col("refund_id").eq(refund_id))
        .and_where(Expr::col("state").eq("requested"))
        .to_owned();
    let res = db.execute(&update).await?;
    Ok(res.rows_affected() == 1)
}

/// A caseworker's hold on a debtor's refunds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundHold {
    /// Why (never personal data, by the caseworker's rule).
    pub reason: String,
    /// The caseworker's token name.
    pub held_by: String,
    /// Business date of the hold.
    pub held_date: NaiveDate,
}

/// The hold on a debtor's refunds, if any.
pub async fn refund_hold(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
) -> Result<Option<RefundHold>, DbErr> {
    let select = Query::select()
        .columns(["reason", "held_by", "held_date"])
        .from("refund_holds")
        .and_where(Expr::col("municipality").eq(municipality))
        .and_where(Expr::col("debtor_id").eq(debtor_id))
        .to_owned();
    db.query_one(&select)
        .await?
        .map(|r| {
            Ok(RefundHold {
                reason: r.try_get("", "reason")?,
                held_by: r.try_get("", "held_by")?,
                held_date: r.try_get("", "held_date")?,
            })
        })
        .transpose()
}

/// Holds a debtor's refunds (a second hold replaces the first's reason).
pub async fn set_refund_hold(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
    hold: &RefundHold,
) -> Result<(), DbErr> {
    let insert = Query::insert()
        .into_table("refund_holds")
        .columns([
            "municipality",
            "debtor_id",
            "reason",
            "held_by",
            "held_date",
        ])
        .values_panic([
            municipality.into(),
            debtor_id.into(),
            hold.reason.as_str().into(),
            hold.held_by.as_str().into(),
            hold.held_date.into(),
        ])
        .on_conflict(
            OnConflict::columns(["municipality", "debtor_id"])
                .update_columns(["reason", "held_by", "held_date"])
                .to_owned(),
        )
        .to_owned();
    db.execute(&insert).await.map(drop)
}

/// Releases a hold; false when there was none.
pub async fn release_refund_hold(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
) -> Result<bool, DbErr> {
    let delete = Query::delete()
        .from_table("refund_holds")
        .and_where(Expr::col("municipality").eq(municipality))
        .and_where(Expr::col("debtor_id").eq(debtor_id))
        .to_owned();
    let res = db.execute(&delete).await?;
    Ok(res.rows_affected() == 1)
}
