//! Every message type by name, for code that only knows the type at run time (the CLI's
//! `publish`, the contract tests, a consumer's dispatch table).

use serde_json::Value;

use crate::Message;
use crate::decode::{DecodeError, decode_value};
use crate::messages::*;

/// Expands to the list of fixed-type messages and a by-name validator over them, so the two
/// cannot disagree.
macro_rules! registry {
    ($($message:ty),* $(,)?) => {
        const FIXED_TYPES: &[&str] = &[$(<$message as Message>::TYPE),*];

        fn validate_fixed(type_: &str, data: &Value) -> Option<Result<(), DecodeError>> {
            $(
                if type_ == <$message as Message>::TYPE {
                    return Some(decode_value::<$message>(data).map(drop));
                }
            )*
            None
        }
    };
}

registry!(
    InvoiceIssued,
    InvoiceCredited,
    PaymentReceived,
    BenefitPaid,
    GuaranteeRegistered,
    GuaranteeChanged,
    RecoveryRaised,
    BenefitReported,
    DayOpened,
    FeeAssessed,
    InterestAssessed,
    ClaimOpened,
    ClaimBalanceChanged,
    ClaimSettled,
    ClaimWrittenOff,
    PaymentApplied,
    PaymentUnmatched,
    PrepaymentSettled,
    DebtorUpdated,
    DebtorErased,
    ReminderIssued,
    ClaimTransferred,
    ClaimHandedOver,
    CaseworkerAlerted,
    SupplySuspensionRequested,
    SupplyRestorationRequested,
    WriteOffProposed,
    WriteOffApproved,
    DistraintRecorded,
    CampaignSent,
    NotificationRequested,
    LetterReady,
    SmsSent,
    EmailSent,
    DeliveryFailed,
    PlanCreated,
    PlanDefaulted,
    PlanCompleted,
    DeferralGranted,
    DeferralEnded,
    MeetingScheduled,
    MeetingHeld,
    MeetingMissed,
    ClaimReleased,
    ReportPublished,
    CounsellingApplied,
    CaseOpened,
    CaseClosed,
    DunningHeld,
    DunningReleased,
    PrepaymentExpired,
    RefundRequested,
    RefundConfirmed,
);

/// Every message type (routing key) in the contract, including each service's
/// `<service>.message.rejected.v1`. `asyncapi.yaml` documents exactly these (a test checks it).
pub fn known_types() -> &'static [&'static str] {
    static ALL: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| FIXED_TYPES.iter().chain(REJECTED_TYPES).copied().collect())
}

/// Decodes and validates `data` as the message type named `type_`.
///
/// Errors as [`crate::decode_data`]; a name not in [`known_types`] is [`DecodeError::UnknownType`].
pub fn validate_dynamic(type_: &str, data: &Value) -> Result<(), DecodeError> {
    if let Some(result) = validate_fixed(type_, data) {
        return result;
    }
    if is_rejected_type(type_) {
        return decode_value::<MessageRejected>(data).map(drop);
    }
    Err(DecodeError::UnknownType(
        if crate::decode::is_valid_type(type_) {
            type_.to_owned()
        } else {
            "(malformed type)".to_owned()
        },
    ))
}
