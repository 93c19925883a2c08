//! Retention: a debtor's personal data erased (`invoicing.debtor.erased.v1`). Agreements holds
//! no name, address, national id or contact (it never receives them); what it holds about the
//! person is what caseworkers wrote and agreed: the plans' notes, budgets (monthly income and
//! expenses, and the capacity derived from them) and cancellation reasons, the deferrals' notes,
//! the meetings' place, interpreter language and note, the tasks' texts, the caseworker alerts'
//! reasons and answers. Those go; ids, states, amounts, dates, instalments, payments, coverage,
//! who did what and when stay, so every figure for a past date is unchanged.

use chrono::NaiveDate;
use sea_orm::sea_query::{
    BinOper, Cond, Expr, ExprTrait, OnConflict, Order, Query, UnionType, UpdateStatement,
};
use sea_orm::{ConnectionTrait, DbErr};

use super::col;
use serde_json::{Value, json};

/// What an erased text that may not be empty becomes.
pub const ERASED: &str = "[erased]";

/// Invoicing's version of the debtor's details when agreements erased it, if it did.
pub async fn erased_version(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
) -> Result<Option<i64>, DbErr> {
    let select = Query::select()
        .column("version")
        .from("erased_debtors")
        .and_where(Expr::col("municipality").eq(municipality))
        .and_where(Expr::col("debtor_id").eq(debtor_id))
        .to_owned();
    db.query_one(&select)
        .await?
        .map(|r| col(&r, "version"))
        .transpose()
}

/// What one erasure changed (a repeat: all 0).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Erased {
    /// Plans whose note, budget or cancellation reason went.
    pub plans: u64,
    /// Deferrals whose note went.
    pub deferrals: u64,
    /// Meetings whose place, interpreter or note went.
    pub meetings: u64,
    /// Tasks whose text went.
    pub tasks: u64,
    /// Caseworker alerts whose reason or answer went.
    pub alerts: u64,
    /// Audit rows whose snapshots and detail went (who, what and when stay).
    pub audit: u64,
}

/// The terms without the budget: `budget` becomes `{"erased": true}` and the capacity derived
/// from it goes; instalment, number of instalments, frequency and first due date stay. `None`:
/// nothing to erase.
fn terms_without_budget(terms: &Value) -> Option<Value> {
    let t = terms.as_object()?;
    let erased = json!({"erased": true});
    if t.get("budget").is_none_or(|b| *b == erased) && !t.contains_key("capacity") {
        return None;
    }
    let mut t = t.clone();
    if t.contains_key("budget") {
        t.insert("budget".into(), erased);
    }
    t.remove("capacity");
    Some(Value::Object(t))
}

/// A plan's end reason without the caseworker's words: `cancelled: <why>` → `cancelled`.
fn reason_without_words(reason: &str) -> &str {
    reason
        .split_once(':')
        .map_or(reason, |(kind, _)| kind.trim_end())
}

/// Erases the debtor's personal data held here and remembers the erasure with `version` (kept
/// the highest). Idempotent: a repeat finds nothing more to erase. The caller holds the
/// debtor's lock.
pub async fn erase_debtor(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
    version: i64,
    erased_on: NaiveDate,
) -> Result<Erased, DbErr> {
    let of_debtor = || {
        Cond::all()
            .add(Expr::col("municipality").eq(municipality))
            .add(Expr::col("debtor_id").eq(debtor_id))
    };
    let remember = Query::insert()
        .into_table("erased_debtors")
        .columns(["municipality", "debtor_id", "version", "erased_on"])
        .values_panic([
            municipality.into(),
            debtor_id.into(),
            version.into(),
            erased_on.into(),
        ])
        .on_conflict(
            OnConflict::columns(["municipality", "debtor_id"])
                .update_columns(["version", "erased_on"])
                .action_and_where(
                    Expr::col(("erased_debtors", "version")).lt(Expr::col(("excluded", "version"))),
                )
                .to_owned(),
        )
        .to_owned();
    db.execute(&remember).await?;

    let mut erased = Erased {
        plans: erase_plans(db, of_debtor()).await?,
        ..Erased::default()
    };

    let run = async |update: UpdateStatement| -> Result<u64, DbErr> {
        Ok(db.execute(&update).await?.rows_affected())
    };
    let null = || Option::<String>::None;
    erased.deferrals = run(Query::update()
        .table("deferrals")
        .value("note", null())
        .cond_where(of_debtor())
        .and_where(Expr::col("note").is_not_null())
        .and_where(Expr::col("note").ne(ERASED))
        .to_owned())
    .await?;
    erased.meetings = run(Query::update()
        .table("meetings")
        .value("place", ERASED)
        .value("interpreter", null())
        .value("note", null())
        .cond_where(of_debtor())
        .and_where(
            Expr::col("place")
                .ne(ERASED)
                .or(Expr::col("interpreter").is_not_null())
                .or(Expr::col("note").is_not_null()),
        )
        .to_owned())
    .await?;
    erased.tasks = run(Query::update()
        .table("tasks")
        .value("text", ERASED)
        .cond_where(of_debtor())
        .and_where(Expr::col("text").ne(ERASED))
        .to_owned())
    .await?;
    erased.alerts = run(Query::update()
        .table("caseworker_alerts")
        .value("reason", ERASED)
        .value("answer", null())
        .cond_where(of_debtor())
        .and_where(
            Expr::col("reason")
                .ne(ERASED)
                .or(Expr::col("answer").is_not_null()),
        )
        .to_owned())
    .await?;
    erased.audit = run(audit_of_debtor(of_debtor)).await?;
    Ok(erased)
}

/// Takes the budget out of the debtor's plans' terms and their notes and reasons' words; the
/// number of plans changed.
async fn erase_plans(db: &impl ConnectionTrait, of_debtor: Cond) -> Result<u64, DbErr> {
    let mut erased = 0;
    let plans = Query::select()
        .columns(["plan_id", "terms", "note", "end_reason"])
        .from("plans")
        .cond_where(of_debtor)
        .order_by("plan_id", Order::Asc)
        .to_owned();
    for row in db.query_all(&plans).await? {
        let plan_id: String = col(&row, "plan_id")?;
        let terms: String = col(&row, "terms")?;
        let note: Option<String> = col(&row, "note")?;
        let end_reason: Option<String> = col(&row, "end_reason")?;
        let terms: Value = serde_json::from_str(&terms)
            .map_err(|e| DbErr::Custom(format!("stored plan terms unreadable: {e}")))?;
        let new_terms = terms_without_budget(&terms);
        let new_reason = end_reason
            .as_deref()
            .map(reason_without_words)
            .filter(|r| Some(*r) != end_reason.as_deref());
        if new_terms.is_none() && note.is_none() && new_reason.is_none() {
            continue;
        }
        let terms = serde_json::to_string(new_terms.as_ref().unwrap_or(&terms))
            .map_err(|e| DbErr::Custom(format!("cannot serialise: {e}")))?;
        let reason = new_reason.map(str::to_owned).or(end_reason);
        let update = Query::update()
            .table("plans")
            .value("terms", terms)
            .value("note", Option::<String>::None)
            .value("end_reason", reason)
            .and_where(Expr::col("plan_id").eq(plan_id))
            .to_owned();
        db.execute(&update).await?;
        erased += 1;
    }
    Ok(erased)
}

/// The update that empties the audit snapshots and details of the debtor's plans, deferrals,
/// meetings, tasks and alerts (`of_debtor` selects their rows).
fn audit_of_debtor(of_debtor: impl Fn() -> Cond) -> UpdateStatement {
    // the audit trail of the debtor's plans, deferrals, meetings, tasks and alerts keeps who,
    // what and when; its snapshots and details go (the only update its trigger allows)
    let entities = |table: &'static str, prefix: &'static str, id: &'static str| {
        Query::select()
            .expr(Expr::val(prefix).binary(BinOper::Custom("||"), Expr::col(id)))
            .from(table)
            .cond_where(of_debtor())
            .to_owned()
    };
    let of_debtors = entities("plans", "plan:", "plan_id")
        .union(
            UnionType::All,
            entities("deferrals", "deferral:", "deferral_id"),
        )
        .union(
            UnionType::All,
            entities("meetings", "meeting:", "meeting_id"),
        )
        .union(UnionType::All, entities("tasks", "task:", "task_id"))
        .union(
            UnionType::All,
            entities("caseworker_alerts", "alert:", "alert_id"),
        )
        .to_owned();
    Query::update()
        .table("audit")
        .value("before_json", Option::<String>::None)
        .value("after_json", Option::<String>::None)
        .value("detail", ERASED)
        .and_where(
            Expr::col("before_json")
                .is_not_null()
                .or(Expr::col("after_json").is_not_null())
                .or(Expr::col("detail").ne(ERASED)),
        )
        .and_where(Expr::col("entity").in_subquery(of_debtors))
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_goes_and_the_other_terms_stay() {
        let terms = json!({"budget":{"monthly_income":"18000.00","monthly_expenses":"15500.00"},
                           "capacity":"2500.00","frequency":"monthly","first_due_date":"2027-01-04"});
        assert_eq!(
            terms_without_budget(&terms),
            Some(json!({"budget":{"erased":true},"frequency":"monthly",
                        "first_due_date":"2027-01-04"}))
        );
        let erased = terms_without_budget(&terms).expect("erased");
        assert_eq!(
            terms_without_budget(&erased),
            None,
            "a repeat changes nothing"
        );
        assert_eq!(
            terms_without_budget(&json!({"instalment":"100.00","frequency":"monthly"})),
            None
        );
    }

    #[test]
    fn a_cancellation_keeps_its_kind_without_the_words() {
        assert_eq!(
            reason_without_words("cancelled: moved in with her sister"),
            "cancelled"
        );
        assert_eq!(reason_without_words("paid"), "paid");
    }
}
