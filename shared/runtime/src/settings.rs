//! Layered configuration: compiled-in defaults → the `RESTANCE_CONFIG` file (default
//! `config/restance.toml`) → environment variables `RESTANCE__<SECTION>__<KEY>`.

use restance_bus::BusSettings;
use restance_kernel::Catalog;
use secrecy::SecretString;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

/// The HTTP port of settings loaded without a service's own ([`Settings::load_from`]): tools
/// and tests, which bind their own or none.
pub const DEFAULT_PORT: u16 = 8080;

/// `[database]`.
#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    /// `RESTANCE__DATABASE__URL`: `sqlite://…` or `postgres://…`. May hold a password.
    pub url: String,
    /// Pool size (SQLite: readers; writes serialise in the file lock).
    #[serde(default = "default_pool")]
    pub max_connections: u32,
}

fn default_pool() -> u32 {
    8
}

/// `[http]`.
#[derive(Debug, Clone, Deserialize)]
pub struct HttpSettings {
    /// Address to bind.
    pub host: String,
    /// `RESTANCE__HTTP__PORT` (0 picks a free port: tests).
    pub port: u16,
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    /// `json` (default; for log shipping) or `text` (for a person at a terminal).
    pub format: String,
    /// A tracing filter, e.g. `info` or `info,restance_bus=debug`; `RUST_LOG` wins if set.
    pub level: String,
}

/// `[telemetry]`.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct TelemetrySettings {
    /// `RESTANCE__TELEMETRY__OTLP_ENDPOINT`: the OTLP/HTTP collector, e.g.
    /// `http://otel-collector:4318` (spans go to `/v1/traces`). Unset or empty: no export (trace
    /// ids still travel in messages and log lines).
    #[serde(default)]
    pub otlp_endpoint: Option<String>,
}

impl TelemetrySettings {
    /// The endpoint, when export is on.
    pub fn endpoint(&self) -> Option<&str> {
        self.otlp_endpoint
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
    }
}

/// `[api]`.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct ApiSettings {
    /// `RESTANCE__API__TOKENS`: `token:role[:holder[:municipalities]],…`. Required unless
    /// `open` is set ([`crate::api_auth`]).
    #[serde(default)]
    pub tokens: Option<SecretString>,
    /// `RESTANCE__API__READ_ROLES`: `role,role,…` whose tokens may read this service; unset,
    /// the service's default ([`crate::api_auth::DEFAULT_READ_ROLES`] or its own).
    #[serde(default)]
    pub read_roles: Option<String>,
    /// `RESTANCE__API__OPEN`: without tokens, serve the reads to anyone who reaches the port
    /// (writes stay refused). Off by default: a service without tokens refuses to start. For a
    /// local demo only.
    #[serde(default)]
    pub open: bool,
    /// `RESTANCE__API__RATE_PER_SECOND`, `__BURST`, `__MAX_IN_FLIGHT`, `__REQUEST_TIMEOUT_MS`:
    /// the bounds every API request passes ([`crate::api_guard`]).
    #[serde(flatten, default)]
    pub limits: crate::api_guard::ApiLimits,
}

/// `[documents]` / `[templates]`.
#[derive(Debug, Clone, Deserialize)]
pub struct DirSettings {
    /// A directory.
    pub dir: PathBuf,
}

/// `[smtp]`.
#[derive(Debug, Clone, Deserialize)]
pub struct SmtpSettings {
    /// `RESTANCE__SMTP__URL`.
    pub url: String,
}

/// `[sms]`.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct SmsSettings {
    /// `RESTANCE__SMS__URL`: unset disables SMS (said at start).
    pub url: Option<String>,
    /// `RESTANCE__SMS__TOKEN`.
    pub token: Option<SecretString>,
}

/// The settings every service reads. Service-specific sections are read with
/// [`Settings::section`].
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// The service these settings were loaded for (not configurable).
    #[serde(skip)]
    pub service: String,
    /// Where the file layer came from, if a file was found.
    #[serde(skip)]
    pub config_file: Option<PathBuf>,
    /// `[bus]`.
    #[serde(default)]
    pub bus: BusSettings,
    /// `[tls]`: the CA bundle and whether plaintext off this machine is allowed
    /// (`restance_bus::tls`); copied into `bus.tls` when loaded.
    #[serde(default)]
    pub tls: restance_bus::TlsSettings,
    /// `[database]`.
    pub database: DatabaseSettings,
    /// `[http]`.
    pub http: HttpSettings,
    /// `[log]`.
    pub log: LogSettings,
    /// `[telemetry]`: trace export.
    #[serde(default)]
    pub telemetry: TelemetrySettings,
    /// `[api]`.
    #[serde(default)]
    pub api: ApiSettings,
    /// `[calendar]`: how far ahead a business day may be opened.
    #[serde(default)]
    pub calendar: crate::calendar::CalendarSettings,
    /// `[senders]`: the `source` patterns allowed to send each message type.
    #[serde(default)]
    pub senders: crate::senders::SendersSettings,
    /// `[documents]`.
    pub documents: DirSettings,
    /// `[templates]`.
    pub templates: DirSettings,
    /// `[smtp]`.
    pub smtp: SmtpSettings,
    /// `[sms]`.
    #[serde(default)]
    pub sms: SmsSettings,
    /// `[catalog]`: municipalities, offices, categories.
    #[serde(default = "empty_catalog")]
    pub catalog: Catalog,
    #[serde(skip)]
    raw: Option<config::Config>,
}

fn empty_catalog() -> Catalog {
    Catalog {
        municipalities: Default::default(),
        categories: Default::default(),
    }
}

/// Configuration that cannot be used, with every problem listed.
#[derive(Debug, thiserror::Error)]
#[error("configuration is not usable:\n  - {}", .0.join("\n  - "))]
pub struct SettingsError(pub Vec<String>);

/// A service's own section (`[dunning]`, `[reporting]`, …) cannot be used; every problem on its
/// own line. One type for every service, so an operator reads the same refusal from each.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid [{section}] configuration ({} problems):\n  {}", .problems.len(), .problems.join("\n  "))]
pub struct InvalidConfig {
    /// The section's key.
    pub section: &'static str,
    /// What is wrong, one problem a line.
    pub problems: Vec<String>,
}

impl InvalidConfig {
    /// The problems of `section`.
    pub fn new(section: &'static str, problems: Vec<String>) -> Self {
        Self { section, problems }
    }
}

impl Settings {
    /// Loads the settings of `service` from the file named by `RESTANCE_CONFIG` (default
    /// `config/restance.toml`; a missing default file is allowed) and the environment; `port`
    /// is its HTTP port unless `http.port` says otherwise. The runtime knows no service by
    /// name: each declares its own name and port (`SERVICE`, `PORT` in its `lib.rs`).
    pub fn load(service: &str, port: u16) -> Result<Self, SettingsError> {
        let file = std::env::var_os("RESTANCE_CONFIG").map(PathBuf::from);
        Self::load_with_port(service, port, file.as_deref(), true)
    }

    /// Loads from an explicit file (or only defaults and environment when `None`), with
    /// [`DEFAULT_PORT`] unless `http.port` says otherwise.
    pub fn load_from(
        service: &str,
        file: Option<&Path>,
        with_env: bool,
    ) -> Result<Self, SettingsError> {
        Self::load_with_port(service, DEFAULT_PORT, file, with_env)
    }

    fn load_with_port(
        service: &str,
        port: u16,
        file: Option<&Path>,
        with_env: bool,
    ) -> Result<Self, SettingsError> {
        let err = |e: config::ConfigError| SettingsError(vec![e.to_string()]);
        let mut builder = config::Config::builder()
            .set_default(
                "database.url",
                format!("sqlite://var/{service}.db?mode=rwc"),
            )
            .and_then(|b| b.set_default("http.host", "0.0.0.0"))
            .and_then(|b| b.set_default("http.port", i64::from(port)))
            .and_then(|b| b.set_default("log.format", "json"))
            .and_then(|b| b.set_default("log.level", "info"))
            .and_then(|b| b.set_default("documents.dir", "var/documents"))
            .and_then(|b| b.set_default("templates.dir", "templates"))
            .and_then(|b| b.set_default("smtp.url", "smtp://127.0.0.1:2525"))
            .map_err(err)?;
        let default_file = PathBuf::from("config/restance.toml");
        let config_file = match file {
            Some(path) => {
                if !path.exists() {
                    return Err(SettingsError(vec![format!(
                        "RESTANCE_CONFIG names {} but there is no such file",
                        path.display()
                    )]));
                }
                Some(path.to_path_buf())
            }
            None if default_file.exists() => Some(default_file),
            None => None,
        };
        if let Some(path) = &config_file {
            builder = builder.add_source(config::File::from(path.as_path()));
        }
        if with_env {
            builder = builder.add_source(
                config::Environment::with_prefix("RESTANCE")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true),
            );
        }
        let raw = builder.build().map_err(err)?;
        let mut settings: Settings = raw.clone().try_deserialize().map_err(err)?;
        settings.service = service.to_owned();
        settings.config_file = config_file;
        settings.bus.tls = settings.tls.clone();
        settings.raw = Some(raw);
        let problems = settings.problems();
        if problems.is_empty() {
            Ok(settings)
        } else {
            Err(SettingsError(problems))
        }
    }

    /// Every problem with the common settings.
    pub fn problems(&self) -> Vec<String> {
        let mut out = self.tls.problems();
        out.extend(self.bus.problems());
        out.extend(self.api.limits.problems());
        if !(self.database.url.starts_with("sqlite:") || self.database.url.starts_with("postgres"))
        {
            out.push("database.url: must start with sqlite: or postgres://".into());
        } else if self.database.url.starts_with("postgres") {
            let url = &self.database.url;
            let transport = restance_bus::tls::postgres_transport(url);
            if let Err(e) = self.tls.check("database.url", url, transport) {
                out.push(e);
            }
        }
        if self.catalog.municipalities.is_empty() {
            out.push(format!(
                "catalog: no municipalities configured (read {}; set RESTANCE_CONFIG to the shipped config/restance.toml or your own)",
                self.config_file.as_ref().map_or_else(|| "no file".to_owned(), |p| p.display().to_string())
            ));
        }
        out.extend(self.senders.problems());
        out.extend(
            self.catalog
                .validate()
                .into_iter()
                .map(|p| format!("catalog.{p}")),
        );
        out
    }

    /// A service-specific section (e.g. `dunning`), deserialised into `T`.
    pub fn section<T: DeserializeOwned>(&self, key: &str) -> Result<T, SettingsError> {
        let raw = self
            .raw
            .as_ref()
            .ok_or_else(|| SettingsError(vec!["settings not loaded".into()]))?;
        raw.get::<T>(key)
            .map_err(|e| SettingsError(vec![format!("{key}: {e}")]))
    }

    /// A service-specific section, or `T::default()` when the file and the environment have no
    /// such section (every key of it has a default); any other problem is an error.
    pub fn section_or_default<T: DeserializeOwned + Default>(
        &self,
        key: &str,
    ) -> Result<T, SettingsError> {
        let raw = self
            .raw
            .as_ref()
            .ok_or_else(|| SettingsError(vec!["settings not loaded".into()]))?;
        match raw.get::<T>(key) {
            Ok(t) => Ok(t),
            Err(config::ConfigError::NotFound(_)) => Ok(T::default()),
            Err(e) => Err(SettingsError(vec![format!("{key}: {e}")])),
        }
    }

    /// The database URL to connect with: `tls.ca_file` added as `sslrootcert` where the URL
    /// verifies the server and names no root of its own (`restance_bus::tls`).
    pub fn database_url(&self) -> String {
        restance_bus::tls::postgres_url_with_ca(&self.database.url, &self.tls)
    }

    /// The database URL without its password, for logs.
    pub fn redacted_database_url(&self) -> String {
        restance_bus::config::redact_url(&self.database.url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/restance.toml")
    }

    #[test]
    fn the_shipped_config_loads_for_every_service() {
        for service in [
            "invoicing",
            "dunning",
            "agreements",
            "guarantee",
            "notifications",
            "reporting",
        ] {
            let s = Settings::load_with_port(service, 8123, Some(&shipped()), false)
                .expect("shipped config is valid");
            assert_eq!(s.http.port, 8123, "the service's own port");
            let s = Settings::load_from(service, Some(&shipped()), false)
                .expect("shipped config is valid");
            assert_eq!(s.http.port, DEFAULT_PORT);
            assert_eq!(
                s.database.url,
                format!("sqlite://var/{service}.db?mode=rwc")
            );
            assert!(!s.catalog.municipalities.is_empty());
        }
    }

    #[test]
    fn a_missing_config_file_is_a_clear_error() {
        let err = Settings::load_from(
            "invoicing",
            Some(Path::new("/nonexistent/restance.toml")),
            false,
        )
        .expect_err("must fail");
        assert!(err.to_string().contains("no such file"), "{err}");
    }

    #[test]
    fn invalid_values_are_all_listed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bad.toml");
        std::fs::write(
            &path,
            "[bus]\nurl = \"http://x\"\nprefetch = 0\n[database]\nurl = \"mysql://x\"\n",
        )
        .expect("write");
        let err = Settings::load_from("invoicing", Some(&path), false).expect_err("must fail");
        let text = err.to_string();
        assert!(
            text.contains("bus.url")
                && text.contains("bus.prefetch")
                && text.contains("database.url"),
            "{text}"
        );
    }
}
