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
//!
//! This file holds the workbook, its formats and every sheet's heading; the tables are in
//! `xlsx/comparison.rs` and `xlsx/tables.rs`, the charts in `xlsx/charts.rs`, the cell values in
//! `xlsx/cells.rs`.

use rust_xlsxwriter::{DocProperties, Format, FormatAlign, FormatBorder, Workbook, Worksheet};

use restance_kernel::Language;

use crate::domain::report::{Figures, Fmt, Report};
use crate::files::FilesError;
use crate::files::labels::Labels;

mod cells;
mod charts;
mod comparison;
mod tables;

use cells::{excel_date, row};
use charts::{category_chart, history_chart};
use comparison::{comparison_table, table_widths};
use tables::{age_table, history_table, measures_table, period_table};

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
