//! The report files: a [`Report`] rendered to bytes, ready to be written, hashed and published.
//!
//! Pure: no clock, no randomness, no file system. The same report always gives the same bytes
//! (and so the same sha256 in `reporting.report.published.v1`), which makes a re-run of a
//! report day idempotent and lets tests compare files byte for byte.
//!
//! [`render_all`] gives three files, named from [`Report::file_stem`]:
//! - `arrears-<municipality>-<yyyy>-<mm>.xlsx` — the workbook ([`xlsx`]), native charts included;
//! - `arrears-<municipality>-<yyyy>-<mm>.csv` — the category table for Danish Excel ([`csv`]);
//! - `arrears-<municipality>-<yyyy>-<mm>.svg` — the category chart ([`chart`]).
//!
//! A quarterly report uses `-q<n>` for the month: `arrears-0746-2027-q1.xlsx`.

pub mod arrears_list;
pub mod chart;
pub mod csv;
pub mod labels;
pub mod xlsx;

use restance_kernel::BusinessDate;

use crate::domain::report::{InconsistentReport, Report};

/// The media type of the XLSX workbook.
pub const XLSX_MEDIA_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
/// The media type of the CSV table (UTF-8 with a byte-order mark, `;`-separated).
pub const CSV_MEDIA_TYPE: &str = "text/csv; charset=utf-8";
/// The media type of the SVG chart.
pub const SVG_MEDIA_TYPE: &str = "image/svg+xml";

/// One rendered file of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFileBytes {
    /// The file name, e.g. `arrears-0746-2027-01.xlsx` (a plain name, no directories).
    pub name: String,
    /// Its media type, e.g. [`XLSX_MEDIA_TYPE`].
    pub media_type: &'static str,
    /// Its content.
    pub bytes: Vec<u8>,
}

/// Why a report's files could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilesError {
    /// The report contradicts itself (see [`Report::check`]); nothing is rendered.
    #[error(transparent)]
    Inconsistent(#[from] InconsistentReport),
    /// The workbook could not be assembled.
    #[error("xlsx: {0}")]
    Xlsx(String),
    /// A table has more rows than a worksheet holds.
    #[error("too many rows for a worksheet")]
    TooManyRows,
    /// A date Excel cannot represent (before 1900 or after 9999).
    #[error("date {0} cannot be written to a workbook")]
    DateOutOfRange(BusinessDate),
}

/// Every file of the report: XLSX, CSV and SVG, in that order.
pub fn render_all(report: &Report) -> Result<Vec<ReportFileBytes>, FilesError> {
    let problems = report.check();
    if !problems.is_empty() {
        return Err(InconsistentReport { problems }.into());
    }
    let stem = report.file_stem();
    Ok(vec![
        ReportFileBytes {
            name: format!("{stem}.xlsx"),
            media_type: XLSX_MEDIA_TYPE,
            bytes: xlsx::render(report)?,
        },
        ReportFileBytes {
            name: format!("{stem}.csv"),
            media_type: CSV_MEDIA_TYPE,
            bytes: csv::render(report),
        },
        ReportFileBytes {
            name: format!("{stem}.svg"),
            media_type: SVG_MEDIA_TYPE,
            bytes: chart::render(report),
        },
    ])
}
