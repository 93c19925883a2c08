//! `benefits.benefit.paid.v1`: every benefit paid is classified against the municipality's
//! guarantees the recipient is part of ([`crate::domain::classify`]) and stored with the
//! classification:
//!
//! - `recoverable`: paid to the spouse of a guarantee in force under aktivloven or
//!   integrationsloven; it counts in the guarantee's recoverable amount until its limitation
//!   runs out;
//! - `reported`: paid to the spouse or the resident where a maintenance requirement applies
//!   (a recoverable benefit may be reported too: the `reported` column);
//! - `no_guarantee`: the recipient is in no guarantee here — counted, not an error;
//! - `not_recoverable`: linked to a guarantee, but another law, paid to the resident, outside
//!   the guarantee's period, or covered by another guarantee (the reason per guarantee is kept).
//!
//! The benefit's natural key is `(source, benefit_id)`: the same benefit again is a no-op, the
//! same key with other content is rejected. A malformed benefit (a negative amount, an unknown
//! law, an invalid national id) never gets here: the contract's decoder rejects it with the
//! field's path.
//!
//! A benefit is classified against the guarantees stored when it arrives; when a guarantee of
//! its recipient is registered or changed later, [`reclassify`] classifies it again.
//!
//! Acting on the classification plugs in after [`receive`] has stored it: a report is the
//! event `guarantee.benefit.reported.v1` (for the [`crate::domain::Report`]s), a recoverable
//! payment may be due a guidance letter to its recipient ([`crate::domain::GuidanceLetters`]).

use restance_bus::{HandlerError, Inbound, Outcome, Rejection};
use restance_contracts::messages::BenefitPaid;
use restance_kernel::Redacted;
use sea_orm::DatabaseTransaction;

use crate::domain::{Classification, Link, PaidBenefit, classify};
use crate::metrics;
use crate::store::queries::benefits::{self, NewBenefit, outcome};
use crate::store::queries::guarantees;

/// Classifies and stores a benefit paid (see the module documentation).
pub async fn receive(
    tx: &DatabaseTransaction,
    inbound: &Inbound,
    b: BenefitPaid,
) -> Result<Outcome, HandlerError> {
    record(tx, &inbound.envelope.source, &inbound.envelope.id, b).await
}

/// Classifies and stores a benefit paid from `source` (the envelope's, or the API's
/// `/restance/guarantee/api` for a benefit entered by hand), asked for by `message_id` (the
/// message's or the request's id): [`receive`] without the envelope.
pub async fn record(
    tx: &DatabaseTransaction,
    source: &str,
    message_id: &str,
    b: BenefitPaid,
) -> Result<Outcome, HandlerError> {
    let content_hash = super::content_hash(&b)?;
    let recipient = b.recipient_national_id.expose().as_str();
    guarantees::lock_people(tx, &b.municipality, &[recipient]).await?;
    if let Some(known) = benefits::content_hash(tx, source, &b.benefit_id).await? {
        return Ok(same_or_rejected(&b.benefit_id, &known, &content_hash));
    }
    let classification = classify_against_guarantees(
        tx,
        &b.municipality,
        recipient,
        PaidBenefit {
            law: b.law,
            paid_date: b.paid_date,
        },
    )
    .await?;
    let benefit = NewBenefit {
        source: source.to_owned(),
        benefit_id: b.benefit_id.clone(),
        municipality: b.municipality.clone(),
        recipient_national_id: Redacted(recipient.to_owned()),
        law: b.law,
        amount: b.amount,
        paid_date: b.paid_date,
        content_hash: content_hash.clone(),
    };
    if !benefits::insert(tx, &benefit, &classification, message_id).await? {
        // A replica stored the same key between the look and the insert.
        let known = benefits::content_hash(tx, source, &b.benefit_id)
            .await?
            .unwrap_or_default();
        return Ok(same_or_rejected(&b.benefit_id, &known, &content_hash));
    }
    let outcome = outcome(&classification);
    metrics::benefit_classified(outcome);
    tracing::info!(
        benefit_id = %b.benefit_id,
        municipality = %b.municipality,
        outcome,
        recoverable_from = classification.recoverable_from.as_deref().unwrap_or("-"),
        reports = classification.reports.len(),
        "benefit classified"
    );
    Ok(Outcome::Done)
}

/// Classifies a benefit paid to `recipient` against the municipality's guarantees as they are
/// stored now.
async fn classify_against_guarantees(
    tx: &DatabaseTransaction,
    municipality: &str,
    recipient: &str,
    benefit: PaidBenefit,
) -> Result<Classification, HandlerError> {
    let stored = guarantees::of_person(tx, municipality, recipient).await?;
    let mut loaded = Vec::with_capacity(stored.len());
    for g in &stored {
        if let Some(role) = g.role_of(recipient) {
            loaded.push((role, guarantees::load(tx, g).await?));
        }
    }
    let links: Vec<Link<'_>> = loaded
        .iter()
        .map(|(role, guarantee)| Link {
            role: *role,
            guarantee,
        })
        .collect();
    Ok(classify(&benefit, &links))
}

/// Classifies again the municipality's benefits paid to `people` (a guarantee's resident and
/// spouse) after their guarantees changed: a guarantee registered after some of its benefits
/// arrived (the two come from different systems, in no promised order), or a change that moves
/// the guarantee's end before a payment. A classification that changes is stored with its new
/// links and counted (`restance_guarantee_benefits_reclassified_total{outcome}`).
pub async fn reclassify(
    tx: &DatabaseTransaction,
    municipality: &str,
    people: &[&str],
) -> Result<(), HandlerError> {
    for b in benefits::of_recipients(tx, municipality, people).await? {
        let classification = classify_against_guarantees(
            tx,
            municipality,
            b.recipient_national_id.expose(),
            PaidBenefit {
                law: b.law,
                paid_date: b.paid_date,
            },
        )
        .await?;
        let now = outcome(&classification);
        if now == b.classification
            && classification.recoverable_from == b.recoverable_from
            && classification.is_reported() == b.reported
        {
            continue;
        }
        benefits::reclassify(tx, &b.source, &b.benefit_id, &classification).await?;
        metrics::benefit_reclassified(now);
        tracing::info!(
            benefit_id = %b.benefit_id,
            municipality,
            was = %b.classification,
            outcome = now,
            "benefit classified again"
        );
    }
    Ok(())
}

fn same_or_rejected(benefit_id: &str, known: &str, now: &str) -> Outcome {
    if known == now {
        Outcome::Done
    } else {
        Outcome::Rejected(Rejection::new(format!(
            "benefit {benefit_id} is already recorded from this source with other content"
        )))
    }
}
