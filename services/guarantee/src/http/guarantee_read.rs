//! `GET /api/v1/guarantees/{id}`: a guarantee with its history, linked benefits, what is recoverable and its case (national ids never answered).

use super::*;

#[derive(Debug, Deserialize)]
pub(super) struct GuaranteeQuery {
    as_of: Option<BusinessDate>,
}

/// A person of the guarantee, without the national id.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PersonView {
    /// The birth date from the national id (`None` when it does not tell one).
    pub birth_date: Option<BusinessDate>,
}

/// The guarantor, without the national id, the address or the contact details.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct GuarantorView {
    /// The upstream id of the party.
    pub id: String,
    /// `person` or `company`.
    pub kind: String,
    /// The name.
    pub name: String,
    /// A person's birth date (`None` for a company).
    pub birth_date: Option<BusinessDate>,
}

/// One change in the history.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChangeView {
    /// What happened.
    pub reason: crate::domain::GuaranteeChangeReason,
    /// The first day it applies.
    pub effective_date: BusinessDate,
    /// The guaranteed amount from then, if the change states one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_amount: Option<Money>,
}

/// When and why the guarantee ends.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct EndingView {
    /// The first day it is no longer in force.
    pub from: BusinessDate,
    /// `binding_period_end`, or the reason of the change that ends it.
    pub cause: String,
}

/// A benefit linked to the guarantee.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct BenefitView {
    /// The benefits system.
    pub source: String,
    /// Its id for the payment.
    pub benefit_id: String,
    /// The act.
    pub law: BenefitLaw,
    /// The amount paid.
    pub amount: Money,
    /// The day it was paid.
    pub paid_date: BusinessDate,
    /// The recipient's role in the guarantee.
    pub role: Role,
    /// Recovered from this guarantee.
    pub recoverable: bool,
    /// Reported to the immigration service.
    pub reported: bool,
    /// Why it is not recovered from this guarantee.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_recoverable_reason: Option<NotRecoverableReason>,
}

/// What expires within the watch window.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExpiringView {
    /// The window in days.
    pub within_days: u32,
    /// The last deadline it reaches.
    pub horizon: BusinessDate,
    /// The payments expiring by then and what a claim would lose.
    #[serde(flatten)]
    pub at_risk: AtRisk,
}

/// The guarantee view.
#[derive(Debug, Serialize)]
pub struct GuaranteeView {
    /// The immigration authority's id.
    pub guarantee_id: String,
    /// The municipality that recovers from it.
    pub municipality: String,
    /// The system that registered it.
    pub source: String,
    /// The immigration authority's PersonID for the spouse.
    pub person_id: String,
    /// The resident who provided it.
    pub resident: PersonView,
    /// The reunified spouse.
    pub spouse: PersonView,
    /// Who stands behind it.
    pub guarantor: GuarantorView,
    /// The bank holding the amount (a company: shown as registered).
    pub bank: serde_json::Value,
    /// The registered amount.
    pub amount: Money,
    /// The first day it is in force.
    pub registered_on: BusinessDate,
    /// The last day of the binding period.
    pub binding_period_end: BusinessDate,
    /// Whether benefits to either person are reported.
    pub maintenance_requirement: bool,
    /// Every change, by effective date.
    pub history: Vec<ChangeView>,
    /// When and why it ends.
    pub ends: EndingView,
    /// The day the figures below are for.
    pub as_of: BusinessDate,
    /// Whether it is in force that day.
    pub in_force: bool,
    /// The guaranteed amount that day (the cap of a claim).
    pub amount_as_of: Money,
    /// The benefits linked to it, oldest paid first.
    pub benefits: Vec<BenefitView>,
    /// What a claim raised that day would recover, with its breakdown per payment.
    pub recoverable: Recovery,
    /// What expires within the watch window.
    pub expiring: ExpiringView,
    /// The guarantee's recovery case with its steps (`None`: no recovery raised).
    pub case: Option<CaseView>,
}

pub(super) async fn guarantee(
    State(state): State<ApiState>,
    reader: Reader,
    Path(id): Path<String>,
    Query(q): Query<GuaranteeQuery>,
) -> Result<Json<GuaranteeView>, ApiError> {
    if !valid_id(&id) {
        return Err(ApiError::bad_request(
            "guarantee id must be 1–100 characters",
        ));
    }
    let db = &state.db;
    let stored = guarantees::find(db, &id)
        .await?
        .filter(|g| reader.sees(&g.municipality))
        .ok_or_else(|| ApiError::not_found(NOT_FOUND))?;
    // The view shows a guarantor and the benefits paid to a family: it is served only once the
    // reading is in the audit trail.
    let (caller, role) = caller_of(&reader);
    audit::record(
        db,
        caller,
        role,
        "read_guarantee",
        &format!("guarantee:{}", stored.guarantee_id),
        "done",
        "",
    )
    .await?;
    let guarantee = guarantees::load(db, &stored).await?;
    let linked = benefits::of_guarantee(db, &id).await?;
    let as_of = match q.as_of {
        Some(day) => day,
        None => days::latest(db).await?.unwrap_or_else(today),
    };
    let shared = &state.shared;
    let payments = recoverable_payments(&guarantee, &linked);
    let recovery = recoverable(&guarantee, &payments, &shared.limitation, as_of);
    let until = horizon(
        shared.limitation.calendar(),
        as_of,
        shared.watch.within_days,
    );
    let expiring = at_risk(
        guarantee.amount_on(as_of),
        &payments,
        &shared.limitation,
        as_of,
        until,
    );
    let case = match reads::case_of_guarantee(db, &id).await? {
        Some(case_id) => cases::load(db, &case_id).await?.map(case_view),
        None => None,
    };
    let ending = guarantee.ending();
    let registration = stored.registration;
    let guarantor = stored.guarantor.expose();
    let text = |key: &str| guarantor[key].as_str().unwrap_or_default().to_owned();
    Ok(Json(GuaranteeView {
        resident: person(stored.resident_national_id.expose()),
        spouse: person(stored.spouse_national_id.expose()),
        guarantor: GuarantorView {
            id: text("id"),
            kind: text("kind"),
            name: text("name"),
            birth_date: person(&text("national_id")).birth_date,
        },
        guarantee_id: stored.guarantee_id,
        municipality: stored.municipality,
        source: stored.source,
        person_id: stored.person_id,
        bank: stored.bank,
        amount: registration.amount,
        registered_on: registration.registered_on,
        binding_period_end: registration.binding_period_end,
        maintenance_requirement: registration.maintenance_requirement,
        history: guarantee.history().iter().map(change_view).collect(),
        ends: EndingView {
            from: ending.from,
            cause: match ending.cause {
                EndCause::BindingPeriodEnd => "binding_period_end".to_owned(),
                EndCause::Change(reason) => crate::store::queries::word(&reason),
            },
        },
        as_of,
        in_force: guarantee.in_force_on(as_of),
        amount_as_of: guarantee.amount_on(as_of),
        benefits: linked.into_iter().map(benefit_view).collect(),
        recoverable: recovery,
        expiring: ExpiringView {
            within_days: shared.watch.within_days,
            horizon: until,
            at_risk: expiring,
        },
        case,
    }))
}

/// The payments recoverable from `guarantee`: the spouse's benefits classified recoverable from
/// it, paid on a day the guarantee is in force by its history as it stands now (a change that
/// arrived after a benefit and ends the guarantee before its paid date takes it out).
pub fn recoverable_payments(
    guarantee: &Guarantee,
    linked: &[LinkedBenefit],
) -> Vec<RecoverablePayment> {
    linked
        .iter()
        .filter(|b| b.recoverable && b.role == Role::Spouse)
        .filter(|b| guarantee.in_force_on(b.paid_date))
        .map(|b| RecoverablePayment {
            benefit_id: b.benefit_id.clone(),
            law: b.law,
            paid_date: b.paid_date,
            amount: b.amount,
        })
        .collect()
}

pub(super) fn person(national_id: &str) -> PersonView {
    PersonView {
        birth_date: NationalId::parse_any(national_id)
            .ok()
            .and_then(|n| n.birth_date())
            .map(BusinessDate::from),
    }
}

pub(super) fn change_view(c: &Change) -> ChangeView {
    ChangeView {
        reason: c.reason,
        effective_date: c.effective,
        new_amount: c.new_amount,
    }
}

pub(super) fn benefit_view(b: LinkedBenefit) -> BenefitView {
    BenefitView {
        source: b.source,
        benefit_id: b.benefit_id,
        law: b.law,
        amount: b.amount,
        paid_date: b.paid_date,
        role: b.role,
        recoverable: b.recoverable,
        reported: b.reported,
        not_recoverable_reason: b.not_recoverable_reason,
    }
}

/// Today's date in Copenhagen: the day before any business day was opened.
pub(super) fn today() -> BusinessDate {
    Utc::now()
        .with_timezone(&Country::Dk.time_zone())
        .date_naive()
        .into()
}
