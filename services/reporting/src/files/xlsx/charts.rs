//! The native charts: the category comparison's clustered columns and the history's line.

use rust_xlsxwriter::{Chart, ChartLegendPosition, ChartType};

use crate::domain::report::{Fmt, Report};
use crate::files::FilesError;
use crate::files::labels::Labels;

use super::cells::row;
use super::{FIRST_ROW, col};

/// The clustered column chart beside the category table: 12 months earlier and now.
pub(super) fn category_chart(report: &Report, sheet: &str) -> Result<Chart, FilesError> {
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
pub(super) fn history_chart(report: &Report, sheet: &str) -> Result<Chart, FilesError> {
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
