//! The quarterly statement of recovery cases (seed 004, issue 20 item 5).
//!
//! On the first business day of a quarter (`calendar.day.opened.v1`; a skipped one is caught up
//! on the next opened day, [`statements_due`]) every municipality with `statement_recipients`
//! gets the statement of the quarter just ended: an XLSX with one row per case (opened, raised,
//! released, settled, closed; claim, recovered, outstanding, credit, expired unrecovered) and
//! the totals per line of [`summarize`] (opened, raised, recovered, outstanding, expired
//! unrecovered, released). A case is identified by its case id and the guarantor's name: no
//! national id is in the file.
//!
//! The statement is stored once (`statements`, id [`statements::statement_id`]: municipality
//! and quarter) and e-mailed with the XLSX attached to each recipient (template
//! [`TEMPLATE`], one `notifications.notification.requested.v1` per recipient with a
//! deterministic notification id); a day opened again finds the statement stored and sends
//! nothing. A quarter in which no case was open gets no statement. `GET /api/v1/statements/{id}` downloads it.

use restance_bus::{Effects, HandlerError};
use restance_contracts::messages::{Attachment, NotificationRequested, Related};
use restance_kernel::{BusinessDate, Language, Money};
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook, XlsxError};
use sea_orm::DatabaseTransaction;
use serde_json::json;

use crate::domain::{CaseRow, Quarter, QuarterlySummary, statements_due, summarize};
use crate::state::Shared;
use crate::store::queries::statements::{self, NewStatement, StatementRow};
use crate::store::queries::{cases, guarantees, reads};

/// The e-mail that carries the statement (e-mail only).
pub const TEMPLATE: &str = "guarantee_statement";

/// The XLSX's media type.
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The 0-based row of the cases sheet's header (rows 0–3 say what the sheet is).
pub const HEADER_ROW: u32 = 4;

/// Produces and sends the statements that fall due on `day` (see the module documentation).
/// Called by [`super::days::open`] after the day is recorded.
pub async fn on_day(
    shared: &Shared,
    tx: &DatabaseTransaction,
    effects: &mut Effects,
    day: BusinessDate,
) -> Result<(), HandlerError> {
    let previous = reads::previous_day(tx, day).await?;
    let due = statements_due(shared.limitation.calendar(), previous, day);
    if due.is_empty() {
        return Ok(());
    }
    for (municipality, settings) in &shared.config.municipalities {
        if settings.statement_recipients.is_empty() {
            continue;
        }
        for quarter in &due {
            produce(shared, tx, effects, municipality, *quarter, day).await?;
        }
    }
    Ok(())
}

async fn produce(
    shared: &Shared,
    tx: &DatabaseTransaction,
    effects: &mut Effects,
    municipality: &str,
    quarter: Quarter,
    day: BusinessDate,
) -> Result<(), HandlerError> {
    let statement_id = statements::statement_id(municipality, quarter);
    if statements::exists(tx, &statement_id).await? {
        return Ok(());
    }
    let mut loaded = Vec::new();
    for case_id in reads::case_ids_of(tx, municipality, quarter.last_day()).await? {
        if let Some(stored) = cases::load(tx, &case_id).await? {
            loaded.push(stored.case);
        }
    }
    let summary = summarize(quarter, &loaded);
    if summary.rows.is_empty() {
        // no case was open in the quarter: nothing to state (the first day the service opens
        // looks back one quarter, usually to before any case)
        return Ok(());
    }
    let mut names = Vec::with_capacity(summary.rows.len());
    for row in &summary.rows {
        names.push(guarantor_name(tx, &row.guarantee_id).await?);
    }
    let language = shared
        .catalog
        .municipality(municipality)
        .map_or(Language::Da, |m| m.language);
    let municipality_name = shared
        .catalog
        .municipality(municipality)
        .map_or_else(|| municipality.to_owned(), |m| m.name.clone());
    let sheet = Sheet {
        statement_id: &statement_id,
        municipality,
        municipality_name: &municipality_name,
        produced_on: day,
        language,
        summary: &summary,
        guarantors: &names,
    };
    let bytes = workbook(&sheet)
        .map_err(|e| HandlerError::Other(format!("statement {statement_id}: {e}")))?;
    let file_name = format!("guarantee-statement-{municipality}-{quarter}.xlsx");
    let attachment = Attachment::from_bytes(file_name.clone(), XLSX, &bytes);
    let recipients = shared
        .config
        .municipality(municipality)
        .statement_recipients;
    let row = StatementRow {
        statement_id: statement_id.clone(),
        municipality: municipality.to_owned(),
        quarter: quarter.to_string(),
        produced_on: day,
        file_name: file_name.clone(),
        recipients: i64::try_from(recipients.len()).unwrap_or(i64::MAX),
    };
    let summary_json = serde_json::to_string(&summary)
        .map_err(|e| HandlerError::Other(format!("statement {statement_id}: {e}")))?;
    let stored = statements::insert(
        tx,
        NewStatement {
            row: &row,
            xlsx_base64: &attachment.content_base64,
            summary: &summary_json,
        },
    )
    .await?;
    if !stored {
        return Ok(());
    }
    let office = shared.office_of(municipality);
    for (i, contact) in recipients.iter().enumerate() {
        effects.emit(NotificationRequested {
            notification_id: format!("guarantee:{statement_id}:{TEMPLATE}:{}", i + 1),
            municipality: municipality.to_owned(),
            office: office.clone(),
            template: TEMPLATE.to_owned(),
            language: None,
            recipient: contact.recipient(),
            data: json!({
                "quarter": quarter.to_string(),
                "period_from": quarter.first_day(),
                "period_to": quarter.last_day(),
                "cases": summary.rows.len(),
                "statement_id": statement_id,
                "attached_files": file_name,
            }),
            related: Related {
                service: Some(crate::SERVICE.to_owned()),
                claim_ids: Vec::new(),
                debtor_id: None,
                case_id: None,
            },
            attachments: vec![attachment.clone()],
        })?;
    }
    tracing::info!(%statement_id, municipality, %quarter, cases = summary.rows.len(),
        recipients = recipients.len(), "quarterly statement produced");
    Ok(())
}

/// The guarantor's name as registered (empty when the guarantee is not found).
async fn guarantor_name(
    tx: &DatabaseTransaction,
    guarantee_id: &str,
) -> Result<String, HandlerError> {
    Ok(guarantees::find(tx, guarantee_id)
        .await?
        .and_then(|g| g.guarantor.expose()["name"].as_str().map(str::to_owned))
        .unwrap_or_default())
}

/// What the workbook is written from.
#[derive(Debug)]
pub struct Sheet<'a> {
    /// The statement's id.
    pub statement_id: &'a str,
    /// The municipality's code.
    pub municipality: &'a str,
    /// Its name.
    pub municipality_name: &'a str,
    /// The business day it is produced on (also the document's creation date).
    pub produced_on: BusinessDate,
    /// The labels' language (Danish, else English).
    pub language: Language,
    /// The figures.
    pub summary: &'a QuarterlySummary,
    /// The guarantor's name per row of `summary.rows`.
    pub guarantors: &'a [String],
}

struct Labels {
    cases: &'static str,
    totals: &'static str,
    title: &'static str,
    municipality: &'static str,
    quarter: &'static str,
    produced: &'static str,
    columns: [&'static str; 14],
    line: &'static str,
    count: &'static str,
    amount: &'static str,
    lines: [&'static str; 6],
}

fn labels(language: Language) -> Labels {
    match language {
        Language::Da => Labels {
            cases: "Sager",
            totals: "Totaler",
            title: "Kvartalsopgørelse: tilbagebetaling fra sikkerhedsstillelser",
            municipality: "Kommune",
            quarter: "Kvartal",
            produced: "Dannet",
            columns: [
                "Sag",
                "Sikkerhedsstillelse",
                "Sikkerhedsstiller",
                "Status",
                "Oprettet",
                "Krav rejst",
                "Frigivet",
                "Afregnet",
                "Lukket",
                "Krav",
                "Inddrevet",
                "Udestående",
                "Tilgodehavende",
                "Forældet, ikke inddrevet",
            ],
            line: "Linje",
            count: "Sager",
            amount: "Beløb",
            lines: [
                "Oprettet",
                "Krav rejst",
                "Inddrevet",
                "Udestående",
                "Forældet, ikke inddrevet",
                "Frigivet",
            ],
        },
        _ => Labels {
            cases: "Cases",
            totals: "Totals",
            title: "Quarterly statement: recovery from guarantees",
            municipality: "Municipality",
            quarter: "Quarter",
            produced: "Produced",
            columns: [
                "Case",
                "Guarantee",
                "Guarantor",
                "State",
                "Opened",
                "Raised",
                "Released",
                "Settled",
                "Closed",
                "Claim",
                "Recovered",
                "Outstanding",
                "Credit",
                "Expired unrecovered",
            ],
            line: "Line",
            count: "Cases",
            amount: "Amount",
            lines: [
                "Opened",
                "Raised",
                "Recovered",
                "Outstanding",
                "Expired unrecovered",
                "Released",
            ],
        },
    }
}

/// An amount as the number a cell holds (kroner).
fn amount(m: Money) -> f64 {
    m.to_f64()
}

fn text_date(d: Option<BusinessDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

/// The statement as an XLSX workbook: sheet 1 the cases (header in row [`HEADER_ROW`] + 1, one
/// row per case by case id), sheet 2 the totals (line, cases, amount: opened, raised,
/// recovered, outstanding, expired unrecovered, released). Amounts are numbers formatted
/// `#,##0.00`, dates ISO text. Deterministic: the creation time is the production day.
pub fn workbook(sheet: &Sheet<'_>) -> Result<Vec<u8>, XlsxError> {
    let l = labels(sheet.language);
    let s = sheet.summary;
    let mut workbook = Workbook::new();
    let d = sheet.produced_on;
    let created = ExcelDateTime::from_ymd(
        u16::try_from(d.year()).unwrap_or(2000),
        u8::try_from(d.month()).unwrap_or(1),
        u8::try_from(d.day()).unwrap_or(1),
    )?;
    workbook.set_properties(
        &DocProperties::new()
            .set_title(l.title)
            .set_subject(format!("{} {}", sheet.municipality, s.quarter))
            .set_author("Restance")
            .set_company(sheet.municipality_name)
            .set_creation_datetime(&created),
    );
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0.00");
    let money_bold = Format::new().set_num_format("#,##0.00").set_bold();

    let ws = workbook.add_worksheet();
    ws.set_name(l.cases)?;
    ws.write_string_with_format(0, 0, l.title, &bold)?;
    ws.write_string(1, 0, l.municipality)?;
    ws.write_string(
        1,
        1,
        format!("{} ({})", sheet.municipality_name, sheet.municipality),
    )?;
    ws.write_string(2, 0, l.quarter)?;
    ws.write_string(
        2,
        1,
        format!(
            "{} ({} – {})",
            s.quarter,
            s.quarter.first_day(),
            s.quarter.last_day()
        ),
    )?;
    ws.write_string(3, 0, l.produced)?;
    ws.write_string(3, 1, format!("{} ({})", d, sheet.statement_id))?;
    for (c, name) in l.columns.iter().enumerate() {
        ws.write_string_with_format(HEADER_ROW, col(c), *name, &bold)?;
    }
    for (i, row) in s.rows.iter().enumerate() {
        let r = HEADER_ROW + 1 + u32::try_from(i).unwrap_or(u32::MAX - HEADER_ROW - 1);
        write_case(ws, r, row, sheet.guarantors.get(i), &money)?;
    }
    ws.set_freeze_panes(HEADER_ROW + 1, 1)?;
    ws.set_column_width(0, 16)?;
    ws.set_column_width(2, 24)?;

    let ws = workbook.add_worksheet();
    ws.set_name(l.totals)?;
    ws.write_string_with_format(0, 0, l.line, &bold)?;
    ws.write_string_with_format(0, 1, l.count, &bold)?;
    ws.write_string_with_format(0, 2, l.amount, &bold)?;
    let totals = [
        s.opened,
        s.raised,
        s.recovered,
        s.outstanding,
        s.expired_unrecovered,
        s.released,
    ];
    for (i, (name, t)) in l.lines.iter().zip(totals).enumerate() {
        let r = 1 + u32::try_from(i).unwrap_or(0);
        ws.write_string(r, 0, *name)?;
        ws.write_number(r, 1, f64::from(t.cases))?;
        ws.write_number_with_format(r, 2, amount(t.amount), &money_bold)?;
    }
    ws.set_column_width(0, 28)?;
    workbook.save_to_buffer()
}

fn col(c: usize) -> u16 {
    u16::try_from(c).unwrap_or(u16::MAX)
}

fn write_case(
    ws: &mut rust_xlsxwriter::Worksheet,
    r: u32,
    row: &CaseRow,
    guarantor: Option<&String>,
    money: &Format,
) -> Result<(), XlsxError> {
    ws.write_string(r, 0, &row.case_id)?;
    ws.write_string(r, 1, &row.guarantee_id)?;
    ws.write_string(r, 2, guarantor.map_or("", String::as_str))?;
    ws.write_string(r, 3, row.state.as_str())?;
    ws.write_string(r, 4, row.opened_on.to_string())?;
    ws.write_string(r, 5, text_date(row.raised_on))?;
    ws.write_string(r, 6, text_date(row.released_on))?;
    ws.write_string(r, 7, text_date(row.settled_on))?;
    ws.write_string(r, 8, text_date(row.closed_on))?;
    for (c, m) in [
        row.claim,
        row.recovered,
        row.outstanding,
        row.credit,
        row.expired_unrecovered,
    ]
    .into_iter()
    .enumerate()
    {
        ws.write_number_with_format(r, col(9 + c), amount(m), money)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Actor, RecoveryCase, Trigger};
    use calamine::{Data, Reader, Xlsx};
    use restance_kernel::BusinessDate;

    fn date(s: &str) -> BusinessDate {
        s.parse().expect("date")
    }

    fn number(s: &str) -> f64 {
        s.parse().expect("number")
    }

    #[test]
    fn an_amount_is_its_kroner_as_a_number() {
        assert_eq!(amount(Money::from_minor(1_234_567)), number("12345.67"));
        assert_eq!(amount(Money::from_minor(-5)), number("-0.05"));
        assert_eq!(amount(Money::ZERO), number("0"));
    }

    #[test]
    fn the_workbook_reads_back_with_its_rows_and_totals() {
        let case = RecoveryCase::open(
            "G-1/R1",
            "G-1",
            Trigger::Caseworker,
            date("2026-05-04"),
            Actor::Caseworker("mhj".into()),
        );
        let quarter = Quarter::containing(date("2026-05-04"));
        let summary = summarize(quarter, &[case]);
        let names = vec!["Jonas Kristensen".to_owned()];
        let sheet = Sheet {
            statement_id: "GS-0746-2026-Q2",
            municipality: "0746",
            municipality_name: "Skanderborg",
            produced_on: date("2026-07-01"),
            language: Language::En,
            summary: &summary,
            guarantors: &names,
        };
        let bytes = workbook(&sheet).expect("workbook");
        assert_eq!(bytes, workbook(&sheet).expect("again"), "deterministic");
        let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).expect("opens");
        assert_eq!(wb.sheet_names(), ["Cases", "Totals"]);
        let cases = wb.worksheet_range("Cases").expect("cases");
        assert_eq!(
            cases.get_value((HEADER_ROW + 1, 0)),
            Some(&Data::String("G-1/R1".into()))
        );
        assert_eq!(
            cases.get_value((HEADER_ROW + 1, 2)),
            Some(&Data::String("Jonas Kristensen".into()))
        );
        assert_eq!(
            cases.get_value((HEADER_ROW + 1, 3)),
            Some(&Data::String("opened".into()))
        );
        let totals = wb.worksheet_range("Totals").expect("totals");
        assert_eq!(
            totals.get_value((1, 0)),
            Some(&Data::String("Opened".into()))
        );
        assert_eq!(totals.get_value((1, 1)), Some(&Data::Float(number("1"))));
    }
}
