//! `notifications.notification.requested.v1`: check it, record it under its natural key
//! (`notification_id`; a redelivery or a duplicate has no second effect), then plan it — or park
//! it while the debtor it concerns is not in the contact directory yet.
//!
//! Planning decides, once, for each configured channel of the template: the route (or the
//! reason it cannot be used — published at once as `notifications.delivery.failed.v1`, while
//! the other channels still go), the language, the letter date and the data after address
//! protection. The result is one delivery row per `(notification_id, channel)`.
//!
//! A request's `attachments` are decoded and stored once, with the notification (table
//! `attachments`; the stored request JSON leaves them out). Only the e-mail channel sends them:
//! a letter or SMS of the same notification goes without them, and a request whose template has
//! no e-mail channel configured is planned as usual with the files unused (logged). They count
//! in the content hash, so the same notification id with other files is refused like any other
//! conflicting re-send.

use crate::config::Channel;
use crate::domain::channels::{Route, plan_routes};
use crate::domain::contact::{Contact, address_fragments};
use crate::domain::ids::{clean_reason, json_error};
use crate::domain::plan::{DeliveryPlan, PlannedRoute};
use crate::domain::protection::{must_scrub, scrub};
use crate::domain::timing::{local_date, time_zone};
use crate::state::Shared;
use crate::store::queries::{self, AttachmentRow, NewDelivery, NewNotification};
use chrono::{DateTime, Utc};
use restance_bus::{Effects, HandlerError, Outcome, Rejection};
use restance_contracts::Problem;
use restance_contracts::messages::{
    Debtor, DeliveryChannel, DeliveryFailed, NotificationRequested, Recipient,
};
use restance_kernel::{BusinessDate, Municipality, Redacted};
use sea_orm::{DatabaseTransaction, DbErr};
use sha2::{Digest, Sha256};

/// Where a request stands before planning.
pub const STATE_NEW: &str = "new";
/// Waiting for the debtor's details.
pub const STATE_PARKED: &str = "parked";
/// Deliveries planned.
pub const STATE_PLANNED: &str = "planned";
/// Gave up before planning (e.g. the debtor never became known).
pub const STATE_FAILED: &str = "failed";

/// Everything wrong with a request that the request alone shows (with the configuration):
/// unknown municipality, office or template, missing or ill-typed template data. Paths are
/// rooted at the envelope's `data`, so the template's own fields are under `data.data`.
pub fn request_problems(shared: &Shared, req: &NotificationRequested) -> Vec<Problem> {
    let mut out = Vec::new();
    match shared.catalog.municipality(&req.municipality) {
        None => out.push(Problem::new(
            "data.municipality",
            "is not a configured municipality",
        )),
        Some(m) => {
            if let Some(office) = &req.office
                && !m.has_office(office)
            {
                out.push(Problem::new(
                    "data.office",
                    format!("is not an office of municipality {}", req.municipality),
                ));
            }
        }
    }
    if !shared.renderer.has_template(&req.template)
        || !shared.config.templates.contains_key(&req.template)
    {
        out.push(Problem::new(
            "data.template",
            format!(
                "is not a known template (the templates are: {})",
                shared.renderer.template_ids().join(", ")
            ),
        ));
        return out;
    }
    for problem in shared.renderer.check_data(&req.template, &req.data) {
        let (path, message) = problem
            .split_once(": ")
            .unwrap_or(("data", problem.as_str()));
        out.push(Problem::new(format!("data.{path}"), message));
    }
    if let Some(v) = req.data.get("letter_date")
        && !v.is_null()
        && v.as_str()
            .and_then(|s| s.parse::<BusinessDate>().ok())
            .is_none()
    {
        out.push(Problem::new(
            "data.data.letter_date",
            "must be a date like \"2026-12-15\"",
        ));
    }
    out
}

/// The request as stored (without its attachments' content, which goes to its own table) and
/// the hash of the whole request (attachments included).
fn content_hash(req: &NotificationRequested) -> Result<(String, String), HandlerError> {
    let serialise = |r: &NotificationRequested| {
        serde_json::to_string(r)
            .map_err(|e| HandlerError::Other(format!("cannot serialise a request: {e}")))
    };
    let json = serialise(req)?;
    let hash = hex::encode(Sha256::digest(json.as_bytes()));
    if req.attachments.is_empty() {
        return Ok((json, hash));
    }
    let without = NotificationRequested {
        attachments: Vec::new(),
        ..req.clone()
    };
    Ok((serialise(&without)?, hash))
}

/// The request's attachments, decoded (the contract validated them, so they decode).
fn attachment_rows(req: &NotificationRequested) -> Result<Vec<AttachmentRow>, HandlerError> {
    req.attachments
        .iter()
        .map(|a| {
            Ok(AttachmentRow {
                name: a.name.clone(),
                media_type: a.media_type.clone(),
                content: a.content().ok_or_else(|| {
                    HandlerError::Other(format!(
                        "attachment {} of notification {} is not base64 after validation",
                        a.name, req.notification_id
                    ))
                })?,
            })
        })
        .collect()
}

/// Handles one request; the flag says whether deliveries were planned (wake the worker).
pub async fn accept(
    tx: &DatabaseTransaction,
    shared: &Shared,
    req: &NotificationRequested,
    effects: &mut Effects,
) -> Result<(Outcome, bool), HandlerError> {
    let problems = request_problems(shared, req);
    if !problems.is_empty() {
        return Ok((
            Outcome::Rejected(Rejection::from_problems(
                "invalid notification request",
                problems,
            )),
            false,
        ));
    }
    let (json, hash) = content_hash(req)?;
    // A letter to a debtor needs the debtor's details; a letter to a party about a debtor needs
    // the debtor's address protection. Either waits until invoicing has told us about them.
    let waits_for = match &req.recipient {
        Recipient::Debtor { debtor_id } => Some(debtor_id.as_str()),
        Recipient::Party(_) => req.related.debtor_id.as_deref(),
    };
    // Before the details are read: a replica storing them at this moment either committed
    // (we read them and plan) or waits for us (it finds the request parked and plans it).
    if let Some(debtor_id) = waits_for {
        queries::lock_debtor(tx, &req.municipality, debtor_id).await?;
    }
    if let Some(known) = queries::notification_hash(tx, &req.notification_id).await? {
        return Ok((already_received(req, &known, &hash), false));
    }
    let debtor = match waits_for {
        Some(id) => load_debtor(tx, &req.municipality, id).await?,
        None => None,
    };
    let now_ms = shared.clock.now_ms();
    let parked = waits_for.is_some() && debtor.is_none();
    let timeout_ms =
        i64::try_from(shared.config.parked_timeout_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    let inserted = queries::insert_notification(
        tx,
        &NewNotification {
            notification_id: &req.notification_id,
            municipality: &req.municipality,
            template: &req.template,
            content_hash: &hash,
            request: &json,
            state: if parked { STATE_PARKED } else { STATE_NEW },
            waiting_for: waits_for,
            received_ms: now_ms,
            park_deadline_ms: parked.then(|| now_ms.saturating_add(timeout_ms)),
            debtor_id: waits_for,
        },
    )
    .await?;
    if !inserted {
        // Another replica recorded the same id after our look (a duplicate under another
        // message id, handled at the same moment): its transaction has committed now, so its
        // hash says whether this is a duplicate or a conflicting re-send.
        let known = queries::notification_hash(tx, &req.notification_id)
            .await?
            .unwrap_or_default();
        return Ok((already_received(req, &known, &hash), false));
    }
    if !req.attachments.is_empty() {
        queries::insert_attachments(tx, &req.notification_id, &attachment_rows(req)?).await?;
        let by_email = shared
            .config
            .templates
            .get(&req.template)
            .is_some_and(|t| t.channels.contains(&Channel::Email));
        if !by_email {
            tracing::warn!(notification_id = %req.notification_id, template = %req.template,
                attachments = req.attachments.len(),
                "the request carries attachments but its template is not sent by e-mail: the files are not sent");
        }
    }
    if parked {
        metrics::counter!("restance_notifications_requests_total", "outcome" => "parked")
            .increment(1);
        tracing::info!(notification_id = %req.notification_id, template = %req.template,
            debtor_id = waits_for.unwrap_or_default(),
            "debtor not in the contact directory yet: request parked until invoicing.debtor.updated.v1");
        return Ok((Outcome::Done, false));
    }
    let planned = plan(tx, shared, req, debtor.as_ref(), STATE_NEW, effects).await?;
    Ok((Outcome::Done, planned))
}

/// A request whose id is known already (`known`: the stored content hash): a duplicate is done
/// (nothing sent again), other content under the same id is refused.
fn already_received(req: &NotificationRequested, known: &str, hash: &str) -> Outcome {
    if known == hash {
        metrics::counter!("restance_notifications_requests_total", "outcome" => "duplicate")
            .increment(1);
        tracing::info!(notification_id = %req.notification_id, "notification already received; nothing sent again");
        Outcome::Done
    } else {
        Outcome::Rejected(Rejection::new(format!(
            "notification {} was already received with different content; a new notification needs a new notification_id",
            req.notification_id
        )))
    }
}

/// The stored details of a debtor.
pub async fn load_debtor(
    tx: &DatabaseTransaction,
    municipality: &str,
    debtor_id: &str,
) -> Result<Option<Debtor>, HandlerError> {
    match queries::contact(tx, municipality, debtor_id).await? {
        None => Ok(None),
        Some(json) => serde_json::from_str(&json).map(Some).map_err(|e| {
            HandlerError::Other(format!(
                "the stored details of debtor {debtor_id} are unreadable: {}",
                json_error(&e)
            ))
        }),
    }
}

/// Plans a request whose debtor (if it concerns one) is known: one delivery row per configured
/// channel, a failure event for each channel that cannot be used. Moves the notification from
/// `from` to `planned`; returns whether anything is left to send (false also when another path
/// planned or failed it first).
pub async fn plan(
    tx: &DatabaseTransaction,
    shared: &Shared,
    req: &NotificationRequested,
    debtor: Option<&Debtor>,
    from: &str,
    effects: &mut Effects,
) -> Result<bool, HandlerError> {
    let Some((m, channels)) = resolve(tx, shared, req, from, effects).await? else {
        return Ok(false);
    };
    let (contact, recipient_is_party) = match (&req.recipient, debtor) {
        (Recipient::Debtor { .. }, Some(d)) => (Contact::from_debtor(d), false),
        (Recipient::Party(p), _) => (Contact::from_party(p), true),
        (Recipient::Debtor { debtor_id }, None) => {
            return Err(HandlerError::Other(format!(
                "planning notification {} without the details of debtor {debtor_id}",
                req.notification_id
            )));
        }
    };

    // Address protection: scrub the data before anything is rendered from it.
    let mut data = req.data.clone();
    let mut redactions = Vec::new();
    if let Some(d) = debtor
        && must_scrub(recipient_is_party, Some(d.address_protection))
    {
        redactions = scrub(&mut data, &address_fragments(&d.address));
    }
    let data_problems = shared.renderer.check_data(&req.template, &data);

    let now = shared.clock.now();
    let letter_date = letter_date(tx, &data, m, now).await?;
    let language = req.language.or(contact.language).unwrap_or(m.language);
    let attach_pdf = attach_pdf(shared, &req.template);

    let redactions_json =
        (!redactions.is_empty()).then(|| serde_json::to_string(&redactions).unwrap_or_default());
    if !queries::set_notification_state(
        tx,
        &req.notification_id,
        from,
        STATE_PLANNED,
        redactions_json.as_deref(),
    )
    .await?
    {
        return Ok(false);
    }

    let routes = plan_routes(&channels, &contact, shared.sms_enabled);
    let now_ms = now.timestamp_millis();
    let mut pending = 0usize;
    let mut failed = 0usize;
    for (channel, route) in routes {
        let route = if data_problems.is_empty() {
            route
        } else {
            Err(format!(
                "the template needs data that address protection removed: {}",
                data_problems.join("; ")
            ))
        };
        let planned_route = route.map(|r| match r {
            Route::Letter(c) => PlannedRoute::Letter { channel: c },
            Route::Sms(msisdn) => PlannedRoute::Sms {
                msisdn: Redacted(msisdn),
            },
            Route::Email => PlannedRoute::Email { attach_pdf },
        });
        let delivery_plan = DeliveryPlan {
            notification_id: req.notification_id.clone(),
            municipality: req.municipality.clone(),
            office: req.office.clone(),
            template: req.template.clone(),
            language,
            letter_date,
            data: data.clone(),
            related: req.related.clone(),
            contact: contact.clone(),
            route: planned_route
                .clone()
                .unwrap_or(PlannedRoute::Email { attach_pdf: false }),
            traceparent: restance_bus::trace::current_traceparent(),
        };
        let plan_json = serde_json::to_string(&delivery_plan)
            .map_err(|e| HandlerError::Other(format!("cannot serialise a plan: {e}")))?;
        let error = planned_route.as_ref().err().map(|r| clean_reason(r));
        let inserted = queries::insert_delivery(
            tx,
            &NewDelivery {
                notification_id: &req.notification_id,
                channel: channel.as_str(),
                municipality: &req.municipality,
                template: &req.template,
                status: if error.is_some() { "failed" } else { "pending" },
                due_ms: now_ms,
                plan: &plan_json,
                error: error.as_deref(),
            },
        )
        .await?;
        if !inserted {
            continue;
        }
        match error {
            None => pending += 1,
            Some(reason) => {
                failed += 1;
                channel_failed(req, channel, reason, effects)?;
            }
        }
    }
    metrics::counter!("restance_notifications_requests_total", "outcome" => "planned").increment(1);
    tracing::info!(notification_id = %req.notification_id, template = %req.template,
        channels = pending, failed_channels = failed, redacted = ?redactions,
        "notification planned");
    Ok(pending > 0)
}

/// The request's municipality and its template's channels; `None` (after the failure event)
/// when either is no longer configured.
async fn resolve<'s>(
    tx: &DatabaseTransaction,
    shared: &'s Shared,
    req: &NotificationRequested,
    from: &str,
    effects: &mut Effects,
) -> Result<Option<(&'s Municipality, Vec<Channel>)>, HandlerError> {
    let Some(m) = shared.catalog.municipality(&req.municipality) else {
        return fail_before_planning(
            tx,
            req,
            from,
            &format!("municipality {} is no longer configured", req.municipality),
            effects,
        )
        .await
        .map(|_| None);
    };
    let Some(channels) = shared
        .config
        .templates
        .get(&req.template)
        .map(|t| t.channels.clone())
    else {
        return fail_before_planning(
            tx,
            req,
            from,
            &format!(
                "template {} has no channels configured any more",
                req.template
            ),
            effects,
        )
        .await
        .map(|_| None);
    };
    Ok(Some((m, channels)))
}

/// The letter's date: the request's own `letter_date`, else the business date, else today
/// where the municipality is.
async fn letter_date(
    tx: &DatabaseTransaction,
    data: &serde_json::Value,
    m: &Municipality,
    now: DateTime<Utc>,
) -> Result<BusinessDate, DbErr> {
    Ok(
        match data
            .get("letter_date")
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse::<BusinessDate>().ok())
        {
            Some(d) => d,
            None => match queries::business_date(tx).await? {
                Some(d) => BusinessDate::from(d),
                None => local_date(now, time_zone(m.country)),
            },
        },
    )
}

/// Whether e-mails of the template carry the PDF: the configuration, else the template's manifest.
fn attach_pdf(shared: &Shared, template: &str) -> bool {
    let manifest_attach = shared
        .renderer
        .spec(template)
        .map(|s| s.attach_pdf)
        .unwrap_or(false);
    shared.config.attach_pdf(template, manifest_attach)
}

/// A channel that cannot be used: counted, logged and published as `delivery.failed`.
fn channel_failed(
    req: &NotificationRequested,
    channel: Channel,
    reason: String,
    effects: &mut Effects,
) -> Result<(), HandlerError> {
    metrics::counter!("restance_notifications_deliveries_total",
        "channel" => channel.as_str(), "outcome" => "failed")
    .increment(1);
    tracing::warn!(notification_id = %req.notification_id, template = %req.template,
        channel = %channel, reason = %reason, "channel cannot be used");
    effects.emit(DeliveryFailed {
        notification_id: req.notification_id.clone(),
        municipality: req.municipality.clone(),
        template: req.template.clone(),
        channel: delivery_channel(channel),
        reason,
        related: req.related.clone(),
    })?;
    Ok(())
}

/// Gives up on a request before any delivery was planned: one failure event, channel none.
pub async fn fail_before_planning(
    tx: &DatabaseTransaction,
    req: &NotificationRequested,
    from: &str,
    reason: &str,
    effects: &mut Effects,
) -> Result<bool, HandlerError> {
    if !queries::set_notification_state(tx, &req.notification_id, from, STATE_FAILED, None).await? {
        return Ok(false);
    }
    let reason = clean_reason(reason);
    metrics::counter!("restance_notifications_deliveries_total",
        "channel" => "none", "outcome" => "failed")
    .increment(1);
    tracing::warn!(notification_id = %req.notification_id, template = %req.template,
        reason = %reason, "notification failed before any channel was tried");
    effects.emit(DeliveryFailed {
        notification_id: req.notification_id.clone(),
        municipality: req.municipality.clone(),
        template: req.template.clone(),
        channel: DeliveryChannel::None,
        reason,
        related: req.related.clone(),
    })?;
    Ok(true)
}

/// The contract's channel for ours.
pub fn delivery_channel(c: Channel) -> DeliveryChannel {
    match c {
        Channel::Letter => DeliveryChannel::Letter,
        Channel::Sms => DeliveryChannel::Sms,
        Channel::Email => DeliveryChannel::Email,
    }
}
