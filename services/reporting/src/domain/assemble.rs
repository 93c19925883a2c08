//! From figures on two dates to what people read: the [`Report`] the files are rendered from,
//! and the JSON of `GET /api/v1/arrears`.
//!
//! The figures of a date come either from the projection (every split: state, age, debtors) or
//! from the imported month-end balances (per office and category only). Where a split is not
//! known the row says so (`None`: a blank cell, "no comparative figures"), never zero.

use restance_kernel::{BusinessDate, Catalog, Currency, Language, Money, Municipality};
use serde::{Deserialize, Serialize};

use crate::domain::arrears::{ALL_KEY, Arrears, Cell, Dimension};
use crate::domain::history::ImportedRow;
use crate::domain::report::{
    AgeBucket, AgeRow, ArrearsState, CampaignOutcome, Change, DirectDebit, Figures, HistoryPoint,
    MeasureRow, PeriodFlows, Prepayments, Report, ReportKind, Row, StateRow, report_id,
};

/// Where the figures of a date come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The projection of the bus events (a stored daily snapshot, or computed from the claim
    /// versions when the snapshot is not taken yet).
    Projection,
    /// The current business day, still open: figures may change until the next day is opened.
    Live,
    /// Month-end balances imported by `restance reporting import-history`.
    Imported,
}

/// The figures of one municipality on one date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateFigures {
    /// From the projection (or live): every split.
    Projected(Arrears),
    /// Imported: per office and category.
    Imported(Vec<ImportedRow>),
}

fn figures_of_cells<'a>(cells: impl IntoIterator<Item = &'a Cell>, debtors: u64) -> Figures {
    let (mut principal, mut fees, mut interest, mut claims) =
        (Money::ZERO, Money::ZERO, Money::ZERO, 0u64);
    for c in cells {
        principal += c.balance.principal;
        fees += c.balance.fees;
        interest += c.balance.interest;
        claims += c.claims;
    }
    Figures::new(principal, fees, interest, claims, debtors)
}

fn figures_of_rows<'a>(rows: impl IntoIterator<Item = &'a ImportedRow>) -> Option<Figures> {
    let mut any = false;
    let mut f = Figures::ZERO;
    for r in rows {
        any = true;
        f = f.plus(&Figures::new(
            r.principal,
            r.fees,
            r.interest,
            r.claims,
            r.debtors,
        ));
    }
    any.then_some(f)
}

impl DateFigures {
    /// The figures of a category: zero when the projection has none; `None` when imported
    /// balances do not name it.
    pub fn category(&self, key: &str) -> Option<Figures> {
        match self {
            DateFigures::Projected(a) => Some(figures_of_cells(
                a.cells.iter().filter(|c| c.category == key),
                a.debtors_of(Dimension::Category, key),
            )),
            DateFigures::Imported(rows) => {
                figures_of_rows(rows.iter().filter(|r| r.category == key))
            }
        }
    }

    /// The figures of an office (imported: the office's categories added up, debtors too).
    pub fn office(&self, key: &str) -> Option<Figures> {
        match self {
            DateFigures::Projected(a) => Some(figures_of_cells(
                a.cells.iter().filter(|c| c.office == key),
                a.debtors_of(Dimension::Office, key),
            )),
            DateFigures::Imported(rows) => figures_of_rows(rows.iter().filter(|r| r.office == key)),
        }
    }

    /// The figures of a state; `None` for imported balances (they have no states).
    pub fn state(&self, state: ArrearsState) -> Option<Figures> {
        match self {
            DateFigures::Projected(a) => Some(figures_of_cells(
                a.cells.iter().filter(|c| c.state == state),
                a.debtors_of(Dimension::State, state.as_str()),
            )),
            DateFigures::Imported(_) => None,
        }
    }

    /// The figures of an age bucket; `None` for imported balances.
    pub fn age(&self, bucket: AgeBucket) -> Option<Figures> {
        match self {
            DateFigures::Projected(a) => Some(figures_of_cells(
                a.cells.iter().filter(|c| c.bucket == bucket),
                a.debtors_of(Dimension::Age, bucket.as_str()),
            )),
            DateFigures::Imported(_) => None,
        }
    }

    /// Distinct debtors in all; `None` for imported balances (only per office and category).
    pub fn distinct_debtors(&self) -> Option<u64> {
        match self {
            DateFigures::Projected(a) => Some(a.debtors_of(Dimension::Total, ALL_KEY)),
            DateFigures::Imported(_) => None,
        }
    }

    /// Every arrears in all (imported: debtors added up over the rows).
    pub fn total(&self) -> Figures {
        match self {
            DateFigures::Projected(a) => {
                figures_of_cells(&a.cells, a.debtors_of(Dimension::Total, ALL_KEY))
            }
            DateFigures::Imported(rows) => figures_of_rows(rows).unwrap_or(Figures::ZERO),
        }
    }

    /// The arrears on direct debit; `None` for imported balances.
    pub fn direct_debit(&self) -> Option<DirectDebit> {
        match self {
            DateFigures::Projected(a) => {
                let f = figures_of_cells(a.cells.iter().filter(|c| c.direct_debit), 0);
                Some(DirectDebit {
                    claims: f.claims,
                    amount: f.total,
                })
            }
            DateFigures::Imported(_) => None,
        }
    }
}

/// The name of a category from the catalog in the report's language (its key when it has none).
fn category_name(catalog: &Catalog, key: &str, language: Language) -> String {
    catalog
        .category(key)
        .map_or_else(|| key.to_owned(), |c| c.name_in(language).to_owned())
}

/// Everything a report is made of besides the municipality.
#[derive(Debug, Clone)]
pub struct ReportInputs {
    /// Monthly or quarterly.
    pub kind: ReportKind,
    /// The period's first day.
    pub period_start: BusinessDate,
    /// The period's last day.
    pub as_of: BusinessDate,
    /// The date compared with.
    pub compare_as_of: BusinessDate,
    /// The figures as of `as_of`.
    pub now: DateFigures,
    /// The figures as of `compare_as_of`, if there are any.
    pub then: Option<DateFigures>,
    /// What moved in the period.
    pub flows: PeriodFlows,
    /// Total arrears per month-end, oldest first.
    pub history: Vec<HistoryPoint>,
    /// The business day the report is produced.
    pub generated_on: BusinessDate,
    /// Measures taken (empty for a monthly report).
    pub measures: Vec<MeasureRow>,
    /// Prepayments outstanding as of `as_of`.
    pub prepayments: Prepayments,
    /// The campaigns sent in the period and their outcome (empty for a monthly report).
    pub campaigns: Vec<CampaignOutcome>,
}

/// Fills the report model for municipality `code` from its figures.
pub fn build_report(
    catalog: &Catalog,
    code: &str,
    municipality: &Municipality,
    inputs: ReportInputs,
) -> Report {
    let then = inputs.then.as_ref();
    let categories = municipality
        .categories
        .iter()
        .map(|key| Row {
            key: key.clone(),
            name: category_name(catalog, key, municipality.language),
            now: inputs.now.category(key).unwrap_or(Figures::ZERO),
            then: then.and_then(|t| t.category(key)),
        })
        .collect();
    let offices = municipality
        .offices
        .iter()
        .map(|(key, office)| Row {
            key: key.clone(),
            name: office.name.clone(),
            now: inputs.now.office(key).unwrap_or(Figures::ZERO),
            then: then.and_then(|t| t.office(key)),
        })
        .collect();
    let states = ArrearsState::ALL
        .into_iter()
        .map(|state| StateRow {
            state,
            now: inputs.now.state(state).unwrap_or(Figures::ZERO),
            then: then.and_then(|t| t.state(state)),
        })
        .collect();
    let ages = AgeBucket::ALL
        .into_iter()
        .map(|bucket| AgeRow {
            bucket,
            now: inputs.now.age(bucket).unwrap_or(Figures::ZERO),
        })
        .collect();
    Report {
        report_id: report_id(inputs.kind, code, inputs.as_of),
        kind: inputs.kind,
        municipality: code.to_owned(),
        municipality_name: municipality.name.clone(),
        currency: municipality.currency,
        language: municipality.language,
        period_start: inputs.period_start,
        as_of: inputs.as_of,
        compare_as_of: inputs.compare_as_of,
        categories,
        debtors_now: inputs
            .now
            .distinct_debtors()
            .unwrap_or_else(|| inputs.now.total().debtors),
        debtors_then: then.and_then(DateFigures::distinct_debtors),
        states,
        offices,
        ages,
        direct_debit: inputs.now.direct_debit().unwrap_or_default(),
        flows: inputs.flows,
        history: inputs.history,
        generated_on: inputs.generated_on,
        measures: inputs.measures,
        prepayments: inputs.prepayments,
        campaigns: inputs.campaigns,
        members: Vec::new(),
    }
}

/// One line of the arrears view: a slice now, 12 months earlier and the change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// The key (`daycare`, `main`, `under_plan`, `days_31_90`, `all`).
    pub key: String,
    /// What people call it.
    pub name: String,
    /// The figures as of `as_of`; `null` when the source has no such split (imported).
    pub now: Option<Figures>,
    /// The figures as of `compare_as_of`; `null` without comparison or history.
    pub then: Option<Figures>,
    /// `now − then` in total arrears, and in per cent of `then`.
    pub change: Option<Change>,
}

impl Line {
    fn new(key: &str, name: &str, now: Option<Figures>, then: Option<Figures>) -> Line {
        let change = match (&now, &then) {
            (Some(n), Some(t)) => Some(Change::between(n.total, t.total)),
            _ => None,
        };
        Line {
            key: key.to_owned(),
            name: name.to_owned(),
            now,
            then,
            change,
        }
    }
}

/// The direct-debit part of the arrears on a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectDebitLine {
    /// Claims on direct debit with a balance.
    pub claims: u64,
    /// Their balance.
    pub amount: Money,
    /// In per cent of the arrears (amount), one decimal; `null` without arrears.
    pub share_of_amount: Option<rust_decimal::Decimal>,
}

/// `GET /api/v1/arrears`: one municipality's arrears as of a date, compared with 12 months
/// earlier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArrearsView {
    /// Municipality code.
    pub municipality: String,
    /// Its currency.
    pub currency: Currency,
    /// The date (end of day) the figures are as of.
    pub as_of: BusinessDate,
    /// Where they come from.
    pub source: Source,
    /// The date compared with, when `compare=12m`.
    pub compare_as_of: Option<BusinessDate>,
    /// Where those come from; `null` when there are no figures for that date.
    pub compare_source: Option<Source>,
    /// All arrears (`key` `all`).
    pub total: Line,
    /// Per category the municipality bills, in catalog order.
    pub categories: Vec<Line>,
    /// Per state.
    pub states: Vec<Line>,
    /// Per collection office.
    pub offices: Vec<Line>,
    /// Per age bucket.
    pub ages: Vec<Line>,
    /// On direct debit now; `null` for imported figures.
    pub direct_debit: Option<DirectDebitLine>,
    /// On direct debit 12 months earlier.
    pub direct_debit_then: Option<DirectDebitLine>,
}

fn dd_line(f: &DateFigures) -> Option<DirectDebitLine> {
    let dd = f.direct_debit()?;
    let total = f.total().total;
    let share = if total.is_zero() {
        None
    } else {
        dd.amount
            .as_decimal()
            .checked_mul(rust_decimal::Decimal::ONE_HUNDRED)
            .and_then(|x| x.checked_div(total.as_decimal()))
            .map(|p| {
                p.round_dp_with_strategy(1, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
            })
    };
    Some(DirectDebitLine {
        claims: dd.claims,
        amount: dd.amount,
        share_of_amount: share,
    })
}

/// Builds the arrears view; `then` is `(date, figures of that date if any)` when compared.
#[allow(clippy::too_many_arguments)]
pub fn arrears_view(
    catalog: &Catalog,
    code: &str,
    municipality: &Municipality,
    as_of: BusinessDate,
    source: Source,
    now: &DateFigures,
    compare: Option<(BusinessDate, Option<(Source, DateFigures)>)>,
) -> ArrearsView {
    let language: Language = municipality.language;
    let then = compare
        .as_ref()
        .and_then(|(_, t)| t.as_ref().map(|(_, f)| f));
    let total_then = then.map(|t| {
        let mut f = t.total();
        if let Some(d) = t.distinct_debtors() {
            f.debtors = d;
        }
        f
    });
    let categories = municipality
        .categories
        .iter()
        .map(|key| {
            Line::new(
                key,
                &category_name(catalog, key, municipality.language),
                now.category(key),
                then.and_then(|t| t.category(key)),
            )
        })
        .collect();
    let offices = municipality
        .offices
        .iter()
        .map(|(key, office)| {
            Line::new(
                key,
                &office.name,
                now.office(key),
                then.and_then(|t| t.office(key)),
            )
        })
        .collect();
    let states = ArrearsState::ALL
        .into_iter()
        .map(|s| {
            Line::new(
                s.as_str(),
                s.label(language),
                now.state(s),
                then.and_then(|t| t.state(s)),
            )
        })
        .collect();
    let ages = AgeBucket::ALL
        .into_iter()
        .map(|b| {
            Line::new(
                b.as_str(),
                b.label(language),
                now.age(b),
                then.and_then(|t| t.age(b)),
            )
        })
        .collect();
    let mut total_now = now.total();
    if let Some(d) = now.distinct_debtors() {
        total_now.debtors = d;
    }
    ArrearsView {
        municipality: code.to_owned(),
        currency: municipality.currency,
        as_of,
        source,
        compare_as_of: compare.as_ref().map(|(d, _)| *d),
        compare_source: compare
            .as_ref()
            .and_then(|(_, t)| t.as_ref().map(|(s, _)| *s)),
        total: Line::new(ALL_KEY, "total", Some(total_now), total_then),
        categories,
        states,
        offices,
        ages,
        direct_debit: dd_line(now),
        direct_debit_then: then.and_then(dd_line),
    }
}
