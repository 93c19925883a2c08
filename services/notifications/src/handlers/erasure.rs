//! Retention: `invoicing.debtor.erased.v1` → this service's copy of the debtor's personal data
//! goes — the contact, the requests and delivery plans of the notifications about the debtor,
//! their attachments and the letters' PDFs (rows and files). What was sent when, by which
//! channel, with which outcome stays (counts and dates only). Under the debtor's lock, like
//! every other decision on the debtor; a repeat finds nothing more to erase.

use crate::state::Shared;
use crate::store::queries;
use restance_bus::{HandlerError, Outcome};
use restance_contracts::messages::DebtorErased;
use sea_orm::DatabaseTransaction;

/// Erases the debtor's personal data held here; the PDF files after their rows (a file already
/// gone — a redelivery after a rolled-back transaction — is fine).
pub async fn debtor_erased(
    tx: &DatabaseTransaction,
    shared: &Shared,
    e: &DebtorErased,
) -> Result<Outcome, HandlerError> {
    queries::lock_debtor(tx, &e.municipality, &e.debtor_id).await?;
    let version = i64::try_from(e.version)
        .map_err(|_| HandlerError::Other(format!("debtor version {} too large", e.version)))?;
    let erased = queries::erase_debtor(
        tx,
        &e.municipality,
        &e.debtor_id,
        version,
        e.erased_on.into(),
    )
    .await?;
    let mut files = 0usize;
    for path in &erased.documents {
        match std::fs::remove_file(shared.documents.join(path)) {
            Ok(()) => files += 1,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => {
                return Err(HandlerError::Other(format!(
                    "cannot remove an erased debtor's letter from the documents directory: {}",
                    err.kind()
                )));
            }
        }
    }
    metrics::counter!("restance_notifications_debtors_erased_total").increment(1);
    tracing::info!(
        municipality = %e.municipality,
        contacts = erased.contacts,
        notifications = erased.notifications,
        documents = erased.documents.len(),
        files,
        "a debtor past retention erased"
    );
    Ok(Outcome::Done)
}
