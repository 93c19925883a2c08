//! Ids: new agreements get a random id; everything that follows from one gets a deterministic
//! id, so that a redelivered message or a repeated day can never send or raise twice
//! (DESIGN.md, reliability rule 4).
//!
//! Deterministic ids are `<prefix>-<16 hex digits>`, the first 8 bytes of the SHA-256 of what
//! they are about (each part length-prefixed, so `["ab","c"]` and `["a","bc"]` differ).

use sha2::{Digest, Sha256};

fn digest(prefix: &str, parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    format!("{prefix}-{}", hex::encode(&hasher.finalize()[..8]))
}

/// A new agreement's id: `<prefix>-<16 random hex digits>` (`pln`, `dfr`, `mtg`).
pub fn new_id(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..16]
    )
}

/// The plan confirmation letter of a revision.
pub fn plan_confirmation(plan_id: &str, revision: u32) -> String {
    digest(
        "agr",
        &["plan_confirmation", plan_id, &revision.to_string()],
    )
}

/// The reminder for missed instalment `seq` of a revision.
pub fn instalment_reminder(plan_id: &str, revision: u32, seq: u32) -> String {
    digest(
        "agr",
        &[
            "instalment_reminder",
            plan_id,
            &revision.to_string(),
            &seq.to_string(),
        ],
    )
}

/// The deferral confirmation letter.
pub fn deferral_confirmation(deferral_id: &str) -> String {
    digest("agr", &["deferral_confirmation", deferral_id])
}

/// The meeting confirmation (SMS and invitation letter).
pub fn meeting_confirmation(meeting_id: &str) -> String {
    digest("agr", &["meeting_confirmation", meeting_id])
}

/// The meeting's SMS reminder the business day before.
pub fn meeting_reminder(meeting_id: &str) -> String {
    digest("agr", &["meeting_reminder", meeting_id])
}

/// The release of a social caseworker's alert: one per alert.
pub fn release(alert_id: &str) -> String {
    digest("rel", &["release", alert_id])
}

/// A task: one per kind and subject (and occasion, e.g. a plan revision).
pub fn task(kind: &str, subject: &str, occasion: &str) -> String {
    digest("tsk", &["task", kind, subject, occasion])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_occasion_gives_the_same_id_and_another_a_different_one() {
        assert_eq!(plan_confirmation("pln-1", 1), plan_confirmation("pln-1", 1));
        assert_ne!(plan_confirmation("pln-1", 1), plan_confirmation("pln-1", 2));
        assert_ne!(
            instalment_reminder("pln-1", 1, 2),
            instalment_reminder("pln-1", 2, 1)
        );
        assert!(meeting_reminder("mtg-1").starts_with("agr-"));
        assert_eq!(task("review_deferral", "dfr-1", "").len(), 4 + 16);
        assert!(new_id("pln").starts_with("pln-"));
    }
}
