//! A claim as reporting sees it: where it is in its life (open, settled, written off,
//! transferred), which agreements cover it, the state the arrears are split by, and its
//! versions in business time.
//!
//! **Versions** are what makes "arrears as of any past date" a query: every change of a claim's
//! balance or state is stamped with a business date, and the claim keeps one version per date it
//! changed on — `valid_from` (inclusive) to `valid_to` (exclusive; open while current). The
//! version valid on date `D` is the claim as it stood at the end of `D`. Changes are only ever
//! stamped with the current business date, so a version that is no longer current never changes
//! again: a snapshot of a past date, once taken, stays true.

use std::collections::BTreeSet;

use restance_kernel::{BusinessDate, Money};
use serde::{Deserialize, Serialize};

use crate::domain::report::ArrearsState;

/// Where a claim is in its life, from invoicing's and dunning's events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lifecycle {
    /// Owed to the municipality (the default after `invoicing.claim.opened.v1`).
    Open,
    /// Paid or credited in full (`invoicing.claim.settled.v1`).
    Settled,
    /// Written off (`invoicing.claim.written_off.v1`): not arrears any more.
    WrittenOff,
    /// Handed to state collection (`dunning.claim.handed_over.v1`): still owed, still arrears.
    Transferred,
    /// The municipality made distraint (udlæg) for it itself (`dunning.distraint.recorded.v1`,
    /// priority claims such as property tax): still owed to the municipality, still arrears,
    /// reported in its own state.
    Distraint,
    /// An unpaid prepayment (`invoicing.claim.opened.v1` with `prepayment: true`: a permit or
    /// land allocation paid before it is handed out, seed 000). Owed, but never arrears: the
    /// permit is simply not issued until it is paid. Reported apart as outstanding prepayments.
    Prepayment,
    /// A prepayment that expired unpaid (`invoicing.prepayment.expired.v1`): the permit was
    /// never issued and the claim left the books; neither arrears nor outstanding.
    Expired,
}

impl Lifecycle {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Lifecycle::Open => "open",
            Lifecycle::Settled => "settled",
            Lifecycle::WrittenOff => "written_off",
            Lifecycle::Transferred => "transferred",
            Lifecycle::Distraint => "distraint",
            Lifecycle::Prepayment => "prepayment",
            Lifecycle::Expired => "expired",
        }
    }

    /// Whether nothing more is owed on it (settled, written off, an expired prepayment).
    pub const fn is_closed(self) -> bool {
        matches!(
            self,
            Lifecycle::Settled | Lifecycle::WrittenOff | Lifecycle::Expired
        )
    }

    /// The lifecycle a stored name stands for.
    pub fn parse(s: &str) -> Option<Lifecycle> {
        [
            Lifecycle::Open,
            Lifecycle::Settled,
            Lifecycle::WrittenOff,
            Lifecycle::Transferred,
            Lifecycle::Distraint,
            Lifecycle::Prepayment,
            Lifecycle::Expired,
        ]
        .into_iter()
        .find(|l| l.as_str() == s)
    }
}

/// The kind of an agreement that holds a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldKind {
    /// A payment plan (afdragsordning).
    Plan,
    /// A deferral (henstand).
    Deferral,
}

impl HoldKind {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            HoldKind::Plan => "plan",
            HoldKind::Deferral => "deferral",
        }
    }

    /// The kind a stored name stands for.
    pub fn parse(s: &str) -> Option<HoldKind> {
        match s {
            "plan" => Some(HoldKind::Plan),
            "deferral" => Some(HoldKind::Deferral),
            _ => None,
        }
    }
}

/// The agreements in force on a claim, by kind and id (a claim may be in a plan and, for a
/// while, deferred too).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holds(BTreeSet<(HoldKind, String)>);

impl Holds {
    /// No agreement.
    pub fn new() -> Holds {
        Holds::default()
    }

    /// Adds an agreement (a repeat changes nothing).
    pub fn add(&mut self, kind: HoldKind, id: &str) {
        self.0.insert((kind, id.to_owned()));
    }

    /// Removes an agreement, if it was there.
    pub fn remove(&mut self, kind: HoldKind, id: &str) {
        self.0.remove(&(kind, id.to_owned()));
    }

    /// Whether any agreement of `kind` is in force.
    pub fn has(&self, kind: HoldKind) -> bool {
        self.0.iter().any(|(k, _)| *k == kind)
    }

    /// The stored form: `plan:P-1;deferral:D-7` (ids contain no whitespace; `;` is escaped as
    /// `%3B` and `%` as `%25`, so any id round-trips).
    pub fn encode(&self) -> String {
        self.0
            .iter()
            .map(|(k, id)| {
                format!(
                    "{}:{}",
                    k.as_str(),
                    id.replace('%', "%25").replace(';', "%3B")
                )
            })
            .collect::<Vec<_>>()
            .join(";")
    }

    /// Reads [`Holds::encode`]'s form; `None` if it is not.
    pub fn decode(s: &str) -> Option<Holds> {
        let mut holds = Holds::new();
        for part in s.split(';').filter(|p| !p.is_empty()) {
            let (kind, id) = part.split_once(':')?;
            let id = id.replace("%3B", ";").replace("%25", "%");
            holds.add(HoldKind::parse(kind)?, &id);
        }
        Some(holds)
    }
}

/// The state a claim is counted in. The first five are the arrears states of the report; a
/// settled or written-off claim has no balance and is not arrears.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimState {
    /// Collected by the municipality.
    Open,
    /// Covered by a payment plan in force.
    UnderPlan,
    /// Covered by a deferral in force.
    Deferred,
    /// Transferred to state collection.
    Transferred,
    /// Under the municipality's own distraint (udlæg).
    Distraint,
    /// Paid in full.
    Settled,
    /// Written off.
    WrittenOff,
    /// An unpaid prepayment: not arrears (reported apart).
    Prepayment,
    /// A prepayment that expired unpaid: nothing owed.
    Expired,
}

impl ClaimState {
    /// The stored name: the report's state names, `settled`, `written_off`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ClaimState::Open => "open",
            ClaimState::UnderPlan => "under_plan",
            ClaimState::Deferred => "deferred",
            ClaimState::Transferred => "transferred",
            ClaimState::Distraint => "distraint",
            ClaimState::Settled => "settled",
            ClaimState::WrittenOff => "written_off",
            ClaimState::Prepayment => "prepayment",
            ClaimState::Expired => "expired",
        }
    }

    /// The state a stored name stands for.
    pub fn parse(s: &str) -> Option<ClaimState> {
        [
            ClaimState::Open,
            ClaimState::UnderPlan,
            ClaimState::Deferred,
            ClaimState::Transferred,
            ClaimState::Distraint,
            ClaimState::Settled,
            ClaimState::WrittenOff,
            ClaimState::Prepayment,
            ClaimState::Expired,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }

    /// The arrears state it is reported under; `None` for settled and written-off claims and
    /// for prepayments (outstanding or expired).
    pub const fn arrears(self) -> Option<ArrearsState> {
        match self {
            ClaimState::Open => Some(ArrearsState::Open),
            ClaimState::UnderPlan => Some(ArrearsState::UnderPlan),
            ClaimState::Deferred => Some(ArrearsState::Deferred),
            ClaimState::Transferred => Some(ArrearsState::Transferred),
            ClaimState::Distraint => Some(ArrearsState::Distraint),
            ClaimState::Settled
            | ClaimState::WrittenOff
            | ClaimState::Prepayment
            | ClaimState::Expired => None,
        }
    }

    /// The stored names of the arrears states, for SQL `IN (…)` lists.
    pub const ARREARS: [&'static str; 5] =
        ["open", "under_plan", "deferred", "distraint", "transferred"];
}

/// The state a claim is counted in, from its lifecycle and the agreements covering it.
///
/// Precedence: a written-off or settled claim is just that; a transferred claim is collected by
/// the state whatever was agreed before; a claim under the municipality's distraint stays under
/// distraint whatever is agreed (the distraint is the municipality's security until it is paid);
/// an unpaid prepayment is a prepayment whatever covers
/// it (never arrears); a deferral in force wins over a plan (nothing is due while deferred);
/// then a plan; else open.
pub fn state_of(lifecycle: Lifecycle, holds: &Holds) -> ClaimState {
    match lifecycle {
        Lifecycle::WrittenOff => ClaimState::WrittenOff,
        Lifecycle::Settled => ClaimState::Settled,
        Lifecycle::Transferred => ClaimState::Transferred,
        Lifecycle::Distraint => ClaimState::Distraint,
        Lifecycle::Prepayment => ClaimState::Prepayment,
        Lifecycle::Expired => ClaimState::Expired,
        Lifecycle::Open if holds.has(HoldKind::Deferral) => ClaimState::Deferred,
        Lifecycle::Open if holds.has(HoldKind::Plan) => ClaimState::UnderPlan,
        Lifecycle::Open => ClaimState::Open,
    }
}

/// What is open on a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Balance {
    /// Open principal.
    pub principal: Money,
    /// Open fees.
    pub fees: Money,
    /// Open interest.
    pub interest: Money,
}

impl Balance {
    /// Nothing open.
    pub const ZERO: Balance = Balance {
        principal: Money::ZERO,
        fees: Money::ZERO,
        interest: Money::ZERO,
    };

    /// `principal + fees + interest`.
    pub fn total(&self) -> Money {
        self.principal + self.fees + self.interest
    }
}

/// What a version records: the state and the balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionValue {
    /// The state counted in.
    pub state: ClaimState,
    /// What was open.
    pub balance: Balance,
}

/// One version of a claim in business time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    /// First business date (inclusive) this version is the claim at the end of the day.
    pub valid_from: BusinessDate,
    /// First date it no longer is (exclusive); `None` while current.
    pub valid_to: Option<BusinessDate>,
    /// The state and balance.
    pub value: VersionValue,
}

impl Version {
    /// Whether this version is the claim at the end of `date`.
    pub fn valid_on(&self, date: BusinessDate) -> bool {
        self.valid_from <= date && self.valid_to.is_none_or(|to| date < to)
    }
}

/// Records a change stamped `stamp` in a claim's versions (oldest first, the last one current).
///
/// - The first change starts the first version.
/// - A change on the business date the current version started on changes it in place (one
///   version per claim and date: the claim at the end of the day).
/// - A later change closes the current version at `stamp` and starts a new one.
/// - A stamp before the current version's start (an event stamped with its own date before any
///   business day was opened) is moved to that start: versions never go back in time.
/// - A change to the same value records nothing.
///
/// Returns whether anything changed.
pub fn supersede(versions: &mut Vec<Version>, stamp: BusinessDate, value: VersionValue) -> bool {
    let Some(current) = versions.last_mut() else {
        versions.push(Version {
            valid_from: stamp,
            valid_to: None,
            value,
        });
        return true;
    };
    if current.value == value {
        return false;
    }
    if stamp <= current.valid_from {
        current.value = value;
        return true;
    }
    current.valid_to = Some(stamp);
    versions.push(Version {
        valid_from: stamp,
        valid_to: None,
        value,
    });
    true
}

/// The version valid on `date`, if the claim existed then.
pub fn version_on(versions: &[Version], date: BusinessDate) -> Option<&Version> {
    versions.iter().find(|v| v.valid_on(date))
}

/// The business date a change is stamped with (README "Business dates"): the last business date
/// opened by `calendar.day.opened.v1` — events between two day openings belong to the earlier
/// one. Before any day was opened, the event's own date (issue date, booking date …) is used.
pub fn stamp(last_opened: Option<BusinessDate>, event_date: BusinessDate) -> BusinessDate {
    last_opened.unwrap_or(event_date)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> BusinessDate {
        s.parse().expect("date")
    }

    fn value(state: ClaimState, principal: i64) -> VersionValue {
        VersionValue {
            state,
            balance: Balance {
                principal: Money::from_minor(principal),
                ..Balance::ZERO
            },
        }
    }

    #[test]
    fn a_claim_under_distraint_is_its_own_arrears_state_whatever_is_agreed() {
        let mut holds = Holds::new();
        holds.add(HoldKind::Plan, "P-1");
        holds.add(HoldKind::Deferral, "D-1");
        let state = state_of(Lifecycle::Distraint, &holds);
        assert_eq!(state, ClaimState::Distraint);
        assert_eq!(state.arrears(), Some(ArrearsState::Distraint));
        assert!(ClaimState::ARREARS.contains(&"distraint"));
        assert_eq!(ClaimState::parse("distraint"), Some(ClaimState::Distraint));
        assert_eq!(Lifecycle::parse("distraint"), Some(Lifecycle::Distraint));
        assert!(!Lifecycle::Distraint.is_closed());
        assert_eq!(
            "distraint".parse::<ArrearsState>(),
            Ok(ArrearsState::Distraint)
        );
    }

    #[test]
    fn a_deferral_wins_over_a_plan_and_a_transfer_over_both() {
        let mut holds = Holds::new();
        assert_eq!(state_of(Lifecycle::Open, &holds), ClaimState::Open);
        holds.add(HoldKind::Plan, "P-1");
        assert_eq!(state_of(Lifecycle::Open, &holds), ClaimState::UnderPlan);
        holds.add(HoldKind::Deferral, "D-1");
        assert_eq!(state_of(Lifecycle::Open, &holds), ClaimState::Deferred);
        assert_eq!(
            state_of(Lifecycle::Transferred, &holds),
            ClaimState::Transferred
        );
        assert_eq!(
            state_of(Lifecycle::WrittenOff, &holds),
            ClaimState::WrittenOff
        );
        holds.remove(HoldKind::Deferral, "D-1");
        assert_eq!(state_of(Lifecycle::Open, &holds), ClaimState::UnderPlan);
        assert_eq!(ClaimState::Settled.arrears(), None);
        assert_eq!(ClaimState::Deferred.arrears(), Some(ArrearsState::Deferred));
    }

    #[test]
    fn holds_round_trip_through_their_stored_form() {
        let mut holds = Holds::new();
        holds.add(HoldKind::Plan, "P;1%");
        holds.add(HoldKind::Deferral, "D-7");
        let text = holds.encode();
        assert_eq!(Holds::decode(&text), Some(holds));
        assert_eq!(Holds::decode(""), Some(Holds::new()));
        assert_eq!(Holds::decode("loan:x"), None);
    }

    #[test]
    fn a_change_on_the_same_business_date_changes_the_version_in_place() {
        let mut v = Vec::new();
        assert!(supersede(
            &mut v,
            d("2027-01-04"),
            value(ClaimState::Open, 100)
        ));
        assert!(supersede(
            &mut v,
            d("2027-01-04"),
            value(ClaimState::Open, 80)
        ));
        assert_eq!(v.len(), 1);
        assert!(supersede(
            &mut v,
            d("2027-01-06"),
            value(ClaimState::Open, 50)
        ));
        assert!(!supersede(
            &mut v,
            d("2027-01-07"),
            value(ClaimState::Open, 50)
        ));
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].valid_to, Some(d("2027-01-06")));
        assert_eq!(
            version_on(&v, d("2027-01-05")).map(|x| x.value.balance.principal),
            Some(Money::from_minor(80))
        );
        assert_eq!(
            version_on(&v, d("2027-01-06")).map(|x| x.value.balance.principal),
            Some(Money::from_minor(50))
        );
        assert!(version_on(&v, d("2027-01-03")).is_none());
        // A stamp before the current version never goes back in time.
        assert!(supersede(
            &mut v,
            d("2027-01-01"),
            value(ClaimState::Open, 40)
        ));
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].valid_from, d("2027-01-06"));
    }

    #[test]
    fn before_the_first_business_day_an_event_keeps_its_own_date() {
        assert_eq!(stamp(None, d("2026-12-01")), d("2026-12-01"));
        assert_eq!(
            stamp(Some(d("2027-01-04")), d("2026-12-01")),
            d("2027-01-04")
        );
    }

    proptest! {
        /// Whatever the order of changes, the versions are contiguous and never overlap, and the
        /// version valid on any date is the last change stamped on or before it.
        #[test]
        fn versions_answer_as_of_any_date(changes in prop::collection::vec((0i64..40, 0i64..5), 1..30)) {
            let start = d("2027-01-01");
            let mut stamps: Vec<(i64, i64)> = changes.clone();
            stamps.sort_by_key(|(day, _)| *day);
            let mut v = Vec::new();
            for (day, amount) in &stamps {
                supersede(&mut v, start.add_days(*day), value(ClaimState::Open, *amount));
            }
            for w in v.windows(2) {
                prop_assert_eq!(w[0].valid_to, Some(w[1].valid_from));
                prop_assert!(w[0].valid_from < w[1].valid_from);
            }
            prop_assert!(v.last().is_some_and(|last| last.valid_to.is_none()));
            for probe in -2..45 {
                let date = start.add_days(probe);
                let expected = stamps.iter().rev().find(|(day, _)| *day <= probe).map(|(_, a)| Money::from_minor(*a));
                let got = version_on(&v, date).map(|x| x.value.balance.principal);
                prop_assert_eq!(got, expected, "as of {}", date);
            }
        }
    }
}
