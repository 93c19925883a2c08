//! Bearer tokens with roles for caseworker endpoints (`RESTANCE__API__TOKENS=token:role,…`).

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
    /// A stable, non-secret name for the token (its role and position: `caseworker#1`).
    pub name: String,
    /// `caseworker`, `admin`, …
    pub role: String,
}

impl ApiTokens {
    /// Parses `token:role,token:role`. Malformed entries are reported, not ignored.
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
            let role = role.trim().to_owned();
            by_token.insert(
                token.trim().to_owned(),
                Caller {
                    name: format!("{role}#{}", i + 1),
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
}
