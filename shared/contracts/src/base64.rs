//! Base64 as the contract uses it for file content (RFC 4648 §4): the standard alphabet
//! (`A–Z a–z 0–9 + /`), `=` padding to a multiple of four characters, no line breaks or other
//! whitespace, and no stray bits in the last character (one byte string has exactly one
//! encoding, so equal files give equal messages and equal idempotency hashes).

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `bytes` in standard base64 with padding.
pub(crate) fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn value(c: u8) -> Option<u32> {
    match c {
        b'A'..=b'Z' => Some(u32::from(c - b'A')),
        b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
        b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Walks `text` as strict base64, handing each decoded byte to `out`; `None` when it is not.
fn walk(text: &str, mut out: impl FnMut(u8)) -> Option<usize> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    let quads = bytes.len() / 4;
    let mut decoded = 0usize;
    for (q, quad) in bytes.chunks(4).enumerate() {
        let last = q + 1 == quads;
        let pad = match (quad[2], quad[3]) {
            (b'=', b'=') if last => 2,
            (_, b'=') if last => 1,
            _ => 0,
        };
        let mut n = 0u32;
        for &c in &quad[..4 - pad] {
            n = (n << 6) | value(c)?;
        }
        n <<= 6 * pad as u32;
        let produced = 3 - pad;
        // The bits beyond the last byte must be zero (one canonical encoding).
        if pad > 0 && n & ((1u32 << (8 * pad)) - 1) != 0 {
            return None;
        }
        for i in 0..produced {
            out(((n >> (16 - 8 * i)) & 0xff) as u8);
        }
        decoded += produced;
    }
    Some(decoded)
}

/// The number of bytes `text` decodes to; `None` when it is not strict base64.
pub(crate) fn decoded_len(text: &str) -> Option<usize> {
    walk(text, |_| {})
}

/// The bytes `text` encodes; `None` when it is not strict base64.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    let mut bytes = Vec::with_capacity(text.len() / 4 * 3);
    walk(text, |b| bytes.push(b))?;
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_4648_test_vectors_encode_and_decode() {
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(encode(plain.as_bytes()), encoded);
            assert_eq!(decode(encoded).as_deref(), Some(plain.as_bytes()));
            assert_eq!(decoded_len(encoded), Some(plain.len()));
        }
    }

    #[test]
    fn every_byte_value_survives_the_round_trip() {
        let all: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
        for len in 0..all.len() {
            let encoded = encode(&all[..len]);
            assert_eq!(decode(&encoded).as_deref(), Some(&all[..len]), "{len}");
        }
        assert_eq!(encode(&[0xfb, 0xff]), "+/8=");
    }

    #[test]
    fn anything_but_strict_padded_base64_is_refused() {
        for bad in [
            "Zg", "Zg=", "Zm9v\n", "Zm 9v", "Zm9v====", "Z===", "Zh==", "Zm9=", "=Zm9", "Zg==Zm9v",
            "Zm-v", "Zm_v", "Zm9vYg", "ÆÆÆÆ",
        ] {
            assert_eq!(decoded_len(bad), None, "{bad:?}");
            assert_eq!(decode(bad), None, "{bad:?}");
        }
    }
}
