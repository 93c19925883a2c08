//! W3C trace context in the envelope: the CloudEvents distributed-tracing extension.
//!
//! Every message may carry `traceparent` (`00-<32 hex trace id>-<16 hex parent id>-<2 hex
//! flags>`) and `tracestate` as top-level attributes. A consumer continues the trace; an
//! absent or malformed `traceparent` only means the handling starts a new trace — a message
//! is never rejected for it (`decode_envelope` keeps the attribute as it came; [`TraceParent::parse`]
//! decides).

use std::fmt;

/// The longest `tracestate` kept (W3C: 32 members of at most 256 bytes would be more, but
/// vendors keep it short; longer is dropped rather than carried).
pub const MAX_TRACESTATE_CHARS: usize = 512;

/// A parsed `traceparent`: the trace, the span that caused this one, and whether it is sampled.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceParent {
    /// The trace id (16 bytes, never all zero).
    pub trace_id: [u8; 16],
    /// The id of the span this one continues (8 bytes, never all zero).
    pub span_id: [u8; 8],
    /// The `sampled` flag: a span exporter records only sampled traces.
    pub sampled: bool,
}

impl TraceParent {
    /// Parses version `00` exactly, and a later version by its first four fields (as the W3C
    /// recommendation says). `None` for anything else: all-zero ids, wrong lengths, upper case.
    pub fn parse(header: &str) -> Option<TraceParent> {
        let header = header.trim();
        let bytes = header.as_bytes();
        if bytes.len() < 55 {
            return None;
        }
        let version = hex_byte(&bytes[0..2])?;
        if version == 0xff || (version == 0 && bytes.len() != 55) {
            return None;
        }
        if version > 0 && bytes.len() > 55 && bytes[55] != b'-' {
            return None;
        }
        if bytes[2] != b'-' || bytes[35] != b'-' || bytes[52] != b'-' {
            return None;
        }
        let mut trace_id = [0u8; 16];
        for (i, b) in trace_id.iter_mut().enumerate() {
            *b = hex_byte(&bytes[3 + 2 * i..5 + 2 * i])?;
        }
        let mut span_id = [0u8; 8];
        for (i, b) in span_id.iter_mut().enumerate() {
            *b = hex_byte(&bytes[36 + 2 * i..38 + 2 * i])?;
        }
        let flags = hex_byte(&bytes[53..55])?;
        if trace_id == [0; 16] || span_id == [0; 8] {
            return None;
        }
        Some(TraceParent {
            trace_id,
            span_id,
            sampled: flags & 1 == 1,
        })
    }

    /// The trace id as 32 lower-case hex digits (what log lines carry as `trace_id`).
    pub fn trace_id_hex(&self) -> String {
        hex(&self.trace_id)
    }

    /// The span id as 16 lower-case hex digits.
    pub fn span_id_hex(&self) -> String {
        hex(&self.span_id)
    }
}

/// The header value, version `00`.
impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{}-{}-{:02x}",
            hex(&self.trace_id),
            hex(&self.span_id),
            u8::from(self.sampled)
        )
    }
}

impl fmt::Debug for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceParent({self})")
    }
}

/// Whether a `tracestate` value is worth carrying on: one line, not too long.
pub fn is_carried_tracestate(value: &str) -> bool {
    value.len() <= MAX_TRACESTATE_CHARS && !value.chars().any(char::is_control)
}

fn hex_byte(two: &[u8]) -> Option<u8> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    Some((nibble(two[0])? << 4) | nibble(two[1])?)
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn the_w3c_example_parses_and_prints_back_the_same() {
        let tp = TraceParent::parse(EXAMPLE).expect("valid");
        assert_eq!(tp.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(tp.span_id_hex(), "00f067aa0ba902b7");
        assert!(tp.sampled);
        assert_eq!(tp.to_string(), EXAMPLE);
    }

    #[test]
    fn malformed_traceparents_are_refused() {
        for bad in [
            "",
            "garbage",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert_eq!(TraceParent::parse(bad), None, "{bad:?}");
        }
    }

    fn event(extra: &str) -> String {
        format!(
            r#"{{"specversion":"1.0","id":"d1","source":"/restance/cli","type":"calendar.day.opened.v1",
            "time":"2026-12-16T05:00:00Z"{extra},"data":{{"date":"2026-12-16"}}}}"#
        )
    }

    #[test]
    fn an_envelope_round_trips_with_its_trace_context() {
        let bytes = event(&format!(
            r#","traceparent":"{EXAMPLE}","tracestate":"vendor=abc""#
        ));
        let env = crate::decode_envelope(bytes.as_bytes()).expect("decodes");
        assert_eq!(env.traceparent.as_deref(), Some(EXAMPLE));
        assert_eq!(env.tracestate.as_deref(), Some("vendor=abc"));
        let again =
            crate::decode_envelope(&env.to_json_bytes().expect("json")).expect("decodes again");
        assert_eq!(again, env);
    }

    #[test]
    fn an_envelope_without_trace_context_round_trips_without_it() {
        let env = crate::decode_envelope(event("").as_bytes()).expect("decodes");
        assert_eq!(
            (env.traceparent.as_deref(), env.tracestate.as_deref()),
            (None, None)
        );
        let json = String::from_utf8(env.to_json_bytes().expect("json")).expect("utf-8");
        assert!(
            !json.contains("traceparent") && !json.contains("tracestate"),
            "{json}"
        );
        let traced = env
            .to_json_bytes_traced(EXAMPLE, Some("vendor=abc"))
            .expect("json");
        let traced = crate::decode_envelope(&traced).expect("decodes");
        assert_eq!(traced.traceparent.as_deref(), Some(EXAMPLE));
        assert_eq!(traced.tracestate.as_deref(), Some("vendor=abc"));
        assert_eq!(traced.data, env.data);
    }

    #[test]
    fn a_malformed_trace_context_never_rejects_a_message() {
        for extra in [
            r#","traceparent":"00-not-a-trace""#,
            r#","traceparent":42,"tracestate":"x=1""#,
            r#","traceparent":null"#,
            r#","tracestate":{"a":1}"#,
        ] {
            let env = crate::decode_envelope(event(extra).as_bytes())
                .unwrap_or_else(|e| panic!("{extra}: {e}"));
            assert!(
                env.traceparent
                    .as_deref()
                    .and_then(TraceParent::parse)
                    .is_none()
            );
        }
    }

    #[test]
    fn a_later_version_is_read_by_its_first_fields() {
        let later = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-what-comes";
        let tp = TraceParent::parse(later).expect("valid");
        assert!(!tp.sampled);
        assert_eq!(
            tp.to_string(),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"
        );
    }
}
