//! `debtors` and `claims`: invoicing's debtors (their national ids, to find an applicant's
//! claims) and claims (their open balance) as announced on the bus, each kept at the highest
//! version seen.

use restance_kernel::Money;
use restance_store::{get_money, stmt};
use sea_orm::{ConnectionTrait, DbErr};

/// Stores a debtor's national id at `version` (an older version changes nothing).
pub async fn upsert_debtor(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
    national_id: &str,
    version: i64,
) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "INSERT INTO debtors (municipality, debtor_id, national_id, version) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (municipality, debtor_id) DO UPDATE SET national_id = excluded.national_id, \
         version = excluded.version WHERE debtors.version < excluded.version",
        vec![
            municipality.into(),
            debtor_id.into(),
            national_id.into(),
            version.into(),
        ],
    ))
    .await
    .map(|_| ())
}

/// The debtor ids of a person in a municipality.
pub async fn debtors_of_person(
    db: &impl ConnectionTrait,
    municipality: &str,
    national_id: &str,
) -> Result<Vec<String>, DbErr> {
    let rows = db
        .query_all_raw(stmt(
            db,
            "SELECT debtor_id FROM debtors WHERE municipality = $1 AND national_id = $2 ORDER BY debtor_id",
            vec![municipality.into(), national_id.into()],
        ))
        .await?;
    rows.iter().map(|r| r.try_get_by_index(0)).collect()
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
    db.execute_raw(stmt(
        db,
        "INSERT INTO claims (claim_id, municipality, debtor_id, category, invoice_id, currency, \
         balance_minor, interest_minor, open, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (claim_id) DO UPDATE SET balance_minor = excluded.balance_minor, \
         interest_minor = excluded.interest_minor, open = excluded.open, version = excluded.version \
         WHERE claims.version < excluded.version",
        vec![
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
        ],
    ))
    .await
    .map(|_| ())
}

/// The version of a claim kept here, if any.
pub async fn claim_version(
    db: &impl ConnectionTrait,
    claim_id: &str,
) -> Result<Option<ClaimRow>, DbErr> {
    let rows = claims_where(db, "claim_id = $1", vec![claim_id.into()]).await?;
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
                "municipality = $1 AND debtor_id = $2 AND open AND balance_minor > 0",
                vec![municipality.into(), d.clone().into()],
            )
            .await?,
        );
    }
    Ok(out)
}

async fn claims_where(
    db: &impl ConnectionTrait,
    condition: &str,
    values: Vec<sea_orm::Value>,
) -> Result<Vec<ClaimRow>, DbErr> {
    let rows = db
        .query_all_raw(stmt(
            db,
            format!(
                "SELECT claim_id, municipality, debtor_id, category, invoice_id, currency, \
                 balance_minor, interest_minor, open, version FROM claims WHERE {condition} ORDER BY claim_id"
            ),
            values,
        ))
        .await?;
    rows.iter()
        .map(|r| {
            Ok(ClaimRow {
                claim_id: r.try_get_by_index(0)?,
                municipality: r.try_get_by_index(1)?,
                debtor_id: r.try_get_by_index(2)?,
                category: r.try_get_by_index(3)?,
                invoice_id: r.try_get_by_index(4)?,
                currency: r.try_get_by_index(5)?,
                balance: get_money(r, 6)?,
                interest: get_money(r, 7)?,
                open: r.try_get_by_index(8)?,
                version: r.try_get_by_index(9)?,
            })
        })
        .collect()
}
