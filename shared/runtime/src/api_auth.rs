//! Bearer tokens with roles for caseworker endpoints (`RESTANCE__API__TOKENS=token:role[:name],…`).
//!
//! The optional name is who the audit trail records (a caseworker's initials or user id, e.g.
//! `…:caseworker:mhj`); without one the token is recorded by its role and position.

use axum::http::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;

/// Who may do what, parsed from the configured token list.
#[derive(Debug, Clone, Default)]
pub struct ApiTokens {
    by_token: HashMap<String, Caller>,
}

/// An authenticated caller: the audit trail records `name` and `role`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// A stable, non-secret name for the token: the configured name, else its role and
    /// position (`caseworker#1`).
    pub name: String,
    /// `caseworker`, `admin`, …
    pub role: String,
}

impl ApiTokens {
    /// Parses `token:role[:name],…`. Malformed entries are reported, not ignored.
    pub fn parse(spec: Option<&SecretString>) -> Result<Self, String> {
        let mut by_token = HashMap::new();
        let Some(spec) = spec else {
            return Ok(Self { by_token });
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
            if token.len() < 16 {
                return Err(format!(
                    "api.tokens: entry {} has a token shorter than 16 characters",
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
            by_token.insert(
                token.trim().to_owned(),
                Caller {
                    name: name.unwrap_or_else(|| format!("{role}#{}", i + 1)),
                    role,
                },
            );
        }
        Ok(Self { by_token })
    }

    /// True when no token is configured (writes are refused).
    pub fn is_empty(&self) -> bool {
        self.by_token.is_empty()
    }

    /// The caller behind the request's `Authorization: Bearer …`, if the token is known.
    pub fn authenticate(&self, headers: &HeaderMap) -> Option<&Caller> {
        let value = headers
            .get(axum::http::header::AUTHORIZATION)?
            .to_str()
            .ok()?;
        let token = value.strip_prefix("Bearer ")?.trim();
        self.by_token.get(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            Some("admin#2")
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
}
