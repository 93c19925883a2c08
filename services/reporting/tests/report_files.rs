//! The report files read back as a finance office's tools read them: the workbook with a
//! spreadsheet reader (calamine) and as the zip it is (for the charts, which readers skip), the
//! CSV as Danish Excel splits it, the SVG with an XML parser. Every expected figure is computed
//! here from the report's inputs, not taken from the code under test.

use std::collections::BTreeSet;
use std::io::{Cursor, Read};

use calamine::{Data, Range, Reader, Xlsx};
use restance_kernel::{BusinessDate, Currency, Language, Money};
use restance_reporting::files::{self, FilesError, ReportFileBytes};
use restance_reporting::report::{
    AgeBucket, AgeRow, ArrearsState, DirectDebit, Figures, Flow, HistoryPoint, PeriodFlows, Report,
    ReportKind, Row, StateRow, compare_date, report_id,
};
use sha2::{Digest, Sha256};

fn date(s: &str) -> BusinessDate {
    s.parse().expect("test date")
}

fn kr(s: &str) -> Money {
    Money::parse(s).expect("test amount")
}

fn figures(principal: &str, fees: &str, interest: &str, claims: u64, debtors: u64) -> Figures {
    Figures::new(kr(principal), kr(fees), kr(interest), claims, debtors)
}

/// One category as the test states it: key, name, (principal, fees, interest, claims,
/// debtors) now, and the total 12 months earlier if there is one.
struct Case {
    key: &'static str,
    name: &'static str,
    now: (&'static str, &'static str, &'static str, u64, u64),
    then: Option<&'static str>,
}

const CATEGORIES: [Case; 5] = [
    Case {
        key: "daycare",
        name: "Daginstitution",
        now: ("110000.00", "6000.00", "4000.00", 40, 35),
        then: Some("100000.00"),
    },
    Case {
        key: "property_tax",
        name: "Ejendomsskat",
        now: ("240000.50", "5000.00", "5000.00", 12, 12),
        then: Some("300000.00"),
    },
    Case {
        key: "rent",
        name: "Husleje; bolig",
        now: ("80000.00", "0.00", "0.00", 9, 9),
        then: Some("60000.00"),
    },
    Case {
        key: "water",
        name: "Vand & \"varme\"",
        now: ("5000.00", "0.00", "0.00", 3, 3),
        then: None,
    },
    Case {
        key: "after_school",
        name: "SFO",
        now: ("0.00", "0.00", "0.00", 0, 0),
        then: Some("0.00"),
    },
];

/// Skanderborg's monthly report for January 2027, every section filled.
fn january_report(language: Language) -> Report {
    let as_of = date("2027-01-31");
    let categories = CATEGORIES
        .iter()
        .map(|c| Row {
            key: c.key.to_owned(),
            name: c.name.to_owned(),
            now: figures(c.now.0, c.now.1, c.now.2, c.now.3, c.now.4),
            then: c.then.map(|t| figures(t, "0", "0", 1, 1)),
        })
        .collect();
    let state = |state, now: &str, then: Option<&str>| StateRow {
        state,
        now: figures(now, "0", "0", 1, 1),
        then: then.map(|t| figures(t, "0", "0", 1, 1)),
    };
    let office = |key: &str, name: &str, now: &str| Row {
        key: key.to_owned(),
        name: name.to_owned(),
        now: figures(now, "0", "0", 1, 1),
        then: None,
    };
    let age = |bucket, now: &str| AgeRow {
        bucket,
        now: figures(now, "0", "0", 2, 2),
    };
    let history = (0..13_u32)
        .filter(|i| *i != 4) // one month without data: a gap, not a zero
        .map(|i| HistoryPoint {
            month_end: date("2026-01-01").add_months(i).last_of_month(),
            total: Money::from_minor(40_000_000 + i64::from(i) * 100_000),
        })
        .collect();
    Report {
        report_id: report_id(ReportKind::Monthly, "0746", as_of),
        kind: ReportKind::Monthly,
        municipality: "0746".to_owned(),
        municipality_name: "Skanderborg Kommune".to_owned(),
        currency: Currency::Dkk,
        language,
        period_start: date("2027-01-01"),
        as_of,
        compare_as_of: compare_date(as_of),
        categories,
        debtors_now: 55,
        debtors_then: Some(50),
        states: vec![
            state(ArrearsState::Open, "300000.50", Some("350000.00")),
            state(ArrearsState::UnderPlan, "100000.00", Some("80000.00")),
            state(ArrearsState::Deferred, "5000.00", None),
            state(ArrearsState::Transferred, "50000.00", Some("30000.00")),
        ],
        offices: vec![
            office("main", "Opkrævningen", "400000.50"),
            office("north", "Nord & Syd <Øst>", "55000.00"),
        ],
        ages: vec![
            age(AgeBucket::Days0To30, "100000.00"),
            age(AgeBucket::Days31To90, "150000.00"),
            age(AgeBucket::Days91To365, "105000.50"),
            age(AgeBucket::Over365, "100000.00"),
        ],
        direct_debit: DirectDebit {
            claims: 16,
            amount: kr("45500.05"),
        },
        flows: PeriodFlows {
            transfers: Flow {
                count: 2,
                amount: kr("15000.00"),
            },
            write_offs: Flow {
                count: 1,
                amount: kr("2500.00"),
            },
            new_arrears: Some(Flow {
                count: 20,
                amount: kr("44000.00"),
            }),
            payments: Some(Flow {
                count: 130,
                amount: kr("98000.00"),
            }),
            payments_by_direct_debit: Some(Flow {
                count: 70,
                amount: kr("51000.00"),
            }),
        },
        history,
        generated_on: date("2027-02-01"),
        measures: Vec::new(),
        prepayments: Default::default(),
        campaigns: Vec::new(),
        members: Vec::new(),
    }
}

fn render(report: &Report) -> Vec<ReportFileBytes> {
    files::render_all(report).expect("the report renders")
}

fn file<'a>(files: &'a [ReportFileBytes], suffix: &str) -> &'a ReportFileBytes {
    files
        .iter()
        .find(|f| f.name.ends_with(suffix))
        .unwrap_or_else(|| panic!("no {suffix} file"))
}

fn workbook(bytes: &[u8]) -> Xlsx<Cursor<Vec<u8>>> {
    Xlsx::new(Cursor::new(bytes.to_vec())).expect("calamine opens the workbook")
}

fn zip_entry(bytes: &[u8], name: &str) -> Option<String> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("the xlsx is a zip");
    let mut entry = archive.by_name(name).ok()?;
    let mut text = String::new();
    entry.read_to_string(&mut text).expect("utf-8 part");
    Some(text)
}

/// The cell at an A1 reference, e.g. `B11`.
fn cell(range: &Range<Data>, a1: &str) -> Data {
    let letters: String = a1.chars().take_while(char::is_ascii_alphabetic).collect();
    let number: u32 = a1[letters.len()..].parse().expect("row number");
    let col = letters
        .bytes()
        .fold(0_u32, |acc, b| acc * 26 + u32::from(b - b'A' + 1))
        - 1;
    range
        .get_value((number - 1, col))
        .cloned()
        .unwrap_or(Data::Empty)
}

/// A cell as text: strings as they are, numbers with `decimals` decimals, blanks empty.
fn shown(data: &Data, decimals: usize) -> String {
    match data {
        Data::String(s) => s.clone(),
        Data::Float(f) => format!("{f:.decimals$}"),
        Data::Int(i) => format!("{i}"),
        Data::Empty => String::new(),
        other => format!("{other:?}"),
    }
}

fn money_cell(range: &Range<Data>, a1: &str) -> String {
    shown(&cell(range, a1), 2)
}

/// `(now − then) / |then|` to six decimals, as the change-% cell holds it.
fn ratio(now: Money, then: Money) -> String {
    let r = (now.as_decimal() - then.as_decimal()) / then.as_decimal().abs();
    format!("{:.6}", r.round_dp(6))
}

#[test]
fn a_monthly_report_gives_an_xlsx_a_csv_and_an_svg_named_after_the_month() {
    let files = render(&january_report(Language::Da));
    let names: Vec<(&str, &str)> = files
        .iter()
        .map(|f| (f.name.as_str(), f.media_type))
        .collect();
    assert_eq!(
        names,
        vec![
            (
                "arrears-0746-2027-01.xlsx",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            ),
            ("arrears-0746-2027-01.csv", "text/csv; charset=utf-8"),
            ("arrears-0746-2027-01.svg", "image/svg+xml"),
        ]
    );
}

#[test]
fn a_quarterly_report_is_named_after_its_quarter() {
    let mut report = january_report(Language::Nb);
    report.kind = ReportKind::Quarterly;
    report.period_start = date("2026-10-01");
    report.as_of = date("2026-12-31");
    report.compare_as_of = compare_date(report.as_of);
    report.report_id = report_id(ReportKind::Quarterly, "0746", report.as_of);
    let files = render(&report);
    assert_eq!(files[0].name, "arrears-0746-2026-q4.xlsx");
    let mut wb = workbook(&files[0].bytes);
    let sheet = wb.worksheet_range("Restanser").expect("Norwegian sheet");
    assert_eq!(
        shown(&cell(&sheet, "A1"), 0),
        "Kvartalsrapport: restanser per kategori"
    );
}

#[test]
fn the_same_report_always_gives_the_same_bytes() {
    let report = january_report(Language::Da);
    let first = render(&report);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = render(&report);
    for (a, b) in first.iter().zip(&second) {
        assert_eq!(
            hex::encode(Sha256::digest(&a.bytes)),
            hex::encode(Sha256::digest(&b.bytes)),
            "{} differs between two renderings",
            a.name
        );
    }
    // The workbook's dates are the production day, not the wall clock.
    let core = zip_entry(&first[0].bytes, "docProps/core.xml").expect("core properties");
    assert!(core.contains("2027-02-01T00:00:00Z"), "{core}");
}

#[test]
fn the_workbook_opens_with_a_reader_and_names_its_sheets_in_the_reports_language() {
    let files = render(&january_report(Language::Da));
    let wb = workbook(&file(&files, ".xlsx").bytes);
    assert_eq!(
        wb.sheet_names(),
        vec![
            "Restancer",
            "Resumé",
            "Status",
            "Kontorer",
            "Alder",
            "Perioden",
            "Udvikling"
        ]
    );
    let english = render(&january_report(Language::En));
    let wb = workbook(&english[0].bytes);
    assert_eq!(wb.sheet_names()[0], "Arrears");
}

#[test]
fn the_arrears_sheet_holds_every_category_now_and_twelve_months_earlier_cell_by_cell() {
    let report = january_report(Language::Da);
    let files = render(&report);
    let mut wb = workbook(&file(&files, ".xlsx").bytes);
    let sheet = wb.worksheet_range("Restancer").expect("arrears sheet");

    assert_eq!(
        shown(&cell(&sheet, "A1"), 0),
        "Månedsrapport: restancer pr. kategori"
    );
    assert_eq!(shown(&cell(&sheet, "B2"), 0), "Skanderborg Kommune (0746)");
    assert_eq!(shown(&cell(&sheet, "B3"), 0), "01.01.2027 – 31.01.2027");
    assert_eq!(shown(&cell(&sheet, "B4"), 0), "31.01.2027");
    assert_eq!(shown(&cell(&sheet, "B5"), 0), "31.01.2026");
    assert_eq!(shown(&cell(&sheet, "B6"), 0), "DKK");
    assert_eq!(shown(&cell(&sheet, "B8"), 0), "monthly-0746-2027-01-31");
    let header: Vec<String> = "ABCDEFGHIJ"
        .chars()
        .map(|c| shown(&cell(&sheet, &format!("{c}10")), 0))
        .collect();
    assert_eq!(
        header,
        vec![
            "Kategori",
            "Restancer 31.01.2027",
            "Hovedstol",
            "Gebyrer",
            "Renter",
            "Krav",
            "Skyldnere",
            "Restancer 31.01.2026",
            "Ændring kr.",
            "Ændring %"
        ]
    );

    let (mut sum_now, mut sum_then, mut claims) = (Money::ZERO, Money::ZERO, 0_u64);
    for (i, case) in CATEGORIES.iter().enumerate() {
        let r = 11 + i;
        let (p, f, int, c, d) = case.now;
        let total = kr(p) + kr(f) + kr(int);
        sum_now += total;
        claims += c;
        assert_eq!(shown(&cell(&sheet, &format!("A{r}")), 0), case.name);
        assert_eq!(
            money_cell(&sheet, &format!("B{r}")),
            total.to_string(),
            "{}",
            case.key
        );
        assert_eq!(money_cell(&sheet, &format!("C{r}")), kr(p).to_string());
        assert_eq!(money_cell(&sheet, &format!("D{r}")), kr(f).to_string());
        assert_eq!(money_cell(&sheet, &format!("E{r}")), kr(int).to_string());
        assert_eq!(shown(&cell(&sheet, &format!("F{r}")), 0), c.to_string());
        assert_eq!(shown(&cell(&sheet, &format!("G{r}")), 0), d.to_string());
        match case.then {
            Some(then) => {
                let then = kr(then);
                sum_then += then;
                assert_eq!(money_cell(&sheet, &format!("H{r}")), then.to_string());
                assert_eq!(
                    money_cell(&sheet, &format!("I{r}")),
                    (total - then).to_string(),
                    "{}",
                    case.key
                );
                let percent = shown(&cell(&sheet, &format!("J{r}")), 6);
                if then.is_zero() {
                    assert_eq!(percent, "–", "no percentage from nothing");
                } else {
                    assert_eq!(percent, ratio(total, then), "{}", case.key);
                }
            }
            None => {
                for c in ["H", "I", "J"] {
                    assert_eq!(
                        cell(&sheet, &format!("{c}{r}")),
                        Data::Empty,
                        "{} {c}",
                        case.key
                    );
                }
            }
        }
    }

    // The bold total row: sums now and then, distinct debtors, the total change.
    assert_eq!(shown(&cell(&sheet, "A16"), 0), "I alt");
    assert_eq!(money_cell(&sheet, "B16"), sum_now.to_string());
    assert_eq!(money_cell(&sheet, "C16"), kr("435000.50").to_string());
    assert_eq!(money_cell(&sheet, "D16"), kr("11000.00").to_string());
    assert_eq!(money_cell(&sheet, "E16"), kr("9000.00").to_string());
    assert_eq!(shown(&cell(&sheet, "F16"), 0), claims.to_string());
    assert_eq!(shown(&cell(&sheet, "G16"), 0), "55");
    assert_eq!(money_cell(&sheet, "H16"), sum_then.to_string());
    assert_eq!(money_cell(&sheet, "I16"), (sum_now - sum_then).to_string());
    assert_eq!(shown(&cell(&sheet, "J16"), 6), ratio(sum_now, sum_then));

    // The totals and changes are formulas Excel recalculates.
    let formulas = wb.worksheet_formula("Restancer").expect("formulas");
    let formula = |a1: &str| shown(&cell_formula(&formulas, a1), 0);
    assert_eq!(formula("B16"), "SUM(B11:B15)");
    assert_eq!(formula("F16"), "SUM(F11:F15)");
    assert_eq!(formula("H16"), "SUM(H11:H15)");
    assert_eq!(formula("I11"), "B11-H11");
    assert_eq!(formula("J11"), "IF(H11=0,\"–\",(B11-H11)/ABS(H11))");
    assert_eq!(
        formula("G16"),
        "",
        "distinct debtors are a value, not a SUM"
    );
}

fn cell_formula(range: &Range<String>, a1: &str) -> Data {
    let letters: String = a1.chars().take_while(char::is_ascii_alphabetic).collect();
    let number: u32 = a1[letters.len()..].parse().expect("row number");
    let col = letters
        .bytes()
        .fold(0_u32, |acc, b| acc * 26 + u32::from(b - b'A' + 1))
        - 1;
    range
        .get_value((number - 1, col))
        .filter(|s| !s.is_empty())
        .map(|s| Data::String(s.clone()))
        .unwrap_or(Data::Empty)
}

#[test]
fn the_workbook_holds_a_native_column_chart_of_every_category_and_a_history_line() {
    let files = render(&january_report(Language::Da));
    let bytes = &file(&files, ".xlsx").bytes;
    let chart = zip_entry(bytes, "xl/charts/chart1.xml").expect("xl/charts/chart1.xml");
    assert!(chart.contains("<c:barChart>"), "a bar chart");
    assert!(chart.contains(r#"<c:barDir val="col"/>"#), "with columns");
    assert!(
        chart.contains(r#"<c:grouping val="clustered"/>"#),
        "clustered"
    );
    for range in [
        "Restancer!$A$11:$A$15",
        "Restancer!$H$11:$H$15",
        "Restancer!$B$11:$B$15",
    ] {
        assert!(chart.contains(range), "chart1 references {range}");
    }
    let drawing = zip_entry(bytes, "xl/worksheets/_rels/sheet1.xml.rels").expect("sheet1 rels");
    assert!(
        drawing.contains("drawing1.xml"),
        "the chart is on the arrears sheet"
    );

    let history = zip_entry(bytes, "xl/charts/chart2.xml").expect("xl/charts/chart2.xml");
    assert!(history.contains("<c:lineChart>"));
    assert!(
        history.contains("Udvikling!$B$11:$B$22"),
        "12 month-ends with data"
    );
}

#[test]
fn the_other_sheets_hold_states_offices_ages_flows_history_and_the_summary() {
    let report = january_report(Language::Da);
    let files = render(&report);
    let mut wb = workbook(&file(&files, ".xlsx").bytes);

    let states = wb.worksheet_range("Status").expect("states");
    let labels: Vec<String> = (11..=14)
        .map(|r| shown(&cell(&states, &format!("A{r}")), 0))
        .collect();
    assert_eq!(
        labels,
        vec![
            "Åben",
            "Afdragsordning",
            "Henstand",
            "Overdraget til inddrivelse"
        ]
    );
    assert_eq!(money_cell(&states, "B15"), "455000.50");
    assert_eq!(
        money_cell(&states, "H15"),
        "460000.00",
        "Deferred has no history"
    );
    assert_eq!(cell(&states, "H13"), Data::Empty);

    let offices = wb.worksheet_range("Kontorer").expect("offices");
    assert_eq!(shown(&cell(&offices, "A12"), 0), "Nord & Syd <Øst>");
    assert_eq!(money_cell(&offices, "B13"), "455000.50");
    assert_eq!(
        cell(&offices, "H13"),
        Data::Empty,
        "no office history at all"
    );

    let ages = wb.worksheet_range("Alder").expect("ages");
    assert_eq!(shown(&cell(&ages, "A14"), 0), "Over 1 år");
    assert_eq!(money_cell(&ages, "B12"), "150000.00");
    assert_eq!(
        shown(&cell(&ages, "H12"), 6),
        ratio_of("150000.00", "455000.50")
    );
    assert_eq!(money_cell(&ages, "B15"), "455000.50");
    assert_eq!(shown(&cell(&ages, "F15"), 0), "8");

    let period = wb.worksheet_range("Perioden").expect("period");
    let rows: Vec<(String, String, String)> = (11..=15)
        .map(|r| {
            (
                shown(&cell(&period, &format!("A{r}")), 0),
                shown(&cell(&period, &format!("B{r}")), 0),
                money_cell(&period, &format!("C{r}")),
            )
        })
        .collect();
    let expected = [
        ("Overdraget til inddrivelse", "2", "15000.00"),
        ("Afskrevet", "1", "2500.00"),
        ("Nye restancer", "20", "44000.00"),
        ("Indbetalinger", "130", "98000.00"),
        ("Heraf via Betalingsservice", "70", "51000.00"),
    ];
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned()))
        .collect();
    assert_eq!(rows, expected);
    assert_eq!(shown(&cell(&period, "B18"), 0), "16");
    assert_eq!(money_cell(&period, "C18"), "45500.05");
    // 16 of 64 claims, 45,500.05 of 455,000.50 kr.
    assert_eq!(shown(&cell(&period, "B19"), 3), "0.250");
    assert_eq!(shown(&cell(&period, "C19"), 3), "0.100");

    let history = wb.worksheet_range("Udvikling").expect("history");
    assert_eq!(money_cell(&history, "B11"), "400000.00");
    assert_eq!(money_cell(&history, "B22"), "412000.00");
    assert_eq!(cell(&history, "B23"), Data::Empty);
    assert!(matches!(cell(&history, "A11"), Data::DateTime(_)));

    let summary = wb.worksheet_range("Resumé").expect("summary");
    let lines: Vec<String> = (11..)
        .map(|r| shown(&cell(&summary, &format!("A{r}")), 0))
        .take_while(|l| !l.is_empty())
        .collect();
    assert_eq!(lines, report.summary());
    assert!(lines[0].starts_with("Restancerne i alt var 455.000,50 kr."));
}

fn ratio_of(part: &str, whole: &str) -> String {
    let r = kr(part).as_decimal() / kr(whole).as_decimal();
    format!("{:.6}", r.round_dp(6))
}

#[test]
fn the_csv_is_for_danish_excel_bom_semicolons_decimal_commas_and_crlf() {
    let files = render(&january_report(Language::Da));
    let csv = String::from_utf8(file(&files, ".csv").bytes.clone()).expect("utf-8");
    let body = csv
        .strip_prefix('\u{feff}')
        .expect("starts with a UTF-8 BOM");
    assert!(body.ends_with("\r\n"));
    let lines: Vec<&str> = body.split_terminator("\r\n").collect();
    assert!(
        !body.replace("\r\n", "").contains('\n'),
        "CRLF line ends only"
    );
    assert_eq!(
        lines,
        vec![
            "Kategori;key;Restancer 31.01.2027;Hovedstol;Gebyrer;Renter;Krav;Skyldnere;Restancer 31.01.2026;Ændring kr.;Ændring %;Andel",
            "Daginstitution;daycare;120000,00;110000,00;6000,00;4000,00;40;35;100000,00;20000,00;20,0;26,4",
            "Ejendomsskat;property_tax;250000,50;240000,50;5000,00;5000,00;12;12;300000,00;-49999,50;-16,7;54,9",
            "\"Husleje; bolig\";rent;80000,00;80000,00;0,00;0,00;9;9;60000,00;20000,00;33,3;17,6",
            "\"Vand & \"\"varme\"\"\";water;5000,00;5000,00;0,00;0,00;3;3;;;;1,1",
            "SFO;after_school;0,00;0,00;0,00;0,00;0;0;0,00;0,00;;0,0",
            "I alt;;455000,50;435000,50;11000,00;9000,00;64;55;460000,00;-4999,50;-1,1;100,0",
            "",
            "Udestående forudbetalinger (ikke restancer);key;Krav;Beløb",
            "Udestående forudbetalinger (ikke restancer);prepayments;0;0,00",
        ]
    );
}

#[test]
fn the_svg_chart_is_well_formed_xml_naming_every_category() {
    let files = render(&january_report(Language::Da));
    let svg = String::from_utf8(file(&files, ".svg").bytes.clone()).expect("utf-8");
    let mut reader = quick_xml::Reader::from_str(&svg);
    let mut texts = 0_usize;
    let mut elements = BTreeSet::new();
    let mut depth = 0_i32;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(e)) => {
                depth += 1;
                elements.insert(e.name().into_inner().to_owned());
            }
            Ok(quick_xml::events::Event::Empty(e)) => {
                elements.insert(e.name().into_inner().to_owned());
            }
            Ok(quick_xml::events::Event::End(_)) => depth -= 1,
            Ok(quick_xml::events::Event::Text(_)) => texts += 1,
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("the SVG is not well-formed: {e}"),
        }
    }
    assert_eq!(depth, 0, "every element is closed");
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    for element in ["svg", "title", "rect", "line", "text"] {
        assert!(elements.contains(element), "has <{element}>");
    }
    assert!(
        svg.contains("Vand &amp; &quot;varme&quot;"),
        "names are escaped"
    );
    for case in &CATEGORIES {
        let escaped = case.name.replace('&', "&amp;").replace('"', "&quot;");
        assert!(
            svg.contains(&format!(">{escaped}</text>")),
            "{} is labelled",
            case.name
        );
    }
    assert!(
        svg.contains(">31.01.2026</text>") && svg.contains(">31.01.2027</text>"),
        "legend"
    );
    // One bar per category now (5) and per category with history (4), plus the legend swatches.
    let bars = svg.matches("fill=\"#08519c\"").count();
    assert_eq!(bars, 5 + 1);
    assert_eq!(svg.matches("fill=\"#9ecae1\"").count(), 4 + 1);
    assert!(texts > 0);
}

#[test]
fn a_report_with_no_categories_and_no_history_still_renders() {
    let mut report = january_report(Language::En);
    report.categories.clear();
    report.history.clear();
    report.states.clear();
    report.offices.clear();
    report.ages.clear();
    let files = render(&report);
    let mut wb = workbook(&files[0].bytes);
    let sheet = wb.worksheet_range("Arrears").expect("arrears");
    assert_eq!(shown(&cell(&sheet, "A11"), 0), "Total");
    assert_eq!(money_cell(&sheet, "B11"), "0.00");
    assert!(zip_entry(&files[0].bytes, "xl/charts/chart1.xml").is_none());
    let csv = String::from_utf8(files[1].bytes.clone()).expect("utf-8");
    assert!(
        csv.contains("\r\nTotal;;0,00;0,00;0,00;0,00;0;55;;;;\r\n"),
        "{csv}"
    );
}

#[test]
fn a_report_whose_figures_contradict_each_other_is_not_rendered() {
    let mut report = january_report(Language::Da);
    report.categories[1].now.total = kr("1.00");
    match files::render_all(&report) {
        Err(FilesError::Inconsistent(e)) => {
            assert_eq!(e.problems.len(), 1);
            assert!(e.problems[0].starts_with("categories.property_tax.now"));
        }
        other => panic!("expected an inconsistent report, got {other:?}"),
    }
}

#[test]
fn every_language_renders() {
    for language in [Language::Da, Language::Kl, Language::Nb, Language::En] {
        let files = render(&january_report(language));
        assert_eq!(files.len(), 3, "{language}");
        let wb = workbook(&files[0].bytes);
        assert_eq!(wb.sheet_names().len(), 7, "{language}");
    }
}

/// The council's quarterly report of the same figures: measures taken in the quarter against
/// the same quarter a year earlier, outstanding prepayments apart from the arrears.
fn quarterly_report(language: Language) -> Report {
    use restance_reporting::report::{CampaignOutcome, Measure, MeasureRow, Prepayments};
    let mut report = january_report(language);
    report.kind = ReportKind::Quarterly;
    report.period_start = date("2026-11-01");
    report.as_of = date("2027-01-31");
    report.report_id = report_id(ReportKind::Quarterly, "0746", report.as_of);
    report.measures = Measure::ALL
        .into_iter()
        .enumerate()
        .map(|(i, measure)| {
            let recorded = measure.recorded();
            MeasureRow {
                measure,
                now: recorded.then_some(10 + i as u64),
                then: (recorded && measure != Measure::MeetingsHeld).then_some(5),
            }
        })
        .collect();
    report.prepayments = Prepayments {
        claims: 3,
        amount: kr("4500.00"),
    };
    report.campaigns = vec![CampaignOutcome {
        campaign_id: "cmp-2c71a9e04b18d35f".into(),
        kind: "direct_debit".into(),
        sent_date: date("2026-12-02"),
        debtors: 40,
        paid: 12,
        agreed: 5,
        no_response: 23,
    }];
    report
}

#[test]
fn the_quarterly_report_shows_each_categorys_share_the_measures_taken_and_the_prepayments_apart() {
    let report = quarterly_report(Language::Da);
    let files = render(&report);
    let mut wb = workbook(&file(&files, ".xlsx").bytes);
    let names = wb.sheet_names();
    assert_eq!(names.len(), 8, "{names:?}");
    assert_eq!(names[7], "Tiltag");

    // Each category's share of the total (seed 000: "A-bidrag … 74 % af restancen").
    let arrears = wb.worksheet_range("Restancer").expect("arrears");
    assert_eq!(shown(&cell(&arrears, "K10"), 0), "Andel");
    assert_eq!(
        shown(&cell(&arrears, "K12"), 6),
        ratio_of("250000.50", "455000.50")
    );
    assert_eq!(
        shown(&cell(&arrears, "K16"), 6),
        "1.000000",
        "the total is 100 %"
    );
    let formulas = wb.worksheet_formula("Restancer").expect("formulas");
    assert_eq!(
        shown(&cell_formula(&formulas, "K12"), 0),
        "IF($B$16=0,\"–\",B12/$B$16)"
    );
    assert_eq!(
        report.share_of_total(&report.categories[1].now),
        Some(rust_decimal::Decimal::new(549, 1))
    );

    // Measures taken: the quarter against the same quarter a year earlier (campaigns too, since
    // dunning.campaign.sent.v1); a blank earlier period stays blank.
    let measures = wb.worksheet_range("Tiltag").expect("measures");
    assert_eq!(shown(&cell(&measures, "A10"), 0), "Tiltag");
    assert_eq!(shown(&cell(&measures, "C10"), 0), "Samme periode året før");
    let expected = [
        ("Rykkere", "10", "5", "5"),
        ("Tilbud om sættemøde", "11", "5", "6"),
        ("Gebyrer pålagt", "12", "5", "7"),
        ("Sættemøder holdt", "13", "", ""),
        ("Afdragsordninger indgået", "14", "5", "9"),
        ("Afdragsordninger misligholdt", "15", "5", "10"),
        ("Henstand bevilget", "16", "5", "11"),
        ("Krav overdraget til inddrivelse", "17", "5", "12"),
        ("Udlæg foretaget af kommunen", "18", "5", "13"),
        ("Krav afskrevet", "19", "5", "14"),
        ("Kampagner", "20", "5", "15"),
    ];
    for (i, (name, now, then, change)) in expected.iter().enumerate() {
        let r = 11 + i;
        assert_eq!(shown(&cell(&measures, &format!("A{r}")), 0), *name);
        assert_eq!(shown(&cell(&measures, &format!("B{r}")), 0), *now, "{name}");
        assert_eq!(
            shown(&cell(&measures, &format!("C{r}")), 0),
            *then,
            "{name}"
        );
        assert_eq!(
            shown(&cell(&measures, &format!("D{r}")), 0),
            *change,
            "{name}"
        );
    }
    assert_eq!(shown(&cell(&measures, "E11"), 6), "1.000000", "+100 %");
    // Below the measures and their notes: each campaign's outcome.
    assert_eq!(
        shown(&cell(&measures, "A26"), 0),
        "Kampagnernes resultat (betalt, aftale, intet svar)"
    );
    let outcome: Vec<String> = ["A", "B", "C", "D", "E", "F", "G"]
        .iter()
        .map(|c| shown(&cell(&measures, &format!("{c}28")), 0))
        .collect();
    assert_eq!(
        outcome,
        [
            "cmp-2c71a9e04b18d35f",
            "Tilmelding til Betalingsservice",
            "02.12.2026",
            "40",
            "12",
            "5",
            "23"
        ]
    );

    // Prepayments apart from the arrears, on the period sheet.
    let period = wb.worksheet_range("Perioden").expect("period");
    let rows: Vec<String> = (1..=40)
        .map(|r| shown(&cell(&period, &format!("A{r}")), 0))
        .collect();
    let at = rows
        .iter()
        .rposition(|t| t == "Udestående forudbetalinger (ikke restancer)")
        .expect("prepayments row")
        + 1;
    assert_eq!(shown(&cell(&period, &format!("B{at}")), 0), "3");
    assert_eq!(money_cell(&period, &format!("C{at}")), "4500.00");
    // …and the arrears do not include them.
    assert_eq!(money_cell(&arrears, "B16"), "455000.50");

    // The CSV carries the same after the category table.
    let csv = String::from_utf8(file(&files, ".csv").bytes.clone()).expect("utf-8");
    let lines: Vec<&str> = csv.split_terminator("\r\n").collect();
    assert_eq!(lines.len(), 7 + 3 + 1 + 12 + 1 + 3, "{csv}");
    assert_eq!(
        lines[9],
        "Udestående forudbetalinger (ikke restancer);prepayments;3;4500,00"
    );
    assert_eq!(
        lines[11],
        "Tiltag;key;Periode 01.11.2026 – 31.01.2027;Samme periode året før;Ændring"
    );
    assert_eq!(lines[12], "Rykkere;reminders;10;5;5");
    assert_eq!(lines[15], "Sættemøder holdt;meetings_held;13;;");
    assert_eq!(lines[20], "Udlæg foretaget af kommunen;distraints;18;5;13");
    assert_eq!(lines[22], "Kampagner;campaigns;20;5;15");
    assert_eq!(
        lines[25],
        "Kampagne;Art;Sendt;Skyldnere;Betalt;Aftale;Intet svar"
    );
    assert_eq!(
        lines[26],
        "cmp-2c71a9e04b18d35f;Tilmelding til Betalingsservice;02.12.2026;40;12;5;23"
    );
    assert!(
        file(&files, ".xlsx")
            .name
            .ends_with("arrears-0746-2027-q1.xlsx")
    );
}

#[test]
fn a_follow_up_report_is_named_after_its_date_and_titled_in_every_language() {
    for language in [Language::Da, Language::Kl, Language::Nb, Language::En] {
        let mut report = quarterly_report(language);
        report.kind = ReportKind::FollowUp;
        report.period_start = date("2027-01-01");
        report.as_of = date("2027-04-30");
        report.compare_as_of = compare_date(report.as_of);
        report.report_id = report_id(ReportKind::FollowUp, "0746", report.as_of);
        let files = render(&report);
        assert_eq!(files[0].name, "arrears-0746-2027-04-30.xlsx");
        let mut wb = workbook(&files[0].bytes);
        let first = wb.sheet_names()[0].clone();
        let sheet = wb.worksheet_range(&first).expect("sheet");
        let title = shown(&cell(&sheet, "A1"), 0);
        assert!(
            ["Opfølgning", "Malinnaaneq", "Oppfølging", "Follow-up"]
                .iter()
                .any(|t| title.starts_with(t)),
            "{title}"
        );
    }
}
