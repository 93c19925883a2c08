//! The checker: what a run produced, the invariants that hold in every run, what the flow's
//! own inputs say it must produce, and the comparison with the control run.

use crate::drive::{Calibration, DAY0, DAY1, DAY2};
use crate::flow::{
    Agreement, Flow, GuaranteeEnd, RACE_FEE, RACE_INTEREST, RACE_OPENING, RACE_PAYMENT, RACE_ROUNDS,
};
use crate::scenarios::{AGR, CNS, DUN, GUA, INV, NOT, REP, SERVICES};
use crate::system::{System, count, rows, spool_files};
use restance_system_tests::hostile::Hostile;
use restance_testkit::{DeadLetter, take_all};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

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

/// Invariants that hold in every run, with or without a fault.
#[allow(clippy::too_many_lines)] // one invariant after the other, each a block with its comment
pub async fn check_absolute(
    sys: &System,
    flow: &Flow,
    o: &Outcome,
    sent_minor: i64,
    r: &mut RunResult,
) -> anyhow::Result<()> {
    // Every invoice exactly one claim, with its amount.
    for (invoice_id, amount) in &flow.amounts {
        if !o.claims.contains_key(invoice_id) {
            r.lost += 1;
            r.violations
                .push(format!("invoice {invoice_id} has no claim"));
        }
        let _ = amount;
    }
    let inv = &sys.conns[INV];
    // Balances equal the ledger, and the ledger's fees and interest equal the charges.
    let bad = count(
        inv,
        "SELECT COUNT(*) FROM claims c LEFT JOIN (SELECT claim_id, SUM(principal_minor) p, SUM(fees_minor) f, \
         SUM(interest_minor) i FROM ledger_lines GROUP BY claim_id) l ON l.claim_id = c.claim_id \
         WHERE c.principal_minor <> COALESCE(l.p,0) OR c.fees_minor <> COALESCE(l.f,0) OR c.interest_minor <> COALESCE(l.i,0)",
    )
    .await?;
    if bad > 0 {
        r.violations.push(format!(
            "{bad} claim(s) whose balance differs from their ledger"
        ));
    }
    let opened_wrong = count(
        inv,
        "SELECT COUNT(*) FROM claims c WHERE c.amount_minor <> (SELECT COALESCE(SUM(principal_minor),0) FROM ledger_lines l \
         WHERE l.claim_id = c.claim_id AND l.kind = 'opened')",
    )
    .await?;
    if opened_wrong > 0 {
        r.violations.push(format!(
            "{opened_wrong} claim(s) opened with another amount than invoiced"
        ));
    }
    let fee_lines = count(
        inv,
        "SELECT CAST(COALESCE(SUM(fees_minor),0) AS BIGINT) FROM ledger_lines WHERE kind = 'fee'",
    )
    .await?;
    let fee_rows = count(
        inv,
        "SELECT CAST(COALESCE(SUM(amount_minor),0) AS BIGINT) FROM fees",
    )
    .await?;
    if fee_lines != fee_rows {
        r.violations.push(format!(
            "fees in the ledger {fee_lines} ≠ fees charged {fee_rows}"
        ));
    }
    let int_lines = count(inv, "SELECT CAST(COALESCE(SUM(interest_minor),0) AS BIGINT) FROM ledger_lines WHERE kind = 'interest'").await?;
    let int_rows = count(
        inv,
        "SELECT CAST(COALESCE(SUM(amount_minor),0) AS BIGINT) FROM interest_charges",
    )
    .await?;
    if int_lines != int_rows {
        r.violations.push(format!(
            "interest in the ledger {int_lines} ≠ interest charged {int_rows}"
        ));
    }
    // Every payment once: what the bank sent = what was applied + credit balances.
    let received = count(
        inv,
        "SELECT CAST(COALESCE(SUM(amount_minor),0) AS BIGINT) FROM payments",
    )
    .await?;
    let applied = count(
        inv,
        "SELECT CAST(COALESCE(-SUM(principal_minor + fees_minor + interest_minor),0) AS BIGINT) FROM ledger_lines WHERE kind IN ('payment','credit_balance')",
    )
    .await?;
    let credit = count(
        inv,
        "SELECT CAST(COALESCE(SUM(credit_minor),0) AS BIGINT) FROM debtors",
    )
    .await?;
    if received != sent_minor {
        r.violations
            .push(format!("payments received {received} ≠ sent {sent_minor}"));
        if received < sent_minor {
            r.lost += 1
        } else {
            r.doubled += 1
        }
    }
    if applied + credit != received {
        r.violations.push(format!(
            "payments applied {applied} + credit {credit} ≠ received {received}"
        ));
    }
    // Dunning's view of every claim equals invoicing's.
    let dun: BTreeMap<String, (i64, i64, i64)> = rows(
        &sys.conns[DUN],
        "SELECT invoice_id, principal_minor, fees_minor, interest_minor FROM claims",
    )
    .await?
    .into_iter()
    .filter_map(|x| {
        Some((
            x.try_get_by_index(0).ok()?,
            (
                x.try_get_by_index(1).ok()?,
                x.try_get_by_index(2).ok()?,
                x.try_get_by_index(3).ok()?,
            ),
        ))
    })
    .collect();
    let differ = o
        .claims
        .iter()
        .filter(|(k, (p, f, i, _))| dun.get(*k) != Some(&(*p, *f, *i)))
        .count();
    if differ > 0 {
        r.violations.push(format!(
            "{differ} claim(s) where dunning's balance differs from invoicing's"
        ));
    }
    // Third parties: one SMS per notification, one event per notification and channel.
    for (userref, n) in &o.sms {
        if *n > 1 {
            r.doubled += n - 1;
            r.violations
                .push(format!("{n} SMS at the gateway for notification {userref}"));
        }
    }
    for ((ty, key), ids) in &o.effects {
        if ids.len() > 1 {
            r.doubled += ids.len() - 1;
            r.violations
                .push(format!("{} distinct {ty} for {key}", ids.len()));
        }
    }
    // Dead letters: exactly the hostile messages, each with a reason.
    for s in SERVICES {
        let expected: Vec<&Hostile> = flow
            .hostile
            .iter()
            .filter(|h| h.dead_in.contains(&s))
            .collect();
        // A relay that died after the confirms publishes its dead letters again: the same
        // message (same id), which `restance dead replay` and the inbox treat as one.
        let mut got: Vec<&DeadLetter> = Vec::new();
        for d in &o.dead[s] {
            if !got.iter().any(|g| g.body == d.body) {
                got.push(d);
            }
        }
        let mut want: Vec<&[u8]> = expected.iter().map(|h| h.body.as_slice()).collect();
        for d in got {
            if d.reason.as_deref().unwrap_or("").is_empty() {
                r.violations
                    .push(format!("a dead letter in {s} without a reason"));
            }
            match want.iter().position(|b| *b == d.body.as_slice()) {
                Some(p) => {
                    want.remove(p);
                }
                None => r.violations.push(format!(
                    "{s} dead-lettered something that was not hostile input: {}",
                    d.reason.as_deref().unwrap_or("")
                )),
            }
        }
        for b in want {
            let class = expected
                .iter()
                .find(|h| h.body.as_slice() == b)
                .map(|h| h.class)
                .unwrap_or("?");
            r.violations.push(format!(
                "{s} did not dead-letter the hostile input \"{class}\""
            ));
        }
    }
    Ok(())
}

/// Lost and doubled effects against the control run's outcome.
pub fn compare(control: &Outcome, o: &Outcome, flow: &Flow, r: &mut RunResult) {
    let race: BTreeSet<&str> = flow.race.iter().map(|c| c.invoice_id.as_str()).collect();
    for (k, c) in &control.claims {
        match o.claims.get(k) {
            None => {} // counted by the absolute check
            Some(x) if x == c => {}
            // A race claim's split between principal, fees and interest depends on the order
            // its changes arrived in; its total is checked against the flow's inputs.
            Some(_) if race.contains(k.as_str()) => {}
            Some(x) => {
                let more = x.1 + x.2 > c.1 + c.2 || x.0 < c.0;
                if more {
                    r.doubled += 1
                } else {
                    r.lost += 1
                }
                r.violations
                    .push(format!("claim of {k}: {x:?}, the control run has {c:?}"));
            }
        }
    }
    for (k, steps) in &control.fees {
        let got = o.fees.get(k).cloned().unwrap_or_default();
        if got.len() < steps.len() {
            r.lost += steps.len() - got.len();
            r.violations.push(format!(
                "fees of {k}: {got:?}, the control run has {steps:?}"
            ));
        }
    }
    for (k, steps) in &o.fees {
        let want = control.fees.get(k).map(Vec::len).unwrap_or(0);
        if steps.len() > want {
            r.doubled += steps.len() - want;
            r.violations.push(format!(
                "fees of {k}: {steps:?}, the control run has {want}"
            ));
        }
    }
    let diff = |name: &str, a: &BTreeSet<String>, b: &BTreeSet<String>, r: &mut RunResult| {
        let lost = a.difference(b).count();
        let extra = b.difference(a).count();
        if lost > 0 {
            r.lost += lost;
            r.violations
                .push(format!("{lost} {name} of the control run missing"));
        }
        if extra > 0 {
            r.doubled += extra;
            r.violations
                .push(format!("{extra} {name} the control run does not have"));
        }
    };
    let keys = |m: &BTreeMap<String, String>| m.keys().cloned().collect::<BTreeSet<_>>();
    diff(
        "notification(s)",
        &keys(&control.notifications),
        &keys(&o.notifications),
        r,
    );
    let sent = |m: &BTreeMap<(String, String), String>| {
        m.iter()
            .filter(|(_, s)| *s == "sent")
            .map(|((n, c), _)| format!("{n}/{c}"))
            .collect::<BTreeSet<_>>()
    };
    diff(
        "delivery(ies) sent",
        &sent(&control.deliveries),
        &sent(&o.deliveries),
        r,
    );
    let sms = |m: &BTreeMap<String, usize>| m.keys().cloned().collect::<BTreeSet<_>>();
    diff("SMS at the gateway", &sms(&control.sms), &sms(&o.sms), r);
    let eff = |m: &BTreeMap<(String, String), BTreeSet<String>>| {
        m.keys()
            .map(|(t, k)| format!("{t}/{k}"))
            .collect::<BTreeSet<_>>()
    };
    diff(
        "published effect(s)",
        &eff(&control.effects),
        &eff(&o.effects),
        r,
    );
    let ks = |m: &BTreeMap<String, String>| m.keys().cloned().collect::<BTreeSet<_>>();
    diff("report(s)", &ks(&control.reports), &ks(&o.reports), r);
    let cases = |m: &BTreeMap<String, (String, String, i64)>| {
        m.iter()
            .map(|(c, (_, state, claim))| format!("{c} {state} {claim}"))
            .collect::<BTreeSet<_>>()
    };
    diff(
        "recovery case(s) (id, state, claim)",
        &cases(&control.cases),
        &cases(&o.cases),
        r,
    );
    let benefits = |m: &BTreeMap<String, Vec<String>>| {
        m.iter()
            .flat_map(|(b, cs)| cs.iter().map(move |c| format!("{b} {c}")))
            .collect::<BTreeSet<_>>()
    };
    diff(
        "benefit(s) classified (id, classification)",
        &benefits(&control.benefits),
        &benefits(&o.benefits),
        r,
    );
    let claims = |m: &BTreeMap<String, Vec<(String, i64, String)>>| {
        m.iter()
            .flat_map(|(i, cs)| cs.iter().map(move |c| format!("{i} {c:?}")))
            .collect::<BTreeSet<_>>()
    };
    diff(
        "guarantee claim(s) in invoicing",
        &claims(&control.guarantee_claims),
        &claims(&o.guarantee_claims),
        r,
    );
    let counselling = |m: &BTreeMap<String, Vec<(String, String)>>| {
        m.iter()
            .flat_map(|(a, cs)| cs.iter().map(move |(c, p)| format!("{a} {c} {p}")))
            .collect::<BTreeSet<_>>()
    };
    diff(
        "counselling case(s) (application, case, phase)",
        &counselling(&control.counselling_cases),
        &counselling(&o.counselling_cases),
        r,
    );
    let mails = |m: &BTreeMap<String, usize>| m.keys().cloned().collect::<BTreeSet<_>>();
    diff(
        "e-mail(s) at the SMTP server",
        &mails(&control.emails),
        &mails(&o.emails),
        r,
    );
}

/// The municipalities whose reports are e-mailed (`[reporting.municipalities."…"]` in the
/// shipped config, one recipient each).
fn reporting_municipalities() -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/restance.toml");
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("[reporting.municipalities.\"")?
                .strip_suffix("\"]")
                .map(str::to_owned)
        })
        .collect()
}

/// The reports the flow must produce: its last day (2027-01-05) is the first business day of a
/// month and of a quarter, so December's monthly report and the fourth quarter's report of every
/// municipality; the first day (2026-12-16) looks back one month, to a month-end with no figures.
pub fn expected_reports() -> BTreeSet<String> {
    reporting_municipalities()
        .iter()
        .flat_map(|m| {
            [
                format!("monthly-{m}-2026-12-31"),
                format!("quarterly-{m}-2026-12-31"),
            ]
        })
        .collect()
}

fn tally(r: &mut RunResult, what: &str, want: usize, got: usize) {
    if got < want {
        r.lost += want - got;
    } else if got > want {
        r.doubled += got - want;
    } else {
        return;
    }
    r.violations.push(format!("{what}: {got}, expected {want}"));
}

/// What the flow's own inputs say every run must produce — the control run included, so that
/// a control run that is wrong in the same way as every other run cannot pass.
#[allow(clippy::too_many_lines)] // one check after the other
pub async fn check_expected(
    sys: &System,
    flow: &Flow,
    o: &Outcome,
    r: &mut RunResult,
) -> anyhow::Result<()> {
    let rounds = i64::try_from(RACE_ROUNDS).unwrap_or(0);
    // The race: each claim's balance is its amount, less the part payments, plus the fees and
    // the interest, whatever the order they were applied in. (How a payment is split between
    // fees, interest and principal depends on what was booked before it arrived — costs are
    // covered first — so only the total is the same in every run.)
    let want = RACE_OPENING + rounds * (RACE_FEE + RACE_INTEREST - RACE_PAYMENT);
    let mut wrong = 0;
    for rc in &flow.race {
        if let Some((p, f, i, _)) = o.claims.get(&rc.invoice_id)
            && p + f + i != want
        {
            wrong += 1;
            if p + f + i > want {
                r.doubled += 1;
            } else {
                r.lost += 1;
            }
            if wrong <= 5 {
                r.violations.push(format!(
                    "race claim {}: balance {} (principal {p}, fees {f}, interest {i}), expected {want}",
                    rc.invoice_id,
                    p + f + i
                ));
            }
        }
    }
    if wrong > 5 {
        r.violations
            .push(format!("{wrong} race claims with a wrong balance in all"));
    }

    // Agreements: each debtor's, once.
    let mut made: BTreeMap<(String, &str), usize> = BTreeMap::new();
    for (table, kind) in [
        ("plans", "Plan"),
        ("deferrals", "Deferral"),
        ("meetings", "Meeting"),
    ] {
        for row in rows(&sys.conns[AGR], &format!("SELECT debtor_id FROM {table}")).await? {
            *made.entry((row.try_get_by_index(0)?, kind)).or_default() += 1;
        }
    }
    let mut asked: BTreeMap<(String, &str), usize> = BTreeMap::new();
    for (d, kind) in &flow.agreements {
        let k = match kind {
            Agreement::Plan => "Plan",
            Agreement::Deferral => "Deferral",
            Agreement::Meeting => "Meeting",
        };
        asked.insert((d.clone(), k), 1);
    }
    for key in asked.keys().chain(made.keys()).collect::<BTreeSet<_>>() {
        let (want, got) = (
            asked.get(key).copied().unwrap_or(0),
            made.get(key).copied().unwrap_or(0),
        );
        tally(r, &format!("{} agreements of {}", key.1, key.0), want, got);
    }
    // Their letters and SMS: each template once, delivered; a meeting's two SMS at the gateway.
    for (d, kind) in &flow.agreements {
        for t in kind.templates() {
            let key = format!("{t}:{d}");
            let requested = usize::from(o.notifications.contains_key(&key));
            tally(r, &format!("{t} requested for {d}"), 1, requested);
            let sent = o
                .deliveries
                .iter()
                .filter(|((k, _), s)| *k == key && *s == "sent")
                .count();
            if requested == 1 && sent == 0 {
                r.lost += 1;
                r.violations.push(format!("{t} for {d} never delivered"));
            }
            if *kind == Agreement::Meeting {
                tally(
                    r,
                    &format!("{t} SMS at the gateway for {d}"),
                    1,
                    o.sms.get(&key).copied().unwrap_or(0),
                );
            }
        }
    }
    // Held debtors get no reminder and no fee; every other open claim its first reminder once.
    let held: BTreeSet<&str> = flow.agreements.keys().map(String::as_str).collect();
    for (key, template) in &o.notifications {
        if template.starts_with("reminder")
            && o.debtor_of
                .get(key)
                .is_some_and(|d| held.contains(d.as_str()))
        {
            r.doubled += 1;
            r.violations
                .push(format!("{template} {key} for a debtor under an agreement"));
        }
    }
    let reminded: BTreeMap<String, i64> = rows(
        &sys.conns[DUN],
        "SELECT c.invoice_id, COUNT(*) FROM history h JOIN claims c ON c.claim_id = h.claim_id \
         WHERE h.action = 'reminder' AND h.step = 1 GROUP BY c.invoice_id",
    )
    .await?
    .into_iter()
    .filter_map(|x| Some((x.try_get_by_index(0).ok()?, x.try_get_by_index(1).ok()?)))
    .collect();
    let mut off = Vec::new();
    for (d, invoices) in &flow.invoices_of {
        for i in invoices {
            let Some(share) = flow.pay_share.get(i) else {
                continue; // a race claim: not due within the flow
            };
            let want = usize::from(!held.contains(d.as_str()) && !matches!(share, 100 | 101));
            let got = usize::try_from(reminded.get(i).copied().unwrap_or(0)).unwrap_or(0);
            if want != got {
                off.push(format!("{i} (paid {share} %): {got}"));
                if got < want {
                    r.lost += 1;
                } else {
                    r.doubled += got - want;
                }
            }
        }
        if held.contains(d.as_str()) {
            for i in invoices {
                if o.fees.get(i).is_some_and(|f| !f.is_empty()) {
                    r.doubled += 1;
                    r.violations
                        .push(format!("a fee on {i} of a debtor under an agreement"));
                }
            }
        }
    }
    if !off.is_empty() {
        r.violations.push(format!(
            "{} claim(s) with another number of first reminders than their payments and agreements call for, e.g. {}",
            off.len(),
            off.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
        ));
    }

    // Reports: December's and the quarter's of every municipality, published, each e-mailed
    // once (counted at the SMTP server by Message-ID).
    let want_reports = expected_reports();
    let got_reports: BTreeSet<String> = o.reports.keys().cloned().collect();
    for id in want_reports.difference(&got_reports) {
        r.lost += 1;
        r.violations.push(format!("report {id} not produced"));
    }
    for id in got_reports.difference(&want_reports) {
        r.violations
            .push(format!("report {id} produced, not expected by the flow"));
    }
    for (id, state) in &o.reports {
        if state != "published" {
            r.violations.push(format!("report {id} is {state}"));
        }
        let events = o
            .effects
            .get(&("reporting.report.published.v1".to_owned(), id.clone()))
            .map_or(0, BTreeSet::len);
        tally(r, &format!("report.published events of {id}"), 1, events);
    }
    let mails: Vec<&String> = o
        .notifications
        .iter()
        .filter(|(_, t)| *t == "report_ready")
        .map(|(k, _)| k)
        .collect();
    tally(
        r,
        "report e-mails requested",
        want_reports.len(),
        mails.len(),
    );
    for (k, n) in &o.emails {
        if k.starts_with("unknown:") {
            r.doubled += n;
            r.violations.push(format!(
                "{n} e-mail(s) at the SMTP server with a Message-ID no notification of the run has: {k}"
            ));
        }
    }
    for k in mails {
        let got = o.emails.get(k).copied().unwrap_or(0);
        if r.email_window && got > 1 {
            r.resent_same_id += got - 1;
            continue;
        }
        tally(
            r,
            &format!("e-mails at the SMTP server with the Message-ID of {k}"),
            1,
            got,
        );
    }
    check_guarantees(flow, o, r);
    check_counselling(flow, o, r);
    Ok(())
}

/// What the flow's debt-counselling applications must come to: each application exactly one
/// case (the copy of one under another message id none more), each case exactly one
/// `counselling.case.opened.v1`, reviewed as suitable (now in `documentation`), and exactly one
/// `counselling_reply` requested, delivered once (one `notifications.letter.ready.v1`). No case
/// of an application the flow did not send.
fn check_counselling(flow: &Flow, o: &Outcome, r: &mut RunResult) {
    const OPENED: &str = "counselling.case.opened.v1";
    const REPLY: &str = "counselling_reply";
    let known: BTreeSet<&str> = flow
        .applications
        .iter()
        .map(|a| a.application_id.as_str())
        .collect();
    for (application_id, cases) in &o.counselling_cases {
        if !known.contains(application_id.as_str()) {
            r.doubled += cases.len();
            r.violations.push(format!(
                "{} counselling case(s) of an application the flow did not send: {application_id}",
                cases.len()
            ));
        }
    }
    let mut case_ids: BTreeSet<&str> = BTreeSet::new();
    for a in &flow.applications {
        let id = &a.application_id;
        let cases = o.counselling_cases.get(id).map_or(&[][..], Vec::as_slice);
        tally(
            r,
            &format!("counselling cases of application {id}"),
            1,
            cases.len(),
        );
        for (case_id, phase) in cases {
            case_ids.insert(case_id);
            let opened = o
                .effects
                .get(&(OPENED.to_owned(), case_id.clone()))
                .map_or(0, BTreeSet::len);
            tally(r, &format!("{OPENED} of {case_id}"), 1, opened);
            if phase != "documentation" {
                r.violations.push(format!(
                    "counselling case {case_id} of {id} is in {phase}, expected documentation (reviewed as suitable)"
                ));
            }
            let prefix = format!("counselling:{case_id}:");
            let replies: Vec<&String> = o
                .notifications
                .iter()
                .filter(|(k, t)| k.starts_with(&prefix) && *t == REPLY)
                .map(|(k, _)| k)
                .collect();
            tally(
                r,
                &format!("{REPLY} requested for {case_id}"),
                1,
                replies.len(),
            );
            for k in replies {
                let sent = o
                    .deliveries
                    .iter()
                    .filter(|((n, _), s)| n == k && *s == "sent")
                    .count();
                if sent == 0 {
                    r.lost += 1;
                    r.violations.push(format!(
                        "{REPLY} {k} never delivered ({})",
                        o.notification_state
                            .get(k)
                            .map_or("no state", String::as_str)
                    ));
                }
                let ready = o
                    .effects
                    .get(&("notifications.letter.ready.v1".to_owned(), k.clone()))
                    .map_or(0, BTreeSet::len);
                tally(r, &format!("letters ready of {k}"), 1, ready);
            }
        }
    }
    // Nothing else: a case reviewed on DAY0 waits for the applicant's documents, and the
    // inactivity watch gives the counsellor a call task (no letter, no SMS) within the flow.
    for (k, t) in &o.notifications {
        if k.starts_with("counselling:") && t != REPLY {
            r.doubled += 1;
            r.violations
                .push(format!("{t} {k} requested, not expected by the flow"));
        }
    }
    for (ty, case_id) in o.effects.keys() {
        if ty == OPENED && !case_ids.contains(case_id.as_str()) {
            r.doubled += 1;
            r.violations.push(format!(
                "{OPENED} of {case_id}, no case of the flow's applications"
            ));
        }
    }
}

/// What the flow's guarantees must come to: each ended guarantee exactly one recovery case in
/// the expected state (`raised` with the expected claim, or released and `closed`), none for a
/// guarantee in force; each raised case one `guarantee.recovery.raised.v1`, one claim in
/// invoicing (category `guarantee`, the guarantor its debtor, the amount the case's), the
/// guarantor's notice and the bank's hold letter, each delivered; each released one the bank's
/// release letter, delivered, and no claim; every benefit stored once with its classification.
#[allow(clippy::too_many_lines)] // one check after the other
fn check_guarantees(flow: &Flow, o: &Outcome, r: &mut RunResult) {
    use crate::flow::{BenefitCase, GuaranteeCase};
    let delivered = |id: &str| {
        o.deliveries
            .iter()
            .any(|((k, _), s)| k == id && s == "sent")
    };
    let mut want_letters: BTreeSet<String> = BTreeSet::new();
    let known: BTreeSet<&str> = flow
        .guarantees
        .iter()
        .map(|g| g.guarantee_id.as_str())
        .collect();
    for (case_id, (g, _, _)) in &o.cases {
        if !known.contains(g.as_str()) {
            r.doubled += 1;
            r.violations.push(format!(
                "recovery case {case_id} of a guarantee the flow does not have: {g}"
            ));
        }
    }
    for g in &flow.guarantees {
        let GuaranteeCase {
            guarantee_id,
            expected,
            guarantor,
            ..
        } = g;
        let case_id = g.case_id();
        let of_this: Vec<(&String, &(String, String, i64))> = o
            .cases
            .iter()
            .filter(|(_, (gid, _, _))| gid == guarantee_id)
            .collect();
        let want_cases = usize::from(*expected != GuaranteeEnd::InForce);
        tally(
            r,
            &format!("recovery cases of guarantee {guarantee_id}"),
            want_cases,
            of_this.len(),
        );
        let raised_events = o
            .effects
            .get(&("guarantee.recovery.raised.v1".to_owned(), case_id.clone()))
            .map_or(0, BTreeSet::len);
        let claims = o
            .guarantee_claims
            .get(&case_id)
            .map_or(&[][..], Vec::as_slice);
        let (state, claim) = o
            .cases
            .get(&case_id)
            .map(|(_, s, c)| (s.as_str(), *c))
            .unwrap_or(("none", 0));
        match expected {
            GuaranteeEnd::InForce => {}
            GuaranteeEnd::Raised(amount) => {
                if of_this.len() == 1 && (state != "raised" || claim != *amount) {
                    r.violations.push(format!(
                        "case {case_id}: {state} for {claim} øre, expected raised for {amount}"
                    ));
                    if claim < *amount {
                        r.lost += 1;
                    } else if claim > *amount {
                        r.doubled += 1;
                    }
                }
                tally(
                    r,
                    &format!("guarantee.recovery.raised.v1 of {case_id}"),
                    1,
                    raised_events,
                );
                tally(
                    r,
                    &format!("claims in invoicing of {case_id}"),
                    1,
                    claims.len(),
                );
                for (category, claimed, debtor) in claims {
                    if category != "guarantee" || claimed != amount || *debtor != guarantor.id {
                        r.violations.push(format!(
                            "the claim of {case_id}: category {category}, {claimed} øre, debtor {debtor}; expected guarantee, {amount} øre, debtor {}",
                            guarantor.id
                        ));
                    }
                }
                for t in ["guarantee_notice", "guarantee_bank_hold"] {
                    want_letters.insert(format!("guarantee:{case_id}:{t}"));
                }
                // its spouse had a recoverable benefit: the guidance letter, once per guarantee
                want_letters.insert(format!("guarantee:{guarantee_id}:guarantee_guidance"));
            }
            GuaranteeEnd::Released => {
                if of_this.len() == 1 && (state != "closed" || claim != 0) {
                    r.violations.push(format!(
                        "case {case_id}: {state} for {claim} øre, expected released and closed"
                    ));
                }
                tally(
                    r,
                    &format!("guarantee.recovery.raised.v1 of released {case_id}"),
                    0,
                    raised_events,
                );
                tally(
                    r,
                    &format!("claims in invoicing of released {case_id}"),
                    0,
                    claims.len(),
                );
                want_letters.insert(format!("guarantee:{case_id}:guarantee_bank_release"));
            }
        }
    }
    for id in &want_letters {
        let requested = usize::from(o.notifications.contains_key(id));
        tally(r, &format!("letter {id} requested"), 1, requested);
        // Every guarantee letter must be delivered (the bank's release letter of a guarantee
        // released without a claim names no related debtor, so notifications does not wait
        // for one). The bank's letters go by e-mail too: once at the SMTP server by `Message-ID`.
        match o.emails.get(id).copied().unwrap_or(0) {
            n if n > 1 && r.email_window => r.resent_same_id += n - 1,
            n if n > 1 => {
                r.doubled += n - 1;
                r.violations
                    .push(format!("{n} e-mails at the SMTP server for letter {id}"));
            }
            _ => {}
        }
        if requested == 1 && !delivered(id) {
            r.lost += 1;
            r.violations.push(format!(
                "letter {id} never delivered ({})",
                o.notification_state
                    .get(id)
                    .map_or("no state", String::as_str)
            ));
        }
    }
    // What the service writes of its own besides the cases' letters: the guidance letter of a
    // guarantee whose spouse was paid under aktivloven or integrationsloven (required above for
    // a raised case; a benefit the ending later makes unrecoverable was recoverable when it
    // came), the administrator's expiry alerts of the flow's guarantees, and — on DAY2, the
    // first day opened in 2027 — the quarterly statement of Q4 2026 to 0746's one recipient.
    let statement = "guarantee:GS-0746-2026-Q4:guarantee_statement:1".to_owned();
    tally(
        r,
        "the quarterly statement of Q4 2026 requested",
        1,
        usize::from(o.notifications.contains_key(&statement)),
    );
    let mut allowed: BTreeSet<String> = BTreeSet::from([statement]);
    for g in &flow.guarantees {
        let paid_to_spouse = flow.benefits.iter().any(|b| {
            let d = &b.message["data"];
            d["recipient_national_id"] == g.spouse_national_id.as_str() && d["law"] != "other"
        });
        if paid_to_spouse {
            allowed.insert(format!("guarantee:{}:guarantee_guidance", g.guarantee_id));
        }
    }
    let alert_of_flow = |id: &str| {
        known.iter().any(|g| {
            id.strip_prefix(&format!("guarantee:{g}:guarantee_expiry_alert:"))
                .is_some_and(|day| [DAY0, DAY1, DAY2].contains(&day))
        })
    };
    for (id, template) in &o.notifications {
        if id.starts_with("guarantee:")
            && !want_letters.contains(id)
            && !allowed.contains(id)
            && !alert_of_flow(id)
        {
            r.doubled += 1;
            r.violations.push(format!(
                "{template} {id} requested, not expected by the flow"
            ));
        }
    }
    for (case_id, claims) in &o.guarantee_claims {
        if !o.cases.contains_key(case_id) {
            r.doubled += claims.len();
            r.violations.push(format!(
                "a guarantee claim {case_id} in invoicing without a case"
            ));
        }
    }
    // Benefits: each stored once, with its classification.
    let mut wrong = Vec::new();
    for BenefitCase {
        benefit_id,
        classification,
        ..
    } in &flow.benefits
    {
        let stored = o.benefits.get(benefit_id).map_or(&[][..], Vec::as_slice);
        tally(r, &format!("benefit {benefit_id} stored"), 1, stored.len());
        if let [got] = stored
            && got != classification
        {
            wrong.push(format!("{benefit_id}: {got}, expected {classification}"));
        }
    }
    if !wrong.is_empty() {
        r.violations.push(format!(
            "{} benefit(s) with another classification than the flow's inputs call for: {}",
            wrong.len(),
            wrong.iter().take(5).cloned().collect::<Vec<_>>().join("; ")
        ));
    }
    let known: BTreeSet<&str> = flow
        .benefits
        .iter()
        .map(|b| b.benefit_id.as_str())
        .collect();
    let extra = o
        .benefits
        .keys()
        .filter(|b| !known.contains(b.as_str()))
        .count();
    if extra > 0 {
        r.doubled += extra;
        r.violations.push(format!(
            "{extra} benefit(s) stored that the flow did not pay"
        ));
    }
}
