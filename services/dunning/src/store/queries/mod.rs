//! SQL for dunning's tables (PostgreSQL and SQLite alike, `$n` placeholders). Lookups go per
//! municipality with `debtor_id IN (…)` so that the `(municipality, debtor_id)` keys serve them;
//! writes of many rows are multi-row statements.

mod audit;
mod campaigns;
mod cases;
mod claims;
mod days;
mod debtors;
mod history;
mod holds;
mod write_offs;

pub use audit::*;
pub use campaigns::*;
pub use cases::*;
pub use claims::*;
pub use days::*;
pub use debtors::*;
pub use history::*;
pub use holds::*;
pub use write_offs::*;

use restance_store::{opt_date, to_json as json};
use sea_orm::DbErr;

use crate::domain::Scope;

/// `(municipality, debtor_id)`: a debtor is per municipality.
pub type DebtorKey = (String, String);

fn scope_json(scope: &Scope) -> Result<Option<String>, DbErr> {
    match scope {
        Scope::Debtor => Ok(None),
        Scope::Claims(ids) => json(ids).map(Some),
    }
}

fn scope_from(text: Option<String>) -> Result<Scope, DbErr> {
    match text {
        None => Ok(Scope::Debtor),
        Some(t) => serde_json::from_str(&t)
            .map(Scope::Claims)
            .map_err(|e| DbErr::Custom(format!("stored claim ids unreadable: {e}"))),
    }
}
