//! Reading bytes from the bus: envelope first, then the data as a typed, validated message.
//!
//! Hostile or broken input is the normal case at a system boundary, so every step has a bound
//! and every failure a [`DecodeError`] whose [`DecodeError::reason`] fits a dead-letter header:
//! one line, at most [`MAX_REASON_BYTES`], never a value from the message (values may be
//! personal data). Paths say *where*: `data.lines[1].amount`, `specversion`.

use std::fmt;

use chrono::{DateTime, Datelike, Utc};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::envelope::{DATA_CONTENT_TYPE, Envelope, SPEC_VERSION};
use crate::trace_context::is_carried_tracestate;
use crate::{Message, Problem};

/// Largest message body accepted (256 KiB); a real invoice is a few KiB.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;
/// Deepest JSON nesting accepted, counting the envelope object as 1. Our deepest message needs 5;
/// deeply nested JSON is a denial-of-service input class, refused before any parser recursion.
pub const MAX_JSON_DEPTH: usize = 32;
/// Longest [`DecodeError::reason`] in bytes (it goes into an AMQP header and a rejected event).
pub const MAX_REASON_BYTES: usize = 1024;
/// Longest `id`, `source`, `type` or `subject` attribute accepted.
pub const MAX_ATTRIBUTE_CHARS: usize = 256;

/// Why a message could not be read. Nothing here holds a value from the message except the
/// (pattern-checked) type and a sanitised content type; [`DecodeError::reason`] hides any long
/// digit run in those two (`billing.invoice.issued.v0101901234` is a well-formed type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The body is larger than [`MAX_MESSAGE_BYTES`].
    TooLarge {
        /// The body's size in bytes.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The JSON nests deeper than [`MAX_JSON_DEPTH`].
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// The body is not UTF-8 JSON (the parser's message, with line and column).
    NotJson(String),
    /// The JSON is not a CloudEvents 1.0 event as we require it; every problem found.
    NotCloudEvent(Vec<Problem>),
    /// `datacontenttype` is something other than `application/json`.
    UnsupportedContentType(String),
    /// The type is well-formed but not one this consumer (or the contract) knows.
    UnknownType(String),
    /// The envelope's type is not the one the caller asked to decode.
    WrongType {
        /// The type asked for.
        expected: &'static str,
        /// The envelope's type.
        found: String,
    },
    /// The data does not fit the message type: the serde error with its path, or every
    /// validation problem.
    InvalidData(Vec<Problem>),
}

impl DecodeError {
    /// One line for the dead-letter header and the rejected event: at most [`MAX_REASON_BYTES`]
    /// bytes, no control characters, no personal data.
    pub fn reason(&self) -> String {
        let summary = self.summary();
        let text = match self {
            DecodeError::TooLarge { size, limit } => {
                format!("{summary}: {size} bytes, the limit is {limit}")
            }
            DecodeError::TooDeep { limit } => {
                format!("{summary}: JSON nests deeper than {limit} levels")
            }
            DecodeError::NotJson(message) => format!("{summary}: {message}"),
            DecodeError::NotCloudEvent(problems) | DecodeError::InvalidData(problems) => {
                format!("{summary}: {}", join(problems))
            }
            // The type and content type are shown to name the problem, but they are input: a
            // national id can hide in a type's version digits or a media type's subtype.
            DecodeError::UnsupportedContentType(found) => {
                let found = hide_digit_runs(found);
                format!("{summary} {found:?}, expected {DATA_CONTENT_TYPE}")
            }
            DecodeError::UnknownType(found) => format!("{summary} {}", hide_digit_runs(found)),
            DecodeError::WrongType { expected, found } => {
                format!("{summary} {}, expected {expected}", hide_digit_runs(found))
            }
        };
        one_line(&text, MAX_REASON_BYTES)
    }

    /// What kind of failure, in a few words (`invalid data`, `not a CloudEvent`, …): the start of
    /// [`DecodeError::reason`], for a caller that lists the problems itself.
    pub fn summary(&self) -> &'static str {
        match self {
            DecodeError::TooLarge { .. } => "too large",
            DecodeError::TooDeep { .. } => "too deep",
            DecodeError::NotJson(_) => "not JSON",
            DecodeError::NotCloudEvent(_) => "not a CloudEvent",
            DecodeError::UnsupportedContentType(_) => "unsupported datacontenttype",
            DecodeError::UnknownType(_) => "unknown message type",
            DecodeError::WrongType { .. } => "wrong message type",
            DecodeError::InvalidData(_) => "invalid data",
        }
    }

    /// The individual problems, for `MessageRejected::problems` (empty for the other kinds).
    pub fn problems(&self) -> &[Problem] {
        match self {
            DecodeError::NotCloudEvent(problems) | DecodeError::InvalidData(problems) => problems,
            _ => &[],
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason())
    }
}

impl std::error::Error for DecodeError {}

fn join(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(Problem::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Replaces control characters with spaces and cuts at a char boundary, marking the cut with `…`.
fn one_line(text: &str, max_bytes: usize) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if clean.len() <= max_bytes {
        return clean;
    }
    let mut end = max_bytes - '…'.len_utf8();
    while !clean.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &clean[..end])
}

/// Reads the bytes of an AMQP body as a CloudEvents 1.0 structured-mode event with JSON data.
///
/// Checks, in order: size, nesting depth, JSON syntax, then every attribute at once —
/// `specversion` is `"1.0"`; `id`, `source`, `type` are non-empty strings; `type` matches
/// `<producer>.<entity>.<event>.v<major>`; `time` is RFC 3339 (years 0000–9999 in UTC); `datacontenttype` is absent or
/// `application/json`; `data` is a JSON object. Unknown attributes (extensions) are ignored.
/// Whether the type is one we know is the caller's question (see [`decode_data`]).
pub fn decode_envelope(bytes: &[u8]) -> Result<Envelope<Value>, DecodeError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(DecodeError::TooLarge {
            size: bytes.len(),
            limit: MAX_MESSAGE_BYTES,
        });
    }
    if nests_deeper_than(bytes, MAX_JSON_DEPTH) {
        return Err(DecodeError::TooDeep {
            limit: MAX_JSON_DEPTH,
        });
    }
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| DecodeError::NotJson(e.to_string()))?;
    let Value::Object(mut map) = value else {
        return Err(DecodeError::NotCloudEvent(vec![Problem::new(
            "",
            "must be a JSON object",
        )]));
    };

    let mut problems = Vec::new();
    match map.get("specversion") {
        None | Some(Value::Null) => problems.push(Problem::new("specversion", "is required")),
        Some(Value::String(s)) if s == SPEC_VERSION => {}
        Some(_) => problems.push(Problem::new("specversion", "must be \"1.0\"")),
    }
    let id = required_string(&map, "id", &mut problems);
    let source = required_string(&map, "source", &mut problems);
    let r#type = required_string(&map, "type", &mut problems);
    if let Some(t) = &r#type
        && !is_valid_type(t)
    {
        problems.push(Problem::new(
            "type",
            "must match <producer>.<entity>.<event>.v<major>, lowercase letters and '_'",
        ));
    }
    let time = time_attribute(&map, &mut problems);
    let mut unsupported_content_type = None;
    let datacontenttype = match map.get("datacontenttype") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if is_json_media_type(s) => Some(s.clone()),
        Some(Value::String(s)) => {
            unsupported_content_type = Some(sanitise_media_type(s));
            problems.push(Problem::new(
                "datacontenttype",
                format!("must be {DATA_CONTENT_TYPE}"),
            ));
            None
        }
        Some(_) => {
            problems.push(Problem::new("datacontenttype", "must be a string"));
            None
        }
    };
    let subject = subject_attribute(&map, &mut problems);
    let (traceparent, tracestate) = trace_attributes(&map);
    let data = match map.remove("data") {
        None | Some(Value::Null) => {
            problems.push(Problem::new("data", "is required"));
            None
        }
        Some(data @ Value::Object(_)) => Some(data),
        Some(_) => {
            problems.push(Problem::new("data", "must be a JSON object"));
            None
        }
    };

    match (id, source, r#type, time, data) {
        (Some(id), Some(source), Some(r#type), Some(time), Some(data)) if problems.is_empty() => {
            Ok(Envelope {
                specversion: SPEC_VERSION.to_owned(),
                id,
                source,
                r#type,
                time,
                datacontenttype,
                subject,
                traceparent,
                tracestate,
                data,
            })
        }
        _ => match unsupported_content_type {
            // A content type we cannot read is the whole story only when nothing else is wrong.
            Some(found) if problems.len() == 1 => Err(DecodeError::UnsupportedContentType(found)),
            _ => Err(DecodeError::NotCloudEvent(problems)),
        },
    }
}

/// Decodes the envelope's `data` as `T` and validates it.
///
/// A missing or ill-typed field is reported with its path (`data.amount: invalid type: floating
/// point, expected an amount as a string …`); serde stops at the first such error. A message that
/// deserialises is then validated and *every* problem is reported.
pub fn decode_data<T: Message>(env: &Envelope<Value>) -> Result<T, DecodeError> {
    if env.r#type != T::TYPE {
        return Err(DecodeError::WrongType {
            expected: T::TYPE,
            found: env.r#type.clone(),
        });
    }
    decode_value::<T>(&env.data)
}

/// The `time` attribute: RFC 3339, years 0000–9999 in UTC.
fn time_attribute(map: &Map<String, Value>, problems: &mut Vec<Problem>) -> Option<DateTime<Utc>> {
    match map.get("time") {
        None | Some(Value::Null) => {
            problems.push(Problem::new("time", "is required"));
            None
        }
        Some(Value::String(s)) => match DateTime::parse_from_rfc3339(s) {
            // An offset can carry a valid timestamp out of RFC 3339's four-digit years once in
            // UTC (9999-12-31T23:59:59-01:00); such a time could never be written again.
            Ok(t) if !(0..=9999).contains(&t.with_timezone(&Utc).year()) => {
                problems.push(Problem::new(
                    "time",
                    "must be between the years 0000 and 9999 in UTC",
                ));
                None
            }
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(_) => {
                problems.push(Problem::new(
                    "time",
                    "must be an RFC 3339 timestamp like 2026-12-01T06:00:00Z",
                ));
                None
            }
        },
        Some(_) => {
            problems.push(Problem::new("time", "must be a string"));
            None
        }
    }
}

/// The optional `subject` attribute: one line of at most [`MAX_ATTRIBUTE_CHARS`] characters.
fn subject_attribute(map: &Map<String, Value>, problems: &mut Vec<Problem>) -> Option<String> {
    match map.get("subject") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.chars().count() > MAX_ATTRIBUTE_CHARS => {
            problems.push(Problem::new(
                "subject",
                format!("must be at most {MAX_ATTRIBUTE_CHARS} characters"),
            ));
            None
        }
        // Like id, source and type: an attribute is one line, shown in logs and tools.
        Some(Value::String(s)) if s.chars().any(char::is_control) => {
            problems.push(Problem::new(
                "subject",
                "must not contain control characters",
            ));
            None
        }
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            problems.push(Problem::new("subject", "must be a string"));
            None
        }
    }
}

/// `traceparent` and `tracestate` as they came, when they are one-line strings of a sane
/// length; anything else is left out. Never a problem: tracing must not cost a message
/// ([`crate::trace_context`]); whether `traceparent` parses is the consumer's question.
fn trace_attributes(map: &Map<String, Value>) -> (Option<String>, Option<String>) {
    let traceparent = match map.get("traceparent") {
        Some(Value::String(s)) if s.len() <= 128 && !s.chars().any(char::is_control) => {
            Some(s.clone())
        }
        _ => None,
    };
    let tracestate = match map.get("tracestate") {
        Some(Value::String(s)) if traceparent.is_some() && is_carried_tracestate(s) => {
            Some(s.clone())
        }
        _ => None,
    };
    (traceparent, tracestate)
}

impl Envelope<Value> {
    /// Decodes and validates `data` as `T` (see [`decode_data`]), keeping the attributes. Here
    /// rather than in `envelope.rs`, so that the envelope does not depend on decoding.
    pub fn into_typed<T: Message>(self) -> Result<Envelope<T>, DecodeError> {
        let data = decode_data::<T>(&self)?;
        Ok(self.map_data(|_| data))
    }
}

/// Deserialises `data` as `T` (errors with paths rooted at `data`) and validates it.
pub(crate) fn decode_value<T: DeserializeOwned + crate::Validate>(
    data: &Value,
) -> Result<T, DecodeError> {
    let message: T = serde_path_to_error::deserialize(data).map_err(|e| {
        let path = match e.path().to_string().as_str() {
            "." => "data".to_owned(),
            path => format!("data.{path}"),
        };
        DecodeError::InvalidData(vec![Problem::new(
            path,
            describe_serde_error(&e.inner().to_string()),
        )])
    })?;
    let problems = message.validate();
    if problems.is_empty() {
        Ok(message)
    } else {
        Err(DecodeError::InvalidData(problems))
    }
}

/// serde's messages quote the offending value (`invalid type: string "0101901234", expected …`);
/// keep what is wrong and what was expected, drop the value.
fn describe_serde_error(message: &str) -> String {
    const EXPECTED: &str = ", expected ";
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            // "floating point `2150.5`" → "floating point"; the value may contain anything,
            // so take the kind up to the first quote and the expectation after the last marker.
            let kind = rest
                .split(['`', '"', '\'', ','])
                .next()
                .unwrap_or("")
                .trim();
            let expected = rest.rfind(EXPECTED).map(|i| &rest[i..]).unwrap_or("");
            return bounded(format!("{prefix}{kind}{expected}"));
        }
    }
    if message.starts_with("unknown variant ") {
        let expected = message.rfind(EXPECTED).map(|i| &message[i..]).unwrap_or("");
        return bounded(format!("unknown variant{expected}"));
    }
    if message.starts_with("missing field ")
        || message.starts_with("duplicate field ")
        || message.starts_with("invalid length ")
    {
        return bounded(message.to_owned());
    }
    // A custom message from a field type (Money, NationalId, dates). Ours never quote input; as a
    // guard against one that does, hide any long digit run (a national id, an account number).
    bounded(hide_digit_runs(message))
}

fn bounded(message: String) -> String {
    one_line(&message, 300)
}

/// `text` with every run of 6 or more digits replaced by `…`: a national id (or a phone number)
/// that hides in a well-formed attribute — a type's version digits, a media type — must not reach
/// a log line or a reason. Short numbers (`v12`) stay.
pub fn hide_digit_runs(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut run = String::new();
    for c in message.chars().chain(std::iter::once('\0')) {
        if c.is_ascii_digit() {
            run.push(c);
            continue;
        }
        if run.len() >= 6 {
            out.push('…');
        } else {
            out.push_str(&run);
        }
        run.clear();
        if c != '\0' {
            out.push(c);
        }
    }
    out
}

fn required_string(
    map: &Map<String, Value>,
    name: &'static str,
    problems: &mut Vec<Problem>,
) -> Option<String> {
    match map.get(name) {
        None | Some(Value::Null) => problems.push(Problem::new(name, "is required")),
        Some(Value::String(s)) if s.is_empty() => {
            problems.push(Problem::new(name, "must not be empty"))
        }
        Some(Value::String(s)) if s.chars().count() > MAX_ATTRIBUTE_CHARS => {
            problems.push(Problem::new(
                name,
                format!("must be at most {MAX_ATTRIBUTE_CHARS} characters"),
            ));
        }
        Some(Value::String(s)) if s.chars().any(char::is_control) => {
            problems.push(Problem::new(name, "must not contain control characters"));
        }
        Some(Value::String(s)) => return Some(s.clone()),
        Some(_) => problems.push(Problem::new(name, "must be a string")),
    }
    None
}

/// `<producer>.<entity>.<event>.v<major>`: `^[a-z][a-z_]*\.[a-z][a-z_]*\.[a-z][a-z_]*\.v[0-9]+$`.
pub fn is_valid_type(t: &str) -> bool {
    let parts: Vec<&str> = t.split('.').collect();
    let word = |w: &str| {
        let mut bytes = w.bytes();
        bytes.next().is_some_and(|b| b.is_ascii_lowercase())
            && bytes.all(|b| b.is_ascii_lowercase() || b == b'_')
    };
    match parts.as_slice() {
        [producer, entity, event, version] => {
            word(producer)
                && word(entity)
                && word(event)
                && version
                    .strip_prefix('v')
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        }
        _ => false,
    }
}

/// `application/json`, in any letter case, optionally with parameters (`; charset=utf-8`).
fn is_json_media_type(s: &str) -> bool {
    s.split(';')
        .next()
        .is_some_and(|base| base.trim().eq_ignore_ascii_case(DATA_CONTENT_TYPE))
}

/// A content type is not personal data, but it is input: keep it short and printable.
fn sanitise_media_type(s: &str) -> String {
    let printable = s.chars().all(|c| c.is_ascii_graphic() || c == ' ');
    if printable && s.len() <= 100 {
        s.to_owned()
    } else {
        "(unprintable or too long)".to_owned()
    }
}

/// Whether the JSON text nests arrays/objects deeper than `limit`, scanning bytes without
/// recursion (strings and escapes are skipped; syntax is the parser's job).
fn nests_deeper_than(bytes: &[u8], limit: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_values_are_dropped_from_messages() {
        assert_eq!(
            describe_serde_error("invalid type: floating point `2150.5`, expected a string"),
            "invalid type: floating point, expected a string"
        );
        assert_eq!(
            describe_serde_error("invalid type: string \"0101901234\", expected u32"),
            "invalid type: string, expected u32"
        );
        assert_eq!(
            describe_serde_error("invalid type: string \"Ane, expected Hansen\", expected u32"),
            "invalid type: string, expected u32"
        );
        assert_eq!(
            describe_serde_error(
                "unknown variant `public`, expected one of `none`, `confidential`"
            ),
            "unknown variant, expected one of `none`, `confidential`"
        );
        assert_eq!(
            describe_serde_error("missing field `amount`"),
            "missing field `amount`"
        );
        assert_eq!(
            describe_serde_error("bad id 0101901234 here"),
            "bad id … here"
        );
        assert_eq!(
            describe_serde_error("premature end of input"),
            "premature end of input"
        );
    }

    #[test]
    fn the_type_pattern() {
        for good in [
            "billing.invoice.issued.v1",
            "invoicing.claim.balance_changed.v12",
            "a.b.c.v0",
        ] {
            assert!(is_valid_type(good), "{good}");
        }
        for bad in [
            "",
            "billing.invoice.issued",
            "billing.invoice.issued.v",
            "billing.invoice.issued.1",
            "Billing.invoice.issued.v1",
            "billing.invoice.issued.v1.x",
            "billing..issued.v1",
            "_billing.invoice.issued.v1",
            "billing.invoice.issued.v1 ",
            "billing.invoice.is-sued.v1",
            "billing.invoice.issued.V1",
            "billing.inv0ice.issued.v1",
        ] {
            assert!(!is_valid_type(bad), "{bad}");
        }
    }

    #[test]
    fn depth_counts_brackets_outside_strings_only() {
        assert!(!nests_deeper_than(br#"{"a":[1,{"b":2}]}"#, 3));
        assert!(nests_deeper_than(br#"{"a":[1,{"b":[2]}]}"#, 3));
        assert!(!nests_deeper_than(br#"{"a":"[[[[[[{{{{"}"#, 1));
        assert!(!nests_deeper_than(br#"{"a":"\"[[[["}"#, 1));
    }

    #[test]
    fn reasons_are_one_bounded_line() {
        let long = DecodeError::InvalidData(vec![Problem::new("data.x", "é\n".repeat(2000)); 3]);
        let reason = long.reason();
        assert!(reason.len() <= MAX_REASON_BYTES, "{}", reason.len());
        assert!(!reason.contains('\n'));
        assert!(reason.ends_with('…'));
    }
}
