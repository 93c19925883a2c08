//! `restance retention preview`: what retention would erase, per service — each service's
//! `GET /api/v1/retention/preview` (admin token; invoicing, notifications, guarantee,
//! counselling), shown as one table: debtors (or cases), the records holding their personal
//! data, the oldest and newest date their last claim (or case) ended, and how many were erased
//! so far. Counts and dates only, never who. A service that cannot be reached is listed with
//! why, and the command exits non-zero.

use std::time::Duration;

use reqwest::{StatusCode, Url};
use restance_kernel::retention::Preview;
use serde_json::Value;

use crate::table::{Align, Table};

/// The preview URL of a service: `<base>/api/v1/retention/preview[?date=…]`.
pub fn preview_url(base: &str, date: Option<&str>) -> anyhow::Result<Url> {
    let mut url = Url::parse(base).map_err(|e| anyhow::anyhow!("{base:?} is not a URL: {e}"))?;
    if url.scheme() != "http" {
        anyhow::bail!(
            "{base}: must be an http:// address (this build speaks plain HTTP: use the \
             cluster-internal address or `kubectl port-forward`)"
        );
    }
    url.path_segments_mut()
        .map_err(|()| anyhow::anyhow!("{base:?} cannot take a path"))?
        .pop_if_empty()
        .extend(["api", "v1", "retention", "preview"]);
    if let Some(date) = date {
        url.query_pairs_mut().append_pair("date", date);
    }
    Ok(url)
}

/// One service's preview, or why there is none.
pub async fn fetch(
    service: &str,
    base: &str,
    date: Option<&str>,
    token: Option<&str>,
) -> Result<Preview, String> {
    let url = preview_url(base, date).map_err(|e| e.to_string())?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .map_err(|e| e.to_string())?;
    let mut request = client.get(url.clone());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .map_err(|e| format!("cannot reach {service} at {base} ({e})"))?;
    let status = response.status();
    let body = response.bytes().await.unwrap_or_default();
    let detail = || {
        serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v.get("detail").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(200).collect())
    };
    match status {
        StatusCode::OK => serde_json::from_slice(&body).map_err(|e| {
            format!("{service}'s answer has an unexpected shape ({e}); is the CLI as new as the service?")
        }),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(format!(
            "{service} refused ({status}: {}): it needs a token with the admin role (--token or RESTANCE_TOKEN)",
            detail()
        )),
        StatusCode::NOT_FOUND => Err(format!(
            "{url} does not exist (404): is {service} older than retention?"
        )),
        _ => Err(format!("{service} answered {status}: {}", detail())),
    }
}

/// The previews (or why not) as one table, then each service's municipalities.
pub fn render(previews: &[(String, Result<Preview, String>)]) -> String {
    let mut table = Table::new(&[
        ("SERVICE", Align::Left),
        ("AS OF", Align::Left),
        ("DEBTORS", Align::Right),
        ("RECORDS", Align::Right),
        ("OLDEST END", Align::Left),
        ("NEWEST END", Align::Left),
        ("ERASED SO FAR", Align::Right),
        ("", Align::Left),
    ]);
    let mut problems = String::new();
    for (service, preview) in previews {
        match preview {
            Ok(p) => table.row(vec![
                service.clone(),
                p.as_of.to_string(),
                p.debtors.to_string(),
                format!("{} {}", p.records, p.records_are),
                p.oldest.map_or_else(|| "-".to_owned(), |d| d.to_string()),
                p.newest.map_or_else(|| "-".to_owned(), |d| d.to_string()),
                p.erased_so_far.to_string(),
                if p.enabled {
                    String::new()
                } else {
                    "retention disabled".to_owned()
                },
            ]),
            Err(why) => {
                table.row(vec![
                    service.clone(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "unavailable".into(),
                ]);
                problems.push_str(&format!("{service}: {why}\n"));
            }
        }
    }
    let mut out = table.render();
    for (service, preview) in previews {
        if let Ok(p) = preview
            && !p.municipalities.is_empty()
        {
            let per: Vec<String> = p
                .municipalities
                .iter()
                .map(|m| {
                    format!(
                        "{} {} debtors, {} records",
                        m.municipality, m.debtors, m.records
                    )
                })
                .collect();
            out.push_str(&format!("{service}: {}\n", per.join("; ")));
        }
    }
    out.push_str(&problems);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use restance_kernel::retention::PreviewMunicipality;

    #[test]
    fn the_url_is_the_services_preview_endpoint() {
        assert_eq!(
            preview_url("http://127.0.0.1:8081/", Some("2031-01-02"))
                .expect("url")
                .as_str(),
            "http://127.0.0.1:8081/api/v1/retention/preview?date=2031-01-02"
        );
        assert!(preview_url("https://invoicing", None).is_err());
    }

    #[test]
    fn the_table_shows_counts_and_dates_and_says_which_service_is_missing() {
        let preview = Preview {
            service: "invoicing".into(),
            as_of: NaiveDate::from_ymd_opt(2031, 1, 2).expect("date"),
            enabled: true,
            debtors: 2,
            records: 5,
            records_are: "claims".into(),
            oldest: NaiveDate::from_ymd_opt(2024, 3, 1),
            newest: NaiveDate::from_ymd_opt(2025, 6, 30),
            municipalities: vec![PreviewMunicipality {
                municipality: "0746".into(),
                debtors: 2,
                records: 5,
            }],
            erased_so_far: 7,
        };
        let out = render(&[
            ("invoicing".into(), Ok(preview)),
            (
                "notifications".into(),
                Err("cannot reach notifications".into()),
            ),
            (
                "counselling".into(),
                Ok(Preview {
                    service: "counselling".into(),
                    as_of: NaiveDate::from_ymd_opt(2032, 1, 2).expect("date"),
                    enabled: true,
                    debtors: 1,
                    records: 1,
                    records_are: "cases".into(),
                    oldest: NaiveDate::from_ymd_opt(2026, 3, 3),
                    newest: NaiveDate::from_ymd_opt(2026, 3, 3),
                    municipalities: vec![PreviewMunicipality {
                        municipality: "4204".into(),
                        debtors: 1,
                        records: 1,
                    }],
                    erased_so_far: 0,
                }),
            ),
        ]);
        assert!(
            out.contains("1 cases") && out.contains("2026-03-03"),
            "{out}"
        );
        assert!(
            out.contains("counselling: 4204 1 debtors, 1 records"),
            "{out}"
        );
        assert!(out.contains("5 claims"), "{out}");
        assert!(
            out.contains("2024-03-01") && out.contains("2025-06-30"),
            "{out}"
        );
        assert!(
            out.contains("invoicing: 0746 2 debtors, 5 records"),
            "{out}"
        );
        assert!(
            out.contains("notifications: cannot reach notifications"),
            "{out}"
        );
    }
}
