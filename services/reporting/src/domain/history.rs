//! The history import for day one (`restance reporting import-history <csv>`): earlier month-end
//! balances per municipality, office and category, so that the first reports already have their
//! 12-months-earlier column.
//!
//! The file is what a finance office exports from its old system or keeps in Excel:
//!
//! ```text
//! municipality;office;category;as_of;principal;fees;interest;claims;debtors
//! 0746;main;daycare;2026-01-31;1.234.567,50;12.500,00;3.210,25;412;398
//! ```
//!
//! - `;`-separated, UTF-8, a byte-order mark is tolerated; the header names the columns (any
//!   order, any case); fields may be quoted with `"`.
//! - Amounts with a decimal comma or point (`1234,50`, `1234.50`); a thousands separator is
//!   accepted when both are used (`1.234,50`, `1,234.50`) and spaces are ignored. At most two
//!   decimals, never negative.
//! - `as_of` is a month's last day (`2026-01-31`; `31.01.2026` and `31-01-2026` too).
//! - Every row is checked against the catalog (municipality, its office, a category it bills);
//!   `debtors` cannot exceed `claims`; a municipality × office × category × date may appear once.
//!
//! Every bad row is reported with its line number and nothing is imported if any row is bad.

use std::collections::BTreeMap;

use restance_kernel::{BusinessDate, Catalog, Money};
use serde::{Deserialize, Serialize};

/// The columns, in the order the documentation lists them.
pub const COLUMNS: [&str; 9] = [
    "municipality",
    "office",
    "category",
    "as_of",
    "principal",
    "fees",
    "interest",
    "claims",
    "debtors",
];

/// At most this many problems are listed (the count says how many there were).
pub const MAX_PROBLEMS: usize = 500;

/// One imported month-end balance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedRow {
    /// Municipality code.
    pub municipality: String,
    /// Collection office.
    pub office: String,
    /// Category.
    pub category: String,
    /// The month-end the balance is as of.
    pub as_of: BusinessDate,
    /// Open principal.
    pub principal: Money,
    /// Open fees.
    pub fees: Money,
    /// Open interest.
    pub interest: Money,
    /// Claims with a balance.
    pub claims: u64,
    /// Distinct debtors with a balance (in this office and category).
    pub debtors: u64,
}

/// A bad line of the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineProblem {
    /// 1-based line number in the file (1 is the header).
    pub line: usize,
    /// What is wrong, naming the column.
    pub message: String,
}

/// Why a file cannot be imported: every bad line (at most [`MAX_PROBLEMS`]) and how many there
/// were in all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BadFile {
    /// The problems, in line order.
    pub problems: Vec<LineProblem>,
    /// How many problems were found (more than listed when over [`MAX_PROBLEMS`]).
    pub total: usize,
}

// Long: the file's checks in order (header, then each line's fields, then the whole), every problem with its line.
/// Parses and checks a history file against the catalog.
pub fn parse_history(bytes: &[u8], catalog: &Catalog) -> Result<Vec<ImportedRow>, BadFile> {
    let mut problems: Vec<LineProblem> = Vec::new();
    let fail = |line: usize, message: String| BadFile {
        problems: vec![LineProblem { line, message }],
        total: 1,
    };
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1;
            return Err(fail(
                line,
                "the file is not UTF-8 (save it as \"CSV UTF-8\")".to_owned(),
            ));
        }
    };
    let mut lines = text
        .split('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((header_line, header)) = lines.next() else {
        return Err(fail(
            1,
            format!(
                "the file is empty; the first line must be the header {}",
                COLUMNS.join(";")
            ),
        ));
    };
    let names: Vec<String> = split_fields(header)
        .iter()
        .map(|n| n.trim().to_lowercase())
        .collect();
    if names.len() == 1 && header.contains(',') {
        return Err(fail(
            header_line,
            "columns must be separated by ; (semicolon), as Danish Excel saves CSV".to_owned(),
        ));
    }
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, name) in names.iter().enumerate() {
        match COLUMNS.iter().find(|c| **c == name.as_str()) {
            Some(c) => {
                if index.insert(c, i).is_some() {
                    problems.push(LineProblem {
                        line: header_line,
                        message: format!("column {c} appears twice"),
                    });
                }
            }
            None => problems.push(LineProblem {
                line: header_line,
                message: format!(
                    "unknown column {name:?}; the columns are {}",
                    COLUMNS.join(";")
                ),
            }),
        }
    }
    for c in COLUMNS {
        if !index.contains_key(c) {
            problems.push(LineProblem {
                line: header_line,
                message: format!(
                    "column {c} is missing; the columns are {}",
                    COLUMNS.join(";")
                ),
            });
        }
    }
    if !problems.is_empty() {
        let total = problems.len();
        return Err(BadFile { problems, total });
    }
    let col = |fields: &[String], name: &str| -> String {
        index
            .get(name)
            .and_then(|i| fields.get(*i))
            .map(|s| s.trim().to_owned())
            .unwrap_or_default()
    };

    let mut rows = Vec::new();
    let mut seen: BTreeMap<(String, String, String, BusinessDate), usize> = BTreeMap::new();
    let mut total_problems = 0usize;
    for (line, text) in lines {
        let fields = split_fields(text);
        let mut row_problems: Vec<String> = Vec::new();
        if fields.len() != names.len() {
            row_problems.push(format!(
                "{} fields, the header has {} (separator ;)",
                fields.len(),
                names.len()
            ));
        } else {
            match check_row(&fields, &col, catalog) {
                Ok(row) => {
                    let key = (
                        row.municipality.clone(),
                        row.office.clone(),
                        row.category.clone(),
                        row.as_of,
                    );
                    if let Some(first) = seen.get(&key) {
                        row_problems.push(format!(
                            "{} {} {} {} is already on line {first}",
                            row.municipality, row.office, row.category, row.as_of
                        ));
                    } else {
                        seen.insert(key, line);
                        rows.push(row);
                    }
                }
                Err(p) => row_problems = p,
            }
        }
        for message in row_problems {
            total_problems += 1;
            if problems.len() < MAX_PROBLEMS {
                problems.push(LineProblem { line, message });
            }
        }
    }
    if total_problems > 0 {
        return Err(BadFile {
            problems,
            total: total_problems,
        });
    }
    if rows.is_empty() {
        return Err(fail(
            header_line,
            "the file has a header but no rows".to_owned(),
        ));
    }
    Ok(rows)
}

fn check_row(
    fields: &[String],
    col: &impl Fn(&[String], &str) -> String,
    catalog: &Catalog,
) -> Result<ImportedRow, Vec<String>> {
    let mut p = Vec::new();
    let municipality = col(fields, "municipality");
    let office = col(fields, "office");
    let category = col(fields, "category");
    match catalog.municipality(&municipality) {
        None => p.push(format!(
            "municipality: {municipality:?} is not a configured municipality"
        )),
        Some(m) => {
            if !m.has_office(&office) {
                p.push(format!(
                    "office: {office:?} is not an office of municipality {municipality}"
                ));
            }
            if !m.has_category(&category) {
                p.push(format!(
                    "category: {category:?} is not a category municipality {municipality} bills"
                ));
            }
        }
    }
    let as_of_text = col(fields, "as_of");
    let as_of = match parse_date(&as_of_text) {
        Some(date) if date == date.last_of_month() => Some(date),
        Some(_) => {
            p.push(format!(
                "as_of: {as_of_text} is not the last day of a month (imported balances are month-end balances)"
            ));
            None
        }
        None => {
            p.push(format!(
                "as_of: {as_of_text:?} is not a date like 2026-01-31"
            ));
            None
        }
    };
    let mut amount = |name: &str| -> Money {
        let text = col(fields, name);
        match parse_amount(&text) {
            Ok(m) => m,
            Err(why) => {
                p.push(format!("{name}: {text:?} {why}"));
                Money::ZERO
            }
        }
    };
    let principal = amount("principal");
    let fees = amount("fees");
    let interest = amount("interest");
    let mut count = |name: &str| -> u64 {
        let text = col(fields, name);
        match text.replace([' ', '.'], "").parse::<u64>() {
            Ok(n) => n,
            Err(_) => {
                p.push(format!(
                    "{name}: {text:?} is not a whole number of at least 0"
                ));
                0
            }
        }
    };
    let claims = count("claims");
    let debtors = count("debtors");
    if debtors > claims {
        p.push(format!(
            "debtors: {debtors} is more than claims ({claims}); every debtor has a claim"
        ));
    }
    match as_of {
        Some(as_of) if p.is_empty() => Ok(ImportedRow {
            municipality,
            office,
            category,
            as_of,
            principal,
            fees,
            interest,
            claims,
            debtors,
        }),
        _ => Err(p),
    }
}

/// Splits a line at `;`, honouring `"` quotes (`""` is a quote inside a quoted field).
fn split_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ';' if !quoted => fields.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// A date as `YYYY-MM-DD`, `DD.MM.YYYY` or `DD-MM-YYYY`.
fn parse_date(s: &str) -> Option<BusinessDate> {
    if let Ok(d) = s.parse::<BusinessDate>() {
        return Some(d);
    }
    let parts: Vec<&str> = s.split(['.', '-']).collect();
    match parts.as_slice() {
        [dd, mm, yyyy] if yyyy.len() == 4 && dd.len() <= 2 && mm.len() <= 2 => {
            BusinessDate::new(yyyy.parse().ok()?, mm.parse().ok()?, dd.parse().ok()?)
        }
        _ => None,
    }
}

/// An amount with a decimal comma or point (see the module documentation).
pub fn parse_amount(s: &str) -> Result<Money, &'static str> {
    let compact: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{a0}')
        .collect();
    if compact.is_empty() {
        return Err("is empty; write 0 for nothing");
    }
    if compact.starts_with('-') {
        return Err("is negative; arrears are never below 0");
    }
    let normalised = match (compact.rfind(','), compact.rfind('.')) {
        (Some(comma), Some(point)) if comma > point => compact.replace('.', "").replace(',', "."),
        (Some(_), Some(_)) => compact.replace(',', ""),
        (Some(_), None) if compact.matches(',').count() == 1 => compact.replace(',', "."),
        (Some(_), None) => return Err("has more than one decimal comma"),
        (None, _) => compact,
    };
    Money::parse(&normalised).map_err(|e| match e {
        restance_kernel::MoneyError::TooManyDecimals => "has more than two decimals",
        _ => "is not an amount like 1234,50",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/restance.toml"),
        )
        .expect("shipped config");
        #[derive(Deserialize)]
        struct File {
            catalog: Catalog,
        }
        toml::from_str::<File>(&text).expect("catalog").catalog
    }

    const HEADER: &str =
        "municipality;office;category;as_of;principal;fees;interest;claims;debtors";

    #[test]
    fn a_danish_excel_export_is_read_with_its_bom_and_decimal_commas() {
        let file = format!(
            "\u{feff}{HEADER}\r\n0746;main;daycare;2026-01-31;1.234.567,50;12.500,00;3210,25;412;398\r\n\
             0746;main;water;31.01.2026;\"1234.5\";0;0;3;3\r\n\r\n"
        );
        let rows = parse_history(file.as_bytes(), &catalog()).expect("valid");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].principal, Money::parse("1234567.50").expect("m"));
        assert_eq!(rows[0].fees, Money::parse("12500.00").expect("m"));
        assert_eq!(rows[0].interest, Money::parse("3210.25").expect("m"));
        assert_eq!((rows[0].claims, rows[0].debtors), (412, 398));
        assert_eq!(rows[1].as_of, "2026-01-31".parse().expect("d"));
        assert_eq!(rows[1].principal, Money::parse("1234.50").expect("m"));
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line_number() {
        let file = format!(
            "{HEADER}\n0746;main;daycare;2026-01-31;100,00;0;0;1;1\n\
             9999;main;daycare;2026-01-31;100;0;0;1;1\n\
             0746;nuuk;daycare;2026-01-30;100;0;0;1;1\n\
             0746;main;daycare;2026-01-31;-5;0;1,234;1;2\n\
             0746;main;daycare;2026-01-31;100;0;0\n\
             0746;main;daycare;2026-01-31;100;0;0;1;1\n"
        );
        let bad = parse_history(file.as_bytes(), &catalog()).expect_err("bad");
        let lines: Vec<usize> = bad.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [3, 4, 4, 5, 5, 5, 6, 7], "{bad:#?}");
        assert_eq!(bad.total, 8);
        let text: Vec<&str> = bad.problems.iter().map(|p| p.message.as_str()).collect();
        assert!(text[0].contains("municipality: \"9999\""), "{text:?}");
        assert!(text[1].contains("office: \"nuuk\""), "{text:?}");
        assert!(
            text[2].contains("as_of: 2026-01-30 is not the last day of a month"),
            "{text:?}"
        );
        assert!(
            text[3].contains("principal: \"-5\" is negative"),
            "{text:?}"
        );
        assert!(
            text[4].contains("interest: \"1,234\" has more than two decimals"),
            "{text:?}"
        );
        assert!(
            text[5].contains("debtors: 2 is more than claims"),
            "{text:?}"
        );
        assert!(text[6].contains("7 fields, the header has 9"), "{text:?}");
        assert!(text[7].contains("is already on line 2"), "{text:?}");
    }

    #[test]
    fn the_header_must_name_every_column() {
        let bad = parse_history(
            b"municipality;office;category;as_of;principal\n",
            &catalog(),
        )
        .expect_err("bad");
        assert_eq!(bad.problems.len(), 4);
        assert!(bad.problems.iter().all(|p| p.line == 1));
        let bad = parse_history(b"a,b,c\n", &catalog()).expect_err("bad");
        assert!(bad.problems[0].message.contains("semicolon"));
        let bad = parse_history(b"", &catalog()).expect_err("empty");
        assert!(bad.problems[0].message.contains("empty"));
        let bad = parse_history(format!("{HEADER}\n").as_bytes(), &catalog()).expect_err("no rows");
        assert!(bad.problems[0].message.contains("no rows"));
        let bad = parse_history(b"municipality;\xff\n", &catalog()).expect_err("not utf-8");
        assert!(bad.problems[0].message.contains("UTF-8"));
    }

    #[test]
    fn amounts_take_a_decimal_comma_or_point() {
        let m = |s: &str| parse_amount(s).map(|m| m.to_string());
        assert_eq!(m("1234,5"), Ok("1234.50".into()));
        assert_eq!(m("1234.50"), Ok("1234.50".into()));
        assert_eq!(m("1.234,50"), Ok("1234.50".into()));
        assert_eq!(m("1,234.50"), Ok("1234.50".into()));
        assert_eq!(m("1 234 567,00"), Ok("1234567.00".into()));
        assert_eq!(m("0"), Ok("0.00".into()));
        assert!(m("1,2,3").is_err());
        assert!(m("").is_err());
        assert!(m("12,345").is_err());
        assert!(m("abc").is_err());
    }
}
