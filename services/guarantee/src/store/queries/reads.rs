//! The API's lists: recovery cases by state and municipality (filtered in SQL, scoped by the
//! token's municipalities), the case ids of a municipality (the quarterly statement), and a
//! benefit's stored classification (the answer to a benefit entered over the API).

use restance_kernel::{BusinessDate, Money};
use restance_store::{get_date, stmt};
use sea_orm::{ConnectionTrait, DbErr, Value};
use serde::{Deserialize, Serialize};

/// The most cases one list answers.
pub const MAX_LIST: usize = 1_000;

/// One case in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseListRow {
    /// `<guarantee_id>/R<n>`.
    pub case_id: String,
    /// The guarantee.
    pub guarantee_id: String,
    /// The municipality.
    pub municipality: String,
    /// `opened`, `raised`, `part_paid`, `settled`, `released` or `closed`.
    pub state: String,
    /// The business day it was opened.
    pub opened_on: BusinessDate,
    /// The claim now.
    pub claim: Money,
    /// The guarantee's amount the claim was capped at.
    pub cap: Money,
    /// Lost to limitation before the claim was raised.
    pub expired: Money,
}

/// The cases in `state` (any when `None`) of `municipality` (any when `None`), limited to
/// `scope` (a token's municipalities; `None`: every one), by case id, at most [`MAX_LIST`].
pub async fn cases(
    db: &impl ConnectionTrait,
    state: Option<&str>,
    municipality: Option<&str>,
    scope: Option<&[String]>,
) -> Result<Vec<CaseListRow>, DbErr> {
    let mut sql = String::from(
        "SELECT case_id, guarantee_id, municipality, state, opened_on, claim_minor, cap_minor, \
         expired_minor FROM recovery_cases WHERE 1 = 1",
    );
    let mut values: Vec<Value> = Vec::new();
    if let Some(s) = state {
        values.push(s.into());
        sql.push_str(&format!(" AND state = ${}", values.len()));
    }
    if let Some(m) = municipality {
        values.push(m.into());
        sql.push_str(&format!(" AND municipality = ${}", values.len()));
    }
    if let Some(codes) = scope {
        if codes.is_empty() {
            return Ok(Vec::new());
        }
        let mut marks = Vec::with_capacity(codes.len());
        for code in codes {
            values.push(code.as_str().into());
            marks.push(format!("${}", values.len()));
        }
        sql.push_str(&format!(" AND municipality IN ({})", marks.join(", ")));
    }
    sql.push_str(&format!(" ORDER BY case_id LIMIT {MAX_LIST}"));
    let rows = db.query_all_raw(stmt(db, sql, values)).await?;
    rows.iter()
        .map(|r| {
            Ok(CaseListRow {
                case_id: r.try_get_by_index(0)?,
                guarantee_id: r.try_get_by_index(1)?,
                municipality: r.try_get_by_index(2)?,
                state: r.try_get_by_index(3)?,
                opened_on: get_date(r, 4)?,
                claim: Money::from_minor(r.try_get_by_index(5)?),
                cap: Money::from_minor(r.try_get_by_index(6)?),
                expired: Money::from_minor(r.try_get_by_index(7)?),
            })
        })
        .collect()
}

/// The ids of the municipality's cases opened on or before `until`, by case id.
pub async fn case_ids_of(
    db: &impl ConnectionTrait,
    municipality: &str,
    until: BusinessDate,
) -> Result<Vec<String>, DbErr> {
    let rows = db
        .query_all_raw(stmt(
            db,
            "SELECT case_id FROM recovery_cases WHERE municipality = $1 AND opened_on <= $2 \
             ORDER BY case_id",
            vec![municipality.into(), restance_store::date(until)],
        ))
        .await?;
    rows.iter().map(|r| r.try_get_by_index(0)).collect()
}

/// The case of a guarantee (its first), if any.
pub async fn case_of_guarantee(
    db: &impl ConnectionTrait,
    guarantee_id: &str,
) -> Result<Option<String>, DbErr> {
    let row = db
        .query_one_raw(stmt(
            db,
            "SELECT case_id FROM recovery_cases WHERE guarantee_id = $1 ORDER BY case_no LIMIT 1",
            vec![guarantee_id.into()],
        ))
        .await?;
    row.map(|r| r.try_get_by_index(0)).transpose()
}

/// A benefit's classification as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredClassification {
    /// `recoverable`, `reported`, `no_guarantee` or `not_recoverable`.
    pub classification: String,
    /// The guarantee it is recovered from.
    pub recoverable_from: Option<String>,
    /// Whether it is reported to the immigration service.
    pub reported: bool,
}

/// The classification stored for `(source, benefit_id)`.
pub async fn classification(
    db: &impl ConnectionTrait,
    source: &str,
    benefit_id: &str,
) -> Result<Option<StoredClassification>, DbErr> {
    let row = db
        .query_one_raw(stmt(
            db,
            "SELECT classification, recoverable_from, reported FROM benefits \
             WHERE source = $1 AND benefit_id = $2",
            vec![source.into(), benefit_id.into()],
        ))
        .await?;
    row.map(|r| {
        Ok(StoredClassification {
            classification: r.try_get_by_index(0)?,
            recoverable_from: r.try_get_by_index(1)?,
            reported: r.try_get_by_index(2)?,
        })
    })
    .transpose()
}

/// The latest business day opened before `day`, if any.
pub async fn previous_day(
    db: &impl ConnectionTrait,
    day: BusinessDate,
) -> Result<Option<BusinessDate>, DbErr> {
    let rows = db
        .query_all_raw(stmt(
            db,
            "SELECT business_date FROM business_days WHERE business_date < $1 \
             ORDER BY business_date DESC LIMIT 1",
            vec![restance_store::date(day)],
        ))
        .await?;
    rows.first().map(|r| get_date(r, 0)).transpose()
}
