//! Bearer tokens with roles for caseworker endpoints (`RESTANCE__API__TOKENS=token:role[:name],…`).
//!
//! The optional name is who the audit trail records (a caseworker's initials or user id, e.g.
//! `…:caseworker:mhj`). A token without a name is recorded as `token#<position>(unnamed-<role>)`,
//! e.g. `token#1(unnamed-caseworker)`: the position in the list and the role, in a form no
//! configured name can take (names are letters, digits and `._-@`), so the trail never shows an
//! unnamed token as if it were a person (`caseworker#1`, the earlier form, did). It has no
//! whitespace because the name also travels in events whose contract treats it as an id
//! (`dunning.write_off.approved.v1`'s `approved_by`).
//!
//! Tokens are checked in constant time with respect to the token: only the SHA-256 digest of
//! each configured token is kept, and a request's token is hashed and compared with **every**
//! digest without stopping at a match (no early exit, no hash-map probe whose timing depends on
//! the token's bytes). A token is trimmed before the 16-character minimum is checked.

use axum::http::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// The shortest token accepted (after trimming).
pub const MIN_TOKEN_CHARS: usize = 16;

/// Who may do what, parsed from the configured token list.
#[derive(Clone, Default)]
pub struct ApiTokens {
    /// In configuration order; a token listed twice is the later entry (as before).
    entries: Vec<Entry>,
}

#[derive(Clone)]
struct Entry {
    digest: [u8; 32],
    caller: Caller,
}

impl std::fmt::Debug for ApiTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // never the tokens or their digests: who they are is enough
        f.debug_list()
            .entries(self.entries.iter().map(|e| &e.caller))
            .finish()
    }
}

/// An authenticated caller: the audit trail records `name` and `role`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// A stable, non-secret name for the token: the configured name, else
    /// `token#<position>(unnamed-<role>)` (see [`unnamed`]).
    pub name: String,
    /// `caseworker`, `admin`, …
    pub role: String,
}

/// The audit name of the unnamed token at `position` (1-based) with `role`:
/// `token#<position>(unnamed-<role>)`, whitespace in the role shown as `-`.
pub fn unnamed(position: usize, role: &str) -> String {
    let role: String = role
        .chars()
        .take(64)
        .map(|c| {
            if c.is_whitespace() || c.is_control() {
                '-'
            } else {
                c
            }
        })
        .collect();
    format!("token#{position}(unnamed-{role})")
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Equal digests, compared without an early exit.
fn digests_equal(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// Whether `given` is the secret `expected`, in constant time with respect to both (their
/// SHA-256 digests are compared, so neither the length nor a common prefix shows in the time).
/// For shared secrets other than the API tokens, e.g. the SMS gateway's callback token.
pub fn secret_matches(given: &str, expected: &str) -> bool {
    digests_equal(&digest(given), &digest(expected))
}

impl ApiTokens {
    /// The tokens of `[api]`. Without any, the service refuses to start unless `api.open` says
    /// its reads may be open (a local demo); the service then says at start what is open.
    pub fn from_settings(api: &crate::settings::ApiSettings) -> Result<Self, String> {
        let tokens = Self::parse(api.tokens.as_ref())?;
        if tokens.is_empty() && !api.open {
            return Err("no API tokens are configured: set RESTANCE__API__TOKENS \
                (token:role[:holder],…; tokens of at least 16 characters) — or, for a local \
                demo only, RESTANCE__API__OPEN=true to serve the reads to anyone who reaches \
                the port"
                .to_owned());
        }
        Ok(tokens)
    }

    /// Parses `token:role[:name],…`. Malformed entries are reported, not ignored.
    pub fn parse(spec: Option<&SecretString>) -> Result<Self, String> {
        let mut entries = Vec::new();
        let Some(spec) = spec else {
            return Ok(Self { entries });
        };
        for (i, entry) in spec
            .expose_secret()
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .enumerate()
        {
            let Some((token, role)) = entry.split_once(':') else {
                return Err(format!("api.tokens: entry {} is not token:role", i + 1));
            };
            let token = token.trim();
            if token.chars().count() < MIN_TOKEN_CHARS {
                return Err(format!(
                    "api.tokens: entry {} has a token shorter than {MIN_TOKEN_CHARS} characters",
                    i + 1
                ));
            }
            let (role, name) = match role.split_once(':') {
                Some((role, name)) => {
                    let name = name.trim();
                    if name.is_empty()
                        || name.len() > 64
                        || !name
                            .chars()
                            .all(|c| c.is_alphanumeric() || "._-@".contains(c))
                    {
                        return Err(format!(
                            "api.tokens: entry {} has a name that is not 1-64 letters, digits or ._-@",
                            i + 1
                        ));
                    }
                    (role.trim().to_owned(), Some(name.to_owned()))
                }
                None => (role.trim().to_owned(), None),
            };
            if role.is_empty() {
                return Err(format!("api.tokens: entry {} has no role", i + 1));
            }
            entries.push(Entry {
                digest: digest(token),
                caller: Caller {
                    name: name.unwrap_or_else(|| unnamed(i + 1, &role)),
                    role,
                },
            });
        }
        Ok(Self { entries })
    }

    /// True when no token is configured (writes are refused).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The caller behind the request's `Authorization: Bearer …`, if the token is known.
    pub fn authenticate(&self, headers: &HeaderMap) -> Option<&Caller> {
        let value = headers
            .get(axum::http::header::AUTHORIZATION)?
            .to_str()
            .ok()?;
        let token = value.strip_prefix("Bearer ")?.trim();
        self.lookup(&digest(token)).0
    }

    /// The entry with this digest (the later one if listed twice), and how many digests were
    /// compared: always all of them, whether and wherever the token matches.
    fn lookup(&self, wanted: &[u8; 32]) -> (Option<&Caller>, usize) {
        let mut found = 0usize;
        let mut index = 0usize;
        let mut compared = 0usize;
        for (i, entry) in self.entries.iter().enumerate() {
            // all ones when equal, zero otherwise: the index is selected without a branch
            let hit = usize::from(digests_equal(&entry.digest, wanted)).wrapping_neg();
            index = (i & hit) | (index & !hit);
            found |= hit & 1;
            compared += 1;
        }
        let found = std::hint::black_box(found) == 1;
        (found.then(|| &self.entries[index].caller), compared)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::ApiSettings;

    #[test]
    fn without_tokens_a_service_refuses_to_start_unless_its_api_is_declared_open() {
        let none = ApiSettings::default();
        let err = ApiTokens::from_settings(&none).expect_err("closed by default");
        assert!(
            err.contains("RESTANCE__API__TOKENS") && err.contains("RESTANCE__API__OPEN=true"),
            "{err}"
        );
        let blank = ApiSettings {
            tokens: Some(SecretString::from(" , ")),
            open: false,
            ..ApiSettings::default()
        };
        assert!(ApiTokens::from_settings(&blank).is_err(), "blank is none");
        let open = ApiSettings {
            tokens: None,
            open: true,
            ..ApiSettings::default()
        };
        assert!(ApiTokens::from_settings(&open).expect("open").is_empty());
        let with = ApiSettings {
            tokens: Some(SecretString::from("0123456789abcdef:caseworker:kim")),
            open: false,
            ..ApiSettings::default()
        };
        assert!(!ApiTokens::from_settings(&with).expect("tokens").is_empty());
    }

    #[test]
    fn tokens_map_to_roles() {
        let spec = SecretString::from("aaaaaaaaaaaaaaaa1:caseworker, bbbbbbbbbbbbbbbb2:admin");
        let tokens = ApiTokens::parse(Some(&spec)).expect("valid");
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            "Bearer bbbbbbbbbbbbbbbb2".parse().expect("header"),
        );
        assert_eq!(
            tokens.authenticate(&h).map(|c| c.role.as_str()),
            Some("admin")
        );
        h.insert("authorization", "Bearer nope".parse().expect("header"));
        assert!(tokens.authenticate(&h).is_none());
        assert!(ApiTokens::parse(Some(&SecretString::from("short:admin"))).is_err());
    }

    #[test]
    fn a_token_may_name_the_caseworker_for_the_audit_trail() {
        let spec = SecretString::from("aaaaaaaaaaaaaaaa1:caseworker:mhj, bbbbbbbbbbbbbbbb2:admin");
        let tokens = ApiTokens::parse(Some(&spec)).expect("valid");
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            "Bearer aaaaaaaaaaaaaaaa1".parse().expect("header"),
        );
        assert_eq!(
            tokens.authenticate(&h),
            Some(&Caller {
                name: "mhj".into(),
                role: "caseworker".into()
            })
        );
        h.insert(
            "authorization",
            "Bearer bbbbbbbbbbbbbbbb2".parse().expect("header"),
        );
        assert_eq!(
            tokens.authenticate(&h).map(|c| c.name.as_str()),
            Some("token#2(unnamed-admin)")
        );
        for bad in [
            "aaaaaaaaaaaaaaaa1:caseworker:",
            "aaaaaaaaaaaaaaaa1:caseworker:a b",
            "aaaaaaaaaaaaaaaa1:",
        ] {
            assert!(
                ApiTokens::parse(Some(&SecretString::from(bad))).is_err(),
                "{bad}"
            );
        }
    }

    fn bearer(token: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            format!("Bearer {token}").parse().expect("header"),
        );
        h
    }

    #[test]
    fn a_token_is_trimmed_before_its_length_is_checked() {
        // 15 characters and a space before the colon: too short once trimmed
        let spec = SecretString::from("aaaaaaaaaaaaaaa :caseworker");
        let err = ApiTokens::parse(Some(&spec)).expect_err("15 characters after trimming");
        assert!(err.contains("shorter than 16"), "{err}");
        // nor does a tab
        let spec = SecretString::from("bbbbbbbbbbbbbbb\t:admin");
        assert!(ApiTokens::parse(Some(&spec)).is_err());
        // 16 characters with spaces around them: accepted, and the trimmed token works
        let spec = SecretString::from("  cccccccccccccccc  :admin");
        let tokens = ApiTokens::parse(Some(&spec)).expect("16 characters");
        assert!(tokens.authenticate(&bearer("cccccccccccccccc")).is_some());
        assert!(tokens.authenticate(&bearer("cccccccccccccccc  ")).is_some());
        // characters, not bytes: 16 letters æ are 32 bytes but the rule counts them as 16
        let spec = SecretString::from("ææææææææææææææææ:admin");
        assert!(ApiTokens::parse(Some(&spec)).is_ok());
        let spec = SecretString::from("æææææææææææææææ:admin");
        assert!(ApiTokens::parse(Some(&spec)).is_err());
    }

    #[test]
    fn an_unnamed_token_is_audited_as_a_token_not_a_person() {
        let spec = SecretString::from(
            "aaaaaaaaaaaaaaaa1:caseworker, bbbbbbbbbbbbbbbb2:admin:mhj, cccccccccccccccc3:admin",
        );
        let tokens = ApiTokens::parse(Some(&spec)).expect("valid");
        let name = |t: &str| tokens.authenticate(&bearer(t)).map(|c| c.name.clone());
        assert_eq!(
            name("aaaaaaaaaaaaaaaa1").as_deref(),
            Some("token#1(unnamed-caseworker)")
        );
        assert_eq!(name("bbbbbbbbbbbbbbbb2").as_deref(), Some("mhj"));
        assert_eq!(
            name("cccccccccccccccc3").as_deref(),
            Some("token#3(unnamed-admin)")
        );
        // no configured name can look like it (names are letters, digits and ._-@)
        assert!(
            ApiTokens::parse(Some(&SecretString::from(
                "aaaaaaaaaaaaaaaa1:caseworker:token#1"
            )))
            .is_err()
        );
        // the debug form never shows a token
        let shown = format!("{tokens:?}");
        assert!(!shown.contains("aaaaaaaaaaaaaaaa1"), "{shown}");
        assert!(shown.contains("unnamed-caseworker"), "{shown}");
        // no whitespace: the name is an id in events (`approved_by`)
        assert_eq!(unnamed(4, "case worker"), "token#4(unnamed-case-worker)");
    }

    #[test]
    fn the_lookup_compares_every_digest_whether_or_not_it_matches() {
        let spec = SecretString::from(
            "aaaaaaaaaaaaaaaa1:reader, bbbbbbbbbbbbbbbb2:caseworker, cccccccccccccccc3:admin",
        );
        let tokens = ApiTokens::parse(Some(&spec)).expect("valid");
        for (token, role) in [
            ("aaaaaaaaaaaaaaaa1", Some("reader")),
            ("bbbbbbbbbbbbbbbb2", Some("caseworker")),
            ("cccccccccccccccc3", Some("admin")),
            ("cccccccccccccccc", None),
            ("cccccccccccccccc33", None),
            ("", None),
        ] {
            let (caller, compared) = tokens.lookup(&digest(token));
            assert_eq!(caller.map(|c| c.role.as_str()), role, "{token}");
            assert_eq!(compared, 3, "{token}: every digest is compared");
        }
        // a token listed twice is its later entry, as before
        let spec = SecretString::from("aaaaaaaaaaaaaaaa1:reader, aaaaaaaaaaaaaaaa1:admin");
        let tokens = ApiTokens::parse(Some(&spec)).expect("valid");
        assert_eq!(
            tokens
                .authenticate(&bearer("aaaaaaaaaaaaaaaa1"))
                .map(|c| c.role.as_str()),
            Some("admin")
        );
        // the comparison itself: equal only when every byte is
        let a = digest("aaaaaaaaaaaaaaaa1");
        let mut b = a;
        assert!(digests_equal(&a, &b));
        b[31] ^= 1;
        assert!(!digests_equal(&a, &b));
        b = a;
        b[0] ^= 0x80;
        assert!(!digests_equal(&a, &b));
        assert!(secret_matches("the-callback-secret", "the-callback-secret"));
        assert!(!secret_matches("the-callback-secre", "the-callback-secret"));
        assert!(!secret_matches("", "the-callback-secret"));
    }

    #[test]
    fn no_header_or_another_scheme_is_no_caller() {
        let spec = SecretString::from("aaaaaaaaaaaaaaaa1:admin");
        let tokens = ApiTokens::parse(Some(&spec)).expect("valid");
        assert!(tokens.authenticate(&HeaderMap::new()).is_none());
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            "Basic aaaaaaaaaaaaaaaa1".parse().expect("header"),
        );
        assert!(tokens.authenticate(&h).is_none());
        assert!(
            ApiTokens::default()
                .authenticate(&bearer("aaaaaaaaaaaaaaaa1"))
                .is_none()
        );
    }
}
