//! What the API answers: the case, its applicant (never the national id; a protected address only to its counsellors), the list.

use super::*;

// ------------------------------------------------------------------ views

/// The applicant as the API shows them: never the national id.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ApplicantView {
    /// The municipality's id for the person.
    pub id: String,
    /// The name.
    pub name: String,
    /// The birth date from the national id, if known.
    pub birth_date: Option<BusinessDate>,
    /// Whether a national id is known.
    pub has_national_id: bool,
    /// The address: absent for a protected applicant unless the reader is a protected-case
    /// counsellor.
    pub address: Option<Address>,
    /// Whether the address is protected (code 6/7).
    pub address_protected: bool,
    /// The phone number, if given.
    pub phone: Option<String>,
    /// The e-mail address, if given.
    pub email: Option<String>,
    /// Whether letters go to the digital mailbox.
    pub digital_post: bool,
}

/// A hold on the municipality's dunning.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct HoldView {
    /// Invoicing's debtor id.
    pub debtor_id: String,
    /// From when.
    pub held_from: BusinessDate,
    /// When released, if it was.
    pub released_on: Option<BusinessDate>,
}

/// A case as the API answers it.
#[derive(Debug, Serialize, Deserialize)]
pub struct CaseView {
    /// The municipality.
    pub municipality: String,
    /// The application's id.
    pub application_id: String,
    /// The earlier case of the same person, if any ("new information?").
    pub previous_case_id: Option<String>,
    /// The applicant.
    pub applicant: ApplicantView,
    /// The case: phase, calls, meetings, creditors, debt items, notes, timeline, timers.
    pub case: Case,
    /// What the counsellor has to do, soonest first.
    pub tasks: Vec<Task>,
    /// The next day the service looks at the case by itself.
    pub next_timer: Option<BusinessDate>,
    /// The debt schedule as it stands (with the applicant's open claims in Restance).
    pub schedule: DebtSchedule,
    /// The dunning holds the case asked for.
    pub holds: Vec<HoldView>,
}

/// A case in a list.
#[derive(Debug, Serialize, Deserialize)]
pub struct CaseListEntry {
    /// The row.
    #[serde(flatten)]
    pub row: ListRow,
    /// The next due task, if any.
    pub next_task: Option<Task>,
}

/// The cases listed.
#[derive(Debug, Serialize, Deserialize)]
pub struct CaseList {
    /// By case id, at most 500.
    pub cases: Vec<CaseListEntry>,
}

pub(super) fn applicant_view(
    shared: &Shared,
    stored: &StoredCase,
    reader: Option<&Caller>,
) -> ApplicantView {
    let a = &stored.applicant;
    let protected = stored.case.routine == Routine::Protected;
    let may_see_address = !protected
        || reader.is_some_and(|c| {
            shared
                .assignment
                .get(&stored.municipality)
                .is_some_and(|asg| asg.is_protected_counsellor(&c.name))
        });
    ApplicantView {
        id: stored.applicant_id.clone(),
        name: a.name.expose().clone(),
        birth_date: a
            .national_id
            .as_ref()
            .and_then(|n| n.expose().birth_date())
            .map(BusinessDate::from),
        has_national_id: a.national_id.is_some(),
        address: may_see_address.then(|| a.address.clone()),
        address_protected: protected,
        phone: a.phone.as_ref().map(|p| p.expose().clone()),
        email: a.email.as_ref().map(|e| e.expose().clone()),
        digital_post: a.digital_post,
    }
}

/// A claim category's name in the municipality's language (the key when the catalog lacks it).
pub(super) fn category_name(shared: &Shared, municipality: &str, category: &str) -> String {
    let language = shared
        .catalog
        .municipality(municipality)
        .map_or(restance_kernel::Language::Nb, |m| m.language);
    shared
        .catalog
        .category(category)
        .map_or_else(|| category.to_owned(), |c| c.name_in(language).to_owned())
}

/// The applicant's open claims in Restance, as debt items.
pub(super) async fn restance_items(
    db: &impl ConnectionTrait,
    shared: &Shared,
    stored: &StoredCase,
) -> Result<Vec<DebtItem>, DbErr> {
    let Some(n) = stored.national_id() else {
        return Ok(Vec::new());
    };
    let debtors = invoicing::debtors_of_person(db, &stored.municipality, n).await?;
    let claims = invoicing::open_claims_of(db, &stored.municipality, &debtors).await?;
    let name = shared
        .catalog
        .municipality(&stored.municipality)
        .map_or_else(|| stored.municipality.clone(), |m| m.name.clone());
    Ok(claims
        .into_iter()
        .map(|c| DebtItem {
            source: Source::Restance,
            creditor: name.clone(),
            reference: Some(c.invoice_id),
            kind: category_name(shared, &stored.municipality, &c.category),
            balance: c.balance,
            interest: c.interest.min(c.balance),
            monthly_cost: Money::from_minor(0),
        })
        .collect())
}

pub(super) async fn view(
    db: &impl ConnectionTrait,
    shared: &Shared,
    stored: &StoredCase,
    reader: Option<&Caller>,
) -> Result<CaseView, DbErr> {
    let cal = shared.calendar(&stored.municipality);
    let rules = shared.rules(&cal);
    let today = days::latest(db)
        .await?
        .unwrap_or_else(|| today_in(shared, &stored.municipality));
    let restance = restance_items(db, shared, stored).await?;
    let holds = holds::of_case(db, &stored.case_id)
        .await?
        .into_iter()
        .map(|(debtor_id, held_from, released_on)| HoldView {
            debtor_id,
            held_from,
            released_on,
        })
        .collect();
    Ok(CaseView {
        municipality: stored.municipality.clone(),
        application_id: stored.application_id.clone(),
        previous_case_id: stored.previous_case_id.clone(),
        applicant: applicant_view(shared, stored, reader),
        tasks: stored.case.tasks(today, &rules),
        next_timer: stored.case.next_timer(today.add_days(-1), &rules),
        schedule: stored.case.schedule(restance),
        holds,
        case: stored.case.clone(),
    })
}
