//! The report model: every figure a monthly or quarterly arrears report shows, as plain data.
//!
//! The service fills a [`Report`] from its projections (arrears as of the period's last day and
//! as of the same date 12 months earlier, the period's flows, the month-end history) and the
//! file writers in [`crate::files`] render it; nothing here reads a clock, a database or a file.
//! So the arithmetic a finance office checks — the change in kroner and per cent, the totals,
//! the largest movements in the summary — is in one place and tested without a service.
//!
//! Rounding: amounts are exact [`Money`] (two decimals) and are never rounded; a change in per
//! cent is `(now − then) / |then| × 100` in exact [`Decimal`] arithmetic, rounded once to one
//! decimal, half away from zero (12.25 % → 12.3 %, −12.25 % → −12.3 %). No floats anywhere.
//! Sums use [`Money`]'s operators, which stop only beyond ±92 quadrillion kroner — far past any
//! municipality's arrears — so adding up a report's rows cannot fail in practice.

mod breakdowns;
mod campaigns;
mod figures;
mod format;
mod kind;
mod measures;
mod model;
mod summary;
#[cfg(test)]
mod tests;

pub use breakdowns::*;
pub use campaigns::*;
pub use figures::*;
pub use format::*;
pub use kind::*;
pub use measures::*;
pub use model::*;

use rust_decimal::{Decimal, RoundingStrategy};

/// How many of the largest increases and of the largest decreases the summary names.
pub const SUMMARY_MOVEMENTS: usize = 3;

/// How many month-ends the history chart covers: this one and the twelve before it.
pub const HISTORY_MONTHS: usize = 13;

/// `part / whole × 100`, one decimal, half away from zero; `None` when `whole` is zero.
fn percent_of(part: Decimal, whole: Decimal) -> Option<Decimal> {
    if whole.is_zero() {
        return None;
    }
    part.checked_mul(Decimal::ONE_HUNDRED)
        .and_then(|x| x.checked_div(whole))
        .map(|p| {
            let mut p = p
                .round_dp_with_strategy(1, RoundingStrategy::MidpointAwayFromZero)
                .normalize();
            if p.scale() < 1 {
                p.rescale(1);
            }
            p
        })
}
