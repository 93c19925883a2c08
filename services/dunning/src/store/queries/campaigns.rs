//! Campaigns (`crate::campaigns`): the campaign rows, the debtors each was sent to, and what
//! selection and outcome read from dunning's claims and debtors.

use chrono::NaiveDate;
use restance_kernel::{BusinessDate, Currency, Money, PartyKind};
use restance_store::date;
use sea_orm::sea_query::{
    Alias, Expr, ExprTrait, Func, JoinType, LockType, OnConflict, Order, Query, SelectStatement,
};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, QueryResult};
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

/// The columns of `campaigns`.
const COLUMNS: [&str; 8] = [
    "campaign_id",
    "municipality",
    "spec",
    "state",
    "created_by",
    "created_date",
    "approved_by",
    "approved_date",
];

/// A `campaigns` row as stored.
#[derive(FromQueryResult)]
struct CampaignRecord {
    campaign_id: String,
    municipality: String,
    spec: String,
    state: String,
    created_by: String,
    created_date: NaiveDate,
    approved_by: Option<String>,
    approved_date: Option<NaiveDate>,
}

/// `SELECT <every campaign column> FROM campaigns`.
fn select_campaigns() -> SelectStatement {
    Query::select()
        .columns(COLUMNS)
        .from("campaigns")
        .to_owned()
}

fn campaign_from(row: &QueryResult) -> Result<CampaignRow, DbErr> {
    let r = CampaignRecord::from_query_result(row, "")?;
    Ok(CampaignRow {
        campaign_id: r.campaign_id,
        municipality: r.municipality,
        spec: serde_json::from_str(&r.spec)
            .map_err(|e| DbErr::Custom(format!("stored campaign unreadable: {e}")))?,
        state: r.state,
        created_by: r.created_by,
        created_date: r.created_date.into(),
        approved_by: r.approved_by,
        approved_date: r.approved_date.map(BusinessDate::from),
    })
}

/// Records a new draft campaign.
pub async fn insert_campaign(db: &impl ConnectionTrait, c: &CampaignRow) -> Result<(), DbErr> {
    let insert = Query::insert()
        .into_table("campaigns")
        .columns(COLUMNS)
        .values_panic([
            c.campaign_id.as_str().into(),
            c.municipality.as_str().into(),
            json(&c.spec)?.into(),
            c.state.as_str().into(),
            c.created_by.as_str().into(),
            date(c.created_date).into(),
            Option::<String>::None.into(),
            Option::<NaiveDate>::None.into(),
        ])
        .to_owned();
    db.execute(&insert).await?;
    Ok(())
}

/// One campaign; `lock`: for update on PostgreSQL (the approval).
pub async fn campaign(
    db: &impl ConnectionTrait,
    id: &str,
    lock: bool,
) -> Result<Option<CampaignRow>, DbErr> {
    let mut select = select_campaigns()
        .and_where(Expr::col("campaign_id").eq(id))
        .to_owned();
    if lock {
        select.lock(LockType::Update);
    }
    db.query_one(&select)
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
    let select = select_campaigns()
        .order_by("created_date", Order::Desc)
        .order_by("campaign_id", Order::Desc)
        .to_owned();
    let rows = db.query_all(&select).await?;
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
    let update = Query::update()
        .table("campaigns")
        .value("state", "sent")
        .value("approved_by", by)
        .value("approved_date", date(on))
        .and_where(Expr::col("campaign_id").eq(id))
        .and_where(Expr::col("state").eq("draft"))
        .to_owned();
    let r = db.execute(&update).await?;
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
        let insert = Query::insert()
            .into_table("campaign_debtors")
            .columns([
                "campaign_id",
                "debtor_id",
                "claim_ids",
                "arrears_minor",
                "notification_id",
            ])
            .values_panic([
                campaign_id.into(),
                r.debtor.debtor_id.as_str().into(),
                json(&r.debtor.claim_ids)?.into(),
                r.debtor.arrears.to_minor().into(),
                r.notification_id.as_str().into(),
            ])
            .on_conflict(OnConflict::new().do_nothing().to_owned())
            .to_owned();
        db.execute(&insert).await?;
    }
    Ok(())
}

/// The debtors a campaign was sent to, by debtor id.
pub async fn campaign_debtors(
    db: &impl ConnectionTrait,
    campaign_id: &str,
) -> Result<Vec<CampaignDebtorRow>, DbErr> {
    #[derive(FromQueryResult)]
    struct Record {
        debtor_id: String,
        claim_ids: String,
        arrears_minor: i64,
        notification_id: String,
    }
    let select = Query::select()
        .columns(["debtor_id", "claim_ids", "arrears_minor", "notification_id"])
        .from("campaign_debtors")
        .and_where(Expr::col("campaign_id").eq(campaign_id))
        .order_by("debtor_id", Order::Asc)
        .to_owned();
    db.query_all(&select)
        .await?
        .iter()
        .map(|row| {
            let r = Record::from_query_result(row, "")?;
            Ok(CampaignDebtorRow {
                debtor: SelectedDebtor {
                    debtor_id: r.debtor_id,
                    claim_ids: serde_json::from_str(&r.claim_ids)
                        .map_err(|e| DbErr::Custom(format!("stored claim ids unreadable: {e}")))?,
                    arrears: Money::from_minor(r.arrears_minor),
                },
                notification_id: r.notification_id,
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
    #[derive(FromQueryResult)]
    struct Record {
        claim_id: String,
        debtor_id: String,
        debtor_kind: String,
        category: String,
        office: String,
        due_date: NaiveDate,
        open_minor: i64,
        invoice_id: String,
        currency: String,
    }
    let select = Query::select()
        .column(("c", "claim_id"))
        .column(("c", "debtor_id"))
        .expr_as(
            Func::coalesce([Expr::col(("d", "kind")), Expr::val("person")]),
            Alias::new("debtor_kind"),
        )
        .column(("c", "category"))
        .column(("c", "office"))
        .column(("c", "due_date"))
        .expr_as(
            Expr::col(("c", "principal_minor"))
                .add(Expr::col(("c", "fees_minor")))
                .add(Expr::col(("c", "interest_minor"))),
            Alias::new("open_minor"),
        )
        .column(("c", "invoice_id"))
        .column(("c", "currency"))
        .from_as("claims", "c")
        .join_as(
            JoinType::LeftJoin,
            "debtors",
            "d",
            Expr::col(("d", "municipality"))
                .equals(("c", "municipality"))
                .and(Expr::col(("d", "debtor_id")).equals(("c", "debtor_id"))),
        )
        .and_where(Expr::col(("c", "municipality")).eq(municipality))
        .and_where(Expr::col(("c", "status")).eq("open"))
        .and_where(Expr::col(("c", "prepayment")).eq(false))
        .and_where(Expr::col(("c", "due_date")).lt(date(before)))
        .order_by(("c", "debtor_id"), Order::Asc)
        .order_by(("c", "claim_id"), Order::Asc)
        .to_owned();
    db.query_all(&select)
        .await?
        .iter()
        .map(|row| {
            let r = Record::from_query_result(row, "")?;
            Ok(CampaignClaim {
                arrears: ArrearsClaim {
                    claim_id: r.claim_id,
                    debtor_id: r.debtor_id,
                    debtor_kind: if r.debtor_kind == "company" {
                        PartyKind::Company
                    } else {
                        PartyKind::Person
                    },
                    category: r.category,
                    office: r.office,
                    due_date: r.due_date.into(),
                    open: Money::from_minor(r.open_minor),
                    is_open: true,
                    prepayment: false,
                },
                invoice_id: r.invoice_id,
                currency: r.currency.parse().map_err(|_| {
                    DbErr::Custom(format!("stored currency {:?} unreadable", r.currency))
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
        let select = Query::select()
            .column("claim_id")
            .from("claims")
            .and_where(Expr::col("status").eq("settled"))
            .and_where(Expr::col("claim_id").is_in(chunk.iter().map(String::as_str)))
            .to_owned();
        for r in db.query_all(&select).await? {
            out.insert(r.try_get("", "claim_id")?);
        }
    }
    Ok(out)
}
