//! Campaigns (issue 22, item 5; DESIGN.md names `POST /api/v1/campaigns`): one mechanism for
//! the uniform notice to company debtors, the settlement visit, the direct-debit drive and
//! general information (seeds 000, 001). Rules: [`crate::campaigns`].
//!
//! - `POST /api/v1/campaigns` — `{kind, municipality, selection: {office, category,
//!   debtor_kind, min_arrears}, deadline, visit: {dates, place, slots}, channels, title}`: a
//!   draft with its preview (debtors and arrears selected on the last business date);
//! - `GET /api/v1/campaigns`, `GET /api/v1/campaigns/{id}` — with the preview and, once sent,
//!   the outcome (paid, agreed, no response), computed on read;
//! - `POST /api/v1/campaigns/{id}/approve` — by a second caseworker (another token name than
//!   the creator's; 409 otherwise, and 409 when already sent): the selection is fixed and one
//!   `notifications.notification.requested.v1` (template `campaign_notice`) per debtor goes
//!   through the outbox in the approving transaction, under the id `cmp-<campaign>-<hash of
//!   the debtor>` so that nothing is ever sent twice; with them, once, the campaign itself as
//!   `dunning.campaign.sent.v1` (debtor and claim ids; reporting counts it and shows its
//!   outcome). A selection of more than 5000 debtors is refused (409): split it;
//! - `GET /api/v1/campaigns/{id}/list.csv` — the debtors sent to (name, claims, arrears): the
//!   settlement office manager's list for a settlement visit.
//!
//! Every write attempt is audited (`api_audit`).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use restance_contracts::messages::{
    Attachment, CampaignDebtor, CampaignKind as SentKind, CampaignSent, MAX_ATTACHMENT_BYTES,
    MAX_CAMPAIGN_DEBTORS, NotificationRequested, Party, Recipient, Related,
};
use restance_kernel::{BusinessDate, PartyKind, Redacted};
use restance_runtime::api::{ApiError, Reader, valid_id};
use restance_runtime::api_auth::Caller;
use sea_orm::{DbErr, TransactionTrait};
use serde::Serialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::{ApiState, Written, finish_write, may_write};
use crate::campaigns::{
    self, Agreement, CampaignKind, CampaignSpec, Outcome, Preview, SelectedDebtor,
};
use crate::domain::HoldKind;
use crate::store::queries::{self, CampaignClaim, CampaignDebtorRow, CampaignRow};

/// The template every campaign letter uses.
pub const TEMPLATE: &str = crate::domain::templates::CAMPAIGN_NOTICE;

/// The most campaigns one list answers.
const LIST_LIMIT: usize = 200;

/// A campaign as the API shows it.
#[derive(Debug, Serialize)]
pub struct CampaignView {
    /// `cmp-…`.
    pub campaign_id: String,
    /// `draft` or `sent`.
    pub state: String,
    /// What was asked for.
    #[serde(flatten)]
    pub spec: CampaignSpec,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_date: BusinessDate,
    /// Who approved it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    /// When (the send date).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved_date: Option<BusinessDate>,
    /// Draft: who would be selected now; sent: who was sent to.
    pub preview: Preview,
    /// Sent: what came of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
}

fn no_such(id: &str) -> ApiError {
    ApiError::not_found(format!("no campaign {id}"))
}

/// The deterministic notification id for a campaign and a debtor.
pub fn notification_id(campaign_id: &str, debtor_id: &str) -> String {
    let h = hex::encode(Sha256::digest(
        format!("{campaign_id}\n{debtor_id}").as_bytes(),
    ));
    format!("{campaign_id}-{}", &h[..16])
}

async fn selection(
    db: &impl sea_orm::ConnectionTrait,
    spec: &CampaignSpec,
    day: BusinessDate,
) -> Result<(Vec<SelectedDebtor>, Vec<CampaignClaim>), DbErr> {
    let claims = queries::arrears_claims(db, &spec.municipality, day).await?;
    let arrears: Vec<_> = claims.iter().map(|c| c.arrears.clone()).collect();
    Ok((campaigns::select(spec, day, &arrears), claims))
}

async fn view(state: &ApiState, c: CampaignRow) -> Result<CampaignView, DbErr> {
    let db = &state.db;
    let (preview, outcome) = match c.approved_date {
        None => {
            let day = queries::last_business_date(db)
                .await?
                .unwrap_or(c.created_date);
            let (selected, _) = selection(db, &c.spec, day).await?;
            (campaigns::preview(&selected), None)
        }
        Some(sent) => {
            let debtors = queries::campaign_debtors(db, &c.campaign_id).await?;
            let selected: Vec<SelectedDebtor> = debtors.iter().map(|d| d.debtor.clone()).collect();
            let all_ids: Vec<String> = selected
                .iter()
                .flat_map(|d| d.claim_ids.iter().cloned())
                .collect();
            let settled = queries::settled_claims(db, &all_ids).await?;
            let keys: Vec<queries::DebtorKey> = selected
                .iter()
                .map(|d| (c.municipality.clone(), d.debtor_id.clone()))
                .collect();
            let holds = queries::holds_of(db, &keys).await?;
            let responses = selected.iter().map(|d| {
                let agreements: Vec<Agreement> = holds
                    .iter()
                    .filter(|h| {
                        h.key.1 == d.debtor_id
                            && matches!(h.hold.kind, HoldKind::Plan | HoldKind::Deferral)
                    })
                    .map(|h| Agreement {
                        from: h.hold.from,
                        claim_ids: match &h.hold.scope {
                            crate::domain::Scope::Debtor => None,
                            crate::domain::Scope::Claims(ids) => Some(ids.clone()),
                        },
                    })
                    .collect();
                campaigns::response(
                    sent,
                    &d.claim_ids,
                    &|id: &str| settled.contains(id),
                    &agreements,
                )
            });
            let outcome = campaigns::outcome(responses.collect::<Vec<_>>());
            (campaigns::preview(&selected), Some(outcome))
        }
    };
    Ok(CampaignView {
        campaign_id: c.campaign_id,
        state: c.state,
        spec: c.spec,
        created_by: c.created_by,
        created_date: c.created_date,
        approved_by: c.approved_by,
        approved_date: c.approved_date,
        preview,
        outcome,
    })
}

/// `POST /api/v1/campaigns`.
pub(super) async fn create(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let target = "campaign:new";
    let caller = match may_write(&state, &headers, "create_campaign", target).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let spec = match serde_json::from_slice::<CampaignSpec>(&body) {
        Ok(s) => s,
        Err(e) => {
            let refusal = ApiError::bad_request(format!(
                "the body must be a campaign like {{\"kind\": \"company_notice\", \"municipality\": \"0746\", \"deadline\": \"2027-01-15\"}}: {e}"
            ));
            return finish_write(
                &state,
                &caller,
                "create_campaign",
                target,
                Ok(Written::Refused(refusal)),
            )
            .await;
        }
    };
    let result = create_in_tx(&state, &caller, spec).await;
    finish_write(&state, &caller, "create_campaign", target, result).await
}

async fn create_in_tx(
    state: &ApiState,
    caller: &Caller,
    spec: CampaignSpec,
) -> Result<Written, DbErr> {
    let tx = state.db.begin().await?;
    let day = queries::last_business_date(&tx).await?;
    let problems = spec.problems(day);
    if !problems.is_empty() {
        return Ok(Written::Refused(ApiError::bad_request(problems.join("; "))));
    }
    if state
        .shared
        .catalog
        .municipality(&spec.municipality)
        .is_none()
    {
        return Ok(Written::Refused(ApiError::bad_request(format!(
            "municipality {} is not in the catalog",
            spec.municipality
        ))));
    }
    if let Some(category) = &spec.selection.category
        && state.shared.catalog.category(category).is_none()
    {
        return Ok(Written::Refused(ApiError::bad_request(format!(
            "selection.category {category} is not in the catalog"
        ))));
    }
    if !caller.sees(&spec.municipality) {
        return Ok(Written::OutOfScope(ApiError::not_found(format!(
            "no municipality {}",
            spec.municipality
        ))));
    }
    let Some(day) = day else {
        return Ok(Written::Refused(ApiError::conflict(
            "no business day has been opened yet",
        )));
    };
    let campaign_id = format!("cmp-{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
    let row = CampaignRow {
        campaign_id: campaign_id.clone(),
        municipality: spec.municipality.clone(),
        spec,
        state: "draft".into(),
        created_by: caller.name.clone(),
        created_date: day,
        approved_by: None,
        approved_date: None,
    };
    queries::insert_campaign(&tx, &row).await?;
    let (selected, _) = selection(&tx, &row.spec, day).await?;
    let preview = campaigns::preview(&selected);
    queries::audit(
        &tx,
        &caller.name,
        &caller.role,
        "create_campaign",
        &format!("campaign:{campaign_id}"),
        "created",
        &format!(
            "{} in {}: {} debtors, {}",
            row.spec.kind.as_str(),
            row.municipality,
            preview.debtors,
            preview.total
        ),
    )
    .await?;
    tx.commit().await?;
    let body = view(state, row).await?;
    Ok(Written::Ok(
        StatusCode::CREATED,
        serde_json::to_value(body).unwrap_or(Value::Null),
    ))
}

/// `GET /api/v1/campaigns`.
pub(super) async fn list(State(state): State<ApiState>, reader: Reader) -> Response {
    let rows = match queries::campaigns(&state.db, reader.municipalities(), LIST_LIMIT).await {
        Ok(r) => r,
        Err(e) => return ApiError::unavailable(&e).into_response(),
    };
    let mut out = Vec::new();
    for r in rows {
        match view(&state, r).await {
            Ok(v) => out.push(v),
            Err(e) => return ApiError::unavailable(&e).into_response(),
        }
    }
    axum::Json(json!({"campaigns": out})).into_response()
}

async fn visible(state: &ApiState, reader: &Reader, id: &str) -> Result<CampaignRow, ApiError> {
    if !valid_id(id) {
        return Err(ApiError::bad_request(
            "campaign id must be 1–100 characters",
        ));
    }
    queries::campaign(&state.db, id, false)
        .await?
        .filter(|c| reader.sees(&c.municipality))
        .ok_or_else(|| no_such(id))
}

/// `GET /api/v1/campaigns/{id}`.
pub(super) async fn one(
    State(state): State<ApiState>,
    reader: Reader,
    Path(id): Path<String>,
) -> Response {
    let c = match visible(&state, &reader, &id).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    match view(&state, c).await {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => ApiError::unavailable(&e).into_response(),
    }
}

fn cell(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@']) {
        format!("'{v}")
    } else {
        v.to_owned()
    };
    format!("\"{}\"", v.replace('"', "\"\""))
}

/// `GET /api/v1/campaigns/{id}/list.csv`: the debtors sent to.
pub(super) async fn list_csv(
    State(state): State<ApiState>,
    reader: Reader,
    Path(id): Path<String>,
) -> Response {
    let c = match visible(&state, &reader, &id).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    if c.state != "sent" {
        return ApiError::conflict(format!("campaign {id} is not sent yet")).into_response();
    }
    match office_list(&state, &c).await {
        Ok(csv) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"campaign.csv\"",
                ),
            ],
            csv,
        )
            .into_response(),
        Err(e) => ApiError::unavailable(&e).into_response(),
    }
}

/// The list of the debtors sent to: debtor id, name (when invoicing announced it), claims,
/// arrears. No national id and no address.
async fn office_list(state: &ApiState, c: &CampaignRow) -> Result<String, DbErr> {
    let debtors: Vec<SelectedDebtor> = queries::campaign_debtors(&state.db, &c.campaign_id)
        .await?
        .into_iter()
        .map(|d| d.debtor)
        .collect();
    debtor_list(&state.db, &c.campaign_id, &c.municipality, &debtors).await
}

async fn debtor_list(
    db: &impl sea_orm::ConnectionTrait,
    campaign_id: &str,
    municipality: &str,
    debtors: &[SelectedDebtor],
) -> Result<String, DbErr> {
    let keys: Vec<queries::DebtorKey> = debtors
        .iter()
        .map(|d| (municipality.to_owned(), d.debtor_id.clone()))
        .collect();
    let details = queries::debtor_details(db, &keys).await?;
    let mut out = String::from("campaign_id,debtor_id,name,claim_ids,arrears\r\n");
    for d in debtors {
        let name = details
            .get(&(municipality.to_owned(), d.debtor_id.clone()))
            .map(|x| x.name.expose().clone())
            .unwrap_or_default();
        let fields = [
            campaign_id.to_owned(),
            d.debtor_id.clone(),
            name,
            d.claim_ids.join(" "),
            d.arrears.to_string(),
        ];
        out.push_str(&fields.iter().map(|f| cell(f)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    Ok(out)
}

/// The settlement office manager's e-mail (template `campaign_office_list`, the list as CSV attached)
/// for a settlement visit to an office with a configured manager; `None` otherwise.
async fn manager_mail(
    state: &ApiState,
    tx: &impl sea_orm::ConnectionTrait,
    c: &CampaignRow,
    selected: &[SelectedDebtor],
) -> Result<Option<NotificationRequested>, DbErr> {
    if c.spec.kind != CampaignKind::SettlementVisit {
        return Ok(None);
    }
    let Some(office) = c.spec.selection.office.as_deref() else {
        return Ok(None);
    };
    let Some(manager) = state.shared.campaigns.manager(&c.municipality, office) else {
        return Ok(None);
    };
    let municipality = state.shared.catalog.municipality(&c.municipality);
    let language = municipality.map(|m| m.language);
    let csv = debtor_list(tx, &c.campaign_id, &c.municipality, selected).await?;
    let file = format!("{}-{office}.csv", c.campaign_id);
    let list_path = format!("/api/v1/campaigns/{}/list.csv", c.campaign_id);
    let (attachments, location) = if csv.len() <= MAX_ATTACHMENT_BYTES {
        (
            vec![Attachment::from_bytes(
                file.clone(),
                "text/csv; charset=utf-8",
                csv.as_bytes(),
            )],
            None,
        )
    } else {
        (Vec::new(), Some(list_path))
    };
    let place = c.spec.visit.as_ref().map_or("", |v| v.place.as_str());
    let dates = c.spec.visit.as_ref().map_or_else(String::new, |v| {
        v.dates
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    });
    let mut data = Map::new();
    data.insert("visit_place".into(), json!(place));
    data.insert("visit_dates".into(), json!(dates));
    data.insert("debtor_count".into(), json!(selected.len()));
    if attachments.is_empty() {
        data.insert("location".into(), json!(location));
    } else {
        data.insert("attached_files".into(), json!(file));
    }
    let name = manager
        .manager_name
        .clone()
        .or_else(|| {
            municipality
                .and_then(|m| m.offices.get(office))
                .map(|o| o.name.clone())
        })
        .unwrap_or_else(|| office.to_owned());
    Ok(Some(NotificationRequested {
        notification_id: format!("{}-office", c.campaign_id),
        municipality: c.municipality.clone(),
        office: Some(office.to_owned()),
        template: "campaign_office_list".into(),
        language,
        recipient: Recipient::Party(Party {
            name: Redacted::new(name),
            party_kind: PartyKind::Company,
            national_id: None,
            address: None,
            email: Some(Redacted::new(manager.manager_email.trim().to_owned())),
            phone: None,
            language,
            address_protection: None,
        }),
        data: Value::Object(data),
        related: Related {
            service: Some("dunning".into()),
            claim_ids: Vec::new(),
            debtor_id: None,
            case_id: Some(c.campaign_id.clone()),
        },
        attachments,
    }))
}

/// `POST /api/v1/campaigns/{id}/approve`.
pub(super) async fn approve(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let target = format!("campaign:{id}");
    let caller = match may_write(&state, &headers, "approve_campaign", &target).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    if !valid_id(&id) {
        return ApiError::bad_request("campaign id must be 1–100 characters").into_response();
    }
    let result = approve_in_tx(&state, &caller, &id).await;
    finish_write(&state, &caller, "approve_campaign", &target, result).await
}

/// The letter's `data` for one debtor.
fn letter_data(
    state: &ApiState,
    spec: &CampaignSpec,
    day: BusinessDate,
    debtor: &SelectedDebtor,
    claims: &[&CampaignClaim],
) -> Value {
    let catalog = &state.shared.catalog;
    let language = catalog.municipality(&spec.municipality).map(|m| m.language);
    let mut lines = Vec::new();
    let mut sorted: Vec<&&CampaignClaim> = claims.iter().collect();
    sorted.sort_by(|a, b| {
        (a.arrears.due_date, &a.arrears.claim_id).cmp(&(b.arrears.due_date, &b.arrears.claim_id))
    });
    for c in &sorted {
        let text = match (catalog.category(&c.arrears.category), language) {
            (Some(k), Some(l)) => k.name_in(l).to_owned(),
            _ => c.arrears.category.clone(),
        };
        lines.push(json!({
            "invoice_id": c.invoice_id,
            "text": text,
            "due_date": c.arrears.due_date,
            "amount": c.arrears.open,
        }));
    }
    let currency = sorted
        .first()
        .map(|c| c.currency)
        .or_else(|| catalog.municipality(&spec.municipality).map(|m| m.currency));
    let legal_basis = sorted
        .first()
        .and_then(|c| {
            state
                .shared
                .policies
                .resolve(&spec.municipality, &c.arrears.category, day)
                .ok()
                .map(|r| r.table.fee_legal_basis.clone())
        })
        .unwrap_or_default();
    let mut data = Map::new();
    data.insert("kind".into(), json!(spec.kind.as_str()));
    data.insert("claims".into(), Value::Array(lines));
    data.insert("total".into(), json!(debtor.arrears));
    data.insert("currency".into(), json!(currency));
    data.insert("legal_basis".into(), json!(legal_basis));
    if let Some(title) = &spec.title {
        data.insert("title".into(), json!(title));
    }
    if let Some(deadline) = spec.deadline {
        data.insert("deadline".into(), json!(deadline));
    }
    if let Some(visit) = &spec.visit {
        data.insert("visit_place".into(), json!(visit.place));
        data.insert(
            "visit_dates".into(),
            Value::Array(
                visit
                    .dates
                    .iter()
                    .map(|d| match &visit.slots {
                        Some(s) => json!({"date": d, "slots": s}),
                        None => json!({"date": d}),
                    })
                    .collect(),
            ),
        );
    }
    if spec.kind == CampaignKind::DirectDebit {
        let norway = currency.is_some_and(|c| c.code() == "NOK");
        data.insert(
            "signup".into(),
            json!(if norway {
                "avtalegiro"
            } else {
                "betalingsservice"
            }),
        );
    }
    Value::Object(data)
}

/// The contract's name for a campaign's kind.
fn sent_kind(kind: CampaignKind) -> SentKind {
    match kind {
        CampaignKind::CompanyNotice => SentKind::CompanyNotice,
        CampaignKind::SettlementVisit => SentKind::SettlementVisit,
        CampaignKind::DirectDebit => SentKind::DirectDebit,
        CampaignKind::Information => SentKind::Information,
    }
}

/// The campaign's notice to each selected debtor (of their claims in `claims`), emitted into
/// `effects`; the rows that record who was sent what.
fn notices(
    state: &ApiState,
    c: &CampaignRow,
    day: BusinessDate,
    selected: &[SelectedDebtor],
    claims: &[CampaignClaim],
    effects: &mut restance_bus::Effects,
) -> Result<Vec<CampaignDebtorRow>, DbErr> {
    let office = c.spec.selection.office.clone();
    let mut rows = Vec::with_capacity(selected.len());
    for d in selected {
        let mine: Vec<&CampaignClaim> = claims
            .iter()
            .filter(|k| d.claim_ids.contains(&k.arrears.claim_id))
            .collect();
        let notification_id = notification_id(&c.campaign_id, &d.debtor_id);
        let claim_office = office
            .clone()
            .or_else(|| mine.first().map(|k| k.arrears.office.clone()));
        effects
            .emit(NotificationRequested {
                notification_id: notification_id.clone(),
                municipality: c.municipality.clone(),
                office: claim_office,
                template: TEMPLATE.into(),
                language: None,
                recipient: Recipient::Debtor {
                    debtor_id: d.debtor_id.clone(),
                },
                data: letter_data(state, &c.spec, day, d, &mine),
                related: Related {
                    service: Some("dunning".into()),
                    claim_ids: d.claim_ids.clone(),
                    debtor_id: Some(d.debtor_id.clone()),
                    case_id: Some(c.campaign_id.clone()),
                },
                attachments: Vec::new(),
            })
            .map_err(|e| DbErr::Custom(e.to_string()))?;
        rows.push(CampaignDebtorRow {
            debtor: d.clone(),
            notification_id,
        });
    }
    Ok(rows)
}

async fn approve_in_tx(state: &ApiState, caller: &Caller, id: &str) -> Result<Written, DbErr> {
    let tx = state.db.begin().await?;
    let Some(c) = queries::campaign(&tx, id, true).await? else {
        return Ok(Written::Refused(no_such(id)));
    };
    if !caller.sees(&c.municipality) {
        return Ok(Written::OutOfScope(no_such(id)));
    }
    if c.state != "draft" {
        return Ok(Written::Refused(ApiError::conflict(format!(
            "campaign {id} is {}, not a draft: it was approved by {} and is not sent again",
            c.state,
            c.approved_by.as_deref().unwrap_or("-")
        ))));
    }
    if c.created_by == caller.name {
        return Ok(Written::Refused(ApiError::conflict(format!(
            "campaign {id} was created by {}: a second caseworker must approve it",
            caller.name
        ))));
    }
    let Some(day) = queries::last_business_date(&tx).await? else {
        return Ok(Written::Refused(ApiError::conflict(
            "no business day has been opened yet",
        )));
    };
    if !queries::approve_campaign(&tx, id, &caller.name, day).await? {
        return Ok(Written::Refused(ApiError::conflict(format!(
            "campaign {id} is not a draft any more"
        ))));
    }
    let (selected, claims) = selection(&tx, &c.spec, day).await?;
    if selected.len() > MAX_CAMPAIGN_DEBTORS {
        return Ok(Written::Refused(ApiError::conflict(format!(
            "campaign {id} selects {} debtors, more than {MAX_CAMPAIGN_DEBTORS}: narrow the selection",
            selected.len()
        ))));
    }
    let mut effects = restance_bus::Effects::new(state.source.clone());
    let rows = notices(state, &c, day, &selected, &claims, &mut effects)?;
    queries::insert_campaign_debtors(&tx, id, &rows).await?;
    // Reporting counts the campaign among the measures taken and shows its outcome: in the same
    // transaction as the notices, once (a second approval is a 409 above).
    if !selected.is_empty() {
        effects
            .emit(CampaignSent {
                campaign_id: id.to_owned(),
                municipality: c.municipality.clone(),
                kind: sent_kind(c.spec.kind),
                sent_date: day,
                debtors: selected
                    .iter()
                    .map(|d| CampaignDebtor {
                        debtor_id: d.debtor_id.clone(),
                        claim_ids: d.claim_ids.clone(),
                    })
                    .collect(),
            })
            .map_err(|e| DbErr::Custom(e.to_string()))?;
    }
    let told = match manager_mail(state, &tx, &c, &selected).await? {
        Some(mail) => {
            effects
                .emit(mail)
                .map_err(|e| DbErr::Custom(e.to_string()))?;
            true
        }
        None => false,
    };
    let preview = campaigns::preview(&selected);
    queries::audit(
        &tx,
        &caller.name,
        &caller.role,
        "approve_campaign",
        &format!("campaign:{id}"),
        "sent",
        &format!("{} debtors, {}", preview.debtors, preview.total),
    )
    .await?;
    state.outbox.enqueue(&tx, &effects.into_messages()).await?;
    tx.commit().await?;
    state.outbox.wake();
    Ok(Written::Ok(
        StatusCode::OK,
        json!({
            "campaign_id": id,
            "state": "sent",
            "approved_by": caller.name,
            "approved_date": day,
            "sent": preview.debtors,
            "total": preview.total,
            "office_manager_told": told,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notification_ids_are_per_campaign_and_debtor() {
        let a = notification_id("cmp-1", "d1");
        assert_eq!(a, notification_id("cmp-1", "d1"));
        assert_ne!(a, notification_id("cmp-1", "d2"));
        assert_ne!(a, notification_id("cmp-2", "d1"));
        assert!(a.len() <= 100);
    }

    #[test]
    fn csv_cells_are_quoted_and_formulas_neutralised() {
        assert_eq!(cell("=SUM(A1)"), "\"'=SUM(A1)\"");
        assert_eq!(cell("a\"b"), "\"a\"\"b\"");
    }
}
