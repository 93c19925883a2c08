//! `restance`: the operator's command line.
//!
//! Where things are:
//! - the command line itself (every option and its help) is [`cli`]; [`run`] dispatches;
//! - `publish` is [`publish`], built on the shared confirmed publisher ([`broker`]);
//! - `sample invoices|payments|bad|guarantees|counselling` is [`sample`];
//! - `day open` is [`day`], `dead list|replay` is [`dead`], `claims` is [`claims`];
//! - `letters preview` is [`letters`], on the shared `restance-letters` renderer;
//! - `reporting import-history` is [`reporting`] (an upload to restance-reporting's API);
//! - `tap open|read` is [`tap`] (events no service here consumes, redacted);
//! - `bank import` is [`bank`] (camt.054 and OCR giro files to `bank.payment.received.v1`).
//!
//! Configuration is the services' own: [`restance_runtime::Settings`] loaded for the service
//! name `cli`, so the CLI reaches the same broker and exchange and knows the same catalog.
//! Nothing here prints a national id, address or phone number: sample data goes to stdout only
//! as the JSON the user asked for, and dead letters are described without their bodies.

pub mod bank;
pub mod broker;
pub mod claims;
pub mod cli;
pub mod day;
pub mod dead;
pub mod letters;
pub mod publish;
pub mod reporting;
pub mod retention;
pub mod sample;
mod table;
pub mod tap;

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use restance_contracts::{Envelope, InvoiceIssued, Message, SERVICES, decode_envelope};
use restance_runtime::Settings;
use serde::Serialize;

use cli::{
    BankCommand, Cli, Command, DayCommand, DeadCommand, LettersCommand, PublishArgs,
    ReportingCommand, SampleCommand, TapCommand,
};
use sample::payments::PaymentSampler;
use sample::{InvoiceSampler, SampleOptions};
use table::{Align, Table};

/// The service name the CLI loads its settings as.
pub const SETTINGS_NAME: &str = "cli";

/// Loads the services' configuration (file, then `RESTANCE__…` environment) for the CLI.
pub fn load_settings(config: Option<&Path>) -> anyhow::Result<Settings> {
    if let Some(path) = config
        && !path.exists()
    {
        anyhow::bail!(
            "{}",
            missing_config(path, std::env::var_os("RESTANCE_CONFIG"))
        );
    }
    Settings::load_from(SETTINGS_NAME, config, true).map_err(|e| anyhow::anyhow!("{e}"))
}

/// The error for a configuration file that does not exist, naming where its path came from:
/// the `--config` flag, or the `RESTANCE_CONFIG` variable when the flag was not given.
fn missing_config(path: &Path, from_env: Option<std::ffi::OsString>) -> String {
    let source = if from_env.as_deref() == Some(path.as_os_str()) {
        "RESTANCE_CONFIG"
    } else {
        "--config"
    };
    format!(
        "{source} names {} but there is no such file (the shipped one is config/restance.toml)",
        path.display()
    )
}

// Long: one arm per subcommand, each a few lines handing over to its module.
/// Runs one command line.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    // reqwest (claims, reporting) and the broker over TLS take the process's rustls provider
    restance_bus::tls::install_crypto_provider();
    // `claims` and `reporting` talk HTTP only; everything else reads the bus settings or the
    // catalog.
    let settings = match &cli.command {
        Command::Claims(_) | Command::Reporting(_) | Command::Retention(_) => None,
        _ => Some(load_settings(cli.config.as_deref())?),
    };
    let settings = || {
        settings
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("settings were not loaded"))
    };
    match cli.command {
        Command::Publish(args) => run_publish(settings()?, &args).await,
        Command::Bank(BankCommand::Import(args)) => run_bank_import(settings()?, &args).await,
        Command::Bank(BankCommand::Sample(args)) => match run_bank_sample(settings()?, &args) {
            Err(err) if is_broken_pipe(&err) => Ok(ExitCode::SUCCESS),
            other => other,
        },
        Command::Sample(command) => match run_sample(settings()?, command) {
            Err(err) if is_broken_pipe(&err) => Ok(ExitCode::SUCCESS),
            other => other,
        },
        Command::Day(DayCommand::Open {
            date,
            force,
            if_business_day,
        }) => {
            let settings = settings()?;
            let date = match date {
                Some(date) => date,
                None => {
                    let today = day::today();
                    println!("no --date given: today in the local time zone is {today}");
                    today
                }
            };
            let closed = day::closed_on(&settings.catalog, date);
            if !closed.is_empty() {
                let why = day::describe_closed(date, &closed);
                if if_business_day {
                    println!("{why}; not opened (--if-business-day)");
                    return Ok(ExitCode::SUCCESS);
                }
                if !force {
                    anyhow::bail!(
                        "{why}; nothing was published. Pass --force to open it anyway, or --date for another day"
                    );
                }
                println!("{why}; opening it anyway (--force)");
            }
            println!(
                "opening business day {date} ({:?}) on exchange {} at {}",
                date.weekday(),
                settings.bus.exchange,
                settings.bus.redacted_url()
            );
            let envelope = day::open(&settings.bus, date).await?;
            println!(
                "opened business day {date}: {} id {} from {} on exchange {}",
                envelope.r#type, envelope.id, envelope.source, settings.bus.exchange
            );
            if let Some(trace_id) = envelope
                .traceparent
                .as_deref()
                .and_then(restance_contracts::TraceParent::parse)
                .map(|t| t.trace_id_hex())
            {
                println!(
                    "trace {trace_id}: every service's work on the day carries it (trace_id in \
                     the logs; the trace in your OTLP backend when export is on)"
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Tap(TapCommand::Open { name, keys }) => {
            let settings = settings()?;
            let queue = tap::open(&settings.bus, &name, &keys).await?;
            println!(
                "tap {queue} on exchange {} catches {} (read it with: restance tap read {name})",
                settings.bus.exchange,
                keys.join(", ")
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Tap(TapCommand::Read { name, limit, json }) => {
            let settings = settings()?;
            let Some(events) = tap::read(&settings.bus, &name, limit).await? else {
                anyhow::bail!(
                    "there is no tap {name} on exchange {} (open it first: restance tap open {name} --key TYPE; an unused tap expires after an hour)",
                    settings.bus.exchange
                );
            };
            let mut out = std::io::stdout().lock();
            for event in &events {
                if json {
                    writeln!(out, "{}", dead::mask_national_ids(&event.to_string()))?;
                } else {
                    write!(out, "{}", tap::render(event))?;
                }
            }
            eprintln!("tap {name}: {} event(s) taken", events.len());
            Ok(ExitCode::SUCCESS)
        }
        Command::Dead(DeadCommand::List {
            service,
            limit,
            wide,
        }) => {
            let services: Vec<String> = match service {
                Some(s) => vec![s],
                None => SERVICES.iter().map(|s| (*s).to_owned()).collect(),
            };
            let queues = dead::list(&settings()?.bus, &services, limit).await?;
            print!("{}", render_dead(&queues, wide));
            Ok(ExitCode::SUCCESS)
        }
        Command::Dead(DeadCommand::Replay { service, ids, all }) => {
            let selection = if all {
                dead::Selection::All
            } else {
                dead::Selection::Ids(ids)
            };
            let settings = settings()?;
            let report = dead::replay(&settings.bus, &service, &selection).await?;
            println!(
                "replayed {} message(s) from {} to exchange {}",
                report.replayed.len(),
                restance_bus::Topology::new(settings.bus.exchange.clone()).dead_queue(&service),
                settings.bus.exchange
            );
            for (id, why) in &report.left {
                println!("left in the dead queue: {id}: {why}");
            }
            for id in &report.not_found {
                println!("not in the dead queue: {id}");
            }
            Ok(if report.left.is_empty() && report.not_found.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Letters(LettersCommand::Preview(args)) => {
            let settings = settings()?;
            match letters::preview(&settings.catalog, &settings.templates.dir, &args)? {
                letters::Preview::Letter {
                    path,
                    pages,
                    language,
                } => println!(
                    "{} ({language}): {pages} page(s) written to {}",
                    args.template,
                    path.display()
                ),
                letters::Preview::TextOnly { language, parts } => {
                    println!(
                        "{} ({language}) has no letter; its text parts:",
                        args.template
                    );
                    for (part, text) in parts {
                        println!("--- {part:?}\n{}", text.trim_end());
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Reporting(ReportingCommand::ImportHistory(args)) => {
            let outcome = reporting::import_history(
                &args.url,
                &args.file,
                args.token.as_deref(),
                std::io::stderr().is_terminal(),
            )
            .await?;
            print!("{}", reporting::render(&outcome));
            Ok(match outcome {
                reporting::Outcome::Imported { .. } => ExitCode::SUCCESS,
                reporting::Outcome::Refused { .. } => ExitCode::FAILURE,
            })
        }
        Command::Claims(args) => {
            let found = claims::fetch(
                &args.url,
                &args.debtor_id,
                args.municipality.as_deref(),
                args.token.as_deref(),
            )
            .await?;
            match found {
                None => println!("no claims for debtor {}", args.debtor_id),
                Some((_, raw)) if args.json => println!("{}", serde_json::to_string_pretty(&raw)?),
                Some((view, _)) => print!("{}", claims::render(&view)),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Retention(cli::RetentionCommand::Preview(args)) => {
            let date = args.date.map(|d| d.to_string());
            let mut previews = Vec::new();
            for (service, url) in [
                ("invoicing", &args.invoicing_url),
                ("notifications", &args.notifications_url),
                ("guarantee", &args.guarantee_url),
                ("counselling", &args.counselling_url),
            ] {
                let preview =
                    retention::fetch(service, url, date.as_deref(), args.token.as_deref()).await;
                previews.push((service.to_owned(), preview));
            }
            if args.json {
                let ok: Vec<_> = previews
                    .iter()
                    .filter_map(|(_, p)| p.as_ref().ok())
                    .collect();
                println!("{}", serde_json::to_string_pretty(&ok)?);
            } else {
                print!("{}", retention::render(&previews));
            }
            Ok(if previews.iter().all(|(_, p)| p.is_ok()) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

async fn run_publish(settings: &Settings, args: &PublishArgs) -> anyhow::Result<ExitCode> {
    let input = match &args.file {
        Some(path) if path.as_os_str() != "-" => publish::Input::File(path.clone()),
        _ => {
            if std::io::stdin().is_terminal() {
                eprintln!("reading JSON lines from stdin (Ctrl-D ends; or give a FILE)");
            }
            publish::Input::Stdin
        }
    };
    let progress = if std::io::stderr().is_terminal() {
        publish::ProgressMode::Bar
    } else {
        publish::ProgressMode::Every(Duration::from_secs(args.progress_every.max(1)))
    };
    let options = publish::PublishOptions {
        batch_size: usize::try_from(args.batch).unwrap_or(500),
        allow_invalid: args.allow_invalid,
        check_only: args.check,
        routing_key: args.routing_key.clone(),
        progress,
    };
    let summary = publish::publish(input, &settings.bus, &options).await?;
    if args.check {
        println!(
            "checked {} line(s): {} invalid",
            summary.lines, summary.invalid
        );
        return Ok(if summary.invalid == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    let mut line = format!(
        "published {} of {} message(s) to exchange {} in {:.2?} ({}/s)",
        summary.published,
        summary.lines,
        settings.bus.exchange,
        summary.elapsed,
        summary.rate()
    );
    if summary.invalid > 0 {
        line.push_str(&format!(
            "; {} invalid line(s){}",
            summary.invalid,
            if args.allow_invalid {
                ", published anyway"
            } else {
                " not published (--allow-invalid publishes them)"
            }
        ));
    }
    println!("{line}");
    if let Some(stopped) = &summary.stopped {
        eprintln!("error: {stopped}");
    }
    Ok(
        if summary.not_published() == 0 && summary.stopped.is_none() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        },
    )
}

async fn run_bank_import(
    settings: &Settings,
    args: &cli::BankImportArgs,
) -> anyhow::Result<ExitCode> {
    let accounts = bank::Accounts::new(&settings.catalog, args.municipality.as_deref())?;
    let visible = std::io::stderr().is_terminal();
    let files = match bank::read_files(&args.files, &accounts, &|path: &Path| {
        bank::file_bar(path, visible)
    }) {
        Ok(files) => files,
        Err(problems) => {
            for p in &problems {
                eprintln!("error: {p}");
            }
            eprintln!(
                "{} problem(s): nothing was published (fix the file or ask the bank for a new \
                 one, then import again)",
                problems.len()
            );
            return Ok(ExitCode::FAILURE);
        }
    };
    print!("{}", bank::render_summary(&files, &settings.catalog));
    if args.dry_run {
        println!("dry run: nothing published");
        return Ok(ExitCode::SUCCESS);
    }
    let total: usize = files.iter().map(|f| f.payments.len()).sum();
    if total == 0 {
        println!("no payments to publish");
        return Ok(ExitCode::SUCCESS);
    }
    let batch = usize::try_from(args.batch).unwrap_or(500);
    let published = bank::publish(&files, &settings.bus, batch, visible).await?;
    println!(
        "published {} of {total} payment(s) to exchange {} in {:.2?}",
        published.confirmed, settings.bus.exchange, published.elapsed
    );
    if published.not_confirmed == 0 {
        return Ok(ExitCode::SUCCESS);
    }
    for (location, why) in &published.failed {
        eprintln!("error: not published: {location}: {why}");
    }
    if let Some(stopped) = &published.stopped {
        eprintln!("error: publishing stopped: {stopped}");
    }
    eprintln!(
        "error: {} payment(s) were not confirmed by the broker. Running the same command again \
         is safe: each payment's id comes from the bank's own reference, so the ones already \
         published are not booked twice",
        published.not_confirmed
    );
    Ok(ExitCode::FAILURE)
}

fn run_bank_sample(settings: &Settings, args: &cli::BankSampleArgs) -> anyhow::Result<ExitCode> {
    let catalog = &settings.catalog;
    let norwegian = args.format == cli::BankFileKind::Ocr;
    let (code, municipality) = match &args.municipality {
        Some(code) => catalog
            .municipalities
            .get_key_value(code)
            .ok_or_else(|| anyhow::anyhow!("municipality {code} is not configured"))?,
        None => catalog
            .municipalities
            .iter()
            .find(|(_, m)| !norwegian || m.currency == restance_kernel::Currency::Nok)
            .ok_or_else(|| anyhow::anyhow!("no suitable municipality is configured"))?,
    };
    let seed = seed_or_clock(args.seed.seed);
    let date = args.date.unwrap_or_else(day::today);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let expected = match args.format {
        cli::BankFileKind::Camt054 => bank::sample::camt054(
            &mut out,
            municipality,
            args.camt_version,
            args.entries,
            seed,
            date,
        )?,
        cli::BankFileKind::Ocr => {
            bank::sample::ocr_giro(&mut out, municipality, args.entries, seed, date)?
        }
    };
    out.flush()?;
    eprintln!(
        "sample: {} payment(s) to {code} summing to {} {}, {} debit(s)",
        expected.payments, municipality.currency, expected.sum, expected.skipped
    );
    Ok(ExitCode::SUCCESS)
}

// Long: one arm per `restance sample` subcommand, each a few lines of options and output.
fn run_sample(settings: &Settings, command: SampleCommand) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match command {
        SampleCommand::Invoices(args) => {
            let seed = seed_or_clock(args.seed.seed);
            let options = SampleOptions {
                seed,
                municipality: args.municipality,
                start_date: args.start_date.unwrap_or_else(day::today),
                days: args.days,
            };
            let mut sampler = InvoiceSampler::new(&settings.catalog, &options)?;
            let mut payer = args
                .with_payments
                .map(|fraction| PaymentSampler::new(&settings.catalog, seed, fraction));
            let mut payments = Vec::new();
            for _ in 0..args.count {
                let invoice = sampler.next_invoice();
                write_line(&mut out, &invoice)?;
                if let Some(payment) = payer.as_mut().and_then(|p| p.payment_for(&invoice)) {
                    payments.push(payment.envelope);
                }
            }
            // After every invoice, so that a payment never arrives before its claim exists.
            payments.sort_by_key(|p| p.data.booking_date);
            for payment in &payments {
                write_line(&mut out, payment)?;
            }
            eprintln!(
                "sample: {} invoice(s), {} payment(s), run {}",
                args.count,
                payments.len(),
                sampler.run_tag()
            );
        }
        SampleCommand::Guarantees(args) => {
            let seed = seed_or_clock(args.seed.seed);
            let start = args.start_date.unwrap_or_else(day::today);
            let sample = sample::guarantees::sample(
                &settings.catalog,
                seed,
                args.count,
                args.municipality.as_deref(),
                start,
            )?;
            for line in &sample.lines {
                let mut bytes = serde_json::to_vec(line)?;
                bytes.push(b'\n');
                out.write_all(&bytes)?;
            }
            eprintln!(
                "sample: {} guarantee(s), {} benefit(s), {} change(s) on {start}",
                sample.guarantees, sample.benefits, sample.changes
            );
        }
        SampleCommand::Counselling(args) => {
            let seed = seed_or_clock(args.seed.seed);
            let today = day::today();
            let applied = args.applied_date.unwrap_or(today);
            if applied > today {
                eprintln!(
                    "sample: applied on {applied}, after today ({today}): restance-counselling \
                     refuses such an application until then"
                );
            }
            let sample = sample::counselling::sample(
                &settings.catalog,
                seed,
                args.count,
                args.municipality.as_deref(),
                applied,
            )?;
            for line in &sample.lines {
                let mut bytes = serde_json::to_vec(line)?;
                bytes.push(b'\n');
                out.write_all(&bytes)?;
            }
            eprintln!(
                "sample: {} counselling application(s) applied on {applied}, {} with an income reported",
                sample.lines.len(),
                sample.with_income
            );
        }
        SampleCommand::Payments(args) => {
            let seed = seed_or_clock(args.seed.seed);
            let text = std::fs::read_to_string(&args.for_file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", args.for_file.display()))?;
            let mut payer = PaymentSampler::new(&settings.catalog, seed, args.fraction);
            let (mut invoices, mut ignored) = (0u64, 0u64);
            let mut payments = Vec::new();
            for line in text.lines() {
                if publish::is_skipped(line.as_bytes()) {
                    continue;
                }
                let invoice = decode_envelope(line.as_bytes())
                    .ok()
                    .filter(|e| e.r#type == InvoiceIssued::TYPE)
                    .and_then(|e| e.into_typed::<InvoiceIssued>().ok());
                let Some(invoice) = invoice else {
                    ignored += 1;
                    continue;
                };
                invoices += 1;
                if let Some(payment) = payer.payment_for(&invoice) {
                    payments.push(payment.envelope);
                }
            }
            payments.sort_by_key(|p| p.data.booking_date);
            for payment in &payments {
                write_line(&mut out, payment)?;
            }
            eprintln!(
                "sample: {} payment(s) for {invoices} invoice(s); {ignored} other line(s) ignored",
                payments.len()
            );
        }
        SampleCommand::Bad(args) => {
            let seed = seed_or_clock(args.seed.seed);
            let samples = sample::bad::bad_samples(
                &settings.catalog,
                seed,
                args.municipality.as_deref(),
                args.start_date.unwrap_or_else(day::today),
            )?;
            for s in &samples {
                writeln!(out, "# {} ({}): {}", s.class, s.stage, s.what)?;
                writeln!(out, "{}", s.line)?;
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn write_line<T: Serialize>(out: &mut impl Write, envelope: &Envelope<T>) -> anyhow::Result<()> {
    let mut line = serde_json::to_vec(envelope)?;
    line.push(b'\n');
    out.write_all(&line)?;
    Ok(())
}

/// The seed asked for, or one from the clock (printed, so the run can be repeated).
fn seed_or_clock(seed: Option<u64>) -> u64 {
    seed.unwrap_or_else(|| {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::from(d.subsec_nanos()) ^ d.as_secs())
            .unwrap_or(1);
        eprintln!("sample: seed {seed} (pass --seed {seed} to repeat this output)");
        seed
    })
}

/// `restance sample … | head`: the reader went away, which is not an error.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.downcast_ref::<std::io::Error>()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}

/// The dead-letter listing: one table over all queues, then a line per queue.
fn render_dead(queues: &[dead::DeadQueue], wide: bool) -> String {
    let mut table = Table::new(&[
        ("SERVICE", Align::Left),
        ("MESSAGE ID", Align::Left),
        ("TYPE", Align::Left),
        ("ORIGINAL ROUTING KEY", Align::Left),
        ("SIZE", Align::Right),
        ("REASON", Align::Left),
    ]);
    let mut footer = String::new();
    for q in queues {
        let Some(listing) = &q.listing else {
            footer.push_str(&format!(
                "{}: no dead queue {} (the service has not run against this exchange)\n",
                q.service, q.queue
            ));
            continue;
        };
        for l in &listing.letters {
            let shown = |v: &Option<String>| {
                v.as_deref()
                    .map_or_else(|| "-".to_owned(), dead::mask_national_ids)
            };
            let reason = shown(&l.reason);
            table.row(vec![
                q.service.clone(),
                shown(&l.message_id),
                shown(&l.message_type),
                shown(&l.original_key),
                l.size.to_string(),
                if wide { reason } else { shorten(&reason, 100) },
            ]);
        }
        footer.push_str(&format!(
            "{}: {} dead letter(s) in {}{}\n",
            q.service,
            listing.total,
            q.queue,
            if listing.letters.len() < usize::try_from(listing.total).unwrap_or(usize::MAX) {
                format!(", first {} shown (--limit)", listing.letters.len())
            } else {
                String::new()
            }
        ));
    }
    if table.is_empty() {
        footer
    } else {
        format!("{}\n\n{footer}", table.render())
    }
}

fn shorten(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max_chars).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_config_file_is_blamed_on_the_flag_that_named_it() {
        let path = Path::new("/nope");
        let flag = missing_config(path, None);
        assert!(
            flag.starts_with("--config names /nope but there is no such file"),
            "{flag}"
        );
        let other_env = missing_config(path, Some("/elsewhere.toml".into()));
        assert!(other_env.starts_with("--config names /nope"), "{other_env}");
        let env = missing_config(path, Some("/nope".into()));
        assert!(env.starts_with("RESTANCE_CONFIG names /nope"), "{env}");
    }
}
