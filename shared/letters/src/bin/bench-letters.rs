//! `bench-letters`: renders many first reminders (`reminder_1`, varying claims, amounts,
//! recipients and languages) with one shared [`Renderer`] on all cores, writes every PDF to a
//! temporary folder, and reports letters per second, the single-thread rate and peak RSS.
//!
//! `just bench-letters` runs it in release mode:
//! `bench-letters [--count 10000] [--single 500] [--threads N] [--templates DIR] [--keep]`.

#[global_allocator]
static GLOBAL: restance_letters::Allocator = restance_letters::Allocator;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use restance_kernel::{Language, Money};
use restance_letters::{LANGUAGES, LetterInput, RecipientBlock, Renderer};
use serde_json::{Value, json};

const TEMPLATE: &str = "reminder_1";

struct Options {
    count: usize,
    single: usize,
    threads: usize,
    templates: PathBuf,
    keep: bool,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        count: 10_000,
        single: 500,
        threads: std::thread::available_parallelism().map_or(1, usize::from),
        templates: std::env::var_os("RESTANCE__TEMPLATES__DIR")
            .map_or_else(|| PathBuf::from("templates"), PathBuf::from),
        keep: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        let number = |name: &str, text: String| {
            text.parse::<usize>()
                .map_err(|_| format!("{name}: {text:?} is not a whole number"))
        };
        match arg.as_str() {
            "--count" => options.count = number("--count", value("--count")?)?,
            "--single" => options.single = number("--single", value("--single")?)?,
            "--threads" => options.threads = number("--threads", value("--threads")?)?.max(1),
            "--templates" => options.templates = PathBuf::from(value("--templates")?),
            "--keep" => options.keep = true,
            "-h" | "--help" => {
                return Err("usage: bench-letters [--count 10000] [--single 500] [--threads N] [--templates DIR] [--keep]".to_owned());
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(options)
}

/// A small deterministic generator, so that every run renders the same letters.
fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

const FIRST: [&str; 8] = [
    "Ane",
    "Søren",
    "Paninnguaq",
    "Kåre",
    "Emma",
    "Aqqaluk",
    "Ingrid",
    "Jens",
];
const LAST: [&str; 8] = [
    "Hansen",
    "Ærbø",
    "Løvstrøm",
    "Bjørnstad",
    "Wilson",
    "Kleist",
    "Dahl",
    "Østergaard",
];
const TEXTS: [&str; 6] = [
    "Dagtilbud / Meeqqerivik / Barnehage",
    "Vand og vandafledning",
    "Husleje",
    "Ejendomsskat, 2. rate",
    "Renovation",
    "Byggesagsgebyr",
];

/// Letter number `i`: the sample reminder with 1–6 claims, amounts, ids and recipient varied.
fn letter(samples: &[(Language, LetterInput)], i: usize) -> (Language, LetterInput) {
    let seed = mix(i as u64);
    let (language, sample) = &samples[i % samples.len()];
    let mut input = sample.clone();
    let claims = 1 + (seed % 6) as usize;
    let mut total = Money::ZERO;
    let mut rows = Vec::with_capacity(claims);
    for c in 0..claims {
        let r = mix(seed ^ (c as u64 + 1));
        let amount = Money::from_minor(10_000 + (r % 900_000) as i64);
        total += amount;
        rows.push(json!({
            "invoice_id": format!("INV-2026-{:06}-{c}", i % 1_000_000),
            "text": TEXTS[(r % TEXTS.len() as u64) as usize],
            "due_date": format!("2026-{:02}-{:02}", 1 + (r >> 8) % 11, 1 + (r >> 16) % 28),
            "amount": amount.to_string(),
        }));
    }
    if let Value::Object(data) = &mut input.data {
        data.insert("claims".to_owned(), Value::Array(rows));
        data.insert("total".to_owned(), Value::String(total.to_string()));
    }
    input.reference = format!("N-BENCH-{i:08}");
    input.recipient = Some(RecipientBlock {
        name: format!(
            "{} {}",
            FIRST[(seed >> 20) as usize % FIRST.len()],
            LAST[(seed >> 24) as usize % LAST.len()]
        ),
        address_lines: vec![
            format!("Skolevej {}", 1 + (seed >> 28) % 120),
            "8660 Skanderborg".to_owned(),
        ],
    });
    (*language, input)
}

struct Run {
    letters: usize,
    pages: usize,
    bytes: usize,
    elapsed: Duration,
}

/// Renders letters `range` on `threads` threads, writing each PDF into `out`.
fn run(
    renderer: &Arc<Renderer>,
    samples: &[(Language, LetterInput)],
    range: std::ops::Range<usize>,
    threads: usize,
    out: &Path,
) -> Result<Run, String> {
    let next = AtomicUsize::new(range.start);
    let started = Instant::now();
    let results: Vec<Result<(usize, usize, usize), String>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let renderer = Arc::clone(renderer);
                let next = &next;
                let end = range.end;
                scope.spawn(move || {
                    let (mut letters, mut pages, mut bytes) = (0, 0, 0);
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= end {
                            return Ok((letters, pages, bytes));
                        }
                        let (language, input) = letter(samples, i);
                        let pdf = renderer
                            .render_pdf(TEMPLATE, language, &input)
                            .map_err(|e| format!("letter {i}: {e}"))?;
                        std::fs::write(out.join(format!("{i:06}.pdf")), &pdf.bytes)
                            .map_err(|e| format!("writing letter {i}: {e}"))?;
                        letters += 1;
                        pages += pdf.pages as usize;
                        bytes += pdf.bytes.len();
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err("a worker panicked".to_owned()))
            })
            .collect()
    });
    let elapsed = started.elapsed();
    let mut total = Run {
        letters: 0,
        pages: 0,
        bytes: 0,
        elapsed,
    };
    for result in results {
        let (letters, pages, bytes) = result?;
        total.letters += letters;
        total.pages += pages;
        total.bytes += bytes;
    }
    Ok(total)
}

/// Letters per second with one decimal, in integer arithmetic.
fn rate(letters: usize, elapsed: Duration) -> String {
    let micros = elapsed.as_micros().max(1);
    let tenths = (letters as u128) * 10_000_000 / micros;
    format!("{}.{}", tenths / 10, tenths % 10)
}

/// Peak resident set size (VmHWM) of this process.
fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown (no /proc/self/status)".to_owned())
}

fn main() -> std::process::ExitCode {
    match bench() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-letters: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn bench() -> Result<(), String> {
    let options = options()?;
    let loading = Instant::now();
    let renderer = Arc::new(Renderer::load(&options.templates).map_err(|e| e.to_string())?);
    println!(
        "loaded and checked {} templates × {} languages from {} in {:.2?}",
        renderer.template_ids().len(),
        LANGUAGES.len(),
        options.templates.display(),
        loading.elapsed()
    );
    let samples: Vec<(Language, LetterInput)> = LANGUAGES
        .into_iter()
        .map(|l| renderer.sample_input(TEMPLATE, l).map(|input| (l, input)))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let out = std::env::temp_dir().join(format!("restance-bench-letters-{}", std::process::id()));
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;

    // Warm up typst's caches (the layout module, fonts) as a running service would have them.
    run(&renderer, &samples, 0..8, 1, &out)?;

    let single = run(&renderer, &samples, 0..options.single, 1, &out)?;
    println!(
        "single thread: {} letters in {:.2?} = {} letters/s",
        single.letters,
        single.elapsed,
        rate(single.letters, single.elapsed)
    );
    let all = run(&renderer, &samples, 0..options.count, options.threads, &out)?;
    println!(
        "{} threads: {} letters ({} pages, {} MB of PDF) in {:.2?} = {} letters/s",
        options.threads,
        all.letters,
        all.pages,
        all.bytes / 1_000_000,
        all.elapsed,
        rate(all.letters, all.elapsed)
    );
    println!("peak RSS (VmHWM): {}", peak_rss());
    if options.keep {
        println!("PDFs kept in {}", out.display());
    } else {
        std::fs::remove_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    }
    Ok(())
}
