//! The renderer's contract with the notifications service: bad data, unknown templates, missing
//! parts and an incomplete template folder are refused with reasons; text parts are filled in
//! and escaped; the letterhead comes from the shipped catalog.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use restance_kernel::{Catalog, Language};
use restance_letters::{LANGUAGES, LetterError, Letterhead, Renderer, TextPart};
use serde_json::json;

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

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn load_problems(dir: &Path) -> Vec<String> {
    match Renderer::load(dir) {
        Ok(_) => Vec::new(),
        Err(LetterError::Load { problems, .. }) => problems,
        Err(other) => panic!("expected a load error, got {other}"),
    }
}

#[test]
fn the_shipped_set_is_complete_in_all_four_languages() {
    let r = renderer();
    assert_eq!(r.template_ids(), {
        let mut ids = restance_letters::TEMPLATE_IDS.to_vec();
        ids.sort_unstable();
        ids
    });
    assert!(r.has_template("reminder_1") && !r.has_template("reminder_3"));
    for id in r.template_ids() {
        for language in LANGUAGES {
            let input = r
                .sample_input(id, language)
                .expect("every template has a sample");
            assert_eq!(
                r.check_data(id, &input.data),
                Vec::<String>::new(),
                "{language}/{id}"
            );
        }
    }
}

#[test]
fn a_missing_data_field_is_reported_and_the_letter_is_refused() {
    let r = renderer();
    let mut input = r.sample_input("reminder_1", Language::Da).expect("sample");
    let data = input.data.as_object_mut().expect("object");
    data.remove("claims");
    data.remove("legal_basis");
    data.insert("pay_by".to_owned(), json!("15/12/2026"));
    let expected = [
        "data.claims: required",
        "data.legal_basis: required",
        "data.pay_by: must be a date like \"2026-12-15\"",
    ];
    assert_eq!(r.check_data("reminder_1", &input.data), expected);
    let err = r
        .render_pdf("reminder_1", Language::Da, &input)
        .expect_err("refused");
    assert!(
        matches!(&err, LetterError::InvalidData { problems, .. } if problems == &expected),
        "{err}"
    );
    assert!(
        err.to_string().contains("see templates/manifest.toml"),
        "{err}"
    );
    let err = r
        .render_text("reminder_1", Language::Da, TextPart::Sms, &input)
        .expect_err("the SMS is refused too");
    assert!(matches!(err, LetterError::InvalidData { .. }), "{err}");
}

#[test]
fn a_bad_payment_reference_is_caught_before_it_is_printed() {
    let r = renderer();
    let mut input = r.sample_input("reminder_1", Language::Da).expect("sample");
    input.data["payment"]["ocr_line"] = json!("+71<026840149965327+85412345<");
    assert_eq!(
        r.check_data("reminder_1", &input.data),
        [
            "data.payment.ocr_line: must be a FI-kort +71 line with a valid check digit and the creditor number, like \"+71<000000067097535+85412345<\""
        ]
    );
    let mut input = r.sample_input("reminder_1", Language::Nb).expect("sample");
    input.data["payment"]["kid"] = json!("000000000012345");
    assert_eq!(
        r.check_data("reminder_1", &input.data),
        ["data.payment.kid: must be a KID (2–25 digits) with a valid MOD10 or MOD11 check digit"]
    );
}

#[test]
fn an_unknown_template_is_refused_with_the_known_ids() {
    let r = renderer();
    let input = r.sample_input("reminder_1", Language::Da).expect("sample");
    let err = r
        .render_pdf("reminder_9", Language::Da, &input)
        .expect_err("unknown");
    assert!(
        matches!(&err, LetterError::UnknownTemplate { template, .. } if template == "reminder_9")
    );
    assert!(err.to_string().contains("reminder_1, reminder_2"), "{err}");
    assert!(
        r.render_text("nope", Language::Da, TextPart::Sms, &input)
            .is_err()
    );
    assert!(r.sample_input("nope", Language::Da).is_err());
    let problems = r.check_data("nope", &input.data);
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].starts_with("unknown template \"nope\""),
        "{problems:?}"
    );
}

#[test]
fn a_template_without_a_part_says_so() {
    let r = renderer();
    let report = r
        .sample_input("report_ready", Language::En)
        .expect("sample");
    let err = r
        .render_pdf("report_ready", Language::En, &report)
        .expect_err("no letter");
    assert!(matches!(err, LetterError::NoLetter { .. }), "{err}");
    assert_eq!(
        r.render_text("report_ready", Language::En, TextPart::Sms, &report)
            .expect("ok"),
        None
    );
    let subject = r
        .render_text(
            "report_ready",
            Language::En,
            TextPart::EmailSubject,
            &report,
        )
        .expect("renders");
    assert_eq!(
        subject.as_deref(),
        Some("Arrears report for the finance committee as of 30 November 2026")
    );
    let transferred = r
        .sample_input("transferred_to_collection", Language::Da)
        .expect("sample");
    assert_eq!(
        r.render_text(
            "transferred_to_collection",
            Language::Da,
            TextPart::Sms,
            &transferred
        )
        .expect("ok"),
        None,
        "no SMS about a transfer"
    );
    let spec = r.spec("reminder_1").expect("spec");
    assert!(spec.attach_pdf && !r.spec("meeting_reminder").expect("spec").attach_pdf);
}

#[test]
fn text_parts_are_filled_in_with_local_amounts_and_dates_and_html_is_escaped() {
    let r = renderer();
    let mut input = r.sample_input("reminder_1", Language::Da).expect("sample");
    let sms = r
        .render_text("reminder_1", Language::Da, TextPart::Sms, &input)
        .expect("renders")
        .expect("has an SMS");
    assert!(
        sms.contains("5.534,50 kr.") && sms.contains("15. december 2026"),
        "{sms}"
    );
    assert!(!sms.contains('\n') && !sms.contains("{{"), "{sms}");
    assert!(
        sms.chars().count() <= 306,
        "at most two SMS segments: {} chars",
        sms.chars().count()
    );

    if let Some(r2) = input.recipient.as_mut() {
        r2.name = "Ane <b>Hansen</b> & Co".to_owned();
    }
    let html = r
        .render_text("reminder_1", Language::Da, TextPart::EmailHtml, &input)
        .expect("renders")
        .expect("has HTML");
    assert!(
        html.contains("Kære Ane &lt;b&gt;Hansen&lt;/b&gt; &amp; Co,"),
        "{html}"
    );
    assert!(
        html.starts_with("<!DOCTYPE html>") && html.contains("<p>"),
        "{html}"
    );
    let text = r
        .render_text("reminder_1", Language::Da, TextPart::EmailText, &input)
        .expect("renders")
        .expect("has text");
    assert!(text.contains("Kære Ane <b>Hansen</b> & Co,"), "{text}");

    input.recipient = None;
    let text = r
        .render_text("reminder_1", Language::Da, TextPart::EmailText, &input)
        .expect("renders")
        .expect("has text");
    assert!(text.starts_with("Kære modtager,"), "{text}");

    let nb = r.sample_input("reminder_1", Language::Nb).expect("sample");
    let sms = r
        .render_text("reminder_1", Language::Nb, TextPart::Sms, &nb)
        .expect("renders")
        .expect("has an SMS");
    assert!(
        sms.contains("kr 5 534,50") && sms.contains("15. desember 2026"),
        "{sms}"
    );
}

#[test]
fn every_text_part_renders_in_every_language_without_leftover_fields() {
    let r = renderer();
    for id in r.template_ids() {
        for language in LANGUAGES {
            let input = r.sample_input(id, language).expect("sample");
            for part in [
                TextPart::Sms,
                TextPart::EmailSubject,
                TextPart::EmailText,
                TextPart::EmailHtml,
            ] {
                let Some(text) = r.render_text(id, language, part, &input).expect("renders") else {
                    continue;
                };
                assert!(
                    !text.contains("{{") && !text.contains("}}"),
                    "{language}/{id} {part:?}: {text}"
                );
                assert!(!text.trim().is_empty(), "{language}/{id} {part:?} is empty");
                if part == TextPart::Sms {
                    assert!(
                        text.chars().count() <= 459,
                        "{language}/{id}: SMS over three segments"
                    );
                }
            }
        }
    }
}

#[test]
fn the_letterhead_comes_from_the_shipped_catalog() {
    #[derive(serde::Deserialize)]
    struct File {
        catalog: Catalog,
    }
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/restance.toml"),
    )
    .expect("config");
    let catalog = toml::from_str::<File>(&text).expect("catalog").catalog;
    let qeqqata = catalog.municipality("0957").expect("Qeqqata");
    let head = Letterhead::from_catalog(qeqqata, Some("sisimiut"));
    assert_eq!(head.office.as_deref(), Some("Sisimiut"));
    let mut input = renderer()
        .sample_input("reminder_1", Language::Kl)
        .expect("sample");
    input.letterhead = head;
    let pdf = renderer()
        .render_pdf("reminder_1", Language::Kl, &input)
        .expect("renders");
    assert!(pdf.pages >= 1 && pdf.bytes.starts_with(b"%PDF-"));
}

#[test]
fn an_incomplete_template_folder_is_refused_with_everything_that_is_missing() {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(&templates_dir(), dir.path());
    std::fs::remove_file(dir.path().join("nb/reminder_2.typ")).expect("remove");
    std::fs::remove_file(dir.path().join("kl/meeting_offer.sms.txt")).expect("remove");
    std::fs::remove_file(dir.path().join("samples/write_off_notice.json")).expect("remove");
    let manifest = std::fs::read_to_string(dir.path().join("manifest.toml")).expect("manifest");
    let without_report = manifest
        .split("[templates.report_ready]")
        .next()
        .expect("before report_ready")
        .to_owned();
    std::fs::write(dir.path().join("manifest.toml"), without_report).expect("write");
    let problems = load_problems(dir.path());
    let expected = [
        "manifest.toml: template report_ready is missing (the services send it)",
        "kl/meeting_offer.sms.txt: missing",
        "nb/reminder_2.typ: missing",
    ];
    for e in expected {
        assert!(
            problems.iter().any(|p| p == e),
            "{e:?} not in {problems:#?}"
        );
    }
    assert!(
        problems
            .iter()
            .any(|p| p
                == "samples/write_off_notice.json: missing (every template needs sample data)"),
        "{problems:#?}"
    );
    assert_eq!(problems.len(), 4, "{problems:#?}");
    let err = Renderer::load(dir.path()).expect_err("refused").to_string();
    assert!(
        err.contains("(4 problem(s)); fix them and start again"),
        "{err}"
    );
}

#[test]
fn a_template_that_does_not_render_its_sample_is_refused_with_file_and_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(&templates_dir(), dir.path());
    let path = dir.path().join("en/write_off_notice.typ");
    let text = std::fs::read_to_string(&path).expect("read");
    std::fs::write(
        &path,
        text.replace("#d.written_off_on", "#d.written_off_at"),
    )
    .expect("write");
    let sms = dir.path().join("da/reminder_1.sms.txt");
    std::fs::write(&sms, "Betal {{data.totl}} senest {{data.pay_by}}\n").expect("write");
    let problems = load_problems(dir.path());
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(
        problems[0].starts_with(
            "da/reminder_1.sms.txt: template reminder_1 (da) Sms: {{data.totl}} has no value"
        ),
        "{problems:#?}"
    );
    assert!(
        problems[1].starts_with("en/write_off_notice.typ: template write_off_notice (en) did not render: en/write_off_notice.typ:")
            && problems[1].contains("written_off_at"),
        "{problems:#?}"
    );
}

#[test]
fn no_templates_folder_says_where_it_looked() {
    let err = Renderer::load(Path::new("/nonexistent/templates"))
        .expect_err("refused")
        .to_string();
    assert!(
        err.contains("/nonexistent/templates/manifest.toml"),
        "{err}"
    );
    assert!(err.contains("RESTANCE__TEMPLATES__DIR"), "{err}");
}

/// A letter that switches on a field renders every branch in every language, not only the one
/// its sample takes (`campaign_notice`'s kl text once failed for the direct-debit drive alone).
#[test]
fn every_campaign_kind_renders_in_every_language() {
    let r = renderer();
    for kind in [
        "company_notice",
        "settlement_visit",
        "direct_debit",
        "information",
    ] {
        for language in LANGUAGES {
            let mut input = r.sample_input("campaign_notice", language).expect("sample");
            input.data["kind"] = serde_json::json!(kind);
            input.data["deadline"] = serde_json::json!("2027-02-01");
            input.data["signup"] = serde_json::json!("betalingsservice");
            let pdf = r.render_pdf("campaign_notice", language, &input);
            assert!(pdf.is_ok(), "{language}/{kind}: {:?}", pdf.err());
            for part in [TextPart::Sms, TextPart::EmailText] {
                let text = r
                    .render_text("campaign_notice", language, part, &input)
                    .unwrap_or_else(|e| panic!("{language}/{kind} {part:?}: {e}"));
                assert!(
                    text.is_some_and(|t| !t.trim().is_empty()),
                    "{language}/{kind} {part:?}"
                );
            }
        }
    }
}
