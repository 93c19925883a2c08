//! What a day's decisions for one debtor publish and record: every [`Action`] becomes its
//! events (through the outbox of the run's transaction), its letter
//! (`notifications.notification.requested.v1` with the decision's deterministic notification
//! id) and one history row per claim under a natural key.
//!
//! | action | events | history key |
//! |---|---|---|
//! | reminder | notification, `dunning.reminder.issued.v1` | `step:<n>` |
//! | fee | `dunning.fee.assessed.v1` | `fee:<fee_id>` |
//! | interest | `dunning.interest.assessed.v1` | `interest:<interest_id>` |
//! | meeting offer | notification (+ `reminder.issued` for a policy step) | `step:<n>` or `meeting_offer:<notification_id>` |
//! | caseworker alert | `dunning.caseworker.alerted.v1` | `step:<n>` or `alert:<alert_id>` |
//! | transfer notice, company final notice, supply notice | notification (+ `reminder.issued` for a policy step) | `step:<n>` or `transfer_notice:<notification_id>` |
//! | transfer | `dunning.claim.transferred.v1` and `dunning.claim.handed_over.v1` per claim, notification | `step:<n>` |
//! | supply suspension / restoration | `dunning.supply.suspension_requested.v1` / `restoration_requested.v1` | `step:<n>` / `restoration:<id>` |
//! | write-off proposal | `dunning.write_off.proposed.v1`, a `write_offs` row | `write_off:<id>` |
//! | transfer proposal, distraint case | a `collection_cases` row | `transfer_proposal:<id>` / `distraint_case:<id>` |
//! | plan offer (a kept claim), distraint notice | notification | `plan_offer:<notification_id>` / `distraint_notice:<notification_id>` |
//! | step skipped | — | `step:<n>` |
//!
//! `dunning.reminder.issued.v1` needs a step number ≥ 1, so letters a gate sends outside the
//! step sequence (a meeting offer before a fee, a missing transfer notice) go out as a
//! notification and a history entry only.
//!
//! A transfer needs the debtor's national id, name and address (from
//! `invoicing.debtor.updated.v1`). If they have not arrived, the transfer waits: it is left out
//! of the day's decisions (nothing recorded) and the debtor is looked at again the next day.
//!
//! Each transferred claim is published twice, from the one [`ClaimTransferred`]: the transfer
//! with the debtor's details (`dunning.claim.transferred.v1`, for the collection authority's
//! intake only) and the same without them (`dunning.claim.handed_over.v1`,
//! [`ClaimTransferred::handed_over`]), which invoicing, agreements and reporting consume. Both go
//! into the run's outbox in the same transaction, under the same history key: a day run again
//! publishes neither a second time.

use std::collections::BTreeMap;

use restance_bus::{Effects, HandlerError};
use restance_contracts::messages::{
    AddressProtection, CaseworkerAlerted, ClaimRef, ClaimTransferred, CollectionAuthority, Debtor,
    FeeAssessed, InterestAssessed, NotificationRequested, Recipient, Related, ReminderIssued,
    SupplyRestorationRequested, SupplySuspensionRequested, TransferredDebtor, WriteOffProposed,
    WriteOffReason,
};
use restance_kernel::{BusinessDate, Catalog, Currency};
use rust_decimal::Decimal;
use serde_json::json;

use crate::config::{LetterKind, LetterSettings};
use crate::debtors::LoadedDebtor;
use crate::domain::limitation::limitation_date;
use crate::domain::{
    Action, ClaimBalance, Decision, Decisions, Letter, Policies, Resolved, StepAction,
    TransferAuthority, TransferredClaim, next_steps,
};
use crate::letters::{LetterContext, letter_data};
use crate::store::queries::{
    CaseRow, ClaimRow, DISTRAINT, DebtorKey, HistoryRow, TRANSFER_PROPOSAL, WriteOffRow,
};

/// What the decisions of a chunk of debtors write: events for the outbox, history rows,
/// write-off proposals.
#[derive(Debug)]
pub struct DayOutput {
    /// Events and notifications.
    pub effects: Effects,
    /// History rows.
    pub history: Vec<HistoryRow>,
    /// Write-off proposals.
    pub write_offs: Vec<WriteOffRow>,
    /// Transfer proposals and distraint cases for the caseworkers.
    pub cases: Vec<CaseRow>,
    /// Decisions taken, by action name (for metrics).
    pub by_action: BTreeMap<&'static str, u64>,
}

impl DayOutput {
    /// Empty, for events with `source`.
    pub fn new(source: &str) -> Self {
        Self {
            effects: Effects::new(source),
            history: Vec::new(),
            write_offs: Vec::new(),
            cases: Vec::new(),
            by_action: BTreeMap::new(),
        }
    }

    /// Number of decisions.
    pub fn decisions(&self) -> u64 {
        self.by_action.values().sum()
    }
}

/// Turns decisions into events, letters and history.
#[derive(Debug, Clone, Copy)]
pub struct Publisher<'a> {
    /// The policies.
    pub policies: &'a Policies,
    /// The catalog.
    pub catalog: &'a Catalog,
    /// Letter settings.
    pub letters: &'a LetterSettings,
}

/// The contract's authority for the domain's.
pub fn collection_authority(a: TransferAuthority) -> CollectionAuthority {
    match a {
        TransferAuthority::Gaeldsstyrelsen => CollectionAuthority::Gaeldsstyrelsen,
        TransferAuthority::Skattestyrelsen => CollectionAuthority::Skattestyrelsen,
        TransferAuthority::StatensInnkrevingssentral => {
            CollectionAuthority::StatensInnkrevingssentral
        }
        TransferAuthority::Namsmannen => CollectionAuthority::Namsmannen,
        TransferAuthority::Inkasso => CollectionAuthority::Inkasso,
    }
}

/// `"1.00"`-style rate string for `dunning.interest.assessed.v1` (2 to 6 decimals).
pub fn rate_string(rate: Decimal) -> String {
    let mut r = rate.normalize();
    if r.scale() < 2 {
        r.rescale(2);
    } else if r.scale() > 6 {
        r = r.round_dp(6);
    }
    r.to_string()
}

fn claim_ref(c: &ClaimRow) -> ClaimRef {
    ClaimRef {
        claim_id: c.claim_id.clone(),
        invoice_id: c.invoice_id.clone(),
        source: c.source.clone(),
        municipality: c.municipality.clone(),
        category: c.category.clone(),
        debtor_id: c.debtor_id.clone(),
    }
}

fn history_key(action: &Action) -> String {
    match action {
        Action::Fee { fee_id, .. } => format!("fee:{fee_id}"),
        Action::Interest { interest_id, .. } => format!("interest:{interest_id}"),
        Action::SupplyRestoration { restoration_id, .. } => format!("restoration:{restoration_id}"),
        Action::WriteOffProposal { proposal_id, .. } => format!("write_off:{proposal_id}"),
        Action::TransferProposal { proposal_id, .. } => format!("transfer_proposal:{proposal_id}"),
        Action::DistraintCase { case_id, .. } => format!("distraint_case:{case_id}"),
        Action::CaseworkerAlert {
            step: None,
            alert_id,
            ..
        } => format!("alert:{alert_id}"),
        other => match (other.step(), other.letter()) {
            (Some(step), _) => format!("step:{step}"),
            (None, Some(letter)) => format!("{}:{}", other.name(), letter.notification_id),
            (None, None) => format!("{}:-", other.name()),
        },
    }
}

impl Publisher<'_> {
    /// Decides one debtor's day (pure).
    pub fn decide(&self, debtor: &LoadedDebtor, date: BusinessDate) -> Decisions {
        next_steps(&debtor.view(self.catalog), self.policies, date)
    }

    /// Records and publishes one debtor's decisions for `date`; returns the debtor's next
    /// action date (always after `date`). `details` are the debtor's details for transfers.
    pub fn apply(
        &self,
        debtor: &mut LoadedDebtor,
        mut decisions: Decisions,
        details: Option<&Debtor>,
        date: BusinessDate,
        out: &mut DayOutput,
    ) -> Result<Option<BusinessDate>, HandlerError> {
        let tomorrow = date.checked_add_days(1);
        let mut waits = false;
        if details.is_none()
            && decisions
                .decisions
                .iter()
                .any(|d| matches!(d.action, Action::Transfer { .. }))
        {
            decisions
                .decisions
                .retain(|d| !matches!(d.action, Action::Transfer { .. }));
            tracing::warn!(municipality = %debtor.key.0, debtor_id = %debtor.key.1,
                "a transfer waits: the debtor's details (invoicing.debtor.updated.v1) have not arrived");
            waits = true;
        }
        for problem in &decisions.problems {
            tracing::warn!(municipality = %debtor.key.0, debtor_id = %debtor.key.1, %problem,
                "a claim could not be decided");
        }
        let mut view = debtor.view(self.catalog);
        view.record(&decisions);
        debtor.take_back(&view);
        let mut next_of: BTreeMap<&str, Option<BusinessDate>> = decisions
            .next_action
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect();
        if waits {
            for v in next_of.values_mut() {
                *v = [*v, tomorrow].into_iter().flatten().min();
            }
        }
        for claim in &mut debtor.claims {
            claim.next_action_date = next_of
                .get(claim.claim_id.as_str())
                .copied()
                .flatten()
                .map(|d| if d <= date { tomorrow.unwrap_or(d) } else { d });
        }
        for (position, decision) in decisions.decisions.iter().enumerate() {
            self.publish(debtor, decision, position, details, date, out)?;
        }
        let next = debtor
            .claims
            .iter()
            .filter_map(|c| c.next_action_date)
            .min();
        Ok(next)
    }

    fn resolve<'p>(
        &'p self,
        debtor: &LoadedDebtor,
        claim: &ClaimRow,
        date: BusinessDate,
    ) -> Option<(Resolved<'p>, &'p str)> {
        let resolved = self
            .policies
            .resolve(&debtor.key.0, &claim.category, date)
            .ok()?;
        let jurisdiction = self
            .policies
            .policies
            .get(resolved.policy_id)
            .map(|p| p.jurisdiction.as_str())?;
        Some((resolved, jurisdiction))
    }

    fn publish(
        &self,
        debtor: &mut LoadedDebtor,
        decision: &Decision,
        position: usize,
        details: Option<&Debtor>,
        date: BusinessDate,
        out: &mut DayOutput,
    ) -> Result<(), HandlerError> {
        let action = &decision.action;
        let (ids, policy) = record(decision, position, date, out)?;
        let claims: Vec<ClaimRow> = debtor
            .claims
            .iter()
            .filter(|c| ids.contains(&c.claim_id))
            .cloned()
            .collect();
        let Some(lead) = claims.first() else {
            return Err(HandlerError::Other(format!(
                "a decision names claims that were not loaded: {ids:?}"
            )));
        };
        let Some((resolved, jurisdiction)) = self.resolve(debtor, lead, date) else {
            return Err(HandlerError::Other(format!(
                "claim {}: no policy in force on {date} although one decided",
                lead.claim_id
            )));
        };
        if let Some(letter) = action.letter() {
            self.letter(
                debtor,
                action,
                letter,
                &claims,
                &resolved,
                jurisdiction,
                date,
                out,
            )?;
        }
        self.announce(
            debtor,
            decision,
            details,
            &claims,
            lead,
            &resolved,
            jurisdiction,
            policy,
            date,
            out,
        )
    }

    // Long: one arm per kind of action (`Action`), each the event it publishes; read as a table.
    /// The event of one decision (the letter is requested before, in [`Self::publish`]).
    #[allow(clippy::too_many_arguments)]
    fn announce(
        &self,
        debtor: &mut LoadedDebtor,
        decision: &Decision,
        details: Option<&Debtor>,
        claims: &[ClaimRow],
        lead: &ClaimRow,
        resolved: &Resolved<'_>,
        jurisdiction: &str,
        policy: String,
        date: BusinessDate,
        out: &mut DayOutput,
    ) -> Result<(), HandlerError> {
        let action = &decision.action;
        let (municipality, debtor_id) = (debtor.key.0.clone(), debtor.key.1.clone());
        let currency = lead.currency;
        let category = lead.category.clone();
        let fx = &mut out.effects;
        match action {
            Action::Reminder {
                step,
                claim_ids,
                letter,
                fee,
                ..
            } => fx.emit(ReminderIssued {
                notification_id: letter.notification_id.clone(),
                municipality,
                debtor_id,
                claim_ids: claim_ids.clone(),
                step: *step,
                template: letter.template.clone(),
                fee: fee.as_ref().map(|f| f.amount),
                currency,
                issued_date: date,
                policy,
            })?,
            Action::MeetingOffer {
                step: Some(step),
                claim_ids,
                letter,
            }
            | Action::TransferNotice {
                step: Some(step),
                claim_ids,
                letter,
            }
            | Action::CompanyFinalNotice {
                step,
                claim_ids,
                letter,
                ..
            }
            | Action::SupplySuspensionNotice {
                step,
                claim_ids,
                letter,
            } => fx.emit(ReminderIssued {
                notification_id: letter.notification_id.clone(),
                municipality,
                debtor_id,
                claim_ids: claim_ids.clone(),
                step: *step,
                template: letter.template.clone(),
                fee: None,
                currency,
                issued_date: date,
                policy,
            })?,
            Action::MeetingOffer { step: None, .. } | Action::TransferNotice { step: None, .. } => {
            }
            Action::Fee {
                fee_id,
                claim_id,
                step,
                amount,
                currency,
                legal_basis,
            } => fx.emit(FeeAssessed {
                fee_id: fee_id.clone(),
                claim_id: claim_id.clone(),
                debtor_id,
                municipality,
                step: *step,
                amount: *amount,
                currency: *currency,
                assessed_date: date,
                legal_basis: legal_basis.clone(),
            })?,
            Action::Interest {
                interest_id,
                claim_id,
                period_from,
                period_to,
                rate,
                amount,
                currency,
                ..
            } => fx.emit(InterestAssessed {
                interest_id: interest_id.clone(),
                claim_id: claim_id.clone(),
                debtor_id,
                municipality,
                period_from: *period_from,
                period_to: *period_to,
                rate: rate_string(*rate),
                amount: *amount,
                currency: *currency,
                assessed_date: date,
            })?,
            Action::CaseworkerAlert {
                alert_id,
                claim_ids,
                ..
            } => fx.emit(CaseworkerAlerted {
                alert_id: alert_id.clone(),
                municipality,
                debtor_id,
                category,
                claim_ids: claim_ids.clone(),
                reason: decision.reason.clone(),
                alerted_date: date,
            })?,
            Action::Transfer {
                authority,
                claims: transferred,
                ..
            } => {
                let Some(details) = details else {
                    return Err(HandlerError::Other(
                        "a transfer without the debtor's details".into(),
                    ));
                };
                for t in transferred {
                    let Some(row) = claims.iter().find(|c| c.claim_id == t.claim_id) else {
                        continue;
                    };
                    let event = self.transfer_event(
                        debtor,
                        row,
                        t,
                        *authority,
                        details,
                        resolved,
                        jurisdiction,
                        date,
                    );
                    // For Restance's services: the same transfer without the debtor.
                    let handed_over = event.handed_over();
                    out.effects.emit(event)?;
                    out.effects.emit(handed_over)?;
                }
            }
            Action::SupplySuspension {
                suspension_id,
                claim_ids,
                ..
            } => {
                let notice_date = lead.history.supply_notice_sent.unwrap_or(date);
                fx.emit(SupplySuspensionRequested {
                    request_id: suspension_id.clone(),
                    municipality,
                    debtor_id,
                    category,
                    claim_ids: claim_ids.clone(),
                    notice_date,
                    requested_date: date,
                    reason: decision.reason.clone(),
                })?;
                for c in &mut debtor.claims {
                    if claim_ids.contains(&c.claim_id) {
                        c.suspension_id = Some(suspension_id.clone());
                    }
                }
            }
            Action::SupplyRestoration {
                restoration_id,
                claim_ids,
            } => {
                fx.emit(SupplyRestorationRequested {
                    request_id: restoration_id.clone(),
                    suspension_request_id: lead.suspension_id.clone().unwrap_or_default(),
                    municipality,
                    debtor_id,
                    category,
                    requested_date: date,
                    reason: decision.reason.clone(),
                })?;
                for c in &mut debtor.claims {
                    if claim_ids.contains(&c.claim_id) {
                        c.suspension_id = None;
                    }
                }
            }
            Action::WriteOffProposal {
                proposal_id,
                limitation_date,
                balance,
                ..
            } => write_off_proposed(
                out,
                lead,
                municipality,
                debtor_id,
                currency,
                proposal_id,
                *limitation_date,
                balance,
                date,
            )?,
            Action::TransferProposal {
                proposal_id,
                claim_ids,
                grounds,
                ..
            } => out.cases.push(case_row(
                proposal_id,
                TRANSFER_PROPOSAL,
                &debtor.key,
                claims,
                claim_ids,
                json!({"reason": decision.reason, "policy": policy, "claims": grounds}),
                date,
            )),
            Action::DistraintCase {
                case_id, claim_ids, ..
            } => {
                let notice = lead.history.distraint_notice_sent;
                out.cases.push(case_row(
                    case_id,
                    DISTRAINT,
                    &debtor.key,
                    claims,
                    claim_ids,
                    json!({"reason": decision.reason, "policy": policy, "notice_sent": notice,
                           "legal_basis": resolved.table.distraint_legal_basis}),
                    date,
                ));
            }
            // a letter only (requested in `publish`)
            Action::PlanOffer { .. }
            | Action::PreDueNotice { .. }
            | Action::DistraintNotice { .. } => {}
            Action::StepSkipped { .. } => {}
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn letter(
        &self,
        debtor: &LoadedDebtor,
        action: &Action,
        letter: &Letter,
        claims: &[ClaimRow],
        resolved: &Resolved<'_>,
        jurisdiction: &str,
        date: BusinessDate,
        out: &mut DayOutput,
    ) -> Result<(), HandlerError> {
        let Some(municipality) = self.catalog.municipality(&debtor.key.0) else {
            return Err(HandlerError::Other(format!(
                "municipality {} is not in the catalog",
                debtor.key.0
            )));
        };
        let ctx = LetterContext {
            date,
            municipality,
            catalog: self.catalog,
            resolved,
            jurisdiction,
            settings: self.letters,
            kind: debtor.kind,
        };
        let refs: Vec<&ClaimRow> = claims.iter().collect();
        let data = letter_data(&ctx, action, &letter.template, &refs);
        out.effects.emit(NotificationRequested {
            notification_id: letter.notification_id.clone(),
            municipality: debtor.key.0.clone(),
            office: (!letter.office.is_empty()).then(|| letter.office.clone()),
            template: letter.template.clone(),
            language: None,
            recipient: Recipient::Debtor {
                debtor_id: debtor.key.1.clone(),
            },
            data,
            related: Related {
                service: Some("dunning".into()),
                claim_ids: claims.iter().map(|c| c.claim_id.clone()).collect(),
                debtor_id: Some(debtor.key.1.clone()),
                case_id: None,
            },
            attachments: Vec::new(),
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn transfer_event(
        &self,
        debtor: &LoadedDebtor,
        row: &ClaimRow,
        t: &TransferredClaim,
        authority: TransferAuthority,
        details: &Debtor,
        resolved: &Resolved<'_>,
        jurisdiction: &str,
        date: BusinessDate,
    ) -> ClaimTransferred {
        let authority = collection_authority(authority);
        let protection = details.address_protection;
        let address = match protection {
            AddressProtection::StrictlyConfidential => None,
            AddressProtection::Confidential if authority.is_private() => None,
            _ => Some(details.address.clone()),
        };
        let holds: Vec<&crate::domain::Hold> = debtor
            .holds
            .iter()
            .map(|h| &h.hold)
            .filter(|h| h.covers(&row.claim_id))
            .collect();
        let state = row.state(crate::debtors::flags(self.catalog, &row.category));
        let limitation = limitation_date(
            &state,
            holds.into_iter(),
            resolved.version.limitation_years,
            date,
        )
        .unwrap_or(date);
        let notice = t.notice_sent;
        let mut reminder_dates: Vec<BusinessDate> = row
            .history
            .steps
            .iter()
            .filter(|s| !s.skipped)
            .filter(|s| {
                usize::try_from(s.step)
                    .ok()
                    .and_then(|n| resolved.version.steps.get(n.saturating_sub(1)))
                    .is_some_and(|step| {
                        matches!(
                            step.action,
                            StepAction::Reminder { .. }
                                | StepAction::TransferNotice { .. }
                                | StepAction::CompanyFinalNotice { .. }
                        )
                    })
            })
            .map(|s| s.date)
            .filter(|d| *d >= row.due_date && *d <= notice)
            .collect();
        reminder_dates.sort();
        reminder_dates.dedup();
        let total = t.balance.total().unwrap_or(t.balance.principal);
        ClaimTransferred {
            transfer_id: t.transfer_id.clone(),
            claim: claim_ref(row),
            authority,
            debtor: TransferredDebtor {
                id: details.id.clone(),
                kind: details.kind,
                national_id: details.national_id.clone(),
                name: details.name.clone(),
                address,
                address_protection: protection,
            },
            currency: t.currency,
            principal: t.balance.principal,
            fees: t.balance.fees,
            interest: t.balance.interest,
            total,
            due_date: t.due_date,
            limitation_date: limitation,
            reminder_dates,
            notice_date: notice.max(t.due_date),
            transferred_date: date,
            legal_basis: self.letters.legal_basis(
                jurisdiction,
                LetterKind::Transfer,
                &resolved.table.fee_legal_basis,
            ),
        }
    }
}

/// Counts the decision and records it in the history of each claim it names; returns those claim
/// ids and the policy version as the history writes it.
fn record(
    decision: &Decision,
    position: usize,
    date: BusinessDate,
    out: &mut DayOutput,
) -> Result<(Vec<String>, String), HandlerError> {
    let action = &decision.action;
    *out.by_action.entry(action.name()).or_default() += 1;
    metrics::counter!("restance_dunning_decisions_total", "action" => action.name()).increment(1);
    let policy = format!("{}@{}", decision.policy.id, decision.policy.version);
    let ids: Vec<String> = action.claim_ids().into_iter().map(str::to_owned).collect();
    let detail = serde_json::to_string(action)
        .map_err(|e| HandlerError::Other(format!("cannot serialise a decision: {e}")))?;
    let key = history_key(action);
    for id in &ids {
        out.history.push(HistoryRow {
            claim_id: id.clone(),
            entry_key: key.clone(),
            business_date: date,
            position: i64::try_from(position).unwrap_or(i64::MAX),
            action: action.name().to_owned(),
            step: action.step(),
            policy: policy.clone(),
            reason: decision.reason.clone(),
            detail: detail.clone(),
        });
    }
    Ok((ids, policy))
}

/// `dunning.write_off.proposed.v1` and the stored proposal.
#[allow(clippy::too_many_arguments)]
fn write_off_proposed(
    out: &mut DayOutput,
    lead: &ClaimRow,
    municipality: String,
    debtor_id: String,
    currency: Currency,
    proposal_id: &str,
    limitation_date: BusinessDate,
    balance: &ClaimBalance,
    date: BusinessDate,
) -> Result<(), HandlerError> {
    let total = balance.total().unwrap_or(balance.principal);
    out.effects.emit(WriteOffProposed {
        write_off_id: proposal_id.to_owned(),
        claim: claim_ref(lead),
        reason: WriteOffReason::Limitation,
        limitation_date,
        balance: total,
        currency,
        proposed_date: date,
    })?;
    out.write_offs.push(WriteOffRow {
        write_off_id: proposal_id.to_owned(),
        claim_id: lead.claim_id.clone(),
        municipality,
        debtor_id,
        limitation_date,
        balance: total,
        currency,
        proposed_date: date,
        state: "proposed".into(),
        approved_by: None,
        approved_at: None,
        approved_date: None,
    });
    Ok(())
}

/// A caseworker's case (transfer proposal or distraint) of the decision's claims.
fn case_row(
    case_id: &str,
    kind: &str,
    key: &DebtorKey,
    claims: &[ClaimRow],
    claim_ids: &[String],
    grounds: serde_json::Value,
    date: BusinessDate,
) -> CaseRow {
    let mut categories: Vec<String> = claims.iter().map(|c| c.category.clone()).collect();
    categories.sort();
    categories.dedup();
    let balance = claims
        .iter()
        .filter_map(|c| c.balance.total())
        .try_fold(
            restance_kernel::Money::ZERO,
            restance_kernel::Money::checked_add,
        )
        .unwrap_or(restance_kernel::Money::ZERO);
    CaseRow {
        case_id: case_id.to_owned(),
        kind: kind.to_owned(),
        municipality: key.0.clone(),
        debtor_id: key.1.clone(),
        office: claims.first().map(|c| c.office.clone()).unwrap_or_default(),
        categories,
        claim_ids: claim_ids.to_vec(),
        currency: claims.first().map_or(Currency::Dkk, |c| c.currency),
        balance,
        opened_date: date,
        state: "open".into(),
        grounds,
        decided_by: None,
        decided_date: None,
        decision: None,
        reason: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_have_two_to_six_decimals() {
        assert_eq!(rate_string(Decimal::new(1, 0)), "1.00");
        assert_eq!(rate_string(Decimal::new(975, 2)), "9.75");
        assert_eq!(rate_string(Decimal::new(12, 0)), "12.00");
        assert_eq!(rate_string(Decimal::new(1_234_567_891, 9)), "1.234568");
    }
}
