//! `recovery_cases` and `case_steps`: the recovery case of a guarantee and its recorded steps.
//!
//! A case is keyed by `case_id` ([`case_id`]: the guarantee and the case's number) and is unique
//! per `(guarantee_id, case_no)`: the guarantee's row lock serialises the changes that open one,
//! and the key makes a second opening for the same number a no-op.

use restance_kernel::{BusinessDate, Money};
use restance_store::date;
use sea_orm::sea_query::{Expr, ExprTrait, JoinType, LockType, OnConflict, Order, Query};
use sea_orm::{ConnectionTrait, DbErr};

use super::{get, get_date};

use crate::domain::{Actor, RecoveryCase, StepRecord};

/// The id of a guarantee's `case_no`th recovery case, e.g. `G-1/R1`: deterministic, so a
/// redelivery or another replica names the same case.
pub fn case_id(guarantee_id: &str, case_no: i64) -> String {
    format!("{guarantee_id}/R{case_no}")
}

/// Who took a step, as stored: `system` for the service, else the caseworker's id.
pub fn actor_word(by: &Actor) -> String {
    match by {
        Actor::Service => "system".to_owned(),
        Actor::Caseworker(id) => format!("caseworker:{id}"),
    }
}

/// How many recovery cases the guarantee has.
pub async fn count_of(db: &impl ConnectionTrait, guarantee_id: &str) -> Result<i64, DbErr> {
    let select = Query::select()
        .expr_as(Expr::col("case_id").count(), "cases")
        .from("recovery_cases")
        .and_where(Expr::col("guarantee_id").eq(guarantee_id))
        .to_owned();
    match db.query_one(&select).await? {
        Some(r) => get(&r, "cases"),
        None => Ok(0),
    }
}

/// Stores a case as it stands with its steps, and for each step what was sent (`sent[i]` for
/// `case.steps()[i]`). False (nothing written) when the case id is stored already.
#[allow(clippy::too_many_arguments)]
pub async fn insert(
    db: &impl ConnectionTrait,
    case: &RecoveryCase,
    case_no: i64,
    municipality: &str,
    opened_on: BusinessDate,
    sent: &[Vec<String>],
    message_id: &str,
) -> Result<bool, DbErr> {
    let minor = |m: Money| m.to_minor();
    let insert = Query::insert()
        .into_table("recovery_cases")
        .columns([
            "case_id",
            "guarantee_id",
            "case_no",
            "municipality",
            "state",
            "opened_on",
            "claim_minor",
            "cap_minor",
            "expired_minor",
            "message_id",
        ])
        .values_panic([
            case.case_id().into(),
            case.guarantee_id().into(),
            case_no.into(),
            municipality.into(),
            case.state().as_str().into(),
            date(opened_on).into(),
            minor(case.claim()).into(),
            minor(case.cap()).into(),
            minor(case.expired()).into(),
            message_id.into(),
        ])
        .on_conflict(OnConflict::column("case_id").do_nothing().to_owned())
        .to_owned();
    let done = db.execute(&insert).await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    for (seq, record) in case.steps().iter().enumerate() {
        let what = sent.get(seq).cloned().unwrap_or_default();
        insert_step(db, case.case_id(), seq, record, &what).await?;
    }
    Ok(true)
}

async fn insert_step(
    db: &impl ConnectionTrait,
    case_id: &str,
    seq: usize,
    record: &StepRecord,
    sent: &[String],
) -> Result<(), DbErr> {
    let json = |v: serde_json::Result<String>| {
        v.map_err(|e| DbErr::Custom(format!("case step does not serialize: {e}")))
    };
    let seq = i64::try_from(seq).map_err(|_| DbErr::Custom("too many case steps".into()))?;
    let insert = Query::insert()
        .into_table("case_steps")
        .columns(["case_id", "seq", "step_date", "actor", "step", "sent"])
        .values_panic([
            case_id.into(),
            seq.into(),
            date(record.on).into(),
            actor_word(&record.by).into(),
            json(serde_json::to_string(&record.step))?.into(),
            json(serde_json::to_string(sent))?.into(),
        ])
        .to_owned();
    db.execute(&insert).await.map(|_| ())
}

/// A stored case: the case replayed from its steps, where it is kept and the claim invoicing
/// opened for it (once the bank's letter has gone with its payment reference).
#[derive(Debug)]
pub struct StoredCase {
    /// The case as its steps make it.
    pub case: RecoveryCase,
    /// The municipality.
    pub municipality: String,
    /// The claim invoicing opened from the case's `guarantee.recovery.raised.v1`, when known.
    pub claim_id: Option<String>,
    /// What was sent for each step (`sent[i]` for `case.steps()[i]`): the messages and letters.
    pub sent: Vec<Vec<String>>,
}

/// The case `case_id` with its steps, its row locked on PostgreSQL for the transaction (a
/// step is appended under that lock, so two replicas never number a step twice).
pub async fn load(db: &impl ConnectionTrait, case_id: &str) -> Result<Option<StoredCase>, DbErr> {
    let case_row = Query::select()
        .columns([("c", "guarantee_id"), ("c", "municipality")])
        .column(("h", "claim_id"))
        .from_as("recovery_cases", "c")
        .join_as(
            JoinType::LeftJoin,
            "held_letters",
            "h",
            Expr::col(("h", "case_id")).equals(("c", "case_id")),
        )
        .and_where(Expr::col(("c", "case_id")).eq(case_id))
        .lock_with_tables(LockType::Update, ["c"])
        .to_owned();
    let Some(row) = db.query_one(&case_row).await? else {
        return Ok(None);
    };
    let guarantee_id: String = get(&row, "guarantee_id")?;
    let municipality: String = get(&row, "municipality")?;
    let claim_id: Option<String> = get(&row, "claim_id")?;
    let select = Query::select()
        .columns(["step_date", "actor", "step", "sent"])
        .from("case_steps")
        .and_where(Expr::col("case_id").eq(case_id))
        .order_by("seq", Order::Asc)
        .to_owned();
    let rows = db.query_all(&select).await?;
    let mut steps = Vec::with_capacity(rows.len());
    let mut sent = Vec::with_capacity(rows.len());
    for r in rows {
        let what: String = get(&r, "sent")?;
        sent.push(serde_json::from_str(&what).unwrap_or_default());
        let on: BusinessDate = get_date(&r, "step_date")?;
        let actor: String = get(&r, "actor")?;
        let step: String = get(&r, "step")?;
        let step = serde_json::from_str(&step)
            .map_err(|e| DbErr::Custom(format!("a step of case {case_id} does not read: {e}")))?;
        steps.push(StepRecord {
            on,
            by: actor_of(&actor),
            step,
        });
    }
    let case = RecoveryCase::from_steps(case_id, guarantee_id, steps)
        .map_err(|e| DbErr::Custom(format!("case {case_id} does not replay: {e}")))?;
    Ok(Some(StoredCase {
        case,
        municipality,
        claim_id,
        sent,
    }))
}

/// The case of the claim `claim_id` (the claim invoicing opened for it), if any.
pub async fn of_claim(db: &impl ConnectionTrait, claim_id: &str) -> Result<Option<String>, DbErr> {
    let select = Query::select()
        .column("case_id")
        .from("held_letters")
        .and_where(Expr::col("claim_id").eq(claim_id))
        .to_owned();
    let row = db.query_one(&select).await?;
    row.map(|r| get(&r, "case_id")).transpose()
}

/// Stores the steps of `case` from `from` on (those [`load`] did not return), with what was
/// sent for each (`sent[i]` for step `from + i`), and the case's state and amounts now.
pub async fn append(
    db: &impl ConnectionTrait,
    case: &RecoveryCase,
    from: usize,
    sent: &[Vec<String>],
) -> Result<(), DbErr> {
    for (i, record) in case.steps().iter().enumerate().skip(from) {
        let what = sent.get(i - from).cloned().unwrap_or_default();
        insert_step(db, case.case_id(), i, record, &what).await?;
    }
    let update = Query::update()
        .table("recovery_cases")
        .value("state", case.state().as_str())
        .value("claim_minor", case.claim().to_minor())
        .and_where(Expr::col("case_id").eq(case.case_id()))
        .to_owned();
    db.execute(&update).await.map(drop)
}

/// Records the payment `payment_id` on `case_id` once: false (nothing written) when it is
/// recorded already — the same payment applied again under another envelope id.
pub async fn record_payment(
    db: &impl ConnectionTrait,
    case_id: &str,
    payment_id: &str,
    amount: Money,
    booking_date: BusinessDate,
    message_id: &str,
) -> Result<bool, DbErr> {
    let insert = Query::insert()
        .into_table("case_payments")
        .columns([
            "case_id",
            "payment_id",
            "amount_minor",
            "booking_date",
            "message_id",
        ])
        .values_panic([
            case_id.into(),
            payment_id.into(),
            amount.to_minor().into(),
            date(booking_date).into(),
            message_id.into(),
        ])
        .on_conflict(
            OnConflict::columns(["case_id", "payment_id"])
                .do_nothing()
                .to_owned(),
        )
        .to_owned();
    let done = db.execute(&insert).await?;
    Ok(done.rows_affected() == 1)
}

/// Records that invoicing settled the claim `claim_id` of `case_id` on `on` while
/// `outstanding` was still owed on the case by the payments recorded; once per case (the first
/// settlement stands). False when one is recorded already.
pub async fn record_claim_settled(
    db: &impl ConnectionTrait,
    case_id: &str,
    claim_id: &str,
    on: BusinessDate,
    outstanding: Money,
    message_id: &str,
) -> Result<bool, DbErr> {
    let insert = Query::insert()
        .into_table("case_claim_settlements")
        .columns([
            "case_id",
            "claim_id",
            "settled_on",
            "outstanding_minor",
            "message_id",
        ])
        .values_panic([
            case_id.into(),
            claim_id.into(),
            date(on).into(),
            outstanding.to_minor().into(),
            message_id.into(),
        ])
        .on_conflict(OnConflict::column("case_id").do_nothing().to_owned())
        .to_owned();
    let done = db.execute(&insert).await?;
    Ok(done.rows_affected() == 1)
}

/// The actor as [`actor_word`] stored it.
pub fn actor_of(word: &str) -> Actor {
    match word.strip_prefix("caseworker:") {
        Some(id) => Actor::Caseworker(id.to_owned()),
        None => Actor::Service,
    }
}

/// Keeps the bank's hold-and-pay letter of `case_id` until the claim's payment reference is
/// known (a second keep of the same case changes nothing).
pub async fn hold_letter(
    db: &impl ConnectionTrait,
    case_id: &str,
    request: &restance_contracts::messages::NotificationRequested,
) -> Result<(), DbErr> {
    let text = serde_json::to_string(request)
        .map_err(|e| DbErr::Custom(format!("the hold letter does not serialize: {e}")))?;
    let insert = Query::insert()
        .into_table("held_letters")
        .columns(["case_id", "request"])
        .values_panic([case_id.into(), text.into()])
        .on_conflict(OnConflict::column("case_id").do_nothing().to_owned())
        .to_owned();
    db.execute(&insert).await.map(drop)
}

/// The held letter of `case_id` not sent yet, locked on PostgreSQL for the transaction.
pub async fn held_letter(
    db: &impl ConnectionTrait,
    case_id: &str,
) -> Result<Option<restance_contracts::messages::NotificationRequested>, DbErr> {
    let select = Query::select()
        .column("request")
        .from("held_letters")
        .and_where(Expr::col("case_id").eq(case_id))
        .and_where(Expr::col("sent_on").is_null())
        .lock(LockType::Update)
        .to_owned();
    let Some(row) = db.query_one(&select).await? else {
        return Ok(None);
    };
    let text: String = get(&row, "request")?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| DbErr::Custom(format!("a held letter does not read: {e}")))
}

/// Marks the held letter of `case_id` sent on `on` for claim `claim_id`.
pub async fn letter_sent(
    db: &impl ConnectionTrait,
    case_id: &str,
    claim_id: &str,
    on: BusinessDate,
) -> Result<(), DbErr> {
    let update = Query::update()
        .table("held_letters")
        .value("claim_id", claim_id)
        .value("sent_on", date(on))
        .and_where(Expr::col("case_id").eq(case_id))
        .to_owned();
    db.execute(&update).await.map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_id_names_the_guarantee_and_the_number() {
        assert_eq!(case_id("SIK-2023-000417", 1), "SIK-2023-000417/R1");
        assert_ne!(case_id("G-1", 1), case_id("G-1", 2));
    }

    #[test]
    fn the_service_is_stored_as_system() {
        assert_eq!(actor_word(&Actor::Service), "system");
        assert_eq!(actor_word(&Actor::Caseworker("ah".into())), "caseworker:ah");
        for by in [Actor::Service, Actor::Caseworker("ah".into())] {
            assert_eq!(actor_of(&actor_word(&by)), by);
        }
    }
}
