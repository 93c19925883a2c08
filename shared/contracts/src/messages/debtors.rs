//! From our invoicing service: its view of each debtor, and the end of it when retention runs
//! out. Invoicing owns the debtor details; the other services keep copies by version.

use restance_kernel::BusinessDate;
use serde::{Deserialize, Serialize};

use crate::check::Problems;
use crate::messages::party::{AddressProtection, Debtor};
use crate::{Message, Problem, Validate};

/// `invoicing.debtor.updated.v1`: invoicing's current view of a debtor (new, or changed by a
/// later invoice). Consumers keep the latest per `(municipality, debtor.id)`: which copy is the
/// latest is decided by `version` ([`DebtorUpdated::against`]), never by the order of arrival —
/// two replicas, a replay or a relay's redelivery can deliver an older copy after a newer one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DebtorUpdated {
    /// Municipality code.
    pub municipality: String,
    /// The debtor block, as on the latest invoice.
    pub debtor: Debtor,
    /// Invoicing's version of these details: 1 for the first copy of a debtor, one more each
    /// time invoicing stores changed details, monotonic per `(municipality, debtor.id)`.
    /// Optional on the wire: absent from copies published before it existed (see
    /// [`DebtorUpdated::against`] for how those are applied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
}

/// The highest `version` a copy may carry (stored as a signed 64-bit integer).
pub const MAX_DEBTOR_VERSION: u64 = i64::MAX as u64;

impl Message for DebtorUpdated {
    const TYPE: &'static str = "invoicing.debtor.updated.v1";
}

impl Validate for DebtorUpdated {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.municipality", &self.municipality);
        self.debtor.check(&mut p, "data.debtor");
        if let Some(v) = self.version
            && !(1..=MAX_DEBTOR_VERSION).contains(&v)
        {
            p.add(
                "data.version",
                format!("must be between 1 and {MAX_DEBTOR_VERSION}"),
            );
        }
        p.into_vec()
    }
}

/// What a consumer holds for a debtor from earlier copies of `invoicing.debtor.updated.v1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredDebtorCopy {
    /// The version stored with the details; 0 when only copies without a version were applied.
    pub version: u64,
    /// The address protection of the stored details.
    pub address_protection: AddressProtection,
}

/// What to do with a copy of `invoicing.debtor.updated.v1` ([`DebtorUpdated::against`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DebtorCopy {
    /// Store `debtor` (the copy's block, its protection possibly kept higher) with `version`.
    Store {
        /// The details to store.
        debtor: Box<Debtor>,
        /// The version to store with them.
        version: u64,
        /// True when the copy (without a version) would have lowered the stored protection and
        /// the stored one was kept.
        protection_kept: bool,
    },
    /// The copy has the stored version: a duplicate, nothing changes.
    Duplicate,
    /// The copy is older than the stored one: ignored (acknowledged, no error).
    Stale,
}

impl DebtorUpdated {
    /// The one rule every consumer of this message applies, given what it stored for the debtor
    /// (`None`: nothing yet):
    ///
    /// - a copy **with** a version newer than the stored one is stored as it is, with its
    ///   version — it may lower the address protection (a protection lifted in the register);
    /// - the **same** version is a duplicate: nothing changes;
    /// - an **older** version is stale: ignored;
    /// - a copy **without** a version (a producer from before versions) is stored as before,
    ///   keeping the stored version — but once a versioned copy was stored (stored version ≥ 1)
    ///   it can never lower the address protection (none < confidential <
    ///   strictly_confidential): the stored protection is kept if it is higher. Its age is
    ///   unknown, so it may only make the details safer, never less safe; only a newer versioned
    ///   copy can lower a protection. While nothing versioned was stored, it applies as it
    ///   always did.
    pub fn against(&self, stored: Option<StoredDebtorCopy>) -> DebtorCopy {
        match (self.version, stored) {
            (Some(v), Some(s)) if v < s.version => DebtorCopy::Stale,
            (Some(v), Some(s)) if v == s.version => DebtorCopy::Duplicate,
            (Some(v), _) => DebtorCopy::Store {
                debtor: Box::new(self.debtor.clone()),
                version: v,
                protection_kept: false,
            },
            (None, Some(s)) if s.version > 0 => {
                let mut debtor = Box::new(self.debtor.clone());
                let protection_kept = s.address_protection > debtor.address_protection;
                if protection_kept {
                    debtor.address_protection = s.address_protection;
                }
                DebtorCopy::Store {
                    debtor,
                    version: s.version,
                    protection_kept,
                }
            }
            (None, s) => DebtorCopy::Store {
                debtor: Box::new(self.debtor.clone()),
                version: s.map_or(0, |s| s.version),
                protection_kept: false,
            },
        }
    }
}

/// `invoicing.debtor.erased.v1`: retention ran out for a debtor (every claim ended more than the
/// configured period ago, `[retention]`, `restance_kernel::retention`): invoicing has replaced
/// the debtor's personal data (name, address, national id, phone, e-mail) by a marker, keeping
/// the debtor id, the claims and every amount and date. Each service holding personal data of
/// this debtor erases its own copy; a repeat changes nothing. Carries no personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DebtorErased {
    /// Municipality code.
    pub municipality: String,
    /// The debtor's id (kept: figures and projections stay keyed by it).
    pub debtor_id: String,
    /// The business date invoicing erased it.
    pub erased_on: BusinessDate,
    /// Invoicing's version of the debtor's details after the erasure (the sequence of
    /// `invoicing.debtor.updated.v1`'s `version`): a copy of the details with this version or
    /// lower, arriving late, must not bring the data back; a later invoice for the same debtor
    /// id brings a higher one.
    pub version: u64,
}

impl Message for DebtorErased {
    const TYPE: &'static str = "invoicing.debtor.erased.v1";
}

impl Validate for DebtorErased {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.municipality", &self.municipality);
        p.id("data.debtor_id", &self.debtor_id);
        if !(1..=MAX_DEBTOR_VERSION).contains(&self.version) {
            p.add(
                "data.version",
                format!("must be between 1 and {MAX_DEBTOR_VERSION}"),
            );
        }
        p.into_vec()
    }
}
