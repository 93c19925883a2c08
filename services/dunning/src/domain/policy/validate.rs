//! [`Policies::validate`]: every problem in `[dunning]`, each named by its config path.
//!
//! Checked: the legal tables (a fee above its cap, no cap, tables out of date order), each
//! policy's versions (numbers and dates increasing — two versions are never in force on the same
//! day), each step (exactly one timing, known templates, steps in order, nothing before the day
//! after due, a transfer only after a reminder and a written notice, a suspension only after its
//! notice, the number and spacing of fee-bearing reminders), and against the catalog: every
//! category a municipality bills has a policy, the policy's jurisdiction matches the country and
//! the private-law flag, supply steps only for categories that allow closure, and a
//! special-consideration category's policy offers a meeting before its first hard step.

use std::collections::BTreeSet;

use restance_kernel::{BusinessDate, Catalog, Municipality, PartyKind};

use super::{
    Jurisdiction, LegalTable, Policies, Policy, PolicyVersion, Step, StepAction, Timing, templates,
};

/// Longest interval a step, notice or wait may configure (ten years).
const MAX_DAYS: u32 = 3650;
/// Longest limitation period accepted.
const MAX_LIMITATION_YEARS: u32 = 30;

/// All problems, in configuration order, without duplicates.
pub(super) fn problems(policies: &Policies, catalog: Option<&Catalog>) -> Vec<String> {
    let mut out = Vec::new();
    if policies.jurisdictions.is_empty() {
        out.push("dunning.jurisdictions: at least one jurisdiction must be configured".into());
    }
    if policies.policies.is_empty() {
        out.push("dunning.policies: at least one policy must be configured".into());
    }
    if policies.municipalities.is_empty() {
        out.push("dunning.municipalities: no municipality has dunning policies".into());
    }
    for (key, jurisdiction) in &policies.jurisdictions {
        check_jurisdiction(
            &format!("dunning.jurisdictions.{key}"),
            jurisdiction,
            &mut out,
        );
    }
    for (id, policy) in &policies.policies {
        check_policy(
            &format!("dunning.policies.{id}"),
            policy,
            policies.jurisdictions.get(&policy.jurisdiction),
            &mut out,
        );
    }
    check_assignments(policies, catalog, &mut out);
    let mut seen = BTreeSet::new();
    out.retain(|p| seen.insert(p.clone()));
    out
}

fn check_days(path: &str, days: u32, out: &mut Vec<String>) {
    if days > MAX_DAYS {
        out.push(format!("{path}: {days} days is more than {MAX_DAYS}"));
    }
}

fn check_jurisdiction(path: &str, j: &Jurisdiction, out: &mut Vec<String>) {
    if !j.transfer_authority.serves(j.country) {
        out.push(format!(
            "{path}.transfer_authority: {} does not take claims from {}",
            j.transfer_authority,
            j.country.code()
        ));
    }
    if j.tables.is_empty() {
        out.push(format!(
            "{path}.tables: at least one legal table (fee, cap, transfer minimum) is needed"
        ));
    }
    for (i, table) in j.tables.iter().enumerate() {
        let tpath = format!("{path}.tables[{i}]");
        if i > 0 && table.effective_from <= j.tables[i - 1].effective_from {
            out.push(format!(
                "{tpath}.effective_from: {} is not after tables[{}] ({}): list tables oldest first, one per date",
                table.effective_from,
                i - 1,
                j.tables[i - 1].effective_from
            ));
        }
        check_table(&tpath, table, out);
    }
}

fn check_table(path: &str, t: &LegalTable, out: &mut Vec<String>) {
    if t.fee.is_negative() {
        out.push(format!("{path}.fee: must not be negative"));
    }
    if t.fee_cap.is_some_and(|c| !c.is_positive()) {
        out.push(format!("{path}.fee_cap: must be greater than zero"));
    }
    if t.collection_rate.is_some_and(|c| !c.is_positive()) {
        out.push(format!("{path}.collection_rate: must be greater than zero"));
    }
    match t.cap() {
        None => out.push(format!(
            "{path}: no fee cap: set fee_cap or collection_rate (a fee is never above the legal maximum)"
        )),
        Some(cap) if t.fee > cap => out.push(format!(
            "{path}.fee: {} is above the cap {cap}",
            t.fee
        )),
        Some(_) => {}
    }
    if t.fee_legal_basis.trim().is_empty() {
        out.push(format!(
            "{path}.fee_legal_basis: must name the rule cited in letters"
        ));
    }
    if t.max_fee_reminders == Some(0) {
        out.push(format!(
            "{path}.max_fee_reminders: must be at least 1 (leave it out for no limit)"
        ));
    }
    check_days(
        &format!("{path}.min_days_between_fees"),
        t.min_days_between_fees,
        out,
    );
    check_days(
        &format!("{path}.first_fee_min_days_after_due"),
        t.first_fee_min_days_after_due,
        out,
    );
    if t.transfer_min_balance.is_negative() {
        out.push(format!("{path}.transfer_min_balance: must not be negative"));
    }
}

fn check_policy(path: &str, policy: &Policy, j: Option<&Jurisdiction>, out: &mut Vec<String>) {
    if j.is_none() {
        out.push(format!(
            "{path}.jurisdiction: unknown jurisdiction {:?}",
            policy.jurisdiction
        ));
    }
    if policy.versions.is_empty() {
        out.push(format!("{path}.versions: at least one version is needed"));
    }
    for (i, version) in policy.versions.iter().enumerate() {
        let vpath = format!("{path}.versions[{i}]");
        if i > 0 {
            let prev = &policy.versions[i - 1];
            if version.version <= prev.version {
                out.push(format!(
                    "{vpath}.version: {} must be greater than versions[{}].version ({})",
                    version.version,
                    i - 1,
                    prev.version
                ));
            }
            if version.effective_from <= prev.effective_from {
                out.push(format!(
                    "{vpath}.effective_from: {} is not after versions[{}] ({}): the versions overlap",
                    version.effective_from,
                    i - 1,
                    prev.effective_from
                ));
            }
        }
        let until = policy.versions.get(i + 1).map(|v| v.effective_from);
        let tables = j
            .map(|j| tables_in_force(j, version.effective_from, until))
            .unwrap_or_default();
        check_version(&vpath, version, &tables, out);
    }
}

/// The tables of `j` in force at some time in `[from, until)`.
fn tables_in_force(
    j: &Jurisdiction,
    from: BusinessDate,
    until: Option<BusinessDate>,
) -> Vec<(usize, &LegalTable)> {
    j.tables
        .iter()
        .enumerate()
        .filter(|(i, t)| {
            let t_until = j.tables.get(i + 1).map(|n| n.effective_from);
            until.is_none_or(|u| t.effective_from < u) && t_until.is_none_or(|tu| from < tu)
        })
        .collect()
}

fn check_version(
    path: &str,
    v: &PolicyVersion,
    tables: &[(usize, &LegalTable)],
    out: &mut Vec<String>,
) {
    if v.steps.is_empty() {
        out.push(format!("{path}.steps: at least one step is needed"));
    }
    if v.limitation_years == 0 || v.limitation_years > MAX_LIMITATION_YEARS {
        out.push(format!(
            "{path}.limitation_years: must be 1 to {MAX_LIMITATION_YEARS}"
        ));
    }
    check_interest(path, v, out);
    check_collection(path, v, out);
    if let Some(sc) = v.special_consideration {
        check_days(
            &format!("{path}.special_consideration.meeting_wait_days"),
            sc.meeting_wait_days,
            out,
        );
    }
    for (j, step) in v.steps.iter().enumerate() {
        check_step(&format!("{path}.steps[{j}]"), step, tables, out);
    }
    for kind in [PartyKind::Person, PartyKind::Company] {
        check_sequence(path, v, kind, tables, out);
    }
}

/// The transfer rule and the small-balance threshold (issue 22).
fn check_collection(path: &str, v: &PolicyVersion, out: &mut Vec<String>) {
    let t = &v.transfer;
    if t.broken_agreements_for_transfer == 0 || t.broken_agreements_for_transfer > 12 {
        out.push(format!(
            "{path}.transfer.broken_agreements_for_transfer: must be 1 to 12"
        ));
    }
    if t.only_unwilling_or_defaulting && t.mode != super::TransferMode::Review {
        out.push(format!(
            "{path}.transfer.only_unwilling_or_defaulting: needs mode = \"review\" (a caseworker decides)"
        ));
    }
    if t.source.as_deref().is_some_and(|s| s.trim().is_empty()) {
        out.push(format!(
            "{path}.transfer.source: empty; name the decision or leave it out"
        ));
    }
    if let Some(n) = v.pre_due_notice
        && !(1..=60).contains(&n.days_before)
    {
        out.push(format!(
            "{path}.pre_due_notice.days_before: must be 1 to 60"
        ));
    }
    if let Some(th) = &v.threshold {
        if !th.below.is_positive() {
            out.push(format!("{path}.threshold.below: must be more than 0.00"));
        }
        if th.min_interest.is_some_and(|m| !m.is_positive()) {
            out.push(format!(
                "{path}.threshold.min_interest: must be more than 0.00"
            ));
        }
        if th.source.trim().is_empty() {
            out.push(format!(
                "{path}.threshold.source: say where the threshold comes from (the municipality's decision)"
            ));
        }
    }
}

fn check_interest(path: &str, v: &PolicyVersion, out: &mut Vec<String>) {
    use rust_decimal::Decimal;
    let ipath = format!("{path}.interest");
    if let Some((rate, _)) = v.interest.rate_percent() {
        if rate <= Decimal::ZERO {
            out.push(format!("{ipath}: the rate must be greater than zero"));
        } else if rate >= Decimal::ONE_HUNDRED {
            out.push(format!("{ipath}: a rate of {rate} % is not plausible"));
        }
        if rate.normalize().scale() > 6 {
            out.push(format!("{ipath}: at most 6 decimals"));
        }
    } else if !matches!(v.interest, super::InterestRule::None) {
        out.push(format!("{ipath}: the rate is out of range"));
    }
}

fn check_step(path: &str, step: &Step, tables: &[(usize, &LegalTable)], out: &mut Vec<String>) {
    match (step.after_due_days, step.after_previous_days) {
        (Some(_), Some(_)) | (None, None) => out.push(format!(
            "{path}: set exactly one of after_due_days and after_previous_days"
        )),
        (Some(days), None) => check_days(&format!("{path}.after_due_days"), days, out),
        (None, Some(days)) => check_days(&format!("{path}.after_previous_days"), days, out),
    }
    let apath = format!("{path}.action");
    match &step.action {
        StepAction::Reminder { template, fee, .. } => {
            check_reminder_template(&format!("{apath}.template"), template, out);
            if *fee {
                for (i, t) in tables {
                    if t.fee_amount().is_none() {
                        out.push(format!(
                            "{apath}.fee: the jurisdiction's tables[{i}] has no fee that can be charged (zero fee or no cap)"
                        ));
                    }
                }
            }
        }
        StepAction::TransferNotice { template, .. } => {
            check_reminder_template(&format!("{apath}.template"), template, out);
        }
        StepAction::Transfer { notice_min_days } => {
            if *notice_min_days == 0 {
                out.push(format!(
                    "{apath}.notice_min_days: the written notice must come at least 1 day before the transfer"
                ));
            }
            check_days(&format!("{apath}.notice_min_days"), *notice_min_days, out);
        }
        StepAction::SupplySuspension { notice_min_days } => {
            if *notice_min_days == 0 {
                out.push(format!(
                    "{apath}.notice_min_days: the suspension notice must come at least 1 day before"
                ));
            }
            check_days(&format!("{apath}.notice_min_days"), *notice_min_days, out);
        }
        StepAction::CompanyFinalNotice { deadline_days } => {
            if *deadline_days == 0 {
                out.push(format!("{apath}.deadline_days: must be at least 1"));
            }
            check_days(&format!("{apath}.deadline_days"), *deadline_days, out);
            if step.only_for == Some(PartyKind::Person) {
                out.push(format!(
                    "{path}.only_for: a company final notice is only for companies"
                ));
            }
        }
        StepAction::MeetingOffer { .. }
        | StepAction::CaseworkerAlert
        | StepAction::SupplySuspensionNotice => {}
    }
}

fn check_reminder_template(path: &str, template: &str, out: &mut Vec<String>) {
    if !templates::ALL.contains(&template) {
        out.push(format!(
            "{path}: unknown template {template:?} (known: {})",
            templates::ALL.join(", ")
        ));
    } else if !templates::REMINDERS.contains(&template) {
        out.push(format!(
            "{path}: a reminder sends {}, not {template:?}",
            templates::REMINDERS.join(" or ")
        ));
    }
}

/// The steps a debtor of `kind` goes through, in order: timing order, the first day in arrears,
/// the reminder procedure and notice before a transfer, the notice before a suspension, and the
/// number and spacing of fee-bearing reminders.
fn check_sequence(
    path: &str,
    v: &PolicyVersion,
    kind: PartyKind,
    tables: &[(usize, &LegalTable)],
    out: &mut Vec<String>,
) {
    let who = kind.as_str();
    // the earliest day after due each step can fall due on
    let mut offset: u64 = 0;
    let mut prev: Option<usize> = None;
    let mut reminder_seen = false;
    let mut notice_seen = false;
    let mut supply_notice_seen = false;
    let mut fees: Vec<(usize, u64)> = Vec::new();
    for (j, step) in v
        .steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.applies_to(kind))
    {
        let spath = format!("{path}.steps[{j}]");
        let Some(timing) = step.timing() else {
            continue;
        };
        match timing {
            Timing::AfterDue(days) => {
                if let Some(p) = prev
                    && u64::from(days) < offset
                {
                    out.push(format!(
                        "{spath}.after_due_days: {days} is before steps[{p}] (at least {offset} days after due for a {who}): steps out of order"
                    ));
                }
                offset = offset.max(u64::from(days));
            }
            Timing::AfterPrevious(days) => offset += u64::from(days),
        }
        if offset == 0 {
            out.push(format!(
                "{spath}: would fall due on the due date itself; a claim is in arrears from the day after (at least 1 day)"
            ));
        }
        match &step.action {
            StepAction::Transfer { .. } => {
                if !reminder_seen {
                    out.push(format!(
                        "{spath}: a transfer comes after the reminder procedure, but no reminder step precedes it for a {who}"
                    ));
                }
                if !notice_seen {
                    out.push(format!(
                        "{spath}: no written notice of transfer precedes it for a {who} (a reminder with transfer_notice = true, a transfer_notice or company_final_notice step)"
                    ));
                }
            }
            StepAction::SupplySuspension { .. } if !supply_notice_seen => out.push(format!(
                "{spath}: no supply_suspension_notice step precedes the suspension"
            )),
            StepAction::SupplySuspensionNotice => supply_notice_seen = true,
            StepAction::Reminder { .. } => reminder_seen = true,
            _ => {}
        }
        if step.gives_transfer_notice() {
            notice_seen = true;
        }
        if step.carries_fee() {
            check_fee_step(&spath, who, offset, &fees, tables, out);
            fees.push((j, offset));
        }
        prev = Some(j);
    }
}

fn check_fee_step(
    spath: &str,
    who: &str,
    offset: u64,
    earlier_fees: &[(usize, u64)],
    tables: &[(usize, &LegalTable)],
    out: &mut Vec<String>,
) {
    let count = earlier_fees.len() + 1;
    for (i, t) in tables {
        if let Some(max) = t.max_fee_reminders
            && count > max as usize
        {
            out.push(format!(
                "{spath}.action.fee: fee-bearing reminder number {count} for a {who}, but the jurisdiction's tables[{i}] allows at most {max}"
            ));
        }
        if earlier_fees.is_empty() && offset < u64::from(t.first_fee_min_days_after_due) {
            out.push(format!(
                "{spath}.action.fee: the first fee may be charged no earlier than {} days after due (tables[{i}]), this step can fall due after {offset}",
                t.first_fee_min_days_after_due
            ));
        }
        if let Some((p, prev_offset)) = earlier_fees.last()
            && offset.saturating_sub(*prev_offset) < u64::from(t.min_days_between_fees)
        {
            out.push(format!(
                "{spath}.action.fee: at least {} days must pass after the fee of steps[{p}] (tables[{i}])",
                t.min_days_between_fees
            ));
        }
    }
}

fn check_assignments(policies: &Policies, catalog: Option<&Catalog>, out: &mut Vec<String>) {
    for (code, assignment) in &policies.municipalities {
        let mpath = format!("dunning.municipalities.\"{code}\"");
        let named = assignment
            .default
            .iter()
            .map(|id| (format!("{mpath}.default"), id))
            .chain(
                assignment
                    .categories
                    .iter()
                    .map(|(cat, id)| (format!("{mpath}.categories.{cat}"), id)),
            );
        for (path, id) in named {
            if !policies.policies.contains_key(id) {
                out.push(format!("{path}: unknown policy {id:?}"));
            }
        }
        let Some(catalog) = catalog else {
            continue;
        };
        let Some(municipality) = catalog.municipality(code) else {
            out.push(format!(
                "{mpath}: municipality {code} is not in the catalog"
            ));
            continue;
        };
        for category in assignment.categories.keys() {
            if catalog.category(category).is_none() {
                out.push(format!(
                    "{mpath}.categories.{category}: unknown category (not in catalog.categories)"
                ));
            } else if !municipality.has_category(category) {
                out.push(format!(
                    "{mpath}.categories.{category}: municipality {code} does not bill this category"
                ));
            }
        }
        for category_key in &municipality.categories {
            check_category_policy(policies, catalog, code, municipality, category_key, out);
        }
    }
    if let Some(catalog) = catalog {
        for code in catalog.municipalities.keys() {
            if !policies.municipalities.contains_key(code) {
                out.push(format!(
                    "dunning.municipalities.\"{code}\": missing: the catalog has municipality {code} but no dunning policies are assigned to it"
                ));
            }
        }
    }
}

/// The policy a municipality uses for a category it bills must exist and fit the category.
fn check_category_policy(
    policies: &Policies,
    catalog: &Catalog,
    code: &str,
    municipality: &Municipality,
    category_key: &str,
    out: &mut Vec<String>,
) {
    let mpath = format!("dunning.municipalities.\"{code}\"");
    let assignment = &policies.municipalities[code];
    let path = if assignment.categories.contains_key(category_key) {
        format!("{mpath}.categories.{category_key}")
    } else {
        format!("{mpath}.default")
    };
    let Some(policy_id) = policies.policy_id_for(code, category_key) else {
        out.push(format!(
            "{mpath}: missing default: category {category_key} is billed by {code} but has no policy (add it under categories or set default)"
        ));
        return;
    };
    let (Some(policy), Some(category)) = (
        policies.policies.get(policy_id),
        catalog.category(category_key),
    ) else {
        return;
    };
    if let Some(j) = policies.jurisdictions.get(&policy.jurisdiction) {
        if j.country != municipality.country {
            out.push(format!(
                "{path}: policy {policy_id} uses jurisdiction {} ({}) but municipality {code} is in {}",
                policy.jurisdiction,
                j.country.code(),
                municipality.country.code()
            ));
        }
        if j.private_law != category.private_law {
            let (cat, jur) = if category.private_law {
                ("a private-law category", "a public-law")
            } else {
                ("a public-law category", "a private-law")
            };
            out.push(format!(
                "{path}: {category_key} is {cat} but policy {policy_id} uses {jur} jurisdiction ({})",
                policy.jurisdiction
            ));
        }
    }
    if policy.has_supply_steps() && !category.supply_closure_allowed {
        out.push(format!(
            "{path}: policy {policy_id} has supply suspension steps but category {category_key} does not allow supply closure"
        ));
    }
    if category.special_consideration {
        check_special_policy(&path, policy_id, policy, category_key, out);
    }
}

/// A special-consideration category's policy configures the meeting wait and, for persons,
/// offers a meeting before its first hard step (the gate would otherwise send one by itself).
fn check_special_policy(
    path: &str,
    policy_id: &str,
    policy: &Policy,
    category_key: &str,
    out: &mut Vec<String>,
) {
    for (i, v) in policy.versions.iter().enumerate() {
        let vpath = format!("dunning.policies.{policy_id}.versions[{i}]");
        if v.special_consideration.is_none() {
            out.push(format!(
                "{vpath}.special_consideration: missing: category {category_key} ({path}) needs meeting_wait_days"
            ));
        }
        let person_steps = || v.steps.iter().filter(|s| s.applies_to(PartyKind::Person));
        let first_hard = person_steps().position(Step::is_hard);
        let first_offer =
            person_steps().position(|s| matches!(s.action, StepAction::MeetingOffer { .. }));
        if let Some(hard) = first_hard
            && first_offer.is_none_or(|offer| offer > hard)
        {
            out.push(format!(
                "{vpath}.steps: category {category_key} ({path}) needs a meeting_offer step before the first fee, notice, transfer or suspension for a person"
            ));
        }
    }
}

#[cfg(test)]
mod tests;
