//! Property tests of the decision core: random debtors (claims, payments, holds, broken plans)
//! under the shipped policies and a set of edge-case policies, simulated day by day. Every rule
//! of the brief is checked on every decision, independently of how the core computes it:
//!
//! - no fee above the cap; never two fees for one (claim, step); at most the jurisdiction's
//!   number of fee-bearing reminders; the fee goes on a claim of the letter;
//! - no step before its time, steps in order, at most one step per claim and day (also when
//!   days are skipped), one letter per step and day;
//! - nothing but interest, proposals and restorations while a hold covers the claim, and
//!   nothing at all for settled, written-off, transferred or zero-balance claims;
//! - special consideration: a meeting offer (and caseworker alert) and the wait before any hard
//!   step; transfer only after the notice, above the minimum; supply suspension only for closable
//!   categories, after a broken agreement and its notice;
//! - interest once per period, write-off proposals once and not before the limitation date;
//! - every notification, fee and interest id is used once; a rerun of a day decides the same, and
//!   once recorded decides nothing;
//! - evaluating only on the next-action dates (and on event days) decides exactly what
//!   evaluating every day decides: the service's index never misses an action.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use restance_dunning::domain::policy::FALLBACK_MEETING_WAIT_DAYS as FALLBACK;
use restance_dunning::domain::{
    Action, CategoryFlags, ClaimBalance, ClaimHistory, ClaimState, ClaimStatus, DebtorView,
    Decisions, HoldKind, Policies, Scope, StepAction, Timing, next_steps,
};
use restance_dunning::domain::{BrokenAgreement, Hold};
use restance_kernel::{BusinessDate, Catalog, Money, PartyKind};
use serde::Deserialize;

const SHIPPED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/restance.toml");

/// Edge cases the shipped policies do not have: steps on the same day as the previous one, a fee
/// on every reminder with spacing and a first-fee day, a fee above its cap, more fee steps than
/// allowed, a transfer without notice step, a high transfer minimum, a gate without meeting step,
/// a zero meeting wait, absolute timings for supply steps, a second legal table and version.
const EDGE: &str = r#"
[jurisdictions.edge]
country = "DK"
transfer_authority = "gaeldsstyrelsen"
[[jurisdictions.edge.tables]]
effective_from = "2020-01-01"
fee = "120.00"
fee_cap = "100.00"
fee_legal_basis = "edge"
max_fee_reminders = 2
min_days_between_fees = 5
first_fee_min_days_after_due = 3
transfer_min_balance = "500.00"
[[jurisdictions.edge.tables]]
effective_from = "2026-03-01"
fee = "90.00"
fee_cap = "95.00"
fee_legal_basis = "edge 2"
max_fee_reminders = 3
min_days_between_fees = 2
transfer_min_balance = "300.00"

[policies.edge_zero]
jurisdiction = "edge"
[[policies.edge_zero.versions]]
version = 1
effective_from = "2020-01-01"
interest = { kind = "monthly_started", rate_percent = "1.5" }
interest_continues_during = ["plan", "dispute"]
limitation_years = 1
steps = [
    { after_due_days = 1, action = { kind = "reminder", template = "reminder_1", fee = true } },
    { after_previous_days = 0, action = { kind = "reminder", template = "reminder_2", fee = true } },
    { after_previous_days = 0, action = { kind = "reminder", template = "reminder_2", fee = true } },
    { after_previous_days = 0, action = { kind = "transfer_notice" } },
    { after_previous_days = 2, action = { kind = "transfer", notice_min_days = 3 } },
]
[[policies.edge_zero.versions]]
version = 2
effective_from = "2026-02-15"
interest = { kind = "annual_over_reference", reference_rate_percent = "-0.5", margin_percent = "8" }
limitation_years = 1
steps = [
    { after_due_days = 2, action = { kind = "reminder", template = "reminder_1", fee = true } },
    { after_previous_days = 1, action = { kind = "caseworker_alert" } },
    { after_previous_days = 0, action = { kind = "reminder", template = "reminder_2", fee = true } },
    { after_previous_days = 0, action = { kind = "transfer", notice_min_days = 1 } },
]

[policies.edge_special]
jurisdiction = "edge"
[[policies.edge_special.versions]]
version = 1
effective_from = "2020-01-01"
interest = { kind = "none" }
special_consideration = { meeting_wait_days = 0 }
steps = [
    { after_due_days = 1, action = { kind = "reminder", template = "reminder_1", fee = true } },
    { after_previous_days = 0, action = { kind = "reminder", template = "reminder_2", fee = true, transfer_notice = true } },
    { after_previous_days = 0, only_for = "company", action = { kind = "company_final_notice", deadline_days = 3 } },
    { after_previous_days = 1, action = { kind = "transfer", notice_min_days = 2 } },
]

[policies.edge_supply]
jurisdiction = "edge"
[[policies.edge_supply.versions]]
version = 1
effective_from = "2020-01-01"
interest = { kind = "monthly_started", rate_percent = "2" }
steps = [
    { after_due_days = 2, action = { kind = "reminder", template = "reminder_1" } },
    { after_due_days = 4, action = { kind = "supply_suspension_notice" } },
    { after_due_days = 6, action = { kind = "supply_suspension", notice_min_days = 2 } },
    { after_due_days = 8, action = { kind = "reminder", template = "reminder_2", transfer_notice = true } },
    { after_due_days = 9, action = { kind = "supply_suspension_notice" } },
    { after_due_days = 10, action = { kind = "supply_suspension", notice_min_days = 1 } },
    { after_due_days = 30, action = { kind = "transfer", notice_min_days = 5 } },
]

[municipalities.edge]
default = "edge_zero"
categories = { daycare = "edge_special", family = "edge_special", water = "edge_supply", heat = "edge_supply" }
"#;

#[derive(Deserialize)]
struct ConfigFile {
    catalog: Catalog,
    dunning: Policies,
}

struct World {
    catalog: Catalog,
    policies: Policies,
}

fn world() -> &'static World {
    static WORLD: std::sync::OnceLock<World> = std::sync::OnceLock::new();
    WORLD.get_or_init(|| {
        let text = std::fs::read_to_string(SHIPPED).expect("shipped config readable");
        let file: ConfigFile = toml::from_str(&text).expect("shipped config parses");
        let mut policies = file.dunning;
        let edge: Policies = toml::from_str(EDGE).expect("edge policies parse");
        policies.jurisdictions.extend(edge.jurisdictions);
        policies.policies.extend(edge.policies);
        policies.municipalities.extend(edge.municipalities);
        // the edge policies break static rules on purpose (validate lists 14 problems): the
        // decision must keep the law at run time even then
        assert_eq!(policies.validate(None).map_err(|p| p.len()), Err(14));
        World {
            catalog: file.catalog,
            policies,
        }
    })
}

const MUNICIPALITIES: [&str; 4] = ["0746", "0957", "4204", "edge"];
const EDGE_CATEGORIES: [&str; 5] = ["daycare", "water", "heat", "other", "rent"];

fn start() -> BusinessDate {
    BusinessDate::new(2026, 1, 5).expect("date")
}

/// Something that happens to the debtor on a day of the simulation.
#[derive(Debug, Clone)]
enum Event {
    /// A payment: in full (settles) or half the principal (an acknowledgement).
    Payment { day: u16, claim: usize, full: bool },
    /// A hold begins on `day`; `length` days long, or open until it ends after `ends_after`
    /// days; a plan that ends this way defaulted (a broken agreement).
    Hold {
        day: u16,
        kind: HoldKind,
        claim: Option<usize>,
        length: Option<u16>,
        ends_after: Option<u16>,
    },
    /// The claim is written off by a caseworker.
    WriteOff { day: u16, claim: usize },
}

#[derive(Debug, Clone)]
struct Scenario {
    municipality: &'static str,
    kind: PartyKind,
    claims: Vec<(usize, u16, i64)>,
    events: Vec<Event>,
    days: u16,
}

fn hold_kind() -> impl Strategy<Value = HoldKind> {
    prop_oneof![
        Just(HoldKind::Plan),
        Just(HoldKind::Deferral),
        Just(HoldKind::Meeting),
        Just(HoldKind::Dispute)
    ]
}

fn event(claims: usize) -> impl Strategy<Value = Event> {
    prop_oneof![
        (0u16..400, 0..claims, any::<bool>()).prop_map(|(day, claim, full)| Event::Payment {
            day,
            claim,
            full
        }),
        (
            0u16..400,
            hold_kind(),
            proptest::option::of(0..claims),
            proptest::option::of(0u16..60),
            proptest::option::of(1u16..80)
        )
            .prop_map(|(day, kind, claim, length, ends_after)| Event::Hold {
                day,
                kind,
                claim,
                length,
                ends_after,
            }),
        (0u16..400, 0..claims).prop_map(|(day, claim)| Event::WriteOff { day, claim }),
    ]
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        0..MUNICIPALITIES.len(),
        any::<bool>(),
        proptest::collection::vec((0usize..11, 0u16..60, 1i64..2_000_000), 1..5),
    )
        .prop_flat_map(|(m, company, claims)| {
            let n = claims.len();
            (
                Just(m),
                Just(company),
                Just(claims),
                proptest::collection::vec(event(n), 0..6),
                120u16..520,
            )
        })
        .prop_map(|(m, company, claims, events, days)| Scenario {
            municipality: MUNICIPALITIES[m],
            kind: if company {
                PartyKind::Company
            } else {
                PartyKind::Person
            },
            claims,
            events,
            days,
        })
}

fn day(n: u16) -> BusinessDate {
    start().add_days(i64::from(n))
}

/// The debtor as the service would hold it at the beginning of the simulation.
fn initial_view(s: &Scenario) -> DebtorView {
    let w = world();
    let categories: Vec<String> = match w.catalog.municipality(s.municipality) {
        Some(m) => m.categories.clone(),
        None => EDGE_CATEGORIES.iter().map(|c| (*c).to_owned()).collect(),
    };
    let currency = w
        .catalog
        .municipality(s.municipality)
        .map_or(restance_kernel::Currency::Dkk, |m| m.currency);
    let claims = s
        .claims
        .iter()
        .enumerate()
        .map(|(i, (category, due, principal))| {
            let category = categories[category % categories.len()].clone();
            let flags = w
                .catalog
                .category(&category)
                .map(CategoryFlags::from)
                .unwrap_or_default();
            ClaimState {
                claim_id: format!("C-{i}"),
                category,
                flags,
                office: "main".into(),
                currency,
                due_date: day(*due),
                balance: ClaimBalance {
                    principal: Money::from_minor(*principal),
                    ..ClaimBalance::default()
                },
                payment_reference: None,
                status: ClaimStatus::Open,
                last_acknowledged: None,
                prepayment: false,
                direct_debit: false,
                history: ClaimHistory::default(),
            }
        })
        .collect();
    DebtorView {
        debtor_id: "D-1".into(),
        municipality: s.municipality.into(),
        kind: s.kind,
        claims,
        holds: vec![],
        broken_agreements: vec![],
    }
}

/// Applies the events of day `n`; true if any happened (the service re-evaluates the debtor).
fn apply_events(s: &Scenario, view: &mut DebtorView, n: u16) -> bool {
    let today = day(n);
    let mut happened = false;
    for (i, e) in s.events.iter().enumerate() {
        match e {
            Event::Payment {
                day: d,
                claim,
                full,
            } if *d == n => {
                let c = &mut view.claims[*claim];
                if c.status != ClaimStatus::Open {
                    continue;
                }
                happened = true;
                if *full {
                    c.balance = ClaimBalance::default();
                    c.status = ClaimStatus::Settled;
                } else {
                    c.balance.principal = Money::from_minor(c.balance.principal.to_minor() / 2);
                    c.last_acknowledged = Some(today);
                }
            }
            Event::WriteOff { day: d, claim } if *d == n => {
                let c = &mut view.claims[*claim];
                if c.status == ClaimStatus::Open {
                    c.status = ClaimStatus::WrittenOff;
                    happened = true;
                }
            }
            Event::Hold {
                day: d,
                kind,
                claim,
                length,
                ..
            } if *d == n => {
                happened = true;
                view.holds.push(Hold {
                    hold_id: format!("H-{i}"),
                    kind: *kind,
                    scope: claim.map_or(Scope::Debtor, |c| Scope::Claims(vec![format!("C-{c}")])),
                    from: today,
                    until: length.map(|l| today.add_days(i64::from(l))),
                });
            }
            Event::Hold {
                day: d,
                kind,
                claim,
                length: None,
                ends_after: Some(after),
            } if d.saturating_add(*after) == n => {
                happened = true;
                let id = format!("H-{i}");
                if let Some(h) = view.holds.iter_mut().find(|h| h.hold_id == id) {
                    h.until = Some(today);
                }
                if *kind == HoldKind::Plan {
                    view.broken_agreements.push(BrokenAgreement {
                        agreement_id: id,
                        scope: claim
                            .map_or(Scope::Debtor, |c| Scope::Claims(vec![format!("C-{c}")])),
                        date: today,
                    });
                }
            }
            _ => {}
        }
    }
    happened
}

/// What happened over a whole simulation, for the checks that span days.
#[derive(Default)]
struct Ledger {
    notification_ids: BTreeSet<String>,
    fee_keys: BTreeSet<(String, u32)>,
    interest_keys: BTreeSet<(String, BusinessDate)>,
    proposals: BTreeSet<String>,
    transferred: BTreeSet<String>,
    log: Vec<(BusinessDate, Decisions)>,
}

fn fail<T>(msg: String) -> Result<T, TestCaseError> {
    Err(TestCaseError::fail(msg))
}

/// Every rule, checked on one day's decisions against the state before them.
fn check_day(
    pre: &DebtorView,
    decisions: &Decisions,
    ledger: &mut Ledger,
    today: BusinessDate,
) -> Result<(), TestCaseError> {
    let w = world();
    let claim = |id: &str| pre.claims.iter().find(|c| c.claim_id == id);
    let mut stepped: BTreeMap<&str, usize> = BTreeMap::new();
    // interest decided today counts towards the transfer minimum
    let mut interest_today: BTreeMap<&str, Money> = BTreeMap::new();
    for decision in &decisions.decisions {
        if let Action::Interest {
            claim_id, amount, ..
        } = &decision.action
        {
            let sum = interest_today
                .entry(claim_id.as_str())
                .or_insert(Money::ZERO);
            *sum += *amount;
        }
    }
    let mut reminder_steps: BTreeSet<(String, u32)> = BTreeSet::new();
    let mut reminder_fees: BTreeMap<(String, u32), Option<String>> = BTreeMap::new();
    for decision in &decisions.decisions {
        let action = &decision.action;
        let ids = action.claim_ids();
        for id in &ids {
            let Some(c) = claim(id) else {
                return fail(format!("{today}: unknown claim {id} in {action:?}"));
            };
            if ledger.transferred.contains(*id) {
                return fail(format!("{today}: transferred claim {id} got {action:?}"));
            }
            let restoration = matches!(action, Action::SupplyRestoration { .. });
            if !c.is_active() && !restoration {
                return fail(format!("{today}: inactive claim {id} got {action:?}"));
            }
            let resolved = w
                .policies
                .resolve(&pre.municipality, &c.category, today)
                .map_err(TestCaseError::fail)?;
            let held = pre.holds.iter().any(|h| h.covers(id) && h.active_on(today));
            let hard_or_letter = !matches!(
                action,
                Action::Interest { .. }
                    | Action::WriteOffProposal { .. }
                    | Action::SupplyRestoration { .. }
            );
            if hard_or_letter && held {
                return fail(format!("{today}: {id} is held but got {action:?}"));
            }
            if hard_or_letter && today <= c.due_date {
                return fail(format!(
                    "{today}: {id} not in arrears yet but got {action:?}"
                ));
            }
            if let Some(step) = action.step() {
                check_step_time(c, &resolved, step, action, today)?;
            }
            if is_step_or_gate(action) {
                *stepped.entry(id).or_default() += 1;
            }
            check_special(pre, c, &resolved, action, today)?;
            let interest = interest_today.get(id).copied().unwrap_or(Money::ZERO);
            check_transfer_and_supply(pre, c, &resolved, action, interest, today)?;
        }
        if let Some(letter) = action.letter()
            && !ledger
                .notification_ids
                .insert(letter.notification_id.clone())
        {
            return fail(format!(
                "{today}: notification {} sent twice",
                letter.notification_id
            ));
        }
        match action {
            Action::Reminder {
                step,
                fee,
                claim_ids,
                ..
            } => {
                if !reminder_steps.insert((decision.policy.to_string(), *step)) {
                    return fail(format!(
                        "{today}: two letters for step {step} of {}",
                        decision.policy
                    ));
                }
                if let Some(f) = fee
                    && !claim_ids.contains(&f.claim_id)
                {
                    return fail(format!("{today}: fee on {} not in the letter", f.claim_id));
                }
                reminder_fees.insert(
                    (decision.policy.to_string(), *step),
                    fee.as_ref().map(|f| f.claim_id.clone()),
                );
            }
            Action::Fee {
                claim_id,
                step,
                amount,
                ..
            } => {
                check_fee(pre, claim_id, *step, *amount, today)?;
                if !ledger.fee_keys.insert((claim_id.clone(), *step)) {
                    return fail(format!("{today}: second fee for {claim_id} step {step}"));
                }
                if reminder_fees.get(&(decision.policy.to_string(), *step))
                    != Some(&Some(claim_id.clone()))
                {
                    return fail(format!(
                        "{today}: fee {claim_id}/{step} without its reminder"
                    ));
                }
            }
            Action::Interest {
                claim_id,
                period_from,
                amount,
                ..
            } => {
                if !amount.is_positive() {
                    return fail(format!("{today}: interest of {amount}"));
                }
                if !ledger
                    .interest_keys
                    .insert((claim_id.clone(), *period_from))
                {
                    return fail(format!(
                        "{today}: interest twice for {claim_id} {period_from}"
                    ));
                }
                if *period_from > today {
                    return fail(format!(
                        "{today}: interest for a period starting {period_from}"
                    ));
                }
            }
            Action::WriteOffProposal { claim_id, .. } => {
                if !ledger.proposals.insert(claim_id.clone()) {
                    return fail(format!("{today}: second write-off proposal for {claim_id}"));
                }
                let c = claim(claim_id).ok_or_else(|| TestCaseError::fail("claim"))?;
                if today < c.due_date.add_months(12) {
                    return fail(format!("{today}: write-off proposed within a year of due"));
                }
            }
            Action::Transfer { claims, .. } => {
                for t in claims {
                    ledger.transferred.insert(t.claim_id.clone());
                }
            }
            _ => {}
        }
    }
    if let Some((id, n)) = stepped.iter().find(|(_, n)| **n > 1) {
        return fail(format!("{today}: claim {id} took {n} steps in one day"));
    }
    Ok(())
}

fn is_step_or_gate(action: &Action) -> bool {
    match action {
        Action::Reminder { .. }
        | Action::MeetingOffer { .. }
        | Action::TransferNotice { .. }
        | Action::Transfer { .. }
        | Action::CompanyFinalNotice { .. }
        | Action::SupplySuspensionNotice { .. }
        | Action::SupplySuspension { .. } => true,
        Action::CaseworkerAlert { step, .. } => step.is_some(),
        _ => false,
    }
}

/// Steps in order and never before their time (timing counted from the due date or the last
/// step taken; holds and fee spacing can only make it later).
fn check_step_time(
    c: &ClaimState,
    resolved: &restance_dunning::domain::Resolved<'_>,
    step: u32,
    action: &Action,
    today: BusinessDate,
) -> Result<(), TestCaseError> {
    if matches!(action, Action::Fee { .. }) {
        return Ok(());
    }
    if step <= c.history.last_step() {
        return fail(format!(
            "{today}: {} step {step} again or out of order ({action:?})",
            c.claim_id
        ));
    }
    let Some(s) = resolved.version.steps.get(step as usize - 1) else {
        return fail(format!(
            "{today}: step {step} not in {}",
            resolved.policy_ref()
        ));
    };
    let earliest = match s.timing() {
        Some(Timing::AfterDue(n)) => c.due_date.add_days(i64::from(n)),
        Some(Timing::AfterPrevious(n)) => c
            .history
            .last_taken_date()
            .unwrap_or(c.due_date)
            .add_days(i64::from(n)),
        None => return fail("step without timing".into()),
    };
    if today < earliest {
        return fail(format!(
            "{today}: {} step {step} before its time {earliest}",
            c.claim_id
        ));
    }
    let step_kind_matches = matches!(
        (&s.action, action),
        (StepAction::Reminder { .. }, Action::Reminder { .. })
            | (StepAction::MeetingOffer { .. }, Action::MeetingOffer { .. })
            | (StepAction::CaseworkerAlert, Action::CaseworkerAlert { .. })
            | (
                StepAction::TransferNotice { .. },
                Action::TransferNotice { .. }
            )
            | (StepAction::Transfer { .. }, Action::Transfer { .. })
            | (
                StepAction::CompanyFinalNotice { .. },
                Action::CompanyFinalNotice { .. }
            )
            | (
                StepAction::SupplySuspensionNotice,
                Action::SupplySuspensionNotice { .. }
            )
            | (
                StepAction::SupplySuspension { .. },
                Action::SupplySuspension { .. }
            )
            | (_, Action::StepSkipped { .. })
    );
    if !step_kind_matches {
        return fail(format!(
            "{today}: step {step} is {:?} but {action:?}",
            s.action
        ));
    }
    Ok(())
}

/// No fee above the cap, at most the number of fee-bearing reminders, never two per step.
fn check_fee(
    pre: &DebtorView,
    claim_id: &str,
    step: u32,
    amount: Money,
    today: BusinessDate,
) -> Result<(), TestCaseError> {
    let w = world();
    let c = pre
        .claims
        .iter()
        .find(|c| c.claim_id == claim_id)
        .ok_or_else(|| TestCaseError::fail("fee claim"))?;
    let r = w
        .policies
        .resolve(&pre.municipality, &c.category, today)
        .map_err(TestCaseError::fail)?;
    let cap = r.table.cap().ok_or_else(|| TestCaseError::fail("no cap"))?;
    if !amount.is_positive() || amount > cap {
        return fail(format!("{today}: fee {amount} above cap {cap}"));
    }
    if let Some(max) = r.table.max_fee_reminders
        && c.history.fee_count() >= max as usize
    {
        return fail(format!(
            "{today}: fee number {} for {claim_id} (max {max})",
            c.history.fee_count() + 1
        ));
    }
    if c.history.has_fee_for_step(step) {
        return fail(format!(
            "{today}: {claim_id} already has a fee for step {step}"
        ));
    }
    if let Some(last) = c.history.last_fee_date()
        && today < last.add_days(i64::from(r.table.min_days_between_fees))
    {
        return fail(format!(
            "{today}: fee less than {} days after {last}",
            r.table.min_days_between_fees
        ));
    }
    if today
        < c.due_date
            .add_days(i64::from(r.table.first_fee_min_days_after_due))
    {
        return fail(format!("{today}: first fee too early"));
    }
    Ok(())
}

/// A hard action for a special-consideration person needs the meeting offer, the alert and
/// the wait before it.
fn check_special(
    pre: &DebtorView,
    c: &ClaimState,
    r: &restance_dunning::domain::Resolved<'_>,
    action: &Action,
    today: BusinessDate,
) -> Result<(), TestCaseError> {
    let hard = match action {
        Action::Reminder {
            fee,
            transfer_notice,
            ..
        } => fee.is_some() || *transfer_notice,
        Action::Fee { .. }
        | Action::TransferNotice { .. }
        | Action::Transfer { .. }
        | Action::CompanyFinalNotice { .. }
        | Action::SupplySuspensionNotice { .. }
        | Action::SupplySuspension { .. } => true,
        _ => false,
    };
    if !hard || !c.flags.special_consideration || pre.kind != PartyKind::Person {
        return Ok(());
    }
    let h = &c.history;
    let Some(offered) = h.meeting_offered else {
        return fail(format!(
            "{today}: {} hard step {action:?} without a meeting offer",
            c.claim_id
        ));
    };
    let mut since = offered;
    if c.flags.social_caseworker {
        let Some(alerted) = h.caseworker_alerted else {
            return fail(format!(
                "{today}: {} hard step without caseworker alert",
                c.claim_id
            ));
        };
        since = since.max(alerted);
    }
    let wait = r
        .version
        .special_consideration
        .map_or(FALLBACK, |s| s.meeting_wait_days);
    if today < since.add_days(i64::from(wait)) || today == since {
        return fail(format!(
            "{today}: {} hard step within the meeting wait",
            c.claim_id
        ));
    }
    Ok(())
}

fn check_transfer_and_supply(
    pre: &DebtorView,
    c: &ClaimState,
    r: &restance_dunning::domain::Resolved<'_>,
    action: &Action,
    interest_today: Money,
    today: BusinessDate,
) -> Result<(), TestCaseError> {
    let breaks: Vec<BusinessDate> = pre
        .broken_agreements
        .iter()
        .filter(|b| b.scope.covers(&c.claim_id) && b.date <= today)
        .map(|b| b.date)
        .collect();
    match action {
        Action::Transfer { step, claims, .. } => {
            let notice_min = match r.version.steps.get(*step as usize - 1).map(|s| &s.action) {
                Some(StepAction::Transfer { notice_min_days }) => *notice_min_days,
                other => return fail(format!("transfer step is {other:?}")),
            };
            let Some(notice) = c.history.transfer_notice_sent else {
                return fail(format!(
                    "{today}: {} transferred without notice",
                    c.claim_id
                ));
            };
            if today < notice.add_days(i64::from(notice_min)) {
                return fail(format!(
                    "{today}: transfer less than {notice_min} days after the notice"
                ));
            }
            let mut balance = c.balance;
            balance.interest += interest_today;
            let total = balance
                .total()
                .ok_or_else(|| TestCaseError::fail("total"))?;
            if total < r.table.transfer_min_balance {
                return fail(format!("{today}: transferred {total} below the minimum"));
            }
            if !claims
                .iter()
                .any(|t| t.claim_id == c.claim_id && t.balance == balance)
            {
                return fail(format!(
                    "{today}: transferred balance differs from {balance:?}: {claims:?}"
                ));
            }
        }
        Action::SupplySuspensionNotice { .. } | Action::SupplySuspension { .. } => {
            if !c.flags.supply_closure_allowed {
                return fail(format!("{today}: supply step for {}", c.category));
            }
            if breaks.is_empty() {
                return fail(format!("{today}: supply step without a broken agreement"));
            }
            if let Action::SupplySuspension { step, .. } = action {
                let min = match r.version.steps.get(*step as usize - 1).map(|s| &s.action) {
                    Some(StepAction::SupplySuspension { notice_min_days }) => *notice_min_days,
                    other => return fail(format!("suspension step is {other:?}")),
                };
                let Some(notice) = c.history.supply_notice_sent else {
                    return fail(format!("{today}: suspension without notice"));
                };
                if !breaks.iter().any(|b| *b <= notice) || today < notice.add_days(i64::from(min)) {
                    return fail(format!(
                        "{today}: suspension notice {notice} too late or too recent"
                    ));
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// Runs the scenario evaluating on every day (`every_day`) or only on next-action and event days.
fn simulate(s: &Scenario, every_day: bool) -> Result<Ledger, TestCaseError> {
    let w = world();
    let mut view = initial_view(s);
    let mut ledger = Ledger::default();
    let mut next: Option<BusinessDate> = Some(start());
    for n in 0..=s.days {
        let today = day(n);
        let event = apply_events(s, &mut view, n);
        if !(every_day || event || next.is_some_and(|d| d <= today)) {
            continue;
        }
        let decisions = next_steps(&view, &w.policies, today);
        if !decisions.problems.is_empty() {
            return fail(format!("problems: {:?}", decisions.problems));
        }
        prop_assert_eq!(
            &decisions,
            &next_steps(&view, &w.policies, today),
            "deterministic"
        );
        check_day(&view, &decisions, &mut ledger, today)?;
        if let Some(d) = decisions.next_action_date()
            && d <= today
        {
            return fail(format!(
                "{today}: next action date {d} is not in the future"
            ));
        }
        view.record(&decisions);
        let again = next_steps(&view, &w.policies, today);
        prop_assert!(
            again.is_empty(),
            "{}: recorded, but a rerun decides {:?}",
            today,
            again.decisions
        );
        next = decisions.next_action_date();
        if !decisions.is_empty() {
            ledger.log.push((today, decisions));
        }
    }
    Ok(ledger)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    /// Day by day, every rule holds on every decision.
    #[test]
    fn every_rule_holds_every_day(s in scenario()) {
        simulate(&s, true)?;
    }

    /// The index on the next action date never misses or adds anything.
    #[test]
    fn evaluating_only_on_next_action_dates_decides_the_same(s in scenario()) {
        let daily = simulate(&s, true)?;
        let indexed = simulate(&s, false)?;
        let strip = |log: &[(BusinessDate, Decisions)]| -> Vec<(BusinessDate, Vec<Action>)> {
            log.iter()
                .map(|(d, x)| (*d, x.decisions.iter().map(|y| y.action.clone()).collect()))
                .collect()
        };
        prop_assert_eq!(strip(&daily.log), strip(&indexed.log));
    }

    /// When days are skipped (the date jumps), every rule still holds and each claim takes at
    /// most one step per evaluation.
    #[test]
    fn skipped_days_take_at_most_the_next_step(s in scenario(), gaps in proptest::collection::vec(1u16..45, 1..40)) {
        let w = world();
        let mut view = initial_view(&s);
        let mut ledger = Ledger::default();
        let mut applied = 0u16;
        let mut n = 0u16;
        for gap in gaps {
            n = n.saturating_add(gap);
            while applied <= n {
                apply_events(&s, &mut view, applied);
                applied += 1;
            }
            let today = day(n);
            let decisions = next_steps(&view, &w.policies, today);
            check_day(&view, &decisions, &mut ledger, today)?;
            view.record(&decisions);
        }
    }
}
