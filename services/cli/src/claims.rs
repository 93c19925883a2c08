//! `restance claims <debtor-id>`: invoicing's `GET /api/v1/debtors/{id}/claims` as a table.
//!
//! The response types mirror `restance_invoicing::http::DebtorClaims` field for field (the CLI
//! does not link the service); unknown fields are ignored, so invoicing may add some.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::{StatusCode, Url};
use restance_kernel::Money;
use serde::Deserialize;
use serde_json::Value;

use crate::table::{Align, Table};

/// One claim in the debtor view.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ClaimView {
    /// Claim id.
    pub claim_id: String,
    /// Upstream invoice id.
    pub invoice_id: String,
    /// Municipality code.
    pub municipality: String,
    /// Category key.
    pub category: String,
    /// Currency code.
    pub currency: String,
    /// Open principal.
    pub principal: Money,
    /// Open fees.
    pub fees: Money,
    /// Open interest.
    pub interest: Money,
    /// Open total.
    pub total: Money,
    /// Due date.
    pub due_date: String,
    /// open | settled | transferred | written_off.
    pub state: String,
    /// The payment reference as printed (FIK OCR line or KID).
    pub ocr_line: String,
}

/// The debtor view.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DebtorClaims {
    /// Debtor id.
    pub debtor_id: String,
    /// Claims, oldest due date first.
    pub claims: Vec<ClaimView>,
    /// Sum of open totals.
    pub open_total: Money,
}

/// The request URL: `<base>/api/v1/debtors/<id>/claims[?municipality=…]`, the id escaped.
pub fn claims_url(base: &str, debtor_id: &str, municipality: Option<&str>) -> anyhow::Result<Url> {
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
        .extend(["api", "v1", "debtors", debtor_id, "claims"]);
    if let Some(m) = municipality {
        url.query_pairs_mut().append_pair("municipality", m);
    }
    Ok(url)
}

/// Fetches the debtor's claims: `Ok(None)` when invoicing has none (404).
pub async fn fetch(
    base: &str,
    debtor_id: &str,
    municipality: Option<&str>,
    token: Option<&str>,
) -> anyhow::Result<Option<(DebtorClaims, Value)>> {
    let url = claims_url(base, debtor_id, municipality)?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let mut request = client.get(url.clone());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.map_err(|e| {
        anyhow::anyhow!(
            "cannot reach invoicing at {base} ({e}): is restance-invoicing running? \
             --url or RESTANCE_INVOICING_URL sets the address"
        )
    })?;
    let status = response.status();
    let body = response.bytes().await.unwrap_or_default();
    let api_error = || {
        serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(200).collect())
    };
    match status {
        StatusCode::OK => {
            let raw: Value = serde_json::from_slice(&body).map_err(|e| {
                anyhow::anyhow!("invoicing answered with something that is not JSON: {e}")
            })?;
            let claims: DebtorClaims = serde_json::from_value(raw.clone()).map_err(|e| {
                anyhow::anyhow!("invoicing's answer has an unexpected shape ({e}); is the CLI as new as the service?")
            })?;
            Ok(Some((claims, raw)))
        }
        // Invoicing says "no claims" with a JSON error; a bare 404 is some other server.
        StatusCode::NOT_FOUND if serde_json::from_slice::<Value>(&body).is_ok() => Ok(None),
        StatusCode::NOT_FOUND => Err(anyhow::anyhow!(
            "{url} does not exist (404 without invoicing's answer): does --url point at invoicing?"
        )),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(anyhow::anyhow!(
            "invoicing refused the request ({status}: {}): pass a valid --token or set RESTANCE_TOKEN",
            api_error()
        )),
        _ => Err(anyhow::anyhow!(
            "invoicing answered {status}: {}",
            api_error()
        )),
    }
}

/// The claims as a table, then the open total per currency.
pub fn render(view: &DebtorClaims) -> String {
    let mut table = Table::new(&[
        ("CLAIM", Align::Left),
        ("INVOICE", Align::Left),
        ("CATEGORY", Align::Left),
        ("DUE", Align::Left),
        ("PRINCIPAL", Align::Right),
        ("FEES", Align::Right),
        ("INTEREST", Align::Right),
        ("TOTAL", Align::Right),
        ("CUR", Align::Left),
        ("STATE", Align::Left),
        ("OCR LINE", Align::Left),
    ]);
    let mut open: BTreeMap<&str, Money> = BTreeMap::new();
    for c in &view.claims {
        table.row(vec![
            c.claim_id.clone(),
            c.invoice_id.clone(),
            c.category.clone(),
            c.due_date.clone(),
            c.principal.to_string(),
            c.fees.to_string(),
            c.interest.to_string(),
            c.total.to_string(),
            c.currency.clone(),
            c.state.clone(),
            c.ocr_line.clone(),
        ]);
        if c.state == "open" {
            let sum = open.entry(&c.currency).or_insert(Money::ZERO);
            *sum = sum.checked_add(c.total).unwrap_or(*sum);
        }
    }
    let mut out = format!(
        "debtor {}: {} claim(s)\n{}\n",
        view.debtor_id,
        view.claims.len(),
        table.render()
    );
    match open.len() {
        0 => out.push_str(&format!("open total: {}\n", view.open_total)),
        1 => {
            let currency = open.keys().next().copied().unwrap_or("");
            out.push_str(&format!("open total: {} {currency}\n", view.open_total));
        }
        _ => {
            for (currency, sum) in open {
                out.push_str(&format!("open total: {sum} {currency}\n"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_debtor_id_is_escaped_into_the_path() {
        let url = claims_url("http://127.0.0.1:8081/", "P/77 x", Some("0746")).expect("url");
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:8081/api/v1/debtors/P%2F77%20x/claims?municipality=0746"
        );
        assert!(claims_url("https://invoicing", "P-1", None).is_err());
    }

    #[test]
    fn the_table_shows_every_claim_and_the_open_total() {
        let raw = serde_json::json!({
            "debtor_id": "P-77",
            "claims": [{
                "claim_id": "c1", "invoice_id": "DAY-1", "source": "/billing/daycare",
                "municipality": "0746", "office": "main", "category": "daycare",
                "currency": "DKK", "amount": "2150.00", "principal": "2150.00", "fees": "250.00",
                "interest": "21.50", "total": "2421.50", "issue_date": "2026-12-01",
                "due_date": "2026-12-15", "state": "open",
                "ocr_line": "+71<000000067097535+85412345<", "direct_debit": false,
                "settled_date": null
            }],
            "open_total": "2421.50"
        });
        let view: DebtorClaims = serde_json::from_value(raw).expect("shape");
        let text = render(&view);
        assert!(text.contains("+71<000000067097535+85412345<"), "{text}");
        assert!(text.contains("2421.50"), "{text}");
        assert!(text.ends_with("open total: 2421.50 DKK\n"), "{text}");
    }
}
