//! Retention: a debtor's personal data erased (`invoicing.debtor.erased.v1`). Agreements holds
//! no name, address, national id or contact (it never receives them); what it holds about the
//! person is what caseworkers wrote and agreed: the plans' notes, budgets (monthly income and
//! expenses, and the capacity derived from them) and cancellation reasons, the deferrals' notes,
//! the meetings' place, interpreter language and note, the tasks' texts, the caseworker alerts'
//! reasons and answers. Those go; ids, states, amounts, dates, instalments, payments, coverage,
//! who did what and when stay, so every figure for a past date is unchanged.

use chrono::NaiveDate;
use restance_store::stmt;
use sea_orm::{ConnectionTrait, DbErr};
use serde_json::{Value, json};

/// What an erased text that may not be empty becomes.
pub const ERASED: &str = "[erased]";

/// Invoicing's version of the debtor's details when agreements erased it, if it did.
pub async fn erased_version(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
) -> Result<Option<i64>, DbErr> {
    db.query_one_raw(stmt(
        db,
        "SELECT version FROM erased_debtors WHERE municipality = $1 AND debtor_id = $2",
        vec![municipality.into(), debtor_id.into()],
    ))
    .await?
    .map(|r| r.try_get_by_index(0))
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
    let m = || sea_orm::Value::from(municipality);
    let d = || sea_orm::Value::from(debtor_id);
    db.execute_raw(stmt(
        db,
        "INSERT INTO erased_debtors (municipality, debtor_id, version, erased_on) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (municipality, debtor_id) DO UPDATE \
         SET version = excluded.version, erased_on = excluded.erased_on \
         WHERE erased_debtors.version < excluded.version",
        vec![m(), d(), version.into(), erased_on.into()],
    ))
    .await?;

    let mut erased = Erased::default();
    let plans = db
        .query_all_raw(stmt(
            db,
            "SELECT plan_id, terms, note, end_reason FROM plans \
             WHERE municipality = $1 AND debtor_id = $2 ORDER BY plan_id",
            vec![m(), d()],
        ))
        .await?;
    for row in plans {
        let plan_id: String = row.try_get_by_index(0)?;
        let terms: String = row.try_get_by_index(1)?;
        let note: Option<String> = row.try_get_by_index(2)?;
        let end_reason: Option<String> = row.try_get_by_index(3)?;
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
        db.execute_raw(stmt(
            db,
            "UPDATE plans SET terms = $2, note = NULL, end_reason = $3 WHERE plan_id = $1",
            vec![plan_id.into(), terms.into(), reason.into()],
        ))
        .await?;
        erased.plans += 1;
    }

    let run = async |sql: &str| -> Result<u64, DbErr> {
        Ok(db
            .execute_raw(stmt(db, sql, vec![m(), d(), ERASED.into()]))
            .await?
            .rows_affected())
    };
    // `$3` (the marker) is bound in every statement; those that do not need it still compare
    // with it so that the parameter is used.
    erased.deferrals = run("UPDATE deferrals SET note = NULL \
         WHERE municipality = $1 AND debtor_id = $2 AND note IS NOT NULL AND note <> $3")
    .await?;
    erased.meetings = run(
        "UPDATE meetings SET place = $3, interpreter = NULL, note = NULL \
         WHERE municipality = $1 AND debtor_id = $2 \
         AND (place <> $3 OR interpreter IS NOT NULL OR note IS NOT NULL)",
    )
    .await?;
    erased.tasks = run("UPDATE tasks SET text = $3 \
         WHERE municipality = $1 AND debtor_id = $2 AND text <> $3")
    .await?;
    erased.alerts = run("UPDATE caseworker_alerts SET reason = $3, answer = NULL \
         WHERE municipality = $1 AND debtor_id = $2 AND (reason <> $3 OR answer IS NOT NULL)")
    .await?;
    // the audit trail of the debtor's plans, deferrals, meetings, tasks and alerts keeps who,
    // what and when; its snapshots and details go (the only update its trigger allows)
    erased.audit = run(
        "UPDATE audit SET before_json = NULL, after_json = NULL, detail = $3 \
         WHERE (before_json IS NOT NULL OR after_json IS NOT NULL OR detail <> $3) \
         AND entity IN ( \
           SELECT 'plan:' || plan_id FROM plans WHERE municipality = $1 AND debtor_id = $2 \
           UNION ALL SELECT 'deferral:' || deferral_id FROM deferrals \
             WHERE municipality = $1 AND debtor_id = $2 \
           UNION ALL SELECT 'meeting:' || meeting_id FROM meetings \
             WHERE municipality = $1 AND debtor_id = $2 \
           UNION ALL SELECT 'task:' || task_id FROM tasks \
             WHERE municipality = $1 AND debtor_id = $2 \
           UNION ALL SELECT 'alert:' || alert_id FROM caseworker_alerts \
             WHERE municipality = $1 AND debtor_id = $2)",
    )
    .await?;
    Ok(erased)
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
