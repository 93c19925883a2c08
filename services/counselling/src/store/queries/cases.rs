//! `cases`: one row per counselling case — the columns the lists, the business day and the
//! person lookups select by, the applicant as given, and the domain's case as JSON.

use restance_contracts::messages::Applicant;
use restance_kernel::BusinessDate;
use restance_store::{date, get_date, get_opt_date, is_postgres, stmt};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Value};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::{Case, Phase, Routine};

/// A case as stored.
#[derive(Debug, Clone)]
pub struct StoredCase {
    /// The case id.
    pub case_id: String,
    /// Where the application came from (the envelope's `source`, or the API's).
    pub source: String,
    /// The application's id.
    pub application_id: String,
    /// SHA-256 of the application's content (the same id with other content is refused).
    pub content_hash: String,
    /// The municipality.
    pub municipality: String,
    /// The applicant's id.
    pub applicant_id: String,
    /// The applicant as given (personal data).
    pub applicant: Applicant,
    /// The earlier case of the same person, if any.
    pub previous_case_id: Option<String>,
    /// The case.
    pub case: Case,
}

impl StoredCase {
    /// The applicant's national id, if known.
    pub fn national_id(&self) -> Option<&str> {
        self.applicant
            .national_id
            .as_ref()
            .map(|n| n.expose().as_str())
    }
}

/// The case id of an application: deterministic (a redelivery or another replica names the
/// same case), e.g. `GR-4204-3f9a0c1d2e4b`.
pub fn case_id(municipality: &str, source: &str, application_id: &str) -> String {
    let digest = Sha256::digest(format!("{source}\n{application_id}"));
    format!("GR-{municipality}-{}", &hex::encode(digest)[..12])
}

const COLUMNS: &str = "case_id, source, application_id, content_hash, municipality, applicant_id, \
     applicant, previous_case_id, state";

fn from_row(r: &QueryResult) -> Result<StoredCase, DbErr> {
    let applicant: String = r.try_get_by_index(6)?;
    let state: String = r.try_get_by_index(8)?;
    Ok(StoredCase {
        case_id: r.try_get_by_index(0)?,
        source: r.try_get_by_index(1)?,
        application_id: r.try_get_by_index(2)?,
        content_hash: r.try_get_by_index(3)?,
        municipality: r.try_get_by_index(4)?,
        applicant_id: r.try_get_by_index(5)?,
        applicant: serde_json::from_str(&applicant)
            .map_err(|e| DbErr::Custom(format!("cases.applicant does not read: {e}")))?,
        previous_case_id: r.try_get_by_index(7)?,
        case: serde_json::from_str(&state)
            .map_err(|e| DbErr::Custom(format!("cases.state does not read: {e}")))?,
    })
}

fn opt_date(d: Option<BusinessDate>) -> Value {
    d.map(chrono::NaiveDate::from).into()
}

fn json<T: Serialize>(v: &T) -> Result<String, DbErr> {
    serde_json::to_string(v).map_err(|e| DbErr::Custom(format!("does not serialize: {e}")))
}

fn routine_word(r: Routine) -> &'static str {
    match r {
        Routine::Ordinary => "ordinary",
        Routine::Protected => "protected",
    }
}

/// Stores a new case; false (nothing written) when the application is stored already.
pub async fn insert(
    db: &impl ConnectionTrait,
    stored: &StoredCase,
    next_timer: Option<BusinessDate>,
) -> Result<bool, DbErr> {
    let c = &stored.case;
    let done = db
        .execute_raw(stmt(
            db,
            "INSERT INTO cases (case_id, source, application_id, content_hash, municipality, \
             applicant_id, national_id, applicant, counsellor, routine, phase, opened_on, \
             next_timer, previous_case_id, state) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
             ON CONFLICT DO NOTHING",
            vec![
                stored.case_id.clone().into(),
                stored.source.clone().into(),
                stored.application_id.clone().into(),
                stored.content_hash.clone().into(),
                stored.municipality.clone().into(),
                stored.applicant_id.clone().into(),
                stored.national_id().map(str::to_owned).into(),
                json(&stored.applicant)?.into(),
                c.counsellor.clone().into(),
                routine_word(c.routine).into(),
                c.phase.as_str().into(),
                date(c.opened_on),
                opt_date(next_timer),
                stored.previous_case_id.clone().into(),
                json(c)?.into(),
            ],
        ))
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Saves a changed case (its phase, counsellor, next timer and state).
pub async fn save(
    db: &impl ConnectionTrait,
    case: &Case,
    next_timer: Option<BusinessDate>,
) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "UPDATE cases SET phase = $2, counsellor = $3, next_timer = $4, state = $5 WHERE case_id = $1",
        vec![
            case.case_id.clone().into(),
            case.phase.as_str().into(),
            case.counsellor.clone().into(),
            opt_date(next_timer),
            json(case)?.into(),
        ],
    ))
    .await
    .map(|_| ())
}

/// The case, locked for the transaction on PostgreSQL when `lock` (SQLite's writer lock
/// serialises writers there).
pub async fn load(
    db: &impl ConnectionTrait,
    case_id: &str,
    lock: bool,
) -> Result<Option<StoredCase>, DbErr> {
    let suffix = if lock && is_postgres(db) {
        " FOR UPDATE"
    } else {
        ""
    };
    db.query_one_raw(stmt(
        db,
        format!("SELECT {COLUMNS} FROM cases WHERE case_id = $1{suffix}"),
        vec![case_id.into()],
    ))
    .await?
    .map(|r| from_row(&r))
    .transpose()
}

/// The case of an application, with its content hash.
pub async fn of_application(
    db: &impl ConnectionTrait,
    source: &str,
    application_id: &str,
) -> Result<Option<(String, String)>, DbErr> {
    db.query_one_raw(stmt(
        db,
        "SELECT case_id, content_hash FROM cases WHERE source = $1 AND application_id = $2",
        vec![source.into(), application_id.into()],
    ))
    .await?
    .map(|r| Ok((r.try_get_by_index(0)?, r.try_get_by_index(1)?)))
    .transpose()
}

/// The person's latest case in the municipality (before this one), if any.
pub async fn latest_of_person(
    db: &impl ConnectionTrait,
    municipality: &str,
    national_id: &str,
) -> Result<Option<String>, DbErr> {
    db.query_one_raw(stmt(
        db,
        "SELECT case_id FROM cases WHERE municipality = $1 AND national_id = $2 \
         ORDER BY opened_on DESC, case_id DESC LIMIT 1",
        vec![municipality.into(), national_id.into()],
    ))
    .await?
    .map(|r| r.try_get_by_index(0))
    .transpose()
}

/// The person's cases whose work has not ended (review … mapping).
pub async fn active_of_person(
    db: &impl ConnectionTrait,
    municipality: &str,
    national_id: &str,
) -> Result<Vec<String>, DbErr> {
    let rows = db
        .query_all_raw(stmt(
            db,
            "SELECT case_id FROM cases WHERE municipality = $1 AND national_id = $2 \
             AND phase NOT IN ('closing', 'closed') ORDER BY case_id",
            vec![municipality.into(), national_id.into()],
        ))
        .await?;
    rows.iter().map(|r| r.try_get_by_index(0)).collect()
}

/// Up to `limit` cases whose next timer is on or before `today`, soonest first.
pub async fn due(
    db: &impl ConnectionTrait,
    today: BusinessDate,
    limit: u64,
) -> Result<Vec<String>, DbErr> {
    let rows = db
        .query_all_raw(stmt(
            db,
            "SELECT case_id FROM cases WHERE next_timer IS NOT NULL AND next_timer <= $1 \
             ORDER BY next_timer, case_id LIMIT $2",
            vec![date(today), (limit as i64).into()],
        ))
        .await?;
    rows.iter().map(|r| r.try_get_by_index(0)).collect()
}

/// A case in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListRow {
    /// The case id.
    pub case_id: String,
    /// The municipality.
    pub municipality: String,
    /// The counsellor.
    pub counsellor: String,
    /// The phase.
    pub phase: Phase,
    /// When it opened.
    pub opened_on: BusinessDate,
    /// The next day the service looks at it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_timer: Option<BusinessDate>,
}

/// The most rows a list answers.
pub const MAX_LIST: u64 = 500;

/// Cases by counsellor and/or phase (open ones when `phase` is `None`), within
/// `municipalities` (`None`: all), by case id, each with its case (for the next task).
pub async fn list(
    db: &impl ConnectionTrait,
    counsellor: Option<&str>,
    phase: Option<Phase>,
    municipalities: Option<&[String]>,
) -> Result<Vec<(ListRow, Case)>, DbErr> {
    let mut sql = String::from(
        "SELECT case_id, municipality, counsellor, phase, opened_on, next_timer, state \
         FROM cases WHERE 1 = 1",
    );
    let mut values: Vec<Value> = Vec::new();
    if let Some(c) = counsellor {
        values.push(c.into());
        sql.push_str(&format!(" AND counsellor = ${}", values.len()));
    }
    match phase {
        Some(p) => {
            values.push(p.as_str().into());
            sql.push_str(&format!(" AND phase = ${}", values.len()));
        }
        None => sql.push_str(" AND phase <> 'closed'"),
    }
    if let Some(ms) = municipalities {
        if ms.is_empty() {
            return Ok(Vec::new());
        }
        let start = values.len() + 1;
        values.extend(ms.iter().map(|m| Value::from(m.clone())));
        sql.push_str(&format!(
            " AND municipality IN ({})",
            restance_store::placeholder_list(start, ms.len())
        ));
    }
    sql.push_str(&format!(" ORDER BY case_id LIMIT {MAX_LIST}"));
    let rows = db.query_all_raw(stmt(db, sql, values)).await?;
    rows.iter()
        .map(|r| {
            let phase: String = r.try_get_by_index(3)?;
            let state: String = r.try_get_by_index(6)?;
            let case = serde_json::from_str(&state)
                .map_err(|e| DbErr::Custom(format!("cases.state does not read: {e}")))?;
            let row = ListRow {
                case_id: r.try_get_by_index(0)?,
                municipality: r.try_get_by_index(1)?,
                counsellor: r.try_get_by_index(2)?,
                phase: Phase::parse(&phase)
                    .ok_or_else(|| DbErr::Custom(format!("cases.phase: {phase:?}")))?,
                opened_on: get_date(r, 4)?,
                next_timer: get_opt_date(r, 5)?,
            };
            Ok((row, case))
        })
        .collect()
}

/// How many cases there are per phase (for the gauge).
pub async fn count_by_phase(db: &impl ConnectionTrait) -> Result<Vec<(String, i64)>, DbErr> {
    let rows = db
        .query_all_raw(stmt(
            db,
            "SELECT phase, COUNT(*) FROM cases GROUP BY phase ORDER BY phase",
            vec![],
        ))
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get_by_index(0)?, r.try_get_by_index(1)?)))
        .collect()
}
