//! One Rust type per message on the bus, grouped by producer.
//!
//! Unknown fields are ignored when reading (a producer may add optional fields within a major
//! version); a missing required field or a wrong JSON type is an error with its path. Optional
//! fields are omitted when absent, and `null` reads as absent. Personal data sits in
//! [`restance_kernel::Redacted`] (or a redacting `Debug`), so `{:?}` of any message is safe to log.

mod agreements;
mod bank;
mod benefits;
mod billing;
mod calendar;
mod counselling;
mod debtors;
mod dunning;
mod guarantee;
mod immigration;
mod invoicing;
mod notifications;
mod party;
mod rejected;
mod reporting;

pub use agreements::{
    AgreementEvent, AgreementKind, AgreementScope, AssignedReceivable, ClaimReleased,
    DeferralEndReason, DeferralEnded, DeferralGranted, Instalment, MeetingHeld, MeetingMissed,
    MeetingScheduled, PlanCompleted, PlanCreated, PlanDefaulted, PlanEndReason,
};
pub use bank::{PaymentChannel, PaymentReceived, RefundConfirmed};
pub use benefits::{BenefitLaw, BenefitPaid};
pub use billing::{InvoiceCredited, InvoiceIssued, InvoiceLine};
pub use calendar::DayOpened;
pub use counselling::{
    Applicant, ApplicationAnswers, ApplicationChannel, CaseClosed, CaseOpened, CloseReason,
    CounsellingApplied, DunningHeld, DunningReleased,
};
pub use debtors::{DebtorCopy, DebtorErased, DebtorUpdated, MAX_DEBTOR_VERSION, StoredDebtorCopy};
pub use dunning::{
    CampaignDebtor, CampaignKind, CampaignSent, CaseworkerAlerted, ClaimHandedOver,
    ClaimTransferred, CollectionAuthority, DistraintRecorded, FeeAssessed, InterestAssessed,
    MAX_CAMPAIGN_DEBTORS, ReminderIssued, SupplyRestorationRequested, SupplySuspensionRequested,
    TransferredDebtor, WriteOffApproved, WriteOffProposed, WriteOffReason,
};
pub use guarantee::{
    BenefitReported, MAX_RECOVERED_PAYMENTS, RecipientRole, RecoveredPayment, RecoveryRaised,
};
pub use immigration::{
    GuaranteeBank, GuaranteeChangeReason, GuaranteeChanged, GuaranteeRegistered,
};
pub use invoicing::{
    Allocation, BalanceChangeCause, ClaimBalanceChanged, ClaimCopy, ClaimEvent, ClaimOpened,
    ClaimRef, ClaimSettled, ClaimWrittenOff, MAX_CLAIM_VERSION, MatchedBy, PaymentApplied,
    PaymentUnmatched, PrepaymentExpired, PrepaymentSettled, RefundPayee, RefundRequested,
    is_account_number,
};
pub use notifications::{
    Attachment, DeliveryChannel, DeliveryFailed, DocumentRef, EmailContact, EmailSent,
    LetterChannel, LetterReady, LetterRecipient, MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS,
    NotificationRequested, Party, Recipient, Related, SmsSent,
};
pub use party::{Address, AddressProtection, Debtor};
pub(crate) use rejected::REJECTED_TYPES;
pub use rejected::{MessageRejected, SERVICES, is_rejected_type, rejected_type};
pub use reporting::{ReportFile, ReportPublished};
