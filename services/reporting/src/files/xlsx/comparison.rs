//! The comparison tables (categories, states, offices): rows, the bold total row, the change and
//! share formulas, and the column widths.

use rust_xlsxwriter::{Format, Formula, Worksheet};

use restance_kernel::Money;

use crate::domain::report::{Figures, Fmt, Report};
use crate::files::FilesError;
use crate::files::labels::Labels;

use super::cells::{count, decimal_result, money, row};
use super::{FIRST_ROW, Formats, HEADER_ROW, NO_PERCENT, TableRow, col};

// Long: the table laid out cell by cell, top to bottom (headings, one row a line, the total row, the notes).
/// A comparison table (categories, states, offices) with its bold total row and notes.
pub(super) fn comparison_table(
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
pub(super) fn table_widths(ws: &mut Worksheet) -> Result<(), FilesError> {
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
pub(super) fn sum_formula(c: u16, rows: usize, result: String) -> Result<Formula, FilesError> {
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
