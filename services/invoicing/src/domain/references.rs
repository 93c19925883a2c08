//! The payment reference a claim gets: FIK +71 with the municipality's creditor number
//! (Denmark, Greenland) or a KID (Norway), generated from a per-municipality sequence by
//! [`Municipality::payment_reference`] — unless the invoice brought a valid one of its own.

use restance_kernel::{Municipality, PaymentReference};

/// Parses a reference an invoice or a payment brought, in the municipality's scheme; the
/// creditor number is filled in from configuration when the text did not carry it, so the
/// claim's OCR line is always complete.
pub fn parse_for(municipality: &Municipality, text: &str) -> Option<PaymentReference> {
    match municipality.parse_payment_reference(text).ok()? {
        PaymentReference::Fik { id, creditor: None } => Some(PaymentReference::Fik {
            id,
            creditor: municipality.creditor_number.clone(),
        }),
        other => Some(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skanderborg() -> Municipality {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../config/restance.toml"
        ))
        .expect("shipped config");
        let settings = restance_runtime::Settings::load_from(
            "invoicing",
            Some(std::path::Path::new(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../config/restance.toml"
            ))),
            false,
        )
        .expect("valid config");
        assert!(!text.is_empty());
        settings
            .catalog
            .municipality("0746")
            .cloned()
            .expect("Skanderborg")
    }

    #[test]
    fn a_bank_line_without_the_creditor_gets_the_municipality_s() {
        let m = skanderborg();
        let r = parse_for(&m, "71/000000067097535").expect("valid");
        assert_eq!(
            r.ocr_line(),
            format!(
                "+71<000000067097535+{}<",
                m.creditor_number.as_ref().map(|c| c.as_str()).unwrap_or("")
            )
        );
        assert!(
            parse_for(&m, "026840149965327").is_none(),
            "wrong check digit"
        );
    }
}
