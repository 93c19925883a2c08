//! The report as an Excel workbook, laid out as a finance office expects to receive it.
//!
//! Sheets (names in the report's language; English names in brackets):
//! 1. the category table (`Arrears`) with, below it, a native clustered column chart of 12
//!    months earlier against now per category;
//! 2. the generated summary (`Summary`);
//! 3. the same comparison by state (`States`) and 4. by office (`Offices`);
//! 5. the arrears now by age (`Age`); 6. the period's flows and the direct-debit share
//!    (`Period`); 7. total arrears at each month-end with a native line chart (`History`).
//!
//! Every sheet opens with the same block (title, municipality, period, dates, currency,
//! production day, report id) in rows 1–8 and its table header in row [`HEADER_ROW`] + 1, frozen
//! so it stays in view, repeated on printed pages, printed landscape one page wide. Amounts are
//! numbers formatted `#,##0.00`, percentages `0.0%`; the total rows are real `SUM` formulas and
//! the change columns real formulas, each with its result written too, so a reader that does not
//! recalculate (a previewer, calamine) shows the same values Excel computes.
//!
//! Deterministic: the document's creation time is the report's production day, and
//! rust_xlsxwriter writes fixed zip timestamps, so the same report gives the same bytes.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use rust_xlsxwriter::{
    Chart, ChartLegendPosition, ChartType, DocProperties, ExcelDateTime, Format, FormatAlign,
    FormatBorder, Formula, Workbook, Worksheet, XlsxError,
};

use restance_kernel::{BusinessDate, Language, Money};

use crate::domain::report::{Figures, Fmt, Report, campaign_kind_label};
use crate::files::FilesError;
use crate::files::labels::Labels;

/// The 0-based row of every table's header; the data starts on the next row.
pub const HEADER_ROW: u32 = 9;
/// The 0-based row of every table's first data row (row 11 in Excel's numbering).
pub const FIRST_ROW: u32 = HEADER_ROW + 1;

/// What a percentage cell shows when there is no percentage (a change from zero, a share of
/// nothing): a dash, as text. Not an empty string: a formula's cached empty result is written as
/// 0 by rust_xlsxwriter, and a reader that does not recalculate would show "0.0%".
pub const NO_PERCENT: &str = "–";

/// The comparison tables' columns (0-based): name, now (total, principal, fees, interest,
/// claims, debtors), total 12 months earlier, change kr, change %.
pub mod col {
    /// The row's name (category, state, office).
    pub const NAME: u16 = 0;
    /// Total arrears now.
    pub const TOTAL: u16 = 1;
    /// Principal now.
    pub const PRINCIPAL: u16 = 2;
    /// Fees now.
    pub const FEES: u16 = 3;
    /// Interest now.
    pub const INTEREST: u16 = 4;
    /// Claims now.
    pub const CLAIMS: u16 = 5;
    /// Debtors now.
    pub const DEBTORS: u16 = 6;
    /// Total arrears 12 months earlier (blank: no figures).
    pub const THEN: u16 = 7;
    /// Change in kroner (`=now − then`).
    pub const CHANGE: u16 = 8;
    /// Change in per cent (`=(now − then) / |then|`, formatted `0.0%`).
    pub const CHANGE_PERCENT: u16 = 9;
    /// Share of the total arrears now (`=B / B<total>`, formatted `0.0%`; seed 000's
    /// "A-bidrag … 74 % af restancen").
    pub const SHARE: u16 = 10;
}

/// The sheet names of a report in `language`, in workbook order; a report with measures taken
/// (quarterly, follow-up, consolidated) has an eighth sheet, [`Labels::sheet_measures`].
pub fn sheet_names(language: Language) -> [&'static str; 7] {
    let l = Labels::of(language);
    [
        l.sheet_arrears,
        l.sheet_summary,
        l.sheet_states,
        l.sheet_offices,
        l.sheet_ages,
        l.sheet_period,
        l.sheet_history,
    ]
}

/// The cell formats, made once per workbook.
struct Formats {
    title: Format,
    label: Format,
    header: Format,
    text: Format,
    money: Format,
    count: Format,
    change: Format,
    percent: Format,
    share: Format,
    date: Format,
    total_text: Format,
    total_money: Format,
    total_count: Format,
    total_change: Format,
    total_percent: Format,
    total_share: Format,
    change_count: Format,
    note: Format,
    wrap: Format,
}

impl Formats {
    fn new(language: Language) -> Formats {
        const MONEY: &str = "#,##0.00";
        const COUNT: &str = "#,##0";
        const CHANGE: &str = "+#,##0.00;-#,##0.00;0.00";
        const PERCENT: &str = "+0.0%;-0.0%;0.0%";
        const SHARE: &str = "0.0%";
        let date = match language {
            Language::En => "yyyy-mm-dd",
            _ => "dd-mm-yyyy",
        };
        let total = || Format::new().set_bold().set_border_top(FormatBorder::Thin);
        Formats {
            title: Format::new().set_bold().set_font_size(14),
            label: Format::new().set_bold(),
            header: Format::new()
                .set_bold()
                .set_text_wrap()
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter)
                .set_background_color("#DDEBF7")
                .set_border_bottom(FormatBorder::Thin),
            text: Format::new(),
            money: Format::new().set_num_format(MONEY),
            count: Format::new().set_num_format(COUNT),
            change: Format::new().set_num_format(CHANGE),
            percent: Format::new()
                .set_num_format(PERCENT)
                .set_align(FormatAlign::Right),
            share: Format::new()
                .set_num_format(SHARE)
                .set_align(FormatAlign::Right),
            date: Format::new()
                .set_num_format(date)
                .set_align(FormatAlign::Left),
            total_text: total(),
            total_money: total().set_num_format(MONEY),
            total_count: total().set_num_format(COUNT),
            total_change: total().set_num_format(CHANGE),
            total_percent: total()
                .set_num_format(PERCENT)
                .set_align(FormatAlign::Right),
            total_share: total().set_num_format(SHARE).set_align(FormatAlign::Right),
            change_count: Format::new().set_num_format("+#,##0;-#,##0;0"),
            note: Format::new().set_italic().set_font_color("#595959"),
            wrap: Format::new().set_text_wrap().set_align(FormatAlign::Top),
        }
    }
}

/// One row of a comparison table.
struct TableRow<'a> {
    name: &'a str,
    now: Figures,
    then: Option<Figures>,
}

/// The report as XLSX bytes.
pub fn render(report: &Report) -> Result<Vec<u8>, FilesError> {
    let labels = Labels::of(report.language);
    let formats = Formats::new(report.language);
    let names = sheet_names(report.language);
    let mut workbook = Workbook::new();
    workbook.set_properties(&properties(report, labels)?);

    let categories: Vec<TableRow> = report
        .categories
        .iter()
        .map(|r| TableRow {
            name: &r.name,
            now: r.now,
            then: r.then,
        })
        .collect();
    let ws = workbook.add_worksheet();
    ws.set_name(names[0])?;
    heading_block(ws, &formats, report, labels)?;
    comparison_table(ws, &formats, report, labels.category, &categories)?;
    if !categories.is_empty() {
        // Below the table and its notes, so a printed page holds both at a readable size.
        let at = FIRST_ROW + row(categories.len())? + 5;
        ws.insert_chart(at, 0, &category_chart(report, names[0])?)?;
    }

    let ws = workbook.add_worksheet();
    ws.set_name(names[1])?;
    heading_block(ws, &formats, report, labels)?;
    // One sentence per row, across the width of the tables on the other sheets, wrapped.
    table_widths(ws)?;
    for (i, line) in report.summary().iter().enumerate() {
        let at = FIRST_ROW + row(i)?;
        ws.merge_range(at, 0, at, col::CHANGE_PERCENT, line, &formats.wrap)?;
        ws.set_row_height(at, 30)?;
    }

    let states: Vec<TableRow> = report
        .states
        .iter()
        .map(|r| TableRow {
            name: r.state.label(report.language),
            now: r.now,
            then: r.then,
        })
        .collect();
    let ws = workbook.add_worksheet();
    ws.set_name(names[2])?;
    heading_block(ws, &formats, report, labels)?;
    comparison_table(ws, &formats, report, labels.state, &states)?;

    let offices: Vec<TableRow> = report
        .offices
        .iter()
        .map(|r| TableRow {
            name: &r.name,
            now: r.now,
            then: r.then,
        })
        .collect();
    let ws = workbook.add_worksheet();
    ws.set_name(names[3])?;
    heading_block(ws, &formats, report, labels)?;
    comparison_table(ws, &formats, report, labels.office, &offices)?;

    let ws = workbook.add_worksheet();
    ws.set_name(names[4])?;
    heading_block(ws, &formats, report, labels)?;
    age_table(ws, &formats, report, labels)?;

    let ws = workbook.add_worksheet();
    ws.set_name(names[5])?;
    heading_block(ws, &formats, report, labels)?;
    period_table(ws, &formats, report, labels)?;

    let ws = workbook.add_worksheet();
    ws.set_name(names[6])?;
    heading_block(ws, &formats, report, labels)?;
    history_table(ws, &formats, report, labels)?;
    if !report.history.is_empty() {
        ws.insert_chart(HEADER_ROW, 3, &history_chart(report, names[6])?)?;
    }

    if !report.measures.is_empty() {
        let ws = workbook.add_worksheet();
        ws.set_name(labels.sheet_measures)?;
        heading_block(ws, &formats, report, labels)?;
        measures_table(ws, &formats, report, labels)?;
    }

    Ok(workbook.save_to_buffer()?)
}

/// Title, subject and a creation time fixed to the production day: the default would be the
/// wall clock, and two renderings of one report must give the same bytes.
fn properties(report: &Report, labels: &Labels) -> Result<DocProperties, FilesError> {
    let created = excel_date(report.generated_on)?;
    Ok(DocProperties::new()
        .set_title(labels.title(report.kind))
        .set_subject(format!(
            "{} ({}), {}",
            report.municipality_name, report.municipality, report.as_of
        ))
        .set_author("Restance")
        .set_company(report.municipality_name.as_str())
        .set_creation_datetime(&created))
}

/// Rows 1–8 of every sheet: what the figures are, for whom and as of when.
fn heading_block(
    ws: &mut Worksheet,
    formats: &Formats,
    report: &Report,
    labels: &Labels,
) -> Result<(), FilesError> {
    let fmt = Fmt {
        language: report.language,
        currency: report.currency,
    };
    ws.write_string_with_format(0, 0, labels.title(report.kind), &formats.title)?;
    let lines = [
        (
            labels.municipality,
            format!("{} ({})", report.municipality_name, report.municipality),
        ),
        (
            labels.period,
            format!(
                "{} – {}",
                fmt.date(report.period_start),
                fmt.date(report.as_of)
            ),
        ),
        (labels.as_of, fmt.date(report.as_of)),
        (labels.compared_with, fmt.date(report.compare_as_of)),
        (labels.currency, report.currency.code().to_owned()),
        (labels.generated_on, fmt.date(report.generated_on)),
        (labels.report_id, report.report_id.clone()),
    ];
    for (i, (label, value)) in lines.iter().enumerate() {
        let r = 1 + row(i)?;
        ws.write_string_with_format(r, 0, *label, &formats.label)?;
        ws.write_string_with_format(r, 1, value, &formats.text)?;
    }
    ws.set_landscape();
    ws.set_print_fit_to_pages(1, 0);
    ws.set_repeat_rows(HEADER_ROW, HEADER_ROW)?;
    ws.set_freeze_panes(FIRST_ROW, 1)?;
    ws.set_row_height(HEADER_ROW, 32)?;
    Ok(())
}

/// A comparison table (categories, states, offices) with its bold total row and notes.
fn comparison_table(
    ws: &mut Worksheet,
    f: &Formats,
    report: &Report,
    first_heading: &str,
    rows: &[TableRow],
) -> Result<(), FilesError> {
    let labels = Labels::of(report.language);
    let fmt = Fmt {
        language: report.language,
        currency: report.currency,
    };
    let headings = [
        first_heading.to_owned(),
        format!("{} {}", labels.total_arrears, fmt.date(report.as_of)),
        labels.principal.to_owned(),
        labels.fees.to_owned(),
        labels.interest.to_owned(),
        labels.claims.to_owned(),
        labels.debtors.to_owned(),
        format!(
            "{} {}",
            labels.total_arrears,
            fmt.date(report.compare_as_of)
        ),
        labels.change_amount.to_owned(),
        labels.change_percent.to_owned(),
        labels.share.to_owned(),
    ];
    for (c, h) in (0_u16..).zip(&headings) {
        ws.write_string_with_format(HEADER_ROW, c, h, &f.header)?;
    }
    table_widths(ws)?;
    ws.set_column_width(col::SHARE, 11)?;

    let total_at = FIRST_ROW + row(rows.len())?;
    let total_now = rows.iter().fold(Money::ZERO, |acc, r| acc + r.now.total);
    for (i, r) in rows.iter().enumerate() {
        share_formula(
            ws,
            FIRST_ROW + row(i)?,
            total_at,
            r.now.total,
            total_now,
            &f.share,
        )?;
    }
    share_formula(ws, total_at, total_at, total_now, total_now, &f.total_share)?;

    for (i, r) in rows.iter().enumerate() {
        let at = FIRST_ROW + row(i)?;
        ws.write_string_with_format(at, col::NAME, r.name, &f.text)?;
        ws.write_number_with_format(at, col::TOTAL, money(r.now.total), &f.money)?;
        ws.write_number_with_format(at, col::PRINCIPAL, money(r.now.principal), &f.money)?;
        ws.write_number_with_format(at, col::FEES, money(r.now.fees), &f.money)?;
        ws.write_number_with_format(at, col::INTEREST, money(r.now.interest), &f.money)?;
        ws.write_number_with_format(at, col::CLAIMS, count(r.now.claims), &f.count)?;
        ws.write_number_with_format(at, col::DEBTORS, count(r.now.debtors), &f.count)?;
        if let Some(then) = r.then {
            ws.write_number_with_format(at, col::THEN, money(then.total), &f.money)?;
            change_formulas(ws, at, r.now.total, then.total, &f.change, &f.percent)?;
        }
    }

    ws.write_string_with_format(total_at, col::NAME, labels.total, &f.total_text)?;
    let now = rows.iter().fold(Figures::ZERO, |acc, r| acc.plus(&r.now));
    let any_then = rows.iter().any(|r| r.then.is_some());
    let then = rows
        .iter()
        .filter_map(|r| r.then.as_ref())
        .fold(Figures::ZERO, |acc, t| acc.plus(t));
    let sums = [
        (
            col::TOTAL,
            decimal_result(now.total.as_decimal()),
            &f.total_money,
        ),
        (
            col::PRINCIPAL,
            decimal_result(now.principal.as_decimal()),
            &f.total_money,
        ),
        (
            col::FEES,
            decimal_result(now.fees.as_decimal()),
            &f.total_money,
        ),
        (
            col::INTEREST,
            decimal_result(now.interest.as_decimal()),
            &f.total_money,
        ),
        (col::CLAIMS, now.claims.to_string(), &f.total_count),
    ];
    for (c, result, format) in sums {
        ws.write_formula_with_format(total_at, c, sum_formula(c, rows.len(), result)?, format)?;
    }
    // Distinct debtors: a debtor in two rows counts once, so this is a value, not a SUM.
    ws.write_number_with_format(
        total_at,
        col::DEBTORS,
        count(report.debtors_now),
        &f.total_count,
    )?;
    if any_then && !rows.is_empty() {
        let result = decimal_result(then.total.as_decimal());
        ws.write_formula_with_format(
            total_at,
            col::THEN,
            sum_formula(col::THEN, rows.len(), result)?,
            &f.total_money,
        )?;
        change_formulas(
            ws,
            total_at,
            now.total,
            then.total,
            &f.total_change,
            &f.total_percent,
        )?;
    } else {
        for c in [col::THEN, col::CHANGE, col::CHANGE_PERCENT] {
            ws.write_blank(total_at, c, &f.total_text)?;
        }
    }
    ws.write_string_with_format(total_at + 2, 0, labels.note_debtors, &f.note)?;
    ws.write_string_with_format(total_at + 3, 0, labels.note_blank, &f.note)?;
    Ok(())
}

/// The comparison tables' column widths (characters): a wide name, amounts, narrow counts.
fn table_widths(ws: &mut Worksheet) -> Result<(), FilesError> {
    ws.set_column_width(col::NAME, 34)?;
    for c in col::TOTAL..=col::CHANGE_PERCENT {
        ws.set_column_width(c, 16)?;
    }
    ws.set_column_width(col::CLAIMS, 10)?;
    ws.set_column_width(col::DEBTORS, 10)?;
    ws.set_column_width(col::CHANGE_PERCENT, 11)?;
    Ok(())
}

/// `=SUM(X11:Xn)` over a table's data rows, with its result; `0` for an empty table (a SUM over
/// no rows would need an inverted range).
fn sum_formula(c: u16, rows: usize, result: String) -> Result<Formula, FilesError> {
    if rows == 0 {
        return Ok(Formula::new("=0").set_result("0"));
    }
    let first = rust_xlsxwriter::row_col_to_cell(FIRST_ROW, c);
    let last = rust_xlsxwriter::row_col_to_cell(FIRST_ROW + row(rows - 1)?, c);
    Ok(Formula::new(format!("=SUM({first}:{last})")).set_result(result))
}

/// The change columns of one row: `=B−H` and `=IF(H=0,"–",(B−H)/ABS(H))`, with their results.
fn change_formulas(
    ws: &mut Worksheet,
    at: u32,
    now: Money,
    then: Money,
    change_format: &Format,
    percent_format: &Format,
) -> Result<(), FilesError> {
    let b = rust_xlsxwriter::row_col_to_cell(at, col::TOTAL);
    let h = rust_xlsxwriter::row_col_to_cell(at, col::THEN);
    let amount = now.as_decimal() - then.as_decimal();
    ws.write_formula_with_format(
        at,
        col::CHANGE,
        Formula::new(format!("={b}-{h}")).set_result(decimal_result(amount)),
        change_format,
    )?;
    let ratio = if then.is_zero() {
        NO_PERCENT.to_owned()
    } else {
        amount
            .checked_div(then.as_decimal().abs())
            .map(|r| decimal_result(r.round_dp(15)))
            .unwrap_or_else(|| NO_PERCENT.to_owned())
    };
    ws.write_formula_with_format(
        at,
        col::CHANGE_PERCENT,
        Formula::new(format!("=IF({h}=0,\"{NO_PERCENT}\",({b}-{h})/ABS({h}))")).set_result(ratio),
        percent_format,
    )?;
    Ok(())
}

/// A row's share of the table's total now: `=IF($B$n=0,"–",Bi/$B$n)`, with its result (the
/// report's [`Report::share_of_total`] is the same ratio rounded to one decimal per cent).
fn share_formula(
    ws: &mut Worksheet,
    at: u32,
    total_at: u32,
    part: Money,
    total: Money,
    format: &Format,
) -> Result<(), FilesError> {
    let b = rust_xlsxwriter::row_col_to_cell(at, col::TOTAL);
    let t = rust_xlsxwriter::row_col_to_cell_absolute(total_at, col::TOTAL);
    let result = if total.is_zero() {
        NO_PERCENT.to_owned()
    } else {
        part.as_decimal()
            .checked_div(total.as_decimal())
            .map(|r| decimal_result(r.round_dp(15)))
            .unwrap_or_else(|| NO_PERCENT.to_owned())
    };
    ws.write_formula_with_format(
        at,
        col::SHARE,
        Formula::new(format!("=IF({t}=0,\"{NO_PERCENT}\",{b}/{t})")).set_result(result),
        format,
    )?;
    Ok(())
}

/// "Measures taken" in the period against the same period 12 months earlier (a measure the
/// system does not record yet says so instead of a count), then the outstanding prepayments.
fn measures_table(
    ws: &mut Worksheet,
    f: &Formats,
    report: &Report,
    labels: &Labels,
) -> Result<(), FilesError> {
    let fmt = Fmt {
        language: report.language,
        currency: report.currency,
    };
    let headings = [
        labels.measure.to_owned(),
        format!(
            "{} {} – {}",
            labels.period,
            fmt.date(report.period_start),
            fmt.date(report.as_of)
        ),
        labels.same_period_last_year.to_owned(),
        labels.change.to_owned(),
        labels.change_percent.to_owned(),
    ];
    for (c, h) in (0_u16..).zip(&headings) {
        ws.write_string_with_format(HEADER_ROW, c, h, &f.header)?;
    }
    ws.set_column_width(0, 44)?;
    for c in 1..=4 {
        ws.set_column_width(c, 18)?;
    }
    for (i, m) in report.measures.iter().enumerate() {
        let at = FIRST_ROW + row(i)?;
        ws.write_string_with_format(at, 0, m.measure.label(report.language), &f.text)?;
        match m.now {
            Some(n) => ws.write_number_with_format(at, 1, count(n), &f.count)?,
            None => ws.write_string_with_format(at, 1, labels.not_recorded, &f.text)?,
        };
        match (m.now, m.then) {
            (_, Some(t)) => ws.write_number_with_format(at, 2, count(t), &f.count)?,
            (None, None) => ws.write_string_with_format(at, 2, labels.not_recorded, &f.text)?,
            (Some(_), None) => ws.write_blank(at, 2, &f.count)?,
        };
        if let (Some(n), Some(t)) = (m.now, m.then) {
            let b = rust_xlsxwriter::row_col_to_cell(at, 1);
            let c = rust_xlsxwriter::row_col_to_cell(at, 2);
            let change = Decimal::from(n) - Decimal::from(t);
            ws.write_formula_with_format(
                at,
                3,
                Formula::new(format!("={b}-{c}")).set_result(decimal_result(change)),
                &f.change_count,
            )?;
            let ratio = if t == 0 {
                NO_PERCENT.to_owned()
            } else {
                change
                    .checked_div(Decimal::from(t))
                    .map(|r| decimal_result(r.round_dp(15)))
                    .unwrap_or_else(|| NO_PERCENT.to_owned())
            };
            ws.write_formula_with_format(
                at,
                4,
                Formula::new(format!("=IF({c}=0,\"{NO_PERCENT}\",({b}-{c})/{c})"))
                    .set_result(ratio),
                &f.percent,
            )?;
        }
    }
    let at = FIRST_ROW + row(report.measures.len())? + 1;
    ws.write_string_with_format(at, 0, labels.note_measures, &f.note)?;
    ws.write_string_with_format(at + 1, 0, labels.note_blank, &f.note)?;
    campaigns_table(ws, f, report, labels, &fmt, at + 3)
}

/// Below the measures: the campaigns sent in the period and their outcome as of the report's
/// date (debtors sent to, paid, agreed, no response — [`crate::domain::report::campaigns`]).
fn campaigns_table(
    ws: &mut Worksheet,
    f: &Formats,
    report: &Report,
    labels: &Labels,
    fmt: &Fmt,
    top: u32,
) -> Result<(), FilesError> {
    ws.write_string_with_format(top, 0, labels.campaigns, &f.text)?;
    for (c, h) in (0_u16..).zip(labels.campaign_columns) {
        ws.write_string_with_format(top + 1, c, h, &f.header)?;
    }
    for (i, c) in report.campaigns.iter().enumerate() {
        let at = top + 2 + row(i)?;
        ws.write_string_with_format(at, 0, &c.campaign_id, &f.text)?;
        ws.write_string_with_format(
            at,
            1,
            campaign_kind_label(&c.kind, report.language),
            &f.text,
        )?;
        ws.write_string_with_format(at, 2, fmt.date(c.sent_date), &f.text)?;
        for (col, n) in [
            (3, c.debtors),
            (4, c.paid),
            (5, c.agreed),
            (6, c.no_response),
        ] {
            ws.write_number_with_format(at, col, count(n), &f.count)?;
        }
    }
    Ok(())
}

/// The clustered column chart beside the category table: 12 months earlier and now.
fn category_chart(report: &Report, sheet: &str) -> Result<Chart, FilesError> {
    let labels = Labels::of(report.language);
    let fmt = Fmt {
        language: report.language,
        currency: report.currency,
    };
    let last = FIRST_ROW + row(report.categories.len().saturating_sub(1))?;
    let mut chart = Chart::new(ChartType::Column);
    chart.title().set_name(&format!(
        "{} – {}",
        labels.category_chart, report.municipality_name
    ));
    chart
        .add_series()
        .set_name(&fmt.date(report.compare_as_of))
        .set_categories((sheet, FIRST_ROW, col::NAME, last, col::NAME))
        .set_values((sheet, FIRST_ROW, col::THEN, last, col::THEN))
        .set_format(rust_xlsxwriter::ChartSolidFill::new().set_color("#9ECAE1"));
    chart
        .add_series()
        .set_name(&fmt.date(report.as_of))
        .set_categories((sheet, FIRST_ROW, col::NAME, last, col::NAME))
        .set_values((sheet, FIRST_ROW, col::TOTAL, last, col::TOTAL))
        .set_format(rust_xlsxwriter::ChartSolidFill::new().set_color("#08519C"));
    chart.y_axis().set_num_format("#,##0");
    chart.y_axis().set_name(report.currency.code());
    chart.legend().set_position(ChartLegendPosition::Bottom);
    chart.set_width(760).set_height(420);
    Ok(chart)
}

/// The line chart beside the history table: total arrears at each month-end.
fn history_chart(report: &Report, sheet: &str) -> Result<Chart, FilesError> {
    let labels = Labels::of(report.language);
    let last = FIRST_ROW + row(report.history.len().saturating_sub(1))?;
    let mut chart = Chart::new(ChartType::Line);
    chart.title().set_name(labels.history_chart);
    chart
        .add_series()
        .set_name(labels.total)
        .set_categories((sheet, FIRST_ROW, 0, last, 0))
        .set_values((sheet, FIRST_ROW, 1, last, 1));
    chart.y_axis().set_num_format("#,##0");
    // From zero: a trend drawn from an arbitrary baseline overstates the movement.
    chart.y_axis().set_min(0);
    chart
        .x_axis()
        .set_date_axis(true)
        .set_num_format("mmm yyyy");
    chart.legend().set_hidden();
    chart.set_width(760).set_height(380);
    Ok(chart)
}

/// The arrears now by age, with each bucket's share of the total.
fn age_table(
    ws: &mut Worksheet,
    f: &Formats,
    report: &Report,
    labels: &Labels,
) -> Result<(), FilesError> {
    let fmt = Fmt {
        language: report.language,
        currency: report.currency,
    };
    let headings = [
        labels.age.to_owned(),
        format!("{} {}", labels.total_arrears, fmt.date(report.as_of)),
        labels.principal.to_owned(),
        labels.fees.to_owned(),
        labels.interest.to_owned(),
        labels.claims.to_owned(),
        labels.debtors.to_owned(),
        labels.share.to_owned(),
    ];
    for (c, h) in (0_u16..).zip(&headings) {
        ws.write_string_with_format(HEADER_ROW, c, h, &f.header)?;
    }
    ws.set_column_width(0, 34)?;
    for c in 1..=7 {
        ws.set_column_width(c, 16)?;
    }
    let total_at = FIRST_ROW + row(report.ages.len())?;
    let now = report
        .ages
        .iter()
        .fold(Figures::ZERO, |acc, a| acc.plus(&a.now));
    let total_cell = rust_xlsxwriter::row_col_to_cell_absolute(total_at, 1);
    for (i, a) in report.ages.iter().enumerate() {
        let at = FIRST_ROW + row(i)?;
        ws.write_string_with_format(at, 0, a.bucket.label(report.language), &f.text)?;
        figures_cells(ws, f, at, &a.now)?;
        let share = if now.total.is_zero() {
            NO_PERCENT.to_owned()
        } else {
            a.now
                .total
                .as_decimal()
                .checked_div(now.total.as_decimal())
                .map(|r| decimal_result(r.round_dp(15)))
                .unwrap_or_else(|| NO_PERCENT.to_owned())
        };
        let b = rust_xlsxwriter::row_col_to_cell(at, 1);
        ws.write_formula_with_format(
            at,
            7,
            Formula::new(format!(
                "=IF({total_cell}=0,\"{NO_PERCENT}\",{b}/{total_cell})"
            ))
            .set_result(share),
            &f.share,
        )?;
    }
    ws.write_string_with_format(total_at, 0, labels.total, &f.total_text)?;
    let sums = [
        (1, decimal_result(now.total.as_decimal()), &f.total_money),
        (
            2,
            decimal_result(now.principal.as_decimal()),
            &f.total_money,
        ),
        (3, decimal_result(now.fees.as_decimal()), &f.total_money),
        (4, decimal_result(now.interest.as_decimal()), &f.total_money),
        (5, now.claims.to_string(), &f.total_count),
    ];
    for (c, result, format) in sums {
        ws.write_formula_with_format(
            total_at,
            c,
            sum_formula(c, report.ages.len(), result)?,
            format,
        )?;
    }
    ws.write_number_with_format(total_at, 6, count(report.debtors_now), &f.total_count)?;
    ws.write_blank(total_at, 7, &f.total_text)?;
    ws.write_string_with_format(total_at + 2, 0, labels.note_debtors, &f.note)?;
    Ok(())
}

/// Total, principal, fees, interest, claims and debtors in columns B–G.
fn figures_cells(
    ws: &mut Worksheet,
    f: &Formats,
    at: u32,
    figures: &Figures,
) -> Result<(), FilesError> {
    let (m, c) = (&f.money, &f.count);
    ws.write_number_with_format(at, 1, money(figures.total), m)?;
    ws.write_number_with_format(at, 2, money(figures.principal), m)?;
    ws.write_number_with_format(at, 3, money(figures.fees), m)?;
    ws.write_number_with_format(at, 4, money(figures.interest), m)?;
    ws.write_number_with_format(at, 5, count(figures.claims), c)?;
    ws.write_number_with_format(at, 6, count(figures.debtors), c)?;
    Ok(())
}

/// The period's flows (number and amount) and the direct-debit share of the arrears now.
fn period_table(
    ws: &mut Worksheet,
    f: &Formats,
    report: &Report,
    labels: &Labels,
) -> Result<(), FilesError> {
    let fmt = Fmt {
        language: report.language,
        currency: report.currency,
    };
    let period = format!(
        "{} {} – {}",
        labels.period,
        fmt.date(report.period_start),
        fmt.date(report.as_of)
    );
    for (c, h) in [period.as_str(), labels.count, labels.amount]
        .into_iter()
        .zip(0_u16..)
        .map(|(h, c)| (c, h))
    {
        ws.write_string_with_format(HEADER_ROW, c, h, &f.header)?;
    }
    ws.set_column_width(0, 48)?;
    ws.set_column_width(1, 16)?;
    ws.set_column_width(2, 18)?;
    let flows = &report.flows;
    let mut lines = vec![
        (labels.transfers, Some(flows.transfers)),
        (labels.write_offs, Some(flows.write_offs)),
    ];
    for (label, flow) in [
        (labels.new_arrears, flows.new_arrears),
        (labels.payments, flows.payments),
        (
            labels.payments_by_direct_debit,
            flows.payments_by_direct_debit,
        ),
    ] {
        if flow.is_some() {
            lines.push((label, flow));
        }
    }
    let mut at = FIRST_ROW;
    for (label, flow) in lines.into_iter().filter_map(|(l, f)| f.map(|f| (l, f))) {
        ws.write_string_with_format(at, 0, label, &f.text)?;
        ws.write_number_with_format(at, 1, count(flow.count), &f.count)?;
        ws.write_number_with_format(at, 2, money(flow.amount), &f.money)?;
        at += 1;
    }

    at += 1;
    let heading = format!("{} {}", labels.direct_debit, fmt.date(report.as_of));
    ws.write_string_with_format(at, 0, &heading, &f.header)?;
    ws.write_string_with_format(at, 1, labels.claims, &f.header)?;
    ws.write_string_with_format(at, 2, labels.amount, &f.header)?;
    at += 1;
    ws.write_string_with_format(at, 0, labels.direct_debit, &f.text)?;
    ws.write_number_with_format(at, 1, count(report.direct_debit.claims), &f.count)?;
    ws.write_number_with_format(at, 2, money(report.direct_debit.amount), &f.money)?;
    at += 1;
    ws.write_string_with_format(at, 0, labels.direct_debit_share, &f.text)?;
    let share = |p: Option<Decimal>| p.map(|p| decimal_number(p / Decimal::ONE_HUNDRED));
    match share(report.direct_debit_share_of_claims()) {
        Some(v) => ws.write_number_with_format(at, 1, v, &f.share)?,
        None => ws.write_blank(at, 1, &f.share)?,
    };
    match share(report.direct_debit_share_of_amount()) {
        Some(v) => ws.write_number_with_format(at, 2, v, &f.share)?,
        None => ws.write_blank(at, 2, &f.share)?,
    };

    // Prepayments are not arrears (seed 000): outstanding ones are shown apart.
    at += 2;
    let heading = format!("{} {}", labels.prepayments, fmt.date(report.as_of));
    ws.write_string_with_format(at, 0, &heading, &f.header)?;
    ws.write_string_with_format(at, 1, labels.claims, &f.header)?;
    ws.write_string_with_format(at, 2, labels.amount, &f.header)?;
    at += 1;
    ws.write_string_with_format(at, 0, labels.prepayments, &f.text)?;
    ws.write_number_with_format(at, 1, count(report.prepayments.claims), &f.count)?;
    ws.write_number_with_format(at, 2, money(report.prepayments.amount), &f.money)?;
    Ok(())
}

/// Total arrears at each month-end, oldest first.
fn history_table(
    ws: &mut Worksheet,
    f: &Formats,
    report: &Report,
    labels: &Labels,
) -> Result<(), FilesError> {
    ws.write_string_with_format(HEADER_ROW, 0, labels.month_end, &f.header)?;
    ws.write_string_with_format(HEADER_ROW, 1, labels.total_arrears, &f.header)?;
    ws.set_column_width(0, 24)?;
    ws.set_column_width(1, 18)?;
    for (i, point) in report.history.iter().enumerate() {
        let at = FIRST_ROW + row(i)?;
        ws.write_datetime_with_format(at, 0, &excel_date(point.month_end)?, &f.date)?;
        ws.write_number_with_format(at, 1, money(point.total), &f.money)?;
    }
    Ok(())
}

fn excel_date(d: BusinessDate) -> Result<ExcelDateTime, FilesError> {
    let year = u16::try_from(d.year()).map_err(|_| FilesError::DateOutOfRange(d))?;
    let month = u8::try_from(d.month()).map_err(|_| FilesError::DateOutOfRange(d))?;
    let day = u8::try_from(d.day()).map_err(|_| FilesError::DateOutOfRange(d))?;
    ExcelDateTime::from_ymd(year, month, day).map_err(|_| FilesError::DateOutOfRange(d))
}

/// A table index as a worksheet row offset.
fn row(i: usize) -> Result<u32, FilesError> {
    u32::try_from(i)
        .ok()
        .filter(|r| *r < 1_000_000)
        .ok_or(FilesError::TooManyRows)
}

/// An amount as the number Excel stores (a double; exact for every amount below 2^53 øre).
fn money(m: Money) -> f64 {
    m.to_f64()
}

fn count(n: u64) -> f64 {
    decimal_number(Decimal::from(n))
}

fn decimal_number(d: Decimal) -> f64 {
    d.to_f64().unwrap_or_default()
}

/// A formula's result as Excel writes it: `1234.5`, `-0.125`, `0`.
fn decimal_result(d: Decimal) -> String {
    d.normalize().to_string()
}

impl From<XlsxError> for FilesError {
    fn from(e: XlsxError) -> Self {
        FilesError::Xlsx(e.to_string())
    }
}
