//! Running the real service binaries: spawn with env, wait until ready, SIGTERM or kill -9.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

/// Path of a workspace binary (`restance-invoicing`), next to the test executable's
/// directory (`target/<profile>/`), or in `RESTANCE_BIN_DIR`.
pub fn binary(name: &str) -> anyhow::Result<PathBuf> {
    let dir = match std::env::var_os("RESTANCE_BIN_DIR") {
        Some(d) => PathBuf::from(d),
        None => {
            // A test runs from target/<profile>/deps/, a binary from target/<profile>/.
            let exe = std::env::current_exe()?;
            let here = exe
                .parent()
                .map(PathBuf::from)
                .ok_or_else(|| anyhow::anyhow!("no target dir"))?;
            if here.ends_with("deps") {
                here.parent().map(PathBuf::from).unwrap_or(here)
            } else {
                here
            }
        }
    };
    let path = dir.join(name);
    anyhow::ensure!(
        path.exists(),
        "{} is not built; run `cargo build --workspace --bins` (just test does) first",
        path.display()
    );
    Ok(path)
}

/// A running service process with its log file.
#[derive(Debug)]
pub struct ServiceProcess {
    child: Option<Child>,
    /// Where stdout and stderr go.
    pub log: PathBuf,
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    name: String,
    env: Vec<(String, String)>,
    _logdir: tempfile::TempDir,
}

/// A free TCP port on loopback.
pub fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

impl ServiceProcess {
    /// Starts `name` with `env` (plus `RESTANCE__HTTP__PORT` on a free port, host 127.0.0.1,
    /// and, unless `env` says otherwise, business days up to [`crate::app::TEST_DAYS_AHEAD`]
    /// ahead and an open API when `env` has no tokens)
    /// from the workspace root (so `config/` and `templates/` are found).
    pub async fn spawn(name: &str, env: &[(&str, &str)]) -> anyhow::Result<Self> {
        restance_bus::tls::install_crypto_provider();
        let port = free_port()?;
        let mut env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        env.push(("RESTANCE__HTTP__PORT".into(), port.to_string()));
        env.push(("RESTANCE__HTTP__HOST".into(), "127.0.0.1".into()));
        if !env
            .iter()
            .any(|(k, _)| k == "RESTANCE__API__TOKENS" || k == "RESTANCE__API__OPEN")
        {
            env.push(("RESTANCE__API__OPEN".into(), "true".into()));
        }
        if !env
            .iter()
            .any(|(k, _)| k == "RESTANCE__CALENDAR__MAX_DAYS_AHEAD")
        {
            env.push((
                "RESTANCE__CALENDAR__MAX_DAYS_AHEAD".into(),
                crate::app::TEST_DAYS_AHEAD.to_string(),
            ));
        }
        let logdir = tempfile::tempdir()?;
        let log = logdir.path().join(format!("{name}.log"));
        let mut p = Self {
            child: None,
            log,
            base_url: format!("http://127.0.0.1:{port}"),
            name: name.into(),
            env,
            _logdir: logdir,
        };
        p.start().await?;
        Ok(p)
    }

    async fn start(&mut self) -> anyhow::Result<()> {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let mut cmd = Command::new(binary(&self.name)?);
        cmd.current_dir(root)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true);
        self.child = Some(cmd.spawn()?);
        Ok(())
    }

    /// Waits until `/readyz` answers 200. Each probe gives up after a second: the port is
    /// bound before the service serves it (while it waits for its database), and a probe
    /// without a bound would wait there past `timeout`.
    pub async fn wait_ready(&self, timeout: Duration) -> anyhow::Result<()> {
        restance_bus::tls::install_crypto_provider();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(1))
            .build()?;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Ok(r) = client.get(format!("{}/readyz", self.base_url)).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                anyhow::bail!(
                    "{} not ready within {timeout:?}; log:\n{}",
                    self.name,
                    self.log_text()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// Peak resident memory (VmHWM) of the running process, in KiB (Linux).
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
    }

    /// The process's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// kill -9 (no drain, no flush).
    pub async fn kill9(&mut self) -> anyhow::Result<()> {
        if let Some(mut c) = self.child.take() {
            c.start_kill()?;
            c.wait().await?;
        }
        Ok(())
    }

    /// SIGTERM, and waits for the exit (graceful drain); returns the exit status success.
    pub async fn terminate(&mut self, timeout: Duration) -> anyhow::Result<bool> {
        let Some(mut c) = self.child.take() else {
            return Ok(true);
        };
        if let Some(pid) = c.id() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status()
                .await;
        }
        match tokio::time::timeout(timeout, c.wait()).await {
            Ok(status) => Ok(status?.success()),
            Err(_) => {
                c.start_kill()?;
                anyhow::bail!(
                    "{} did not stop within {timeout:?} after SIGTERM",
                    self.name
                )
            }
        }
    }

    /// The exit status once the process has ended by itself (a crash), without waiting.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// Sets (`Some`) or removes (`None`) an environment variable for the next start.
    pub fn set_env(&mut self, key: &str, value: Option<&str>) {
        self.env.retain(|(k, _)| k != key);
        if let Some(v) = value {
            self.env.push((key.to_owned(), v.to_owned()));
        }
    }

    /// Starts the binary again after it ended by itself (as Kubernetes restarts a crashed
    /// container): same environment, port and log file.
    pub async fn start_again(&mut self) -> anyhow::Result<()> {
        if let Some(mut c) = self.child.take() {
            let _ = c.start_kill();
            let _ = c.wait().await;
        }
        self.start().await
    }

    /// Starts the same binary again with the same environment and port.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.kill9().await?;
        self.start().await
    }
}

/// Runs `restance-<service> migrate` (its database, and its queues on the broker) from the
/// workspace root with `env` and an open API, and returns what it printed; fails unless it exits
/// 0 within a minute.
pub async fn run_migrate(service: &str, env: &[(&str, &str)]) -> anyhow::Result<String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        Command::new(binary(&format!("restance-{service}"))?)
            .arg("migrate")
            .current_dir(root)
            .envs(env.iter().copied())
            .env("RESTANCE__API__OPEN", "true")
            .env("RESTANCE__LOG__FORMAT", "text")
            .output(),
    )
    .await??;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    anyhow::ensure!(
        out.status.success(),
        "{service} migrate failed ({}):\n{text}",
        out.status
    );
    Ok(text)
}
