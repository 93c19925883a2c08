//! The other sheets' tables: the measures taken and the campaigns, the arrears by age, the
//! period's flows, and the history of month-ends.

use rust_decimal::Decimal;
use rust_xlsxwriter::{Formula, Worksheet};

use crate::domain::report::{Figures, Fmt, Report, campaign_kind_label};
use crate::files::FilesError;
use crate::files::labels::Labels;

use super::cells::{count, decimal_number, decimal_result, excel_date, money, row};
use super::comparison::sum_formula;
use super::{FIRST_ROW, Formats, HEADER_ROW, NO_PERCENT};

/// "Measures taken" in the period against the same period 12 months earlier (a measure the
/// system does not record yet says so instead of a count), then the outstanding prepayments.
pub(super) fn measures_table(
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

/// The arrears now by age, with each bucket's share of the total.
pub(super) fn age_table(
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
pub(super) fn period_table(
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
pub(super) fn history_table(
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
