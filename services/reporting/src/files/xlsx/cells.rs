//! Cell values as Excel stores them (dates, row offsets, numbers, formula results), and
//! rust_xlsxwriter's errors as [`FilesError`].

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use rust_xlsxwriter::{ExcelDateTime, XlsxError};

use restance_kernel::{BusinessDate, Money};

use crate::files::FilesError;

pub(super) fn excel_date(d: BusinessDate) -> Result<ExcelDateTime, FilesError> {
    let year = u16::try_from(d.year()).map_err(|_| FilesError::DateOutOfRange(d))?;
    let month = u8::try_from(d.month()).map_err(|_| FilesError::DateOutOfRange(d))?;
    let day = u8::try_from(d.day()).map_err(|_| FilesError::DateOutOfRange(d))?;
    ExcelDateTime::from_ymd(year, month, day).map_err(|_| FilesError::DateOutOfRange(d))
}

/// A table index as a worksheet row offset.
pub(super) fn row(i: usize) -> Result<u32, FilesError> {
    u32::try_from(i)
        .ok()
        .filter(|r| *r < 1_000_000)
        .ok_or(FilesError::TooManyRows)
}

/// An amount as the number Excel stores (a double; exact for every amount below 2^53 øre).
pub(super) fn money(m: Money) -> f64 {
    m.to_f64()
}

pub(super) fn count(n: u64) -> f64 {
    decimal_number(Decimal::from(n))
}

pub(super) fn decimal_number(d: Decimal) -> f64 {
    d.to_f64().unwrap_or_default()
}

/// A formula's result as Excel writes it: `1234.5`, `-0.125`, `0`.
pub(super) fn decimal_result(d: Decimal) -> String {
    d.normalize().to_string()
}

impl From<XlsxError> for FilesError {
    fn from(e: XlsxError) -> Self {
        FilesError::Xlsx(e.to_string())
    }
}
