//! Golden tests on real PDFs: every template with a letter, in every language, rendered from its
//! sample data, read back with poppler's `pdftotext -layout`, `pdfinfo` and `pdffonts`, and
//! compared with `tests/golden/<lang>/<id>.txt`.
//!
//! Regenerate the golden files after a deliberate wording or layout change with
//! `RESTANCE_UPDATE_GOLDEN=1 cargo test -p restance-letters --test golden` and review the diff.
//! poppler-utils must be installed (`deploy/local/ensure-services.sh` installs it); the tests fail
//! rather than skip without it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use restance_kernel::Language;
use restance_letters::format;
use restance_letters::{LANGUAGES, LetterInput, Part, Renderer};

fn templates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../templates")
}

fn renderer() -> &'static Renderer {
    static RENDERER: OnceLock<Renderer> = OnceLock::new();
    RENDERER.get_or_init(|| {
        Renderer::load(&templates_dir())
            .unwrap_or_else(|e| panic!("the shipped templates load: {e}"))
    })
}

/// Runs a poppler tool on `pdf`; a missing tool is a failure with the fix in the message.
fn poppler(tool: &str, args: &[&str], pdf: &Path) -> String {
    let output = Command::new(tool)
        .args(args)
        .arg(pdf)
        .args(if tool == "pdftotext" {
            &["-"][..]
        } else {
            &[][..]
        })
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {tool} ({e}): install poppler-utils (apt-get install poppler-utils, \
                 or run deploy/local/ensure-services.sh) — the letter tests read real PDFs"
            )
        });
    assert!(
        output.status.success(),
        "{tool} {} failed: {}",
        pdf.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap_or_else(|e| panic!("{tool} printed non-UTF-8: {e}"))
}

/// What a reader sees, with runs of whitespace (incl. no-break spaces) as one space.
fn flat(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c == '\u{a0}')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn page_label(language: Language, n: u32, total: u32) -> String {
    match language {
        Language::Da => format!("Side {n} af {total}"),
        Language::Kl => format!("Qupperneq {n} / {total}"),
        Language::Nb => format!("Side {n} av {total}"),
        Language::En => format!("Page {n} of {total}"),
    }
}

fn protected_note(language: Language) -> &'static str {
    match language {
        Language::Da => "Sendt via beskyttet forsendelse",
        Language::Kl => "Illersugaasumik nassiunneqarpoq",
        Language::Nb => "Sendt via beskyttet forsendelse",
        Language::En => "Sent by the protected route",
    }
}

/// Letters proper to each language that its letters must show correctly.
fn own_letters(language: Language) -> &'static [&'static str] {
    match language {
        Language::Da => &["æ", "ø", "å"],
        Language::Kl => &["qq", "Qupperneq", "Inussiarnersumik"],
        Language::Nb => &["ø", "å"],
        Language::En => &["the"],
    }
}

struct Extracted {
    text: String,
    info: String,
    fonts: String,
}

fn render_and_read(
    dir: &Path,
    id: &str,
    language: Language,
    input: &LetterInput,
    name: &str,
) -> (u32, Extracted) {
    let pdf = renderer()
        .render_pdf(id, language, input)
        .unwrap_or_else(|e| panic!("{language}/{id}: {e}"));
    assert!(
        pdf.bytes.starts_with(b"%PDF-"),
        "{language}/{id}: not a PDF"
    );
    let path = dir.join(name);
    std::fs::write(&path, &pdf.bytes).expect("write the PDF");
    let extracted = Extracted {
        text: poppler("pdftotext", &["-layout", "-enc", "UTF-8"], &path),
        info: poppler("pdfinfo", &[], &path),
        fonts: poppler("pdffonts", &[], &path),
    };
    (pdf.pages, extracted)
}

/// Every check on one letter; the problems found.
fn check_letter(
    id: &str,
    language: Language,
    input: &LetterInput,
    pages: u32,
    pdf: &Extracted,
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut expect = |ok: bool, what: String| {
        if !ok {
            problems.push(format!("{language}/{id}: {what}"));
        }
    };
    let text = flat(&pdf.text);
    let info_pages = pdf
        .info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|p| p.trim().parse::<u32>().ok());
    expect(
        info_pages == Some(pages),
        format!("pdfinfo pages {info_pages:?}, renderer said {pages}"),
    );
    expect(
        pdf.info
            .lines()
            .any(|l| l.starts_with("Page size:") && l.contains("(A4)")),
        format!("page size is not A4: {}", pdf.info),
    );
    let font_rows: Vec<&str> = pdf
        .fonts
        .lines()
        .skip(2)
        .filter(|l| !l.trim().is_empty())
        .collect();
    expect(
        !font_rows.is_empty(),
        "no fonts listed by pdffonts".to_owned(),
    );
    for row in &font_rows {
        // name type encoding emb sub uni object-id: the column after the encoding is "emb".
        let columns: Vec<&str> = row.split_whitespace().collect();
        let emb = columns.len().checked_sub(5).and_then(|i| columns.get(i));
        expect(emb == Some(&"yes"), format!("font not embedded: {row}"));
    }
    for n in 1..=pages {
        let label = page_label(language, n, pages);
        expect(
            text.contains(&label),
            format!("page number {label:?} missing"),
        );
    }
    for letters in own_letters(language) {
        expect(
            text.contains(letters),
            format!("{letters:?} missing from the text"),
        );
    }
    let date = format::date(input.letter_date, language);
    expect(
        text.contains(&date),
        format!("letter date {date:?} missing"),
    );
    expect(
        text.contains(&input.reference),
        "reference missing".to_owned(),
    );
    let legal = input.data["legal_basis"]
        .as_str()
        .unwrap_or_default()
        .trim_end_matches('.');
    expect(
        !legal.is_empty() && text.contains(&flat(legal)),
        format!("legal basis {legal:?} missing"),
    );
    expect(
        text.contains(&flat(&input.letterhead.municipality)),
        "letterhead missing".to_owned(),
    );
    if let Some(payment) = input.data.get("payment") {
        match input.data["currency"].as_str() {
            Some("DKK") => {
                let ocr = payment["ocr_line"]
                    .as_str()
                    .unwrap_or("(no OCR line in the sample)");
                expect(
                    ocr.starts_with("+71<") && text.contains(ocr),
                    format!("OCR line {ocr:?} missing"),
                );
            }
            Some("NOK") => {
                let kid = payment["kid"].as_str().unwrap_or("(no KID in the sample)");
                expect(
                    text.contains(&format!("KID {kid}")),
                    format!("KID {kid:?} missing"),
                );
                let account = payment["account"].as_str().unwrap_or("(no account)");
                expect(
                    text.contains(account),
                    format!("account {account:?} missing"),
                );
            }
            other => expect(false, format!("unexpected currency {other:?}")),
        }
    }
    match &input.recipient {
        Some(r) => {
            expect(
                text.contains(&flat(&r.name)),
                "recipient name missing".to_owned(),
            );
            for line in &r.address_lines {
                expect(
                    text.contains(&flat(line)),
                    format!("address line {line:?} missing"),
                );
            }
        }
        None => {
            expect(
                text.contains(protected_note(language)),
                "protected-route note missing".to_owned(),
            );
        }
    }
    problems
}

fn golden_path(language: Language, id: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(language.code())
        .join(format!("{id}.txt"))
}

/// The extracted text without trailing spaces, one form feed line per page break.
fn normalised(text: &str) -> String {
    let mut out: String = text
        .replace('\u{c}', "\n\u{c}\n")
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n");
    out.push('\n');
    out
}

fn letter_templates() -> Vec<&'static str> {
    let r = renderer();
    r.template_ids()
        .into_iter()
        .filter(|id| r.spec(id).is_ok_and(|s| s.has(Part::Letter)))
        .collect()
}

#[test]
fn every_letter_in_every_language_matches_its_golden_text_and_is_a_proper_a4_pdf() {
    let update = std::env::var_os("RESTANCE_UPDATE_GOLDEN").is_some();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut problems = Vec::new();
    let mut checked = 0;
    for id in letter_templates() {
        for language in LANGUAGES {
            let input = renderer().sample_input(id, language).expect("sample");
            let (pages, pdf) = render_and_read(
                dir.path(),
                id,
                language,
                &input,
                &format!("{language}-{id}.pdf"),
            );
            problems.extend(check_letter(id, language, &input, pages, &pdf));
            let golden = golden_path(language, id);
            let actual = normalised(&pdf.text);
            if update {
                std::fs::create_dir_all(golden.parent().expect("parent")).expect("golden dir");
                std::fs::write(&golden, &actual).expect("write golden");
            } else {
                match std::fs::read_to_string(&golden) {
                    Ok(expected) if expected == actual => {}
                    Ok(expected) => {
                        let first = expected
                            .lines()
                            .zip(actual.lines())
                            .position(|(e, a)| e != a)
                            .unwrap_or(expected.lines().count().min(actual.lines().count()));
                        problems.push(format!(
                            "{language}/{id}: text differs from {} at line {}:\n  golden: {:?}\n  actual: {:?}\n  (RESTANCE_UPDATE_GOLDEN=1 regenerates after a deliberate change)",
                            golden.display(),
                            first + 1,
                            expected.lines().nth(first).unwrap_or(""),
                            actual.lines().nth(first).unwrap_or(""),
                        ));
                    }
                    Err(e) => problems.push(format!(
                        "{language}/{id}: {}: {e} (RESTANCE_UPDATE_GOLDEN=1 creates it)",
                        golden.display()
                    )),
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 29 * 4, "twenty-nine letters in four languages");
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn a_protected_address_is_never_printed_and_the_letter_says_it_went_by_the_protected_route() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut problems = Vec::new();
    for id in letter_templates() {
        for language in LANGUAGES {
            let normal = renderer().sample_input(id, language).expect("sample");
            let recipient = normal
                .recipient
                .clone()
                .expect("the samples have an address");
            let mut protected = normal;
            protected.recipient = None;
            let (pages, pdf) = render_and_read(
                dir.path(),
                id,
                language,
                &protected,
                &format!("{language}-{id}-protected.pdf"),
            );
            problems.extend(check_letter(id, language, &protected, pages, &pdf));
            let text = flat(&pdf.text);
            let sender = &protected.letterhead.address_lines;
            for secret in std::iter::once(&recipient.name).chain(&recipient.address_lines) {
                // A line the sender shares (e.g. the same town) proves nothing either way.
                if !sender.contains(secret) && text.contains(&flat(secret)) {
                    problems.push(format!(
                        "{language}/{id}: protected letter prints {secret:?}"
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn rendering_is_deterministic_no_clock_no_randomness() {
    let input = renderer()
        .sample_input("reminder_2", Language::Da)
        .expect("sample");
    let first = renderer()
        .render_pdf("reminder_2", Language::Da, &input)
        .expect("renders");
    let second = renderer()
        .render_pdf("reminder_2", Language::Da, &input)
        .expect("renders");
    assert!(
        first.bytes == second.bytes,
        "two renders of the same letter differ"
    );
    let mut later = input.clone();
    later.letter_date = later.letter_date.add_days(1);
    let third = renderer()
        .render_pdf("reminder_2", Language::Da, &later)
        .expect("renders");
    assert!(
        first.bytes != third.bytes,
        "the letter date is part of the letter"
    );
}
