//! What the fuzz targets assert beyond "no panic".
//!
//! A refusal becomes a dead-letter header and a `*.message.rejected.v1` event that other systems
//! read, so its reason must be fit to publish: non-empty, one line, bounded, and never an echo of
//! a national-id-like digit run from the input. An accepted message is re-published by the
//! services (outboxes, the CLI), so it must serialise and decode again to the same value.
//!
//! The targets in `fuzz_targets/` only pick the decoder; the checks live here so all three
//! assert the same things.

use std::fmt::Debug;

use restance_contracts::{
    DecodeError, Envelope, InvoiceIssued, MAX_REASON_BYTES, Message, PaymentReceived, decode_data,
    decode_envelope, validate_dynamic,
};
use serde_json::Value;

/// A digit run this long looks like a national id (CPR has 10 digits, fødselsnummer 11).
const ID_DIGITS: usize = 10;

/// Attributes of the envelope the typed targets wrap their bytes in. No long digit runs, so any
/// such run in a reason can only have come from the fuzzer's bytes.
const WRAP_ID: &str = "fuzz-wrapped";
const WRAP_SOURCE: &str = "/fuzz/contracts";
const WRAP_TIME: &str = "2026-12-01T06:00:00Z";

/// Any body, any type: the envelope, then the by-name validator every consumer's dispatch uses.
pub fn check_any_message(bytes: &[u8]) {
    let env = match decode_envelope(bytes) {
        Ok(env) => env,
        Err(err) => return assert_fit_to_publish(&err, bytes),
    };
    assert_envelope_round_trips(&env);
    let dynamic = validate_dynamic(&env.r#type, &env.data);
    if let Err(err) = &dynamic {
        assert_fit_to_publish(err, bytes);
    }
    // The typed decoders must agree with the by-name one, and what they accept must round-trip.
    if env.r#type == InvoiceIssued::TYPE {
        check_typed::<InvoiceIssued>(&env, bytes, Some(&dynamic));
    } else if env.r#type == PaymentReceived::TYPE {
        check_typed::<PaymentReceived>(&env, bytes, Some(&dynamic));
    }
}

/// The bytes as a whole body of type `T`, and as `T`'s data inside a valid envelope — the second
/// reaches the data decoder on most inputs instead of stopping at the envelope.
pub fn check_message<T: Message + PartialEq + Debug>(bytes: &[u8]) {
    if let Ok(env) = decode_envelope(bytes) {
        check_typed::<T>(&env, bytes, None);
    }
    let wrapped = wrap_as_data(T::TYPE, bytes);
    match decode_envelope(&wrapped) {
        Ok(env) => {
            assert_envelope_round_trips(&env);
            check_typed::<T>(&env, &wrapped, None);
        }
        Err(err) => assert_fit_to_publish(&err, &wrapped),
    }
}

/// `{…attributes…,"data":<bytes>}`: a valid envelope whenever the bytes are a JSON object.
fn wrap_as_data(type_: &str, bytes: &[u8]) -> Vec<u8> {
    let head = format!(
        r#"{{"specversion":"1.0","id":"{WRAP_ID}","source":"{WRAP_SOURCE}","type":"{type_}","time":"{WRAP_TIME}","datacontenttype":"application/json","data":"#
    );
    let mut out = Vec::with_capacity(head.len() + bytes.len() + 1);
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(bytes);
    out.push(b'}');
    out
}

/// Decodes `env` as `T`; a refusal must be fit to publish, an acceptance must round-trip, and
/// both must agree with [`validate_dynamic`] when its answer is given.
fn check_typed<T: Message + PartialEq + Debug>(
    env: &Envelope<Value>,
    input: &[u8],
    dynamic: Option<&Result<(), DecodeError>>,
) {
    let typed = decode_data::<T>(env);
    if let Some(dynamic) = dynamic {
        assert_eq!(
            typed.as_ref().map(drop).map_err(DecodeError::reason),
            dynamic.as_ref().map(drop).map_err(DecodeError::reason),
            "decode_data::<{}> and validate_dynamic disagree",
            T::TYPE
        );
    }
    match typed {
        Ok(message) => assert_message_round_trips(env, message),
        Err(err) => assert_fit_to_publish(&err, input),
    }
}

/// An accepted envelope, serialised again, decodes to the same envelope.
fn assert_envelope_round_trips(env: &Envelope<Value>) {
    let bytes = env
        .to_json_bytes()
        .unwrap_or_else(|e| panic!("an accepted envelope does not serialise: {e}"));
    match decode_envelope(&bytes) {
        Ok(again) => assert_eq!(&again, env, "the envelope changed on a round trip"),
        Err(err) => panic!(
            "an accepted envelope is refused after a round trip: {}\n{}",
            err.reason(),
            String::from_utf8_lossy(&bytes)
        ),
    }
}

/// An accepted message, published again with the same attributes, decodes to the same message.
fn assert_message_round_trips<T: Message + PartialEq + Debug>(env: &Envelope<Value>, message: T) {
    let typed = Envelope {
        specversion: env.specversion.clone(),
        id: env.id.clone(),
        source: env.source.clone(),
        r#type: env.r#type.clone(),
        time: env.time,
        datacontenttype: env.datacontenttype.clone(),
        subject: env.subject.clone(),
        traceparent: env.traceparent.clone(),
        tracestate: env.tracestate.clone(),
        data: message,
    };
    let bytes = typed
        .to_json_bytes()
        .unwrap_or_else(|e| panic!("an accepted {} does not serialise: {e}", T::TYPE));
    let again = decode_envelope(&bytes).and_then(Envelope::into_typed::<T>);
    match again {
        Ok(again) => assert_eq!(again, typed, "{} changed on a round trip", T::TYPE),
        Err(err) => panic!(
            "an accepted {} is refused after a round trip: {}\n{}",
            T::TYPE,
            err.reason(),
            String::from_utf8_lossy(&bytes)
        ),
    }
}

/// The reason (and every listed problem) is non-empty, one line, bounded, and echoes no
/// national-id-like digit run of `input` — neither as raw bytes nor as a decoded JSON string.
pub fn assert_fit_to_publish(err: &DecodeError, input: &[u8]) {
    let reason = err.reason();
    assert!(!reason.is_empty(), "empty reason for {err:?}");
    assert!(
        reason.starts_with(err.summary()),
        "the reason does not start with its summary: {reason}"
    );
    assert!(
        reason.len() <= MAX_REASON_BYTES,
        "a reason of {} bytes: {reason}",
        reason.len()
    );
    let decoded = decoded_text(input);
    assert_publishable("the reason", &reason, input, &decoded);
    for problem in err.problems() {
        assert!(
            !problem.path.is_empty() || !problem.message.is_empty(),
            "an empty problem in {reason}"
        );
        assert!(
            problem.path.len() <= MAX_REASON_BYTES && problem.message.len() <= MAX_REASON_BYTES,
            "an unbounded problem: {problem}"
        );
        assert_publishable("a problem path", &problem.path, input, &decoded);
        assert_publishable("a problem message", &problem.message, input, &decoded);
    }
}

fn assert_publishable(what: &str, text: &str, input: &[u8], decoded: &[u8]) {
    if let Some(c) = text.chars().find(|&c| breaks_the_line(c)) {
        panic!("{what} is not one line (U+{:04X}): {text:?}", u32::from(c));
    }
    if let Some(run) = echoed_id_digits(text, input, decoded) {
        panic!("{what} echoes the input's digit run {run}: {text}");
    }
}

/// Control characters and the Unicode line and paragraph separators.
fn breaks_the_line(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

/// The first [`ID_DIGITS`]-digit window of a digit run in `text` that also occurs in the input.
fn echoed_id_digits<'a>(text: &'a str, input: &[u8], decoded: &[u8]) -> Option<&'a str> {
    let bytes = text.as_bytes();
    let mut start = 0;
    while start < bytes.len() {
        if !bytes[start].is_ascii_digit() {
            start += 1;
            continue;
        }
        let end = bytes[start..]
            .iter()
            .position(|b| !b.is_ascii_digit())
            .map_or(bytes.len(), |n| start + n);
        for at in start..(end.saturating_sub(ID_DIGITS - 1)).max(start) {
            let window = &bytes[at..at + ID_DIGITS];
            if contains(input, window) || contains(decoded, window) {
                // ASCII digits, so the window is on char boundaries.
                return text.get(at..at + ID_DIGITS);
            }
        }
        start = end;
    }
    None
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every string, key and number of the input as JSON, after unescaping (`"\u0030…"` is digits
/// too); empty when the input is not JSON.
fn decoded_text(input: &[u8]) -> Vec<u8> {
    fn walk(value: &Value, out: &mut Vec<u8>) {
        match value {
            Value::String(s) => {
                out.extend_from_slice(s.as_bytes());
                out.push(b' ');
            }
            Value::Number(n) => {
                out.extend_from_slice(n.to_string().as_bytes());
                out.push(b' ');
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            Value::Object(map) => {
                for (key, v) in map {
                    out.extend_from_slice(key.as_bytes());
                    out.push(b' ');
                    walk(v, out);
                }
            }
            Value::Null | Value::Bool(_) => {}
        }
    }
    let mut out = Vec::new();
    if let Ok(value) = serde_json::from_slice::<Value>(input) {
        walk(&value, &mut out);
    }
    out
}
