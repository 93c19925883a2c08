//! From our dunning service: fees and interest to add to a claim's balance (for invoicing),
//! reminders issued, claims transferred to state collection (the transfer for the authority, and
//! the same without the debtor's details for Restance's services), supply suspension requests,
//! caseworker alerts, write-off proposals and approvals, the municipality's recorded distraints
//! and the campaigns sent.

use restance_kernel::BusinessDate;
use restance_kernel::{Currency, Money, NationalId, PartyKind, Redacted};
use serde::{Deserialize, Serialize};

use crate::check::Problems;
use crate::messages::invoicing::ClaimRef;
use crate::messages::party::{Address, AddressProtection};
use crate::{Message, Problem, Validate};

/// How many claims one dunning event may name.
const MAX_CLAIMS: usize = 500;

fn claim_ids(p: &mut Problems, ids: &[String]) {
    if ids.is_empty() {
        p.add("data.claim_ids", "must name at least one claim");
    }
    if ids.len() > MAX_CLAIMS {
        p.add(
            "data.claim_ids",
            format!("must list at most {MAX_CLAIMS} claims"),
        );
    }
    for (i, id) in ids.iter().enumerate() {
        p.id(&format!("data.claim_ids[{i}]"), id);
    }
}

/// `dunning.fee.assessed.v1`: a reminder fee is added to a claim.
///
/// Invoicing treats `(claim_id, step)` as the natural key: one fee per claim and dunning step, even
/// if the fee is assessed twice with different `fee_id`s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeAssessed {
    /// Dunning's id for the fee.
    pub fee_id: String,
    /// The claim the fee is added to (from `invoicing.claim.opened.v1`).
    pub claim_id: String,
    /// The debtor, as in the claim.
    pub debtor_id: String,
    /// The claim's municipality.
    pub municipality: String,
    /// The dunning step that caused the fee (1 = first reminder).
    pub step: u32,
    /// Greater than zero and within the legal maximum (checked by dunning's policy).
    pub amount: Money,
    /// The claim's currency.
    pub currency: Currency,
    /// The business date the fee was assessed.
    pub assessed_date: BusinessDate,
    /// The rule cited in the letter, e.g. `gebyrloven § 6, stk. 1`.
    pub legal_basis: String,
}

impl Message for FeeAssessed {
    const TYPE: &'static str = "dunning.fee.assessed.v1";
}

impl Validate for FeeAssessed {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.fee_id", &self.fee_id);
        p.id("data.claim_id", &self.claim_id);
        p.id("data.debtor_id", &self.debtor_id);
        p.id("data.municipality", &self.municipality);
        if self.step == 0 {
            p.add("data.step", "must be 1 or more");
        }
        p.positive("data.amount", self.amount);
        p.text("data.legal_basis", &self.legal_basis);
        p.into_vec()
    }
}

/// `dunning.interest.assessed.v1`: default interest for a period is added to a claim.
///
/// Invoicing treats `interest_id` as the natural key; dunning derives it from the claim and period
/// so that a re-run of the same day produces the same id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterestAssessed {
    /// Dunning's id for this interest charge (deterministic per claim and period).
    pub interest_id: String,
    /// The claim the interest is added to.
    pub claim_id: String,
    /// The debtor, as in the claim.
    pub debtor_id: String,
    /// The claim's municipality.
    pub municipality: String,
    /// First day of the interest period.
    pub period_from: BusinessDate,
    /// Last day of the interest period (not before `period_from`).
    pub period_to: BusinessDate,
    /// The rate applied, in percent, as a decimal string: `"1.00"` = 1 % (per the policy's unit,
    /// e.g. per started month in Denmark, per year in Norway). 2 to 6 decimals.
    pub rate: String,
    /// The interest amount, greater than zero.
    pub amount: Money,
    /// The claim's currency.
    pub currency: Currency,
    /// The business date the interest was assessed.
    pub assessed_date: BusinessDate,
}

impl Message for InterestAssessed {
    const TYPE: &'static str = "dunning.interest.assessed.v1";
}

impl Validate for InterestAssessed {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.interest_id", &self.interest_id);
        p.id("data.claim_id", &self.claim_id);
        p.id("data.debtor_id", &self.debtor_id);
        p.id("data.municipality", &self.municipality);
        p.not_before(
            "data.period_to",
            self.period_to,
            self.period_from,
            "period_from",
        );
        if !is_percent(&self.rate) {
            p.add(
                "data.rate",
                "must be a percentage like \"1.00\" (1 to 3 digits, '.', 2 to 6 decimals)",
            );
        }
        p.positive("data.amount", self.amount);
        p.into_vec()
    }
}

/// `dunning.reminder.issued.v1`: a reminder (or notice, offer) went out for one or more claims of
/// a debtor; one letter and at most one fee however many claims it names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderIssued {
    /// The notification requested for it (deterministic from the claims and the step).
    pub notification_id: String,
    /// Municipality code.
    pub municipality: String,
    /// The debtor.
    pub debtor_id: String,
    /// The claims the letter names.
    pub claim_ids: Vec<String>,
    /// The dunning step (1 = first reminder).
    pub step: u32,
    /// The template used, e.g. `reminder_2`.
    pub template: String,
    /// The fee charged with it, if any (on one of the claims).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee: Option<Money>,
    /// The claims' currency.
    pub currency: Currency,
    /// The business date.
    pub issued_date: BusinessDate,
    /// The policy and version that decided it, e.g. `dk-municipal@1`.
    pub policy: String,
}

impl Message for ReminderIssued {
    const TYPE: &'static str = "dunning.reminder.issued.v1";
}

impl Validate for ReminderIssued {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.notification_id", &self.notification_id);
        p.id("data.municipality", &self.municipality);
        p.id("data.debtor_id", &self.debtor_id);
        claim_ids(&mut p, &self.claim_ids);
        if self.step == 0 {
            p.add("data.step", "must be 1 or more");
        }
        p.id("data.template", &self.template);
        if let Some(fee) = self.fee {
            p.positive("data.fee", fee);
        }
        p.id("data.policy", &self.policy);
        p.into_vec()
    }
}

/// The public collection authority a claim is transferred to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CollectionAuthority {
    /// Denmark: Gældsstyrelsen (the Danish debt collection agency, formerly SKAT Inddrivelse).
    Gaeldsstyrelsen,
    /// Greenland: Skattestyrelsen (Akileraartarnermut Aqutsisoqarfik), the joint public collector.
    Skattestyrelsen,
    /// Norway: Statens innkrevingssentral.
    StatensInnkrevingssentral,
    /// Norway: the municipality's own collection (kommunal skatteoppkrever / namsmann).
    Namsmannen,
    /// A private collection agency (inkasso), for private-law claims such as rent. A private
    /// party: a confidential address is never sent to it either.
    Inkasso,
}

impl CollectionAuthority {
    /// A private party (not a public authority): no protected address of any level may reach it.
    pub fn is_private(self) -> bool {
        matches!(self, CollectionAuthority::Inkasso)
    }
}

/// The debtor as the collection authority needs them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferredDebtor {
    /// The upstream debtor id.
    pub id: String,
    /// Person or company.
    pub kind: PartyKind,
    /// CPR/CVR or fødselsnummer/org.nr.
    pub national_id: Redacted<NationalId>,
    /// Name.
    pub name: Redacted<String>,
    /// The address; absent when it is strictly confidential (it never leaves the system), and
    /// absent when it is confidential and the authority is a private party (inkasso).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    /// The debtor's address protection, so the authority applies its own routine.
    pub address_protection: AddressProtection,
}

/// `dunning.claim.transferred.v1`: a claim is handed to state collection (oversendelse til
/// inddrivelse); invoicing marks it transferred and it leaves municipal dunning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimTransferred {
    /// Dunning's id for the transfer (deterministic per claim).
    pub transfer_id: String,
    /// Which claim.
    #[serde(flatten)]
    pub claim: ClaimRef,
    /// Who collects it from now on.
    pub authority: CollectionAuthority,
    /// The debtor.
    pub debtor: TransferredDebtor,
    /// The claim's currency.
    pub currency: Currency,
    /// Open principal.
    pub principal: Money,
    /// Open fees.
    pub fees: Money,
    /// Open interest.
    pub interest: Money,
    /// principal + fees + interest; at least the jurisdiction's minimum.
    pub total: Money,
    /// The invoice's payment deadline.
    pub due_date: BusinessDate,
    /// When the claim becomes statute-barred (as dunning computed it).
    pub limitation_date: BusinessDate,
    /// The dates reminders were sent.
    pub reminder_dates: Vec<BusinessDate>,
    /// The date of the written notice of transfer.
    pub notice_date: BusinessDate,
    /// The business date of the transfer.
    pub transferred_date: BusinessDate,
    /// The legal basis of the claim and the transfer.
    pub legal_basis: String,
}

impl Message for ClaimTransferred {
    const TYPE: &'static str = "dunning.claim.transferred.v1";
}

impl Validate for ClaimTransferred {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.transfer_id", &self.transfer_id);
        self.claim.check(&mut p);
        p.id("data.debtor.id", &self.debtor.id);
        if self.debtor.national_id.expose().party_kind() != self.debtor.kind {
            p.add(
                "data.debtor.national_id",
                "must be a national id of the debtor's kind",
            );
        }
        p.text("data.debtor.name", self.debtor.name.expose());
        match (&self.debtor.address, self.debtor.address_protection) {
            (Some(_), AddressProtection::StrictlyConfidential) => p.add(
                "data.debtor.address",
                "must be absent for a strictly confidential address",
            ),
            (Some(_), AddressProtection::Confidential) if self.authority.is_private() => p.add(
                "data.debtor.address",
                "must be absent for a confidential address sent to a private collection agency",
            ),
            (Some(address), _) => address.check(&mut p, "data.debtor.address"),
            (None, _) => {}
        }
        p.not_negative("data.principal", self.principal);
        p.not_negative("data.fees", self.fees);
        p.not_negative("data.interest", self.interest);
        p.positive("data.total", self.total);
        p.sum_equals(
            "data.total",
            self.total,
            [self.principal, self.fees, self.interest],
            "principal, fees and interest",
        );
        p.not_before(
            "data.notice_date",
            self.notice_date,
            self.due_date,
            "due_date",
        );
        p.not_before(
            "data.transferred_date",
            self.transferred_date,
            self.notice_date,
            "notice_date",
        );
        if self.reminder_dates.windows(2).any(|w| w[1] < w[0]) {
            p.add("data.reminder_dates", "must be in date order");
        }
        if self
            .reminder_dates
            .iter()
            .any(|d| *d > self.notice_date || *d < self.due_date)
        {
            p.add(
                "data.reminder_dates",
                "must lie between due_date and notice_date",
            );
        }
        if self.limitation_date <= self.transferred_date {
            p.add(
                "data.limitation_date",
                "must be after transferred_date (a statute-barred claim cannot be transferred)",
            );
        }
        p.text("data.legal_basis", &self.legal_basis);
        p.into_vec()
    }
}

impl ClaimTransferred {
    /// The same transfer as Restance's own services receive it ([`ClaimHandedOver`]): the claim,
    /// the authority, the total and the date — none of the debtor's details.
    pub fn handed_over(&self) -> ClaimHandedOver {
        ClaimHandedOver {
            transfer_id: self.transfer_id.clone(),
            claim: self.claim.clone(),
            authority: self.authority,
            currency: self.currency,
            total: self.total,
            transferred_date: self.transferred_date,
        }
    }
}

/// `dunning.claim.handed_over.v1` (internal): a claim was handed to state collection — the
/// transfer without the debtor's details, for Restance's own services (invoicing marks the claim
/// transferred, agreements closes its plan or deferral, reporting counts it transferred).
///
/// Dunning publishes one with every `dunning.claim.transferred.v1`, in the same transaction and
/// with the same `transfer_id` ([`ClaimTransferred::handed_over`]); the transfer itself, with the
/// national id, name and address, goes only to the collection authority's intake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimHandedOver {
    /// Dunning's id for the transfer (deterministic per claim), as in the transfer.
    pub transfer_id: String,
    /// Which claim.
    #[serde(flatten)]
    pub claim: ClaimRef,
    /// Who collects it from now on.
    pub authority: CollectionAuthority,
    /// The claim's currency.
    pub currency: Currency,
    /// What was transferred: principal + fees + interest.
    pub total: Money,
    /// The business date of the transfer.
    pub transferred_date: BusinessDate,
}

impl Message for ClaimHandedOver {
    const TYPE: &'static str = "dunning.claim.handed_over.v1";
}

impl Validate for ClaimHandedOver {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.transfer_id", &self.transfer_id);
        self.claim.check(&mut p);
        p.positive("data.total", self.total);
        p.into_vec()
    }
}

/// `dunning.caseworker.alerted.v1`: the social caseworker must be involved before hard steps on a
/// vulnerable family's arrears (daycare, family area).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseworkerAlerted {
    /// Deterministic per debtor and claims.
    pub alert_id: String,
    /// Municipality code.
    pub municipality: String,
    /// The debtor.
    pub debtor_id: String,
    /// The arrears category that requires it.
    pub category: String,
    /// The claims concerned.
    pub claim_ids: Vec<String>,
    /// Why, in words (no personal data).
    pub reason: String,
    /// The business date.
    pub alerted_date: BusinessDate,
}

impl Message for CaseworkerAlerted {
    const TYPE: &'static str = "dunning.caseworker.alerted.v1";
}

impl Validate for CaseworkerAlerted {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.alert_id", &self.alert_id);
        p.id("data.municipality", &self.municipality);
        p.id("data.debtor_id", &self.debtor_id);
        p.id("data.category", &self.category);
        claim_ids(&mut p, &self.claim_ids);
        p.text("data.reason", &self.reason);
        p.into_vec()
    }
}

/// `dunning.distraint.recorded.v1`: a caseworker recorded the municipality's own distraint
/// (udlæg) for a debtor's priority claims (property tax): the distraint case is closed as
/// recorded, and the claims stay with the municipality under distraint (reporting shows them in
/// their own state and counts the distraint among the measures taken). No personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DistraintRecorded {
    /// The distraint case (`dst-…`): the natural key, one recorded distraint per case.
    pub distraint_id: String,
    /// Municipality code.
    pub municipality: String,
    /// The debtor.
    pub debtor_id: String,
    /// The claims under distraint (never empty).
    pub claim_ids: Vec<String>,
    /// The day the distraint was made (limitation runs again from it).
    pub recorded_date: BusinessDate,
    /// The rule the distraint rests on, as cited in the notice before distraint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<String>,
}

impl Message for DistraintRecorded {
    const TYPE: &'static str = "dunning.distraint.recorded.v1";
}

impl Validate for DistraintRecorded {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.distraint_id", &self.distraint_id);
        p.id("data.municipality", &self.municipality);
        p.id("data.debtor_id", &self.debtor_id);
        claim_ids(&mut p, &self.claim_ids);
        if let Some(basis) = &self.legal_basis {
            p.text("data.legal_basis", basis);
        }
        p.into_vec()
    }
}

/// The most debtors one campaign may name.
pub const MAX_CAMPAIGN_DEBTORS: usize = 5000;

/// What a campaign is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignKind {
    /// A notice to companies in arrears.
    CompanyNotice,
    /// An invitation to the settlement office.
    SettlementVisit,
    /// A drive for direct debit (Betalingsservice/AvtaleGiro).
    DirectDebit,
    /// General information.
    Information,
}

impl CampaignKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignKind::CompanyNotice => "company_notice",
            CampaignKind::SettlementVisit => "settlement_visit",
            CampaignKind::DirectDebit => "direct_debit",
            CampaignKind::Information => "information",
        }
    }
}

/// One debtor a campaign was sent to, with the claims that put them in the selection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignDebtor {
    /// The debtor.
    pub debtor_id: String,
    /// The debtor's claims in the campaign's selection (never empty).
    pub claim_ids: Vec<String>,
}

/// `dunning.campaign.sent.v1`: a second caseworker approved a campaign and dunning sent one
/// notice per debtor (in the same transaction). Reporting counts it among the measures taken and
/// shows its outcome (paid, agreed, no response). No personal data: debtor and claim ids only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignSent {
    /// The campaign (`cmp-…`): the natural key, a campaign is sent once.
    pub campaign_id: String,
    /// Municipality code.
    pub municipality: String,
    /// What kind of campaign.
    pub kind: CampaignKind,
    /// The business date it was sent (approved).
    pub sent_date: BusinessDate,
    /// The debtors it was sent to (1 to [`MAX_CAMPAIGN_DEBTORS`]).
    pub debtors: Vec<CampaignDebtor>,
}

impl Message for CampaignSent {
    const TYPE: &'static str = "dunning.campaign.sent.v1";
}

impl Validate for CampaignSent {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.campaign_id", &self.campaign_id);
        p.id("data.municipality", &self.municipality);
        if self.debtors.is_empty() {
            p.add("data.debtors", "must name at least one debtor");
        }
        if self.debtors.len() > MAX_CAMPAIGN_DEBTORS {
            p.add(
                "data.debtors",
                format!("must name at most {MAX_CAMPAIGN_DEBTORS} debtors"),
            );
        }
        for (i, d) in self.debtors.iter().enumerate() {
            p.id(&format!("data.debtors[{i}].debtor_id"), &d.debtor_id);
            let path = format!("data.debtors[{i}].claim_ids");
            if d.claim_ids.is_empty() {
                p.add(path.clone(), "must name at least one claim");
            }
            if d.claim_ids.len() > MAX_CLAIMS {
                p.add(
                    path.clone(),
                    format!("must list at most {MAX_CLAIMS} claims"),
                );
            }
            for (j, id) in d.claim_ids.iter().enumerate() {
                p.id(&format!("{path}[{j}]"), id);
            }
        }
        p.into_vec()
    }
}

/// `dunning.supply.suspension_requested.v1`: ask the utility to close water/heat supply, after a
/// broken agreement and a written notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplySuspensionRequested {
    /// Deterministic per debtor, claims and notice.
    pub request_id: String,
    /// Municipality code.
    pub municipality: String,
    /// The debtor.
    pub debtor_id: String,
    /// `water` or `heat` (a category that allows closure).
    pub category: String,
    /// The claims in arrears.
    pub claim_ids: Vec<String>,
    /// The date of the written notice.
    pub notice_date: BusinessDate,
    /// The business date of the request.
    pub requested_date: BusinessDate,
    /// Why, in words.
    pub reason: String,
}

impl Message for SupplySuspensionRequested {
    const TYPE: &'static str = "dunning.supply.suspension_requested.v1";
}

impl Validate for SupplySuspensionRequested {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.request_id", &self.request_id);
        p.id("data.municipality", &self.municipality);
        p.id("data.debtor_id", &self.debtor_id);
        p.id("data.category", &self.category);
        claim_ids(&mut p, &self.claim_ids);
        p.not_before(
            "data.requested_date",
            self.requested_date,
            self.notice_date,
            "notice_date",
        );
        p.text("data.reason", &self.reason);
        p.into_vec()
    }
}

/// `dunning.supply.restoration_requested.v1`: the arrears are paid or an agreement is in force
/// again; ask the utility to restore supply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplyRestorationRequested {
    /// Deterministic per suspension.
    pub request_id: String,
    /// The suspension request it undoes.
    pub suspension_request_id: String,
    /// Municipality code.
    pub municipality: String,
    /// The debtor.
    pub debtor_id: String,
    /// `water` or `heat`.
    pub category: String,
    /// The business date of the request.
    pub requested_date: BusinessDate,
    /// Why, in words.
    pub reason: String,
}

impl Message for SupplyRestorationRequested {
    const TYPE: &'static str = "dunning.supply.restoration_requested.v1";
}

impl Validate for SupplyRestorationRequested {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.request_id", &self.request_id);
        p.id("data.suspension_request_id", &self.suspension_request_id);
        p.id("data.municipality", &self.municipality);
        p.id("data.debtor_id", &self.debtor_id);
        p.id("data.category", &self.category);
        p.text("data.reason", &self.reason);
        p.into_vec()
    }
}

/// Why a write-off is proposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteOffReason {
    /// The claim is statute-barred (forældet): no legal basis for collection is left.
    Limitation,
}

/// `dunning.write_off.proposed.v1`: a claim has reached its limitation date; a caseworker must
/// approve the write-off (`POST /api/v1/write-offs/{id}/approve`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteOffProposed {
    /// The proposal's id (deterministic per claim and limitation date).
    pub write_off_id: String,
    /// Which claim.
    #[serde(flatten)]
    pub claim: ClaimRef,
    /// Why.
    pub reason: WriteOffReason,
    /// The limitation date reached.
    pub limitation_date: BusinessDate,
    /// The open balance that would be written off.
    pub balance: Money,
    /// The claim's currency.
    pub currency: Currency,
    /// The business date of the proposal.
    pub proposed_date: BusinessDate,
}

impl Message for WriteOffProposed {
    const TYPE: &'static str = "dunning.write_off.proposed.v1";
}

impl Validate for WriteOffProposed {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.write_off_id", &self.write_off_id);
        self.claim.check(&mut p);
        p.positive("data.balance", self.balance);
        p.not_before(
            "data.proposed_date",
            self.proposed_date,
            self.limitation_date,
            "limitation_date",
        );
        p.into_vec()
    }
}

/// `dunning.write_off.approved.v1` (internal): a caseworker approved a proposed write-off;
/// invoicing writes the claim off and publishes `invoicing.claim.written_off.v1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteOffApproved {
    /// The proposal approved.
    pub write_off_id: String,
    /// Which claim.
    #[serde(flatten)]
    pub claim: ClaimRef,
    /// Why.
    pub reason: WriteOffReason,
    /// The caseworker (token name) who approved it.
    pub approved_by: String,
    /// The business date of the approval.
    pub approved_date: BusinessDate,
}

impl Message for WriteOffApproved {
    const TYPE: &'static str = "dunning.write_off.approved.v1";
}

impl Validate for WriteOffApproved {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.write_off_id", &self.write_off_id);
        self.claim.check(&mut p);
        p.id("data.approved_by", &self.approved_by);
        p.into_vec()
    }
}

/// `1.00`, `9.6000`, `12.25`: 1–3 integer digits, a point, 2–6 decimals (no sign: rates are not negative).
fn is_percent(s: &str) -> bool {
    let digits = |part: &str, range: std::ops::RangeInclusive<usize>| {
        range.contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit())
    };
    s.split_once('.')
        .is_some_and(|(int, frac)| digits(int, 1..=3) && digits(frac, 2..=6))
}

#[cfg(test)]
mod tests {
    use super::is_percent;

    #[test]
    fn a_rate_is_a_plain_percentage_with_two_to_six_decimals() {
        for good in ["1.00", "0.50", "9.6000", "12.25", "100.000001"] {
            assert!(is_percent(good), "{good}");
        }
        for bad in [
            "1",
            "1.0",
            "-1.00",
            "+1.00",
            "1000.00",
            "1.0000000",
            ".50",
            "1,00",
            "",
            "1.00 ",
            "1e2",
        ] {
            assert!(!is_percent(bad), "{bad}");
        }
    }
}
