//! `[invoicing]`: the ledger's own periods. Every key has a default, so the section may be left out.
//!
//! ```toml
//! [invoicing]
//! prepayment_expiry_days = 90   # an unpaid prepayment claim expires this many days after its due date
//! refund_after_days = 30        # a credit balance no claim used for this many days is refunded
//! ```

use restance_kernel::retention::RetentionPolicy;
use restance_runtime::Settings;
use serde::Deserialize;

/// The default of `prepayment_expiry_days`: three months after the due date. A prepayment pays
/// for a permit or a land allocation that is handed out only when it is paid (seed 000); a
/// citizen who has not paid a quarter of a year after the deadline has in practice given up the
/// application, and the municipality's permit case is closed long before — the claim must not
/// then live on as "arrears" it never was.
pub const DEFAULT_PREPAYMENT_EXPIRY_DAYS: u32 = 90;

/// The default of `refund_after_days`: about one billing month, so a credit balance first pays the
/// next monthly invoice (daycare, rent, water) instead of being refunded and billed again.
pub const DEFAULT_REFUND_AFTER_DAYS: u32 = 30;

/// The `[invoicing]` section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InvoicingConfig {
    /// Days after its due date after which an unpaid prepayment claim expires
    /// (`invoicing.prepayment.expired.v1`), 1–3650.
    pub prepayment_expiry_days: u32,
    /// Days a credit balance waits for a claim to use it before it is refunded
    /// (`invoicing.refund.requested.v1`), 0–365 (0: refunded on the next business day).
    pub refund_after_days: u32,
}

impl Default for InvoicingConfig {
    fn default() -> Self {
        Self {
            prepayment_expiry_days: DEFAULT_PREPAYMENT_EXPIRY_DAYS,
            refund_after_days: DEFAULT_REFUND_AFTER_DAYS,
        }
    }
}

/// An unusable `[invoicing]` section: the kit's one refusal type.
pub use restance_runtime::settings::InvalidConfig;

impl InvoicingConfig {
    /// Reads `[invoicing]` (defaults when absent) and checks it.
    pub fn load(settings: &Settings) -> Result<InvoicingConfig, InvalidConfig> {
        settings
            .section_or_default::<InvoicingConfig>("invoicing")
            .map_err(|e| InvalidConfig::new("invoicing", e.0))?
            .check()
    }

    /// Checks the ranges; every problem is listed.
    pub fn check(self) -> Result<InvoicingConfig, InvalidConfig> {
        let mut problems = Vec::new();
        if !(1..=3650).contains(&self.prepayment_expiry_days) {
            problems.push("invoicing.prepayment_expiry_days: must be 1–3650 days".to_owned());
        }
        if self.refund_after_days > 365 {
            problems.push("invoicing.refund_after_days: must be 0–365 days".to_owned());
        }
        if problems.is_empty() {
            Ok(self)
        } else {
            Err(InvalidConfig::new("invoicing", problems))
        }
    }
}

/// Reads `[retention]` (defaults when absent: 5 years, enabled) and checks it against the
/// catalog's categories; a period below the legal minimum is refused naming its category.
pub fn load_retention(
    settings: &Settings,
) -> Result<RetentionPolicy, restance_kernel::retention::InvalidRetention> {
    settings
        .section_or_default::<RetentionPolicy>("retention")
        .map_err(|e| restance_kernel::retention::InvalidRetention(e.0))?
        .checked(|key| settings.catalog.category(key).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_pass_and_out_of_range_periods_are_refused_with_their_key() {
        assert!(InvoicingConfig::default().check().is_ok());
        let bad = InvoicingConfig {
            prepayment_expiry_days: 0,
            refund_after_days: 400,
        };
        let InvalidConfig { problems, .. } = bad.check().expect_err("refused");
        assert_eq!(problems.len(), 2);
        assert!(problems[0].starts_with("invoicing.prepayment_expiry_days"));
        assert!(problems[1].starts_with("invoicing.refund_after_days"));
    }
}
