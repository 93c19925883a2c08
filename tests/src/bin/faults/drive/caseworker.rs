//! What caseworkers do over the services' APIs, through any replica: the agreements, and the
//! reviews of the debt-counselling cases.

use super::publish::claims_of;
use crate::flow::{Agreement, Flow, Rng};
use crate::scenarios::{AGR, CNS, Phase, Scenario, phase_of};
use crate::strike::strike;
use crate::system::{CASEWORKER, System};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// A caseworker's request to agreements' API for one debtor.
fn agreement_request(kind: Agreement, debtor: &str, claim_ids: &[String]) -> (&'static str, Value) {
    match kind {
        Agreement::Plan => (
            "/api/v1/plans",
            json!({"municipality":"0746","debtor_id":debtor,"claim_ids":claim_ids,
                "number_of_instalments":2,"frequency":"monthly","first_due_date":"2027-01-04"}),
        ),
        Agreement::Deferral => (
            "/api/v1/deferrals",
            json!({"municipality":"0746","debtor_id":debtor,"claim_ids":claim_ids,
                "reason":"acute_social","until":"2027-01-29","note":"fault suite"}),
        ),
        Agreement::Meeting => (
            "/api/v1/meetings",
            json!({"municipality":"0746","debtor_id":debtor,"claim_ids":claim_ids,
                "at":"2027-01-06T08:00:00Z","office":"main","with_social_caseworker":false}),
        ),
    }
}

/// Whether agreements already holds the debtor's agreement (a caseworker looks before trying
/// again after an answer that never came).
async fn agreement_made(sys: &System, kind: Agreement, debtor: &str) -> bool {
    let table = match kind {
        Agreement::Plan => "plans",
        Agreement::Deferral => "deferrals",
        Agreement::Meeting => "meetings",
    };
    sys.count(
        AGR,
        &format!("SELECT COUNT(*) FROM {table} WHERE debtor_id = '{debtor}'"),
    )
    .await
        > 0
}

/// Makes one agreement through any replica, as a caseworker's browser behind a load balancer
/// would: a replica that does not answer is tried again through the next one, after looking
/// whether the first did it after all.
async fn make_agreement(
    sys: &mut System,
    http: &reqwest::Client,
    k: usize,
    kind: Agreement,
    debtor: &str,
    claim_ids: &[String],
) -> anyhow::Result<()> {
    let (path, body) = agreement_request(kind, debtor, claim_ids);
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut attempt = 0;
    loop {
        let replicas = sys.procs[AGR].len();
        let url = format!(
            "{}{path}",
            sys.procs[AGR][(k + attempt) % replicas].base_url
        );
        attempt += 1;
        let sent = http
            .post(url)
            .bearer_auth(CASEWORKER)
            .json(&body)
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        match sent {
            Ok(r) if r.status().as_u16() == 201 => return Ok(()),
            // 429: over the API's rate for this token — wait as told and send it again
            Ok(r) if r.status().is_client_error() && r.status().as_u16() != 429 => {
                let status = r.status();
                let text = r.text().await.unwrap_or_default();
                anyhow::bail!("agreements refused a {kind:?} for {debtor}: {status} {text}");
            }
            _ => {
                anyhow::ensure!(
                    Instant::now() < deadline,
                    "agreements did not make a {kind:?} for {debtor} within 90 s"
                );
                tokio::time::sleep(Duration::from_millis(300)).await;
                sys.supervise().await?;
                if agreement_made(sys, kind, debtor).await {
                    return Ok(());
                }
            }
        }
    }
}

/// The agreements phase: every agreement of the flow, made through the replicas in turn. A
/// fault in this phase strikes after a seeded 20–60 % of them; the rest are made while it is in
/// effect.
pub(super) async fn make_agreements(
    sys: &mut System,
    flow: &Flow,
    scenario: &Scenario,
    rng: &mut Rng,
) -> anyhow::Result<Option<(String, bool)>> {
    let claims = claims_of(sys).await?;
    let http = reqwest::Client::new();
    let total = flow.agreements.len();
    let strike_at = (phase_of(scenario.fault) == Some(Phase::Agreements)).then(|| {
        let t = total as u64;
        usize::try_from(rng.range((t / 5).max(1), (t * 3 / 5).max(1))).unwrap_or(1)
    });
    let mut fired = None;
    for (k, (debtor, kind)) in flow.agreements.iter().enumerate() {
        if strike_at == Some(k) {
            let e = strike(sys, scenario.fault, rng, false, None).await?;
            fired = Some((
                format!("{e}; {k}/{total} agreements made at the time"),
                true,
            ));
        }
        let claim_ids: Vec<String> = flow.invoices_of[debtor]
            .iter()
            .filter_map(|i| claims.get(i).map(|c| c.0.clone()))
            .collect();
        make_agreement(sys, &http, k, *kind, debtor, &claim_ids).await?;
    }
    Ok(fired)
}

/// The debt-counselling cases a caseworker has still to review: `GET /api/v1/cases?phase=review`
/// through any replica (the next one when one does not answer), at most 500 a time.
async fn cases_in_review(
    sys: &mut System,
    http: &reqwest::Client,
    k: usize,
) -> anyhow::Result<Vec<String>> {
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut attempt = 0;
    loop {
        let replicas = sys.procs[CNS].len();
        let url = format!(
            "{}/api/v1/cases?phase=review",
            sys.procs[CNS][(k + attempt) % replicas].base_url
        );
        attempt += 1;
        let answer = http
            .get(url)
            .bearer_auth(CASEWORKER)
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        match answer {
            Ok(r) if r.status().is_success() => {
                let list: Value = r.json().await?;
                return Ok(list["cases"]
                    .as_array()
                    .map(|cs| {
                        cs.iter()
                            .filter_map(|c| c["case_id"].as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default());
            }
            Ok(r) if r.status().is_client_error() && r.status().as_u16() != 429 => {
                let status = r.status();
                let text = r.text().await.unwrap_or_default();
                anyhow::bail!("counselling refused the list of cases in review: {status} {text}");
            }
            _ => {
                anyhow::ensure!(
                    Instant::now() < deadline,
                    "counselling did not list the cases in review within 90 s"
                );
                tokio::time::sleep(Duration::from_millis(300)).await;
                sys.supervise().await?;
            }
        }
    }
}

/// Reviews one case as suitable through any replica, as a caseworker's browser behind a load
/// balancer would: a replica that does not answer is tried again through the next one. A review
/// whose answer never came may have been made: the next try's 409 "reviewed already" says so,
/// and the review is done.
async fn review_case(
    sys: &mut System,
    http: &reqwest::Client,
    k: usize,
    case_id: &str,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut attempt = 0;
    loop {
        let replicas = sys.procs[CNS].len();
        let url = format!(
            "{}/api/v1/cases/{case_id}/review",
            sys.procs[CNS][(k + attempt) % replicas].base_url
        );
        attempt += 1;
        let sent = http
            .post(url)
            .bearer_auth(CASEWORKER)
            .json(&json!({"decision":"suitable"}))
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        match sent {
            Ok(r) if r.status().as_u16() == 200 => return Ok(()),
            Ok(r) if r.status().as_u16() == 409 => {
                let text = r.text().await.unwrap_or_default();
                if attempt > 1 && text.contains("reviewed already") {
                    return Ok(());
                }
                anyhow::bail!("counselling refused the review of {case_id}: 409 {text}");
            }
            // 429: over the API's rate for this token — wait and send it again
            Ok(r) if r.status().is_client_error() && r.status().as_u16() != 429 => {
                let status = r.status();
                let text = r.text().await.unwrap_or_default();
                anyhow::bail!("counselling refused the review of {case_id}: {status} {text}");
            }
            _ => {
                anyhow::ensure!(
                    Instant::now() < deadline,
                    "counselling did not review {case_id} within 90 s"
                );
                tokio::time::sleep(Duration::from_millis(300)).await;
                sys.supervise().await?;
            }
        }
    }
}

/// The reviews phase: every debt-counselling case still in review, found by listing them, is
/// reviewed as suitable through the replicas in turn. A fault in this phase strikes after a
/// seeded 20–60 % of them; the rest are reviewed while it is in effect.
pub(super) async fn review_cases(
    sys: &mut System,
    flow: &Flow,
    scenario: &Scenario,
    rng: &mut Rng,
) -> anyhow::Result<Option<(String, bool)>> {
    let http = reqwest::Client::new();
    let total = flow.applications.len();
    let strike_at = (phase_of(scenario.fault) == Some(Phase::Reviews)).then(|| {
        let t = total as u64;
        usize::try_from(rng.range((t / 5).max(1), (t * 3 / 5).max(1))).unwrap_or(1)
    });
    let mut fired = None;
    let mut k = 0;
    loop {
        let listed = cases_in_review(sys, &http, k).await?;
        if listed.is_empty() {
            break;
        }
        for case_id in listed {
            if strike_at == Some(k) {
                let e = strike(sys, scenario.fault, rng, false, None).await?;
                fired = Some((format!("{e}; {k}/{total} cases reviewed at the time"), true));
            }
            review_case(sys, &http, k, &case_id).await?;
            k += 1;
            anyhow::ensure!(
                k <= 2 * total,
                "{k} reviews of {total} cases: the cases in review do not become fewer"
            );
        }
    }
    Ok(fired)
}
