//! Campaigns (`crate::campaigns`): the campaign rows, the debtors each was sent to, and what
//! selection and outcome read from dunning's claims and debtors.

use restance_kernel::{BusinessDate, Currency, Money, PartyKind};
use restance_store::{date, get_date, get_opt_date, is_postgres, stmt};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Value};
use serde::{Deserialize, Serialize};

use super::json;
use crate::campaigns::{ArrearsClaim, CampaignSpec, SelectedDebtor};

/// A campaign row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignRow {
    /// `cmp-…`.
    pub campaign_id: String,
    /// Municipality code.
    pub municipality: String,
    /// What was asked for.
    pub spec: CampaignSpec,
    /// `draft` or `sent`.
    pub state: String,
    /// Who created it (token name).
    pub created_by: String,
    /// The business date it was created on.
    pub created_date: BusinessDate,
    /// Who approved it.
    pub approved_by: Option<String>,
    /// The business date it was approved and sent on.
    pub approved_date: Option<BusinessDate>,
}

const COLUMNS: &str =
    "campaign_id, municipality, spec, state, created_by, created_date, approved_by, approved_date";

fn campaign_from(r: &QueryResult) -> Result<CampaignRow, DbErr> {
    let spec: String = r.try_get_by_index(2)?;
    Ok(CampaignRow {
        campaign_id: r.try_get_by_index(0)?,
        municipality: r.try_get_by_index(1)?,
        spec: serde_json::from_str(&spec)
            .map_err(|e| DbErr::Custom(format!("stored campaign unreadable: {e}")))?,
        state: r.try_get_by_index(3)?,
        created_by: r.try_get_by_index(4)?,
        created_date: get_date(r, 5)?,
        approved_by: r.try_get_by_index(6)?,
        approved_date: get_opt_date(r, 7)?,
    })
}

/// Records a new draft campaign.
pub async fn insert_campaign(db: &impl ConnectionTrait, c: &CampaignRow) -> Result<(), DbErr> {
    let sql =
        format!("INSERT INTO campaigns ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL)");
    db.execute_raw(stmt(
        db,
        sql,
        vec![
            c.campaign_id.clone().into(),
            c.municipality.clone().into(),
            json(&c.spec)?.into(),
            c.state.clone().into(),
            c.created_by.clone().into(),
            date(c.created_date),
        ],
    ))
    .await?;
    Ok(())
}

/// One campaign; `lock`: for update on PostgreSQL (the approval).
pub async fn campaign(
    db: &impl ConnectionTrait,
    id: &str,
    lock: bool,
) -> Result<Option<CampaignRow>, DbErr> {
    let lock = if lock && is_postgres(db) {
        " FOR UPDATE"
    } else {
        ""
    };
    let sql = format!("SELECT {COLUMNS} FROM campaigns WHERE campaign_id = $1{lock}");
    db.query_one_raw(stmt(db, sql, vec![id.into()]))
        .await?
        .as_ref()
        .map(campaign_from)
        .transpose()
}

/// Campaigns, newest first, at most `limit`; `scope`: the token's municipalities (none: all).
pub async fn campaigns(
    db: &impl ConnectionTrait,
    scope: Option<&[String]>,
    limit: usize,
) -> Result<Vec<CampaignRow>, DbErr> {
    let sql =
        format!("SELECT {COLUMNS} FROM campaigns ORDER BY created_date DESC, campaign_id DESC");
    let rows = db.query_all_raw(stmt(db, sql, vec![])).await?;
    let mut out = Vec::new();
    for r in &rows {
        let c = campaign_from(r)?;
        if scope.is_some_and(|s| !s.contains(&c.municipality)) {
            continue;
        }
        out.push(c);
        if out.len() >= limit {
            break;
        }
    }
    Ok(out)
}

/// Marks a draft sent. Returns whether this call did it (a draft was there to approve).
pub async fn approve_campaign(
    db: &impl ConnectionTrait,
    id: &str,
    by: &str,
    on: BusinessDate,
) -> Result<bool, DbErr> {
    let sql = "UPDATE campaigns SET state = 'sent', approved_by = $2, approved_date = $3 \
        WHERE campaign_id = $1 AND state = 'draft'";
    let r = db
        .execute_raw(stmt(db, sql, vec![id.into(), by.into(), date(on)]))
        .await?;
    Ok(r.rows_affected() == 1)
}

/// A debtor a campaign was sent to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignDebtorRow {
    /// The selection.
    pub debtor: SelectedDebtor,
    /// The notification requested.
    pub notification_id: String,
}

/// Records the debtors sent to (a repeat inserts nothing twice).
pub async fn insert_campaign_debtors(
    db: &impl ConnectionTrait,
    campaign_id: &str,
    rows: &[CampaignDebtorRow],
) -> Result<(), DbErr> {
    for r in rows {
        let sql = "INSERT INTO campaign_debtors (campaign_id, debtor_id, claim_ids, arrears_minor, \
            notification_id) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING";
        db.execute_raw(stmt(
            db,
            sql,
            vec![
                campaign_id.into(),
                r.debtor.debtor_id.clone().into(),
                json(&r.debtor.claim_ids)?.into(),
                r.debtor.arrears.to_minor().into(),
                r.notification_id.clone().into(),
            ],
        ))
        .await?;
    }
    Ok(())
}

/// The debtors a campaign was sent to, by debtor id.
pub async fn campaign_debtors(
    db: &impl ConnectionTrait,
    campaign_id: &str,
) -> Result<Vec<CampaignDebtorRow>, DbErr> {
    let sql = "SELECT debtor_id, claim_ids, arrears_minor, notification_id FROM campaign_debtors \
        WHERE campaign_id = $1 ORDER BY debtor_id";
    let rows = db
        .query_all_raw(stmt(db, sql, vec![campaign_id.into()]))
        .await?;
    rows.iter()
        .map(|r| {
            let ids: String = r.try_get_by_index(1)?;
            Ok(CampaignDebtorRow {
                debtor: SelectedDebtor {
                    debtor_id: r.try_get_by_index(0)?,
                    claim_ids: serde_json::from_str(&ids)
                        .map_err(|e| DbErr::Custom(format!("stored claim ids unreadable: {e}")))?,
                    arrears: Money::from_minor(r.try_get_by_index(2)?),
                },
                notification_id: r.try_get_by_index(3)?,
            })
        })
        .collect()
}

/// A claim as a campaign reads it, with what its letter prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignClaim {
    /// What selection reads.
    pub arrears: ArrearsClaim,
    /// Its invoice id.
    pub invoice_id: String,
    /// Currency.
    pub currency: Currency,
}

/// The municipality's open claims that are not prepayments and were due before `before`, with
/// their debtors' kinds.
pub async fn arrears_claims(
    db: &impl ConnectionTrait,
    municipality: &str,
    before: BusinessDate,
) -> Result<Vec<CampaignClaim>, DbErr> {
    let sql = "SELECT c.claim_id, c.debtor_id, COALESCE(d.kind, 'person'), c.category, c.office, \
        c.due_date, c.principal_minor + c.fees_minor + c.interest_minor, c.invoice_id, c.currency \
        FROM claims c LEFT JOIN debtors d ON d.municipality = c.municipality AND d.debtor_id = c.debtor_id \
        WHERE c.municipality = $1 AND c.status = 'open' AND c.prepayment = FALSE AND c.due_date < $2 \
        ORDER BY c.debtor_id, c.claim_id";
    let rows = db
        .query_all_raw(stmt(db, sql, vec![municipality.into(), date(before)]))
        .await?;
    rows.iter()
        .map(|r| {
            let kind: String = r.try_get_by_index(2)?;
            let currency: String = r.try_get_by_index(8)?;
            Ok(CampaignClaim {
                arrears: ArrearsClaim {
                    claim_id: r.try_get_by_index(0)?,
                    debtor_id: r.try_get_by_index(1)?,
                    debtor_kind: if kind == "company" {
                        PartyKind::Company
                    } else {
                        PartyKind::Person
                    },
                    category: r.try_get_by_index(3)?,
                    office: r.try_get_by_index(4)?,
                    due_date: get_date(r, 5)?,
                    open: Money::from_minor(r.try_get_by_index(6)?),
                    is_open: true,
                    prepayment: false,
                },
                invoice_id: r.try_get_by_index(7)?,
                currency: currency.parse().map_err(|_| {
                    DbErr::Custom(format!("stored currency {currency:?} unreadable"))
                })?,
            })
        })
        .collect()
}

/// Whether each of these claims is settled now (`status = 'settled'`).
pub async fn settled_claims(
    db: &impl ConnectionTrait,
    claim_ids: &[String],
) -> Result<std::collections::BTreeSet<String>, DbErr> {
    let mut out = std::collections::BTreeSet::new();
    for chunk in claim_ids.chunks(500) {
        let list = (1..=chunk.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT claim_id FROM claims WHERE status = 'settled' AND claim_id IN ({list})"
        );
        let values: Vec<Value> = chunk.iter().map(|c| c.clone().into()).collect();
        for r in db.query_all_raw(stmt(db, sql, values)).await? {
            out.insert(r.try_get_by_index(0)?);
        }
    }
    Ok(out)
}
