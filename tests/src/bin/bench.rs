//! `just bench`: every throughput benchmark in one run, one table (not part of CI).
//!
//! First the raw limits of this machine, then the pipelines, each compared with them:
//!
//! - (r1) persistent 1 KiB publishes with confirms into a quorum queue;
//! - (r2) consuming those messages with manual acks (prefetch 1000, a multiple ack every 250);
//! - (r3) PostgreSQL multi-row `INSERT … VALUES` of claim-like rows, 500 per statement and
//!   transaction;
//! - (a) N upstream invoices through `restance-invoicing`: claims stored, `claim.opened`
//!   published — rate / r1 rate, target ≥ 0.5;
//! - (b) dunning's daily run over N overdue claims: decisions, notification requests and
//!   events — run time / the time r1's rate needs for as many messages, target ≤ 2;
//! - (c) letters rendered by `bench-letters` — letters/s, target ≥ 200;
//! - (d) guarantee recovery: G guarantees and B benefits taken in, C recovery cases raised, and
//!   the quarterly statement (`restance-guarantee`) — each phase's message rate / r1's rate;
//! - (e) debt counselling: N applications taken in, N reviews over the API, and a business day
//!   with N open cases whose timers are all due (`restance-counselling`).
//!
//! Every service stays ≤ 150 MiB RSS. Each row also shows the load average and where the CPU
//! went during it (two cores shared by the broker, PostgreSQL, the service and this load
//! generator). A phase that fails (the broker or PostgreSQL restarted by someone else's fault
//! suite) is retried once.
//!
//! `bench [--invoices N] [--claims N] [--letters N] [--guarantees N] [--benefits N] [--cases N]
//! [--raw N] [--quick] [--chunk DEBTORS]`; a count of 0 skips its phase. Needs the release
//! builds of `restance-invoicing`, `restance-dunning`, `restance-guarantee` and `bench-letters`
//! next to this binary (the `just bench` recipe builds them).

// Rates and ratios of measured times are floats by nature; no money is computed here.
#![allow(clippy::float_arithmetic)]

use restance_system_tests::bench::{
    self, CpuMeter, CpuUse, RAW_ACK_EVERY, RAW_PREFETCH, RAW_ROWS_PER_INSERT, RawQueue, load,
};
use std::future::Future;
use std::time::Duration;

const RSS_LIMIT_MIB: f64 = 150.0;
const INGEST_TARGET: f64 = 0.5;
const DUNNING_TARGET: f64 = 2.0;
const LETTERS_TARGET: f64 = 200.0;
/// Marks a figure measured while the broker or PostgreSQL went away (twice in a row).
const DISTURBED: &str = " — ⚠ disturbed: the broker or PostgreSQL went away during the run";

#[derive(Debug)]
struct Options {
    invoices: usize,
    claims: usize,
    letters: usize,
    guarantees: usize,
    benefits: usize,
    cases: usize,
    counselling: usize,
    single: usize,
    raw: usize,
    chunk: Option<String>,
    /// Runs the ingest a second time with OTLP trace export on (to a receiver in this process).
    otlp: bool,
}

const USAGE: &str = "bench [--invoices N] [--claims N] [--letters N] [--guarantees N] [--benefits N] [--cases N] [--counselling N] [--raw N] [--quick] [--chunk DEBTORS] [--otlp]\n\
    defaults: 1000000 invoices, 1000000 claims, 10000 letters, 10000 guarantees, 100000 benefits, 1000 cases, 10000 counselling cases, raw = invoices;\n\
    --otlp: the ingest again with trace export on (RESTANCE__TELEMETRY__OTLP_ENDPOINT to a receiver here), off vs on in one run;\n\
    --quick: 20000 invoices, 20000 claims, 1000 letters, 1000 guarantees, 10000 benefits, 100 cases, 1000 counselling cases; a count of 0 skips its phase";

fn options() -> anyhow::Result<Option<Options>> {
    let mut args = std::env::args().skip(1);
    let (mut invoices, mut claims, mut letters, mut raw) = (None, None, None, None);
    let (mut guarantees, mut benefits, mut cases) = (None, None, None);
    let mut counselling = None;
    let mut quick = false;
    let mut chunk = None;
    let mut otlp = false;
    while let Some(a) = args.next() {
        let mut number = |name: &str| -> anyhow::Result<usize> {
            args.next()
                .and_then(|v| v.replace(['_', ','], "").parse().ok())
                .ok_or_else(|| anyhow::anyhow!("{name} needs a number"))
        };
        match a.as_str() {
            "--invoices" => invoices = Some(number("--invoices")?),
            "--claims" => claims = Some(number("--claims")?),
            "--letters" => letters = Some(number("--letters")?),
            "--raw" => raw = Some(number("--raw")?),
            "--guarantees" => guarantees = Some(number("--guarantees")?),
            "--benefits" => benefits = Some(number("--benefits")?),
            "--cases" => cases = Some(number("--cases")?),
            "--counselling" => counselling = Some(number("--counselling")?),
            "--quick" => quick = true,
            "--otlp" => otlp = true,
            "--chunk" => {
                chunk = Some(
                    args.next()
                        .ok_or_else(|| anyhow::anyhow!("--chunk needs a number"))?,
                );
            }
            "--help" | "-h" => {
                println!("{USAGE}");
                return Ok(None);
            }
            other => anyhow::bail!("unknown argument {other}; try --help"),
        }
    }
    let (di, dc, dl) = if quick {
        (20_000, 20_000, 1_000)
    } else {
        (1_000_000, 1_000_000, 10_000)
    };
    let (dg, db, dk) = if quick {
        (1_000, 10_000, 100)
    } else {
        (10_000, 100_000, 1_000)
    };
    let invoices = invoices.unwrap_or(di);
    let claims = claims.unwrap_or(dc);
    let letters = letters.unwrap_or(dl);
    let raw = raw.unwrap_or(if invoices > 0 {
        invoices
    } else {
        claims.max(20_000)
    });
    anyhow::ensure!(raw > 0, "--raw must be at least 1: every ratio needs it");
    Ok(Some(Options {
        invoices,
        claims,
        letters,
        guarantees: guarantees.unwrap_or(dg),
        benefits: benefits.unwrap_or(db),
        cases: cases.unwrap_or(dk),
        counselling: counselling.unwrap_or(if quick { 1_000 } else { 10_000 }),
        single: letters.min(if quick { 100 } else { 500 }),
        raw,
        chunk,
        otlp,
    }))
}

/// Runs `phase`; if it fails (a broker or database restart by someone else's fault suite, say),
/// once more after a pause.
async fn retried<T, F, Fut>(what: &str, phase: F) -> anyhow::Result<T>
where
    F: Fn() -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    match phase().await {
        Ok(v) => Ok(v),
        Err(e) => {
            eprintln!("{what} failed: {e:#}\nretrying once in 10 s …");
            tokio::time::sleep(Duration::from_secs(10)).await;
            phase().await
        }
    }
}

struct Row {
    measure: String,
    count: u64,
    secs: f64,
    ratio: String,
    target: String,
    rss: String,
    load: String,
    cpu: Option<CpuUse>,
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn rss_cell(kib: u64) -> String {
    let m = mib(kib);
    format!("{m:.1} MiB {}", if m <= RSS_LIMIT_MIB { "✓" } else { "✗" })
}

fn cpu_cell(c: Option<CpuUse>) -> String {
    match c {
        Some(c) => format!(
            "{:.1} / {:.1} / {:.1} / {:.1} / {:.1} / {:.1}",
            c.broker, c.postgres, c.service, c.bench, c.other, c.idle
        ),
        None => "—".to_owned(),
    }
}

fn check(ok: bool) -> &'static str {
    if ok { "✓" } else { "✗" }
}

#[allow(clippy::too_many_lines)] // the measurements in the order the report lists them
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    restance_bus::tls::install_crypto_provider();
    let Some(o) = options()? else {
        return Ok(());
    };
    eprintln!(
        "bench: raw {} messages and rows, {} invoices, {} overdue claims, {} letters (load {})",
        o.raw,
        o.invoices,
        o.claims,
        o.letters,
        load()
    );
    let mut rows: Vec<Row> = Vec::new();
    let mut short: Vec<String> = Vec::new();

    // (r1) + (r2): publish into a quorum queue, then consume the same messages.
    eprintln!(
        "(r1) raw: {} × 1 KiB persistent, confirmed, into a quorum queue …",
        o.raw
    );
    let raw = o.raw;
    let (r1, r2) = retried("the raw broker measurement", || async move {
        let q = RawQueue::declare().await?;
        let result = async {
            let cpu = CpuMeter::start(None);
            let secs = q.publish(raw).await?;
            let r1 = (secs, load(), cpu.stop());
            eprintln!(
                "(r2) raw: consuming them, manual acks, prefetch {RAW_PREFETCH}, multiple ack every {RAW_ACK_EVERY} …"
            );
            let cpu = CpuMeter::start(None);
            let secs = q.consume(raw).await?;
            anyhow::Ok((r1, (secs, load(), cpu.stop())))
        }
        .await;
        q.delete().await;
        result
    })
    .await?;
    let raw_rate = raw as f64 / r1.0;
    rows.push(Row {
        measure: "(r1) raw confirmed publish, 1 KiB persistent, quorum queue, 1000 unconfirmed"
            .into(),
        count: raw as u64,
        secs: r1.0,
        ratio: "1.00".into(),
        target: "—".into(),
        rss: "—".into(),
        load: r1.1,
        cpu: Some(r1.2),
    });
    rows.push(Row {
        measure: format!(
            "(r2) raw consume of r1's messages, manual acks (prefetch {RAW_PREFETCH}, multiple ack every {RAW_ACK_EVERY})"
        ),
        count: raw as u64,
        secs: r2.0,
        ratio: format!("{:.2}", (raw as f64 / r2.0) / raw_rate),
        target: "—".into(),
        rss: "—".into(),
        load: r2.1,
        cpu: Some(r2.2),
    });

    // (r3) PostgreSQL.
    eprintln!(
        "(r3) raw: {raw} claim-like rows into PostgreSQL, {RAW_ROWS_PER_INSERT} per INSERT and transaction …"
    );
    let r3 = retried("the raw PostgreSQL measurement", || async move {
        let (secs, cpu) = bench::raw_insert(raw).await?;
        anyhow::Ok((secs, load(), cpu))
    })
    .await?;
    rows.push(Row {
        measure: format!(
            "(r3) raw PostgreSQL multi-row INSERT, {RAW_ROWS_PER_INSERT} rows per statement and transaction"
        ),
        count: raw as u64,
        secs: r3.0,
        ratio: "—".into(),
        target: "—".into(),
        rss: "—".into(),
        load: r3.1,
        cpu: Some(r3.2),
    });

    // Personal data found in a log (none expected): fails the benchmark.
    let mut leaks: Vec<String> = Vec::new();

    // (a) ingest.
    if o.invoices > 0 {
        let n = o.invoices;
        eprintln!("(a) {n} invoices → restance-invoicing → claims + claim.opened …");
        let mut run = retried("the ingest pipeline", || bench::ingest(n)).await?;
        if run.disturbed {
            eprintln!("the broker or PostgreSQL went away during the run; running it again …");
            run = retried("the ingest pipeline", || bench::ingest(n)).await?;
        }
        leaks.extend(leaked("restance-invoicing's log", &run.personal_data));
        let ratio = (n as f64 / run.secs) / raw_rate;
        if ratio < INGEST_TARGET {
            short.push(format!("(a) ingest ratio {ratio:.2} < {INGEST_TARGET:.2}"));
        }
        if mib(run.rss_kib) > RSS_LIMIT_MIB {
            short.push(format!(
                "(a) restance-invoicing {:.1} MiB RSS",
                mib(run.rss_kib)
            ));
        }
        rows.push(Row {
            measure: format!(
                "(a) invoices → claims stored + claim.opened published (restance-invoicing){}",
                if run.disturbed { DISTURBED } else { "" }
            ),
            count: n as u64,
            secs: run.secs,
            ratio: format!("{ratio:.2} (rate / r1)"),
            target: format!("≥ {INGEST_TARGET:.2} {}", check(ratio >= INGEST_TARGET)),
            rss: rss_cell(run.rss_kib),
            load: load(),
            cpu: Some(run.cpu),
        });
    }

    // (a2) the same ingest with trace export on: what tracing costs when it exports (off
    // above: ids propagate and log, nothing is exported).
    if o.invoices > 0 && o.otlp {
        let n = o.invoices;
        let receiver = restance_system_tests::otlp::OtlpReceiver::start().await?;
        eprintln!(
            "(a2) {n} invoices again, spans exported over OTLP to {} …",
            receiver.endpoint
        );
        let endpoint = receiver.endpoint.clone();
        let run = retried("the ingest pipeline with OTLP export", || {
            let endpoint = endpoint.clone();
            async move {
                let env = [("RESTANCE__TELEMETRY__OTLP_ENDPOINT", endpoint.as_str())];
                bench::ingest_with(n, &env).await
            }
        })
        .await?;
        leaks.extend(leaked("restance-invoicing's log", &run.personal_data));
        let ratio = (n as f64 / run.secs) / raw_rate;
        eprintln!("  {} spans received", receiver.spans().len());
        rows.push(Row {
            measure: format!(
                "(a2) the same with OTLP trace export on{}",
                if run.disturbed { DISTURBED } else { "" }
            ),
            count: n as u64,
            secs: run.secs,
            ratio: format!("{ratio:.2} (rate / r1)"),
            target: "—".into(),
            rss: rss_cell(run.rss_kib),
            load: load(),
            cpu: Some(run.cpu),
        });
    }

    // (b) dunning's daily run.
    if o.claims > 0 {
        let n = o.claims;
        eprintln!("(b) dunning's daily run over {n} overdue claims …");
        let chunk = o.chunk.clone();
        let attempt = || {
            let chunk = chunk.clone();
            async move { bench::dunning(n, chunk.as_deref()).await }
        };
        let mut run = retried("the dunning run", attempt).await?;
        if run.disturbed {
            eprintln!("the broker or PostgreSQL went away during the run; running it again …");
            run = retried("the dunning run", attempt).await?;
        }
        leaks.extend(leaked("restance-dunning's log", &run.personal_data));
        let raw_secs = run.published as f64 / raw_rate;
        let ratio = run.secs / raw_secs;
        if ratio > DUNNING_TARGET {
            short.push(format!(
                "(b) dunning run {ratio:.2} × raw publish time > {DUNNING_TARGET:.0}"
            ));
        }
        if mib(run.rss_kib) > RSS_LIMIT_MIB {
            short.push(format!(
                "(b) restance-dunning {:.1} MiB RSS",
                mib(run.rss_kib)
            ));
        }
        rows.push(Row {
            measure: format!(
                "(b) dunning's daily run: {n} overdue claims → {} decisions, {} messages published incl. {n} notification requests (restance-dunning; all decided after {:.1} s){}",
                run.decisions,
                run.published,
                run.decided_secs,
                if run.disturbed { DISTURBED } else { "" }
            ),
            count: run.published,
            secs: run.secs,
            ratio: format!("{ratio:.2} (time / {raw_secs:.1} s at r1's rate)"),
            target: format!("≤ {DUNNING_TARGET:.2} {}", check(ratio <= DUNNING_TARGET)),
            rss: rss_cell(run.rss_kib),
            load: load(),
            cpu: Some(run.cpu),
        });
    }

    // (c) letters.
    if o.letters > 0 {
        let (n, single) = (o.letters, o.single);
        eprintln!("(c) {n} letters rendered by bench-letters …");
        let run = retried("the letters benchmark", || bench::letters(n, single)).await?;
        leaks.extend(leaked("bench-letters' output", &run.personal_data));
        if run.rate < LETTERS_TARGET {
            short.push(format!(
                "(c) {:.1} letters/s < {LETTERS_TARGET:.0}",
                run.rate
            ));
        }
        if mib(run.rss_kib) > RSS_LIMIT_MIB {
            short.push(format!("(c) bench-letters {:.1} MiB RSS", mib(run.rss_kib)));
        }
        rows.push(Row {
            measure: format!(
                "(c) reminder_1 letters rendered to PDF and written (bench-letters, {} threads; 1 thread: {:.1}/s)",
                run.threads, run.single_rate
            ),
            count: run.letters as u64,
            secs: run.secs,
            ratio: format!("{:.2} (rate / {LETTERS_TARGET:.0})", run.rate / LETTERS_TARGET),
            target: format!("≥ {LETTERS_TARGET:.0}/s {}", check(run.rate >= LETTERS_TARGET)),
            rss: rss_cell(run.rss_kib),
            load: load(),
            cpu: Some(run.cpu),
        });
    }

    // (d) guarantee recovery.
    if o.guarantees > 0 || o.benefits > 0 {
        let (g, b, k) = (o.guarantees, o.benefits, o.cases);
        eprintln!("(d) {g} guarantees, {b} benefits, {k} cases → restance-guarantee …");
        let mut run = retried("the guarantee benchmark", || bench::guarantee(g, b, k)).await?;
        if run.disturbed {
            eprintln!("the broker or PostgreSQL went away during the run; running it again …");
            run = retried("the guarantee benchmark", || bench::guarantee(g, b, k)).await?;
        }
        if !run.personal_data.is_empty() {
            leaks.push(format!(
                "restance-guarantee's log holds {} national id(s) of the generated data",
                run.personal_data.len()
            ));
        }
        if mib(run.rss_kib) > RSS_LIMIT_MIB {
            short.push(format!(
                "(d) restance-guarantee {:.1} MiB RSS",
                mib(run.rss_kib)
            ));
        }
        let disturbed = if run.disturbed { DISTURBED } else { "" };
        let mut phases = vec![
            (
                format!("(d1) guarantees registered (restance-guarantee){disturbed}"),
                &run.registrations,
            ),
            (
                format!(
                    "(d2) benefits paid, classified and linked (restance-guarantee){disturbed}"
                ),
                &run.benefits,
            ),
            (
                format!(
                    "(d3) divorces → recovery cases: {} raised (recovery.raised + notice + hold letter kept), {} released (release letter){disturbed}",
                    run.raised,
                    run.cases.messages as i64 - run.raised
                ),
                &run.cases,
            ),
        ];
        if let Some(s) = &run.statement {
            phases.push((
                format!("(d4) the quarterly statement of {} cases (XLSX stored, e-mail requested){disturbed}", run.cases.messages),
                s,
            ));
        }
        for (measure, p) in phases {
            let rate = p.messages as f64 / p.secs.max(1e-9);
            rows.push(Row {
                measure,
                count: p.messages as u64,
                secs: p.secs,
                ratio: format!("{:.2} (rate / r1)", rate / raw_rate),
                target: "—".into(),
                rss: rss_cell(run.rss_kib),
                load: load(),
                cpu: p.cpu,
            });
        }
    }

    // (e) debt counselling.
    if o.counselling > 0 {
        let n = o.counselling;
        eprintln!(
            "(e) {n} counselling applications, reviews and a day of timers → restance-counselling …"
        );
        let mut run = retried("the counselling benchmark", || bench::counselling(n)).await?;
        if run.disturbed {
            eprintln!("the broker or PostgreSQL went away during the run; running it again …");
            run = retried("the counselling benchmark", || bench::counselling(n)).await?;
        }
        if !run.personal_data.is_empty() {
            leaks.push(format!(
                "restance-counselling's log holds {} national id(s) of the generated data",
                run.personal_data.len()
            ));
        }
        if mib(run.rss_kib) > RSS_LIMIT_MIB {
            short.push(format!(
                "(e) restance-counselling {:.1} MiB RSS",
                mib(run.rss_kib)
            ));
        }
        let disturbed = if run.disturbed { DISTURBED } else { "" };
        for (measure, p) in [
            (
                format!(
                    "(e1) applications → cases assigned, case.opened (restance-counselling){disturbed}"
                ),
                &run.applications,
            ),
            (
                format!(
                    "(e2) reviews over the API, 4 at a time: reply letter requested, audited (restance-counselling){disturbed}"
                ),
                &run.reviews,
            ),
            (
                format!(
                    "(e3) a business day with {n} open cases, every timer due (restance-counselling){disturbed}"
                ),
                &run.day,
            ),
        ] {
            let rate = p.messages as f64 / p.secs.max(1e-9);
            rows.push(Row {
                measure,
                count: p.messages as u64,
                secs: p.secs,
                ratio: format!("{:.2} (rate / r1)", rate / raw_rate),
                target: "—".into(),
                rss: rss_cell(run.rss_kib),
                load: load(),
                cpu: p.cpu,
            });
        }
    }

    println!();
    println!(
        "| measure | count | elapsed s | rate /s | ratio | target | peak RSS | load 1/5/15 min | CPU s: broker / PostgreSQL / service / bench / other / idle |"
    );
    println!("|---|---:|---:|---:|---:|---|---:|---|---|");
    for r in &rows {
        let rate = if r.secs > 0.0 {
            r.count as f64 / r.secs
        } else {
            0.0
        };
        println!(
            "| {} | {} | {:.2} | {rate:.0} | {} | {} | {} | {} | {} |",
            r.measure,
            r.count,
            r.secs,
            r.ratio,
            r.target,
            r.rss,
            r.load,
            cpu_cell(r.cpu)
        );
    }
    println!();
    if short.is_empty() {
        println!("every target met (ingest ≥ 0.50, dunning ≤ 2, letters ≥ 200/s, RSS ≤ 150 MiB)");
    } else {
        println!("short of target: {}", short.join("; "));
    }
    if leaks.is_empty() {
        println!(
            "log hygiene: no national id, phone number, address, e-mail or name of the generated data in any log"
        );
        Ok(())
    } else {
        anyhow::bail!("personal data in logs: {}", leaks.join("; "))
    }
}

/// One line per kind of personal data `what` holds.
fn leaked(what: &str, found: &[&str]) -> Vec<String> {
    // The finding names the kind of data, never the data itself.
    found
        .iter()
        .map(|needle| {
            let kind = if needle
                .chars()
                .all(|c| c.is_ascii_digit() || "+-".contains(c))
            {
                "a national id or phone number"
            } else if needle.contains('@') {
                "an e-mail address"
            } else {
                "a name or street"
            };
            format!("{what} holds {kind} of the generated data")
        })
        .collect()
}
