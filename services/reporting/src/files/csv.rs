//! The category table as CSV for Danish Excel: it opens with a double click, columns split and
//! numbers are numbers.
//!
//! Danish Excel reads a `.csv` with the system's list separator (`;`) and decimal comma, and
//! needs a UTF-8 byte-order mark to read æøå as UTF-8. So: BOM, `;` between fields, `1234,50`
//! (decimal comma, no thousands separator, `-` for negative), CRLF line ends, and a field quoted
//! (`"`, doubled inside) only when it holds `;`, `"`, CR or LF. The same layout is used for
//! every language — it is a format for Excel, not for reading — only the headings follow the
//! report's language.
//!
//! Columns: name; key; total now; principal; fees; interest; claims; debtors; total 12 months
//! earlier; change kr; change % (one decimal); share of the total now % (one decimal). A blank
//! comparison means no figures for that date. The last row of the table is the total (distinct
//! debtors; see [`Report::total_now`]).
//!
//! After an empty line, the outstanding prepayments (not arrears): heading; `prepayments`,
//! claims, amount. A report with measures taken (quarterly, follow-up, consolidated) then has,
//! after another empty line, the measures table: measure; key; the period; the same period a
//! year earlier; change — "not recorded" (in the report's language) where the system has no
//! event for a measure yet, blank where there are no figures for the earlier period. After
//! another empty line, the campaign outcome: heading; columns; one row per campaign sent in the
//! period (campaign; kind; sent date; debtors sent to; paid; agreed; no response — as of the
//! report's date, [`crate::domain::report::campaigns`]).

use restance_kernel::Money;
use rust_decimal::Decimal;

use crate::domain::report::{Change, Figures, Fmt, Report, campaign_kind_label};
use crate::files::labels::Labels;

/// The UTF-8 byte-order mark Excel needs to read the file as UTF-8.
pub const BOM: &str = "\u{feff}";

/// Field separator: the list separator of Danish (and Norwegian) Windows.
pub const SEPARATOR: char = ';';

/// The report's category table as CSV bytes.
pub fn render(report: &Report) -> Vec<u8> {
    let labels = Labels::of(report.language);
    let fmt = Fmt {
        language: report.language,
        currency: report.currency,
    };
    let mut out = String::from(BOM);
    let header = [
        labels.category.to_owned(),
        "key".to_owned(),
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
    push_line(&mut out, header.iter().map(|h| text_field(h)));
    let share = |f: &Figures| report.share_of_total(f).map(decimal).unwrap_or_default();
    for row in &report.categories {
        let mut line = figures_line(&row.name, &row.key, &row.now, row.then.as_ref());
        line.push(share(&row.now));
        push_line(&mut out, line);
    }
    let total_then = report.total_then();
    let total_now = report.total_now();
    let mut line = figures_line(labels.total, "", &total_now, total_then.as_ref());
    line.push(share(&total_now));
    push_line(&mut out, line);

    // Apart from the arrears: the outstanding prepayments (not arrears, seed 000).
    out.push_str("\r\n");
    push_line(
        &mut out,
        [labels.prepayments, "key", labels.claims, labels.amount].map(text_field),
    );
    push_line(
        &mut out,
        [
            text_field(labels.prepayments),
            "prepayments".to_owned(),
            report.prepayments.claims.to_string(),
            money(report.prepayments.amount),
        ],
    );

    if !report.measures.is_empty() {
        out.push_str("\r\n");
        let period = format!(
            "{} {} – {}",
            labels.period,
            fmt.date(report.period_start),
            fmt.date(report.as_of)
        );
        push_line(
            &mut out,
            [
                labels.measure,
                "key",
                &period,
                labels.same_period_last_year,
                labels.change,
            ]
            .map(text_field),
        );
        for m in &report.measures {
            let count = |n: Option<u64>| match (n, m.now) {
                (Some(n), _) => n.to_string(),
                (None, None) => text_field(labels.not_recorded),
                (None, Some(_)) => String::new(),
            };
            push_line(
                &mut out,
                [
                    text_field(m.measure.label(report.language)),
                    m.measure.as_str().to_owned(),
                    count(m.now),
                    count(m.then),
                    m.change().map(|c| c.to_string()).unwrap_or_default(),
                ],
            );
        }
        out.push_str("\r\n");
        push_line(&mut out, [text_field(labels.campaigns)]);
        push_line(&mut out, labels.campaign_columns.map(text_field));
        for c in &report.campaigns {
            push_line(
                &mut out,
                [
                    text_field(&c.campaign_id),
                    text_field(campaign_kind_label(&c.kind, report.language)),
                    fmt.date(c.sent_date),
                    c.debtors.to_string(),
                    c.paid.to_string(),
                    c.agreed.to_string(),
                    c.no_response.to_string(),
                ],
            );
        }
    }
    out.into_bytes()
}

/// The fields of one row: name, key, figures now, total then, change.
fn figures_line(name: &str, key: &str, now: &Figures, then: Option<&Figures>) -> Vec<String> {
    let change = Change::of(now, then);
    vec![
        text_field(name),
        text_field(key),
        money(now.total),
        money(now.principal),
        money(now.fees),
        money(now.interest),
        now.claims.to_string(),
        now.debtors.to_string(),
        then.map(|t| money(t.total)).unwrap_or_default(),
        change.map(|c| money(c.amount)).unwrap_or_default(),
        change
            .and_then(|c| c.percent)
            .map(decimal)
            .unwrap_or_default(),
    ]
}

fn push_line(out: &mut String, fields: impl IntoIterator<Item = String>) {
    let mut first = true;
    for field in fields {
        if !first {
            out.push(SEPARATOR);
        }
        first = false;
        out.push_str(&field);
    }
    out.push_str("\r\n");
}

/// An amount with a decimal comma and no grouping: `-1234,50`.
pub fn money(amount: Money) -> String {
    decimal(amount.as_decimal())
}

/// A decimal with a decimal comma: `12,3`.
pub fn decimal(d: Decimal) -> String {
    d.to_string().replace('.', ",")
}

/// A text field, quoted when it must be. A text that Excel would read as a formula (leading
/// `=`, `+`, `-`, `@`) gets a leading apostrophe, so a catalog name can never run as one.
pub fn text_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([SEPARATOR, '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_use_a_decimal_comma_and_no_thousands_separator() {
        assert_eq!(money(Money::from_minor(123_456_789)), "1234567,89");
        assert_eq!(money(Money::from_minor(-5)), "-0,05");
        assert_eq!(money(Money::ZERO), "0,00");
        assert_eq!(decimal(Decimal::new(-123, 1)), "-12,3");
    }

    #[test]
    fn a_field_is_quoted_only_when_it_holds_a_separator_quote_or_line_break() {
        assert_eq!(text_field("Daginstitution"), "Daginstitution");
        assert_eq!(text_field("Vand; varme"), "\"Vand; varme\"");
        assert_eq!(text_field("Det \"gamle\""), "\"Det \"\"gamle\"\"\"");
        assert_eq!(text_field("a\r\nb"), "\"a\r\nb\"");
    }

    #[test]
    fn a_name_excel_would_run_as_a_formula_is_kept_as_text() {
        assert_eq!(text_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(text_field("-5"), "'-5");
    }
}
