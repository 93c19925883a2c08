//! One run: the flow, phase by phase, with its fault; then the checks that need the running
//! system.

use crate::check::{self, Outcome, RunResult};
use crate::flow::{Flow, RACE_PAYMENT, RACE_ROUNDS, Rng};
use crate::scenarios::{DUN, Fault, INV, NOT, Phase, REP, SERVICES, Scenario, phase_of};
use crate::strike::strike;
use crate::system::{System, publish_all, quiet};
use crate::wait::{Until, day_done, poll_until, wait_until};
use restance_system_tests::{day_opened, payment};
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

mod caseworker;
mod publish;

use caseworker::{make_agreements, review_cases};
use publish::{claims_of, end_guarantees, item, money, publish_phase, race_messages};

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
/// ([`publish_across_fault`](publish::publish_across_fault), [`make_agreements`]); their
/// phases' lengths are reported only.
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
