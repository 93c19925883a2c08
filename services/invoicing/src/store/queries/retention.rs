//! Retention: the debtors whose claims have all ended, with when each category's claims ended;
//! the erasure of a debtor's personal data and its record.

use chrono::NaiveDate;
use restance_store::stmt;
use sea_orm::{ConnectionTrait, DbErr};

/// What a debtor's stored details become when erased: the row, its id, kind, claims and credit
/// stay; `details_hash` marks it (a later invoice for the same id brings new details, which
/// differ from the marker, so the row is written again and the debtor is known again).
pub const ERASED: &str = "erased";

/// One category of one debtor's claims, all ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndedCategory {
    /// Municipality code.
    pub municipality: String,
    /// Debtor id.
    pub debtor_id: String,
    /// Category key.
    pub category: String,
    /// How many claims.
    pub claims: i64,
    /// The latest date one of them ended: its settled date, else its last ledger line (a
    /// write-off, an expiry, a transfer to state collection).
    pub ended: Option<NaiveDate>,
}

/// Every category of every debtor not yet erased that has no open claim, no credit balance and
/// no refund under way, and whose claims (of every category) all ended on or before `ended_by`
/// (no later claim can be past the shortest period), in `(municipality, debtor_id)` order. The policy decides per
/// category which are due (`restance_kernel::retention`).
pub async fn ended_categories(
    db: &impl ConnectionTrait,
    ended_by: NaiveDate,
) -> Result<Vec<EndedCategory>, DbErr> {
    let rows = db
        .query_all_raw(stmt(
            db,
            "SELECT municipality, debtor_id, category, claims, ended FROM ( \
               SELECT municipality, debtor_id, category, COUNT(*) AS claims, MAX(ended) AS ended, \
                 MAX(MAX(ended)) OVER (PARTITION BY municipality, debtor_id) AS debtor_ended \
               FROM ( \
                 SELECT c.municipality, c.debtor_id, c.category, COALESCE(c.settled_date, \
                   (SELECT MAX(l.business_date) FROM ledger_lines l \
                    WHERE l.claim_id = c.claim_id)) AS ended \
                 FROM debtors d \
                 JOIN claims c ON c.municipality = d.municipality AND c.debtor_id = d.debtor_id \
                 WHERE d.details_hash <> $1 AND d.credit_minor = 0 \
                   AND NOT EXISTS (SELECT 1 FROM claims o WHERE o.municipality = d.municipality \
                     AND o.debtor_id = d.debtor_id AND o.state = 'open') \
                   AND NOT EXISTS (SELECT 1 FROM refunds r WHERE r.municipality = d.municipality \
                     AND r.debtor_id = d.debtor_id AND r.state = 'requested') \
               ) AS ended_claims \
               GROUP BY municipality, debtor_id, category \
             ) AS per_category \
             WHERE debtor_ended <= $2 \
             ORDER BY municipality, debtor_id, category",
            vec![ERASED.into(), ended_by.into()],
        ))
        .await?;
    rows.iter()
        .map(|r| {
            Ok(EndedCategory {
                municipality: r.try_get_by_index(0)?,
                debtor_id: r.try_get_by_index(1)?,
                category: r.try_get_by_index(2)?,
                claims: r.try_get_by_index(3)?,
                ended: r.try_get_by_index(4)?,
            })
        })
        .collect()
}

/// Replaces the debtor's personal data (national id, name, address, phone, e-mail: the details
/// block) by the marker, unless it has an open claim meanwhile or is erased already; records
/// the erasure. The details' version after it when this call erased it.
pub async fn erase_debtor(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
    erased_on: NaiveDate,
    legal_source: &str,
) -> Result<Option<u64>, DbErr> {
    let version = db
        .query_one_raw(stmt(
            db,
            "UPDATE debtors SET national_id = '', details = '{}', details_hash = $3, \
               details_version = details_version + 1 \
             WHERE municipality = $1 AND debtor_id = $2 AND details_hash <> $3 \
               AND NOT EXISTS (SELECT 1 FROM claims o WHERE o.municipality = $1 \
                 AND o.debtor_id = $2 AND o.state = 'open') \
             RETURNING details_version",
            vec![municipality.into(), debtor_id.into(), ERASED.into()],
        ))
        .await?
        .map(|r| r.try_get_by_index::<i64>(0))
        .transpose()?;
    let Some(version) = version else {
        return Ok(None);
    };
    // a caseworker's reason for holding a refund is free text about the person: who held it
    // and when stay
    db.execute_raw(stmt(
        db,
        "UPDATE refund_holds SET reason = '[erased]' WHERE municipality = $1 AND debtor_id = $2",
        vec![municipality.into(), debtor_id.into()],
    ))
    .await?;
    db.execute_raw(stmt(
        db,
        "INSERT INTO erasures (municipality, debtor_id, erased_on, legal_source) \
         VALUES ($1, $2, $3, $4)",
        vec![
            municipality.into(),
            debtor_id.into(),
            erased_on.into(),
            legal_source.into(),
        ],
    ))
    .await?;
    u64::try_from(version)
        .map(Some)
        .map_err(|_| DbErr::Custom(format!("negative debtor details_version {version}")))
}

/// How many debtors were erased, and the first and last date.
pub async fn erasures_so_far(
    db: &impl ConnectionTrait,
) -> Result<(i64, Option<NaiveDate>, Option<NaiveDate>), DbErr> {
    let row = db
        .query_one_raw(stmt(
            db,
            "SELECT COUNT(*), MIN(erased_on), MAX(erased_on) FROM erasures",
            vec![],
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("no row from COUNT".to_owned()))?;
    Ok((
        row.try_get_by_index(0)?,
        row.try_get_by_index(1)?,
        row.try_get_by_index(2)?,
    ))
}
