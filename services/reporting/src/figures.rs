//! Where the figures of a date come from — one rule for the API and the reports:
//!
//! 1. imported month-end balances for that municipality and date, if any (the operator's import
//!    is the authority for the dates it names; re-importing replaces them);
//! 2. else the stored snapshot of the date (a closed date: a later business day was opened);
//! 3. else, for a closed date since reporting's first business day whose snapshot the worker has
//!    not taken yet, the same figures computed from the claim versions;
//! 4. else, for the current business date (still open), the figures so far ([`Source::Live`]);
//! 5. else there are none (before reporting's first day without an import, or in the future).

use restance_kernel::BusinessDate;
use sea_orm::{ConnectionTrait, DbErr};

use crate::domain::assemble::{DateFigures, Source};
use crate::store::queries;

/// The first and last business dates opened so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opened {
    /// Reporting's first business day.
    pub first: BusinessDate,
    /// The current business date.
    pub last: BusinessDate,
}

impl Opened {
    /// The opened range, if any day was opened.
    pub async fn load(db: &impl ConnectionTrait) -> Result<Option<Opened>, DbErr> {
        let first = queries::first_business_date(db).await?;
        let last = queries::last_business_date(db).await?;
        Ok(first.zip(last).map(|(first, last)| Opened { first, last }))
    }
}

/// The figures of `municipality` at the end of `date`, and where they come from.
pub async fn figures_on(
    db: &impl ConnectionTrait,
    municipality: &str,
    date: BusinessDate,
    opened: Option<Opened>,
) -> Result<Option<(Source, DateFigures)>, DbErr> {
    let imported = queries::imported(db, municipality, date).await?;
    if !imported.is_empty() {
        return Ok(Some((Source::Imported, DateFigures::Imported(imported))));
    }
    if queries::has_snapshot(db, date).await? {
        let arrears = queries::stored_arrears(db, municipality, date).await?;
        return Ok(Some((Source::Projection, DateFigures::Projected(arrears))));
    }
    let Some(opened) = opened else {
        return Ok(None);
    };
    if date < opened.first || date > opened.last {
        return Ok(None);
    }
    let arrears = queries::compute_arrears(db, municipality, date).await?;
    let source = if date == opened.last {
        Source::Live
    } else {
        Source::Projection
    };
    Ok(Some((source, DateFigures::Projected(arrears))))
}
