//! What every operation needs besides the shared state ([`crate::state::Shared`]): who acts,
//! and how an operation says no.
//!
//! Every change to an agreement — by a caseworker through the API or by the service itself on a
//! business day or an invoicing event — goes through the functions of [`crate::plans`],
//! [`crate::deferrals`], [`crate::meetings`] and [`crate::tasks`] inside one transaction that
//! first locks the debtor row, writes the change, its audit entry and its events (outbox), and
//! commits them together.

use std::collections::BTreeMap;

use restance_bus::Effects;
use restance_contracts::{Message, Problem};
use restance_kernel::BusinessDate;
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbErr};

use crate::store::queries::{self, ClaimRow};

/// Who changes something: a caseworker's token, or the service itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The token's name (`caseworker#1`) or `system`.
    pub name: String,
    /// The role (`caseworker`, `admin`, `system`).
    pub role: String,
}

impl Actor {
    /// The service acting on a business day or an event.
    pub fn system() -> Actor {
        Actor {
            name: "system".into(),
            role: "system".into(),
        }
    }
}

/// Why an operation refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// The request does not match its schema (400).
    BadRequest,
    /// No such plan, deferral, meeting, task, debtor, claim, municipality or office (404).
    NotFound,
    /// It contradicts the current state (409): no business day yet, already ended, a claim
    /// already under another plan.
    Conflict,
    /// Well formed, but the values cannot be used (422).
    Unprocessable,
}

/// A refusal with its reason and, where it helps, the fields concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Which kind.
    pub kind: RefusalKind,
    /// One line saying why (no personal data).
    pub error: String,
    /// The fields concerned.
    pub problems: Vec<Problem>,
}

impl Refusal {
    /// A refusal of `kind`.
    pub fn new(kind: RefusalKind, error: impl Into<String>) -> Refusal {
        Refusal {
            kind,
            error: error.into(),
            problems: Vec::new(),
        }
    }

    /// 409.
    pub fn conflict(error: impl Into<String>) -> Refusal {
        Refusal::new(RefusalKind::Conflict, error)
    }

    /// 404.
    pub fn not_found(error: impl Into<String>) -> Refusal {
        Refusal::new(RefusalKind::NotFound, error)
    }

    /// 404 about a field naming something that does not exist (a municipality, office, debtor
    /// or claim).
    pub fn not_found_at(path: &str, message: impl Into<String>) -> Refusal {
        let message = message.into();
        Refusal {
            kind: RefusalKind::NotFound,
            error: format!("{path}: {message}"),
            problems: vec![Problem::new(path, message)],
        }
    }

    /// 409 about a field whose target is in a state that does not allow it.
    pub fn conflict_at(path: &str, message: impl Into<String>) -> Refusal {
        let message = message.into();
        Refusal {
            kind: RefusalKind::Conflict,
            error: format!("{path}: {message}"),
            problems: vec![Problem::new(path, message)],
        }
    }

    /// 422 about one field.
    pub fn unprocessable(path: &str, message: impl Into<String>) -> Refusal {
        let message = message.into();
        Refusal {
            kind: RefusalKind::Unprocessable,
            error: format!("{path}: {message}"),
            problems: vec![Problem::new(path, message)],
        }
    }

    /// 422 about several fields.
    pub fn unprocessable_all(problems: Vec<Problem>) -> Refusal {
        Refusal {
            kind: RefusalKind::Unprocessable,
            error: problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
            problems,
        }
    }

    /// The usual refusal before the first business day.
    pub fn no_business_day() -> Refusal {
        Refusal::conflict(
            "no business day has been opened yet: open one (`restance day open`) before agreements can be made",
        )
    }
}

/// An operation failed: refused (a 4xx with the reason) or the database failed (retry).
#[derive(Debug)]
pub enum Failure {
    /// Refused, with the reason.
    Refused(Refusal),
    /// Names something not learnt yet (a claim whose `invoicing.claim.opened.v1` another
    /// replica may be committing): a message is handled again for a while and then refused
    /// with this reason (`restance_bus::Outcome::NotYet`); a request is refused with it.
    NotYet(Refusal),
    /// The database failed.
    Db(DbErr),
}

impl From<DbErr> for Failure {
    fn from(e: DbErr) -> Self {
        Failure::Db(e)
    }
}

impl From<Refusal> for Failure {
    fn from(r: Refusal) -> Self {
        Failure::Refused(r)
    }
}

/// Adds an event to `effects` after checking it against the contract: an event we would publish
/// that fails its own contract is a bug, reported as an error (the transaction rolls back).
pub fn emit<T: Message>(effects: &mut Effects, message: T) -> Result<(), DbErr> {
    let problems = message.validate();
    if !problems.is_empty() {
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        return Err(DbErr::Custom(format!(
            "{} would break its contract: {}",
            T::TYPE,
            text.join("; ")
        )));
    }
    effects
        .emit(message)
        .map_err(|e| DbErr::Custom(e.to_string()))
}

/// The business date, or the refusal before the first one.
pub async fn business_day(db: &impl ConnectionTrait) -> Result<BusinessDate, Failure> {
    queries::last_business_date(db)
        .await?
        .ok_or_else(|| Failure::Refused(Refusal::no_business_day()))
}

/// Locks the debtor; refuses when no claim of theirs is known.
pub async fn lock_debtor(
    tx: &DatabaseTransaction,
    municipality: &str,
    debtor_id: &str,
) -> Result<(), Failure> {
    let key = (municipality.to_owned(), debtor_id.to_owned());
    if queries::lock_debtors(tx, std::slice::from_ref(&key))
        .await?
        .is_empty()
    {
        return Err(Failure::Refused(Refusal::not_found_at(
            "debtor_id",
            format!(
                "no claims of debtor {debtor_id} in municipality {municipality} are known (agreements learns them from invoicing.claim.opened.v1)"
            ),
        )));
    }
    Ok(())
}

/// The claims a request names (every open one when it names none), each the debtor's and open.
pub async fn requested_claims(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
    claim_ids: &[String],
) -> Result<Vec<ClaimRow>, Failure> {
    if claim_ids.is_empty() {
        let open: Vec<ClaimRow> = queries::claims_of_debtor(db, municipality, debtor_id)
            .await?
            .into_iter()
            .filter(ClaimRow::is_open)
            .collect();
        if open.is_empty() {
            return Err(Failure::Refused(Refusal::conflict_at(
                "claim_ids",
                format!("debtor {debtor_id} has no open claims"),
            )));
        }
        return Ok(open);
    }
    let found = queries::claims_by_id(db, claim_ids).await?;
    let by_id: BTreeMap<&str, &ClaimRow> = found.iter().map(|c| (c.claim_id.as_str(), c)).collect();
    // Unknown claims are a 404; known claims that are no longer open a 409.
    let (mut missing, mut closed) = (Vec::new(), Vec::new());
    for (i, id) in claim_ids.iter().enumerate() {
        let path = format!("claim_ids[{i}]");
        match by_id.get(id.as_str()) {
            Some(c) if c.municipality == municipality && c.debtor_id == debtor_id => {
                if !c.is_open() {
                    closed.push(Problem::new(
                        path,
                        format!("claim {id} is {}", c.state.as_str().replace('_', " ")),
                    ));
                }
            }
            _ => missing.push(Problem::new(
                path,
                format!("no claim {id} of debtor {debtor_id} in municipality {municipality}"),
            )),
        }
    }
    for (kind, problems) in [
        (RefusalKind::NotFound, missing),
        (RefusalKind::Conflict, closed),
    ] {
        if !problems.is_empty() {
            let mut refusal = Refusal::unprocessable_all(problems);
            refusal.kind = kind;
            return Err(Failure::Refused(refusal));
        }
    }
    Ok(found)
}
