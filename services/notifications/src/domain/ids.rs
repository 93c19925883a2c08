//! Ids derived from the notification id, so that a retry, a redelivery or a restart produces the
//! same document and the same e-mail `Message-ID` (a receiver can deduplicate on it), and the
//! one-line reasons we publish, cleaned of anything that looks like a phone or id number.

use restance_kernel::BusinessDate;
use sha2::{Digest, Sha256};

/// The letter's document id: a UUID derived from the notification id.
pub fn document_id(notification_id: &str) -> String {
    let digest = Sha256::digest(format!("letter\n{notification_id}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// Where a document lives under the documents directory: `<yyyy>/<mm>/<id>.pdf` by letter date.
pub fn document_path(letter_date: BusinessDate, document_id: &str) -> String {
    format!(
        "{:04}/{:02}/{document_id}.pdf",
        letter_date.year(),
        letter_date.month()
    )
}

/// Whether `id` is a document id we could have made (a UUID), so that a request path never
/// reaches the file system unchecked.
pub fn is_document_id(id: &str) -> bool {
    uuid::Uuid::try_parse(id).is_ok_and(|u| u.hyphenated().to_string() == id)
}

/// The e-mail's `Message-ID` (without angle brackets): the notification id itself when it is a
/// plain dot-atom, else its SHA-256; the domain is the sender's.
pub fn message_id(notification_id: &str, sender_email: &str) -> String {
    let domain = sender_email
        .rsplit_once('@')
        .map_or("restance.invalid", |(_, d)| d);
    let plain = !notification_id.is_empty()
        && notification_id.len() <= 100
        && notification_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        && !notification_id.starts_with('.')
        && !notification_id.ends_with('.')
        && !notification_id.contains("..");
    let local = if plain {
        format!("notification.{notification_id}")
    } else {
        format!(
            "notification.{}",
            hex::encode(Sha256::digest(notification_id.as_bytes()))
        )
    };
    format!("{local}@{domain}")
}

/// A reason fit to publish: one line, at most 300 characters, runs of six or more digits
/// (phone numbers, national ids) replaced by `…` and words with an `@` (e-mail addresses) by
/// `[e-mail]`.
pub fn clean_reason(text: &str) -> String {
    let text = text
        .split(' ')
        .map(|w| if w.contains('@') { "[e-mail]" } else { w })
        .collect::<Vec<_>>()
        .join(" ");
    let mut out = String::with_capacity(text.len().min(320));
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        if digits.len() >= 6 {
            out.push('…');
        } else {
            out.push_str(digits);
        }
        digits.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        flush(&mut digits, &mut out);
        out.push(if c.is_control() { ' ' } else { c });
    }
    flush(&mut digits, &mut out);
    let trimmed = out.trim();
    if trimmed.chars().count() > 300 {
        let mut cut: String = trimmed.chars().take(300).collect();
        cut.push('…');
        cut
    } else {
        trimmed.to_owned()
    }
}

/// A JSON error without the value it tripped over (serde quotes values, which may be personal
/// data): its category and position only.
pub fn json_error(e: &serde_json::Error) -> String {
    format!(
        "{:?} error at line {} column {}",
        e.classify(),
        e.line(),
        e.column()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_ids_are_stable_uuids_and_paths_follow_the_letter_date() {
        let a = document_id("N-1");
        assert_eq!(a, document_id("N-1"));
        assert_ne!(a, document_id("N-2"));
        assert!(is_document_id(&a));
        assert!(!is_document_id("../../etc/passwd"));
        assert!(!is_document_id(&a.to_uppercase()));
        let d = BusinessDate::new(2026, 3, 9).expect("date");
        assert_eq!(document_path(d, &a), format!("2026/03/{a}.pdf"));
    }

    #[test]
    fn message_ids_derive_from_the_notification_id_and_the_senders_domain() {
        assert_eq!(
            message_id("N-0746-1", "opkraevning@skanderborg.example"),
            "notification.N-0746-1@skanderborg.example"
        );
        let odd = message_id("dunning/claim 7", "x@y.example");
        assert!(odd.starts_with("notification.") && odd.ends_with("@y.example"));
        assert!(!odd.contains(' '));
        assert_eq!(odd, message_id("dunning/claim 7", "x@y.example"));
    }

    #[test]
    fn json_errors_do_not_quote_the_value() {
        let e = serde_json::from_str::<u32>("\"Ane Hansen\"").expect_err("not a number");
        let shown = json_error(&e);
        assert!(!shown.contains("Ane") && shown.contains("Data"), "{shown}");
    }

    #[test]
    fn reasons_lose_long_digit_runs_and_line_breaks() {
        assert_eq!(
            clean_reason("HTTP 400: invalid recipient 4512345678\nretry 3"),
            "HTTP 400: invalid recipient … retry 3"
        );
        assert_eq!(
            clean_reason("550 5.1.1 <ane@example.org>: Recipient address rejected"),
            "550 5.1.1 [e-mail] Recipient address rejected"
        );
        assert_eq!(clean_reason(&"x".repeat(400)).chars().count(), 301);
    }
}
