//! From our invoicing service (the claims ledger) to our other services and outside consumers.
//!
//! Every claim event carries the flattened [`ClaimRef`] fields, so a consumer can file it without
//! having seen the claim before: `claim_id`, `invoice_id`, `source`, `municipality`, `category`,
//! `debtor_id`.

use restance_kernel::BusinessDate;
use restance_kernel::{Currency, Money, NationalId, PaymentReference, Redacted};
use serde::{Deserialize, Serialize};

use crate::check::{Problems, ReferenceScheme};
use crate::{Message, Problem, Validate};

/// Which claim an event is about; flattened into every claim event.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClaimRef {
    /// Invoicing's id for the claim.
    pub claim_id: String,
    /// The upstream invoice number.
    pub invoice_id: String,
    /// The envelope `source` of the invoice (with `invoice_id` the claim's natural key).
    pub source: String,
    /// Municipality code.
    pub municipality: String,
    /// Arrears category (the reporting dimension).
    pub category: String,
    /// The upstream debtor id (`debtor.id` of the invoice).
    pub debtor_id: String,
}

impl ClaimRef {
    pub(crate) fn check(&self, p: &mut Problems) {
        p.id("data.claim_id", &self.claim_id);
        p.id("data.invoice_id", &self.invoice_id);
        p.id("data.source", &self.source);
        p.id("data.municipality", &self.municipality);
        p.id("data.category", &self.category);
        p.id("data.debtor_id", &self.debtor_id);
    }
}

/// `invoicing.claim.opened.v1`: a claim was opened from an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimOpened {
    /// Which claim.
    #[serde(flatten)]
    pub claim: ClaimRef,
    /// The collection office handling it.
    pub office: String,
    /// The claim's currency.
    pub currency: Currency,
    /// The principal, greater than zero.
    pub amount: Money,
    /// Invoice date.
    pub issue_date: BusinessDate,
    /// Payment deadline (not before `issue_date`).
    pub due_date: BusinessDate,
    /// The key digits debtors pay with: the 15-digit FI-kort payment id (DKK) or the KID (NOK).
    pub payment_reference: String,
    /// What the payment slip prints: the FI-kort line `+71<id+creditor<` (DKK) or the KID itself
    /// (NOK). Optional on the wire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocr_line: Option<String>,
    /// Must be paid before something is handed out.
    pub prepayment: bool,
    /// Collected by direct debit.
    pub direct_debit: bool,
    /// Invoicing's version of the claim: 1 here, the opened claim's first state (see
    /// [`ClaimEvent`]). Optional on the wire: absent from copies published before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
}

impl Message for ClaimOpened {
    const TYPE: &'static str = "invoicing.claim.opened.v1";
}

impl Validate for ClaimOpened {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        self.claim.check(&mut p);
        check_claim_version(&mut p, self.version);
        p.id("data.office", &self.office);
        p.positive("data.amount", self.amount);
        p.not_before(
            "data.due_date",
            self.due_date,
            self.issue_date,
            "issue_date",
        );
        let scheme = ReferenceScheme::for_currency(self.currency);
        p.reference_key("data.payment_reference", scheme, &self.payment_reference);
        match (&self.ocr_line, scheme) {
            (Some(line), ReferenceScheme::Fik) => match PaymentReference::parse_fik(line) {
                Ok(parsed) if parsed.key() == self.payment_reference => {}
                Ok(_) => p.add(
                    "data.ocr_line",
                    "must carry the same payment id as payment_reference",
                ),
                Err(_) => p.add(
                    "data.ocr_line",
                    "must be a FI-kort +71 line like +71<026840149965328+85212345<",
                ),
            },
            (Some(line), ReferenceScheme::Kid) if *line != self.payment_reference => {
                p.add("data.ocr_line", "must be the KID itself for a NOK claim");
            }
            (Some(_), ReferenceScheme::Kid) => {}
            (None, _) => {}
        }
        p.into_vec()
    }
}

/// `invoicing.claim.balance_changed.v1`: the claim's open balance changed; the new balance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimBalanceChanged {
    /// Which claim.
    #[serde(flatten)]
    pub claim: ClaimRef,
    /// The claim's currency.
    pub currency: Currency,
    /// Open principal (not negative; an overpayment goes to the debtor's credit balance).
    pub principal: Money,
    /// Open fees.
    pub fees: Money,
    /// Open interest.
    pub interest: Money,
    /// `principal + fees + interest`.
    pub total: Money,
    /// What changed it.
    pub cause: BalanceChangeCause,
    /// The business date of the change.
    pub business_date: BusinessDate,
    /// Invoicing's version of the claim after this change: one more than the version of the
    /// state it changed, so a consumer keeps the balance of the highest version it saw, not the
    /// last to arrive (see [`ClaimEvent`]). Optional on the wire: absent from copies published
    /// before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
}

/// Why a claim's balance changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BalanceChangeCause {
    /// A payment was applied.
    Payment,
    /// A credit note reduced it.
    CreditNote,
    /// A reminder fee was added.
    Fee,
    /// Interest was added.
    Interest,
    /// The debtor's credit balance was applied.
    CreditBalance,
    /// (Part of) it was written off.
    WriteOff,
    /// It was transferred to state collection.
    Transfer,
}

impl Message for ClaimBalanceChanged {
    const TYPE: &'static str = "invoicing.claim.balance_changed.v1";
}

impl Validate for ClaimBalanceChanged {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        self.claim.check(&mut p);
        check_claim_version(&mut p, self.version);
        p.not_negative("data.principal", self.principal);
        p.not_negative("data.fees", self.fees);
        p.not_negative("data.interest", self.interest);
        p.sum_equals(
            "data.total",
            self.total,
            [self.principal, self.fees, self.interest],
            "principal, fees and interest",
        );
        p.into_vec()
    }
}

/// `invoicing.claim.settled.v1`: the claim's balance reached zero by payments or credits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimSettled {
    /// Which claim.
    #[serde(flatten)]
    pub claim: ClaimRef,
    /// The claim's currency.
    pub currency: Currency,
    /// The business date it was settled.
    pub settled_date: BusinessDate,
    /// Invoicing's version of the settled claim (nothing open): one more than the version of the
    /// `invoicing.claim.balance_changed.v1` that brought the balance to zero — settling counts as
    /// two writes, the balance's and then the state's — so a consumer that applied that balance
    /// change still applies the settlement (see [`ClaimEvent`]). Optional on the wire: absent
    /// from copies published before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
}

impl Message for ClaimSettled {
    const TYPE: &'static str = "invoicing.claim.settled.v1";
}

impl Validate for ClaimSettled {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        self.claim.check(&mut p);
        check_claim_version(&mut p, self.version);
        p.into_vec()
    }
}

/// `invoicing.claim.written_off.v1`: the remaining balance was written off (not arrears any more;
/// reported as the period's write-offs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimWrittenOff {
    /// Which claim.
    #[serde(flatten)]
    pub claim: ClaimRef,
    /// The claim's currency.
    pub currency: Currency,
    /// Principal written off.
    pub principal: Money,
    /// Fees written off.
    pub fees: Money,
    /// Interest written off.
    pub interest: Money,
    /// Why, e.g. `statute-barred (forældelsesloven § 3)`.
    pub reason: String,
    /// The business date of the write-off.
    pub date: BusinessDate,
    /// Invoicing's version of the written-off claim (nothing open; see [`ClaimEvent`]).
    /// Optional on the wire: absent from copies published before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
}

impl Message for ClaimWrittenOff {
    const TYPE: &'static str = "invoicing.claim.written_off.v1";
}

impl Validate for ClaimWrittenOff {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        self.claim.check(&mut p);
        check_claim_version(&mut p, self.version);
        p.not_negative("data.principal", self.principal);
        p.not_negative("data.fees", self.fees);
        p.not_negative("data.interest", self.interest);
        match Money::checked_sum([self.principal, self.fees, self.interest]) {
            Some(total) if total.is_positive() => {}
            _ => p.add(
                "data",
                "principal + fees + interest written off must be greater than zero",
            ),
        }
        p.text("data.reason", &self.reason);
        p.into_vec()
    }
}

/// The highest claim `version` an event may carry (stored as a signed 64-bit integer).
pub const MAX_CLAIM_VERSION: u64 = i64::MAX as u64;

fn check_claim_version(p: &mut Problems, version: Option<u64>) {
    if let Some(v) = version
        && !(1..=MAX_CLAIM_VERSION).contains(&v)
    {
        p.add(
            "data.version",
            format!("must be between 1 and {MAX_CLAIM_VERSION}"),
        );
    }
}

/// What to do with a copy of a claim event, given the version a consumer stored for the claim
/// ([`ClaimCopy::of`], [`ClaimEvent::against`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimCopy {
    /// Apply the event and store `version` with the claim: the copy's own, or — for a copy
    /// without a version — the version stored already (0 if none).
    Apply {
        /// The version to store with the claim after applying the event.
        version: u64,
    },
    /// The copy has the stored version: that state was applied already, nothing changes.
    Duplicate,
    /// The copy is older than the stored state: ignored (acknowledged, no error).
    Stale,
}

impl ClaimCopy {
    /// The one rule every consumer of invoicing's claim events applies, given the copy's
    /// `version` and the version `stored` with the claim (`None`: the consumer has no such claim
    /// yet; `Some(0)`: stored only from copies without a version):
    ///
    /// - a **newer** version is applied, and stored with the claim;
    /// - the **same** version is a duplicate (invoicing gives every state of a claim its own
    ///   version, so two events never share one): nothing changes;
    /// - an **older** version is stale: ignored — the state it describes was replaced by one
    ///   the consumer applied already, whatever the order copies arrived in (replicas of the
    ///   consumer, a replay, a relay's redelivery);
    /// - a copy **without** a version (an invoicing from before versions) is applied as it
    ///   always was, and the stored version is kept: its age is unknown, so it neither wins nor
    ///   loses against the versions.
    pub fn of(version: Option<u64>, stored: Option<u64>) -> ClaimCopy {
        match (version, stored) {
            (Some(v), Some(s)) if v < s => ClaimCopy::Stale,
            (Some(v), Some(s)) if v == s => ClaimCopy::Duplicate,
            (Some(v), _) => ClaimCopy::Apply { version: v },
            (None, s) => ClaimCopy::Apply {
                version: s.unwrap_or(0),
            },
        }
    }

    /// The metric label of this decision: `stored`, `duplicate` or `stale`.
    pub const fn outcome(self) -> &'static str {
        match self {
            ClaimCopy::Apply { .. } => "stored",
            ClaimCopy::Duplicate => "duplicate",
            ClaimCopy::Stale => "stale",
        }
    }
}

/// The claim events whose order matters to a consumer's copy of the claim:
/// `invoicing.claim.opened.v1`, `…balance_changed.v1`, `…settled.v1` and `…written_off.v1`.
///
/// Each carries invoicing's `version` of the claim, monotonic per claim: 1 for the state
/// `claim.opened` announces, one more with every write of the claim's balance or state in
/// invoicing (a write under the debtor's lock, so the versions of one claim are taken in turn).
/// A consumer keeps, with its copy of the claim, the version of the last event it applied, and
/// applies a copy only if it is newer ([`ClaimEvent::against`]): the copy holds the newest
/// state, not the last to arrive. Not every version is published (a credit note on a claim that
/// is not open changes it without an event), so a consumer sees gaps, never a repeat.
pub trait ClaimEvent {
    /// Which claim.
    fn claim_ref(&self) -> &ClaimRef;
    /// The copy's version, if it has one.
    fn claim_version(&self) -> Option<u64>;
    /// [`ClaimCopy::of`] for this copy.
    fn against(&self, stored: Option<u64>) -> ClaimCopy {
        ClaimCopy::of(self.claim_version(), stored)
    }
}

macro_rules! claim_event {
    ($($t:ty),*) => {$(
        impl ClaimEvent for $t {
            fn claim_ref(&self) -> &ClaimRef {
                &self.claim
            }
            fn claim_version(&self) -> Option<u64> {
                self.version
            }
        }
    )*};
}

claim_event!(
    ClaimOpened,
    ClaimBalanceChanged,
    ClaimSettled,
    ClaimWrittenOff
);

/// `invoicing.payment.applied.v1`: a payment (or credit balance) was allocated to claims — fees
/// first, then interest, then principal; oldest claim first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentApplied {
    /// The payment (`bank.payment.received.v1` `payment_id`, or invoicing's id for a credit-balance use).
    pub payment_id: String,
    /// Municipality code.
    pub municipality: String,
    /// The debtor whose claims were paid.
    pub debtor_id: String,
    /// The payment's currency.
    pub currency: Currency,
    /// The whole amount applied: the allocations plus `to_credit_balance`.
    pub amount: Money,
    /// The booking date of the payment.
    pub booking_date: BusinessDate,
    /// How the payment was matched to the debtor.
    pub matched_by: MatchedBy,
    /// What each claim received (may be empty when everything went to the credit balance).
    pub allocations: Vec<Allocation>,
    /// What was left over and kept as the debtor's credit balance (not negative).
    pub to_credit_balance: Money,
}

/// How a payment found its debtor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    /// By its payment reference (FIK / KID).
    Reference,
    /// By the payer's national id and the exact open amount.
    PayerAndAmount,
    /// By the payer's national id alone (no usable reference, no claim of exactly this amount):
    /// spread over the debtor's open claims, oldest first; the rest is credit balance.
    Payer,
    /// Not a bank payment: the debtor's existing credit balance was applied.
    CreditBalance,
}

/// The part of a payment applied to one claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation {
    /// The claim.
    pub claim_id: String,
    /// Its upstream invoice.
    pub invoice_id: String,
    /// Its category.
    pub category: String,
    /// Applied to fees (first).
    pub fees: Money,
    /// Applied to interest (second).
    pub interest: Money,
    /// Applied to principal (last).
    pub principal: Money,
}

impl Message for PaymentApplied {
    const TYPE: &'static str = "invoicing.payment.applied.v1";
}

impl Validate for PaymentApplied {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.payment_id", &self.payment_id);
        p.id("data.municipality", &self.municipality);
        p.id("data.debtor_id", &self.debtor_id);
        p.positive("data.amount", self.amount);
        for (i, a) in self.allocations.iter().enumerate() {
            let at = format!("data.allocations[{i}]");
            p.id(&format!("{at}.claim_id"), &a.claim_id);
            p.id(&format!("{at}.invoice_id"), &a.invoice_id);
            p.id(&format!("{at}.category"), &a.category);
            p.not_negative(&format!("{at}.fees"), a.fees);
            p.not_negative(&format!("{at}.interest"), a.interest);
            p.not_negative(&format!("{at}.principal"), a.principal);
            if !Money::checked_sum([a.fees, a.interest, a.principal])
                .is_some_and(|t| t.is_positive())
            {
                p.add(at, "must apply more than zero");
            }
        }
        p.not_negative("data.to_credit_balance", self.to_credit_balance);
        let parts = self
            .allocations
            .iter()
            .flat_map(|a| [a.fees, a.interest, a.principal])
            .chain([self.to_credit_balance]);
        p.sum_equals(
            "data.amount",
            self.amount,
            parts,
            "the allocations and to_credit_balance",
        );
        p.into_vec()
    }
}

/// `invoicing.payment.unmatched.v1`: a payment matched no debtor; a caseworker must place it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentUnmatched {
    /// The payment.
    pub payment_id: String,
    /// Municipality code.
    pub municipality: String,
    /// The amount received.
    pub amount: Money,
    /// Its currency.
    pub currency: Currency,
    /// Its booking date.
    pub booking_date: BusinessDate,
    /// The reference as received, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_reference: Option<String>,
    /// The payer's name as received (personal data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_name: Option<Redacted<String>>,
    /// The payer's national id as received (personal data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_national_id: Option<Redacted<String>>,
    /// Remittance text as received (may contain personal data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<Redacted<String>>,
    /// Why it was not matched, e.g. `no open claim has this reference`. Never personal data.
    pub reason: String,
}

impl Message for PaymentUnmatched {
    const TYPE: &'static str = "invoicing.payment.unmatched.v1";
}

impl Validate for PaymentUnmatched {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.payment_id", &self.payment_id);
        p.id("data.municipality", &self.municipality);
        p.positive("data.amount", self.amount);
        p.optional_max_chars("data.payment_reference", self.payment_reference.as_deref());
        p.optional_max_chars(
            "data.payer_name",
            self.payer_name.as_ref().map(|v| v.expose().as_str()),
        );
        p.optional_max_chars(
            "data.payer_national_id",
            self.payer_national_id.as_ref().map(|v| v.expose().as_str()),
        );
        p.optional_max_chars("data.text", self.text.as_ref().map(|v| v.expose().as_str()));
        p.text("data.reason", &self.reason);
        p.into_vec()
    }
}

/// `invoicing.prepayment.settled.v1`: a prepayment claim is paid; the permit may be issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrepaymentSettled {
    /// Which claim.
    #[serde(flatten)]
    pub claim: ClaimRef,
    /// The business date it was paid in full.
    pub settled_date: BusinessDate,
}

impl Message for PrepaymentSettled {
    const TYPE: &'static str = "invoicing.prepayment.settled.v1";
}

impl Validate for PrepaymentSettled {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        self.claim.check(&mut p);
        p.into_vec()
    }
}

/// `invoicing.prepayment.expired.v1`: a prepayment claim stayed unpaid for the configured period
/// (`[invoicing] prepayment_expiry_days`) and expired — the permit it paid for was never issued.
/// The claim leaves the books in its own terminal state `expired`: its open amount is no longer
/// owed, never arrears, and reported apart (outstanding prepayments, not arrears).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrepaymentExpired {
    /// Which claim.
    #[serde(flatten)]
    pub claim: ClaimRef,
    /// The claim's currency.
    pub currency: Currency,
    /// The amount that was still open when it expired (principal, fees and interest; greater
    /// than zero — a settled prepayment does not expire).
    pub amount: Money,
    /// The business date it expired.
    pub expired_date: BusinessDate,
    /// Why, e.g. `prepayment unpaid 90 days after the due date; the permit was not issued`.
    pub reason: String,
    /// Invoicing's version of the expired claim (nothing open; see [`ClaimEvent`]). Optional on
    /// the wire, as on the other claim events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
}

impl Message for PrepaymentExpired {
    const TYPE: &'static str = "invoicing.prepayment.expired.v1";
}

impl Validate for PrepaymentExpired {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        self.claim.check(&mut p);
        check_claim_version(&mut p, self.version);
        p.positive("data.amount", self.amount);
        p.text("data.reason", &self.reason);
        p.into_vec()
    }
}

claim_event!(PrepaymentExpired);

/// `invoicing.refund.requested.v1`: the municipality owes a debtor money (a credit balance from
/// an overpayment or a credit note beyond the balance) that no claim used; the payment system is
/// asked to pay it out. It answers with `bank.refund.confirmed.v1` (same `refund_id`), and only
/// then is the credit balance reduced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRequested {
    /// Invoicing's id for the refund, deterministic (the same credit balance refunded on the
    /// same date gets the same id), so a repeated request is recognisable as one refund.
    pub refund_id: String,
    /// Municipality code (whose account pays).
    pub municipality: String,
    /// The debtor owed the money.
    pub debtor_id: String,
    /// The currency.
    pub currency: Currency,
    /// The amount to pay out, greater than zero.
    pub amount: Money,
    /// The business date of the request.
    pub requested_date: BusinessDate,
    /// Where the money goes.
    pub payee: RefundPayee,
}

/// Where a refund is paid. Personal data: `Debug` prints `[redacted]` for the id and account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum RefundPayee {
    /// The payee's public payment account (NemKonto in Denmark and Greenland), which the payment
    /// system finds from the national id: CPR for a person, CVR for a company.
    PublicAccount {
        /// The payee's national id (checked when read).
        national_id: Redacted<NationalId>,
    },
    /// A bank account given for this refund (Norway, which has no public payment account, or a
    /// payee without one): IBAN or the domestic account number.
    Account {
        /// The account number: 5–34 letters and digits, spaces allowed (personal data).
        account: Redacted<String>,
        /// The account holder's name, if known (personal data).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        holder_name: Option<Redacted<String>>,
    },
}

impl Message for RefundRequested {
    const TYPE: &'static str = "invoicing.refund.requested.v1";
}

impl Validate for RefundRequested {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.refund_id", &self.refund_id);
        p.id("data.municipality", &self.municipality);
        p.id("data.debtor_id", &self.debtor_id);
        p.positive("data.amount", self.amount);
        if let RefundPayee::Account {
            account,
            holder_name,
        } = &self.payee
        {
            if !is_account_number(account.expose()) {
                p.add(
                    "data.payee.account",
                    "must be an account number or IBAN: 5 to 34 letters and digits (spaces allowed)",
                );
            }
            if let Some(name) = holder_name {
                p.text("data.payee.holder_name", name.expose());
            }
        }
        p.into_vec()
    }
}

/// An account number as a payment system takes it: an IBAN or a domestic number (the Danish
/// reg.nr. + account, the Norwegian 11 digits), 5–34 letters and digits once spaces are removed.
pub fn is_account_number(text: &str) -> bool {
    let compact: Vec<char> = text.chars().filter(|c| *c != ' ').collect();
    (5..=34).contains(&compact.len()) && compact.iter().all(char::is_ascii_alphanumeric)
}
