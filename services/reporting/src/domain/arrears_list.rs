//! The daily arrears list of one collection office (issue 22 item 6; seed 001 names "rykkere,
//! adviser og restancelister" among the office's tools): every claim in arrears at the end of a
//! date, one row each, by category and age, with totals — for the finance office to work from.
//!
//! - **Which claims**: exactly those the arrears figures count ([`crate::domain::arrears`]): a
//!   balance at the end of the date, due before it, open, under a plan, deferred, under the
//!   municipality's distraint or transferred.
//!   Prepayments are not arrears and are not listed; settled and written-off claims neither.
//! - **No personal data**: the debtor's id (the billing system's), never a national id, name or
//!   address; reporting does not hold them.
//! - **Order**: category in the catalog's order, then oldest due date first, then debtor and
//!   claim: the list reads like the office works it, oldest arrears of a category on top.
//! - **Age** = days from the due date to the list's date; buckets 0–30, 31–90, 91–365, over 365.
//! - **Totals**: per category × age bucket (amount and claims), per category, and in all.

use std::collections::BTreeMap;

use restance_kernel::{BusinessDate, Catalog, Currency, Language, Money, Municipality};
use serde::Serialize;

use crate::domain::arrears::bucket;
use crate::domain::report::{AgeBucket, ArrearsState};

/// A claim in arrears as the store reads it for the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedClaim {
    /// Invoicing's claim id.
    pub claim_id: String,
    /// The debtor (billing system's id).
    pub debtor_id: String,
    /// Category key.
    pub category: String,
    /// Payment deadline.
    pub due_date: BusinessDate,
    /// The state it is counted in.
    pub state: ArrearsState,
    /// Paid by direct debit (a failed collection).
    pub direct_debit: bool,
    /// Open principal.
    pub principal: Money,
    /// Open fees.
    pub fees: Money,
    /// Open interest.
    pub interest: Money,
}

/// One row of the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListRow {
    /// Invoicing's claim id.
    pub claim_id: String,
    /// The debtor (billing system's id).
    pub debtor_id: String,
    /// Category key.
    pub category: String,
    /// Category name in the municipality's language.
    pub category_name: String,
    /// Payment deadline.
    pub due_date: BusinessDate,
    /// Days from the due date to the list's date.
    pub days_overdue: i64,
    /// The age bucket.
    pub age: AgeBucket,
    /// The state.
    pub state: ArrearsState,
    /// Paid by direct debit.
    pub direct_debit: bool,
    /// Open principal.
    pub principal: Money,
    /// Open fees.
    pub fees: Money,
    /// Open interest.
    pub interest: Money,
    /// principal + fees + interest.
    pub total: Money,
}

/// Claims and their amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Tally {
    /// Number of claims.
    pub claims: u64,
    /// Their open total.
    pub amount: Money,
}

impl Tally {
    fn add(&mut self, amount: Money) {
        self.claims += 1;
        self.amount += amount;
    }
}

/// The totals of one category: per age bucket ([`AgeBucket::ALL`] order) and in all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CategoryTotals {
    /// Category key.
    pub category: String,
    /// Category name.
    pub name: String,
    /// Per age bucket, youngest first.
    pub ages: Vec<Tally>,
    /// The category in all.
    pub total: Tally,
}

/// An office's arrears list on a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArrearsList {
    /// Municipality code.
    pub municipality: String,
    /// Municipality name.
    pub municipality_name: String,
    /// Office key.
    pub office: String,
    /// Office name.
    pub office_name: String,
    /// The list is as of the end of this date.
    pub as_of: BusinessDate,
    /// The currency of every amount.
    pub currency: Currency,
    /// The language of headings.
    pub language: Language,
    /// One row per claim in arrears.
    pub rows: Vec<ListRow>,
    /// Per category with arrears, catalog order.
    pub categories: Vec<CategoryTotals>,
    /// Per age bucket over all categories.
    pub ages: Vec<Tally>,
    /// Everything.
    pub total: Tally,
}

/// The list of `office` of municipality `code` as of the end of `as_of`, from the claims the
/// store found in arrears there (anything not in arrears on that date is left out again here,
/// so the rule is in one place).
pub fn arrears_list(
    catalog: &Catalog,
    code: &str,
    municipality: &Municipality,
    office: &str,
    as_of: BusinessDate,
    claims: Vec<ListedClaim>,
) -> ArrearsList {
    let language = municipality.language;
    let position = |key: &str| {
        municipality
            .categories
            .iter()
            .position(|c| c == key)
            .unwrap_or(usize::MAX)
    };
    let name = |key: &str| {
        catalog
            .category(key)
            .map_or_else(|| key.to_owned(), |c| c.name_in(language).to_owned())
    };
    let mut rows: Vec<ListRow> = claims
        .into_iter()
        .filter(|c| c.due_date < as_of)
        .map(|c| {
            let total = c.principal + c.fees + c.interest;
            ListRow {
                category_name: name(&c.category),
                days_overdue: c.due_date.days_until(as_of),
                age: bucket(c.due_date, as_of),
                claim_id: c.claim_id,
                debtor_id: c.debtor_id,
                category: c.category,
                due_date: c.due_date,
                state: c.state,
                direct_debit: c.direct_debit,
                principal: c.principal,
                fees: c.fees,
                interest: c.interest,
                total,
            }
        })
        .filter(|r| r.total.is_positive())
        .collect();
    rows.sort_by(|a, b| {
        (
            position(&a.category),
            &a.category,
            a.due_date,
            &a.debtor_id,
            &a.claim_id,
        )
            .cmp(&(
                position(&b.category),
                &b.category,
                b.due_date,
                &b.debtor_id,
                &b.claim_id,
            ))
    });
    let bucket_index = |b: AgeBucket| AgeBucket::ALL.iter().position(|x| *x == b).unwrap_or(0);
    let mut by_category: BTreeMap<(usize, String), CategoryTotals> = BTreeMap::new();
    let mut ages = vec![Tally::default(); AgeBucket::ALL.len()];
    let mut total = Tally::default();
    for r in &rows {
        let entry = by_category
            .entry((position(&r.category), r.category.clone()))
            .or_insert_with(|| CategoryTotals {
                category: r.category.clone(),
                name: r.category_name.clone(),
                ages: vec![Tally::default(); AgeBucket::ALL.len()],
                total: Tally::default(),
            });
        entry.ages[bucket_index(r.age)].add(r.total);
        entry.total.add(r.total);
        ages[bucket_index(r.age)].add(r.total);
        total.add(r.total);
    }
    ArrearsList {
        municipality: code.to_owned(),
        municipality_name: municipality.name.clone(),
        office: office.to_owned(),
        office_name: municipality
            .offices
            .get(office)
            .map_or_else(|| office.to_owned(), |o| o.name.clone()),
        as_of,
        currency: municipality.currency,
        language,
        rows,
        categories: by_category.into_values().collect(),
        ages,
        total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> BusinessDate {
        s.parse().expect("date")
    }

    fn kr(s: &str) -> Money {
        Money::parse(s).expect("money")
    }

    fn catalog() -> Catalog {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/restance.toml"),
        )
        .expect("shipped config");
        #[derive(serde::Deserialize)]
        struct File {
            catalog: Catalog,
        }
        toml::from_str::<File>(&text).expect("catalog").catalog
    }

    fn claim(id: &str, debtor: &str, category: &str, due: &str, principal: &str) -> ListedClaim {
        ListedClaim {
            claim_id: id.into(),
            debtor_id: debtor.into(),
            category: category.into(),
            due_date: d(due),
            state: ArrearsState::Open,
            direct_debit: false,
            principal: kr(principal),
            fees: Money::ZERO,
            interest: Money::ZERO,
        }
    }

    #[test]
    fn the_list_is_by_category_oldest_first_with_totals_per_age_bucket() {
        let catalog = catalog();
        let m = catalog.municipality("0957").expect("0957");
        let as_of = d("2027-03-31");
        let list = arrears_list(
            &catalog,
            "0957",
            m,
            "sisimiut",
            as_of,
            vec![
                claim("W-1", "P-2", "water", "2027-03-15", "100.00"),
                claim("D-2", "P-1", "daycare", "2027-01-15", "200.00"),
                claim("D-1", "P-3", "daycare", "2025-12-01", "300.00"),
                claim("D-3", "P-1", "daycare", "2027-03-31", "999.00"),
                claim("D-4", "P-4", "daycare", "2027-03-01", "0.00"),
            ],
        );
        let ids: Vec<&str> = list.rows.iter().map(|r| r.claim_id.as_str()).collect();
        // Daycare before water (catalog order), oldest first; due on the date itself is not
        // yet arrears; nothing open is not listed.
        assert_eq!(ids, ["D-1", "D-2", "W-1"]);
        assert_eq!(list.rows[0].days_overdue, 485);
        assert_eq!(list.rows[0].age, AgeBucket::Over365);
        assert_eq!(list.rows[1].age, AgeBucket::Days31To90);
        assert_eq!(list.rows[2].age, AgeBucket::Days0To30);
        assert_eq!(list.categories.len(), 2);
        assert_eq!(list.categories[0].category, "daycare");
        assert_eq!(list.categories[0].total.amount, kr("500.00"));
        assert_eq!(list.categories[0].ages[3].amount, kr("300.00"));
        assert_eq!(list.ages[0].amount, kr("100.00"));
        assert_eq!(
            list.total,
            Tally {
                claims: 3,
                amount: kr("600.00")
            }
        );
        assert_eq!(list.office_name, m.offices["sisimiut"].name);
    }
}
