//! An office's daily arrears list ([`crate::domain::arrears_list`]) as files for the finance
//! office: CSV for Danish Excel (the report CSV's conventions: BOM, `;`, decimal comma, CRLF,
//! formula-safe text) and an XLSX workbook (the list, frozen header and autofilter; the totals
//! by category and age). Pure: the same list gives the same bytes. Debtor ids only — no
//! national id, name or address is in reporting at all.

use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook};

use crate::domain::arrears_list::{ArrearsList, Tally};
use crate::domain::report::{AgeBucket, Fmt};
use crate::files::FilesError;
use crate::files::csv::{BOM, SEPARATOR, money, text_field};
use crate::files::labels::Labels;

/// The file name stem: `arrears-list-<municipality>-<office>-<date>`.
pub fn file_stem(list: &ArrearsList) -> String {
    let safe = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!(
        "arrears-list-{}-{}-{}",
        safe(&list.municipality),
        safe(&list.office),
        list.as_of
    )
}

fn line(out: &mut String, fields: impl IntoIterator<Item = String>) {
    let fields: Vec<String> = fields.into_iter().collect();
    out.push_str(&fields.join(&SEPARATOR.to_string()));
    out.push_str("\r\n");
}

/// The list as CSV: a header line; one line per claim (claim id; debtor id; category; key; due
/// date; days overdue; age; state; principal; fees; interest; total); an empty line; the totals
/// per category (name; key; one amount per age bucket; total; claims) and in all.
pub fn csv(list: &ArrearsList) -> Vec<u8> {
    let labels = Labels::of(list.language);
    let mut out = String::from(BOM);
    line(
        &mut out,
        [
            labels.claim_id,
            labels.debtor_id,
            labels.category,
            "key",
            labels.due_date,
            labels.age,
            "age",
            labels.state,
            labels.principal,
            labels.fees,
            labels.interest,
            labels.total,
        ]
        .map(text_field),
    );
    for r in &list.rows {
        line(
            &mut out,
            [
                text_field(&r.claim_id),
                text_field(&r.debtor_id),
                text_field(&r.category_name),
                r.category.clone(),
                r.due_date.to_string(),
                r.days_overdue.to_string(),
                r.age.as_str().to_owned(),
                r.state.as_str().to_owned(),
                money(r.principal),
                money(r.fees),
                money(r.interest),
                money(r.total),
            ],
        );
    }
    out.push_str("\r\n");
    let mut header = vec![text_field(labels.category), "key".to_owned()];
    header.extend(
        AgeBucket::ALL
            .iter()
            .map(|b| text_field(b.label(list.language))),
    );
    header.push(text_field(labels.total));
    header.push(text_field(labels.claims));
    line(&mut out, header);
    let totals_line = |name: &str, key: &str, ages: &[Tally], total: &Tally| {
        let mut fields = vec![text_field(name), key.to_owned()];
        fields.extend(ages.iter().map(|t| money(t.amount)));
        fields.push(money(total.amount));
        fields.push(total.claims.to_string());
        fields
    };
    for c in &list.categories {
        line(
            &mut out,
            totals_line(&c.name, &c.category, &c.ages, &c.total),
        );
    }
    line(
        &mut out,
        totals_line(labels.total, "", &list.ages, &list.total),
    );
    out.into_bytes()
}

// Long: the workbook laid out cell by cell, sheet by sheet, top to bottom (as chart.rs draws its SVG).
/// The list as an XLSX workbook: the rows (sheet 1, with an autofilter) and the totals by
/// category and age (sheet 2). Amounts are numbers formatted `#,##0.00`, dates real dates.
pub fn xlsx(list: &ArrearsList) -> Result<Vec<u8>, FilesError> {
    let labels = Labels::of(list.language);
    let fmt = Fmt {
        language: list.language,
        currency: list.currency,
    };
    let bold = Format::new().set_bold();
    let header = Format::new()
        .set_bold()
        .set_text_wrap()
        .set_align(FormatAlign::Center)
        .set_background_color("#DDEBF7")
        .set_border_bottom(FormatBorder::Thin);
    let money_format = Format::new().set_num_format("#,##0.00");
    let total_money = Format::new()
        .set_bold()
        .set_border_top(FormatBorder::Thin)
        .set_num_format("#,##0.00");
    let total_count = Format::new()
        .set_bold()
        .set_border_top(FormatBorder::Thin)
        .set_num_format("#,##0");
    let date_format = Format::new().set_num_format(match list.language {
        restance_kernel::Language::En => "yyyy-mm-dd",
        _ => "dd-mm-yyyy",
    });
    let as_of = rust_xlsxwriter::ExcelDateTime::from_ymd(
        u16::try_from(list.as_of.year()).map_err(|_| FilesError::DateOutOfRange(list.as_of))?,
        u8::try_from(list.as_of.month()).map_err(|_| FilesError::DateOutOfRange(list.as_of))?,
        u8::try_from(list.as_of.day()).map_err(|_| FilesError::DateOutOfRange(list.as_of))?,
    )
    .map_err(|_| FilesError::DateOutOfRange(list.as_of))?;
    let mut workbook = Workbook::new();
    // The creation time is the list's date, never the wall clock: the same list, the same bytes.
    workbook.set_properties(
        &rust_xlsxwriter::DocProperties::new()
            .set_title(labels.list_title)
            .set_author("Restance")
            .set_creation_datetime(&as_of),
    );
    let title = format!(
        "{}: {} – {} ({}), {}",
        labels.list_title,
        list.municipality_name,
        list.office_name,
        list.currency.code(),
        fmt.date(list.as_of)
    );
    const HEADER: u32 = 2;
    let too_many = |i: usize| u32::try_from(i).ok().filter(|r| *r < 1_000_000);

    let ws = workbook.add_worksheet();
    ws.set_name(labels.sheet_list)?;
    ws.write_string_with_format(0, 0, &title, &bold)?;
    let headings = [
        labels.claim_id,
        labels.debtor_id,
        labels.category,
        labels.due_date,
        labels.age,
        labels.state,
        labels.principal,
        labels.fees,
        labels.interest,
        labels.total,
    ];
    for (c, h) in (0_u16..).zip(headings) {
        ws.write_string_with_format(HEADER, c, h, &header)?;
        ws.set_column_width(c, if c < 4 { 18 } else { 14 })?;
    }
    for (i, r) in list.rows.iter().enumerate() {
        let at = HEADER + 1 + too_many(i).ok_or(FilesError::TooManyRows)?;
        ws.write_string(at, 0, &r.claim_id)?;
        ws.write_string(at, 1, &r.debtor_id)?;
        ws.write_string(at, 2, &r.category_name)?;
        let due = rust_xlsxwriter::ExcelDateTime::from_ymd(
            u16::try_from(r.due_date.year()).map_err(|_| FilesError::DateOutOfRange(r.due_date))?,
            u8::try_from(r.due_date.month()).map_err(|_| FilesError::DateOutOfRange(r.due_date))?,
            u8::try_from(r.due_date.day()).map_err(|_| FilesError::DateOutOfRange(r.due_date))?,
        )
        .map_err(|_| FilesError::DateOutOfRange(r.due_date))?;
        ws.write_datetime_with_format(at, 3, &due, &date_format)?;
        ws.write_number(at, 4, r.days_overdue as f64)?;
        ws.write_string(at, 5, r.state.label(list.language))?;
        ws.write_number_with_format(at, 6, r.principal.to_f64(), &money_format)?;
        ws.write_number_with_format(at, 7, r.fees.to_f64(), &money_format)?;
        ws.write_number_with_format(at, 8, r.interest.to_f64(), &money_format)?;
        ws.write_number_with_format(at, 9, r.total.to_f64(), &money_format)?;
    }
    let last = HEADER + too_many(list.rows.len()).ok_or(FilesError::TooManyRows)?;
    let total_at = last + 1;
    ws.write_string_with_format(total_at, 0, labels.total, &total_count)?;
    ws.write_number_with_format(total_at, 1, list.total.claims as f64, &total_count)?;
    ws.write_number_with_format(total_at, 9, list.total.amount.to_f64(), &total_money)?;
    ws.set_freeze_panes(HEADER + 1, 0)?;
    if !list.rows.is_empty() {
        ws.autofilter(HEADER, 0, last, 9)?;
    }

    let ws = workbook.add_worksheet();
    ws.set_name(labels.sheet_list_totals)?;
    ws.write_string_with_format(0, 0, &title, &bold)?;
    ws.write_string_with_format(HEADER, 0, labels.category, &header)?;
    ws.set_column_width(0, 30)?;
    for (c, b) in (1_u16..).zip(AgeBucket::ALL) {
        ws.write_string_with_format(HEADER, c, b.label(list.language), &header)?;
        ws.set_column_width(c, 16)?;
    }
    ws.write_string_with_format(HEADER, 5, labels.total, &header)?;
    ws.write_string_with_format(HEADER, 6, labels.claims, &header)?;
    ws.set_column_width(5, 16)?;
    let mut at = HEADER + 1;
    for c in &list.categories {
        ws.write_string(at, 0, &c.name)?;
        for (col, t) in (1_u16..).zip(&c.ages) {
            ws.write_number_with_format(at, col, t.amount.to_f64(), &money_format)?;
        }
        ws.write_number_with_format(at, 5, c.total.amount.to_f64(), &money_format)?;
        ws.write_number(at, 6, c.total.claims as f64)?;
        at += 1;
    }
    ws.write_string_with_format(at, 0, labels.total, &total_count)?;
    for (col, t) in (1_u16..).zip(&list.ages) {
        ws.write_number_with_format(at, col, t.amount.to_f64(), &total_money)?;
    }
    ws.write_number_with_format(at, 5, list.total.amount.to_f64(), &total_money)?;
    ws.write_number_with_format(at, 6, list.total.claims as f64, &total_count)?;
    Ok(workbook.save_to_buffer()?)
}
