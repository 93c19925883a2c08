//! Credit balances, refunds and refund holds.

use chrono::NaiveDate;
use restance_kernel::Money;
use restance_store::stmt;
use sea_orm::{ConnectionTrait, DbErr, QueryResult};

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

fn credit_from(r: &QueryResult) -> Result<CreditRow, DbErr> {
    Ok(CreditRow {
        municipality: r.try_get_by_index(0)?,
        debtor_id: r.try_get_by_index(1)?,
        credit: Money::from_minor(r.try_get_by_index(2)?),
        since: r.try_get_by_index(3)?,
        kind: r.try_get_by_index(4)?,
        national_id: r.try_get_by_index(5)?,
    })
}

const CREDIT_COLUMNS: &str =
    "municipality, debtor_id, credit_minor, credit_since, kind, national_id";

/// Every debtor with a credit balance, in key order.
pub async fn debtors_with_credit(db: &impl ConnectionTrait) -> Result<Vec<CreditRow>, DbErr> {
    db.query_all_raw(stmt(
        db,
        format!(
            "SELECT {CREDIT_COLUMNS} FROM debtors WHERE credit_minor > 0 \
             ORDER BY municipality, debtor_id"
        ),
        vec![],
    ))
    .await?
    .iter()
    .map(credit_from)
    .collect()
}

/// One debtor's credit (whatever its size), if the debtor exists.
pub async fn credit_of(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
) -> Result<Option<CreditRow>, DbErr> {
    db.query_one_raw(stmt(
        db,
        format!("SELECT {CREDIT_COLUMNS} FROM debtors WHERE municipality = $1 AND debtor_id = $2"),
        vec![municipality.into(), debtor_id.into()],
    ))
    .await?
    .as_ref()
    .map(credit_from)
    .transpose()
}

/// Every municipality a debtor id has a debtor row in.
pub async fn credits_of_debtor(
    db: &impl ConnectionTrait,
    debtor_id: &str,
) -> Result<Vec<CreditRow>, DbErr> {
    db.query_all_raw(stmt(
        db,
        format!("SELECT {CREDIT_COLUMNS} FROM debtors WHERE debtor_id = $1 ORDER BY municipality"),
        vec![debtor_id.into()],
    ))
    .await?
    .iter()
    .map(credit_from)
    .collect()
}

/// Starts a credit balance's refund period on `date` where it has none (a balance from before
/// periods were recorded).
pub async fn start_credit_period(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
    date: NaiveDate,
) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "UPDATE debtors SET credit_since = $1 WHERE municipality = $2 AND debtor_id = $3 \
         AND credit_since IS NULL",
        vec![date.into(), municipality.into(), debtor_id.into()],
    ))
    .await
    .map(drop)
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

const REFUND_COLUMNS: &str = "refund_id, municipality, debtor_id, currency, amount_minor, \
    requested_date, requested_by, state, paid_date";

fn refund_from(r: &QueryResult) -> Result<RefundRow, DbErr> {
    Ok(RefundRow {
        refund_id: r.try_get_by_index(0)?,
        municipality: r.try_get_by_index(1)?,
        debtor_id: r.try_get_by_index(2)?,
        currency: r.try_get_by_index(3)?,
        amount: Money::from_minor(r.try_get_by_index(4)?),
        requested_date: r.try_get_by_index(5)?,
        requested_by: r.try_get_by_index(6)?,
        state: r.try_get_by_index(7)?,
        paid_date: r.try_get_by_index(8)?,
    })
}

/// Stores a new requested refund; false when one with this id exists (the same request again).
pub async fn insert_refund(db: &impl ConnectionTrait, r: &RefundRow) -> Result<bool, DbErr> {
    super::insert_once(
        db,
        "INSERT INTO refunds (refund_id, municipality, debtor_id, currency, amount_minor, \
         requested_date, requested_by, state, paid_date) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'requested', NULL) ON CONFLICT DO NOTHING",
        vec![
            r.refund_id.clone().into(),
            r.municipality.clone().into(),
            r.debtor_id.clone().into(),
            r.currency.clone().into(),
            r.amount.to_minor().into(),
            r.requested_date.into(),
            r.requested_by.clone().into(),
        ],
    )
    .await
}

/// A refund by id.
pub async fn refund_by_id(
    db: &impl ConnectionTrait,
    refund_id: &str,
) -> Result<Option<RefundRow>, DbErr> {
    db.query_one_raw(stmt(
        db,
        format!("SELECT {REFUND_COLUMNS} FROM refunds WHERE refund_id = $1"),
        vec![refund_id.into()],
    ))
    .await?
    .as_ref()
    .map(refund_from)
    .transpose()
}

/// A debtor's refunds in a municipality, oldest first.
pub async fn refunds_of_debtor(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
) -> Result<Vec<RefundRow>, DbErr> {
    db.query_all_raw(stmt(
        db,
        format!(
            "SELECT {REFUND_COLUMNS} FROM refunds WHERE municipality = $1 AND debtor_id = $2 \
             ORDER BY requested_date, refund_id"
        ),
        vec![municipality.into(), debtor_id.into()],
    ))
    .await?
    .iter()
    .map(refund_from)
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
    let res = db
        .execute_raw(stmt(
            db,
            "UPDATE refunds SET state = 'paid', paid_date = $1 WHERE refund_id = $2 \
             AND state = 'requested'",
            vec![date.into(), refund_id.into()],
        ))
        .await?;
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
    db.query_one_raw(stmt(
        db,
        "SELECT reason, held_by, held_date FROM refund_holds WHERE municipality = $1 AND debtor_id = $2",
        vec![municipality.into(), debtor_id.into()],
    ))
    .await?
    .map(|r| {
        Ok(RefundHold {
            reason: r.try_get_by_index(0)?,
            held_by: r.try_get_by_index(1)?,
            held_date: r.try_get_by_index(2)?,
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
    db.execute_raw(stmt(
        db,
        "INSERT INTO refund_holds (municipality, debtor_id, reason, held_by, held_date) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (municipality, debtor_id) DO UPDATE SET \
         reason = excluded.reason, held_by = excluded.held_by, held_date = excluded.held_date",
        vec![
            municipality.into(),
            debtor_id.into(),
            hold.reason.clone().into(),
            hold.held_by.clone().into(),
            hold.held_date.into(),
        ],
    ))
    .await
    .map(drop)
}

/// Releases a hold; false when there was none.
pub async fn release_refund_hold(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
) -> Result<bool, DbErr> {
    let res = db
        .execute_raw(stmt(
            db,
            "DELETE FROM refund_holds WHERE municipality = $1 AND debtor_id = $2",
            vec![municipality.into(), debtor_id.into()],
        ))
        .await?;
    Ok(res.rows_affected() == 1)
}
