//! `restance reporting import-history <file.csv>`: uploads earlier month-end balances to the
//! reporting service (`POST /api/v1/history`, admin token), which checks every row against the
//! catalog and imports all of them or none (`services/reporting/README.md`, "History import").
//!
//! The service owns its database, so the CLI does not write it: it reads the file, shows what it
//! is sending, uploads it, and prints the service's verdict — the dates imported per
//! municipality, or every bad row with its line number.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use serde_json::Value;

/// One bad row as the service reports it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Problem {
    /// 1-based line number (1 is the header).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// What the service answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Imported: rows, and the dates replaced per municipality.
    Imported {
        /// Rows imported.
        rows: u64,
        /// Per municipality, the month-ends now imported.
        dates: BTreeMap<String, Vec<String>>,
    },
    /// Refused: nothing imported; every bad row (at most 500 listed) and how many there were.
    Refused {
        /// The rows listed.
        problems: Vec<Problem>,
        /// How many problems there were in all.
        total: usize,
    },
}

/// The request URL: `<base>/api/v1/history`.
pub fn history_url(base: &str) -> anyhow::Result<Url> {
    let mut url =
        Url::parse(base).map_err(|e| anyhow::anyhow!("--url {base:?} is not a URL: {e}"))?;
    if url.scheme() != "http" {
        anyhow::bail!(
            "--url must be an http:// address (this build speaks plain HTTP: use the \
             cluster-internal address or `kubectl port-forward`)"
        );
    }
    url.path_segments_mut()
        .map_err(|()| anyhow::anyhow!("--url {base:?} cannot take a path"))?
        .pop_if_empty()
        .extend(["api", "v1", "history"]);
    Ok(url)
}

/// Progress on stderr: a spinner at a terminal, plain lines otherwise.
struct Steps(Option<ProgressBar>);

impl Steps {
    fn new(terminal: bool) -> Steps {
        Steps(terminal.then(|| {
            let bar = ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        }))
    }

    fn say(&self, text: String) {
        match &self.0 {
            Some(bar) => bar.set_message(text),
            None => eprintln!("import-history: {text}"),
        }
    }

    fn done(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// Reads `file` and uploads it; the service's verdict.
pub async fn import_history(
    base: &str,
    file: &Path,
    token: Option<&str>,
    terminal: bool,
) -> anyhow::Result<Outcome> {
    let url = history_url(base)?;
    let bytes =
        std::fs::read(file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    anyhow::ensure!(!bytes.is_empty(), "{} is empty", file.display());
    let lines =
        bytes.iter().filter(|b| **b == b'\n').count() + usize::from(!bytes.ends_with(b"\n"));
    let steps = Steps::new(terminal);
    steps.say(format!(
        "uploading {} ({lines} lines, {} bytes) to {url}; the service checks every row",
        file.display(),
        bytes.len()
    ));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()?;
    let mut request = client
        .post(url.clone())
        .header(reqwest::header::CONTENT_TYPE, "text/csv; charset=utf-8")
        .body(bytes);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.map_err(|e| {
        steps.done();
        anyhow::anyhow!(
            "cannot reach reporting at {base} ({e}): is restance-reporting running? \
             --url or RESTANCE_REPORTING_URL sets the address"
        )
    })?;
    let status = response.status();
    let body = response.bytes().await.unwrap_or_default();
    steps.done();
    let json: Option<Value> = serde_json::from_slice(&body).ok();
    let api_error = || {
        json.as_ref()
            .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(200).collect())
    };
    match status {
        StatusCode::OK => {
            let v = json.ok_or_else(|| anyhow::anyhow!("reporting answered 200 without JSON"))?;
            let dates = serde_json::from_value(v["dates"].clone()).unwrap_or_default();
            Ok(Outcome::Imported {
                rows: v["imported"].as_u64().unwrap_or(0),
                dates,
            })
        }
        StatusCode::UNPROCESSABLE_ENTITY => {
            let v = json.ok_or_else(|| anyhow::anyhow!("reporting answered 422 without JSON"))?;
            let problems: Vec<Problem> =
                serde_json::from_value(v["problems"].clone()).unwrap_or_default();
            let total = v["total"]
                .as_u64()
                .and_then(|t| usize::try_from(t).ok())
                .unwrap_or(problems.len());
            Ok(Outcome::Refused { problems, total })
        }
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(anyhow::anyhow!(
            "reporting refused the import ({status}: {}): it needs a token with the admin role — \
             pass --token or set RESTANCE_TOKEN",
            api_error()
        )),
        StatusCode::PAYLOAD_TOO_LARGE => Err(anyhow::anyhow!(
            "the file is larger than reporting accepts (32 MiB): split it by municipality or year"
        )),
        StatusCode::NOT_FOUND => Err(anyhow::anyhow!(
            "{url} does not exist (404): does --url point at restance-reporting?"
        )),
        _ => Err(anyhow::anyhow!(
            "reporting answered {status}: {}",
            api_error()
        )),
    }
}

/// The verdict as text (stdout).
pub fn render(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Imported { rows, dates } => {
            let mut out = format!("imported {rows} row(s)\n");
            for (municipality, list) in dates {
                let range = match (list.first(), list.last()) {
                    (Some(a), Some(b)) if a != b => format!("{a} … {b}"),
                    (Some(a), _) => a.clone(),
                    _ => "-".to_owned(),
                };
                out.push_str(&format!(
                    "  {municipality}: {} month-end(s), {range}\n",
                    list.len()
                ));
            }
            out
        }
        Outcome::Refused { problems, total } => {
            let mut out = String::new();
            for p in problems {
                out.push_str(&format!("line {}: {}\n", p.line, p.message));
            }
            if *total > problems.len() {
                out.push_str(&format!(
                    "… and {} more problem(s)\n",
                    total - problems.len()
                ));
            }
            out.push_str(&format!(
                "{total} problem(s); nothing imported — correct the file and run it again\n"
            ));
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_is_the_services_history_endpoint() {
        assert_eq!(
            history_url("http://127.0.0.1:8086/").expect("url").as_str(),
            "http://127.0.0.1:8086/api/v1/history"
        );
        assert!(history_url("https://reporting").is_err());
    }

    #[test]
    fn refusals_list_every_line() {
        let text = render(&Outcome::Refused {
            problems: vec![Problem {
                line: 3,
                message: "office: \"nuuk\" is not an office of municipality 0957".into(),
            }],
            total: 2,
        });
        assert!(text.starts_with("line 3: office"), "{text}");
        assert!(text.contains("… and 1 more"), "{text}");
        assert!(text.contains("nothing imported"), "{text}");
    }
}
