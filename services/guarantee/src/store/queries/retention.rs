//! Retention of ended guarantees: the guarantees whose recovery cases have all ended, the
//! erasure of a guarantee's personal data and its record (`erasures`: when and why, never the
//! data).

use chrono::NaiveDate;
use restance_kernel::BusinessDate;
use restance_store::date;
use sea_orm::sea_query::{Expr, ExprTrait, JoinType, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbErr};

use super::get;
use super::guarantees::{self, StoredGuarantee};

/// What erased personal data reads as.
pub const ERASED: &str = "[erased]";

/// The recovery case states in which a case has ended.
const ENDED_STATES: [&str; 3] = ["settled", "released", "closed"];

/// `SELECT 1 FROM recovery_cases c WHERE c.guarantee_id = <guarantee>`, and with `open` only
/// the cases that have not ended.
fn cases_of(guarantee: Expr, open: bool) -> SelectStatement {
    let mut select = Query::select()
        .expr(Expr::val(1))
        .from_as("recovery_cases", "c")
        .and_where(Expr::col(("c", "guarantee_id")).eq(guarantee))
        .to_owned();
    if open {
        select.and_where(Expr::col(("c", "state")).is_not_in(ENDED_STATES));
    }
    select
}

/// A guarantee not yet erased whose recovery cases (at least one) have all ended, with the
/// latest date one of their steps was recorded.
#[derive(Debug, Clone)]
pub struct EndedGuarantee {
    /// The guarantee as stored.
    pub stored: StoredGuarantee,
    /// Its recovery cases.
    pub cases: i64,
    /// The latest step of any of them.
    pub last_step: Option<NaiveDate>,
}

/// The guarantees not yet erased whose recovery cases have all ended, in
/// `(municipality, guarantee_id)` order. A guarantee gets its case on the day it ends, so one
/// without a case is still in force.
pub async fn ended_guarantees(db: &impl ConnectionTrait) -> Result<Vec<EndedGuarantee>, DbErr> {
    let g = || Expr::col(("g", "guarantee_id"));
    let case_count = Query::select()
        .expr(Expr::col(("c", "case_id")).count())
        .from_as("recovery_cases", "c")
        .and_where(Expr::col(("c", "guarantee_id")).eq(g()))
        .to_owned();
    let last_step = Query::select()
        .expr(Expr::col(("s", "step_date")).max())
        .from_as("case_steps", "s")
        .join_as(
            JoinType::InnerJoin,
            "recovery_cases",
            "c",
            Expr::col(("c", "case_id")).equals(("s", "case_id")),
        )
        .and_where(Expr::col(("c", "guarantee_id")).eq(g()))
        .to_owned();
    let erased = Query::select()
        .expr(Expr::val(1))
        .from_as("erasures", "e")
        .and_where(Expr::col(("e", "guarantee_id")).eq(g()))
        .to_owned();
    let select = Query::select()
        .column(("g", "guarantee_id"))
        .expr_as(case_count, "cases")
        .expr_as(last_step, "last_step")
        .from_as("guarantees", "g")
        .and_where(Expr::not_exists(erased))
        .and_where(Expr::exists(cases_of(g(), false)))
        .and_where(Expr::not_exists(cases_of(g(), true)))
        .order_by(("g", "municipality"), Order::Asc)
        .order_by(("g", "guarantee_id"), Order::Asc)
        .to_owned();
    let rows = db.query_all(&select).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let id: String = get(&r, "guarantee_id")?;
        let cases: i64 = get(&r, "cases")?;
        let last_step: Option<NaiveDate> = get(&r, "last_step")?;
        if let Some(stored) = guarantees::find(db, &id).await? {
            out.push(EndedGuarantee {
                stored,
                cases,
                last_step,
            });
        }
    }
    Ok(out)
}

/// Erases the guarantee's personal data — the resident's and the spouse's national ids, the
/// spouse's PersonID, the guarantor's national id, name, address and contact (its id and kind
/// stay), the national ids of the benefits and reports that concern only erased guarantees, the
/// letters held for its cases — unless a case was opened again meanwhile or it is erased
/// already; records the erasure. False when nothing was erased.
pub async fn erase_guarantee(
    db: &impl ConnectionTrait,
    stored: &StoredGuarantee,
    ended_on: BusinessDate,
    erased_on: BusinessDate,
    legal_source: &str,
) -> Result<bool, DbErr> {
    let g = stored.guarantee_id.as_str();
    let guarantor = stored.guarantor.expose();
    let mut kept = serde_json::Map::new();
    for key in ["id", "kind"] {
        if let Some(v) = guarantor.get(key) {
            kept.insert(key.to_owned(), v.clone());
        }
    }
    kept.insert("name".to_owned(), ERASED.into());
    let guarantor = serde_json::Value::Object(kept).to_string();
    let erased = Query::select()
        .expr(Expr::val(1))
        .from_as("erasures", "e")
        .and_where(Expr::col(("e", "guarantee_id")).eq(g))
        .to_owned();
    let erase = Query::update()
        .table("guarantees")
        .value("resident_national_id", "")
        .value("spouse_national_id", "")
        .value("person_id", ERASED)
        .value("guarantor", guarantor)
        .and_where(Expr::col("guarantee_id").eq(g))
        .and_where(Expr::not_exists(erased))
        .and_where(Expr::not_exists(cases_of(Expr::val(g), true)))
        .to_owned();
    let done = db.execute(&erase).await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    let record = Query::insert()
        .into_table("erasures")
        .columns([
            "guarantee_id",
            "municipality",
            "ended_on",
            "erased_on",
            "legal_source",
        ])
        .values_panic([
            g.into(),
            stored.municipality.clone().into(),
            date(ended_on).into(),
            date(erased_on).into(),
            legal_source.into(),
        ])
        .to_owned();
    db.execute(&record).await?;
    // a benefit or report that concerns another guarantee not erased keeps the national id
    let links = |also: Expr| {
        Query::select()
            .expr(Expr::val(1))
            .from_as("benefit_links", "l")
            .and_where(Expr::col(("l", "source")).equals(("benefits", "source")))
            .and_where(Expr::col(("l", "benefit_id")).equals(("benefits", "benefit_id")))
            .and_where(also)
            .to_owned()
    };
    let erased_ids = Query::select()
        .column(("e", "guarantee_id"))
        .from_as("erasures", "e")
        .to_owned();
    let benefits = Query::update()
        .table("benefits")
        .value("recipient_national_id", "")
        .and_where(Expr::exists(links(Expr::col(("l", "guarantee_id")).eq(g))))
        .and_where(Expr::not_exists(links(
            Expr::col(("l", "guarantee_id")).not_in_subquery(erased_ids),
        )))
        .to_owned();
    db.execute(&benefits).await?;
    let reports = Query::update()
        .table("benefit_reports")
        .value("recipient_national_id", "")
        .value("person_id", ERASED)
        .and_where(Expr::col("guarantee_id").eq(g))
        .to_owned();
    db.execute(&reports).await?;
    let case_ids = Query::select()
        .column(("c", "case_id"))
        .from_as("recovery_cases", "c")
        .and_where(Expr::col(("c", "guarantee_id")).eq(g))
        .to_owned();
    let letters = Query::update()
        .table("held_letters")
        .value("request", "{}")
        .and_where(Expr::col("sent_on").is_not_null())
        .and_where(Expr::col("case_id").in_subquery(case_ids))
        .to_owned();
    db.execute(&letters).await?;
    Ok(true)
}

/// Empties the files produced before `before` (the first day whose files are still kept): the
/// daily files to the immigration service (national ids of every guarantee reported that day)
/// and the quarterly statements (guarantors' names). What stays: each file's date, row count,
/// name and summary. Returns how many files were emptied.
pub async fn erase_files_before(
    db: &impl ConnectionTrait,
    before: BusinessDate,
) -> Result<u64, DbErr> {
    let daily = Query::update()
        .table("report_files")
        .value("csv", "")
        .and_where(Expr::col("file_date").lt(date(before)))
        .and_where(Expr::col("csv").ne(""))
        .to_owned();
    let daily = db.execute(&daily).await?.rows_affected();
    let statements = Query::update()
        .table("statements")
        .value("xlsx_base64", "")
        .and_where(Expr::col("produced_on").lt(date(before)))
        .and_where(Expr::col("xlsx_base64").ne(""))
        .to_owned();
    let statements = db.execute(&statements).await?.rows_affected();
    Ok(daily + statements)
}

/// How many guarantees were erased so far.
pub async fn erasures_so_far(db: &impl ConnectionTrait) -> Result<i64, DbErr> {
    let count = Query::select()
        .expr_as(Expr::col("guarantee_id").count(), "erasures")
        .from("erasures")
        .to_owned();
    let row = db
        .query_one(&count)
        .await?
        .ok_or_else(|| DbErr::Custom("no row from COUNT".to_owned()))?;
    get(&row, "erasures")
}
