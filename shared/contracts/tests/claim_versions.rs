//! The claim events' `version` and the rule that orders them ([`ClaimCopy::of`],
//! [`ClaimEvent::against`]): decoding with and without it, its bounds, and that a consumer
//! applying the rule holds the newest state whatever the order of arrival.

use proptest::prelude::*;
use restance_contracts::*;
use serde_json::{Value, json};

fn envelope(type_: &str, data: Value) -> Vec<u8> {
    serde_json::to_vec(
        &json!({"specversion":"1.0","id":"0194f3a0-0000-7000-8000-000000000001",
        "source":"/restance/invoicing","type":type_,"time":"2026-12-01T06:00:00Z",
        "datacontenttype":"application/json","data":data}),
    )
    .expect("serialises")
}

fn decode<T: Message>(data: Value) -> Result<T, DecodeError> {
    let env = decode_envelope(&envelope(T::TYPE, data)).expect("the envelope is fine");
    decode_data::<T>(&env)
}

fn claim() -> Value {
    json!({"claim_id":"CLM-0746-000481","invoice_id":"DAY-2026-12-000123",
        "source":"/billing/daycare","municipality":"0746","category":"daycare","debtor_id":"P-77"})
}

fn with(mut base: Value, extra: Value) -> Value {
    for (k, v) in extra.as_object().expect("an object") {
        base[k] = v.clone();
    }
    base
}

fn balance_changed(version: Option<u64>) -> Value {
    let mut data = with(
        claim(),
        json!({"currency":"DKK","principal":"1720.00","fees":"250.00","interest":"0.00",
            "total":"1970.00","cause":"fee","business_date":"2027-01-05"}),
    );
    if let Some(v) = version {
        data["version"] = json!(v);
    }
    data
}

/// Every claim event with `version` set to `v` (JSON as given).
fn every_claim_event(v: &Value) -> Vec<(&'static str, Value)> {
    let opened = with(
        claim(),
        json!({"office":"main","currency":"DKK","amount":"2150.00","issue_date":"2026-12-01",
            "due_date":"2026-12-15","payment_reference":"000000067097535",
            "prepayment":false,"direct_debit":false,"version":v}),
    );
    let mut changed = balance_changed(None);
    changed["version"] = v.clone();
    let settled = with(
        claim(),
        json!({"currency":"DKK","settled_date":"2027-01-12","version":v}),
    );
    let written_off = with(
        claim(),
        json!({"currency":"DKK","principal":"10.00","fees":"0.00","interest":"0.00",
            "reason":"statute-barred","date":"2027-01-12","version":v}),
    );
    vec![
        (ClaimOpened::TYPE, opened),
        (ClaimBalanceChanged::TYPE, changed),
        (ClaimSettled::TYPE, settled),
        (ClaimWrittenOff::TYPE, written_off),
    ]
}

#[test]
fn claim_events_without_a_version_still_decode_and_write_none() {
    let old = decode::<ClaimBalanceChanged>(balance_changed(None)).expect("an old producer's");
    assert_eq!(old.version, None);
    assert_eq!(old.claim_version(), None);
    assert!(
        serde_json::to_value(&old)
            .expect("json")
            .get("version")
            .is_none(),
        "no version is written for None"
    );
    let new = decode::<ClaimBalanceChanged>(balance_changed(Some(7))).expect("versioned");
    assert_eq!(new.version, Some(7));
    assert_eq!(serde_json::to_value(&new).expect("json")["version"], 7);
    for (type_, mut data) in every_claim_event(&json!(1)) {
        validate_dynamic(type_, &data).unwrap_or_else(|e| panic!("{type_}: {}", e.reason()));
        data.as_object_mut().expect("object").remove("version");
        validate_dynamic(type_, &data).unwrap_or_else(|e| panic!("{type_}: {}", e.reason()));
    }
}

#[test]
fn a_claim_version_is_one_or_more_and_fits_a_signed_64_bit_column() {
    for bad in [json!(0), json!(-1), json!(1.5), json!("2"), json!(u64::MAX)] {
        for (type_, data) in every_claim_event(&bad) {
            let err = validate_dynamic(type_, &data).expect_err("refused");
            assert!(
                err.reason().contains("data.version"),
                "{type_} {bad}: {}",
                err.reason()
            );
        }
    }
    for (type_, data) in every_claim_event(&json!(MAX_CLAIM_VERSION)) {
        validate_dynamic(type_, &data).unwrap_or_else(|e| panic!("{type_}: {}", e.reason()));
    }
}

#[test]
fn the_newest_claim_state_wins_whatever_the_order_of_arrival() {
    // Nothing stored yet: applied with the copy's version (0 for a copy without one).
    assert_eq!(
        ClaimCopy::of(Some(1), None),
        ClaimCopy::Apply { version: 1 }
    );
    assert_eq!(ClaimCopy::of(None, None), ClaimCopy::Apply { version: 0 });
    // Newer, the same, older.
    assert_eq!(
        ClaimCopy::of(Some(4), Some(3)),
        ClaimCopy::Apply { version: 4 }
    );
    assert_eq!(
        ClaimCopy::of(Some(9), Some(3)),
        ClaimCopy::Apply { version: 9 },
        "a gap is fine: not every version is published"
    );
    assert_eq!(ClaimCopy::of(Some(3), Some(3)), ClaimCopy::Duplicate);
    assert_eq!(ClaimCopy::of(Some(2), Some(3)), ClaimCopy::Stale);
    // A versioned copy after unversioned ones (stored 0) is newer.
    assert_eq!(
        ClaimCopy::of(Some(1), Some(0)),
        ClaimCopy::Apply { version: 1 }
    );
    // A copy without a version is applied as before and keeps the stored version.
    assert_eq!(
        ClaimCopy::of(None, Some(5)),
        ClaimCopy::Apply { version: 5 }
    );
    assert_eq!(
        ClaimCopy::of(None, Some(0)),
        ClaimCopy::Apply { version: 0 }
    );
    // The metric labels.
    assert_eq!(ClaimCopy::Apply { version: 1 }.outcome(), "stored");
    assert_eq!(ClaimCopy::Duplicate.outcome(), "duplicate");
    assert_eq!(ClaimCopy::Stale.outcome(), "stale");
    // Through the events themselves.
    let e = decode::<ClaimBalanceChanged>(balance_changed(Some(3))).expect("decodes");
    assert_eq!(e.against(Some(4)), ClaimCopy::Stale);
    assert_eq!(e.against(Some(2)), ClaimCopy::Apply { version: 3 });
    assert_eq!(e.claim_ref().claim_id, "CLM-0746-000481");
}

/// A consumer's copy of one claim: the version stored with it and the state (here: the version
/// whose state it holds, or for an unversioned event its own label).
#[derive(Debug, Default)]
struct Projection {
    version: Option<u64>,
    state: Option<u64>,
}

impl Projection {
    fn receive(&mut self, copy: Option<u64>, state: u64) {
        match ClaimCopy::of(copy, self.version) {
            ClaimCopy::Apply { version } => {
                self.version = Some(version);
                self.state = Some(state);
            }
            ClaimCopy::Duplicate | ClaimCopy::Stale => {}
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Versions 1..=n of a claim (some not published, some delivered twice), in any order: the
    /// copy ends with the highest version delivered and its state.
    #[test]
    fn any_order_of_versioned_copies_ends_at_the_newest(
        (published, order) in (1u64..12).prop_flat_map(|n| {
            let published = proptest::collection::vec(any::<bool>(), n as usize);
            (published, Just(n))
        }).prop_flat_map(|(published, _n)| {
            let copies: Vec<u64> = published
                .iter()
                .enumerate()
                .filter(|(_, p)| **p)
                .map(|(i, _)| i as u64 + 1)
                .collect();
            let with_repeats: Vec<u64> = copies.iter().chain(copies.iter().step_by(2)).copied().collect();
            (Just(copies), Just(with_repeats).prop_shuffle())
        }),
    ) {
        let mut projection = Projection::default();
        for v in &order {
            projection.receive(Some(*v), *v);
        }
        let newest = published.iter().max().copied();
        prop_assert_eq!(projection.version, newest);
        prop_assert_eq!(projection.state, newest);
    }

    /// Whatever was stored, the rule never lowers the stored version.
    #[test]
    fn the_stored_version_never_goes_down(copy in proptest::option::of(1u64..100), stored in proptest::option::of(0u64..100)) {
        if let ClaimCopy::Apply { version } = ClaimCopy::of(copy, stored) {
            prop_assert!(stored.is_none_or(|s| version >= s));
        }
    }
}
