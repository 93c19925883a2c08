//! Campaigns sent (`dunning.campaign.sent.v1`) and their outcome as of a date.

use std::collections::{BTreeMap, BTreeSet};

use restance_contracts::messages::CampaignDebtor;
use restance_kernel::BusinessDate;
use restance_store::{date, get_date, stmt};
use sea_orm::{ConnectionTrait, DbErr};

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
        .execute_raw(stmt(
            db,
            "INSERT INTO campaigns_sent (campaign_id, municipality, kind, sent_date, debtors) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (campaign_id) DO NOTHING",
            vec![
                campaign_id.into(),
                municipality.into(),
                kind.into(),
                date(sent_date),
                json.into(),
            ],
        ))
        .await?;
    Ok(r.rows_affected() == 1)
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
        .query_all_raw(stmt(
            db,
            "SELECT campaign_id, kind, sent_date, debtors FROM campaigns_sent \
             WHERE municipality = $1 AND sent_date >= $2 AND sent_date <= $3 \
             ORDER BY sent_date, campaign_id",
            vec![municipality.into(), date(start), date(end)],
        ))
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let campaign_id: String = r.try_get_by_index(0)?;
        let kind: String = r.try_get_by_index(1)?;
        let sent_date = get_date(r, 2)?;
        let json: String = r.try_get_by_index(3)?;
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
        let list: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT claim_id FROM claim_versions WHERE state = 'settled' AND valid_from <= $1 \
             AND (valid_to IS NULL OR valid_to > $1) AND claim_id IN ({})",
            list.join(", ")
        );
        let mut values = vec![date(as_of)];
        values.extend(chunk.iter().map(|c| (*c).into()));
        for r in db.query_all_raw(stmt(db, sql, values)).await? {
            out.insert(r.try_get_by_index::<String>(0)?);
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
        .query_all_raw(stmt(
            db,
            "SELECT debtor_id, claim_ids FROM holds \
             WHERE municipality = $1 AND from_date >= $2 AND from_date <= $3",
            vec![municipality.into(), date(from), date(as_of)],
        ))
        .await?
    {
        let debtor: String = r.try_get_by_index(0)?;
        let ids: String = r.try_get_by_index(1)?;
        let ids: Vec<String> = serde_json::from_str(&ids).map_err(|_| bad("claim ids", &ids))?;
        out.entry(debtor).or_default().extend(ids);
    }
    Ok(out)
}
