//! The debt schedule (gjeldsskjema) as an XLSX workbook, in Norwegian (the counsellors' and the
//! applicant's language): one row per debt item — creditor, reference, kind, balance, interest,
//! monthly cost, source — then the totals, and the budget's verdict when one was assessed.
//! Amounts are numbers formatted `#,##0.00`. Deterministic: the creation time is the day.

use chrono::Datelike;
use restance_kernel::BusinessDate;
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook, XlsxError};

use crate::domain::{DebtSchedule, Source};

/// The file name of a case's schedule.
pub fn file_name(case_id: &str) -> String {
    format!("gjeldsskjema-{case_id}.xlsx")
}

/// The columns, in order.
pub const HEADER: [&str; 7] = [
    "Kreditor",
    "Referanse",
    "Type gjeld",
    "Saldo",
    "Renter og omkostninger",
    "Månedlig kostnad",
    "Kilde",
];

/// The row (0-based) of the header.
pub const HEADER_ROW: u32 = 3;

/// The workbook of `schedule` for `case_id`, made on `on`.
pub fn workbook(
    case_id: &str,
    schedule: &DebtSchedule,
    on: BusinessDate,
    currency: &str,
) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let created = ExcelDateTime::from_ymd(
        u16::try_from(on.year()).unwrap_or(2000),
        u8::try_from(on.month()).unwrap_or(1),
        u8::try_from(on.as_naive().day()).unwrap_or(1),
    )?;
    wb.set_properties(
        &DocProperties::new()
            .set_title("Gjeldsskjema")
            .set_subject(case_id)
            .set_author("Restance")
            .set_creation_datetime(&created),
    );
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0.00");
    let money_bold = Format::new().set_num_format("#,##0.00").set_bold();
    let ws = wb.add_worksheet();
    ws.set_name("Gjeldsskjema")?;
    ws.write_string_with_format(0, 0, "Gjeldsskjema", &bold)?;
    ws.write_string(1, 0, "Sak")?;
    ws.write_string(1, 1, case_id)?;
    ws.write_string(2, 0, "Dato / valuta")?;
    ws.write_string(2, 1, format!("{on} / {currency}"))?;
    for (c, name) in HEADER.iter().enumerate() {
        ws.write_string_with_format(HEADER_ROW, c as u16, *name, &bold)?;
    }
    let mut r = HEADER_ROW + 1;
    for i in &schedule.items {
        ws.write_string(r, 0, &i.creditor)?;
        ws.write_string(r, 1, i.reference.as_deref().unwrap_or(""))?;
        ws.write_string(r, 2, &i.kind)?;
        ws.write_number_with_format(r, 3, i.balance.to_f64(), &money)?;
        ws.write_number_with_format(r, 4, i.interest.to_f64(), &money)?;
        ws.write_number_with_format(r, 5, i.monthly_cost.to_f64(), &money)?;
        ws.write_string(
            r,
            6,
            match i.source {
                Source::Creditor => "kreditor",
                Source::Register => "inkassoregisteret",
                Source::Restance => "kommunen",
            },
        )?;
        r += 1;
    }
    ws.write_string_with_format(r, 0, "Sum", &bold)?;
    ws.write_number_with_format(r, 3, schedule.totals.balance.to_f64(), &money_bold)?;
    ws.write_number_with_format(r, 4, schedule.totals.interest.to_f64(), &money_bold)?;
    ws.write_number_with_format(r, 5, schedule.totals.monthly_cost.to_f64(), &money_bold)?;
    if let (Some(b), Some(can)) = (schedule.budget, schedule.can_service) {
        r += 2;
        ws.write_string_with_format(r, 0, "Budsjett (per måned)", &bold)?;
        ws.write_string(r + 1, 0, "Inntekt")?;
        ws.write_number_with_format(r + 1, 3, b.monthly_income.to_f64(), &money)?;
        ws.write_string(r + 2, 0, "Nødvendige utgifter")?;
        ws.write_number_with_format(r + 2, 3, b.monthly_expenses.to_f64(), &money)?;
        ws.write_string(r + 3, 0, "Til rådighet")?;
        if let Some(left) = b.monthly_capacity() {
            ws.write_number_with_format(r + 3, 3, left.to_f64(), &money_bold)?;
        }
        ws.write_string(r + 4, 0, "Evne til å betjene gjelden")?;
        ws.write_string(r + 4, 3, if can { "ja" } else { "nei" })?;
    }
    ws.autofit();
    wb.save_to_buffer()
}
