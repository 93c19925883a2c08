//! Bearer tokens with roles for caseworker endpoints
//! (`RESTANCE__API__TOKENS=token:role[:name[:municipalities]],…`).
//!
//! **Roles.** Writes name the role they need ([`crate::api::Need`]: `caseworker`, `admin`).
//! Reads need a token whose role is one of the service's **read roles**: each service has its
//! default ([`DEFAULT_READ_ROLES`] — `caseworker`, `admin` and the read-only `reader`;
//! notifications, whose letters carry names and addresses, leaves `reader` out; reporting adds
//! `reporting` for the figures' consumers) and
//! `RESTANCE__API__READ_ROLES=role,role…` replaces it. So one `api-tokens` secret may serve
//! every service while a token for the arrears dashboard (`reporting`) reads reporting and
//! nothing else.
//!
//! **Municipality scope.** A fourth field limits a token to municipalities, by code, joined
//! with `+` (`…:caseworker:mhj:0746+0751`); without it (or with `*`) the token sees every
//! municipality the service holds. A scoped token's reads show only its municipalities' data —
//! an object of another municipality is answered as if it did not exist (404), and lists leave
//! it out — and its writes on another municipality's objects are refused the same way (and
//! audited). A scoped token must name its holder.
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

/// The roles that may read a service unless it or `RESTANCE__API__READ_ROLES` says otherwise.
pub const DEFAULT_READ_ROLES: &[&str] = &["caseworker", "admin", "reader"];

/// The longest municipality code in a token's scope (characters).
const MAX_MUNICIPALITY_CHARS: usize = 16;

/// Who may do what, parsed from the configured token list.
#[derive(Clone, Default)]
pub struct ApiTokens {
    /// In configuration order; a token listed twice is the later entry (as before).
    entries: Vec<Entry>,
    /// The roles whose tokens may read this service ([`DEFAULT_READ_ROLES`] unless set).
    read_roles: Vec<String>,
}

#[derive(Clone)]
struct Entry {
    digest: [u8; 32],
    caller: Caller,
}

impl std::fmt::Debug for ApiTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // never the tokens or their digests: who they are is enough
        f.debug_struct("ApiTokens")
            .field(
                "callers",
                &self.entries.iter().map(|e| &e.caller).collect::<Vec<_>>(),
            )
            .field("read_roles", &self.read_roles)
            .finish()
    }
}

/// An authenticated caller: the audit trail records `name` and `role`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// A stable, non-secret name for the token: the configured name, else
    /// `token#<position>(unnamed-<role>)` (see [`unnamed`]).
    pub name: String,
    /// `caseworker`, `admin`, `reader`, …
    pub role: String,
    /// The municipalities (codes, sorted) the token is limited to; `None`: every municipality.
    pub municipalities: Option<Vec<String>>,
}

impl Caller {
    /// A caller for every municipality.
    pub fn new(name: impl Into<String>, role: impl Into<String>) -> Caller {
        Caller {
            name: name.into(),
            role: role.into(),
            municipalities: None,
        }
    }

    /// Whether the token may see (and act on) data of `municipality`.
    pub fn sees(&self, municipality: &str) -> bool {
        self.municipalities
            .as_ref()
            .is_none_or(|m| m.iter().any(|c| c == municipality))
    }

    /// The scope as logged and audited: `*` or the codes joined with `+`.
    pub fn scope(&self) -> String {
        self.municipalities
            .as_ref()
            .map_or_else(|| "*".to_owned(), |m| m.join("+"))
    }
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
    ///
    /// `default_read_roles` are the service's read roles unless `api.read_roles` is set.
    pub fn from_settings(
        api: &crate::settings::ApiSettings,
        default_read_roles: &[&str],
    ) -> Result<Self, String> {
        let mut tokens = Self::parse(api.tokens.as_ref())?;
        tokens.read_roles = match api.read_roles.as_deref() {
            Some(list) => parse_roles(list)?,
            None => default_read_roles.iter().map(|r| (*r).to_owned()).collect(),
        };
        if tokens.is_empty() && !api.open {
            return Err("no API tokens are configured: set RESTANCE__API__TOKENS \
                (token:role[:holder],…; tokens of at least 16 characters) — or, for a local \
                demo only, RESTANCE__API__OPEN=true to serve the reads to anyone who reaches \
                the port"
                .to_owned());
        }
        if tokens.is_empty() {
            tracing::warn!(
                "api.open: no API tokens; the reads are served to anyone who reaches the port \
                 and the writes are refused (a local demo only)"
            );
        } else {
            tracing::info!(
                tokens = %tokens.describe().join("; "),
                read_roles = %tokens.read_roles.join(","),
                "API tokens loaded (holder, role, municipalities)"
            );
        }
        Ok(tokens)
    }

    /// Parses `token:role[:name[:municipalities]],…` (read roles: [`DEFAULT_READ_ROLES`]).
    /// Malformed entries are reported, not ignored.
    pub fn parse(spec: Option<&SecretString>) -> Result<Self, String> {
        let mut entries = Vec::new();
        let read_roles = DEFAULT_READ_ROLES.iter().map(|r| (*r).to_owned()).collect();
        let Some(spec) = spec else {
            return Ok(Self {
                entries,
                read_roles,
            });
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
            let (role, rest) = match role.split_once(':') {
                Some((role, rest)) => (role, Some(rest)),
                None => (role, None),
            };
            let (name, scope) = match rest.map(|r| r.split_once(':')) {
                Some(Some((name, scope))) => (Some(name), Some(scope)),
                Some(None) => (rest, None),
                None => (None, None),
            };
            let municipalities = match scope {
                Some(scope) => parse_scope(scope).map_err(|why| {
                    format!("api.tokens: entry {} has a municipality scope {why}", i + 1)
                })?,
                None => None,
            };
            let (role, name) = match name {
                Some(name) => {
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
            if role.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(format!(
                    "api.tokens: entry {} has a role with spaces",
                    i + 1
                ));
            }
            if role.is_empty() {
                return Err(format!("api.tokens: entry {} has no role", i + 1));
            }
            entries.push(Entry {
                digest: digest(token),
                caller: Caller {
                    name: name.unwrap_or_else(|| unnamed(i + 1, &role)),
                    role,
                    municipalities,
                },
            });
        }
        Ok(Self {
            entries,
            read_roles,
        })
    }

    /// The roles whose tokens may read this service.
    pub fn read_roles(&self) -> &[String] {
        &self.read_roles
    }

    /// Whether `caller`'s role may read this service.
    pub fn may_read(&self, caller: &Caller) -> bool {
        self.read_roles.contains(&caller.role)
    }

    /// The refusal of a read by a token whose role may not read this service.
    pub fn read_refusal(&self) -> String {
        format!(
            "this service's reads need a token with one of the roles {}",
            self.read_roles.join(", ")
        )
    }

    /// Who the tokens are, for the start-up log: `holder (role, scope)` per token, never the
    /// tokens themselves.
    pub fn describe(&self) -> Vec<String> {
        self.entries
            .iter()
            .map(|e| {
                format!(
                    "{} ({}, {})",
                    e.caller.name,
                    e.caller.role,
                    e.caller.scope()
                )
            })
            .collect()
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

/// A comma-separated list of roles (`RESTANCE__API__READ_ROLES`), at least one.
fn parse_roles(list: &str) -> Result<Vec<String>, String> {
    let roles: Vec<String> = list
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect();
    if roles.is_empty() {
        return Err(
            "api.read_roles is set but names no role (RESTANCE__API__READ_ROLES=\
            caseworker,admin,… ; unset it for the service's default)"
                .to_owned(),
        );
    }
    if let Some(bad) = roles
        .iter()
        .find(|r| r.chars().any(|c| c.is_whitespace() || c.is_control()))
    {
        return Err(format!("api.read_roles: the role {bad:?} has spaces"));
    }
    Ok(roles)
}

/// A token's scope: `*` (every municipality) or municipality codes joined with `+`.
fn parse_scope(scope: &str) -> Result<Option<Vec<String>>, &'static str> {
    let scope = scope.trim();
    if scope == "*" {
        return Ok(None);
    }
    let mut codes: Vec<String> = Vec::new();
    for code in scope.split('+').map(str::trim) {
        if code.is_empty()
            || code.chars().count() > MAX_MUNICIPALITY_CHARS
            || !code.chars().all(|c| c.is_ascii_alphanumeric())
        {
            return Err("that is not `*` or municipality codes joined with + (e.g. 0746+0751)");
        }
        codes.push(code.to_owned());
    }
    codes.sort();
    codes.dedup();
    Ok(Some(codes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::ApiSettings;

    #[test]
    fn without_tokens_a_service_refuses_to_start_unless_its_api_is_declared_open() {
        let none = ApiSettings::default();
        let err =
            ApiTokens::from_settings(&none, DEFAULT_READ_ROLES).expect_err("closed by default");
        assert!(
            err.contains("RESTANCE__API__TOKENS") && err.contains("RESTANCE__API__OPEN=true"),
            "{err}"
        );
        let blank = ApiSettings {
            tokens: Some(SecretString::from(" , ")),
            open: false,
            ..ApiSettings::default()
        };
        assert!(
            ApiTokens::from_settings(&blank, DEFAULT_READ_ROLES).is_err(),
            "blank is none"
        );
        let open = ApiSettings {
            tokens: None,
            open: true,
            ..ApiSettings::default()
        };
        assert!(
            ApiTokens::from_settings(&open, DEFAULT_READ_ROLES)
                .expect("open")
                .is_empty()
        );
        let with = ApiSettings {
            tokens: Some(SecretString::from("0123456789abcdef:caseworker:kim")),
            open: false,
            ..ApiSettings::default()
        };
        assert!(
            !ApiTokens::from_settings(&with, DEFAULT_READ_ROLES)
                .expect("tokens")
                .is_empty()
        );
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
            Some(&Caller::new("mhj", "caseworker"))
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

    #[test]
    fn a_token_may_be_limited_to_municipalities() {
        let spec = SecretString::from(
            "aaaaaaaaaaaaaaaa1:caseworker:mhj:0751+0746, bbbbbbbbbbbbbbbb2:reader:kim:*, \
             cccccccccccccccc3:admin",
        );
        let tokens = ApiTokens::parse(Some(&spec)).expect("valid");
        let mhj = tokens
            .authenticate(&bearer("aaaaaaaaaaaaaaaa1"))
            .expect("known");
        assert_eq!(mhj.name, "mhj");
        assert_eq!(
            mhj.municipalities.as_deref(),
            Some(&["0746".to_owned(), "0751".to_owned()][..])
        );
        assert!(mhj.sees("0746") && mhj.sees("0751"));
        assert!(!mhj.sees("0301") && !mhj.sees("074") && !mhj.sees(""));
        assert_eq!(mhj.scope(), "0746+0751");
        for every in ["bbbbbbbbbbbbbbbb2", "cccccccccccccccc3"] {
            let c = tokens.authenticate(&bearer(every)).expect("known");
            assert!(c.municipalities.is_none() && c.sees("0301") && c.scope() == "*");
        }
        for bad in [
            "aaaaaaaaaaaaaaaa1:caseworker:mhj:",
            "aaaaaaaaaaaaaaaa1:caseworker:mhj:0746+",
            "aaaaaaaaaaaaaaaa1:caseworker:mhj:07 46",
            "aaaaaaaaaaaaaaaa1:caseworker:mhj:0746,0751:x",
            "aaaaaaaaaaaaaaaa1:caseworker::0746",
            "aaaaaaaaaaaaaaaa1:case worker:mhj",
        ] {
            let err = ApiTokens::parse(Some(&SecretString::from(bad)));
            assert!(err.is_err(), "{bad} accepted");
        }
        let err = ApiTokens::parse(Some(&SecretString::from(
            "aaaaaaaaaaaaaaaa1:caseworker:mhj:07/46",
        )))
        .expect_err("bad scope");
        assert!(
            err.contains("entry 1") && err.contains("0746+0751"),
            "{err}"
        );
        // the description for the start-up log names holders, roles and scopes, not tokens
        let described = tokens.describe().join("; ");
        assert_eq!(
            described,
            "mhj (caseworker, 0746+0751); kim (reader, *); token#3(unnamed-admin) (admin, *)"
        );
        assert!(!format!("{tokens:?}").contains("aaaaaaaaaaaaaaaa1"));
    }

    #[test]
    fn each_service_has_read_roles_and_the_setting_replaces_them() {
        let api = |read_roles: Option<&str>| ApiSettings {
            tokens: Some(SecretString::from(
                "aaaaaaaaaaaaaaaa1:caseworker:mhj, bbbbbbbbbbbbbbbb2:reporting:dash",
            )),
            read_roles: read_roles.map(str::to_owned),
            ..ApiSettings::default()
        };
        let caseworker = Caller::new("mhj", "caseworker");
        let dashboard = Caller::new("dash", "reporting");
        let default = ApiTokens::from_settings(&api(None), DEFAULT_READ_ROLES).expect("valid");
        assert!(default.may_read(&caseworker) && !default.may_read(&dashboard));
        assert_eq!(
            default.read_refusal(),
            "this service's reads need a token with one of the roles caseworker, admin, reader"
        );
        let reporting =
            ApiTokens::from_settings(&api(None), &["caseworker", "reporting"]).expect("valid");
        assert!(reporting.may_read(&caseworker) && reporting.may_read(&dashboard));
        let set = ApiTokens::from_settings(&api(Some(" reporting , ")), DEFAULT_READ_ROLES)
            .expect("valid");
        assert!(!set.may_read(&caseworker) && set.may_read(&dashboard));
        assert_eq!(set.read_roles(), ["reporting"]);
        for bad in [" , ", "", "case worker"] {
            assert!(
                ApiTokens::from_settings(&api(Some(bad)), DEFAULT_READ_ROLES).is_err(),
                "{bad:?}"
            );
        }
    }
}
