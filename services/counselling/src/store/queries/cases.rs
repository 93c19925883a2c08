//! `cases`: one row per counselling case — the columns the lists, the business day and the
//! person lookups select by, the applicant as given, and the domain's case as JSON.

use restance_contracts::messages::Applicant;
use restance_kernel::BusinessDate;
use restance_store::date;
use sea_orm::sea_query::{Expr, ExprTrait, LockType, OnConflict, Order, Query};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Value};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{get, get_date, get_opt_date};

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

const COLUMNS: [&str; 9] = [
    "case_id",
    "source",
    "application_id",
    "content_hash",
    "municipality",
    "applicant_id",
    "applicant",
    "previous_case_id",
    "state",
];

fn from_row(r: &QueryResult) -> Result<StoredCase, DbErr> {
    let applicant: String = get(r, "applicant")?;
    let state: String = get(r, "state")?;
    Ok(StoredCase {
        case_id: get(r, "case_id")?,
        source: get(r, "source")?,
        application_id: get(r, "application_id")?,
        content_hash: get(r, "content_hash")?,
        municipality: get(r, "municipality")?,
        applicant_id: get(r, "applicant_id")?,
        applicant: serde_json::from_str(&applicant)
            .map_err(|e| DbErr::Custom(format!("cases.applicant does not read: {e}")))?,
        previous_case_id: get(r, "previous_case_id")?,
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
    // no conflict target: the case id and (source, application_id) are both unique
    let insert = Query::insert()
        .into_table("cases")
        .columns([
            "case_id",
            "source",
            "application_id",
            "content_hash",
            "municipality",
            "applicant_id",
            "national_id",
            "applicant",
            "counsellor",
            "routine",
            "phase",
            "opened_on",
            "next_timer",
            "previous_case_id",
            "state",
        ])
        .values_panic([
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
            date(c.opened_on).into(),
            opt_date(next_timer).into(),
            stored.previous_case_id.clone().into(),
            json(c)?.into(),
        ])
        .on_conflict(OnConflict::new().do_nothing().to_owned())
        .to_owned();
    let done = db.execute(&insert).await?;
    Ok(done.rows_affected() == 1)
}

/// Saves a changed case (its phase, counsellor, next timer and state).
pub async fn save(
    db: &impl ConnectionTrait,
    case: &Case,
    next_timer: Option<BusinessDate>,
) -> Result<(), DbErr> {
    let update = Query::update()
        .table("cases")
        .value("phase", case.phase.as_str())
        .value("counsellor", case.counsellor.clone())
        .value("next_timer", opt_date(next_timer))
        .value("state", json(case)?)
        .and_where(Expr::col("case_id").eq(case.case_id.as_str()))
        .to_owned();
    db.execute(&update).await.map(|_| ())
}

/// The case, locked for the transaction on PostgreSQL when `lock` (SQLite's writer lock
/// serialises writers there).
pub async fn load(
    db: &impl ConnectionTrait,
    case_id: &str,
    lock: bool,
) -> Result<Option<StoredCase>, DbErr> {
    let mut select = Query::select()
        .columns(COLUMNS)
        .from("cases")
        .and_where(Expr::col("case_id").eq(case_id))
        .to_owned();
    if lock {
        select.lock(LockType::Update);
    }
    db.query_one(&select)
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
    let select = Query::select()
        .columns(["case_id", "content_hash"])
        .from("cases")
        .and_where(Expr::col("source").eq(source))
        .and_where(Expr::col("application_id").eq(application_id))
        .to_owned();
    db.query_one(&select)
        .await?
        .map(|r| Ok((get(&r, "case_id")?, get(&r, "content_hash")?)))
        .transpose()
}

/// The person's latest case in the municipality (before this one), if any.
pub async fn latest_of_person(
    db: &impl ConnectionTrait,
    municipality: &str,
    national_id: &str,
) -> Result<Option<String>, DbErr> {
    let select = Query::select()
        .column("case_id")
        .from("cases")
        .and_where(Expr::col("municipality").eq(municipality))
        .and_where(Expr::col("national_id").eq(national_id))
        .order_by("opened_on", Order::Desc)
        .order_by("case_id", Order::Desc)
        .limit(1)
        .to_owned();
    db.query_one(&select)
        .await?
        .map(|r| get(&r, "case_id"))
        .transpose()
}

/// The person's cases whose work has not ended (review … mapping).
pub async fn active_of_person(
    db: &impl ConnectionTrait,
    municipality: &str,
    national_id: &str,
) -> Result<Vec<String>, DbErr> {
    let select = Query::select()
        .column("case_id")
        .from("cases")
        .and_where(Expr::col("municipality").eq(municipality))
        .and_where(Expr::col("national_id").eq(national_id))
        .and_where(Expr::col("phase").is_not_in(["closing", "closed"]))
        .order_by("case_id", Order::Asc)
        .to_owned();
    let rows = db.query_all(&select).await?;
    rows.iter().map(|r| get(r, "case_id")).collect()
}

/// Up to `limit` cases whose next timer is on or before `today`, soonest first.
pub async fn due(
    db: &impl ConnectionTrait,
    today: BusinessDate,
    limit: u64,
) -> Result<Vec<String>, DbErr> {
    let select = Query::select()
        .column("case_id")
        .from("cases")
        .and_where(Expr::col("next_timer").is_not_null())
        .and_where(Expr::col("next_timer").lte(date(today)))
        .order_by("next_timer", Order::Asc)
        .order_by("case_id", Order::Asc)
        .limit(limit)
        .to_owned();
    let rows = db.query_all(&select).await?;
    rows.iter().map(|r| get(r, "case_id")).collect()
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
    let mut select = Query::select()
        .columns([
            "case_id",
            "municipality",
            "counsellor",
            "phase",
            "opened_on",
            "next_timer",
            "state",
        ])
        .from("cases")
        .to_owned();
    if let Some(c) = counsellor {
        select.and_where(Expr::col("counsellor").eq(c));
    }
    match phase {
        Some(p) => select.and_where(Expr::col("phase").eq(p.as_str())),
        None => select.and_where(Expr::col("phase").ne("closed")),
    };
    if let Some(ms) = municipalities {
        if ms.is_empty() {
            return Ok(Vec::new());
        }
        select.and_where(Expr::col("municipality").is_in(ms.iter().map(String::as_str)));
    }
    select.order_by("case_id", Order::Asc).limit(MAX_LIST);
    let rows = db.query_all(&select).await?;
    rows.iter()
        .map(|r| {
            let phase: String = get(r, "phase")?;
            let state: String = get(r, "state")?;
            let case = serde_json::from_str(&state)
                .map_err(|e| DbErr::Custom(format!("cases.state does not read: {e}")))?;
            let row = ListRow {
                case_id: get(r, "case_id")?,
                municipality: get(r, "municipality")?,
                counsellor: get(r, "counsellor")?,
                phase: Phase::parse(&phase)
                    .ok_or_else(|| DbErr::Custom(format!("cases.phase: {phase:?}")))?,
                opened_on: get_date(r, "opened_on")?,
                next_timer: get_opt_date(r, "next_timer")?,
            };
            Ok((row, case))
        })
        .collect()
}

/// How many cases there are per phase (for the gauge).
pub async fn count_by_phase(db: &impl ConnectionTrait) -> Result<Vec<(String, i64)>, DbErr> {
    let select = Query::select()
        .column("phase")
        .expr_as(Expr::col("case_id").count(), "cases")
        .from("cases")
        .group_by_col("phase")
        .order_by("phase", Order::Asc)
        .to_owned();
    let rows = db.query_all(&select).await?;
    rows.iter()
        .map(|r| Ok((get(r, "phase")?, get(r, "cases")?)))
        .collect()
}
