//! Base64 as the contract uses it for file content (RFC 4648 §4): the standard alphabet
//! (`A–Z a–z 0–9 + /`), `=` padding to a multiple of four characters, no line breaks or other
//! whitespace, and no stray bits in the last character (one byte string has exactly one
//! encoding, so equal files give equal messages and equal idempotency hashes).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// `bytes` in standard base64 with padding.
pub(crate) fn encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// The bytes `text` encodes; `None` when it is not strict base64. The `base64` crate's
/// `STANDARD` engine requires canonical padding and refuses stray trailing bits and whitespace.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text).ok()
}

/// The number of bytes `text` decodes to; `None` when it is not strict base64.
pub(crate) fn decoded_len(text: &str) -> Option<usize> {
    decode(text).map(|bytes| bytes.len())
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
