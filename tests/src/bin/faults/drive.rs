//! One run: the flow, phase by phase, with its fault; then the checks that need the running
//! system.

use crate::check::{self, Outcome, RunResult};
use crate::flow::{Agreement, Flow, RACE_FEE, RACE_INTEREST, RACE_PAYMENT, RACE_ROUNDS, Rng};
use crate::scenarios::{
    AGR, CNS, DUN, Fault, GUA, INV, NOT, Phase, REP, SERVICES, Scenario, phase_of,
};
use crate::strike::strike;
use crate::system::{CASEWORKER, System, publish_all, quiet, rows};
use crate::wait::{Until, day_done, poll_until, wait_until};
use restance_system_tests::{day_opened, envelope, payment};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The days the flow opens: before the first reminder (agreements can date a plan), the first
/// reminder, the second reminder with fee and interest (also the first business day of a
/// quarter: the month-end and quarter-end reports).
pub const DAY0: &str = "2026-12-16";
pub const DAY1: &str = "2026-12-22";
pub const DAY2: &str = "2027-01-05";

/// How long one phase may take before the run fails: 300 s, plus 20 ms per invoice above
/// 5,000 (set from `--invoices` in `main`).
pub static PHASE_TIMEOUT_SECS: AtomicU64 = AtomicU64::new(300);

pub fn phase_timeout() -> Duration {
    Duration::from_secs(PHASE_TIMEOUT_SECS.load(Ordering::Relaxed))
}

/// What the control run measured of the flow: the number of SMS, and how long each phase took.
/// A fault in a dunning day is drawn inside the measured phase (between 5 ms and 80 % of it),
/// so it lands while the phase still runs whatever the flow's size and the build profile.
/// Faults in the ingest, payments, race and agreements phases are placed by progress instead
/// ([`publish_across_fault`], [`make_agreements`]); their phases' lengths are reported only.
#[derive(Clone, Copy, Debug, Default)]
pub struct Calibration {
    pub sms: u64,
    /// From the first invoice published to every claim stored.
    pub ingest: Duration,
    /// From the first payment published to every payment stored.
    pub payments: Duration,
    /// From the first race message published to every fee stored.
    pub race: Duration,
    /// From the first change that ends a guarantee published to every recovery case opened.
    pub guarantees: Duration,
    /// From the first counselling case listed to every case reviewed and its reply delivered.
    pub reviews: Duration,
    /// From the first day opened to dunning's run of it done.
    pub dunning: Duration,
    /// From the first day opened to its letters and SMS delivered.
    pub day: Duration,
    /// From the second day opened to reporting's reports of it published.
    pub reports: Duration,
}

impl Calibration {
    /// A fault's delay in ms: inside `phase` when it was measured, else `lo..=hi`.
    fn delay(phase: Duration, rng: &mut Rng, lo: u64, hi: u64) -> u64 {
        let ms = u64::try_from(phase.as_millis()).unwrap_or(u64::MAX);
        if ms >= 50 {
            rng.range(5, ms * 4 / 5)
        } else {
            rng.range(lo, hi)
        }
    }
}

/// A message to publish (routing key, body), and whether it stores a row the phase counts.
type Marked = ((String, Vec<u8>), bool);

/// Starts the run's system, drives the flow with the scenario's fault, checks, and stops
/// everything; returns the outcome and every replica's log (by service).
pub async fn run_once(
    flow: &Flow,
    scenario: &Scenario,
    run_seed: u64,
    calibration: Option<Calibration>,
) -> (anyhow::Result<(Outcome, RunResult)>, Vec<Vec<String>>) {
    let started = Instant::now();
    let mut rng = Rng(run_seed);
    let n = flow.invoices.len();
    let crash = match scenario.fault {
        Fault::Crash(i, point, hi) => {
            // A batch holds up to a few hundred messages: a small flow passes a commit point
            // only a few times, so the pass is drawn from a range that grows with the flow.
            let hi = if point == "notifications.after_send_email" {
                hi
            } else if point == "notifications.after_send" {
                // The SMS are shared among the replicas: the armed one sends its share.
                let share = calibration.map_or(hi, |c| c.sms / crate::system::replicas() as u64);
                share.clamp(1, hi)
            } else if point.starts_with("dunning.run.") {
                hi
            } else {
                (n as u64 / 100).clamp(3, hi)
            };
            Some((i, format!("{point}:{}", rng.range(1, hi.max(1)))))
        }
        Fault::RelayCrash => {
            let svc = usize::try_from(rng.range(0, 1)).unwrap_or(0);
            Some((svc, format!("relay.after_publish:{}", rng.range(1, 4))))
        }
        _ => None,
    };
    let mut sys = match System::start(crash.clone()).await {
        Ok(sys) => sys,
        Err(e) => return (Err(e), Vec::new()),
    };
    let calibration = calibration.unwrap_or_default();
    let driven = drive(
        &mut sys,
        flow,
        scenario,
        &mut rng,
        crash.as_ref(),
        &calibration,
    )
    .await;
    let restarts = sys.restarts;
    // Always stopped and cleaned up (databases, queues, documents), also after a failed run.
    let logs = sys.stop().await;
    let (outcome, mut result) = match driven {
        Ok(x) => x,
        Err(e) => return (Err(e), logs),
    };
    for (i, replicas) in logs.iter().enumerate() {
        for (r, log) in replicas.iter().enumerate() {
            for hit in crate::flow::personal_data_hits(log, flow) {
                result.violations.push(format!(
                    "{} replica {r}'s log holds personal data: {hit}",
                    SERVICES[i]
                ));
            }
        }
    }
    if !result.evidence.is_empty() {
        result.evidence = format!("{}; restarts {:?}", result.evidence, restarts);
    }
    result.elapsed = started.elapsed();
    (Ok((outcome, result)), logs)
}

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
async fn publish_phase(
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
async fn claims_of(sys: &System) -> anyhow::Result<BTreeMap<String, (String, String, String)>> {
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

fn money(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

fn item(e: &Value) -> anyhow::Result<(String, Vec<u8>)> {
    Ok((
        e["type"].as_str().unwrap_or_default().to_owned(),
        serde_json::to_vec(e)?,
    ))
}

/// The race: every round of a fee, an interest charge and a part payment of every race claim,
/// interleaved so that the same claim's (and the same debtor's) changes are in flight together.
fn race_messages(
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

/// A caseworker's request to agreements' API for one debtor.
fn agreement_request(kind: Agreement, debtor: &str, claim_ids: &[String]) -> (&'static str, Value) {
    match kind {
        Agreement::Plan => (
            "/api/v1/plans",
            json!({"municipality":"0746","debtor_id":debtor,"claim_ids":claim_ids,
                "number_of_instalments":2,"frequency":"monthly","first_due_date":"2027-01-04"}),
        ),
        Agreement::Deferral => (
            "/api/v1/deferrals",
            json!({"municipality":"0746","debtor_id":debtor,"claim_ids":claim_ids,
                "reason":"acute_social","until":"2027-01-29","note":"fault suite"}),
        ),
        Agreement::Meeting => (
            "/api/v1/meetings",
            json!({"municipality":"0746","debtor_id":debtor,"claim_ids":claim_ids,
                "at":"2027-01-06T08:00:00Z","office":"main","with_social_caseworker":false}),
        ),
    }
}

/// Whether agreements already holds the debtor's agreement (a caseworker looks before trying
/// again after an answer that never came).
async fn agreement_made(sys: &System, kind: Agreement, debtor: &str) -> bool {
    let table = match kind {
        Agreement::Plan => "plans",
        Agreement::Deferral => "deferrals",
        Agreement::Meeting => "meetings",
    };
    sys.count(
        AGR,
        &format!("SELECT COUNT(*) FROM {table} WHERE debtor_id = '{debtor}'"),
    )
    .await
        > 0
}

/// Makes one agreement through any replica, as a caseworker's browser behind a load balancer
/// would: a replica that does not answer is tried again through the next one, after looking
/// whether the first did it after all.
async fn make_agreement(
    sys: &mut System,
    http: &reqwest::Client,
    k: usize,
    kind: Agreement,
    debtor: &str,
    claim_ids: &[String],
) -> anyhow::Result<()> {
    let (path, body) = agreement_request(kind, debtor, claim_ids);
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut attempt = 0;
    loop {
        let replicas = sys.procs[AGR].len();
        let url = format!(
            "{}{path}",
            sys.procs[AGR][(k + attempt) % replicas].base_url
        );
        attempt += 1;
        let sent = http
            .post(url)
            .bearer_auth(CASEWORKER)
            .json(&body)
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        match sent {
            Ok(r) if r.status().as_u16() == 201 => return Ok(()),
            // 429: over the API's rate for this token — wait as told and send it again
            Ok(r) if r.status().is_client_error() && r.status().as_u16() != 429 => {
                let status = r.status();
                let text = r.text().await.unwrap_or_default();
                anyhow::bail!("agreements refused a {kind:?} for {debtor}: {status} {text}");
            }
            _ => {
                anyhow::ensure!(
                    Instant::now() < deadline,
                    "agreements did not make a {kind:?} for {debtor} within 90 s"
                );
                tokio::time::sleep(Duration::from_millis(300)).await;
                sys.supervise().await?;
                if agreement_made(sys, kind, debtor).await {
                    return Ok(());
                }
            }
        }
    }
}

/// The agreements phase: every agreement of the flow, made through the replicas in turn. A
/// fault in this phase strikes after a seeded 20–60 % of them; the rest are made while it is in
/// effect.
async fn make_agreements(
    sys: &mut System,
    flow: &Flow,
    scenario: &Scenario,
    rng: &mut Rng,
) -> anyhow::Result<Option<(String, bool)>> {
    let claims = claims_of(sys).await?;
    let http = reqwest::Client::new();
    let total = flow.agreements.len();
    let strike_at = (phase_of(scenario.fault) == Some(Phase::Agreements)).then(|| {
        let t = total as u64;
        usize::try_from(rng.range((t / 5).max(1), (t * 3 / 5).max(1))).unwrap_or(1)
    });
    let mut fired = None;
    for (k, (debtor, kind)) in flow.agreements.iter().enumerate() {
        if strike_at == Some(k) {
            let e = strike(sys, scenario.fault, rng, false, None).await?;
            fired = Some((
                format!("{e}; {k}/{total} agreements made at the time"),
                true,
            ));
        }
        let claim_ids: Vec<String> = flow.invoices_of[debtor]
            .iter()
            .filter_map(|i| claims.get(i).map(|c| c.0.clone()))
            .collect();
        make_agreement(sys, &http, k, *kind, debtor, &claim_ids).await?;
    }
    Ok(fired)
}

/// The debt-counselling cases a caseworker has still to review: `GET /api/v1/cases?phase=review`
/// through any replica (the next one when one does not answer), at most 500 a time.
async fn cases_in_review(
    sys: &mut System,
    http: &reqwest::Client,
    k: usize,
) -> anyhow::Result<Vec<String>> {
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut attempt = 0;
    loop {
        let replicas = sys.procs[CNS].len();
        let url = format!(
            "{}/api/v1/cases?phase=review",
            sys.procs[CNS][(k + attempt) % replicas].base_url
        );
        attempt += 1;
        let answer = http
            .get(url)
            .bearer_auth(CASEWORKER)
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        match answer {
            Ok(r) if r.status().is_success() => {
                let list: Value = r.json().await?;
                return Ok(list["cases"]
                    .as_array()
                    .map(|cs| {
                        cs.iter()
                            .filter_map(|c| c["case_id"].as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default());
            }
            Ok(r) if r.status().is_client_error() && r.status().as_u16() != 429 => {
                let status = r.status();
                let text = r.text().await.unwrap_or_default();
                anyhow::bail!("counselling refused the list of cases in review: {status} {text}");
            }
            _ => {
                anyhow::ensure!(
                    Instant::now() < deadline,
                    "counselling did not list the cases in review within 90 s"
                );
                tokio::time::sleep(Duration::from_millis(300)).await;
                sys.supervise().await?;
            }
        }
    }
}

/// Reviews one case as suitable through any replica, as a caseworker's browser behind a load
/// balancer would: a replica that does not answer is tried again through the next one. A review
/// whose answer never came may have been made: the next try's 409 "reviewed already" says so,
/// and the review is done.
async fn review_case(
    sys: &mut System,
    http: &reqwest::Client,
    k: usize,
    case_id: &str,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut attempt = 0;
    loop {
        let replicas = sys.procs[CNS].len();
        let url = format!(
            "{}/api/v1/cases/{case_id}/review",
            sys.procs[CNS][(k + attempt) % replicas].base_url
        );
        attempt += 1;
        let sent = http
            .post(url)
            .bearer_auth(CASEWORKER)
            .json(&json!({"decision":"suitable"}))
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        match sent {
            Ok(r) if r.status().as_u16() == 200 => return Ok(()),
            Ok(r) if r.status().as_u16() == 409 => {
                let text = r.text().await.unwrap_or_default();
                if attempt > 1 && text.contains("reviewed already") {
                    return Ok(());
                }
                anyhow::bail!("counselling refused the review of {case_id}: 409 {text}");
            }
            // 429: over the API's rate for this token — wait and send it again
            Ok(r) if r.status().is_client_error() && r.status().as_u16() != 429 => {
                let status = r.status();
                let text = r.text().await.unwrap_or_default();
                anyhow::bail!("counselling refused the review of {case_id}: {status} {text}");
            }
            _ => {
                anyhow::ensure!(
                    Instant::now() < deadline,
                    "counselling did not review {case_id} within 90 s"
                );
                tokio::time::sleep(Duration::from_millis(300)).await;
                sys.supervise().await?;
            }
        }
    }
}

/// The reviews phase: every debt-counselling case still in review, found by listing them, is
/// reviewed as suitable through the replicas in turn. A fault in this phase strikes after a
/// seeded 20–60 % of them; the rest are reviewed while it is in effect.
async fn review_cases(
    sys: &mut System,
    flow: &Flow,
    scenario: &Scenario,
    rng: &mut Rng,
) -> anyhow::Result<Option<(String, bool)>> {
    let http = reqwest::Client::new();
    let total = flow.applications.len();
    let strike_at = (phase_of(scenario.fault) == Some(Phase::Reviews)).then(|| {
        let t = total as u64;
        usize::try_from(rng.range((t / 5).max(1), (t * 3 / 5).max(1))).unwrap_or(1)
    });
    let mut fired = None;
    let mut k = 0;
    loop {
        let listed = cases_in_review(sys, &http, k).await?;
        if listed.is_empty() {
            break;
        }
        for case_id in listed {
            if strike_at == Some(k) {
                let e = strike(sys, scenario.fault, rng, false, None).await?;
                fired = Some((format!("{e}; {k}/{total} cases reviewed at the time"), true));
            }
            review_case(sys, &http, k, &case_id).await?;
            k += 1;
            anyhow::ensure!(
                k <= 2 * total,
                "{k} reviews of {total} cases: the cases in review do not become fewer"
            );
        }
    }
    Ok(fired)
}

/// The guarantees phase, on the business day [`DAY0`] (guarantee has it): first the amount
/// reductions (stored before any ending, so that the cap is the same in every run), then the
/// changes that end guarantees — with the fault placed by progress when it is this phase's,
/// counted by the recovery cases opened — and the wait until every case is opened, every
/// raised case's claim opened in invoicing and the bank's hold letter sent, and every letter
/// delivered.
///
/// The bank's payment of a raised claim plugs in after this wait: a `bank.payment.received.v1`
/// on the claim's FIK line (`claims_of`), then a wait for the case's settlement.
async fn end_guarantees(
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

/// The flow with its fault, then the checks that need the running system.
#[allow(clippy::too_many_lines)] // the flow, phase by phase
async fn drive(
    sys: &mut System,
    flow: &Flow,
    scenario: &Scenario,
    rng: &mut Rng,
    crash: Option<&(usize, String)>,
    calibration: &Calibration,
) -> anyhow::Result<(Outcome, RunResult)> {
    let n = flow.invoices.len();
    let mut phases = Calibration::default();
    let exchange = sys.exchange.clone();
    let fault_phase = phase_of(scenario.fault);
    let mut fired = (
        crash
            .map(|(i, spec)| {
                format!(
                    "{} replica 0 armed with RESTANCE_CRASH_AT={spec}",
                    SERVICES[*i]
                )
            })
            .unwrap_or_default(),
        matches!(scenario.fault, Fault::None),
    );

    // Phase 1: invoices (the race claims' too) with the hostile messages mixed in at seeded
    // positions.
    let mut items: Vec<Marked> = flow
        .invoices
        .iter()
        .map(|e| Ok((item(e)?, true)))
        .collect::<anyhow::Result<_>>()?;
    for h in &flow.hostile {
        let at = usize::try_from(rng.range(0, items.len() as u64)).unwrap_or(0);
        items.insert(at, ((h.routing_key.clone(), h.body.clone()), false));
    }
    // The guarantees' registrations and the benefits paid, at seeded positions too: a benefit
    // may arrive before its guarantee (guarantee classifies it again when the guarantee comes).
    for e in flow
        .guarantees
        .iter()
        .map(|g| &g.registration)
        .chain(flow.benefits.iter().map(|b| &b.message))
    {
        let at = usize::try_from(rng.range(0, items.len() as u64)).unwrap_or(0);
        items.insert(at, (item(e)?, false));
    }
    // The debt-counselling applications and the copy of one, at seeded positions too.
    for e in flow
        .applications
        .iter()
        .map(|a| &a.message)
        .chain([&flow.duplicate_application])
    {
        let at = usize::try_from(rng.range(0, items.len() as u64)).unwrap_or(0);
        items.insert(at, (item(e)?, false));
    }
    let debtors: BTreeSet<&str> = flow
        .invoices
        .iter()
        .filter_map(|e| e["data"]["debtor"]["id"].as_str())
        .collect();
    let n_i64 = i64::try_from(n).unwrap_or(0);
    let ndebtors = i64::try_from(debtors.len()).unwrap_or(0);
    phases.ingest = publish_phase(
        sys,
        INV,
        Phase::Ingest,
        scenario,
        rng,
        items,
        "SELECT COUNT(*) FROM claims",
        "claims",
        &mut fired,
    )
    .await?;
    wait_until(
        "every invoice stored by every service",
        sys,
        Until::Stored {
            n: n_i64,
            debtors: ndebtors,
            guarantees: i64::try_from(flow.guarantees.len()).unwrap_or(0),
            benefits: i64::try_from(flow.benefits.len()).unwrap_or(0),
            applications: i64::try_from(flow.applications.len()).unwrap_or(0),
        },
    )
    .await?;

    // Phase 2: payments on the claims' own FIK lines.
    let claims = claims_of(sys).await?;
    let mut payments = Vec::new();
    let mut sent_minor = 0i64;
    for (invoice_id, share) in &flow.pay_share {
        if *share == 0 {
            continue;
        }
        let amount = flow.amounts[invoice_id];
        let paid = match share {
            100 => amount,
            101 => amount + 5000,
            s => amount * i64::try_from(*s).unwrap_or(50) / 100,
        };
        sent_minor += paid;
        let mut p = payment(
            &format!("pay-{invoice_id}"),
            &format!("PAY-{invoice_id}"),
            &money(paid),
            claims
                .get(invoice_id)
                .map(|c| c.2.as_str())
                .unwrap_or_default(),
        );
        p["data"]["booking_date"] = json!("2026-12-18");
        payments.push((item(&p)?, true));
    }
    let npay = i64::try_from(payments.len()).unwrap_or(0);
    phases.payments = publish_phase(
        sys,
        INV,
        Phase::Payments,
        scenario,
        rng,
        payments,
        "SELECT COUNT(*) FROM payments",
        "payments",
        &mut fired,
    )
    .await?;
    wait_until(
        "every payment applied",
        sys,
        Until::Payments { n: npay, fees: 0 },
    )
    .await?;

    // Phase 3: the race — fees, interest and part payments on the same claims at once.
    let race = race_messages(flow, &claims)?;
    let race_fees = i64::try_from(flow.race.len() * RACE_ROUNDS).unwrap_or(0);
    sent_minor += race_fees * RACE_PAYMENT;
    phases.race = publish_phase(
        sys,
        INV,
        Phase::Race,
        scenario,
        rng,
        race,
        "SELECT COUNT(*) FROM fees",
        "race fees",
        &mut fired,
    )
    .await?;
    wait_until(
        "every fee, interest charge and payment of the race applied",
        sys,
        Until::Payments {
            n: npay + race_fees,
            fees: race_fees,
        },
    )
    .await?;

    // Phase 4: a business day before the first reminder; the changes that end guarantees
    // (recovery raised on that day); then caseworkers' agreements; then the review of every
    // debt-counselling case.
    publish_all(&exchange, &[item(&day_opened(DAY0))?]).await?;
    wait_until(
        &format!("the day {DAY0} done"),
        sys,
        Until::Day(DAY0.into()),
    )
    .await?;
    phases.guarantees = end_guarantees(sys, flow, scenario, rng, &mut fired).await?;
    if let Some(f) = make_agreements(sys, flow, scenario, rng).await? {
        fired = f;
    }
    wait_until(
        "every agreement made and its letters and SMS delivered",
        sys,
        Until::Agreements(i64::try_from(flow.agreements.len()).unwrap_or(0)),
    )
    .await?;
    let reviews_started = Instant::now();
    if let Some(f) = review_cases(sys, flow, scenario, rng).await? {
        fired = f;
    }
    wait_until(
        "every counselling case reviewed and its reply delivered",
        sys,
        Until::Replies,
    )
    .await?;
    phases.reviews = reviews_started.elapsed();

    // Phase 5: two dunning days; the second is also the month-end and quarter-end reports'.
    for (day, phase) in [(DAY1, Phase::Day1), (DAY2, Phase::Day2)] {
        let phase_started = Instant::now();
        publish_all(&exchange, &[item(&day_opened(day))?]).await?;
        let [dun_done, _, rep_done] = day_done(day);
        if fault_phase == Some(phase) {
            // Dunning's run takes about 1 ms per claim in a debug build, the letters about 10 ms.
            let delay = match scenario.fault {
                Fault::Kill9(DUN, _) | Fault::Rolling(DUN, _) | Fault::CutReplica(DUN, _) => {
                    Calibration::delay(calibration.dunning, rng, 5, 20 + (n as u64) / 4)
                }
                Fault::Kill9(NOT, _) | Fault::Rolling(NOT, _) => {
                    Calibration::delay(calibration.day, rng, 50, 100 + (n as u64))
                }
                Fault::Kill9(REP, _) => Calibration::delay(calibration.reports, rng, 5, 500),
                _ => Calibration::delay(calibration.day, rng, 5, 20 + (n as u64) / 4),
            };
            tokio::time::sleep(Duration::from_millis(delay)).await;
            let dunning_done = sys.count(DUN, &dun_done).await == 1;
            let reports_done = sys.count(REP, &rep_done).await == 1;
            let letters_done = quiet(sys).await && dunning_done;
            // The phase the fault is about: dunning's run, the reports, or the day's deliveries.
            let finished = match scenario.fault {
                Fault::Kill9(DUN, _) | Fault::Rolling(DUN, _) | Fault::CutReplica(DUN, _) => {
                    dunning_done
                }
                Fault::Kill9(REP, _) => reports_done,
                _ => letters_done,
            };
            let e = strike(sys, scenario.fault, rng, finished, None).await?;
            let unfinished = !finished;
            fired = (
                format!(
                    "{e}; at the time dunning's run was done: {dunning_done}, the reports: {reports_done}"
                ),
                unfinished,
            );
        } else if phase == Phase::Day1 {
            // Measure when dunning's run of the day is done (the control run's calibration).
            phases.dunning = poll_until(sys, DUN, &dun_done, 1, phase_started).await;
        } else {
            phases.reports = poll_until(sys, REP, &rep_done, 1, phase_started).await;
        }
        wait_until(
            &format!("the day {day} done and delivered"),
            sys,
            Until::Day(day.to_owned()),
        )
        .await?;
        if phase == Phase::Day1 {
            phases.day = phase_started.elapsed();
        }
    }
    // Let late republished copies arrive before reading the bus.
    tokio::time::sleep(Duration::from_millis(500)).await;
    sys.supervise().await?;
    let (mut evidence, mut did_fire) = fired;
    if crash.is_some() {
        did_fire = sys.crashed.iter().any(|c| *c);
        let who: Vec<&str> = (0..SERVICES.len())
            .filter(|i| sys.crashed[*i])
            .map(|i| SERVICES[i])
            .collect();
        evidence = format!(
            "{evidence}; aborted at the crash point: {}",
            if who.is_empty() {
                "no (the pass was never reached)".to_owned()
            } else {
                who.join(", ")
            }
        );
    }

    // The checker.
    let mut result = RunResult {
        evidence,
        email_window: matches!(
            scenario.fault,
            Fault::Crash(_, "notifications.after_send_email", _)
        ),
        fired: did_fire,
        phases,
        ..Default::default()
    };
    let outcome = check::collect(sys).await?;
    check::check_absolute(sys, flow, &outcome, sent_minor, &mut result).await?;
    check::check_expected(sys, flow, &outcome, &mut result).await?;
    if !sys.all_ready().await {
        result
            .violations
            .push("a replica is not ready at the end".into());
    }
    Ok((outcome, result))
}
