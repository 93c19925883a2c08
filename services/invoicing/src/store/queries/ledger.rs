//! Ledger lines and rows keyed by a natural key.

use chrono::NaiveDate;
use restance_kernel::Money;
use restance_store::rows_per_statement;
use sea_orm::sea_query::{InsertStatement, OnConflict, Query};
use sea_orm::{ConnectionTrait, DbErr};

/// One change to a claim's balance, for the audit trail and the invariant checks:
/// the open balance of a claim always equals the sum of its lines.
#[derive(Debug, Clone)]
pub struct LedgerLine {
    /// The claim.
    pub claim_id: String,
    /// opened | payment | credit_note | fee | interest | credit_balance | write_off.
    pub kind: &'static str,
    /// The id of what caused it (invoice, payment, credit note, fee, interest).
    pub ref_id: String,
    /// Change to the principal (negative when paid).
    pub principal: Money,
    /// Change to the fees.
    pub fees: Money,
    /// Change to the interest.
    pub interest: Money,
    /// The business date it belongs to.
    pub business_date: NaiveDate,
}

/// Appends ledger lines.
pub async fn insert_lines(db: &impl ConnectionTrait, lines: &[LedgerLine]) -> Result<(), DbErr> {
    const COLS: usize = 7;
    for chunk in lines.chunks(rows_per_statement(COLS)) {
        let mut insert = Query::insert()
            .into_table("ledger_lines")
            .columns([
                "claim_id",
                "kind",
                "ref_id",
                "principal_minor",
                "fees_minor",
                "interest_minor",
                "business_date",
            ])
            .to_owned();
        for l in chunk {
            insert.values_panic([
                l.claim_id.as_str().into(),
                l.kind.into(),
                l.ref_id.as_str().into(),
                l.principal.to_minor().into(),
                l.fees.to_minor().into(),
                l.interest.to_minor().into(),
                l.business_date.into(),
            ]);
        }
        db.execute(&insert).await?;
    }
    Ok(())
}

/// Inserts a row keyed by a natural key (`ON CONFLICT DO NOTHING`, whichever unique key it
/// meets); false if the key was already there.
pub async fn insert_once(
    db: &impl ConnectionTrait,
    mut insert: InsertStatement,
) -> Result<bool, DbErr> {
    insert.on_conflict(OnConflict::new().do_nothing().to_owned());
    let res = db.execute(&insert).await?;
    Ok(res.rows_affected() == 1)
}
