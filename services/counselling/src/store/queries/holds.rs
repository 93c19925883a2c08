//! `holds`: the holds on the municipality's dunning a case asked for, one per (case, debtor).

use restance_kernel::BusinessDate;
use restance_store::date;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Order, Query};
use sea_orm::{ConnectionTrait, DbErr};

use super::{get, get_date, get_opt_date};

/// Records a hold; false when the case holds the debtor already.
pub async fn insert(
    db: &impl ConnectionTrait,
    case_id: &str,
    municipality: &str,
    debtor_id: &str,
    from: BusinessDate,
) -> Result<bool, DbErr> {
    let insert = Query::insert()
        .into_table("holds")
        .columns(["case_id", "municipality", "debtor_id", "held_from"])
        .values_panic([
            case_id.into(),
            municipality.into(),
            debtor_id.into(),
            date(from).into(),
        ])
        .on_conflict(
            OnConflict::columns(["case_id", "debtor_id"])
                .do_nothing()
                .to_owned(),
        )
        .to_owned();
    let done = db.execute(&insert).await?;
    Ok(done.rows_affected() == 1)
}

/// Ends the case's holds still in force on `on`; the debtors released.
pub async fn release(
    db: &impl ConnectionTrait,
    case_id: &str,
    on: BusinessDate,
) -> Result<Vec<(String, String)>, DbErr> {
    let select = Query::select()
        .columns(["municipality", "debtor_id"])
        .from("holds")
        .and_where(Expr::col("case_id").eq(case_id))
        .and_where(Expr::col("released_on").is_null())
        .order_by("debtor_id", Order::Asc)
        .to_owned();
    let rows = db.query_all(&select).await?;
    let out: Vec<(String, String)> = rows
        .iter()
        .map(|r| Ok((get(r, "municipality")?, get(r, "debtor_id")?)))
        .collect::<Result<_, DbErr>>()?;
    let update = Query::update()
        .table("holds")
        .value("released_on", date(on))
        .and_where(Expr::col("case_id").eq(case_id))
        .and_where(Expr::col("released_on").is_null())
        .to_owned();
    db.execute(&update).await?;
    Ok(out)
}

/// The debtors a case holds (in force or not), with when each was released.
pub async fn of_case(
    db: &impl ConnectionTrait,
    case_id: &str,
) -> Result<Vec<(String, BusinessDate, Option<BusinessDate>)>, DbErr> {
    let select = Query::select()
        .columns(["debtor_id", "held_from", "released_on"])
        .from("holds")
        .and_where(Expr::col("case_id").eq(case_id))
        .order_by("debtor_id", Order::Asc)
        .to_owned();
    let rows = db.query_all(&select).await?;
    rows.iter()
        .map(|r| {
            Ok((
                get(r, "debtor_id")?,
                get_date(r, "held_from")?,
                get_opt_date(r, "released_on")?,
            ))
        })
        .collect()
}
