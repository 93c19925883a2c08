//! The vocabulary the policies, the decisions and the debtor's view share: where a claim goes
//! when transferred, how a letter reaches the debtor, interest rate units, which policy version
//! decided, a claim's open amounts and the reasons for a hold. Its own module so that
//! [`super::policy`], [`super::actions`] and [`super::view`] each depend on it and not on one
//! another.

use std::fmt;

use restance_kernel::{Country, Money};
use serde::{Deserialize, Serialize};

/// The state collection authority (or private collection) a jurisdiction transfers claims to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferAuthority {
    /// Denmark: Gældsstyrelsen (formerly SKAT Inddrivelse).
    Gaeldsstyrelsen,
    /// Greenland: Skattestyrelsen (Akileraartarnermut Aqutsisoqarfik).
    Skattestyrelsen,
    /// Norway: Statens innkrevingssentral (state claims and claims assigned to it by law).
    StatensInnkrevingssentral,
    /// Norway: the namsmann, for municipal claims with a basis for enforcement (tvangsgrunnlag).
    Namsmannen,
    /// A private collection agency (inkasso), for private-law claims.
    Inkasso,
}

impl TransferAuthority {
    /// The wire name, e.g. `gaeldsstyrelsen`.
    pub const fn as_str(self) -> &'static str {
        match self {
            TransferAuthority::Gaeldsstyrelsen => "gaeldsstyrelsen",
            TransferAuthority::Skattestyrelsen => "skattestyrelsen",
            TransferAuthority::StatensInnkrevingssentral => "statens_innkrevingssentral",
            TransferAuthority::Namsmannen => "namsmannen",
            TransferAuthority::Inkasso => "inkasso",
        }
    }

    /// True if claims of `country` can be sent there.
    pub const fn serves(self, country: Country) -> bool {
        matches!(
            (self, country),
            (TransferAuthority::Gaeldsstyrelsen, Country::Dk)
                | (TransferAuthority::Skattestyrelsen, Country::Gl)
                | (
                    TransferAuthority::StatensInnkrevingssentral | TransferAuthority::Namsmannen,
                    Country::No
                )
                | (TransferAuthority::Inkasso, _)
        )
    }
}

impl fmt::Display for TransferAuthority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A way to reach the debtor; the notifications service picks digital post or paper for letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A letter: digital post, or paper for those exempted.
    Letter,
    /// An SMS.
    Sms,
    /// An e-mail.
    Email,
}

/// The unit of an interest rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateUnit {
    /// Percent per started month.
    PerStartedMonth,
    /// Percent per year, charged per day (actual days / 365).
    PerYear,
}

/// A policy id and version, recorded with every decision (`dk_standard v2`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PolicyRef {
    /// The policy id (its key under `[dunning.policies]`).
    pub id: String,
    /// The version number.
    pub version: u32,
}

impl fmt::Display for PolicyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} v{}", self.id, self.version)
    }
}

/// A claim's open amounts, as invoicing reports them (`invoicing.claim.balance_changed.v1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ClaimBalance {
    /// Unpaid principal.
    pub principal: Money,
    /// Unpaid fees.
    pub fees: Money,
    /// Unpaid interest.
    pub interest: Money,
}

impl ClaimBalance {
    /// Principal + fees + interest, or `None` if the sum leaves the money range.
    pub fn total(&self) -> Option<Money> {
        Money::checked_sum([self.principal, self.fees, self.interest])
    }
}

/// The reason for a hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldKind {
    /// A payment plan (afdragsordning); a defaulted plan ends the hold and is a broken agreement.
    Plan,
    /// A deferral (henstand).
    Deferral,
    /// A meeting scheduled with the debtor (sættemøde), until it is held or missed.
    Meeting,
    /// The debtor disputes the claim.
    Dispute,
    /// The debtor is in debt counselling (gjeldsrådgivning): the municipality holds its own
    /// dunning of them while the case is active (`counselling.dunning.held.v1` until
    /// `counselling.dunning.released.v1`). Always the whole debtor.
    Counselling,
}
