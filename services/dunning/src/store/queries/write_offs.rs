//! Write-off proposals and their approval.

use chrono::Utc;
use restance_kernel::{BusinessDate, Currency, Money};
use restance_store::{date, get_date, get_opt_date, is_postgres, stmt};
use sea_orm::{ConnectionTrait, DbErr, QueryResult};
use serde::{Deserialize, Serialize};

/// A write-off proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteOffRow {
    /// The proposal id.
    pub write_off_id: String,
    /// The claim.
    pub claim_id: String,
    /// Municipality.
    pub municipality: String,
    /// Debtor.
    pub debtor_id: String,
    /// The limitation date reached.
    pub limitation_date: BusinessDate,
    /// What would be written off.
    pub balance: Money,
    /// Currency.
    pub currency: Currency,
    /// When proposed.
    pub proposed_date: BusinessDate,
    /// `proposed`, `approved`, `written_off` or `withdrawn`.
    pub state: String,
    /// Who approved it (token name).
    pub approved_by: Option<String>,
    /// When (wall clock, for the audit trail).
    pub approved_at: Option<chrono::DateTime<Utc>>,
    /// The business date of the approval.
    pub approved_date: Option<BusinessDate>,
}

const WRITE_OFF_COLUMNS: &str = "write_off_id, claim_id, municipality, debtor_id, limitation_date, balance_minor, \
    currency, proposed_date, state, approved_by, approved_at, approved_date";

fn write_off_from(r: &QueryResult) -> Result<WriteOffRow, DbErr> {
    let currency: String = r.try_get_by_index(6)?;
    Ok(WriteOffRow {
        write_off_id: r.try_get_by_index(0)?,
        claim_id: r.try_get_by_index(1)?,
        municipality: r.try_get_by_index(2)?,
        debtor_id: r.try_get_by_index(3)?,
        limitation_date: get_date(r, 4)?,
        balance: Money::from_minor(r.try_get_by_index(5)?),
        currency: currency
            .parse()
            .map_err(|_| DbErr::Custom(format!("stored currency {currency:?} unreadable")))?,
        proposed_date: get_date(r, 7)?,
        state: r.try_get_by_index(8)?,
        approved_by: r.try_get_by_index(9)?,
        approved_at: r.try_get_by_index(10)?,
        approved_date: get_opt_date(r, 11)?,
    })
}

/// Records a proposal (once per proposal id).
pub async fn insert_write_offs(
    db: &impl ConnectionTrait,
    rows: &[WriteOffRow],
) -> Result<(), DbErr> {
    for w in rows {
        db.execute_raw(stmt(
            db,
            "INSERT INTO write_offs (write_off_id, claim_id, municipality, debtor_id, limitation_date, \
             balance_minor, currency, proposed_date, state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'proposed') \
             ON CONFLICT DO NOTHING",
            vec![
                w.write_off_id.clone().into(),
                w.claim_id.clone().into(),
                w.municipality.clone().into(),
                w.debtor_id.clone().into(),
                date(w.limitation_date),
                w.balance.to_minor().into(),
                w.currency.code().into(),
                date(w.proposed_date),
            ],
        ))
        .await?;
    }
    Ok(())
}

/// Proposals in a state, oldest first; of `municipalities` only, when given (a token's scope).
pub async fn write_offs_in_state(
    db: &impl ConnectionTrait,
    state: &str,
    municipalities: Option<&[String]>,
    limit: i64,
) -> Result<Vec<WriteOffRow>, DbErr> {
    let mut values: Vec<sea_orm::Value> = vec![state.into(), limit.into()];
    let only = match municipalities {
        Some([]) => return Ok(Vec::new()),
        Some(codes) => {
            values.extend(codes.iter().map(|c| c.as_str().into()));
            format!(
                " AND municipality IN ({})",
                restance_store::placeholder_list(3, codes.len())
            )
        }
        None => String::new(),
    };
    let sql = format!(
        "SELECT {WRITE_OFF_COLUMNS} FROM write_offs WHERE state = $1{only} \
         ORDER BY proposed_date, write_off_id LIMIT $2"
    );
    db.query_all_raw(stmt(db, sql, values))
        .await?
        .iter()
        .map(write_off_from)
        .collect()
}

/// Every proposal for a claim.
pub async fn write_offs_of_claim(
    db: &impl ConnectionTrait,
    claim_id: &str,
) -> Result<Vec<WriteOffRow>, DbErr> {
    let sql = format!(
        "SELECT {WRITE_OFF_COLUMNS} FROM write_offs WHERE claim_id = $1 ORDER BY proposed_date, write_off_id"
    );
    db.query_all_raw(stmt(db, sql, vec![claim_id.into()]))
        .await?
        .iter()
        .map(write_off_from)
        .collect()
}

/// One proposal, locked on PostgreSQL for the rest of the transaction.
pub async fn lock_write_off(
    db: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<WriteOffRow>, DbErr> {
    let lock = if is_postgres(db) { " FOR UPDATE" } else { "" };
    let sql = format!("SELECT {WRITE_OFF_COLUMNS} FROM write_offs WHERE write_off_id = $1{lock}");
    db.query_one_raw(stmt(db, sql, vec![id.into()]))
        .await?
        .as_ref()
        .map(write_off_from)
        .transpose()
}

/// Marks a proposal approved.
pub async fn approve_write_off(
    db: &impl ConnectionTrait,
    id: &str,
    by: &str,
    on: BusinessDate,
) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "UPDATE write_offs SET state = 'approved', approved_by = $2, approved_at = $3, approved_date = $4 \
         WHERE write_off_id = $1",
        vec![id.into(), by.into(), Utc::now().into(), date(on)],
    ))
    .await?;
    Ok(())
}

/// A claim left dunning: its open proposals become `written_off` (it was written off) or
/// `withdrawn` (paid or transferred).
pub async fn close_write_offs(
    db: &impl ConnectionTrait,
    claim_id: &str,
    state: &str,
) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "UPDATE write_offs SET state = $2 WHERE claim_id = $1 AND state IN ('proposed', 'approved')",
        vec![claim_id.into(), state.into()],
    ))
    .await?;
    Ok(())
}
