//! The checker: what a run produced, the invariants that hold in every run, what the flow's
//! own inputs say it must produce, and the comparison with the control run. This file holds
//! what a run produced ([`Outcome`], [`collect`]) and its result; the checks are in
//! `check/absolute.rs` (the invariants), `check/expected.rs` and `check/guarantees.rs` (what the
//! flow's inputs call for) and `check/control.rs` (the comparison with the control run).

use crate::drive::Calibration;
use crate::scenarios::{CNS, GUA, INV, NOT, REP, SERVICES};
use crate::system::{System, rows, spool_files};
use restance_testkit::{DeadLetter, take_all};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

mod absolute;
mod control;
mod expected;
mod guarantees;

pub use absolute::check_absolute;
pub use control::compare;
pub use expected::check_expected;

#[derive(Debug, Default, Clone)]
pub struct Outcome {
    /// invoice_id → (principal, fees, interest, state) in invoicing.
    pub claims: BTreeMap<String, (i64, i64, i64, String)>,
    /// invoice_id → fee steps in invoicing.
    pub fees: BTreeMap<String, Vec<i64>>,
    /// notification key → template. The key is the notification id where it is the same in
    /// every run (dunning's and reporting's are derived from claims and reports); agreements'
    /// are derived from the agreement's random id, so theirs is `template:debtor`.
    pub notifications: BTreeMap<String, String>,
    /// notification key → debtor, where the request names one.
    pub debtor_of: BTreeMap<String, String>,
    /// notification key → its state in notifications (`parked` waits for a debtor's details).
    pub notification_state: BTreeMap<String, String>,
    /// (notification key, channel) → status.
    pub deliveries: BTreeMap<(String, String), String>,
    /// notification key → SMS accepted by the gateway.
    pub sms: BTreeMap<String, usize>,
    /// (type, key) → distinct message ids seen on the bus; the key is the notification, claim,
    /// report, or (agreements) the debtor.
    pub effects: BTreeMap<(String, String), BTreeSet<String>>,
    /// service → dead letters.
    pub dead: BTreeMap<String, Vec<DeadLetter>>,
    /// report id → state in reporting.
    pub reports: BTreeMap<String, String>,
    /// `Message-ID` → e-mails with it at the SMTP test server (this run's only).
    pub emails: BTreeMap<String, usize>,
    /// case id → (guarantee id, state, claim in øre) in guarantee's `recovery_cases`.
    pub cases: BTreeMap<String, (String, String, i64)>,
    /// benefit id → the classification of each row guarantee stored for it.
    pub benefits: BTreeMap<String, Vec<String>>,
    /// invoice id (the case id) → (category, amount, debtor) of each claim invoicing opened
    /// from `guarantee.recovery.raised.v1`.
    pub guarantee_claims: BTreeMap<String, Vec<(String, i64, String)>>,
    /// application id → (case id, phase) of each case in counselling's `cases`.
    pub counselling_cases: BTreeMap<String, Vec<(String, String)>>,
}

#[derive(Debug, Default)]
pub struct RunResult {
    pub lost: usize,
    pub doubled: usize,
    pub violations: Vec<String>,
    pub evidence: String,
    /// The run's fault strikes after the SMTP server accepted an e-mail and before the outcome
    /// commits: SMTP has no way to ask whether it was, so the e-mail goes again with the same
    /// `Message-ID` (notifications README, "Exactly one send"). Such copies are counted in
    /// [`RunResult::resent_same_id`], not as doubled; any other duplicate still is.
    pub email_window: bool,
    /// E-mails the SMTP server received a second time with the same `Message-ID`, in a run with
    /// [`RunResult::email_window`].
    pub resent_same_id: usize,
    pub fired: bool,
    pub elapsed: Duration,
    /// How long this run's phases took (used from the control run).
    pub phases: Calibration,
}

/// The key a notification is compared by across runs (see [`Outcome::notifications`]).
fn stable_key(id: &str, template: &str, debtor: Option<&str>) -> String {
    match debtor {
        Some(d) if id.starts_with("agr-") => format!("{template}:{d}"),
        _ => id.to_owned(),
    }
}

/// Reads what the run produced: every database, the gateway, the audit queue, the dead-letter
/// queues and the SMTP test server's spool.
#[allow(clippy::too_many_lines)] // every source read in turn: each database, the gateway, the queues, the SMTP spool
pub async fn collect(sys: &System) -> anyhow::Result<Outcome> {
    let mut o = Outcome::default();
    for r in rows(
        &sys.conns[INV],
        "SELECT invoice_id, principal_minor, fees_minor, interest_minor, state FROM claims",
    )
    .await?
    {
        o.claims.insert(
            r.try_get_by_index(0)?,
            (
                r.try_get_by_index(1)?,
                r.try_get_by_index(2)?,
                r.try_get_by_index(3)?,
                r.try_get_by_index(4)?,
            ),
        );
    }
    for r in rows(&sys.conns[INV], "SELECT c.invoice_id, f.step FROM fees f JOIN claims c ON c.claim_id = f.claim_id ORDER BY f.step").await? {
        o.fees.entry(r.try_get_by_index(0)?).or_default().push(r.try_get_by_index(1)?);
    }
    // notification id → stable key
    let mut key_of: BTreeMap<String, String> = BTreeMap::new();
    for r in rows(
        &sys.conns[NOT],
        "SELECT notification_id, template, request, state FROM notifications",
    )
    .await?
    {
        let id: String = r.try_get_by_index(0)?;
        let template: String = r.try_get_by_index(1)?;
        let request: String = r.try_get_by_index(2)?;
        let state: String = r.try_get_by_index(3)?;
        let request: Value = serde_json::from_str(&request).unwrap_or(Value::Null);
        let debtor = request["related"]["debtor_id"]
            .as_str()
            .or_else(|| request["recipient"]["debtor_id"].as_str());
        let key = stable_key(&id, &template, debtor);
        if let Some(d) = debtor {
            o.debtor_of.insert(key.clone(), d.to_owned());
        }
        o.notifications.insert(key.clone(), template);
        o.notification_state.insert(key.clone(), state);
        key_of.insert(id, key);
    }
    let key = |id: String| key_of.get(&id).cloned().unwrap_or(id);
    for r in rows(
        &sys.conns[NOT],
        "SELECT notification_id, channel, status FROM deliveries",
    )
    .await?
    {
        o.deliveries.insert(
            (key(r.try_get_by_index(0)?), r.try_get_by_index(1)?),
            r.try_get_by_index(2)?,
        );
    }
    for req in sys.gateway.accepted() {
        *o.sms
            .entry(key(req.userref.unwrap_or_default()))
            .or_default() += 1;
    }
    for m in take_all(&format!("{}.audit", sys.exchange)).await? {
        let v: Value = serde_json::from_slice(&m.body).unwrap_or(Value::Null);
        let ty = v["type"].as_str().unwrap_or_default().to_owned();
        let d = &v["data"];
        let field = |f: &str| d[f].as_str().unwrap_or_default().to_owned();
        let k = match ty.as_str() {
            "invoicing.claim.opened.v1" => field("claim_id"),
            "reporting.report.published.v1" => field("report_id"),
            "guarantee.recovery.raised.v1" | "counselling.case.opened.v1" => field("case_id"),
            t if t.starts_with("agreements.") => field("debtor_id"),
            _ => key(field("notification_id")),
        };
        o.effects
            .entry((ty, k))
            .or_default()
            .insert(v["id"].as_str().unwrap_or_default().to_owned());
    }
    for s in SERVICES {
        o.dead.insert(
            s.to_owned(),
            take_all(&format!("{}.{s}.dead", sys.exchange)).await?,
        );
    }
    for r in rows(
        &sys.conns[GUA],
        "SELECT case_id, guarantee_id, state, claim_minor FROM recovery_cases",
    )
    .await?
    {
        o.cases.insert(
            r.try_get_by_index(0)?,
            (
                r.try_get_by_index(1)?,
                r.try_get_by_index(2)?,
                r.try_get_by_index(3)?,
            ),
        );
    }
    for r in rows(
        &sys.conns[GUA],
        "SELECT benefit_id, classification FROM benefits",
    )
    .await?
    {
        o.benefits
            .entry(r.try_get_by_index(0)?)
            .or_default()
            .push(r.try_get_by_index(1)?);
    }
    for r in rows(
        &sys.conns[INV],
        "SELECT invoice_id, category, amount_minor, debtor_id FROM claims \
         WHERE source = '/restance/guarantee' OR category = 'guarantee'",
    )
    .await?
    {
        o.guarantee_claims
            .entry(r.try_get_by_index(0)?)
            .or_default()
            .push((
                r.try_get_by_index(1)?,
                r.try_get_by_index(2)?,
                r.try_get_by_index(3)?,
            ));
    }
    for r in rows(
        &sys.conns[CNS],
        "SELECT application_id, case_id, phase FROM cases",
    )
    .await?
    {
        o.counselling_cases
            .entry(r.try_get_by_index(0)?)
            .or_default()
            .push((r.try_get_by_index(1)?, r.try_get_by_index(2)?));
    }
    for r in rows(&sys.conns[REP], "SELECT report_id, state FROM reports").await? {
        o.reports
            .insert(r.try_get_by_index(0)?, r.try_get_by_index(1)?);
    }
    // The run's SMTP test server writes each message it accepts as one file.
    let ids: BTreeMap<String, String> = key_of
        .iter()
        .map(|(id, k)| (format!("{}@", message_id_local(id)), k.clone()))
        .collect();
    for path in spool_files(&sys.smtp.spool) {
        let Ok(raw) = std::fs::read(path) else {
            continue;
        };
        let text = String::from_utf8_lossy(&raw);
        let Some(mid) = text.lines().take_while(|l| !l.is_empty()).find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("message-id")
                .then(|| value.trim().to_owned())
        }) else {
            continue;
        };
        let inner = mid.trim_start_matches('<').trim_end_matches('>');
        if let Some((_, k)) = ids
            .iter()
            .find(|(prefix, _)| inner.starts_with(prefix.as_str()))
        {
            *o.emails.entry(k.clone()).or_default() += 1;
        } else {
            *o.emails.entry(format!("unknown:{inner}")).or_default() += 1;
        }
    }
    Ok(o)
}

/// The local part of the `Message-ID` notifications gives a notification's e-mail
/// (`restance_notifications::domain::ids::message_id`): the id itself where it is a plain local
/// part, else the SHA-256 of it in hex.
fn message_id_local(notification_id: &str) -> String {
    use sha2::Digest;
    let plain = !notification_id.is_empty()
        && notification_id.len() <= 100
        && notification_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        && !notification_id.starts_with('.')
        && !notification_id.ends_with('.')
        && !notification_id.contains("..");
    if plain {
        format!("notification.{notification_id}")
    } else {
        format!(
            "notification.{}",
            hex::encode(sha2::Sha256::digest(notification_id.as_bytes()))
        )
    }
}
