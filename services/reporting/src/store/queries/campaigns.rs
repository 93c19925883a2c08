//! Campaigns sent (`dunning.campaign.sent.v1`) and their outcome as of a date.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use restance_contracts::messages::CampaignDebtor;
use restance_kernel::BusinessDate;
use restance_store::date;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Order, Query};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};

use super::bad;
use crate::domain::report::{CampaignOutcome, response};

/// Records a campaign sent; `false` when it was recorded before (a redelivery).
pub async fn insert_campaign(
    db: &impl ConnectionTrait,
    campaign_id: &str,
    municipality: &str,
    kind: &str,
    sent_date: BusinessDate,
    debtors: &[CampaignDebtor],
) -> Result<bool, DbErr> {
    let json = serde_json::to_string(debtors)
        .map_err(|e| DbErr::Custom(format!("campaign debtors: {e}")))?;
    let r = db
        .execute(
            Query::insert()
                .into_table("campaigns_sent")
                .columns([
                    "campaign_id",
                    "municipality",
                    "kind",
                    "sent_date",
                    "debtors",
                ])
                .values_panic([
                    campaign_id.into(),
                    municipality.into(),
                    kind.into(),
                    date(sent_date).into(),
                    json.into(),
                ])
                .on_conflict(OnConflict::column("campaign_id").do_nothing().to_owned()),
        )
        .await?;
    Ok(r.rows_affected() == 1)
}

/// A row of `campaigns_sent` as read back.
#[derive(Debug, FromQueryResult)]
struct CampaignRecord {
    campaign_id: String,
    kind: String,
    sent_date: NaiveDate,
    debtors: String,
}

/// How many claim ids one `IN (…)` list names.
const IN_CHUNK: usize = 500;

/// The campaigns a municipality sent from `start` to `end` (both inclusive), oldest first, each
/// with its outcome as of `as_of` ([`crate::domain::report::campaigns`]).
pub async fn campaign_outcomes(
    db: &impl ConnectionTrait,
    municipality: &str,
    start: BusinessDate,
    end: BusinessDate,
    as_of: BusinessDate,
) -> Result<Vec<CampaignOutcome>, DbErr> {
    let rows = db
        .query_all(
            Query::select()
                .columns(["campaign_id", "kind", "sent_date", "debtors"])
                .from("campaigns_sent")
                .and_where(Expr::col("municipality").eq(municipality))
                .and_where(Expr::col("sent_date").gte(date(start)))
                .and_where(Expr::col("sent_date").lte(date(end)))
                .order_by("sent_date", Order::Asc)
                .order_by("campaign_id", Order::Asc),
        )
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let CampaignRecord {
            campaign_id,
            kind,
            sent_date,
            debtors: json,
        } = CampaignRecord::from_query_result(r, "")?;
        let sent_date = BusinessDate::from(sent_date);
        let debtors: Vec<CampaignDebtor> =
            serde_json::from_str(&json).map_err(|_| bad("campaign debtors", &campaign_id))?;
        let ids: Vec<&str> = debtors
            .iter()
            .flat_map(|d| d.claim_ids.iter().map(String::as_str))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let settled = settled_on(db, &ids, as_of).await?;
        let agreed = agreed_claims(db, municipality, sent_date, as_of).await?;
        let mut o = CampaignOutcome {
            campaign_id,
            kind,
            sent_date,
            debtors: 0,
            paid: 0,
            agreed: 0,
            no_response: 0,
        };
        for d in &debtors {
            let states: Vec<bool> = d
                .claim_ids
                .iter()
                .map(|c| settled.contains(c.as_str()))
                .collect();
            let covered = agreed
                .get(&d.debtor_id)
                .is_some_and(|cs| d.claim_ids.iter().any(|c| cs.contains(c)));
            o.count(response(&states, covered));
        }
        out.push(o);
    }
    Ok(out)
}

/// Of `ids`, the claims whose version valid on `as_of` is settled.
async fn settled_on(
    db: &impl ConnectionTrait,
    ids: &[&str],
    as_of: BusinessDate,
) -> Result<BTreeSet<String>, DbErr> {
    let mut out = BTreeSet::new();
    for chunk in ids.chunks(IN_CHUNK) {
        let select = Query::select()
            .column("claim_id")
            .from("claim_versions")
            .and_where(Expr::col("state").eq("settled"))
            .and_where(Expr::col("valid_from").lte(date(as_of)))
            .and_where(
                Expr::col("valid_to")
                    .is_null()
                    .or(Expr::col("valid_to").gt(date(as_of))),
            )
            .and_where(Expr::col("claim_id").is_in(chunk.iter().copied()))
            .to_owned();
        for r in db.query_all(&select).await? {
            out.insert(r.try_get::<String>("", "claim_id")?);
        }
    }
    Ok(out)
}

/// Per debtor, the claims covered by a plan or deferral of the municipality that began from
/// `from` to `as_of` (both inclusive).
async fn agreed_claims(
    db: &impl ConnectionTrait,
    municipality: &str,
    from: BusinessDate,
    as_of: BusinessDate,
) -> Result<BTreeMap<String, BTreeSet<String>>, DbErr> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in db
        .query_all(
            Query::select()
                .columns(["debtor_id", "claim_ids"])
                .from("holds")
                .and_where(Expr::col("municipality").eq(municipality))
                .and_where(Expr::col("from_date").gte(date(from)))
                .and_where(Expr::col("from_date").lte(date(as_of))),
        )
        .await?
    {
        let debtor: String = r.try_get("", "debtor_id")?;
        let ids: String = r.try_get("", "claim_ids")?;
        let ids: Vec<String> = serde_json::from_str(&ids).map_err(|_| bad("claim ids", &ids))?;
        out.entry(debtor).or_default().extend(ids);
    }
    Ok(out)
}
