//! The debt schedule (gjeldsskjema): every debt item the mapping found — the creditors' answers,
//! the debt-collection register, and the applicant's open claims in Restance itself — with the
//! totals, and whether the household budget can service it (the budget rule agreements sizes a
//! plan by, [`restance_kernel::budget::Budget`]).

use restance_kernel::Money;
use restance_kernel::budget::Budget;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Where a debt item came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A creditor's answer to the request for debt information.
    Creditor,
    /// The debt-collection register's data.
    Register,
    /// The municipality's own claim in Restance (from invoicing's events).
    Restance,
}

/// One debt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DebtItem {
    /// Where it came from.
    pub source: Source,
    /// The creditor's name.
    pub creditor: String,
    /// The creditor's reference (case or account number), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The kind of debt (e.g. `forbrukslån`, `kredittkort`, `husleie`, a Restance category).
    pub kind: String,
    /// The balance owed.
    pub balance: Money,
    /// Interest and costs included in the balance.
    pub interest: Money,
    /// What it costs each month (instalment and interest).
    pub monthly_cost: Money,
}

impl DebtItem {
    /// Every problem with the item (amounts not negative, the interest within the balance).
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.creditor.trim().is_empty() {
            p.push("creditor: must not be empty".to_owned());
        }
        if self.kind.trim().is_empty() {
            p.push("kind: must not be empty".to_owned());
        }
        for (name, m) in [
            ("balance", self.balance),
            ("interest", self.interest),
            ("monthly_cost", self.monthly_cost),
        ] {
            if m.is_negative() {
                p.push(format!("{name}: must not be negative"));
            }
        }
        if self.interest > self.balance {
            p.push("interest: is part of the balance and cannot exceed it".to_owned());
        }
        p
    }
}

/// The schedule's totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Sum of the balances.
    pub balance: Money,
    /// Sum of the interest.
    pub interest: Money,
    /// Sum of the monthly costs.
    pub monthly_cost: Money,
}

/// The debt schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DebtSchedule {
    /// The items, by creditor then reference.
    pub items: Vec<DebtItem>,
    /// The totals.
    pub totals: Totals,
    /// The household budget, if assessed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
    /// Whether what the budget leaves each month covers the monthly cost (`None`: no budget).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_service: Option<bool>,
}

impl DebtSchedule {
    /// The schedule of `items` (sorted) with `budget`.
    pub fn new(mut items: Vec<DebtItem>, budget: Option<Budget>) -> DebtSchedule {
        items.sort_by(|a, b| {
            (a.creditor.to_lowercase(), &a.reference, a.balance).cmp(&(
                b.creditor.to_lowercase(),
                &b.reference,
                b.balance,
            ))
        });
        let sum = |f: fn(&DebtItem) -> Money| {
            Money::checked_sum(items.iter().map(f)).unwrap_or(Money::from_minor(i64::MAX / 4))
        };
        let totals = Totals {
            balance: sum(|i| i.balance),
            interest: sum(|i| i.interest),
            monthly_cost: sum(|i| i.monthly_cost),
        };
        let can_service = budget.map(|b| super::case::covers(&b, totals.monthly_cost));
        DebtSchedule {
            items,
            totals,
            budget,
            can_service,
        }
    }

    /// The fields of `counselling_debt_feedback`.
    pub fn letter_fields(&self, case_id: &str, currency: &str) -> Value {
        let items: Vec<Value> = self
            .items
            .iter()
            .map(|i| {
                let mut v = json!({
                    "creditor": i.creditor,
                    "kind": i.kind,
                    "balance": i.balance,
                    "interest": i.interest,
                    "monthly_cost": i.monthly_cost,
                });
                if let Some(r) = &i.reference {
                    v["reference"] = json!(r);
                }
                v
            })
            .collect();
        let mut data = json!({
            "case_id": case_id,
            "currency": currency,
            "items": items,
            "totals": self.totals,
        });
        if let (Some(b), Some(can)) = (self.budget, self.can_service) {
            data["budget"] = json!({
                "monthly_income": b.monthly_income,
                "monthly_expenses": b.monthly_expenses,
                "monthly_capacity": b.monthly_capacity().unwrap_or(Money::from_minor(0)).max(Money::from_minor(0)),
                "can_service": can,
            });
        }
        data
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(s: &str) -> Money {
        Money::parse(s).expect("test data")
    }

    fn item(creditor: &str, balance: &str, interest: &str, monthly: &str) -> DebtItem {
        DebtItem {
            source: Source::Creditor,
            creditor: creditor.into(),
            reference: None,
            kind: "forbrukslån".into(),
            balance: m(balance),
            interest: m(interest),
            monthly_cost: m(monthly),
        }
    }

    #[test]
    fn totals_add_up_and_the_budget_decides_whether_it_can_be_serviced() {
        let items = vec![
            item("Bank B", "10000.00", "500.00", "800.00"),
            item("Acme Inkasso", "2500.50", "250.50", "400.00"),
        ];
        let tight = Budget {
            monthly_income: m("20000.00"),
            monthly_expenses: m("19000.00"),
        };
        let s = DebtSchedule::new(items.clone(), Some(tight));
        assert_eq!(s.items[0].creditor, "Acme Inkasso");
        assert_eq!(s.totals.balance, m("12500.50"));
        assert_eq!(s.totals.interest, m("750.50"));
        assert_eq!(s.totals.monthly_cost, m("1200.00"));
        assert_eq!(s.can_service, Some(false));
        let room = Budget {
            monthly_income: m("20000.00"),
            monthly_expenses: m("18800.00"),
        };
        assert_eq!(
            DebtSchedule::new(items.clone(), Some(room)).can_service,
            Some(true)
        );
        assert_eq!(DebtSchedule::new(items, None).can_service, None);
    }

    #[test]
    fn a_bad_item_names_each_problem() {
        let mut i = item("", "100.00", "200.00", "-1.00");
        i.kind = " ".into();
        let p = i.problems();
        assert_eq!(p.len(), 4, "{p:?}");
    }

    proptest! {
        #[test]
        fn the_totals_are_the_sums(xs in proptest::collection::vec((0i64..10_000_000, 0i64..100_000), 0..40)) {
            let items: Vec<DebtItem> = xs.iter().enumerate().map(|(k, (b, c))| DebtItem {
                source: Source::Creditor,
                creditor: format!("C{k}"),
                reference: None,
                kind: "lån".into(),
                balance: Money::from_minor(*b),
                interest: Money::from_minor(b / 10),
                monthly_cost: Money::from_minor(*c),
            }).collect();
            let s = DebtSchedule::new(items, None);
            prop_assert_eq!(s.totals.balance.to_minor(), xs.iter().map(|x| x.0).sum::<i64>());
            prop_assert_eq!(s.totals.monthly_cost.to_minor(), xs.iter().map(|x| x.1).sum::<i64>());
            prop_assert_eq!(s.totals.interest.to_minor(), xs.iter().map(|x| x.0 / 10).sum::<i64>());
        }
    }
}
