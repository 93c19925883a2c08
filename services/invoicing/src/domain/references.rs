//! The payment reference a claim gets: FIK +71 with the municipality's creditor number
//! (Denmark, Greenland) or a KID (Norway), generated from a per-municipality sequence —
//! unless the invoice brought a valid one of its own.

use restance_kernel::{Country, FikId, Kid, Municipality, PaymentReference, ReferenceError};

/// The reference for sequence number `seq` in `municipality`.
pub fn generate(municipality: &Municipality, seq: u64) -> Result<PaymentReference, ReferenceError> {
    match municipality.country {
        Country::Dk | Country::Gl => Ok(PaymentReference::Fik {
            id: FikId::from_sequence(seq)?,
            creditor: municipality.creditor_number.clone(),
        }),
        Country::No => {
            let (width, scheme) = municipality
                .kid
                .as_ref()
                .map_or((15, restance_kernel::KidScheme::Mod10), |k| {
                    (k.width, k.scheme)
                });
            Ok(PaymentReference::Kid(Kid::from_sequence(
                seq, width, scheme,
            )?))
        }
    }
}

/// Parses a reference an invoice or a payment brought, in the municipality's scheme; the
/// creditor number is filled in from configuration when the text did not carry it.
pub fn parse_for(municipality: &Municipality, text: &str) -> Option<PaymentReference> {
    match PaymentReference::parse(municipality.country, text).ok()? {
        PaymentReference::Fik { id, creditor: None } => Some(PaymentReference::Fik {
            id,
            creditor: municipality.creditor_number.clone(),
        }),
        other => Some(other),
    }
}
