//! `restance letters preview` renders the shipped templates with a configured municipality's
//! letterhead and payment reference, and refuses unknown templates and municipalities clearly.

use std::path::PathBuf;
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn restance(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_restance"))
        .args(["letters", "preview"])
        .args(args)
        .env("RESTANCE_CONFIG", repo().join("config/restance.toml"))
        .env("RESTANCE__TEMPLATES__DIR", repo().join("templates"))
        .output()
        .expect("runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_greenlandic_reminder_is_rendered_with_the_office_letterhead() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("rykker.pdf");
    let o = restance(&[
        "reminder_2",
        "--municipality",
        "0957",
        "--office",
        "maniitsoq",
        "--out",
        out.to_str().expect("utf-8 path"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let printed = stdout(&o);
    assert!(
        printed.starts_with("reminder_2 (kl): ") && printed.contains("page(s) written to"),
        "{printed}"
    );
    assert!(printed.contains(out.to_str().expect("utf-8")), "{printed}");
    let pdf = std::fs::read(&out).expect("the PDF was written");
    assert!(pdf.starts_with(b"%PDF-"));
    // The preview uses Qeqqata's own creditor number and office (checked in the extracted text).
    let text = Command::new("pdftotext")
        .arg(&out)
        .arg("-")
        .output()
        .expect("pdftotext runs (install poppler-utils)");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("+71<000000067097535+86123456<"), "{text}");
    assert!(
        text.contains("Maniitsoq") && text.contains("Qupperneq 1"),
        "{text}"
    );
}

#[test]
fn a_norwegian_letter_in_english_gets_a_kid() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("reminder.pdf");
    let o = restance(&[
        "reminder_1",
        "--lang",
        "en",
        "--municipality",
        "4204",
        "--protected",
        "--out",
        out.to_str().expect("utf-8 path"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("reminder_1 (en): 1 page(s)"),
        "{}",
        stdout(&o)
    );
    let text = Command::new("pdftotext")
        .arg(&out)
        .arg("-")
        .output()
        .expect("pdftotext runs (install poppler-utils)");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("NOK") && text.contains("000000067097535"),
        "{text}"
    );
    assert!(
        text.contains("Sent by the protected route") && !text.contains("Mill Lane"),
        "{text}"
    );
}

#[test]
fn an_e_mail_only_template_prints_its_text_parts() {
    let o = restance(&["report_ready", "--lang", "da"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let printed = stdout(&o);
    assert!(
        printed.contains("report_ready (da) has no letter"),
        "{printed}"
    );
    assert!(
        printed.contains("Restancerapport til økonomiudvalget pr. 30. november 2026"),
        "{printed}"
    );
}

#[test]
fn unknown_templates_languages_and_municipalities_are_refused() {
    let o = restance(&["reminder_9"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("unknown template \"reminder_9\""),
        "{}",
        stderr(&o)
    );
    let o = restance(&["reminder_1", "--municipality", "0101"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("municipality 0101 is not in the catalog"),
        "{}",
        stderr(&o)
    );
    let o = restance(&["reminder_1", "--lang", "de"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("unknown language"), "{}", stderr(&o));
}
