//! Address protection in what we render and send.
//!
//! The rule (DOMAIN.md, "Personal data and protection"):
//! - `confidential` (code 7): the debtor's address is never passed to a third party. When the
//!   recipient is a party (a bank, a creditor) and the request concerns a debtor
//!   (`related.debtor_id`) whose address is `confidential` or `strictly_confidential`, the
//!   template data is scrubbed before anything is rendered: every field whose key contains
//!   `address` is removed, and the debtor's address text (each street line and "postcode city")
//!   is masked wherever it appears in a text value. The paths touched are recorded with the
//!   notification and logged by path (never by value).
//! - `strictly_confidential` (code 6): the address is never printed. A letter to such a debtor
//!   goes by the `protected` route without an address block, and the same scrubbing is applied
//!   to the data of every message to that debtor.
//!
//! Templates print only the recipient block we build and their declared fields, so a debtor's
//! address can only reach a third party through the data; scrubbing the data closes that path.

use restance_contracts::messages::AddressProtection;
use serde_json::Value;

/// What replaces protected address text in a value.
pub const MASK: &str = "***";

/// Whether the debtor's address must be kept out of the data.
pub fn must_scrub(recipient_is_party: bool, debtor_protection: Option<AddressProtection>) -> bool {
    match debtor_protection {
        Some(AddressProtection::StrictlyConfidential) => true,
        Some(AddressProtection::Confidential) => recipient_is_party,
        _ => false,
    }
}

/// Removes address fields and masks `fragments` (the protected address text) in every string
/// of `data`; returns the touched paths, e.g. `["data.debtor_address", "data.claims[0].text"]`.
pub fn scrub(data: &mut Value, fragments: &[String]) -> Vec<String> {
    let mut touched = Vec::new();
    scrub_at(data, "data", fragments, &mut touched);
    touched
}

fn scrub_at(value: &mut Value, path: &str, fragments: &[String], touched: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            for key in keys {
                let child_path = format!("{path}.{key}");
                if key.to_lowercase().contains("address") {
                    map.remove(&key);
                    touched.push(child_path);
                } else if let Some(child) = map.get_mut(&key) {
                    scrub_at(child, &child_path, fragments, touched);
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                scrub_at(item, &format!("{path}[{i}]"), fragments, touched);
            }
        }
        Value::String(s) => {
            let mut changed = false;
            for fragment in fragments {
                while let Some((start, end)) = find_ignoring_case(s, fragment) {
                    s.replace_range(start..end, MASK);
                    changed = true;
                }
            }
            if changed {
                touched.push(path.to_owned());
            }
        }
        _ => {}
    }
}

/// The byte range of the first occurrence of `needle` in `hay`, comparing characters without
/// regard to case.
fn find_ignoring_case(hay: &str, needle: &str) -> Option<(usize, usize)> {
    let needle: Vec<char> = needle.chars().flat_map(char::to_lowercase).collect();
    if needle.is_empty() {
        return None;
    }
    for (start, _) in hay.char_indices() {
        let mut matched = 0;
        'chars: for (offset, c) in hay[start..].char_indices() {
            for lc in c.to_lowercase() {
                if needle.get(matched) != Some(&lc) {
                    break 'chars;
                }
                matched += 1;
            }
            if matched == needle.len() {
                return Some((start, start + offset + c.len_utf8()));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_a_third_party_is_kept_from_a_confidential_address_and_nobody_sees_a_strict_one() {
        use AddressProtection::*;
        assert!(must_scrub(true, Some(Confidential)));
        assert!(must_scrub(true, Some(StrictlyConfidential)));
        assert!(
            !must_scrub(false, Some(Confidential)),
            "the debtor may see their own address"
        );
        assert!(must_scrub(false, Some(StrictlyConfidential)));
        assert!(!must_scrub(true, Some(AddressProtection::None)));
        assert!(!must_scrub(true, Option::None));
    }

    #[test]
    fn address_fields_are_removed_and_address_text_is_masked_anywhere() {
        let mut data = json!({
            "debtor_address": "Parkvej 1, 8660 Skanderborg",
            "debtor": {"name": "Guarantee case 7", "postal_address": {"lines": ["Parkvej 1"]}},
            "claims": [{"text": "Guarantee for the family at PARKVEJ 1, 8660 skanderborg", "amount": "10.00"}],
            "total": "10.00"
        });
        let fragments = vec!["Parkvej 1".to_owned(), "8660 Skanderborg".to_owned()];
        let touched = scrub(&mut data, &fragments);
        assert_eq!(
            touched,
            [
                "data.claims[0].text",
                "data.debtor.postal_address",
                "data.debtor_address"
            ]
        );
        let text = data.to_string().to_lowercase();
        assert!(
            !text.contains("parkvej") && !text.contains("8660"),
            "{text}"
        );
        assert_eq!(
            data["claims"][0]["text"],
            "Guarantee for the family at ***, ***"
        );
        assert_eq!(data["total"], "10.00");
    }

    #[test]
    fn case_insensitive_search_handles_danish_letters() {
        assert_eq!(
            find_ignoring_case("Bo på ÆBLEVEJ 2", "æblevej 2"),
            Some((7, 17))
        );
        assert_eq!(find_ignoring_case("nothing here", "æblevej"), None);
    }
}
