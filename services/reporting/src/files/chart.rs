//! The category chart as SVG: a clustered column chart of every category's arrears 12 months
//! earlier and now, with a value axis, gridlines, category labels and a legend.
//!
//! Written by hand: a column chart is a few dozen rectangles, and hand-written SVG needs no font
//! files, no system fonts and no rasteriser — the text is plain `<text>` in the viewer's
//! `sans-serif`. All geometry is integer pixels computed from integer øre (no floats, which the
//! workspace lints forbid), so the same report always gives the same bytes.

use std::fmt::Write as _;

use restance_kernel::Language;

use crate::domain::report::{Fmt, Report};
use crate::files::labels::Labels;

/// Canvas width in pixels.
pub const WIDTH: i64 = 960;
/// Canvas height in pixels.
pub const HEIGHT: i64 = 560;

const PLOT_LEFT: i64 = 120;
const PLOT_RIGHT: i64 = WIDTH - 30;
const PLOT_TOP: i64 = 90;
const PLOT_BOTTOM: i64 = HEIGHT - 160;
/// The most gridlines (steps) the value axis is divided into.
const MAX_STEPS: i64 = 6;
/// Longer category names are cut with an ellipsis so the rotated labels stay on the canvas.
const MAX_LABEL_CHARS: usize = 28;

/// The fill of the bars 12 months earlier (light) and now (dark).
const COLOUR_THEN: &str = "#9ecae1";
const COLOUR_NOW: &str = "#08519c";

// Long: the SVG drawn top to bottom (title, axes, bars, legend); splitting it would scatter the layout's arithmetic.
/// The report's category chart as SVG bytes.
pub fn render(report: &Report) -> Vec<u8> {
    let labels = Labels::of(report.language);
    let fmt = Fmt {
        language: report.language,
        currency: report.currency,
    };
    let bars: Vec<(&str, i64, Option<i64>)> = report
        .categories
        .iter()
        .map(|row| {
            (
                row.name.as_str(),
                row.now.total.to_minor(),
                row.then.map(|t| t.total.to_minor()),
            )
        })
        .collect();
    let axis = ValueAxis::spanning(
        bars.iter()
            .flat_map(|(_, now, then)| std::iter::once(*now).chain(*then)),
    );

    let mut svg = String::new();
    // Writing to a String cannot fail; the results are ignored on purpose.
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" font-family="sans-serif">"#
    );
    let title = format!("{} – {}", labels.category_chart, report.municipality_name);
    let _ = writeln!(svg, "<title>{}</title>", escape(&title));
    let _ = writeln!(
        svg,
        r##"<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>"##
    );
    let _ = writeln!(
        svg,
        r##"<text x="{PLOT_LEFT}" y="32" font-size="20" font-weight="bold" fill="#222222">{}</text>"##,
        escape(&title)
    );
    let subtitle = format!(
        "{} {} · {} {} · {}",
        labels.as_of,
        fmt.date(report.as_of),
        labels.compared_with.to_lowercase(),
        fmt.date(report.compare_as_of),
        report.currency.code()
    );
    let _ = writeln!(
        svg,
        r##"<text x="{PLOT_LEFT}" y="56" font-size="13" fill="#555555">{}</text>"##,
        escape(&subtitle)
    );

    // Legend, top right: 12 months earlier, then now (chronological, as the bars).
    let legend = [
        (COLOUR_THEN, fmt.date(report.compare_as_of)),
        (COLOUR_NOW, fmt.date(report.as_of)),
    ];
    let mut x = PLOT_RIGHT - 260;
    for (colour, text) in &legend {
        let _ = writeln!(
            svg,
            r#"<rect x="{x}" y="66" width="14" height="14" fill="{colour}"/>"#
        );
        let _ = writeln!(
            svg,
            r##"<text x="{}" y="78" font-size="13" fill="#222222">{}</text>"##,
            x + 20,
            escape(text)
        );
        x += 130;
    }

    // Gridlines and value labels.
    for tick in axis.ticks() {
        let y = axis.y(tick);
        let colour = if tick == 0 { "#444444" } else { "#dddddd" };
        let _ = writeln!(
            svg,
            r#"<line x1="{PLOT_LEFT}" y1="{y}" x2="{PLOT_RIGHT}" y2="{y}" stroke="{colour}" stroke-width="1"/>"#
        );
        let _ = writeln!(
            svg,
            r##"<text x="{}" y="{}" font-size="12" text-anchor="end" fill="#444444">{}</text>"##,
            PLOT_LEFT - 8,
            y + 4,
            escape(&whole_kroner(tick, report.language))
        );
    }
    let _ = writeln!(
        svg,
        r##"<line x1="{PLOT_LEFT}" y1="{PLOT_TOP}" x2="{PLOT_LEFT}" y2="{PLOT_BOTTOM}" stroke="#444444" stroke-width="1"/>"##
    );
    let _ = writeln!(
        svg,
        r##"<text x="16" y="{}" font-size="12" fill="#444444" transform="rotate(-90 16 {})" text-anchor="middle">{}</text>"##,
        (PLOT_TOP + PLOT_BOTTOM) / 2,
        (PLOT_TOP + PLOT_BOTTOM) / 2,
        escape(report.currency.code())
    );

    // Bars: per category a group of two, 12 months earlier on the left.
    let n = i64::try_from(bars.len()).unwrap_or(i64::MAX).max(1);
    let group = (PLOT_RIGHT - PLOT_LEFT) / n;
    let bar = (group * 35 / 100).clamp(2, 60);
    let zero = axis.y(0);
    for (i, (name, now, then)) in (0_i64..).zip(&bars) {
        let centre = PLOT_LEFT + i * group + group / 2;
        if let Some(then) = then {
            push_bar(
                &mut svg,
                centre - bar,
                bar,
                zero,
                axis.y(*then),
                COLOUR_THEN,
            );
        }
        push_bar(&mut svg, centre, bar, zero, axis.y(*now), COLOUR_NOW);
        let label_y = PLOT_BOTTOM + 16;
        let _ = writeln!(
            svg,
            r##"<text x="{centre}" y="{label_y}" font-size="12" text-anchor="end" fill="#222222" transform="rotate(-35 {centre} {label_y})">{}</text>"##,
            escape(&shorten(name))
        );
    }
    svg.push_str("</svg>\n");
    svg.into_bytes()
}

fn push_bar(svg: &mut String, x: i64, width: i64, zero: i64, top: i64, colour: &str) {
    let (y, height) = if top <= zero {
        (top, zero - top)
    } else {
        (zero, top - zero)
    };
    let _ = writeln!(
        svg,
        r#"<rect x="{x}" y="{y}" width="{width}" height="{height}" fill="{colour}"/>"#
    );
}

/// The value axis: from `lo` to `hi` øre in steps of `step`, all multiples of whole kroner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ValueAxis {
    lo: i64,
    hi: i64,
    step: i64,
}

impl ValueAxis {
    /// An axis that includes zero and every value, with at most [`MAX_STEPS`] "nice" steps
    /// (1, 2 or 5 times a power of ten kroner).
    fn spanning(values: impl IntoIterator<Item = i64>) -> ValueAxis {
        let (mut min, mut max) = (0_i64, 0_i64);
        for v in values {
            min = min.min(v);
            max = max.max(v);
        }
        let span = max.saturating_sub(min).max(1);
        let raw = ceil_div(span, MAX_STEPS);
        let mut step = 100_i64; // one krone
        'search: loop {
            for factor in [1, 2, 5] {
                let candidate = step.saturating_mul(factor);
                if candidate >= raw || candidate == i64::MAX {
                    step = candidate;
                    break 'search;
                }
            }
            step = step.saturating_mul(10);
        }
        let hi = ceil_div(max, step).saturating_mul(step).max(step);
        let lo = min.div_euclid(step).saturating_mul(step).min(0);
        ValueAxis { lo, hi, step }
    }

    fn ticks(&self) -> impl Iterator<Item = i64> + '_ {
        (0..)
            .map(|i: i64| self.lo.saturating_add(i.saturating_mul(self.step)))
            .take_while(|t| *t <= self.hi)
    }

    /// The pixel row of a value (larger values higher up).
    fn y(&self, value: i64) -> i64 {
        let span = i128::from(self.hi) - i128::from(self.lo);
        let offset = i128::from(value) - i128::from(self.lo);
        let height = i128::from(PLOT_BOTTOM - PLOT_TOP);
        let px = offset * height / span.max(1);
        PLOT_BOTTOM - i64::try_from(px).unwrap_or(0)
    }
}

/// `a / b` rounded up, for `a ≥ 0` and `b > 0` (`i64::div_ceil` is not stable for signed ints).
fn ceil_div(a: i64, b: i64) -> i64 {
    a / b + i64::from(a % b != 0)
}

/// Whole kroner from øre, grouped as the language does: `1.200.000`, `1 200 000`, `1,200,000`.
fn whole_kroner(minor: i64, language: Language) -> String {
    let separator = match language {
        Language::Da | Language::Kl => '.',
        Language::Nb => ' ',
        Language::En => ',',
    };
    let kroner = minor / 100;
    let digits = kroner.unsigned_abs().to_string();
    let mut out = String::new();
    if kroner < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(separator);
        }
        out.push(c);
    }
    out
}

fn shorten(name: &str) -> String {
    if name.chars().count() <= MAX_LABEL_CHARS {
        name.to_owned()
    } else {
        let cut: String = name.chars().take(MAX_LABEL_CHARS - 1).collect();
        format!("{cut}…")
    }
}

/// Text made safe for SVG element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0; a catalog name never needs one.
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_value_axis_covers_zero_and_every_value_in_nice_steps() {
        let axis = ValueAxis::spanning([123_456_789, 0, 9_876_543]);
        assert_eq!(axis.lo, 0);
        assert!(axis.hi >= 123_456_789);
        assert_eq!(axis.step, 50_000_000);
        assert!(axis.ticks().count() as i64 <= MAX_STEPS + 1);
        assert_eq!(axis.y(axis.lo), PLOT_BOTTOM);
        assert_eq!(axis.y(axis.hi), PLOT_TOP);
    }

    #[test]
    fn a_negative_value_puts_the_axis_below_zero() {
        let axis = ValueAxis::spanning([-15_000, 100_000]);
        assert!(axis.lo <= -15_000);
        assert_eq!(axis.lo % axis.step, 0);
        assert!(axis.y(0) < PLOT_BOTTOM);
    }

    #[test]
    fn no_values_still_give_an_axis() {
        let axis = ValueAxis::spanning([]);
        assert_eq!((axis.lo, axis.hi, axis.step), (0, 100, 100));
    }

    #[test]
    fn whole_kroner_are_grouped_by_language() {
        assert_eq!(whole_kroner(120_000_000, Language::Da), "1.200.000");
        assert_eq!(whole_kroner(120_000_000, Language::Nb), "1 200 000");
        assert_eq!(whole_kroner(-120_000_000, Language::En), "-1,200,000");
        assert_eq!(whole_kroner(0, Language::Kl), "0");
    }

    #[test]
    fn text_is_escaped_for_xml() {
        assert_eq!(
            escape(r#"Vand & "varme" <1>"#),
            "Vand &amp; &quot;varme&quot; &lt;1&gt;"
        );
    }
}
