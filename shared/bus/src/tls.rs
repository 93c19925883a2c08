//! TLS on every outbound connection: the broker (`amqps://`), PostgreSQL (`sslmode=verify-full`),
//! SMTP (`smtps://`, or `smtp://…?tls=required` for STARTTLS) and the SMS gateway (`https://`).
//!
//! One stack: rustls with the ring provider, trusting Mozilla's roots (webpki-roots) plus the
//! operator's own CAs from `tls.ca_file` (`RESTANCE__TLS__CA_FILE`, a PEM bundle; a private CA
//! for an in-cluster broker or database). No OpenSSL.
//!
//! **Plaintext is refused off the machine.** A URL that would send credentials and personal
//! data unencrypted — `amqp://`, `postgres://` without `sslmode=verify-full`/`verify-ca`,
//! `smtp://` without `tls=required`, `http://` — is a configuration error at start unless its
//! host is the loopback interface (the local demo, the tests) or `tls.allow_plaintext = true`
//! (`RESTANCE__TLS__ALLOW_PLAINTEXT`: a cluster whose network is trusted, said in a warning at
//! start). `sslmode=require` counts as plaintext here: it encrypts but accepts any certificate,
//! so whoever sits between the service and the database can read everything.

use serde::Deserialize;
use std::path::PathBuf;

/// `[tls]`: every service and the CLI.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct TlsSettings {
    /// `RESTANCE__TLS__CA_FILE`: PEM bundle of certificate authorities to trust besides
    /// Mozilla's roots (a private CA). Unset: Mozilla's roots only.
    pub ca_file: Option<PathBuf>,
    /// `RESTANCE__TLS__ALLOW_PLAINTEXT`: accept plaintext connections to hosts other than the
    /// loopback interface. Off by default.
    pub allow_plaintext: bool,
}

/// How a URL protects what travels over it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// TLS with the server's certificate checked against the trusted roots.
    Verified,
    /// Unencrypted, or encrypted without checking who answers.
    Plain,
}

impl TlsSettings {
    /// Every problem with `[tls]` itself: a CA file that cannot be read or holds no certificate.
    pub fn problems(&self) -> Vec<String> {
        match self.ca_pem() {
            Ok(_) => Vec::new(),
            Err(e) => vec![e],
        }
    }

    /// The CA bundle's text, if one is configured; an error names the file and what is wrong.
    pub fn ca_pem(&self) -> Result<Option<String>, String> {
        let Some(path) = &self.ca_file else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path).map_err(|e| {
            format!(
                "tls.ca_file: cannot read {}: {e} (a PEM file of CA certificates)",
                path.display()
            )
        })?;
        let certs = parse_certificates(&text)
            .map_err(|e| format!("tls.ca_file: {} is not a PEM bundle: {e}", path.display()))?;
        if certs.is_empty() {
            return Err(format!(
                "tls.ca_file: {} holds no certificate (expected -----BEGIN CERTIFICATE----- blocks)",
                path.display()
            ));
        }
        Ok(Some(text))
    }

    /// Refuses `url` (named `setting` in the message) if it would travel in plaintext to a host
    /// off this machine and plaintext is not allowed. `transport` is what the caller's scheme
    /// rules made of the URL.
    pub fn check(&self, setting: &str, url: &str, transport: Transport) -> Result<(), String> {
        if transport == Transport::Verified || self.allow_plaintext {
            return Ok(());
        }
        let host = url_host(url);
        if is_loopback(&host) {
            return Ok(());
        }
        Err(format!(
            "{setting}: {} to {host} would travel unencrypted (or unverified) over the network; {} \
             or, on a network you trust, set tls.allow_plaintext = true (RESTANCE__TLS__ALLOW_PLAINTEXT)",
            scheme(url),
            secure_form(setting, url),
        ))
    }

    /// A message for the start-up log when plaintext is allowed, naming the URLs it applies to.
    pub fn plaintext_warning(&self) -> Option<&'static str> {
        self.allow_plaintext.then_some(
            "tls.allow_plaintext = true: connections to hosts off this machine may be unencrypted; use it only on a network you trust",
        )
    }
}

fn parse_certificates(
    text: &str,
) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, String> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(text.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())
}

fn scheme(url: &str) -> &str {
    url.split_once("://").map_or(url, |(s, _)| s)
}

fn secure_form(setting: &str, url: &str) -> String {
    match scheme(url) {
        "amqp" => "use amqps://".to_owned(),
        "postgres" | "postgresql" => {
            "add sslmode=verify-full (tls.ca_file for a private CA)".to_owned()
        }
        "smtp" => "use smtps:// (port 465) or smtp://…?tls=required (STARTTLS)".to_owned(),
        "http" => "use https://".to_owned(),
        _ => format!("use a TLS scheme for {setting}"),
    }
}

/// The host of a URL (`scheme://[user[:password]@]host[:port][/…][?…]`), lower-case, without
/// brackets around an IPv6 address. PostgreSQL's `host=` query parameter wins over the
/// authority, as libpq and sqlx read it. Empty when the URL names none.
pub fn url_host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    if let Some((_, query)) = rest.split_once('?') {
        for pair in query.split('&') {
            if let Some(h) = pair.strip_prefix("host=") {
                return h.to_ascii_lowercase();
            }
        }
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    host.to_ascii_lowercase()
}

/// The loopback interface (and a Unix socket directory, for PostgreSQL): nothing leaves the
/// machine, so plaintext is fine. An empty host is the client's default, the local machine.
pub fn is_loopback(host: &str) -> bool {
    if host.is_empty() || host == "localhost" || host.starts_with('/') || host.starts_with("%2f") {
        return true;
    }
    host.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// How an AMQP URL travels: `amqps://` is verified TLS (lapin checks the broker's name).
pub fn amqp_transport(url: &str) -> Transport {
    if url.starts_with("amqps://") {
        Transport::Verified
    } else {
        Transport::Plain
    }
}

/// How a PostgreSQL URL travels: only `sslmode=verify-full` or `verify-ca` check the server.
pub fn postgres_transport(url: &str) -> Transport {
    match query_param(url, "sslmode").as_deref() {
        Some("verify-full" | "verify-ca") => Transport::Verified,
        _ => Transport::Plain,
    }
}

/// A query parameter's value (the first), if present.
pub fn query_param(url: &str, key: &str) -> Option<String> {
    let (_, query) = url.split_once('?')?;
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
        .map(str::to_owned)
}

/// A PostgreSQL URL with the CA bundle as `sslrootcert` when it verifies the server and names
/// no root certificate of its own (sqlx then trusts that bundle, not Mozilla's roots: a
/// database's certificate comes from the operator's CA).
pub fn postgres_url_with_ca(url: &str, tls: &TlsSettings) -> String {
    match (
        &tls.ca_file,
        postgres_transport(url),
        query_param(url, "sslrootcert"),
    ) {
        (Some(ca), Transport::Verified, None) => {
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}sslrootcert={}", ca.display())
        }
        _ => url.to_owned(),
    }
}

/// Makes ring the process's rustls provider. Idempotent. **Every program calls it before it
/// builds a `reqwest::Client`**: reqwest is built without a provider of its own (its default
/// would be aws-lc) and panics without one, even for `http://`. The service binaries do it in
/// `restance_runtime::entry::prepare`, the CLI in `restance_cli::run`, the test harnesses in
/// the testkit's `TestApp`/`ServiceProcess`/`FakeSmsGateway`, and connecting to the broker
/// does it too.
pub fn install_crypto_provider() {
    // Err means a provider is installed already: the same one, as nothing else installs any.
    // rustls marks ring's provider deprecated because its key exchange is not post-quantum
    // (that needs aws-lc-rs, minutes of C on 2 cores and a cmake toolchain): a deliberate choice.
    #[allow(deprecated)]
    let provider = rustls::crypto::ring::default_provider();
    let _ = provider.install_default();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strict() -> TlsSettings {
        TlsSettings::default()
    }

    #[test]
    fn hosts_are_read_from_every_url_shape() {
        assert_eq!(
            url_host("amqp://guest:guest@127.0.0.1:5672/%2f"),
            "127.0.0.1"
        );
        assert_eq!(
            url_host("amqps://u:p@Broker.Example:5671"),
            "broker.example"
        );
        assert_eq!(url_host("postgres://u:p@[::1]:5432/db"), "::1");
        assert_eq!(
            url_host("postgres://u@db.internal/db?sslmode=require"),
            "db.internal"
        );
        assert_eq!(
            url_host("postgres:///db?host=/var/run/postgresql"),
            "/var/run/postgresql"
        );
        assert_eq!(url_host("postgres://u@/db"), "");
        assert_eq!(url_host("smtp://user:s3cr@t@relay.local"), "relay.local");
        assert_eq!(url_host("https://gatewayapi.eu/rest"), "gatewayapi.eu");
        assert_eq!(url_host("http://localhost:9000"), "localhost");
    }

    #[test]
    fn loopback_is_the_machine_itself() {
        for h in [
            "127.0.0.1",
            "127.8.9.1",
            "::1",
            "localhost",
            "",
            "/var/run/postgresql",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        for h in [
            "10.0.0.1",
            "rabbitmq",
            "db.internal",
            "0.0.0.0",
            "localhost.evil.example",
        ] {
            assert!(!is_loopback(h), "{h}");
        }
    }

    #[test]
    fn plaintext_off_the_machine_is_refused_with_the_fix() {
        let err = strict()
            .check("bus.url", "amqp://u:p@rabbitmq:5672/%2f", Transport::Plain)
            .expect_err("plaintext to another host");
        assert!(err.contains("bus.url") && err.contains("amqps://") && err.contains("rabbitmq"));
        assert!(err.contains("RESTANCE__TLS__ALLOW_PLAINTEXT"), "{err}");
        assert!(!err.contains("u:p"), "no credentials in the message: {err}");
        let url = "postgres://u@db/x?sslmode=require";
        assert!(
            strict()
                .check("database.url", url, postgres_transport(url))
                .expect_err("sslmode=require checks no certificate")
                .contains("verify-full")
        );
        assert!(
            strict()
                .check("sms.url", "http://gw.example", Transport::Plain)
                .is_err()
        );
    }

    #[test]
    fn tls_loopback_and_allow_plaintext_pass() {
        assert!(
            strict()
                .check(
                    "bus.url",
                    "amqps://u:p@rabbitmq",
                    amqp_transport("amqps://u:p@rabbitmq")
                )
                .is_ok()
        );
        assert!(
            strict()
                .check("bus.url", "amqp://u:p@127.0.0.1:5672", Transport::Plain)
                .is_ok()
        );
        let url = "postgres://u@db/x?sslmode=verify-full";
        assert!(
            strict()
                .check("database.url", url, postgres_transport(url))
                .is_ok()
        );
        let open = TlsSettings {
            allow_plaintext: true,
            ..strict()
        };
        assert!(
            open.check("bus.url", "amqp://u:p@rabbitmq", Transport::Plain)
                .is_ok()
        );
        assert!(open.plaintext_warning().is_some() && strict().plaintext_warning().is_none());
    }

    #[test]
    fn postgres_gets_the_ca_bundle_only_when_it_verifies_and_names_none() {
        let tls = TlsSettings {
            ca_file: Some("/etc/restance/ca.pem".into()),
            ..strict()
        };
        assert_eq!(
            postgres_url_with_ca("postgres://db/x?sslmode=verify-full", &tls),
            "postgres://db/x?sslmode=verify-full&sslrootcert=/etc/restance/ca.pem"
        );
        for same in [
            "postgres://db/x?sslmode=verify-full&sslrootcert=/own.pem",
            "postgres://127.0.0.1/x",
        ] {
            assert_eq!(postgres_url_with_ca(same, &tls), same);
        }
        assert_eq!(
            postgres_url_with_ca("postgres://db/x?sslmode=verify-full", &strict()),
            "postgres://db/x?sslmode=verify-full"
        );
    }

    #[test]
    fn a_ca_file_that_is_missing_or_not_pem_is_named() {
        let missing = TlsSettings {
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..strict()
        };
        assert!(missing.problems()[0].contains("/nonexistent/ca.pem"));
        let dir = std::env::temp_dir().join(format!("restance-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").expect("a temporary file");
        let none = TlsSettings {
            ca_file: Some(empty),
            ..strict()
        };
        assert!(
            none.problems()[0].contains("holds no certificate"),
            "{:?}",
            none.problems()
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
