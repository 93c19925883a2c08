//! The comparison with the control run: lost and doubled effects against its outcome.

use super::{Outcome, RunResult};
use crate::flow::Flow;
use std::collections::{BTreeMap, BTreeSet};

// Long: every kind of effect (claims, letters, SMS, e-mails, plans, reports, …) checked against the control run in turn, in the order the report lists them.
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
