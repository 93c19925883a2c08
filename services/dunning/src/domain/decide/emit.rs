//! Decisions → actions: interest, write-off proposals, one letter and one fee per group of
//! claims at the same step, gates and restorations.

use std::collections::BTreeMap;

use restance_kernel::{BusinessDate, Money};

use super::{Gate, Gated, Planned, claim_ids};
use crate::domain::actions::{Action, Decision, Decisions, FeeCharge, Letter, TransferredClaim};
use crate::domain::ids;
use crate::domain::interest;
use crate::domain::policy::{
    Channel, LegalTable, PolicyRef, RateUnit, Resolved, StepAction, templates,
};
use crate::domain::schedule::{self, plus_days};
use crate::domain::view::{ClaimState, Hold};

/// Emits the interest the claim owes today; returns the total.
pub(super) fn emit_interest(
    out: &mut Decisions,
    claim: &ClaimState,
    holds: &[&Hold],
    resolved: &Resolved<'_>,
    limitation: BusinessDate,
    today: BusinessDate,
) -> Money {
    let mut total = Money::ZERO;
    for charge in interest::due_charges(claim, holds, resolved.policy, limitation, today) {
        total = total.checked_add(charge.amount).unwrap_or(total);
        let unit = match charge.unit {
            RateUnit::PerStartedMonth => "per started month",
            RateUnit::PerYear => "a year",
        };
        out.decisions.push(Decision {
            policy: PolicyRef {
                id: resolved.policy_id.to_owned(),
                version: charge.version,
            },
            reason: format!(
                "default interest {} % {unit} on principal {} for {} to {} ({} days)",
                charge.rate, charge.principal, charge.period.from, charge.period.to, charge.days
            ),
            action: Action::Interest {
                interest_id: ids::interest_id(&claim.claim_id, charge.period.from),
                claim_id: claim.claim_id.clone(),
                period_from: charge.period.from,
                period_to: charge.period.to,
                rate: charge.rate,
                unit: charge.unit,
                days: charge.days,
                principal: charge.principal,
                amount: charge.amount,
                currency: claim.currency,
            },
        });
    }
    total
}

pub(super) fn emit_write_off(
    out: &mut Decisions,
    claim: &ClaimState,
    resolved: &Resolved<'_>,
    limitation: BusinessDate,
) {
    out.decisions.push(Decision {
        policy: resolved.policy_ref(),
        reason: format!(
            "limitation date {limitation} reached ({} years from the due date or the last acknowledgement; DOMAIN.md, Limitation)",
            resolved.version.limitation_years
        ),
        action: Action::WriteOffProposal {
            proposal_id: ids::write_off_id(&claim.claim_id, limitation),
            claim_id: claim.claim_id.clone(),
            limitation_date: limitation,
            balance: claim.balance,
        },
    });
}

fn letter(claims: &[&ClaimState], step: u32, template: &str, channels: &[Channel]) -> Letter {
    let ids = claim_ids(claims);
    Letter {
        notification_id: ids::notification_id(&ids, step, template),
        template: template.to_owned(),
        channels: channels.to_vec(),
        office: claims.first().map(|c| c.office.clone()).unwrap_or_default(),
    }
}

fn group_reason(group: &[Planned<'_>]) -> String {
    let lead = group.first().map(|p| p.reason.as_str()).unwrap_or_default();
    if group.len() > 1 {
        format!(
            "{lead}; {} claims at the same step share one letter",
            group.len()
        )
    } else {
        lead.to_owned()
    }
}

// Long: one arm per kind of step (`StepAction`), each the action it takes; read as a table.
/// One group: the claims of the debtor that take step `number` of one policy version today.
pub(super) fn emit_step(
    out: &mut Decisions,
    group: &[Planned<'_>],
    number: u32,
    today: BusinessDate,
) {
    let Some(lead) = group.first() else {
        return;
    };
    let claims: Vec<&ClaimState> = group.iter().map(|p| p.claim).collect();
    let ids = claim_ids(&claims);
    let policy = lead.resolved.policy_ref();
    let reason = group_reason(group);
    let mut push = |reason: String, action: Action| {
        out.decisions.push(Decision {
            policy: policy.clone(),
            reason,
            action,
        });
    };
    match &lead.step.action {
        StepAction::Reminder {
            template,
            channels,
            fee,
            transfer_notice,
        } => {
            let charge = if *fee {
                fee_for_group(&claims, number, lead.resolved.table, today)
            } else {
                None
            };
            push(
                reason,
                Action::Reminder {
                    step: number,
                    claim_ids: ids,
                    letter: letter(&claims, number, template, channels),
                    fee: charge.map(|(claim, amount)| FeeCharge {
                        claim_id: claim.claim_id.clone(),
                        amount,
                    }),
                    transfer_notice: *transfer_notice,
                },
            );
            if let Some((claim, amount)) = charge {
                let basis = lead.resolved.table.fee_legal_basis.clone();
                push(
                    format!(
                        "reminder fee {amount} per reminder letter ({basis}), on the claim with the earliest due date that may still carry a fee"
                    ),
                    Action::Fee {
                        fee_id: ids::fee_id(&claim.claim_id, number),
                        claim_id: claim.claim_id.clone(),
                        step: number,
                        amount,
                        currency: claim.currency,
                        legal_basis: basis,
                    },
                );
            }
        }
        StepAction::MeetingOffer { channels } => {
            push(
                reason,
                Action::MeetingOffer {
                    step: Some(number),
                    claim_ids: ids,
                    letter: letter(&claims, number, templates::MEETING_OFFER, channels),
                },
            );
            let social: Vec<&ClaimState> = claims
                .iter()
                .copied()
                .filter(|c| c.flags.social_caseworker && c.history.caseworker_alerted.is_none())
                .collect();
            if !social.is_empty() {
                let social_ids = claim_ids(&social);
                push(
                    "the social caseworker is alerted with the meeting offer (DOMAIN.md principle 4)"
                        .into(),
                    Action::CaseworkerAlert {
                        step: None,
                        alert_id: ids::alert_id(&social_ids, number),
                        claim_ids: social_ids,
                    },
                );
            }
        }
        StepAction::CaseworkerAlert => push(
            reason,
            Action::CaseworkerAlert {
                step: Some(number),
                alert_id: ids::alert_id(&ids, number),
                claim_ids: ids,
            },
        ),
        StepAction::TransferNotice { template, channels } => push(
            reason,
            Action::TransferNotice {
                step: Some(number),
                claim_ids: ids,
                letter: letter(&claims, number, template, channels),
            },
        ),
        StepAction::Transfer { .. } => push(
            reason,
            Action::Transfer {
                step: number,
                authority: lead.resolved.jurisdiction.transfer_authority,
                claims: claims
                    .iter()
                    .map(|c| TransferredClaim {
                        claim_id: c.claim_id.clone(),
                        transfer_id: ids::transfer_id(&c.claim_id),
                        balance: c.balance,
                        currency: c.currency,
                        due_date: c.due_date,
                        notice_sent: c.history.transfer_notice_sent.unwrap_or(today),
                    })
                    .collect(),
                letter: letter(&claims, number, templates::TRANSFERRED_TO_COLLECTION, &[]),
            },
        ),
        StepAction::CompanyFinalNotice { deadline_days } => push(
            reason,
            Action::CompanyFinalNotice {
                step: number,
                claim_ids: ids,
                letter: letter(&claims, number, templates::COMPANY_FINAL_NOTICE, &[]),
                deadline: plus_days(today, *deadline_days).unwrap_or(today),
            },
        ),
        StepAction::SupplySuspensionNotice => push(
            reason,
            Action::SupplySuspensionNotice {
                step: number,
                claim_ids: ids,
                letter: letter(&claims, number, templates::SUPPLY_SUSPENSION_NOTICE, &[]),
            },
        ),
        StepAction::SupplySuspension { .. } => push(
            reason,
            Action::SupplySuspension {
                step: number,
                suspension_id: ids::suspension_id(&ids, number),
                claim_ids: ids,
            },
        ),
    }
}

/// One fee per letter (DOMAIN.md: several claims in one letter, then one fee), on the claim with
/// the earliest due date, then the lowest id, among those that may still carry a fee today: below
/// the jurisdiction's number of fee-bearing reminders, no fee yet for this step, and the fee
/// spacing respected. The amount is the table's fee, never above its cap.
fn fee_for_group<'a>(
    claims: &[&'a ClaimState],
    step: u32,
    table: &LegalTable,
    today: BusinessDate,
) -> Option<(&'a ClaimState, Money)> {
    let amount = table.fee_amount()?;
    let claim = claims.iter().copied().find(|c| {
        schedule::can_still_charge_fee(c, table)
            && !c.history.has_fee_for_step(step)
            && schedule::first_fee_allowed(c, table).is_some_and(|d| d <= today)
    })?;
    Some((claim, amount))
}

/// Gate letters: one meeting offer and one caseworker alert for all the debtor's claims that
/// need them today; a missing transfer notice per policy version.
pub(super) fn emit_gates(out: &mut Decisions, gates: &[Gated<'_>], today: BusinessDate) {
    let pick = |want: fn(Gate) -> bool| -> Vec<&Gated<'_>> {
        gates.iter().filter(|g| want(g.gate)).collect()
    };
    let offers = pick(|g| matches!(g, Gate::Meeting { offer: true, .. }));
    if let Some(lead) = offers.first() {
        let claims: Vec<&ClaimState> = offers.iter().map(|p| p.claim).collect();
        out.decisions.push(Decision {
            policy: lead.resolved.policy_ref(),
            reason: lead.reason.clone(),
            action: Action::MeetingOffer {
                step: None,
                claim_ids: claim_ids(&claims),
                letter: letter(
                    &claims,
                    0,
                    templates::MEETING_OFFER,
                    &[Channel::Letter, Channel::Sms],
                ),
            },
        });
    }
    let alerts = pick(|g| matches!(g, Gate::Meeting { alert: true, .. }));
    if let Some(lead) = alerts.first() {
        let claims: Vec<&ClaimState> = alerts.iter().map(|p| p.claim).collect();
        let ids = claim_ids(&claims);
        out.decisions.push(Decision {
            policy: lead.resolved.policy_ref(),
            reason: lead.reason.clone(),
            action: Action::CaseworkerAlert {
                step: None,
                alert_id: ids::alert_id(&ids, 0),
                claim_ids: ids,
            },
        });
    }
    let mut notices: BTreeMap<PolicyRef, Vec<&Gated<'_>>> = BTreeMap::new();
    for p in pick(|g| g == Gate::TransferNotice) {
        notices.entry(p.resolved.policy_ref()).or_default().push(p);
    }
    for (policy, group) in notices {
        let claims: Vec<&ClaimState> = group.iter().map(|p| p.claim).collect();
        out.decisions.push(Decision {
            policy,
            reason: group.first().map(|p| p.reason.clone()).unwrap_or_default(),
            action: Action::TransferNotice {
                step: None,
                claim_ids: claim_ids(&claims),
                letter: letter(&claims, 0, templates::REMINDER_2, &[]),
            },
        });
    }
    emit_collection_gates(out, gates, today);
}

/// The municipality's choices at the transfer step, grouped per policy version and step like the
/// steps: transfer proposals, plan offers for kept claims, distraint notices and cases.
fn emit_collection_gates(out: &mut Decisions, gates: &[Gated<'_>], today: BusinessDate) {
    let mut groups: BTreeMap<(PolicyRef, u32, u8), Vec<&Gated<'_>>> = BTreeMap::new();
    for g in gates {
        let order = match g.gate {
            Gate::TransferProposal => 0,
            Gate::PlanOffer => 1,
            Gate::DistraintNotice => 2,
            Gate::DistraintCase => 3,
            Gate::Meeting { .. } | Gate::TransferNotice => continue,
        };
        groups
            .entry((g.resolved.policy_ref(), g.number, order))
            .or_default()
            .push(g);
    }
    for ((policy, number, _), group) in groups {
        let Some(lead) = group.first() else {
            continue;
        };
        let claims: Vec<&ClaimState> = group.iter().map(|p| p.claim).collect();
        let ids = claim_ids(&claims);
        let reason = lead.reason.clone();
        let action = match lead.gate {
            Gate::TransferProposal => Action::TransferProposal {
                proposal_id: ids::transfer_proposal_id(&ids, today),
                step: number,
                grounds: group.iter().filter_map(|g| g.grounds.clone()).collect(),
                claim_ids: ids,
            },
            Gate::PlanOffer => Action::PlanOffer {
                letter: Letter {
                    notification_id: ids::notification_id_on(
                        &ids,
                        "plan_offer",
                        today,
                        templates::MEETING_OFFER,
                    ),
                    template: templates::MEETING_OFFER.to_owned(),
                    channels: vec![Channel::Letter, Channel::Sms],
                    office: lead.claim.office.clone(),
                },
                claim_ids: ids,
            },
            Gate::DistraintNotice => Action::DistraintNotice {
                step: number,
                letter: letter(&claims, number, templates::DISTRAINT_NOTICE, &[]),
                legal_basis: lead
                    .resolved
                    .table
                    .distraint_legal_basis
                    .clone()
                    .unwrap_or_default(),
                claim_ids: ids,
            },
            Gate::DistraintCase => Action::DistraintCase {
                case_id: ids::distraint_case_id(&ids),
                step: number,
                balance: claims
                    .iter()
                    .filter_map(|c| c.balance.total())
                    .try_fold(Money::ZERO, Money::checked_add)
                    .unwrap_or(Money::ZERO),
                claim_ids: ids,
            },
            Gate::Meeting { .. } | Gate::TransferNotice => continue,
        };
        out.decisions.push(Decision {
            policy,
            reason,
            action,
        });
    }
}

pub(super) fn emit_restorations(
    out: &mut Decisions,
    restorations: &[(&ClaimState, PolicyRef)],
    today: BusinessDate,
) {
    let Some((lead, policy)) = restorations.first() else {
        return;
    };
    let claims: Vec<&ClaimState> = restorations.iter().map(|(c, _)| *c).collect();
    let ids = claim_ids(&claims);
    let suspended_on = lead.history.supply_suspended.unwrap_or(today);
    out.decisions.push(Decision {
        policy: policy.clone(),
        reason: "the claim no longer calls for closed supply: paid, written off, or under a plan or deferral".into(),
        action: Action::SupplyRestoration {
            restoration_id: ids::restoration_id(&ids, suspended_on),
            claim_ids: ids,
        },
    });
}

/// One notice before the due date per policy version for the debtor's claims falling due.
pub(super) fn emit_pre_due(
    out: &mut Decisions,
    groups: &BTreeMap<PolicyRef, Vec<&ClaimState>>,
    today: BusinessDate,
) {
    for (policy, claims) in groups {
        let ids = claim_ids(claims);
        let due = claims.iter().map(|c| c.due_date).min().unwrap_or(today);
        out.decisions.push(Decision {
            policy: policy.clone(),
            reason: format!("notice before the due date {due} (pre_due_notice, seed 001)"),
            action: Action::PreDueNotice {
                letter: Letter {
                    notification_id: ids::notification_id_on(
                        &ids,
                        "pre_due",
                        due,
                        templates::PRE_DUE_NOTICE,
                    ),
                    template: templates::PRE_DUE_NOTICE.to_owned(),
                    channels: Vec::new(),
                    office: claims.first().map(|c| c.office.clone()).unwrap_or_default(),
                },
                claim_ids: ids,
            },
        });
    }
}
