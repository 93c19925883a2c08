//! The phases of published messages: the fault placed across such a phase, the race's
//! messages, the guarantees phase, and the helpers that make the messages.

use super::{Marked, phase_timeout};
use crate::flow::{Flow, RACE_FEE, RACE_INTEREST, RACE_PAYMENT, RACE_ROUNDS, Rng};
use crate::scenarios::{Fault, GUA, INV, Phase, Scenario, phase_of};
use crate::strike::strike;
use crate::system::{System, publish_all, rows};
use crate::wait::{Until, poll_until, wait_until};
use restance_system_tests::{envelope, payment};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// A fault in a phase of published messages (invoices, payments, the race, the changes that end
/// guarantees): `items` are the phase's messages, each marked with whether it stores a row
/// counted by `count_sql` in service `svc` (invoicing, or guarantee for its changes). The upstream publishes a seeded 30–70 % of them, the fault strikes once invoicing
/// has stored a seeded 10–90 % of those (so the consumers are mid-stream: messages in flight, a
/// batch open), and the rest is published only once the fault is in effect. The phase is
/// therefore unfinished while the fault lasts by construction, whatever the machine's speed.
/// Returns the evidence and whether the fault fired (the phase unfinished when it struck).
#[allow(clippy::too_many_arguments)]
async fn publish_across_fault(
    sys: &mut System,
    svc: usize,
    fault: Fault,
    rng: &mut Rng,
    items: Vec<Marked>,
    count_sql: &str,
    what: &str,
) -> anyhow::Result<(String, bool)> {
    let len = items.len() as u64;
    let cut = if len < 2 {
        len
    } else {
        rng.range((len * 3 / 10).max(1), (len * 7 / 10).clamp(1, len - 1))
    };
    let (mut first, mut counted) = (Vec::new(), [0i64, 0]);
    let mut rest = Vec::new();
    for (i, (item, stores)) in items.into_iter().enumerate() {
        let part = usize::from(i as u64 >= cut);
        counted[part] += i64::from(stores);
        if part == 0 {
            first.push(item);
        } else {
            rest.push(item);
        }
    }
    let [in_first, in_rest] = counted;
    let total = in_first + in_rest;
    let base = sys.count(svc, count_sql).await.max(0);
    let target = if in_first == 0 {
        0
    } else {
        let f = u64::try_from(in_first).unwrap_or(1);
        i64::try_from(rng.range((f / 10).max(1), (f * 9 / 10).max(1))).unwrap_or(1)
    };
    let ex = sys.exchange.clone();
    let publisher = tokio::spawn(async move { publish_all(&ex, &first).await });
    let started = Instant::now();
    while sys.count(svc, count_sql).await - base < target && started.elapsed() < phase_timeout() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let stored = sys.count(svc, count_sql).await - base;
    let (gate, opened) = tokio::sync::oneshot::channel::<()>();
    let ex = sys.exchange.clone();
    let rest_publisher = tokio::spawn(async move {
        // A dropped gate (the strike failed) releases the rest too.
        let _ = opened.await;
        publish_all(&ex, &rest).await
    });
    let struck = strike(sys, fault, rng, stored >= total, Some(gate)).await;
    publisher.await??;
    rest_publisher.await??;
    let e = struck?;
    Ok((
        format!(
            "{e}; {stored}/{total} {what} stored at the time; the last {in_rest} published while the fault was in effect"
        ),
        stored < total && in_rest > 0,
    ))
}

/// A phase of published messages: with its fault placed by progress when the fault is in this
/// phase, else published at once and measured until `count_sql` (in service `svc`) reaches `n`
/// more rows.
#[allow(clippy::too_many_arguments)]
pub(super) async fn publish_phase(
    sys: &mut System,
    svc: usize,
    phase: Phase,
    scenario: &Scenario,
    rng: &mut Rng,
    items: Vec<Marked>,
    count_sql: &str,
    what: &str,
    fired: &mut (String, bool),
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    if phase_of(scenario.fault) == Some(phase) {
        *fired =
            publish_across_fault(sys, svc, scenario.fault, rng, items, count_sql, what).await?;
        return Ok(started.elapsed());
    }
    let n = items.iter().filter(|(_, s)| *s).count() as i64;
    let base = sys.count(svc, count_sql).await.max(0);
    let items: Vec<(String, Vec<u8>)> = items.into_iter().map(|(i, _)| i).collect();
    let ex = sys.exchange.clone();
    let publisher = tokio::spawn(async move { publish_all(&ex, &items).await });
    let took = poll_until(sys, svc, count_sql, base + n, started).await;
    publisher.await??;
    Ok(took)
}

/// The invoicing rows of a claim the flow needs: invoice → (claim id, debtor, FIK line).
pub(super) async fn claims_of(
    sys: &System,
) -> anyhow::Result<BTreeMap<String, (String, String, String)>> {
    Ok(rows(
        &sys.conns[INV],
        "SELECT invoice_id, claim_id, debtor_id, ocr_line FROM claims",
    )
    .await?
    .into_iter()
    .filter_map(|r| {
        Some((
            r.try_get_by_index::<String>(0).ok()?,
            (
                r.try_get_by_index::<String>(1).ok()?,
                r.try_get_by_index::<String>(2).ok()?,
                r.try_get_by_index::<String>(3).ok()?,
            ),
        ))
    })
    .collect())
}

pub(super) fn money(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

pub(super) fn item(e: &Value) -> anyhow::Result<(String, Vec<u8>)> {
    Ok((
        e["type"].as_str().unwrap_or_default().to_owned(),
        serde_json::to_vec(e)?,
    ))
}

/// The race: every round of a fee, an interest charge and a part payment of every race claim,
/// interleaved so that the same claim's (and the same debtor's) changes are in flight together.
pub(super) fn race_messages(
    flow: &Flow,
    claims: &BTreeMap<String, (String, String, String)>,
) -> anyhow::Result<Vec<Marked>> {
    let mut out = Vec::new();
    for round in 1..=RACE_ROUNDS {
        for rc in &flow.race {
            let Some((claim_id, debtor, ocr)) = claims.get(&rc.invoice_id) else {
                anyhow::bail!("race claim {} not stored", rc.invoice_id);
            };
            let inv = &rc.invoice_id;
            let fee = envelope(
                "/restance/dunning",
                &format!("race-fee-{inv}-{round}"),
                "dunning.fee.assessed.v1",
                json!({"fee_id":format!("race-fee-{inv}-{round}"),"claim_id":claim_id,
                  "debtor_id":debtor,"municipality":"0746","step":round,"amount":money(RACE_FEE),
                  "currency":"DKK","assessed_date":"2026-12-18","legal_basis":"gebyrloven § 6, stk. 1"}),
            );
            let interest = envelope(
                "/restance/dunning",
                &format!("race-interest-{inv}-{round}"),
                "dunning.interest.assessed.v1",
                json!({"interest_id":format!("race-interest-{inv}-{round}"),"claim_id":claim_id,
                  "debtor_id":debtor,"municipality":"0746","period_from":"2026-12-16",
                  "period_to":"2026-12-18","rate":"1.00","amount":money(RACE_INTEREST),
                  "currency":"DKK","assessed_date":"2026-12-18"}),
            );
            let mut pay = payment(
                &format!("race-pay-msg-{inv}-{round}"),
                &format!("RACE-PAY-{inv}-{round}"),
                &money(RACE_PAYMENT),
                ocr,
            );
            pay["data"]["booking_date"] = json!("2026-12-18");
            out.push((item(&fee)?, true));
            out.push((item(&interest)?, false));
            out.push((item(&pay)?, false));
        }
    }
    Ok(out)
}

/// The guarantees phase, on the business day [`DAY0`](super::DAY0) (guarantee has it): first the
/// amount reductions (stored before any ending, so that the cap is the same in every run), then the
/// changes that end guarantees — with the fault placed by progress when it is this phase's, counted
/// by the recovery cases opened — and the wait until every case is opened, every raised case's
/// claim opened in invoicing and the bank's hold letter sent, and every letter delivered.
///
/// The bank's payment of a raised claim plugs in after this wait: a `bank.payment.received.v1`
/// on the claim's FIK line (`claims_of`), then a wait for the case's settlement.
pub(super) async fn end_guarantees(
    sys: &mut System,
    flow: &Flow,
    scenario: &Scenario,
    rng: &mut Rng,
    fired: &mut (String, bool),
) -> anyhow::Result<Duration> {
    let reductions: Vec<(String, Vec<u8>)> = flow
        .guarantees
        .iter()
        .filter_map(|g| g.reduction.as_ref())
        .map(item)
        .collect::<anyhow::Result<_>>()?;
    let nreduced = i64::try_from(reductions.len()).unwrap_or(0);
    publish_all(&sys.exchange, &reductions).await?;
    wait_until(
        "every guarantee's amount reduction stored",
        sys,
        Until::Guarantees {
            changes: nreduced,
            cases: 0,
        },
    )
    .await?;
    let endings: Vec<Marked> = flow
        .guarantees
        .iter()
        .filter_map(|g| g.ending.as_ref())
        .map(|e| Ok((item(e)?, true)))
        .collect::<anyhow::Result<_>>()?;
    let nended = i64::try_from(endings.len()).unwrap_or(0);
    let took = publish_phase(
        sys,
        GUA,
        Phase::Guarantees,
        scenario,
        rng,
        endings,
        "SELECT COUNT(*) FROM recovery_cases",
        "recovery cases",
        fired,
    )
    .await?;
    wait_until(
        "every ended guarantee's recovery raised or released, and its letters requested",
        sys,
        Until::Guarantees {
            changes: nreduced + nended,
            cases: nended,
        },
    )
    .await?;
    Ok(took)
}
