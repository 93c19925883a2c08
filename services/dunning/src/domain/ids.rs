//! Deterministic ids: the same decision always gets the same id.
//!
//! DESIGN.md, reliability rule 4: natural keys make effects unique even when a day is processed
//! twice. Every id here is `<prefix>-<16 hex digits>`, the first 8 bytes of the SHA-256 of what the
//! effect is about (each part length-prefixed, so `["ab","c"]` and `["a","bc"]` differ). Claim
//! lists are sorted first, so the order in which claims were loaded does not matter.

use restance_kernel::BusinessDate;
use sha2::{Digest, Sha256};

/// `<prefix>-<hex16>` of the SHA-256 over `parts`, each prefixed with its length.
fn digest(prefix: &str, parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    let hash = hasher.finalize();
    format!("{prefix}-{}", hex::encode(&hash[..8]))
}

/// The claim ids sorted and de-duplicated, joined for hashing.
fn claim_set(claim_ids: &[String]) -> String {
    let mut ids: Vec<&str> = claim_ids.iter().map(String::as_str).collect();
    ids.sort_unstable();
    ids.dedup();
    ids.join("\u{1f}")
}

/// The notification id of a letter: `dun-<hex16>` of (sorted claim ids, step, template).
///
/// `step` is the policy step number; letters that a gate sends outside the step sequence (a
/// meeting offer before a fee, a missing transfer notice) use step 0.
pub fn notification_id(claim_ids: &[String], step: u32, template: &str) -> String {
    digest(
        "dun",
        &[
            "notification",
            &claim_set(claim_ids),
            &step.to_string(),
            template,
        ],
    )
}

/// The fee id: `fee-<hex16>` of (claim, step) — one fee per claim and dunning step.
pub fn fee_id(claim_id: &str, step: u32) -> String {
    digest("fee", &["fee", claim_id, &step.to_string()])
}

/// The interest id: `int-<hex16>` of (claim, first day of the period).
pub fn interest_id(claim_id: &str, period_from: BusinessDate) -> String {
    digest("int", &["interest", claim_id, &period_from.to_string()])
}

/// The caseworker alert id: `alr-<hex16>` of (sorted claim ids, step).
pub fn alert_id(claim_ids: &[String], step: u32) -> String {
    digest(
        "alr",
        &["caseworker_alert", &claim_set(claim_ids), &step.to_string()],
    )
}

/// The transfer id: `trf-<hex16>` of the claim (a claim is transferred once).
pub fn transfer_id(claim_id: &str) -> String {
    digest("trf", &["transfer", claim_id])
}

/// The supply suspension id: `sup-<hex16>` of (sorted claim ids, step).
pub fn suspension_id(claim_ids: &[String], step: u32) -> String {
    digest(
        "sup",
        &[
            "supply_suspension",
            &claim_set(claim_ids),
            &step.to_string(),
        ],
    )
}

/// The supply restoration id: `res-<hex16>` of (sorted claim ids, suspension date).
pub fn restoration_id(claim_ids: &[String], suspended_on: BusinessDate) -> String {
    digest(
        "res",
        &[
            "supply_restoration",
            &claim_set(claim_ids),
            &suspended_on.to_string(),
        ],
    )
}

/// The write-off proposal id: `wof-<hex16>` of (claim, limitation date).
pub fn write_off_id(claim_id: &str, limitation_date: BusinessDate) -> String {
    digest(
        "wof",
        &["write_off", claim_id, &limitation_date.to_string()],
    )
}

/// A transfer proposal: `tpr-<hex16>` of (sorted claim ids, the date proposed). A claim kept
/// with a later review date is proposed again under a new id.
pub fn transfer_proposal_id(claim_ids: &[String], proposed: BusinessDate) -> String {
    digest(
        "tpr",
        &[
            "transfer_proposal",
            &claim_set(claim_ids),
            &proposed.to_string(),
        ],
    )
}

/// A municipal distraint case: `dst-<hex16>` of (sorted claim ids).
pub fn distraint_case_id(claim_ids: &[String]) -> String {
    digest("dst", &["distraint_case", &claim_set(claim_ids)])
}

/// The letter a decision outside the step sequence sends on `date` (the plan offer of a claim
/// kept from transfer): `dun-<hex16>` of (sorted claim ids, tag and date, template), never the
/// id of a step's or a gate's letter.
pub fn notification_id_on(
    claim_ids: &[String],
    tag: &str,
    date: BusinessDate,
    template: &str,
) -> String {
    digest(
        "dun",
        &[
            "notification",
            &claim_set(claim_ids),
            &format!("{tag}:{date}"),
            template,
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_notification_id_does_not_depend_on_the_order_of_the_claims() {
        let a = notification_id(&ids(&["C-2", "C-1"]), 2, "reminder_2");
        let b = notification_id(&ids(&["C-1", "C-2", "C-1"]), 2, "reminder_2");
        assert_eq!(a, b);
        assert!(a.starts_with("dun-") && a.len() == 20, "{a}");
        assert!(a[4..].bytes().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn every_part_of_a_notification_id_matters() {
        let base = notification_id(&ids(&["C-1"]), 1, "reminder_1");
        assert_ne!(base, notification_id(&ids(&["C-1"]), 2, "reminder_1"));
        assert_ne!(base, notification_id(&ids(&["C-1"]), 1, "reminder_2"));
        assert_ne!(
            base,
            notification_id(&ids(&["C-1", "C-2"]), 1, "reminder_1")
        );
        // length prefixes: the split between parts is part of the id
        assert_ne!(
            notification_id(&ids(&["ab", "c"]), 1, "t"),
            notification_id(&ids(&["a", "bc"]), 1, "t")
        );
    }

    #[test]
    fn fee_and_interest_ids_are_per_claim_and_step_or_period() {
        let d1 = BusinessDate::new(2026, 12, 16).expect("date");
        let d2 = BusinessDate::new(2027, 1, 16).expect("date");
        assert_eq!(fee_id("C-1", 2), fee_id("C-1", 2));
        assert_ne!(fee_id("C-1", 2), fee_id("C-1", 3));
        assert_ne!(fee_id("C-1", 2), fee_id("C-2", 2));
        assert_ne!(interest_id("C-1", d1), interest_id("C-1", d2));
        assert!(fee_id("C-1", 2).starts_with("fee-"));
        assert!(interest_id("C-1", d1).starts_with("int-"));
        assert_ne!(write_off_id("C-1", d1), write_off_id("C-1", d2));
    }
}
