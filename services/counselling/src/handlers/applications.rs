//! Intake: an application opens a case ([`open`]), from the bus
//! (`selfservice.counselling.applied.v1`) or from the API (a paper form registered by the
//! document centre, `POST /api/v1/cases`).
//!
//! - The same application twice (same source and id, same content) is one case; with other
//!   content it is refused.
//! - The municipality must have debt counselling configured, the national id (if any) must be a
//!   person's id of the municipality's country.
//! - An applicant who had a case before is flagged with a link to it; an application of a person
//!   whose case still works is recorded on that case (new information?) instead of a second one.
//! - The case is assigned ([`crate::domain::assignment`]), `counselling.case.opened.v1` goes
//!   out, and where the municipality holds its own dunning during counselling, each of the
//!   applicant's debtor ids in invoicing gets `counselling.dunning.held.v1`.

use chrono::Utc;
use restance_bus::{Effects, HandlerError, Outcome, Rejection};
use restance_contracts::messages::{CaseOpened, CounsellingApplied, DunningHeld};
use restance_kernel::budget::Budget;
use restance_kernel::{BusinessDate, PartyKind};
use sea_orm::DatabaseTransaction;

use crate::config::MunicipalityCounselling;
use crate::domain::{AssignedBy, Assignment, Case, Opening, Routine};
use crate::state::Shared;
use crate::store::queries::cases::{self, StoredCase};
use crate::store::queries::{days, holds, invoicing};

/// What became of an application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// A new case.
    New(String),
    /// The application was received before: its case.
    Again(String),
}

/// Opens the case of application `a` from `source` (see the module documentation). A refusal
/// is the reason, for a dead letter or a 422.
pub async fn open(
    shared: &Shared,
    tx: &DatabaseTransaction,
    out: &mut Effects,
    source: &str,
    a: &CounsellingApplied,
) -> Result<Result<Opened, Rejection>, HandlerError> {
    let (m, assignment) = match admit(shared, a) {
        Ok(found) => found,
        Err(refused) => return Ok(Err(refused)),
    };
    let latest_day = days::latest(tx).await?;
    let hash = crate::handlers::content_hash(a)?;
    if let Some((case_id, stored_hash)) =
        cases::of_application(tx, source, &a.application_id).await?
    {
        if stored_hash == hash {
            return Ok(Ok(Opened::Again(case_id)));
        }
        return Ok(Err(Rejection::new(format!(
            "data.application_id: application {} was received before with other content (case {case_id})",
            a.application_id
        ))));
    }
    let on: BusinessDate = latest_day.map_or(a.applied_date, |d| d.max(a.applied_date));
    let national_id = a
        .applicant
        .national_id
        .as_ref()
        .map(|n| n.expose().as_str().to_owned());
    if let Some(n) = &national_id {
        // an invoicing debtor update of the same person on another replica waits, so the hold
        // is asked for by one of the two (the update sees this case, or this sees the debtor)
        lock_person(tx, &a.municipality, n).await?;
    }
    if let Some(n) = &national_id
        && let Some(active) = cases::active_of_person(tx, &a.municipality, n)
            .await?
            .first()
        && let Some(mut stored) = cases::load(tx, active, true).await?
    {
        // the person's case still works: the application is recorded on it, not a second case
        let key = format!("{source}\n{}", a.application_id);
        if stored.case.another_application(on, &key, a.channel) {
            let cal = shared.calendar(&a.municipality);
            let next = stored.case.next_timer(on.add_days(-1), &shared.rules(&cal));
            cases::save(tx, &stored.case, next).await?;
        }
        return Ok(Ok(Opened::Again(stored.case_id)));
    }
    let new = NewCase {
        source,
        hash,
        on,
        national_id: national_id.as_deref(),
        hold_dunning: m.hold_dunning,
    };
    open_new(shared, tx, out, a, assignment, &new).await
}

/// What [`open_new`] opens a case with, besides the application.
struct NewCase<'a> {
    source: &'a str,
    hash: String,
    on: BusinessDate,
    national_id: Option<&'a str>,
    hold_dunning: bool,
}

/// Opens a new case for application `a` (no case of the person is active): assigns the
/// counsellor, stores the case, announces it and asks for the dunning holds.
async fn open_new(
    shared: &Shared,
    tx: &DatabaseTransaction,
    out: &mut Effects,
    a: &CounsellingApplied,
    assignment: &Assignment,
    new: &NewCase<'_>,
) -> Result<Result<Opened, Rejection>, HandlerError> {
    let (source, on, national_id) = (new.source, new.on, new.national_id);
    let previous = match national_id {
        Some(n) => cases::latest_of_person(tx, &a.municipality, n).await?,
        None => None,
    };
    let assigned = assignment.assign(
        a.applicant.national_id.as_ref().map(|n| n.expose()),
        a.applicant.address_protection,
    );
    let by = match assigned.by {
        AssignedBy::BirthDay(d) => format!("born on day {d}"),
        AssignedBy::Fallback => "no national id: the fallback counsellor".to_owned(),
        AssignedBy::Protected => "protected address: a protected-case counsellor".to_owned(),
    };
    let case_id = cases::case_id(&a.municipality, source, &a.application_id);
    let budget = match (a.answers.monthly_income, a.answers.monthly_expenses) {
        (Some(monthly_income), Some(monthly_expenses)) => Some(Budget {
            monthly_income,
            monthly_expenses,
        }),
        _ => None,
    };
    let case = Case::open(Opening {
        case_id: case_id.clone(),
        counsellor: assigned.counsellor.clone(),
        routine: assigned.routine,
        channel: a.channel,
        on,
        no_income: !a.answers.income_reported,
        register_consent: a.answers.debt_register_consent,
        budget,
        assigned: by,
        previous_case_id: previous.clone(),
    });
    let cal = shared.calendar(&a.municipality);
    let next = case.next_timer(on.add_days(-1), &shared.rules(&cal));
    let stored = StoredCase {
        case_id: case_id.clone(),
        source: source.to_owned(),
        application_id: a.application_id.clone(),
        content_hash: new.hash.clone(),
        municipality: a.municipality.clone(),
        applicant_id: a.applicant.id.clone(),
        applicant: a.applicant.clone(),
        previous_case_id: previous.clone(),
        case,
    };
    if !cases::insert(tx, &stored, next).await? {
        // another replica stored the same application a moment ago
        return Ok(Ok(Opened::Again(case_id)));
    }
    out.emit(CaseOpened {
        case_id: case_id.clone(),
        application_id: a.application_id.clone(),
        municipality: a.municipality.clone(),
        applicant_id: a.applicant.id.clone(),
        counsellor: assigned.counsellor,
        channel: a.channel,
        opened_date: on,
        previous_case_id: previous,
    })?;
    crate::metrics::case_opened(
        a.channel.as_str(),
        if assigned.routine == Routine::Protected {
            "protected"
        } else {
            "ordinary"
        },
    );
    if new.hold_dunning
        && let Some(n) = national_id
    {
        for debtor_id in invoicing::debtors_of_person(tx, &a.municipality, n).await? {
            hold(tx, out, &case_id, &a.municipality, &debtor_id, on).await?;
        }
    }
    Ok(Ok(Opened::New(case_id)))
}

/// The checks an application passes before anything is read: counselling configured for the
/// municipality, the applicant's national id, the date applied. The municipality's
/// configuration and its counsellors' assignment.
fn admit<'a>(
    shared: &'a Shared,
    a: &CounsellingApplied,
) -> Result<(&'a MunicipalityCounselling, &'a Assignment), Rejection> {
    let Some(m) = shared.municipality(&a.municipality) else {
        return Err(Rejection::new(format!(
            "data.municipality: {} has no debt counselling configured (counselling.municipalities)",
            a.municipality
        )));
    };
    let Some(assignment) = shared.assignment.get(&a.municipality) else {
        return Err(Rejection::new(format!(
            "data.municipality: the counsellors of {} are not configured correctly (see the start-up log)",
            a.municipality
        )));
    };
    let country = shared.country_of(&a.municipality);
    if let Some(id) = &a.applicant.national_id
        && !id.expose().is_valid_for(country, PartyKind::Person)
    {
        return Err(Rejection::new(format!(
            "data.applicant.national_id: is not a person's national id of {} (a fødselsnummer or D-number in Norway)",
            a.municipality
        )));
    }
    let today = Utc::now().date_naive();
    if a.applied_date.as_naive() > today.succ_opt().unwrap_or(today) {
        return Err(Rejection::new(format!(
            "data.applied_date: {} is in the future",
            a.applied_date
        )));
    }
    if a.applied_date.year() < 2000 {
        return Err(Rejection::new(format!(
            "data.applied_date: {} is before 2000",
            a.applied_date
        )));
    }
    Ok((m, assignment))
}

/// Serialises, across replicas, an application and invoicing's debtor updates of the same
/// person (a transaction-scoped advisory lock on PostgreSQL; SQLite has one writer).
pub async fn lock_person(
    tx: &DatabaseTransaction,
    municipality: &str,
    national_id: &str,
) -> Result<(), HandlerError> {
    let key = restance_store::advisory_key("counselling.person", &[municipality, national_id]);
    Ok(restance_store::advisory_locks(tx, vec![key]).await?)
}

/// Holds `debtor_id`'s dunning for case `case_id` from `on` (once per case and debtor).
pub async fn hold(
    tx: &DatabaseTransaction,
    out: &mut Effects,
    case_id: &str,
    municipality: &str,
    debtor_id: &str,
    on: BusinessDate,
) -> Result<(), HandlerError> {
    if holds::insert(tx, case_id, municipality, debtor_id, on).await? {
        out.emit(DunningHeld {
            case_id: case_id.to_owned(),
            municipality: municipality.to_owned(),
            debtor_id: debtor_id.to_owned(),
            from_date: on,
        })?;
        crate::metrics::hold("held", 1);
    }
    Ok(())
}

/// `selfservice.counselling.applied.v1`.
pub async fn applied(
    shared: &Shared,
    tx: &DatabaseTransaction,
    out: &mut Effects,
    source: &str,
    a: &CounsellingApplied,
) -> Result<Outcome, HandlerError> {
    Ok(match open(shared, tx, out, source, a).await? {
        Ok(Opened::New(case_id)) => {
            tracing::info!(case_id = %case_id, municipality = %a.municipality, "counselling case opened");
            Outcome::Done
        }
        Ok(Opened::Again(_)) => Outcome::Done,
        Err(r) => Outcome::Rejected(r),
    })
}
