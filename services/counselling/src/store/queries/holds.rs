//! `holds`: the holds on the municipality's dunning a case asked for, one per (case, debtor).

use restance_kernel::BusinessDate;
use restance_store::{date, stmt};
use sea_orm::{ConnectionTrait, DbErr};

/// Records a hold; false when the case holds the debtor already.
pub async fn insert(
    db: &impl ConnectionTrait,
    case_id: &str,
    municipality: &str,
    debtor_id: &str,
    from: BusinessDate,
) -> Result<bool, DbErr> {
    let done = db
        .execute_raw(stmt(
            db,
            "INSERT INTO holds (case_id, municipality, debtor_id, held_from) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (case_id, debtor_id) DO NOTHING",
            vec![case_id.into(), municipality.into(), debtor_id.into(), date(from)],
        ))
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends the case's holds still in force on `on`; the debtors released.
pub async fn release(
    db: &impl ConnectionTrait,
    case_id: &str,
    on: BusinessDate,
) -> Result<Vec<(String, String)>, DbErr> {
    let rows = db
        .query_all_raw(stmt(
            db,
            "SELECT municipality, debtor_id FROM holds WHERE case_id = $1 AND released_on IS NULL ORDER BY debtor_id",
            vec![case_id.into()],
        ))
        .await?;
    let out: Vec<(String, String)> = rows
        .iter()
        .map(|r| Ok((r.try_get_by_index(0)?, r.try_get_by_index(1)?)))
        .collect::<Result<_, DbErr>>()?;
    db.execute_raw(stmt(
        db,
        "UPDATE holds SET released_on = $2 WHERE case_id = $1 AND released_on IS NULL",
        vec![case_id.into(), date(on)],
    ))
    .await?;
    Ok(out)
}

/// The debtors a case holds (in force or not), with when each was released.
pub async fn of_case(
    db: &impl ConnectionTrait,
    case_id: &str,
) -> Result<Vec<(String, BusinessDate, Option<BusinessDate>)>, DbErr> {
    let rows = db
        .query_all_raw(stmt(
            db,
            "SELECT debtor_id, held_from, released_on FROM holds WHERE case_id = $1 ORDER BY debtor_id",
            vec![case_id.into()],
        ))
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get_by_index(0)?,
                restance_store::get_date(r, 1)?,
                restance_store::get_opt_date(r, 2)?,
            ))
        })
        .collect()
}
