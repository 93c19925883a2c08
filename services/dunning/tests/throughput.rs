//! How fast the pure decision is, for the service's daily-run budget (`just bench-dunning`
//! measures the whole service). Ignored by default; run with
//! `cargo test -p restance-dunning --release --test throughput -- --ignored --nocapture`.

use std::time::Instant;

use restance_dunning::domain::{
    CategoryFlags, ClaimBalance, ClaimHistory, ClaimState, ClaimStatus, DebtorView, Policies,
    next_steps,
};
use restance_kernel::{BusinessDate, Currency, Money, PartyKind};
use serde::Deserialize;

#[derive(Deserialize)]
struct ConfigFile {
    dunning: Policies,
}

fn debtor(i: usize, due: BusinessDate) -> DebtorView {
    DebtorView {
        debtor_id: format!("D-{i}"),
        municipality: "0746".into(),
        kind: PartyKind::Person,
        claims: vec![ClaimState {
            claim_id: format!("C-{i:08}"),
            category: "other".into(),
            flags: CategoryFlags::default(),
            office: "main".into(),
            currency: Currency::Dkk,
            due_date: due,
            balance: ClaimBalance {
                principal: Money::from_minor(215_000),
                ..ClaimBalance::default()
            },
            payment_reference: None,
            status: ClaimStatus::Open,
            last_acknowledged: None,
            prepayment: false,
            direct_debit: false,
            history: ClaimHistory::default(),
        }],
        holds: vec![],
        broken_agreements: vec![],
    }
}

#[test]
#[ignore = "a measurement, not a check; run in release"]
fn decisions_per_second() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/restance.toml");
    let text = std::fs::read_to_string(path).expect("config readable");
    let policies = toml::from_str::<ConfigFile>(&text)
        .expect("config parses")
        .dunning;
    let today = BusinessDate::new(2026, 12, 22).expect("date");
    let due = BusinessDate::new(2026, 12, 15).expect("date");
    let n = 200_000;
    let mut views: Vec<DebtorView> = (0..n).map(|i| debtor(i, due)).collect();
    let started = Instant::now();
    let mut reminders = 0;
    for view in &mut views {
        let decisions = next_steps(view, &policies, today);
        reminders += decisions
            .decisions
            .iter()
            .filter(|d| d.action.name() == "reminder")
            .count();
        view.record(&decisions);
    }
    let elapsed = started.elapsed();
    assert_eq!(
        reminders, n,
        "one reminder each (and the first month's interest)"
    );
    let nanos = elapsed.as_nanos().max(1);
    println!(
        "{n} debtors with reminder 1 and interest due: {} ms, {} debtors/s, {} ns per debtor",
        elapsed.as_millis(),
        (n as u128) * 1_000_000_000 / nanos,
        nanos / n as u128
    );
}
