//! The invariants that hold in every run, with or without a fault (`check_absolute`).

use super::{Outcome, RunResult};
use crate::flow::Flow;
use crate::scenarios::{DUN, INV, SERVICES};
use crate::system::{System, count, rows};
use restance_system_tests::hostile::Hostile;
use restance_testkit::DeadLetter;
use std::collections::BTreeMap;

/// Invariants that hold in every run, with or without a fault.
#[allow(clippy::too_many_lines)] // one invariant after the other, each a block with its comment
pub async fn check_absolute(
    sys: &System,
    flow: &Flow,
    o: &Outcome,
    sent_minor: i64,
    r: &mut RunResult,
) -> anyhow::Result<()> {
    // Every invoice exactly one claim, with its amount.
    for (invoice_id, amount) in &flow.amounts {
        if !o.claims.contains_key(invoice_id) {
            r.lost += 1;
            r.violations
                .push(format!("invoice {invoice_id} has no claim"));
        }
        let _ = amount;
    }
    let inv = &sys.conns[INV];
    // Balances equal the ledger, and the ledger's fees and interest equal the charges.
    let bad = count(
        inv,
        "SELECT COUNT(*) FROM claims c LEFT JOIN (SELECT claim_id, SUM(principal_minor) p, SUM(fees_minor) f, \
         SUM(interest_minor) i FROM ledger_lines GROUP BY claim_id) l ON l.claim_id = c.claim_id \
         WHERE c.principal_minor <> COALESCE(l.p,0) OR c.fees_minor <> COALESCE(l.f,0) OR c.interest_minor <> COALESCE(l.i,0)",
    )
    .await?;
    if bad > 0 {
        r.violations.push(format!(
            "{bad} claim(s) whose balance differs from their ledger"
        ));
    }
    let opened_wrong = count(
        inv,
        "SELECT COUNT(*) FROM claims c WHERE c.amount_minor <> (SELECT COALESCE(SUM(principal_minor),0) FROM ledger_lines l \
         WHERE l.claim_id = c.claim_id AND l.kind = 'opened')",
    )
    .await?;
    if opened_wrong > 0 {
        r.violations.push(format!(
            "{opened_wrong} claim(s) opened with another amount than invoiced"
        ));
    }
    let fee_lines = count(
        inv,
        "SELECT CAST(COALESCE(SUM(fees_minor),0) AS BIGINT) FROM ledger_lines WHERE kind = 'fee'",
    )
    .await?;
    let fee_rows = count(
        inv,
        "SELECT CAST(COALESCE(SUM(amount_minor),0) AS BIGINT) FROM fees",
    )
    .await?;
    if fee_lines != fee_rows {
        r.violations.push(format!(
            "fees in the ledger {fee_lines} ≠ fees charged {fee_rows}"
        ));
    }
    let int_lines = count(inv, "SELECT CAST(COALESCE(SUM(interest_minor),0) AS BIGINT) FROM ledger_lines WHERE kind = 'interest'").await?;
    let int_rows = count(
        inv,
        "SELECT CAST(COALESCE(SUM(amount_minor),0) AS BIGINT) FROM interest_charges",
    )
    .await?;
    if int_lines != int_rows {
        r.violations.push(format!(
            "interest in the ledger {int_lines} ≠ interest charged {int_rows}"
        ));
    }
    // Every payment once: what the bank sent = what was applied + credit balances.
    let received = count(
        inv,
        "SELECT CAST(COALESCE(SUM(amount_minor),0) AS BIGINT) FROM payments",
    )
    .await?;
    let applied = count(
        inv,
        "SELECT CAST(COALESCE(-SUM(principal_minor + fees_minor + interest_minor),0) AS BIGINT) FROM ledger_lines WHERE kind IN ('payment','credit_balance')",
    )
    .await?;
    let credit = count(
        inv,
        "SELECT CAST(COALESCE(SUM(credit_minor),0) AS BIGINT) FROM debtors",
    )
    .await?;
    if received != sent_minor {
        r.violations
            .push(format!("payments received {received} ≠ sent {sent_minor}"));
        if received < sent_minor {
            r.lost += 1
        } else {
            r.doubled += 1
        }
    }
    if applied + credit != received {
        r.violations.push(format!(
            "payments applied {applied} + credit {credit} ≠ received {received}"
        ));
    }
    // Dunning's view of every claim equals invoicing's.
    let dun: BTreeMap<String, (i64, i64, i64)> = rows(
        &sys.conns[DUN],
        "SELECT invoice_id, principal_minor, fees_minor, interest_minor FROM claims",
    )
    .await?
    .into_iter()
    .filter_map(|x| {
        Some((
            x.try_get_by_index(0).ok()?,
            (
                x.try_get_by_index(1).ok()?,
                x.try_get_by_index(2).ok()?,
                x.try_get_by_index(3).ok()?,
            ),
        ))
    })
    .collect();
    let differ = o
        .claims
        .iter()
        .filter(|(k, (p, f, i, _))| dun.get(*k) != Some(&(*p, *f, *i)))
        .count();
    if differ > 0 {
        r.violations.push(format!(
            "{differ} claim(s) where dunning's balance differs from invoicing's"
        ));
    }
    // Third parties: one SMS per notification, one event per notification and channel.
    for (userref, n) in &o.sms {
        if *n > 1 {
            r.doubled += n - 1;
            r.violations
                .push(format!("{n} SMS at the gateway for notification {userref}"));
        }
    }
    for ((ty, key), ids) in &o.effects {
        if ids.len() > 1 {
            r.doubled += ids.len() - 1;
            r.violations
                .push(format!("{} distinct {ty} for {key}", ids.len()));
        }
    }
    // Dead letters: exactly the hostile messages, each with a reason.
    for s in SERVICES {
        let expected: Vec<&Hostile> = flow
            .hostile
            .iter()
            .filter(|h| h.dead_in.contains(&s))
            .collect();
        // A relay that died after the confirms publishes its dead letters again: the same
        // message (same id), which `restance dead replay` and the inbox treat as one.
        let mut got: Vec<&DeadLetter> = Vec::new();
        for d in &o.dead[s] {
            if !got.iter().any(|g| g.body == d.body) {
                got.push(d);
            }
        }
        let mut want: Vec<&[u8]> = expected.iter().map(|h| h.body.as_slice()).collect();
        for d in got {
            if d.reason.as_deref().unwrap_or("").is_empty() {
                r.violations
                    .push(format!("a dead letter in {s} without a reason"));
            }
            match want.iter().position(|b| *b == d.body.as_slice()) {
                Some(p) => {
                    want.remove(p);
                }
                None => r.violations.push(format!(
                    "{s} dead-lettered something that was not hostile input: {}",
                    d.reason.as_deref().unwrap_or("")
                )),
            }
        }
        for b in want {
            let class = expected
                .iter()
                .find(|h| h.body.as_slice() == b)
                .map(|h| h.class)
                .unwrap_or("?");
            r.violations.push(format!(
                "{s} did not dead-letter the hostile input \"{class}\""
            ));
        }
    }
    Ok(())
}
