//! A consolidated report over a group of municipalities (`[reporting.groups.<key>]`; seed 000:
//! the self-government and the municipalities working together on arrears): the members'
//! reports of the same kind and date added up, rendered like any report.
//!
//! Rules (pure, tested below):
//! - **Categories** are the union of the members' categories, in the order first met; a
//!   category's name is the catalog's in the group's language. **Offices** stay apart, named
//!   "municipality: office" (key `code/office`): they are different offices.
//! - **Debtors** are per municipality (a debtor id is the billing system's within one
//!   municipality), so the group's distinct debtors are the members' added up.
//! - **12 months earlier** is given for a row only when every member that has the row has it:
//!   a total of some members would be a false comparison, so it is blank instead. The same for
//!   the period's optional flows, the measures' earlier period and the distinct debtors then.
//! - **History** keeps only the month-ends every member has.
//! - The currencies agree (checked at start, `config`); [`consolidate`] refuses otherwise.

use std::collections::BTreeMap;

use restance_kernel::{BusinessDate, Catalog, Language, Money};

use crate::domain::report::{
    AgeRow, DirectDebit, Figures, Flow, HistoryPoint, MeasureRow, PeriodFlows, Prepayments, Report,
    Row, StateRow, report_id,
};

/// Why members' reports cannot be consolidated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsolidateError {
    /// No member report.
    #[error("a consolidated report needs its members' reports")]
    NoMembers,
    /// The members' reports are not of one kind, period and currency.
    #[error("the members' reports differ in {0}")]
    Mismatch(&'static str),
}

/// The group a consolidated report is for.
#[derive(Debug, Clone, Copy)]
pub struct Group<'a> {
    /// The group's key (the report's `municipality`, its id and file names).
    pub key: &'a str,
    /// Its name, e.g. "KANUKOKA".
    pub name: &'a str,
    /// The report's language.
    pub language: Language,
}

fn sum_opt<'a>(items: impl IntoIterator<Item = Option<&'a Figures>>) -> Option<Figures> {
    let mut total = Figures::ZERO;
    for item in items {
        total = total.plus(item?);
    }
    Some(total)
}

fn flow_sum(flows: &[PeriodFlows], get: impl Fn(&PeriodFlows) -> Option<Flow>) -> Option<Flow> {
    let mut total = Flow::default();
    for f in flows {
        let f = get(f)?;
        total.count += f.count;
        total.amount += f.amount;
    }
    Some(total)
}

// Long: the group's report built section by section in the report's own order (checks, categories, ages, totals).
/// The members' reports (one per municipality of the group, same kind, dates and currency)
/// added up into the group's report.
pub fn consolidate(
    catalog: &Catalog,
    group: Group<'_>,
    members: &[Report],
) -> Result<Report, ConsolidateError> {
    let first = members.first().ok_or(ConsolidateError::NoMembers)?;
    for m in members {
        if m.kind != first.kind {
            return Err(ConsolidateError::Mismatch("kind"));
        }
        if (m.period_start, m.as_of, m.compare_as_of)
            != (first.period_start, first.as_of, first.compare_as_of)
        {
            return Err(ConsolidateError::Mismatch("period"));
        }
        if m.currency != first.currency {
            return Err(ConsolidateError::Mismatch("currency"));
        }
    }

    let mut category_keys: Vec<&str> = Vec::new();
    for m in members {
        for r in &m.categories {
            if !category_keys.contains(&r.key.as_str()) {
                category_keys.push(&r.key);
            }
        }
    }
    let categories = category_keys
        .iter()
        .map(|key| {
            let rows: Vec<&Row> = members
                .iter()
                .filter_map(|m| m.categories.iter().find(|r| r.key == *key))
                .collect();
            Row {
                key: (*key).to_owned(),
                name: catalog.category(key).map_or_else(
                    || (*key).to_owned(),
                    |c| c.name_in(group.language).to_owned(),
                ),
                now: rows.iter().fold(Figures::ZERO, |acc, r| acc.plus(&r.now)),
                then: sum_opt(rows.iter().map(|r| r.then.as_ref())),
            }
        })
        .collect();
    let offices = members
        .iter()
        .flat_map(|m| {
            m.offices.iter().map(move |o| Row {
                key: format!("{}/{}", m.municipality, o.key),
                name: format!("{}: {}", m.municipality_name, o.name),
                now: o.now,
                then: o.then,
            })
        })
        .collect();
    let states = first
        .states
        .iter()
        .map(|s| {
            let rows: Vec<&StateRow> = members
                .iter()
                .filter_map(|m| m.states.iter().find(|r| r.state == s.state))
                .collect();
            StateRow {
                state: s.state,
                now: rows.iter().fold(Figures::ZERO, |acc, r| acc.plus(&r.now)),
                then: sum_opt(rows.iter().map(|r| r.then.as_ref())),
            }
        })
        .collect();
    let ages = first
        .ages
        .iter()
        .map(|a| AgeRow {
            bucket: a.bucket,
            now: members
                .iter()
                .filter_map(|m| m.ages.iter().find(|r| r.bucket == a.bucket))
                .fold(Figures::ZERO, |acc, r| acc.plus(&r.now)),
        })
        .collect();
    let flows: Vec<PeriodFlows> = members.iter().map(|m| m.flows).collect();
    let mut history: BTreeMap<BusinessDate, (usize, Money)> = BTreeMap::new();
    for m in members {
        for p in &m.history {
            let e = history.entry(p.month_end).or_insert((0, Money::ZERO));
            e.0 += 1;
            e.1 += p.total;
        }
    }
    let measures = first
        .measures
        .iter()
        .map(|row| {
            let rows: Vec<&MeasureRow> = members
                .iter()
                .filter_map(|m| m.measures.iter().find(|r| r.measure == row.measure))
                .collect();
            let sum = |get: &dyn Fn(&MeasureRow) -> Option<u64>| {
                rows.iter().try_fold(0u64, |acc, r| get(r).map(|n| acc + n))
            };
            MeasureRow {
                measure: row.measure,
                now: sum(&|r| r.now),
                then: sum(&|r| r.then),
            }
        })
        .collect();
    Ok(Report {
        report_id: report_id(first.kind, group.key, first.as_of),
        kind: first.kind,
        municipality: group.key.to_owned(),
        municipality_name: group.name.to_owned(),
        currency: first.currency,
        language: group.language,
        period_start: first.period_start,
        as_of: first.as_of,
        compare_as_of: first.compare_as_of,
        categories,
        debtors_now: members.iter().map(|m| m.debtors_now).sum(),
        debtors_then: members
            .iter()
            .try_fold(0u64, |acc, m| m.debtors_then.map(|d| acc + d)),
        states,
        offices,
        ages,
        direct_debit: members
            .iter()
            .fold(DirectDebit::default(), |acc, m| DirectDebit {
                claims: acc.claims + m.direct_debit.claims,
                amount: acc.amount + m.direct_debit.amount,
            }),
        flows: PeriodFlows {
            transfers: flow_sum(&flows, |f| Some(f.transfers)).unwrap_or_default(),
            write_offs: flow_sum(&flows, |f| Some(f.write_offs)).unwrap_or_default(),
            new_arrears: flow_sum(&flows, |f| f.new_arrears),
            payments: flow_sum(&flows, |f| f.payments),
            payments_by_direct_debit: flow_sum(&flows, |f| f.payments_by_direct_debit),
        },
        history: history
            .into_iter()
            .filter(|(_, (n, _))| *n == members.len())
            .map(|(month_end, (_, total))| HistoryPoint { month_end, total })
            .collect(),
        generated_on: first.generated_on,
        measures,
        prepayments: members
            .iter()
            .fold(Prepayments::default(), |acc, m| Prepayments {
                claims: acc.claims + m.prepayments.claims,
                amount: acc.amount + m.prepayments.amount,
            }),
        campaigns: {
            let mut all: Vec<_> = members.iter().flat_map(|m| m.campaigns.clone()).collect();
            all.sort_by(|a, b| (a.sent_date, &a.campaign_id).cmp(&(b.sent_date, &b.campaign_id)));
            all
        },
        members: members
            .iter()
            .map(|m| (m.municipality.clone(), m.municipality_name.clone()))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::report::{Measure, ReportKind, measure_rows};
    use restance_kernel::Currency;

    fn d(s: &str) -> BusinessDate {
        s.parse().expect("date")
    }

    fn kr(s: &str) -> Money {
        Money::parse(s).expect("money")
    }

    fn f(principal: &str, claims: u64, debtors: u64) -> Figures {
        Figures::new(kr(principal), Money::ZERO, Money::ZERO, claims, debtors)
    }

    fn member(code: &str, name: &str, rows: &[(&str, Figures, Option<Figures>)]) -> Report {
        Report {
            report_id: report_id(ReportKind::Quarterly, code, d("2027-03-31")),
            kind: ReportKind::Quarterly,
            municipality: code.into(),
            municipality_name: name.into(),
            currency: Currency::Dkk,
            language: Language::Da,
            period_start: d("2027-01-01"),
            as_of: d("2027-03-31"),
            compare_as_of: d("2026-03-31"),
            categories: rows
                .iter()
                .map(|(k, now, then)| Row {
                    key: (*k).into(),
                    name: (*k).into(),
                    now: *now,
                    then: *then,
                })
                .collect(),
            debtors_now: rows.iter().map(|r| r.1.debtors).sum(),
            debtors_then: None,
            states: Vec::new(),
            offices: vec![Row {
                key: "main".into(),
                name: "Hovedkontoret".into(),
                now: rows.iter().fold(Figures::ZERO, |a, r| a.plus(&r.1)),
                then: None,
            }],
            ages: Vec::new(),
            direct_debit: DirectDebit::default(),
            flows: PeriodFlows {
                transfers: Flow {
                    count: 1,
                    amount: kr("100.00"),
                },
                ..PeriodFlows::default()
            },
            history: vec![HistoryPoint {
                month_end: d("2027-03-31"),
                total: rows.iter().map(|r| r.1.total).sum(),
            }],
            generated_on: d("2027-04-01"),
            measures: measure_rows(|_| 2, None),
            prepayments: Prepayments {
                claims: 1,
                amount: kr("500.00"),
            },
            campaigns: Vec::new(),
            members: Vec::new(),
        }
    }

    fn catalog() -> Catalog {
        Catalog::default()
    }

    #[test]
    fn a_group_adds_up_its_members_and_keeps_their_offices_apart() {
        let a = member(
            "0957",
            "Qeqqata",
            &[
                ("a_bidrag", f("740.00", 7, 5), Some(f("600.00", 6, 5))),
                ("daycare", f("100.00", 1, 1), Some(f("50.00", 1, 1))),
            ],
        );
        let b = member(
            "0746",
            "Skanderborg",
            &[
                ("daycare", f("100.00", 2, 2), None),
                ("water", f("60.00", 1, 1), Some(f("10.00", 1, 1))),
            ],
        );
        let group = Group {
            key: "kanukoka",
            name: "KANUKOKA",
            language: Language::Da,
        };
        let r = consolidate(&catalog(), group, &[a, b]).expect("consolidated");
        assert_eq!(r.report_id, "quarterly-kanukoka-2027-03-31");
        assert_eq!(r.file_stem(), "arrears-kanukoka-2027-q1");
        let keys: Vec<&str> = r.categories.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["a_bidrag", "daycare", "water"]);
        assert_eq!(r.categories[1].now.total, kr("200.00"));
        // Skanderborg has no daycare figures a year earlier: the group's row is blank, not 50.
        assert_eq!(r.categories[1].then, None);
        assert_eq!(r.categories[2].then.map(|t| t.total), Some(kr("10.00")));
        assert_eq!(r.total_now().total, kr("1000.00"));
        assert_eq!(r.debtors_now, 9);
        // Seed 000: A-bidrag's share of all arrears.
        assert_eq!(
            r.share_of_total(&r.categories[0].now),
            Some(rust_decimal::Decimal::new(740, 1))
        );
        let offices: Vec<&str> = r.offices.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(
            offices,
            ["Qeqqata: Hovedkontoret", "Skanderborg: Hovedkontoret"]
        );
        assert_eq!(r.flows.transfers.count, 2);
        assert_eq!(r.prepayments.amount, kr("1000.00"));
        assert_eq!(r.history.len(), 1);
        let fees = r
            .measures
            .iter()
            .find(|m| m.measure == Measure::Fees)
            .expect("fees");
        assert_eq!((fees.now, fees.then), (Some(4), None));
        let campaigns = r
            .measures
            .iter()
            .find(|m| m.measure == Measure::Campaigns)
            .expect("campaigns");
        assert_eq!(
            campaigns.now,
            Some(4),
            "campaigns are recorded and added up"
        );
        assert_eq!(r.members.len(), 2);
        assert!(r.check().is_empty(), "{:?}", r.check());
    }

    #[test]
    fn members_of_different_currencies_or_periods_are_refused() {
        let a = member("0957", "Qeqqata", &[]);
        let mut b = member("4204", "Kristiansand", &[]);
        b.currency = Currency::Nok;
        let group = Group {
            key: "g",
            name: "G",
            language: Language::Da,
        };
        assert_eq!(
            consolidate(&catalog(), group, &[a.clone(), b]),
            Err(ConsolidateError::Mismatch("currency"))
        );
        let mut c = member("0746", "Skanderborg", &[]);
        c.as_of = d("2027-06-30");
        assert_eq!(
            consolidate(&catalog(), group, &[a, c]),
            Err(ConsolidateError::Mismatch("period"))
        );
        assert_eq!(
            consolidate(&catalog(), group, &[]),
            Err(ConsolidateError::NoMembers)
        );
    }
}
