//! `restance bank import`: the sample files in tests/data (a Danish camt.054.001.02 with +71
//! references, a Norwegian camt.054.001.08 with KIDs, an OCR giro file) against the shipped
//! configuration; every bad input with its message; generated files round-trip their totals;
//! and the binary publishes into a fresh exchange on the local RabbitMQ, once per payment however
//! often the file is imported.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use indicatif::ProgressBar;
use proptest::prelude::*;
use restance_cli::bank::{self, Accounts, BankFile, Problem, sample};
use restance_contracts::{Message, PaymentChannel, PaymentReceived, validate_dynamic};
use restance_kernel::{BusinessDate, Catalog, Currency, Money};
use restance_runtime::Settings;

fn shipped_config() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/restance.toml")
}

fn catalog() -> Catalog {
    Settings::load_from("cli", Some(&shipped_config()), false)
        .expect("the shipped config/restance.toml loads")
        .catalog
}

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn read(catalog: &Catalog, paths: &[PathBuf]) -> Result<Vec<BankFile>, Vec<Problem>> {
    let accounts = Accounts::new(catalog, None).expect("accounts");
    bank::read_files(paths, &accounts, &|_: &Path| ProgressBar::hidden())
}

fn read_one(path: &Path) -> BankFile {
    let catalog = catalog();
    let mut files =
        read(&catalog, &[path.to_path_buf()]).unwrap_or_else(|p| panic!("{}", render(&p)));
    files.remove(0)
}

fn render(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The problems with `text` written to a file named `name`.
fn problems_of(name: &str, text: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write");
    match read(&catalog(), &[path]) {
        Ok(files) => panic!("{name} was accepted: {files:?}"),
        Err(problems) => render(&problems),
    }
}

fn sample_text(name: &str) -> String {
    std::fs::read_to_string(data(name)).expect("sample file")
}

fn dk() -> String {
    sample_text("dk-skanderborg.camt054.001.02.xml")
}

fn no() -> String {
    sample_text("no-kristiansand.camt054.001.08.xml")
}

fn ocr() -> String {
    sample_text("no-kristiansand.ocr.txt")
}

fn money(s: &str) -> Money {
    Money::parse(s).expect("amount")
}

fn assert_contract(p: &bank::BankPayment) {
    let data = serde_json::to_value(&p.envelope.data).expect("serialises");
    validate_dynamic(PaymentReceived::TYPE, &data).expect("passes the contract");
}

#[test]
fn a_danish_camt054_with_fik_references_gives_one_payment_per_transaction() {
    let file = read_one(&data("dk-skanderborg.camt054.001.02.xml"));
    assert_eq!(file.format.to_string(), "camt.054.001.02");
    let p: Vec<&PaymentReceived> = file.payments.iter().map(|p| &p.envelope.data).collect();
    assert_eq!(p.len(), 4, "{p:#?}");
    assert!(
        p.iter()
            .all(|p| p.municipality == "0746" && p.currency == Currency::Dkk)
    );
    assert_eq!(
        p.iter().map(|p| p.amount).collect::<Vec<_>>(),
        vec![
            money("1875.00"),
            money("1200.00"),
            money("1800.00"),
            money("850.00")
        ]
    );
    assert_eq!(
        p.iter().map(|p| p.channel).collect::<Vec<_>>(),
        vec![
            PaymentChannel::Fik,
            PaymentChannel::Fik,
            PaymentChannel::Fik,
            PaymentChannel::Transfer
        ]
    );
    assert_eq!(p[0].payment_reference.as_deref(), Some("000000000010017"));
    assert_eq!(
        p[1].payment_reference.as_deref(),
        Some("+71<000000000010025+85412345<")
    );
    assert_eq!(
        p[1].payer_national_id.as_ref().map(|v| v.expose().as_str()),
        Some("12345678")
    );
    assert_eq!(
        p[2].text.as_ref().map(|t| t.expose().as_str()),
        Some("Vand og varme 4. kvartal")
    );
    assert_eq!(
        p[3].payer_name.as_ref().map(|n| n.expose().as_str()),
        Some("Mette Larsen")
    );
    assert_eq!(
        p[0].booking_date,
        BusinessDate::new(2026, 12, 16).expect("date")
    );
    let skipped: Vec<(&str, &str)> = file
        .skipped
        .iter()
        .map(|s| (s.location.at.as_str(), s.reason.as_str()))
        .collect();
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    assert_eq!(
        skipped[0].0,
        "Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[4]"
    );
    assert!(skipped[0].1.contains("DBIT"), "{}", skipped[0].1);
    assert!(skipped[1].1.contains("PDNG"), "{}", skipped[1].1);
    assert_eq!(
        file.payments[2].location.at,
        "Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[2]/NtryDtls/TxDtls[2]"
    );
    file.payments.iter().for_each(assert_contract);
    assert_eq!(
        file.totals(),
        BTreeMap::from([(Currency::Dkk, (4, money("5725.00")))])
    );
}

#[test]
fn a_norwegian_camt054_08_with_kid_and_an_rf_reference() {
    let file = read_one(&data("no-kristiansand.camt054.001.08.xml"));
    assert_eq!(file.format.to_string(), "camt.054.001.08");
    let p: Vec<&PaymentReceived> = file.payments.iter().map(|p| &p.envelope.data).collect();
    assert_eq!(p.len(), 3);
    assert!(
        p.iter()
            .all(|p| p.municipality == "4204" && p.currency == Currency::Nok)
    );
    assert_eq!(p[0].channel, PaymentChannel::Kid);
    assert_eq!(p[0].payment_reference.as_deref(), Some("000000000050013"));
    assert_eq!(
        p[0].payer_name.as_ref().map(|n| n.expose().as_str()),
        Some("Kari Nordmann")
    );
    // an RF reference is not a KID: kept as text, matched by payer
    assert_eq!(p[2].channel, PaymentChannel::Transfer);
    assert_eq!(p[2].payment_reference, None);
    assert_eq!(
        p[2].text.as_ref().map(|t| t.expose().as_str()),
        Some("RF18539007547034")
    );
    file.payments.iter().for_each(assert_contract);
    assert_eq!(
        file.totals(),
        BTreeMap::from([(Currency::Nok, (3, money("6140.50")))])
    );
}

#[test]
fn an_ocr_giro_file_gives_its_kid_payments() {
    let file = read_one(&data("no-kristiansand.ocr.txt"));
    assert_eq!(file.format.to_string(), "OCR giro");
    let p: Vec<&PaymentReceived> = file.payments.iter().map(|p| &p.envelope.data).collect();
    assert_eq!(p.len(), 3);
    assert!(
        p.iter()
            .all(|p| p.channel == PaymentChannel::Kid && p.municipality == "4204")
    );
    assert_eq!(p[0].amount, money("1875.00"));
    assert_eq!(p[0].payment_reference.as_deref(), Some("000000000050039"));
    assert_eq!(
        p[0].booking_date,
        BusinessDate::new(2026, 12, 16).expect("date")
    );
    assert_eq!(file.payments[1].location.at, "line 5");
    file.payments.iter().for_each(assert_contract);
    assert_eq!(
        file.totals(),
        BTreeMap::from([(Currency::Nok, (3, money("2315.50")))])
    );
}

#[test]
fn the_same_entry_gets_the_same_ids_on_every_import_and_is_published_once() {
    let path = data("dk-skanderborg.camt054.001.02.xml");
    let first = read_one(&path);
    let again = read_one(&path);
    assert_eq!(first.payments, again.payments, "same ids, same bytes");
    let ids: std::collections::HashSet<_> = first
        .payments
        .iter()
        .map(|p| (p.envelope.id.clone(), p.envelope.data.payment_id.clone()))
        .collect();
    assert_eq!(ids.len(), 4, "every payment its own ids");
    // the same file twice in one command: each payment once
    let both = read(&catalog(), &[path.clone(), path]).expect("reads");
    assert_eq!(both.iter().map(|f| f.payments.len()).sum::<usize>(), 4);
}

#[test]
fn the_summary_has_counts_amounts_and_skipped_entries_but_no_payer() {
    let catalog = catalog();
    let files = read(
        &catalog,
        &[
            data("dk-skanderborg.camt054.001.02.xml"),
            data("no-kristiansand.ocr.txt"),
        ],
    )
    .expect("reads");
    let summary = bank::render_summary(&files, &catalog);
    assert!(
        summary.contains("4 payment(s) to 0746 Skanderborg Kommune: DKK 5725.00 (4); 2 skipped"),
        "{summary}"
    );
    assert!(
        summary.contains("skipped Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[4]: a debit"),
        "{summary}"
    );
    assert!(
        summary.contains(
            "total: 2 file(s), 7 payment(s): DKK 5725.00 (4), NOK 2315.50 (3); 2 skipped"
        ),
        "{summary}"
    );
    for personal in ["Anna", "Jensen", "Mette", "12345678", "Faktura"] {
        assert!(!summary.contains(personal), "{personal} in {summary}");
    }
}

#[test]
fn a_long_list_of_skipped_entries_is_cut_and_counted_by_reason() {
    let catalog = catalog();
    let m = catalog.municipality("0746").expect("configured");
    let date = BusinessDate::new(2026, 12, 16).expect("date");
    let mut out = Vec::new();
    let expected = sample::camt054(&mut out, m, 2, 4000, 7, date).expect("generates");
    let file = import_generated(&out, "many.xml");
    let summary = bank::render_summary(std::slice::from_ref(&file), &catalog);
    let listed = summary
        .lines()
        .filter(|l| l.starts_with("  skipped "))
        .count();
    assert_eq!(listed, bank::MAX_SKIPPED_SHOWN);
    let rest = expected.skipped as usize - bank::MAX_SKIPPED_SHOWN;
    assert!(
        summary.contains(&format!(
            "  … and {rest} more skipped: a debit (CdtDbtInd DBIT)"
        )),
        "{summary}"
    );
}

#[test]
fn a_camt054_declared_in_iso_8859_1_is_read() {
    let latin1: Vec<u8> = dk()
        .replace("encoding=\"UTF-8\"", "encoding=\"ISO-8859-1\"")
        .chars()
        .map(|c| u8::try_from(u32::from(c)).expect("Latin-1"))
        .collect();
    let file = import_generated(&latin1, "latin1.xml");
    assert_eq!(file.payments.len(), 4);
    assert_eq!(
        file.payments[1]
            .envelope
            .data
            .payer_name
            .as_ref()
            .map(|n| n.expose().as_str()),
        Some("Tømrerfirma Hansen ApS")
    );
}

// ---- camt.054: every bad input is refused with where and why ---------------------------------

fn assert_refused(name: &str, text: &str, expected: &[&str]) {
    let problems = problems_of(name, text);
    for e in expected {
        assert!(problems.contains(e), "expected {e:?} in:\n{problems}");
    }
    assert!(problems.contains(name), "the file is named: {problems}");
}

#[test]
fn a_camt053_statement_is_not_a_camt054() {
    assert_refused(
        "statement.xml",
        &dk().replace("camt.054.001.02", "camt.053.001.02"),
        &[
            "the root element is Document in namespace urn:iso:std:iso:20022:tech:xsd:camt.053.001.02",
            "expected Document in",
        ],
    );
}

#[test]
fn an_unsupported_camt054_version_is_refused() {
    assert_refused(
        "v9.xml",
        &dk().replace("camt.054.001.02", "camt.054.001.09"),
        &["camt.054.001.09"],
    );
}

#[test]
fn a_wrong_root_element_is_refused() {
    assert_refused(
        "pain.xml",
        "<?xml version=\"1.0\"?><CstmrCdtTrfInitn xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.054.001.02\"/>",
        &["the root element is CstmrCdtTrfInitn"],
    );
}

#[test]
fn broken_xml_is_refused_with_its_line() {
    let text = dk().replace("<CdtDbtInd>DBIT</CdtDbtInd>", "<CdtDbtInd>DBIT</CdtDbtIn>");
    let problems = problems_of("broken.xml", &text);
    assert!(
        problems.contains("not a readable camt.054 document"),
        "{problems}"
    );
    assert!(
        problems.contains("broken.xml: line 103: "),
        "the line: {problems}"
    );
}

#[test]
fn an_amount_with_three_decimals_is_refused_with_its_element() {
    assert_refused(
        "amount.xml",
        &dk().replace(
            r#"<Amt Ccy="DKK">850.00</Amt>"#,
            r#"<Amt Ccy="DKK">850.005</Amt>"#,
        ),
        &["Ntfctn[1]/Ntry[3]/Amt: amount \"850.005\" is not a decimal amount"],
    );
}

#[test]
fn a_negative_or_zero_amount_is_refused() {
    assert_refused(
        "zero.xml",
        &dk().replace(
            r#"<Amt Ccy="DKK">850.00</Amt>"#,
            r#"<Amt Ccy="DKK">0.00</Amt>"#,
        ),
        &["Ntry[3]/Amt: amount 0.00: a payment must be more than zero"],
    );
}

#[test]
fn a_foreign_currency_is_refused() {
    assert_refused(
        "eur.xml",
        &dk().replace(
            r#"<Amt Ccy="DKK">850.00</Amt>"#,
            r#"<Amt Ccy="EUR">850.00</Amt>"#,
        ),
        &["Ntry[3]/Amt/@Ccy: currency EUR: only DKK and NOK accounts are booked"],
    );
    assert_refused(
        "nok.xml",
        &dk().replace(
            r#"<Amt Ccy="DKK">850.00</Amt>"#,
            r#"<Amt Ccy="NOK">850.00</Amt>"#,
        ),
        &["Ntry[3]/Amt/@Ccy: currency NOK, but Skanderborg Kommune bills in DKK"],
    );
}

#[test]
fn a_fik_reference_whose_check_digit_fails_is_refused() {
    assert_refused(
        "fik.xml",
        &dk().replace("<Ref>000000000010017</Ref>", "<Ref>000000000010018</Ref>"),
        &[
            "Ntry[1]/NtryDtls/TxDtls[1]/RmtInf/Strd[1]/CdtrRefInf/Ref: FI-kort +71 reference 000000000010018: FI-kort payment id check digit does not match",
        ],
    );
}

#[test]
fn a_kid_whose_check_digit_fails_is_refused() {
    assert_refused(
        "kid.xml",
        &no().replace("<Ref>000000000050021</Ref>", "<Ref>000000000050022</Ref>"),
        &[
            "TxDtls[2]/RmtInf/Strd[1]/CdtrRefInf/Ref: KID 000000000050022: KID check digit does not match (MOD10, as configured)",
        ],
    );
}

#[test]
fn an_rf_reference_whose_check_digits_fail_is_refused() {
    assert_refused(
        "rf.xml",
        &no().replace("RF18539007547034", "RF19539007547034"),
        &["RF creditor reference RF19539007547034 fails its check digits (ISO 11649)"],
    );
}

#[test]
fn an_account_of_no_municipality_is_refused() {
    assert_refused(
        "account.xml",
        &dk().replace("DK5870000001234567", "DK0870000009999999"),
        &[
            "Ntfctn[1]/Acct/Id/IBAN: account DK0870000009999999 is not the bank account of any configured municipality",
        ],
    );
    assert_refused(
        "iban.xml",
        &dk().replace("DK5870000001234567", "DK5970000001234567"),
        &["is not a valid IBAN"],
    );
}

#[test]
fn transactions_that_do_not_add_up_to_their_entry_are_refused() {
    assert_refused(
        "batch.xml",
        &dk().replace(
            r#"<Amt Ccy="DKK">1800.00</Amt>"#,
            r#"<Amt Ccy="DKK">1700.00</Amt>"#,
        ),
        &["Ntry[2]/Amt: 3000.00 but its transactions (NtryDtls/TxDtls) sum to 2900.00"],
    );
}

#[test]
fn a_summary_that_does_not_match_the_entries_is_refused() {
    assert_refused(
        "summary.xml",
        &dk().replace("<Sum>6300.00</Sum>", "<Sum>6400.00</Sum>"),
        &["TxsSummry/TtlCdtNtries/Sum: says 6400.00 but the credit entries sum to 6300.00"],
    );
}

#[test]
fn an_entry_without_the_banks_reference_is_refused() {
    let text = dk()
        .replace("<AcctSvcrRef>7000-20261216-000003</AcctSvcrRef>", "")
        .replace("<NtryRef>3</NtryRef>", "");
    assert_refused(
        "noref.xml",
        &text,
        &["Ntry[3]/AcctSvcrRef: missing, and no NtryRef either"],
    );
}

#[test]
fn a_missing_account_or_date_is_refused() {
    assert_refused(
        "noacct.xml",
        &dk().replace("<Id><IBAN>DK5870000001234567</IBAN></Id>", ""),
        &["Ntfctn[1]/Acct/Id: missing"],
    );
    assert_refused(
        "nodate.xml",
        &dk().replace(
            "<Dt>2026-12-16</Dt></BookgDt>",
            "<Dt>16.12.2026</Dt></BookgDt>",
        ),
        &["Ntry[1]/BookgDt/Dt: \"16.12.2026\" is not a date"],
    );
}

#[test]
fn one_bad_file_stops_the_good_ones_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.xml");
    std::fs::write(
        &bad,
        dk().replace("<Ref>000000000010017</Ref>", "<Ref>000000000010018</Ref>"),
    )
    .expect("write");
    let result = read(&catalog(), &[data("no-kristiansand.ocr.txt"), bad]);
    let problems = result.expect_err("all or nothing");
    assert_eq!(problems.len(), 1, "{}", render(&problems));
}

// ---- OCR giro ---------------------------------------------------------------------------------

fn ocr_lines() -> Vec<String> {
    ocr().lines().map(str::to_owned).collect()
}

fn ocr_with(change: impl FnOnce(&mut Vec<String>)) -> String {
    let mut lines = ocr_lines();
    change(&mut lines);
    lines.join("\n") + "\n"
}

#[test]
fn an_ocr_record_of_the_wrong_length_is_refused_with_its_line() {
    assert_refused(
        "short.ocr",
        &ocr_with(|l| l[4].truncate(79)),
        &["short.ocr: line 5: a record is 80 ASCII characters, this one has 79"],
    );
}

#[test]
fn an_ocr_record_of_an_unknown_type_is_refused() {
    assert_refused(
        "type.ocr",
        &ocr_with(|l| l[4].replace_range(6..8, "33")),
        &["line 5: record type 33: OCR giro has 10, 20, 30, 31, 32, 88 and 89"],
    );
}

#[test]
fn a_file_that_is_not_ocr_giro_is_refused() {
    assert_refused(
        "notes.txt",
        "Dear municipality,\nplease find the payments attached.\n",
        &["notes.txt: line 1: a record is 80 ASCII characters"],
    );
    assert_refused(
        "other.ocr",
        &ocr_with(|l| l[0].replace_range(0..2, "XX")),
        &["line 1: format code \"XX\", expected NY (positions 1-2): not an OCR giro file"],
    );
}

#[test]
fn transmission_totals_that_do_not_match_are_refused() {
    // record 89: the sum (positions 25-41) one øre more
    assert_refused(
        "sum89.ocr",
        &ocr_with(|l| l[9].replace_range(24..41, "00000000000231551")),
        &["line 10: the transmission end says the amounts sum to 2315.51 but they sum to 2315.50"],
    );
    assert_refused(
        "count89.ocr",
        &ocr_with(|l| l[9].replace_range(8..16, "00000004")),
        &["line 10: the transmission end says 4 transactions but the transmission has 3"],
    );
    assert_refused(
        "records88.ocr",
        &ocr_with(|l| l[8].replace_range(16..24, "00000009")),
        &["line 9: the assignment end says 9 records but the assignment has 8"],
    );
}

#[test]
fn a_truncated_ocr_file_is_refused() {
    assert_refused(
        "cut.ocr",
        &ocr_with(|l| l.truncate(7)),
        &["line 7: the file ends without a transmission end (record type 89): truncated?"],
    );
}

#[test]
fn an_ocr_kid_whose_check_digit_fails_is_refused() {
    assert_refused(
        "kid.ocr",
        &ocr_with(|l| l[2].replace_range(73..74, "8")),
        &["line 3: KID 000000000050038: KID check digit does not match"],
    );
}

#[test]
fn an_amount_item_2_must_follow_its_item_1() {
    assert_refused(
        "order.ocr",
        &ocr_with(|l| l.swap(2, 3)),
        &["line 3: amount item 2 (31) without an amount item 1 (30) before it"],
    );
}

#[test]
fn only_the_ocr_giro_service_is_read() {
    assert_refused(
        "service.ocr",
        &ocr_with(|l| l[1].replace_range(2..4, "21")),
        &["line 2: service code 21: only OCR giro (09) is read"],
    );
}

// ---- generated files round-trip their totals --------------------------------------------------

fn municipality<'c>(catalog: &'c Catalog, code: &str) -> &'c restance_kernel::Municipality {
    catalog.municipality(code).expect("configured")
}

fn import_generated(text: &[u8], name: &str) -> BankFile {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write");
    read_one(&path)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn a_generated_camt054_reads_back_its_count_and_sum(
        entries in 0u64..60,
        version in 2u32..=8,
        seed in any::<u64>(),
        code in prop::sample::select(vec!["0746", "0957", "4204"]),
    ) {
        let catalog = catalog();
        let m = municipality(&catalog, code);
        let date = BusinessDate::new(2026, 12, 16).expect("date");
        let mut out = Vec::new();
        let expected = sample::camt054(&mut out, m, version, entries, seed, date).expect("generates");
        let file = import_generated(&out, "generated.xml");
        let totals = file.totals();
        let (count, sum) = totals.get(&m.currency).copied().unwrap_or((0, Money::ZERO));
        prop_assert_eq!(count, expected.payments);
        prop_assert_eq!(sum, expected.sum);
        prop_assert_eq!(file.skipped.len() as u64, expected.skipped);
        prop_assert!(totals.keys().all(|c| *c == m.currency));
    }

    #[test]
    fn a_generated_ocr_giro_file_reads_back_its_count_and_sum(
        entries in 0u64..80,
        seed in any::<u64>(),
    ) {
        let catalog = catalog();
        let m = municipality(&catalog, "4204");
        let date = BusinessDate::new(2026, 12, 16).expect("date");
        let mut out = Vec::new();
        let expected = sample::ocr_giro(&mut out, m, entries, seed, date).expect("generates");
        let file = import_generated(&out, "generated.ocr");
        let (count, sum) = file.totals().get(&Currency::Nok).copied().unwrap_or((0, Money::ZERO));
        prop_assert_eq!(count, expected.payments);
        prop_assert_eq!(sum, expected.sum);
    }
}
