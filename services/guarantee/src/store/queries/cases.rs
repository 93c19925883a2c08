//! `recovery_cases` and `case_steps`: the recovery case of a guarantee and its recorded steps.
//!
//! A case is keyed by `case_id` ([`case_id`]: the guarantee and the case's number) and is unique
//! per `(guarantee_id, case_no)`: the guarantee's row lock serialises the changes that open one,
//! and the key makes a second opening for the same number a no-op.

use restance_kernel::{BusinessDate, Money};
use restance_store::{date, stmt};
use sea_orm::{ConnectionTrait, DbErr};

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
    let row = db
        .query_one_raw(stmt(
            db,
            "SELECT COUNT(*) FROM recovery_cases WHERE guarantee_id = $1",
            vec![guarantee_id.into()],
        ))
        .await?;
    match row {
        Some(r) => r.try_get_by_index(0),
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
    let done = db
        .execute_raw(stmt(
            db,
            "INSERT INTO recovery_cases (case_id, guarantee_id, case_no, municipality, state, \
             opened_on, claim_minor, cap_minor, expired_minor, message_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (case_id) DO NOTHING",
            vec![
                case.case_id().into(),
                case.guarantee_id().into(),
                case_no.into(),
                municipality.into(),
                case.state().as_str().into(),
                date(opened_on),
                minor(case.claim()).into(),
                minor(case.cap()).into(),
                minor(case.expired()).into(),
                message_id.into(),
            ],
        ))
        .await?;
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
    db.execute_raw(stmt(
        db,
        "INSERT INTO case_steps (case_id, seq, step_date, actor, step, sent) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        vec![
            case_id.into(),
            seq.into(),
            date(record.on),
            actor_word(&record.by).into(),
            json(serde_json::to_string(&record.step))?.into(),
            json(serde_json::to_string(sent))?.into(),
        ],
    ))
    .await
    .map(|_| ())
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
    db.execute_raw(stmt(
        db,
        "INSERT INTO held_letters (case_id, request) VALUES ($1, $2) \
         ON CONFLICT (case_id) DO NOTHING",
        vec![case_id.into(), text.into()],
    ))
    .await
    .map(drop)
}

/// The held letter of `case_id` not sent yet, locked on PostgreSQL for the transaction.
pub async fn held_letter(
    db: &impl ConnectionTrait,
    case_id: &str,
) -> Result<Option<restance_contracts::messages::NotificationRequested>, DbErr> {
    let lock = if restance_store::is_postgres(db) {
        " FOR UPDATE"
    } else {
        ""
    };
    let Some(row) = db
        .query_one_raw(stmt(
            db,
            format!(
                "SELECT request FROM held_letters WHERE case_id = $1 AND sent_on IS NULL{lock}"
            ),
            vec![case_id.into()],
        ))
        .await?
    else {
        return Ok(None);
    };
    let text: String = row.try_get_by_index(0)?;
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
    db.execute_raw(stmt(
        db,
        "UPDATE held_letters SET claim_id = $2, sent_on = $3 WHERE case_id = $1",
        vec![case_id.into(), claim_id.into(), date(on)],
    ))
    .await
    .map(drop)
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
    }
}
