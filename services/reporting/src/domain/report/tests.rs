//! Tests of the report model: figures, changes, totals, shares, the summary and formatting.

use super::breakdowns::{AgeBucket, ArrearsState, DirectDebit, Flow, PeriodFlows};
use super::figures::{Change, Figures, Row};
use super::kind::{ReportKind, compare_date, report_id};
use super::model::Report;
use restance_kernel::{BusinessDate, Currency, Language, Money};
use rust_decimal::Decimal;

use proptest::prelude::*;

fn date(s: &str) -> BusinessDate {
    s.parse().expect("test date")
}

fn kr(s: &str) -> Money {
    Money::parse(s).expect("test amount")
}

fn figures(principal: &str, fees: &str, interest: &str, claims: u64, debtors: u64) -> Figures {
    Figures::new(kr(principal), kr(fees), kr(interest), claims, debtors)
}

fn row(key: &str, name: &str, now: Figures, then: Option<Figures>) -> Row {
    Row {
        key: key.to_owned(),
        name: name.to_owned(),
        now,
        then,
    }
}

/// Skanderborg, January 2027: daycare and rent up 20,000 kr each, property tax down almost
/// 50,000 kr, water new since last year, after-school care empty both years.
fn january_2027(language: Language) -> Report {
    let as_of = date("2027-01-31");
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
        categories: vec![
            row(
                "daycare",
                "Daginstitution",
                figures("110000.00", "6000.00", "4000.00", 40, 35),
                Some(figures("95000.00", "3000.00", "2000.00", 30, 28)),
            ),
            row(
                "property_tax",
                "Ejendomsskat",
                figures("240000.50", "5000.00", "5000.00", 12, 12),
                Some(figures("290000.00", "6000.00", "4000.00", 14, 14)),
            ),
            row(
                "rent",
                "Husleje",
                figures("80000.00", "0", "0", 9, 9),
                Some(figures("60000.00", "0", "0", 7, 7)),
            ),
            row("water", "Vand", figures("5000.00", "0", "0", 3, 3), None),
            row("after_school", "SFO", Figures::ZERO, Some(Figures::ZERO)),
        ],
        debtors_now: 55,
        debtors_then: None,
        states: Vec::new(),
        offices: Vec::new(),
        ages: Vec::new(),
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
            ..PeriodFlows::default()
        },
        history: Vec::new(),
        generated_on: date("2027-02-01"),
        measures: Vec::new(),
        prepayments: Default::default(),
        campaigns: Vec::new(),
        members: Vec::new(),
    }
}

#[test]
fn a_change_is_in_kroner_and_in_per_cent_rounded_half_away_from_zero() {
    let up = Change::between(kr("112.25"), kr("100.00"));
    assert_eq!(up.amount, kr("12.25"));
    assert_eq!(up.percent, Some(Decimal::new(123, 1)));
    let down = Change::between(kr("87.75"), kr("100.00"));
    assert_eq!(down.amount, kr("-12.25"));
    assert_eq!(down.percent, Some(Decimal::new(-123, 1)));
    let same = Change::between(kr("100.00"), kr("100.00"));
    assert_eq!(same.percent.map(|p| p.to_string()), Some("0.0".to_owned()));
    let doubled = Change::between(kr("200.00"), kr("100.00"));
    assert_eq!(
        doubled.percent.map(|p| p.to_string()),
        Some("100.0".to_owned())
    );
}

#[test]
fn a_change_from_nothing_has_no_percentage() {
    let change = Change::between(kr("5000.00"), Money::ZERO);
    assert_eq!(change.amount, kr("5000.00"));
    assert_eq!(change.percent, None);
}

#[test]
fn a_credit_balance_that_shrinks_is_an_increase() {
    let change = Change::between(Money::ZERO, kr("-100.00"));
    assert_eq!(change.amount, kr("100.00"));
    assert_eq!(change.percent, Some(Decimal::new(1000, 1)));
}

#[test]
fn a_row_without_history_has_no_change() {
    assert_eq!(row("water", "Vand", Figures::ZERO, None).change(), None);
}

proptest! {
    #[test]
    fn the_percentage_is_the_exact_change_within_half_a_tenth(
        now in -10_000_000_000_i64..10_000_000_000,
        then in -10_000_000_000_i64..10_000_000_000,
    ) {
        prop_assume!(then != 0);
        let change = Change::between(Money::from_minor(now), Money::from_minor(then));
        prop_assert_eq!(change.amount.to_minor(), now - then);
        let percent = change.percent.expect("then is not zero");
        prop_assert_eq!(percent.scale(), 1);
        let exact = Decimal::from(now - then) * Decimal::ONE_HUNDRED / Decimal::from(then.abs());
        prop_assert!((percent - exact).abs() <= Decimal::new(5, 2));
        prop_assert_eq!(percent.is_sign_negative() && !percent.is_zero(), now < then && (exact <= Decimal::new(-5, 2)));
    }
}

#[test]
fn the_comparison_date_is_the_same_date_twelve_months_earlier() {
    assert_eq!(compare_date(date("2027-01-31")), date("2026-01-31"));
    assert_eq!(compare_date(date("2027-03-15")), date("2026-03-15"));
    // 29 February has no twin: the day before.
    assert_eq!(compare_date(date("2028-02-29")), date("2027-02-28"));
    // A month-end compares with the month-end, where the imported balance is.
    assert_eq!(compare_date(date("2025-02-28")), date("2024-02-29"));
    assert_eq!(compare_date(date("2027-06-30")), date("2026-06-30"));
}

#[test]
fn on_the_first_business_day_the_report_is_for_the_period_just_ended() {
    let monthly = ReportKind::Monthly.previous_period(date("2027-02-01"));
    assert_eq!(monthly, (date("2027-01-01"), date("2027-01-31")));
    let march = ReportKind::Monthly.previous_period(date("2028-03-01"));
    assert_eq!(march, (date("2028-02-01"), date("2028-02-29")));
    let q4 = ReportKind::Quarterly.previous_period(date("2027-01-04"));
    assert_eq!(q4, (date("2026-10-01"), date("2026-12-31")));
    let q1 = ReportKind::Quarterly.previous_period(date("2027-04-01"));
    assert_eq!(q1, (date("2027-01-01"), date("2027-03-31")));
    assert!(ReportKind::Quarterly.is_due_in_month_of(date("2027-10-01")));
    assert!(!ReportKind::Quarterly.is_due_in_month_of(date("2027-11-02")));
    assert!(ReportKind::Monthly.is_due_in_month_of(date("2027-11-02")));
}

#[test]
fn kinds_states_and_buckets_read_back_their_names() {
    for kind in ReportKind::ALL {
        assert_eq!(kind.as_str().parse(), Ok(kind));
    }
    assert!("weekly".parse::<ReportKind>().is_err());
    for state in ArrearsState::ALL {
        assert_eq!(state.as_str().parse(), Ok(state));
    }
    assert_eq!(
        serde_json::to_string(&ArrearsState::UnderPlan).expect("json"),
        "\"under_plan\""
    );
}

#[test]
fn a_claim_falls_in_its_age_bucket_by_days_overdue() {
    use AgeBucket::*;
    let cases = [
        (-3, Days0To30),
        (0, Days0To30),
        (30, Days0To30),
        (31, Days31To90),
        (90, Days31To90),
        (91, Days91To365),
        (365, Days91To365),
        (366, Over365),
    ];
    for (days, bucket) in cases {
        assert_eq!(AgeBucket::for_days_overdue(days), bucket, "{days} days");
    }
}

#[test]
fn the_total_counts_a_category_without_history_as_zero_then() {
    let report = january_2027(Language::Da);
    let now = report.total_now();
    assert_eq!(now.total, kr("455000.50"));
    assert_eq!(now.claims, 64);
    assert_eq!(now.debtors, 55, "distinct debtors, not the sum of the rows");
    let then = report.total_then().expect("history");
    assert_eq!(then.total, kr("460000.00"));
    assert_eq!(
        then.debtors, 49,
        "no distinct count then: the sum of the rows"
    );
    let change = report.total_change().expect("history");
    assert_eq!(change.amount, kr("-4999.50"));
    assert_eq!(change.percent, Some(Decimal::new(-11, 1)));
}

#[test]
fn without_any_history_there_is_no_total_then() {
    let mut report = january_2027(Language::Da);
    for row in &mut report.categories {
        row.then = None;
    }
    assert_eq!(report.total_then(), None);
    assert_eq!(report.total_change(), None);
}

#[test]
fn the_direct_debit_share_is_in_per_cent_of_the_arrears_now() {
    let report = january_2027(Language::Da);
    // 45,500.05 of 455,000.50 and 16 of 64 claims.
    assert_eq!(
        report.direct_debit_share_of_amount(),
        Some(Decimal::new(100, 1))
    );
    assert_eq!(
        report.direct_debit_share_of_claims(),
        Some(Decimal::new(250, 1))
    );
}

#[test]
fn file_names_carry_the_month_or_the_quarter() {
    let mut report = january_2027(Language::Da);
    assert_eq!(report.file_stem(), "arrears-0746-2027-01");
    report.kind = ReportKind::Quarterly;
    report.period_start = date("2027-01-01");
    report.as_of = date("2027-03-31");
    assert_eq!(report.file_stem(), "arrears-0746-2027-q1");
    report.municipality = "../07 46".to_owned();
    assert_eq!(report.file_stem(), "arrears-0746-2027-q1");
}

#[test]
fn a_report_whose_figures_do_not_add_up_is_refused() {
    let mut report = january_2027(Language::Da);
    assert_eq!(report.check(), Vec::<String>::new());
    report.categories[0].now.total = kr("1.00");
    report.compare_as_of = report.as_of;
    let problems = report.check();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].starts_with("compare_as_of"));
    assert!(problems[1].starts_with("categories.daycare.now"));
}

#[test]
fn the_danish_summary_names_the_total_the_largest_movements_and_the_flows() {
    let summary = january_2027(Language::Da).summary();
    assert_eq!(
        summary,
        vec![
            "Restancerne i alt var 455.000,50 kr. pr. 31.01.2027 mod 460.000,00 kr. pr. 31.01.2026: et fald på 4.999,50 kr. (1,1 %).",
            // A tie in kroner keeps catalog order.
            "Største stigninger: Daginstitution +20.000,00 kr. (+20,0 %); Husleje +20.000,00 kr. (+33,3 %).",
            "Største fald: Ejendomsskat -49.999,50 kr. (-16,7 %).",
            "Uden sammenligningstal: Vand.",
            "Overdraget til inddrivelse i perioden 01.01.2027–31.01.2027: 2 krav, 15.000,00 kr. Afskrevet: 1 krav, 2.500,00 kr.",
        ]
    );
}

#[test]
fn the_english_summary_uses_english_numbers_and_dates() {
    let summary = january_2027(Language::En).summary();
    assert_eq!(
        summary[0],
        "Total arrears were DKK 455,000.50 at 2027-01-31 against DKK 460,000.00 at 2026-01-31: a decrease of DKK 4,999.50 (1.1%)."
    );
    assert_eq!(
        summary[2],
        "Largest decreases: Ejendomsskat -DKK 49,999.50 (-16.7%)."
    );
    assert_eq!(
        summary[4],
        "Transferred to state collection in the period 2027-01-01 to 2027-01-31: 2 claims, DKK 15,000.00. Written off: 1 claim, DKK 2,500.00."
    );
}

#[test]
fn the_norwegian_and_greenlandic_summaries_have_the_same_sentences() {
    let nb = january_2027(Language::Nb).summary();
    assert_eq!(nb.len(), 5);
    assert!(
        nb[0].starts_with("Samlede restanser var 455 000,50 kr per 31.01.2027"),
        "{}",
        nb[0]
    );
    assert!(nb[1].starts_with("Største økninger: Daginstitution +20 000,00 kr (+20,0 %)"));
    let kl = january_2027(Language::Kl).summary();
    assert_eq!(kl.len(), 5);
    assert!(kl[0].contains("455.000,50 kr."), "{}", kl[0]);
}

#[test]
fn only_the_three_largest_movements_are_named() {
    let mut report = january_2027(Language::En);
    report.categories = (1..=5_i64)
        .map(|i| {
            let now = Figures::new(
                Money::from_minor(i * 10_000),
                Money::ZERO,
                Money::ZERO,
                1,
                1,
            );
            row(&format!("c{i}"), &format!("C{i}"), now, Some(Figures::ZERO))
        })
        .collect();
    let summary = report.summary();
    assert_eq!(
        summary[1],
        "Largest increases: C5 +DKK 500.00; C4 +DKK 400.00; C3 +DKK 300.00."
    );
    assert!(!summary.iter().any(|l| l.starts_with("Largest decreases")));
}

#[test]
fn an_unchanged_total_says_so_and_the_summary_is_deterministic() {
    let mut report = january_2027(Language::Da);
    report.categories.truncate(1);
    report.categories[0].then = Some(report.categories[0].now);
    let summary = report.summary();
    assert_eq!(
        summary[0],
        "Restancerne i alt var 120.000,00 kr. pr. 31.01.2027 mod 120.000,00 kr. pr. 31.01.2026: uændret."
    );
    assert_eq!(summary, report.summary());
    report.categories[0].then = None;
    assert_eq!(
        report.summary()[0],
        "Restancerne i alt var 120.000,00 kr. pr. 31.01.2027. Der er ingen sammenligningstal pr. 31.01.2026."
    );
}
