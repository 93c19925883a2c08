//! Tests over TLS: certificates the test generates, a RabbitMQ node with only a TLS listener
//! and a PostgreSQL cluster that accepts only TLS, each started for the test and gone with it.
//!
//! Both servers are real (the installed `rabbitmq-server` and PostgreSQL's `initdb`/`postgres`),
//! in a temporary directory, on free ports, beside the machine's own broker and database, which
//! they do not touch. Run as root (CI), they run as the `rabbitmq` and `postgres` users, as the
//! packages' own servers do; run as anyone else, as that user.

use crate::process::free_port;
use anyhow::Context as _;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use restance_bus::{BusSettings, TlsSettings};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

/// A certificate authority and one server certificate it issued, as PEM files.
#[derive(Debug)]
pub struct TestPki {
    /// The CA certificate: what `RESTANCE__TLS__CA_FILE` names.
    pub ca_file: PathBuf,
    /// The server's certificate (for `localhost` and `127.0.0.1`).
    pub cert_file: PathBuf,
    /// The server's private key.
    pub key_file: PathBuf,
    /// The server's certificate, PEM.
    pub cert_pem: String,
    /// The server's private key, PEM (PKCS#8).
    pub key_pem: String,
    /// Holds the files; removed with the value.
    _dir: tempfile::TempDir,
}

impl TestPki {
    /// A fresh CA and a server certificate for `localhost` and `127.0.0.1`.
    pub fn generate() -> anyhow::Result<Self> {
        let mut ca = CertificateParams::new(Vec::<String>::new())?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "Restance test CA");
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate()?)?;
        let mut server = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])?;
        server
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let server_key = KeyPair::generate()?;
        let cert = server.signed_by(&server_key, &ca)?;
        let dir = tempfile::Builder::new().prefix("restance-pki-").tempdir()?;
        let ca_file = dir.path().join("ca.pem");
        let cert_file = dir.path().join("server.pem");
        let key_file = dir.path().join("server.key");
        let cert_pem = cert.pem();
        let key_pem = server_key.serialize_pem();
        std::fs::write(&ca_file, ca.pem())?;
        std::fs::write(&cert_file, &cert_pem)?;
        std::fs::write(&key_file, &key_pem)?;
        Ok(Self {
            ca_file,
            cert_file,
            key_file,
            cert_pem,
            key_pem,
            _dir: dir,
        })
    }

    /// `[tls]` trusting this CA.
    pub fn tls_settings(&self) -> TlsSettings {
        TlsSettings {
            ca_file: Some(self.ca_file.clone()),
            allow_plaintext: false,
        }
    }
}

/// Whether this process runs as root (then servers run as their packages' users).
fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Hands `path` (recursively) to `user` when running as root; the servers refuse files they
/// cannot read, and PostgreSQL a key that others can.
fn give_to(user: &str, path: &Path) -> anyhow::Result<()> {
    if is_root() {
        let status = std::process::Command::new("chown")
            .args(["-R", &format!("{user}:"), &path.display().to_string()])
            .status()?;
        anyhow::ensure!(status.success(), "chown {user} {} failed", path.display());
    }
    Ok(())
}

/// A command run as `user` when this process is root, else as this user.
fn command_as(user: &str, program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", user, "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// A server process (behind `runuser` and start scripts) and the file where the server writes
/// its own pid, which is what is killed on drop. Only positive pids are signalled: procps-ng
/// 4.0's `kill` has read `kill -KILL -<pgid>` as "every process" (it took the machine's broker
/// and database down), so no process group is ever signalled from here.
#[derive(Debug)]
struct Server {
    child: Child,
    log: PathBuf,
    pid_file: PathBuf,
}

impl Server {
    fn spawn(mut cmd: Command, log: PathBuf, pid_file: PathBuf) -> anyhow::Result<Self> {
        let out = std::fs::File::create(&log)?;
        cmd.stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .kill_on_drop(true);
        let child = cmd.spawn()?;
        Ok(Self {
            child,
            log,
            pid_file,
        })
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The server's own pid, from the first line of its pid file (RabbitMQ's
    /// `RABBITMQ_PID_FILE`, PostgreSQL's `postmaster.pid`).
    fn server_pid(&self) -> Option<u32> {
        let text = std::fs::read_to_string(&self.pid_file).ok()?;
        text.lines()
            .next()?
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|pid| *pid > 1)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(pid) = self.server_pid() {
            let _ = std::process::Command::new("kill")
                .args(["-s", "KILL", &pid.to_string()])
                .status();
        }
        let _ = self.child.start_kill();
    }
}

/// A RabbitMQ node listening only on TLS (`amqps://`), guest/guest from loopback.
#[derive(Debug)]
pub struct TlsRabbitMq {
    /// The TLS listener's port on 127.0.0.1.
    pub port: u16,
    server: Server,
    _dir: tempfile::TempDir,
}

impl TlsRabbitMq {
    /// Starts a node with `pki`'s server certificate and waits until it accepts an `amqps://`
    /// connection that checks its certificate against `pki`'s CA.
    pub async fn start(pki: &TestPki) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("restance-rabbit-")
            .tempdir()?;
        let d = dir.path();
        let port = free_port()?;
        for (name, from) in [
            ("ca.pem", &pki.ca_file),
            ("server.pem", &pki.cert_file),
            ("server.key", &pki.key_file),
        ] {
            std::fs::copy(from, d.join(name))?;
        }
        std::fs::write(
            d.join("rabbitmq.conf"),
            format!(
                "listeners.tcp = none\n\
                 listeners.ssl.default = 127.0.0.1:{port}\n\
                 ssl_options.cacertfile = {d}/ca.pem\n\
                 ssl_options.certfile = {d}/server.pem\n\
                 ssl_options.keyfile = {d}/server.key\n\
                 ssl_options.verify = verify_none\n\
                 ssl_options.fail_if_no_peer_cert = false\n",
                d = d.display()
            ),
        )?;
        std::fs::write(d.join("enabled_plugins"), "[].\n")?;
        std::fs::write(d.join("rabbitmq-env.conf"), "")?;
        give_to("rabbitmq", d)?;
        let program = [
            "/usr/lib/rabbitmq/bin/rabbitmq-server",
            "/usr/sbin/rabbitmq-server",
        ]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("rabbitmq-server"));
        let node = format!(
            "restance-tls-{}@localhost",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let mut cmd = command_as("rabbitmq", &program);
        cmd.current_dir(d)
            .env("RABBITMQ_NODENAME", &node)
            .env("RABBITMQ_CONF_ENV_FILE", d.join("rabbitmq-env.conf"))
            .env("RABBITMQ_CONFIG_FILE", d.join("rabbitmq.conf"))
            .env("RABBITMQ_ADVANCED_CONFIG_FILE", d.join("advanced.config"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", d.join("enabled_plugins"))
            .env("RABBITMQ_MNESIA_BASE", d.join("mnesia"))
            .env("RABBITMQ_LOG_BASE", d.join("log"))
            .env("RABBITMQ_PLUGINS_EXPAND_DIR", d.join("plugins-expand"))
            .env("RABBITMQ_PID_FILE", d.join("node.pid"))
            .env("RABBITMQ_NODE_PORT", free_port()?.to_string())
            .env("RABBITMQ_DIST_PORT", free_port()?.to_string())
            .env("ERL_EPMD_ADDRESS", "127.0.0.1");
        let server = Server::spawn(cmd, d.join("server.out"), d.join("node.pid"))?;
        let mut node = Self {
            port,
            server,
            _dir: dir,
        };
        node.wait_ready(pki).await?;
        Ok(node)
    }

    /// `amqps://guest:guest@127.0.0.1:<port>/%2f`.
    pub fn url(&self) -> String {
        format!("amqps://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    /// Bus settings for this node, trusting `pki`'s CA.
    pub fn bus_settings(&self, pki: &TestPki, exchange: &str) -> BusSettings {
        BusSettings {
            url: self.url(),
            exchange: exchange.to_owned(),
            tls: pki.tls_settings(),
            ..BusSettings::default()
        }
    }

    async fn wait_ready(&mut self, pki: &TestPki) -> anyhow::Result<()> {
        let settings = self.bus_settings(pki, "unused");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        loop {
            match restance_bus::connection::connect(&settings, "restance-test-tls-probe").await {
                Ok(conn) => {
                    conn.close(200, "ready".into()).await.ok();
                    return Ok(());
                }
                Err(e) => {
                    if let Some(status) = self.server.exited() {
                        anyhow::bail!(
                            "the TLS RabbitMQ node exited ({status}) before it was ready:\n{}",
                            self.server.log_text()
                        );
                    }
                    anyhow::ensure!(
                        tokio::time::Instant::now() < deadline,
                        "the TLS RabbitMQ node did not accept amqps:// within 120 s ({e}):\n{}",
                        self.server.log_text()
                    );
                }
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// A PostgreSQL cluster with `ssl = on` whose `pg_hba.conf` accepts only TLS over TCP
/// (`hostssl`), user `postgres` with trust.
#[derive(Debug)]
pub struct TlsPostgres {
    /// The port on 127.0.0.1.
    pub port: u16,
    ca_file: PathBuf,
    server: Server,
    _dir: tempfile::TempDir,
}

/// PostgreSQL's server programs: `pg_config --bindir`, else the newest under
/// /usr/lib/postgresql (Debian's layout).
fn pg_bindir() -> anyhow::Result<PathBuf> {
    if let Ok(out) = std::process::Command::new("pg_config")
        .arg("--bindir")
        .output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return Ok(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .context("PostgreSQL's server programs not found (no pg_config, no /usr/lib/postgresql): run `just services`")?
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            Some((v, e.path().join("bin")))
        })
        .filter(|(_, bin)| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .context("no initdb under /usr/lib/postgresql/*/bin")
}

impl TlsPostgres {
    /// Creates a cluster in a temporary directory, starts it with `pki`'s server certificate,
    /// and waits until a `sslmode=verify-full` connection trusting `pki`'s CA succeeds.
    pub async fn start(pki: &TestPki) -> anyhow::Result<Self> {
        let bin = pg_bindir()?;
        let dir = tempfile::Builder::new().prefix("restance-pg-").tempdir()?;
        let d = dir.path().to_owned();
        let data = d.join("data");
        give_to("postgres", &d)?;
        let init = command_as("postgres", &bin.join("initdb"))
            .args([
                "-D",
                &data.display().to_string(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ])
            .stdin(Stdio::null())
            .output()
            .await
            .context("running initdb")?;
        anyhow::ensure!(
            init.status.success(),
            "initdb failed: {}{}",
            String::from_utf8_lossy(&init.stdout),
            String::from_utf8_lossy(&init.stderr)
        );
        std::fs::copy(&pki.cert_file, data.join("server.crt"))?;
        std::fs::copy(&pki.key_file, data.join("server.key"))?;
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\n",
        )?;
        give_to("postgres", &d)?;
        std::fs::set_permissions(
            data.join("server.key"),
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )?;
        let port = free_port()?;
        let mut cmd = command_as("postgres", &bin.join("postgres"));
        cmd.args(["-D", &data.display().to_string()])
            .args(["-p", &port.to_string()])
            .args(["-k", &d.display().to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", "ssl=on"])
            .args(["-c", "ssl_cert_file=server.crt"])
            .args(["-c", "ssl_key_file=server.key"])
            .args(["-c", "fsync=off"])
            .args(["-c", "max_connections=200"]);
        let server = Server::spawn(cmd, d.join("server.out"), data.join("postmaster.pid"))?;
        let mut pg = Self {
            port,
            ca_file: pki.ca_file.clone(),
            server,
            _dir: dir,
        };
        pg.wait_ready().await?;
        Ok(pg)
    }

    /// `postgres://postgres@127.0.0.1:<port>/<database>?sslmode=verify-full`: the service adds
    /// its `tls.ca_file` as the root certificate.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{database}?sslmode=verify-full",
            self.port
        )
    }

    /// [`Self::url`] with this test's CA as `sslrootcert`, for the test's own connections.
    pub fn url_with_ca(&self, database: &str) -> String {
        format!(
            "{}&sslrootcert={}",
            self.url(database),
            self.ca_file.display()
        )
    }

    /// Creates an empty database.
    pub async fn create_database(&self, name: &str) -> anyhow::Result<()> {
        use sea_orm::ConnectionTrait;
        let admin = sea_orm::Database::connect(self.url_with_ca("postgres")).await?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await?;
        admin.close().await.ok();
        Ok(())
    }

    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            match sea_orm::Database::connect(self.url_with_ca("postgres")).await {
                Ok(db) => {
                    db.close().await.ok();
                    return Ok(());
                }
                Err(e) => {
                    if let Some(status) = self.server.exited() {
                        anyhow::bail!(
                            "the TLS PostgreSQL exited ({status}) before it was ready:\n{}",
                            self.server.log_text()
                        );
                    }
                    anyhow::ensure!(
                        tokio::time::Instant::now() < deadline,
                        "the TLS PostgreSQL did not accept sslmode=verify-full within 60 s ({e}):\n{}",
                        self.server.log_text()
                    );
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// A rustls server configuration for `pki`'s server certificate (the fake SMS gateway's https).
pub fn server_config(pki: &TestPki) -> anyhow::Result<std::sync::Arc<rustls::ServerConfig>> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    restance_bus::tls::install_crypto_provider();
    let certs =
        CertificateDer::pem_slice_iter(pki.cert_pem.as_bytes()).collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_slice(pki.key_pem.as_bytes())?;
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    Ok(std::sync::Arc::new(config))
}

/// An SMTP server over implicit TLS (`smtps://`) that accepts every message and keeps it: the
/// few commands lettre sends (EHLO, MAIL, RCPT, DATA, QUIT; anything else gets 250).
#[derive(Debug)]
pub struct FakeSmtps {
    /// The port on 127.0.0.1.
    pub port: u16,
    messages: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeSmtps {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeSmtps {
    /// Listens on a free port with `pki`'s server certificate.
    pub async fn start(pki: &TestPki) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let acceptor = tokio_rustls::TlsAcceptor::from(server_config(pki)?);
        let messages = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = messages.clone();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let kept = kept.clone();
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        let _ = smtp_session(tls, kept).await;
                    }
                });
            }
        });
        Ok(Self {
            port,
            messages,
            task,
        })
    }

    /// `smtps://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("smtps://127.0.0.1:{}", self.port)
    }

    /// Every message received so far (the DATA, dot-unstuffed).
    pub fn messages(&self) -> Vec<String> {
        self.messages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

async fn smtp_session<S>(
    stream: S,
    kept: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) -> std::io::Result<()>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let (read, mut write) = tokio::io::split(stream);
    let mut lines = BufReader::new(read);
    write.write_all(b"220 restance-test ESMTP\r\n").await?;
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => {
                write
                    .write_all(b"250-restance-test\r\n250 8BITMIME\r\n")
                    .await?
            }
            "DATA" => {
                write.write_all(b"354 go ahead\r\n").await?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                kept.lock().unwrap_or_else(|e| e.into_inner()).push(data);
                write.write_all(b"250 kept\r\n").await?;
            }
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => write.write_all(b"250 ok\r\n").await?,
        }
        write.flush().await?;
    }
}
