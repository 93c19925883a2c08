//! `immigration.guarantee.registered.v1` and `immigration.guarantee.changed.v1`: the guarantees
//! and their dated history.
//!
//! - A registration is stored once under its guarantee id. The same registration again (a
//!   redelivery under another message id, or from another of the authority's systems) is a
//!   no-op; the same guarantee id with other content is rejected: which one is right is the
//!   authority's to say, not ours to guess. The guarantee is in force from `registered_on`, the
//!   envelope's `time` as a date in the municipality's time zone (the day the authority
//!   registered it), as [`crate::domain::Registration`] requires.
//! - A change is kept in the history once ([`crate::domain::Guarantee::apply`]); one the domain
//!   refuses (effective before the registration, a new amount above the registered one) is
//!   rejected with the domain's reason.
//! - A change for a guarantee not registered here is "not yet": its registration may be on
//!   its way (published just before, on another replica's batch), so the consumer tries it
//!   again for a while (`bus.not_yet_attempts`, about 30 s) before it dead-letters it as an
//!   unknown guarantee — the way dunning and agreements wait for a claim's `claim.opened`.
//!
//! A new registration or change classifies the benefits already stored for the guarantee's
//! two people again ([`super::benefits::reclassify`]).
//!
//! A new change that ends the guarantee (expiry, moving away, divorce, death) raises recovery
//! or releases the guarantee in the same transaction ([`super::recovery::on_ending`]).

use restance_bus::{Effects, HandlerError, Inbound, Outcome, Rejection};
use restance_contracts::messages::{GuaranteeChanged, GuaranteeRegistered};
use restance_kernel::{BusinessDate, Redacted};
use sea_orm::DatabaseTransaction;

use crate::domain::{Applied, Change, Guarantee, Registration};
use crate::metrics;
use crate::state::Shared;
use crate::store::queries::guarantees::{self, StoredGuarantee};
use crate::store::queries::word;

/// The [`Outcome::NotYet`] label of a change whose guarantee is not registered (yet).
pub const UNKNOWN_GUARANTEE: &str = "unknown_guarantee";

/// Stores a registered guarantee (see the module documentation).
pub async fn register(
    shared: &Shared,
    tx: &DatabaseTransaction,
    effects: &mut Effects,
    inbound: &Inbound,
    g: GuaranteeRegistered,
) -> Result<Outcome, HandlerError> {
    let registered_on = business_date_of(shared, inbound, &g.municipality);
    let registration = Registration {
        registered_on,
        amount: g.amount,
        binding_period_end: g.binding_period_end,
        maintenance_requirement: g.maintenance_requirement,
    };
    if let Err(e) = Guarantee::register(g.guarantee_id.clone(), registration) {
        return Ok(Outcome::Rejected(Rejection::new(format!(
            "guarantee {}: {e}",
            g.guarantee_id
        ))));
    }
    let stored = StoredGuarantee {
        content_hash: super::content_hash(&g)?,
        guarantee_id: g.guarantee_id.clone(),
        source: inbound.envelope.source.clone(),
        municipality: g.municipality.clone(),
        resident_national_id: Redacted(g.resident_national_id.expose().as_str().to_owned()),
        spouse_national_id: Redacted(g.spouse_national_id.expose().as_str().to_owned()),
        person_id: g.person_id.clone(),
        guarantor: Redacted(to_json(&g.guarantor)?),
        bank: to_json(&g.bank)?,
        registration,
    };
    let people = [
        stored.resident_national_id.expose().as_str(),
        stored.spouse_national_id.expose().as_str(),
    ];
    guarantees::lock_people(tx, &stored.municipality, &people).await?;
    if guarantees::insert(tx, &stored, &inbound.envelope.id).await? {
        metrics::guarantee_registered();
        let on = today(shared, tx, inbound, &stored.municipality).await?;
        super::benefits::reclassify(shared, tx, effects, on, &stored.municipality, &people).await?;
        tracing::info!(
            guarantee_id = %g.guarantee_id,
            municipality = %g.municipality,
            %registered_on,
            "guarantee registered"
        );
        return Ok(Outcome::Done);
    }
    match guarantees::find(tx, &g.guarantee_id).await? {
        Some(existing) if existing.content_hash == stored.content_hash => Ok(Outcome::Done),
        Some(_) => Ok(Outcome::Rejected(Rejection::new(format!(
            "guarantee {} is already registered with other content; a registration is not \
             changed by registering it again (immigration.guarantee.changed.v1 reports changes)",
            g.guarantee_id
        )))),
        None => Err(HandlerError::Other(format!(
            "guarantee {} was neither stored nor found",
            g.guarantee_id
        ))),
    }
}

/// Keeps a change in its guarantee's history (see the module documentation).
pub async fn change(
    shared: &Shared,
    tx: &DatabaseTransaction,
    effects: &mut Effects,
    inbound: &Inbound,
    c: GuaranteeChanged,
) -> Result<Outcome, HandlerError> {
    let Some(stored) = guarantees::find_for_update(tx, &c.guarantee_id).await? else {
        return Ok(Outcome::not_yet(
            UNKNOWN_GUARANTEE,
            Rejection::new(format!(
                "unknown guarantee {}: no immigration.guarantee.registered.v1 for it",
                c.guarantee_id
            )),
        ));
    };
    let people = [
        stored.resident_national_id.expose().as_str(),
        stored.spouse_national_id.expose().as_str(),
    ];
    guarantees::lock_people(tx, &stored.municipality, &people).await?;
    let mut guarantee = guarantees::load(tx, &stored).await?;
    let change = Change {
        reason: c.reason,
        effective: c.effective_date,
        new_amount: c.new_amount,
    };
    match guarantee.apply(change) {
        Err(e) => Ok(Outcome::Rejected(Rejection::new(format!(
            "guarantee {}: {e}",
            c.guarantee_id
        )))),
        Ok(Applied::AlreadyKnown) => Ok(Outcome::Done),
        Ok(Applied::Recorded) => {
            let new = guarantees::insert_change(
                tx,
                &c.guarantee_id,
                &change,
                &inbound.envelope.source,
                &inbound.envelope.id,
            )
            .await?;
            if new {
                metrics::change_recorded(reason_label(&change));
                let on = today(shared, tx, inbound, &stored.municipality).await?;
                super::benefits::reclassify(shared, tx, effects, on, &stored.municipality, &people)
                    .await?;
                let ending = guarantee.ending();
                tracing::info!(
                    guarantee_id = %c.guarantee_id,
                    reason = %word(&c.reason),
                    effective = %c.effective_date,
                    ends = %ending.from,
                    "guarantee changed"
                );
                if ends(change.reason) {
                    super::recovery::on_ending(shared, tx, effects, inbound, &stored, &guarantee)
                        .await?;
                }
            }
            Ok(Outcome::Done)
        }
    }
}

/// The business day a message is processed on: the last business day opened, else the
/// envelope's date in the municipality's time zone.
pub(crate) async fn today(
    shared: &Shared,
    tx: &DatabaseTransaction,
    inbound: &Inbound,
    municipality: &str,
) -> Result<BusinessDate, HandlerError> {
    Ok(match crate::store::queries::days::latest(tx).await? {
        Some(day) => day,
        None => business_date_of(shared, inbound, municipality),
    })
}

/// The day the envelope was sent, in the time zone of the municipality's country.
pub(crate) fn business_date_of(
    shared: &Shared,
    inbound: &Inbound,
    municipality: &str,
) -> BusinessDate {
    let zone = shared.country_of(municipality).time_zone();
    inbound
        .envelope
        .time
        .with_timezone(&zone)
        .date_naive()
        .into()
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<serde_json::Value, HandlerError> {
    serde_json::to_value(value)
        .map_err(|e| HandlerError::Other(format!("the message does not serialize: {e}")))
}

/// Whether a change of this reason ends the guarantee (all but a reduced amount).
pub fn ends(reason: crate::domain::GuaranteeChangeReason) -> bool {
    !matches!(reason, crate::domain::GuaranteeChangeReason::AmountReduced)
}

/// The change's reason as a fixed metric label.
fn reason_label(change: &Change) -> &'static str {
    use crate::domain::GuaranteeChangeReason as R;
    match change.reason {
        R::BindingPeriodExpired => "binding_period_expired",
        R::MovedAway => "moved_away",
        R::Divorce => "divorce",
        R::Death => "death",
        R::AmountReduced => "amount_reduced",
    }
}
