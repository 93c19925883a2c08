//! `just faults`: the fault suite. A seeded flow runs through every service of the collection
//! loop — `restance-invoicing`, `restance-dunning`, `restance-agreements`,
//! `restance-notifications`, `restance-reporting`, `restance-guarantee` and
//! `restance-counselling`, seven services each with `--replicas` processes on one queue and one
//! PostgreSQL database, as production runs them — on the real RabbitMQ, the fake SMS gateway and the SMTP test server, while one fault
//! strikes at a seeded random point:
//!
//! 1. N upstream invoices (with the bad-input campaign mixed in), and among them
//!    G = max(4, N/25) family-reunification guarantees of Skanderborg (their guarantors and
//!    spouses people of their own) and the benefits paid — to spouses in time and time-barred,
//!    under another law, before the registration or after the ending, to residents, and to
//!    people without a guarantee; and C = max(3, N/50) applications for debt counselling in
//!    Kristiansand (4204) from the web form (applicants with a fødselsnummer of their own and
//!    income reported, no debtors of the invoices), one of them sent twice under another
//!    message id;
//! 2. payments for most of the invoices;
//! 3. the race: fees, interest charges and part payments on the same claims at the same time;
//! 4. a business day; on it the changes that end most guarantees (divorce, moving away, death,
//!    the binding period's end; one amount reduced first), each raising recovery — a claim for
//!    the guarantor in invoicing, the guarantor's notice and the bank's hold-and-pay letter
//!    once invoicing has given the claim its payment reference — or, with nothing recoverable,
//!    releasing the guarantee with the bank's release letter; then caseworkers' plans,
//!    deferrals and meetings over agreements' API; then a caseworker lists the counselling
//!    cases in review over counselling's API and reviews each as suitable (a review retried
//!    after a fault that answers 409 "reviewed already" was made);
//! 5. two dunning days whose reminders become letters and SMS; the second also brings the
//!    meetings' SMS reminders and the month-end and quarter-end reports with their e-mails.
//!
//! After every run an invariant checker reads all seven databases, the fake SMS gateway and the
//! SMTP server (the third parties), an audit queue on the bus and every dead-letter queue:
//!
//! - what the flow's own inputs say it must produce (`check::check_expected`), in every run
//!   including the control: the race claims' exact balances; each agreement once, its letters
//!   and SMS once; no reminder or fee for a debtor under an agreement; every other open claim
//!   its first reminder once, no paid claim any; every expected report published, each e-mail
//!   once at the SMTP server by `Message-ID`; each ended guarantee exactly one recovery case,
//!   raised for the amount the flow computes by the service's rule (the spouse's payments under
//!   aktivloven or integrationsloven, paid on or after the registration and before the ending,
//!   within three years on the raise day, capped at the guarantee's amount that day) or
//!   released and closed, none for a guarantee in force; each raised case one
//!   `guarantee.recovery.raised.v1`, one claim in invoicing (category `guarantee`, the
//!   guarantor its debtor, the same amount), the notice and the hold letter, each delivered,
//!   each released one the bank's release letter (requested once by notification id; it waits
//!   in notifications for the guarantor's details, a known gap:
//!   `check::guarantees::check_guarantees`);
//!   every benefit stored once with the classification the flow's inputs call for; each
//!   counselling application exactly one case (the copy none more), each case one
//!   `counselling.case.opened.v1`, in documentation after its review, its `counselling_reply`
//!   requested once and delivered once, and no other counselling letter or SMS;
//! - invariants (`check::check_absolute`): every invoice exactly one claim; each claim's
//!   balance equals its ledger; every payment counted once; dunning's view equals invoicing's;
//!   at most one SMS per notification at the gateway and one event per effect on the bus; the
//!   dead-letter queues hold exactly the hostile messages, each with a reason;
//! - the same outcome as a control run of the same flow without a fault (`check::compare`),
//!   the recovery cases, the benefits' classifications, the guarantee claims and the
//!   counselling cases included;
//! - every replica answers `/readyz` 200 again without a manual step;
//! - no replica's log holds a national id, phone number, address, name or e-mail of the
//!   generated debtors, guarantors and counselling applicants, or a national id of the spouses
//!   and the other benefit recipients.
//!
//! Each run also records evidence that its fault really happened. A run whose fault did not
//! fire is reported as such, never counted as a pass: `--runs R` asks for R runs in which the
//! fault fired, and an unfired run is reported in its own column and replaced by another (at
//! most 3 R attempts; the suite fails when fewer than R fired). An unfired run's lost and
//! doubled effects still count.
//!
//! ```text
//! faults [--invoices N] [--replicas N] [--runs R] [--seed S] [--scenarios a,b,…] [--list]
//!        [--keep-logs DIR] [--without-delivery-reports]
//! ```

// Rates and shares of generated data are floats by nature; money is integer minor units here.
#![allow(clippy::float_arithmetic)]

mod check;
mod drive;
mod flow;
mod scenarios;
mod strike;
mod system;
mod wait;

use drive::{Calibration, PHASE_TIMEOUT_SECS, run_once};
use flow::generate;
use scenarios::{SERVICES, Scenario, scenarios};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use system::{NO_REPORTS, REPLICAS};

/// What the command line asked for.
struct Args {
    invoices: usize,
    runs: usize,
    seed: u64,
    only: Option<Vec<String>>,
    keep_logs: Option<PathBuf>,
}

impl Args {
    /// Parses the arguments; `None` when the command only listed or helped.
    fn parse() -> anyhow::Result<Option<Args>> {
        let mut a = Args {
            invoices: 50_000,
            runs: 20,
            seed: 2026,
            only: None,
            keep_logs: None,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut val = || {
                args.next()
                    .ok_or_else(|| anyhow::anyhow!("{arg} needs a value"))
            };
            match arg.as_str() {
                "--invoices" => a.invoices = val()?.parse()?,
                "--runs" => a.runs = val()?.parse()?,
                "--seed" => a.seed = val()?.parse()?,
                "--replicas" => {
                    let n: usize = val()?.parse()?;
                    anyhow::ensure!((1..=5).contains(&n), "--replicas takes 1 to 5");
                    REPLICAS.store(n, Ordering::Relaxed);
                }
                "--scenarios" => a.only = Some(val()?.split(',').map(str::to_owned).collect()),
                "--keep-logs" => a.keep_logs = Some(PathBuf::from(val()?)),
                "--without-delivery-reports" => {
                    NO_REPORTS.store(true, Ordering::Relaxed);
                }
                "--list" => {
                    for s in scenarios() {
                        println!("{:<28} {}", s.name, s.what);
                    }
                    return Ok(None);
                }
                "--help" | "-h" => {
                    println!(
                        "faults [--invoices N] [--replicas N] [--runs R] [--seed S] [--scenarios a,b] [--keep-logs DIR] [--without-delivery-reports] [--list]"
                    );
                    return Ok(None);
                }
                other => anyhow::bail!("unknown argument {other}; try --help"),
            }
        }
        Ok(Some(a))
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    restance_bus::tls::install_crypto_provider();
    let Some(args) = Args::parse()? else {
        return Ok(());
    };
    let extra = u64::try_from(args.invoices.saturating_sub(5_000)).unwrap_or(u64::MAX) / 50;
    PHASE_TIMEOUT_SECS.store(300u64.saturating_add(extra), Ordering::Relaxed);
    let all = scenarios();
    if let Some(names) = &args.only {
        for n in names {
            anyhow::ensure!(
                all.iter().any(|s| s.name == n),
                "unknown scenario {n}; try --list"
            );
        }
    }
    let chosen: Vec<&Scenario> = all
        .iter()
        .filter(|s| {
            args.only
                .as_ref()
                .is_none_or(|o| o.iter().any(|n| n == s.name))
        })
        .collect();
    let seed = args.seed;
    let tag = format!("f{seed}");
    let flow = generate(seed, args.invoices, &tag)?;
    eprintln!(
        "fault suite: seed {seed}, {} invoices + {} race claims, {} debtors, {} agreements, {} guarantees ({} ended) with {} benefits paid ({} people without a guarantee among the recipients), {} counselling applications (dated {}, one sent twice), {} hostile messages, {} replica(s) of each of the {} services, {} fired run(s) per scenario, {} scenario(s)",
        args.invoices,
        flow.race.len(),
        flow.debtors.len(),
        flow.agreements.len(),
        flow.guarantees.len(),
        flow.guarantees
            .iter()
            .filter(|g| g.ending.is_some())
            .count(),
        flow.benefits.len(),
        flow.strangers.len(),
        flow.applications.len(),
        flow::applied_date(),
        flow.hostile.len(),
        system::replicas(),
        SERVICES.len(),
        args.runs,
        chosen.len()
    );
    let (control, calibration) = control_run(&flow, &all[0], &args).await?;

    println!();
    // `runs` counts runs in which the fault fired: a run whose fault missed its moment proves
    // nothing about that fault, so it is reported apart and another run is made in its place
    // (up to three times `runs` attempts). Its lost and doubled effects still count: without a
    // fault it is a control run, and any loss there is a bug.
    println!(
        "| scenario | fired runs | unfired (not counted) | lost | doubled | other violations | e-mails re-sent, same Message-ID | mean run s |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut failed = false;
    for (si, sc) in chosen.iter().enumerate() {
        let tally = run_scenario(&flow, sc, si, &control, calibration, &args).await;
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {:.1} |",
            sc.name,
            tally.fired,
            tally.unfired,
            tally.lost,
            tally.doubled,
            tally.other,
            tally.resent,
            tally.mean_secs()
        );
        failed |= tally.failed;
        if sc.name != "control" && tally.fired < args.runs {
            eprintln!(
                "  {}: the fault fired in {} of {} runs, short of the {} asked for — {}",
                sc.name,
                tally.fired,
                tally.attempts,
                args.runs,
                if tally.fired == 0 {
                    "this scenario proves nothing"
                } else {
                    "too few to count"
                }
            );
            failed = true;
        }
    }
    println!();
    anyhow::ensure!(
        !failed,
        "the fault suite found lost or doubled effects or broken invariants (see above)"
    );
    println!(
        "every run: 0 lost, 0 doubled, every invariant held, every service ready again, logs clean"
    );
    Ok(())
}

/// The control run: the reference outcome of the flow without a fault, checked against what the
/// flow must produce, and the phase timings a fault is drawn inside.
async fn control_run(
    flow: &flow::Flow,
    control_scenario: &Scenario,
    args: &Args,
) -> anyhow::Result<(check::Outcome, Calibration)> {
    eprintln!("control run …");
    let (control, mut cres, clogs) = match run_once(flow, control_scenario, args.seed, None).await {
        (Ok((o, r)), logs) => (o, r, logs),
        (Err(e), logs) => {
            save_logs(&args.keep_logs, "control", 0, &logs);
            return Err(e.context("the control run (no fault) did not complete"));
        }
    };
    if !cres.violations.is_empty() {
        save_logs(&args.keep_logs, "control", 0, &clogs);
        for v in &cres.violations {
            eprintln!("  control: {v}");
        }
        anyhow::bail!("the control run (no fault) already breaks an invariant");
    }
    let sms_count = u64::try_from(control.sms.len()).unwrap_or(1);
    let calibration = Calibration {
        sms: sms_count,
        ..cres.phases
    };
    eprintln!(
        "  control: {} claims, {} fee(s), {} notification(s), {} SMS, {} letter(s) ready, {} report(s), {} e-mail(s) at the SMTP server, {} recovery case(s) ({} raised), {} counselling case(s) ({} reviewed), {} dead letter(s), {:.1} s",
        control.claims.len(),
        control.fees.values().map(Vec::len).sum::<usize>(),
        control.notifications.len(),
        sms_count,
        control
            .effects
            .keys()
            .filter(|(t, _)| t == "notifications.letter.ready.v1")
            .count(),
        control.reports.len(),
        control.emails.values().sum::<usize>(),
        control.cases.len(),
        control
            .cases
            .values()
            .filter(|(_, state, _)| state == "raised")
            .count(),
        control
            .counselling_cases
            .values()
            .map(Vec::len)
            .sum::<usize>(),
        control
            .counselling_cases
            .values()
            .flatten()
            .filter(|(_, phase)| phase != "review")
            .count(),
        control.dead.values().map(Vec::len).sum::<usize>(),
        cres.elapsed.as_secs_f64()
    );
    eprintln!(
        "  control phases (a fault in a day is drawn inside it): invoices {:.2} s, payments {:.2} s, race {:.2} s, guarantees' endings {:.2} s, counselling's reviews {:.2} s, dunning's run {:.2} s, the day delivered {:.2} s, the reports {:.2} s",
        calibration.ingest.as_secs_f64(),
        calibration.payments.as_secs_f64(),
        calibration.race.as_secs_f64(),
        calibration.guarantees.as_secs_f64(),
        calibration.reviews.as_secs_f64(),
        calibration.dunning.as_secs_f64(),
        calibration.day.as_secs_f64(),
        calibration.reports.as_secs_f64()
    );
    cres.fired = true;
    Ok((control, calibration))
}

/// What one scenario's runs added up to.
#[derive(Default)]
struct Tally {
    fired: usize,
    unfired: usize,
    lost: usize,
    doubled: usize,
    other: usize,
    resent: usize,
    secs: f64,
    attempts: usize,
    failed: bool,
}

impl Tally {
    fn mean_secs(&self) -> f64 {
        if self.attempts > 0 {
            self.secs / self.attempts as f64
        } else {
            0.0
        }
    }
}

/// Runs scenario `sc` (number `si` of the chosen) until its fault fired `args.runs` times (at
/// most three times as many attempts), each run compared with the control's outcome.
async fn run_scenario(
    flow: &flow::Flow,
    sc: &Scenario,
    si: usize,
    control: &check::Outcome,
    calibration: Calibration,
    args: &Args,
) -> Tally {
    let mut t = Tally::default();
    let max_attempts = args.runs.saturating_mul(3);
    while t.fired < args.runs && t.attempts < max_attempts {
        let run = t.attempts;
        t.attempts += 1;
        let run_seed =
            args.seed ^ ((si as u64 + 1) << 32) ^ (run as u64 + 1).wrapping_mul(0x9E37_79B9);
        let (o, mut r, logs) = match run_once(flow, sc, run_seed, Some(calibration)).await {
            (Ok((o, r)), logs) => (o, r, logs),
            (Err(e), logs) => {
                save_logs(&args.keep_logs, sc.name, run, &logs);
                eprintln!("  {} run {run}: the run did not complete: {e:#}", sc.name);
                t.failed = true;
                t.other += 1;
                continue;
            }
        };
        check::compare(control, &o, flow, &mut r);
        t.secs += r.elapsed.as_secs_f64();
        if r.fired {
            t.fired += 1;
        } else {
            t.unfired += 1;
        }
        t.lost += r.lost;
        t.doubled += r.doubled;
        t.resent += r.resent_same_id;
        eprintln!(
            "  {} run {run}: {:.1} s, fired: {}, lost {}, doubled {}, e-mails re-sent with the same Message-ID {}; {}",
            sc.name,
            r.elapsed.as_secs_f64(),
            r.fired,
            r.lost,
            r.doubled,
            r.resent_same_id,
            if r.evidence.is_empty() {
                "-"
            } else {
                &r.evidence
            }
        );
        for v in r.violations.iter().take(10) {
            eprintln!("      {v}");
        }
        if !r.violations.is_empty() {
            t.other += 1;
            t.failed = true;
            save_logs(&args.keep_logs, sc.name, run, &logs);
        }
    }
    t
}

fn save_logs(dir: &Option<PathBuf>, scenario: &str, run: usize, logs: &[Vec<String>]) {
    let Some(dir) = dir else { return };
    let d = dir.join(format!("{scenario}-{run}"));
    if std::fs::create_dir_all(&d).is_ok() {
        for (i, replicas) in logs.iter().enumerate() {
            for (r, l) in replicas.iter().enumerate() {
                let _ = std::fs::write(d.join(format!("{}-{r}.log", SERVICES[i])), l);
            }
        }
        eprintln!("      logs kept in {}", d.display());
    }
}
#[cfg(test)]
mod tests {
    use crate::flow::{Rng, generate, norwegian_national_id, personal_data_hits};
    use restance_kernel::{Country, NationalId, NationalIdKind, PartyKind};

    #[test]
    fn the_applicants_national_ids_are_valid_fodselsnumre_of_the_1900s() {
        let mut rng = Rng(11);
        let mut used = std::collections::HashSet::new();
        for _ in 0..2_000 {
            let s = norwegian_national_id(&mut rng, &mut used);
            let id = NationalId::parse_as(NationalIdKind::Fodselsnummer, &s)
                .unwrap_or_else(|e| panic!("{s}: {e}"));
            assert!(id.is_valid_for(Country::No, PartyKind::Person), "{s}");
            let born = id
                .birth_date()
                .unwrap_or_else(|| panic!("{s}: no birth date"));
            assert_eq!(chrono::Datelike::year(&born) / 100, 19, "{s}");
        }
        assert_eq!(used.len(), 2_000, "each one once");
        let flow = generate(7, 300, "t").expect("flow");
        assert_eq!(flow.applications.len(), 6, "max(3, N/50)");
        assert_eq!(
            flow.duplicate_application["data"], flow.applications[0].message["data"],
            "the copy has the same data"
        );
        assert_ne!(
            flow.duplicate_application["id"], flow.applications[0].message["id"],
            "under another message id"
        );
        assert!(
            crate::flow::applied_date().as_str() <= crate::drive::DAY0,
            "never after the flow's first day"
        );
    }

    #[test]
    fn the_log_scan_finds_every_kind_of_generated_personal_data_and_nothing_else() {
        let flow = generate(7, 60, "t").expect("flow");
        let clean = "2026-12-22T08:00:00Z INFO restance_dunning: run done debtors=40 \
                     claims=60 took_ms=12345678 id=t-D12 reference=+71<000000001234567+12345678<";
        assert_eq!(personal_data_hits(clean, &flow), Vec::<String>::new());
        let d = &flow.debtors[17];
        let nid = &d.national_id;
        let cases = [
            (
                format!("x cpr={nid} y"),
                "a national id or phone number of a generated debtor",
            ),
            (
                format!("x cpr={}-{} y", &nid[..6], &nid[6..]),
                "a national id or phone number of a generated debtor",
            ),
            (
                format!("to=\"{}\"", d.street),
                "a street address of a generated debtor",
            ),
            (
                format!("<{}>", d.email),
                "an e-mail address of a generated debtor",
            ),
            (format!("name={}!", d.name), "a name of a generated debtor"),
            ("Ane Hansen".to_owned(), "the fixtures' personal data"),
            (
                format!("x {} y", flow.guarantees[1].guarantor.national_id),
                "a national id or phone number of a generated debtor",
            ),
            (
                format!("name={}!", flow.guarantees[2].guarantor.name),
                "a name of a generated debtor",
            ),
            (
                format!("spouse {}", flow.guarantees[0].spouse_national_id),
                "a national id or phone number of a generated debtor",
            ),
            (
                format!("to {}", flow.strangers[0]),
                "a national id or phone number of a generated debtor",
            ),
            (
                format!(
                    "applicant fnr={} y",
                    flow.applications[1].applicant.national_id
                ),
                "a national id or phone number of a generated debtor",
            ),
            (
                format!("name={}!", flow.applications[2].applicant.name),
                "a name of a generated debtor",
            ),
        ];
        for (log, kind) in cases {
            assert_eq!(
                personal_data_hits(&log, &flow),
                vec![kind.to_owned()],
                "{log}"
            );
        }
        let phone = flow
            .debtors
            .iter()
            .find_map(|d| d.phone.clone())
            .expect("a debtor with a phone");
        let norwegian = flow.applications[0]
            .applicant
            .phone
            .clone()
            .expect("an applicant's phone");
        for log in [
            format!("sms to {phone}"),
            format!("sms to {}", &phone[3..]),
            format!("sms to {norwegian}"),
            format!("sms to {}", &norwegian[3..]),
        ] {
            assert_eq!(
                personal_data_hits(&log, &flow),
                vec!["a national id or phone number of a generated debtor".to_owned()],
                "{log}"
            );
        }
    }
}
