//! Whom a message is about: the municipality, the debtor and the claims it names.
//!
//! A consumer reads this before it handles a batch: to check the municipality is one it serves,
//! to lock every debtor the batch touches in one order (so two replicas' batches cannot
//! deadlock), to preload the claims in one query. It is part of the contract — the same
//! message names the same subject for every consumer — so it is written once, here.

use crate::messages::*;

/// Whom a message is about. Each method answers `None` (or nothing) when the message does not
/// name one; a message about several debtors names none.
pub trait Subject {
    /// The municipality's code.
    fn municipality(&self) -> Option<&str> {
        None
    }

    /// The upstream debtor id (`debtor.id` of the invoices), within [`Subject::municipality`].
    fn debtor_id(&self) -> Option<&str> {
        None
    }

    /// Invoicing's claim ids.
    fn claim_ids(&self) -> Vec<&str> {
        Vec::new()
    }
}

/// A message about one claim (`claim: ClaimRef`).
macro_rules! about_claim {
    ($($t:ty),* $(,)?) => {$(
        impl Subject for $t {
            fn municipality(&self) -> Option<&str> {
                Some(&self.claim.municipality)
            }
            fn debtor_id(&self) -> Option<&str> {
                Some(&self.claim.debtor_id)
            }
            fn claim_ids(&self) -> Vec<&str> {
                vec![self.claim.claim_id.as_str()]
            }
        }
    )*};
}

/// An agreement's message (`scope: AgreementScope`).
macro_rules! about_agreement {
    ($($t:ty),* $(,)?) => {$(
        impl Subject for $t {
            fn municipality(&self) -> Option<&str> {
                Some(&self.scope.municipality)
            }
            fn debtor_id(&self) -> Option<&str> {
                Some(&self.scope.debtor_id)
            }
            fn claim_ids(&self) -> Vec<&str> {
                self.scope.claim_ids.iter().map(String::as_str).collect()
            }
        }
    )*};
}

/// A message naming one claim by id, its debtor and municipality.
macro_rules! about_claim_id {
    ($($t:ty),* $(,)?) => {$(
        impl Subject for $t {
            fn municipality(&self) -> Option<&str> {
                Some(&self.municipality)
            }
            fn debtor_id(&self) -> Option<&str> {
                Some(&self.debtor_id)
            }
            fn claim_ids(&self) -> Vec<&str> {
                vec![self.claim_id.as_str()]
            }
        }
    )*};
}

/// A message naming only a municipality.
macro_rules! about_municipality {
    ($($t:ty),* $(,)?) => {$(
        impl Subject for $t {
            fn municipality(&self) -> Option<&str> {
                Some(&self.municipality)
            }
        }
    )*};
}

about_claim!(
    ClaimOpened,
    ClaimBalanceChanged,
    ClaimSettled,
    ClaimWrittenOff,
    PrepaymentSettled,
    PrepaymentExpired,
    ClaimTransferred,
    ClaimHandedOver,
    WriteOffApproved,
    WriteOffProposed,
);
about_agreement!(
    PlanCreated,
    PlanDefaulted,
    PlanCompleted,
    DeferralGranted,
    DeferralEnded,
    MeetingScheduled,
    MeetingHeld,
    MeetingMissed,
    ClaimReleased,
);
about_claim_id!(FeeAssessed, InterestAssessed);
about_municipality!(
    PaymentReceived,
    PaymentUnmatched,
    BenefitPaid,
    GuaranteeRegistered,
    BenefitReported,
    CounsellingApplied,
    CaseOpened,
    CaseClosed,
);

/// A dunning letter: its municipality, debtor and claims.
impl Subject for ReminderIssued {
    fn municipality(&self) -> Option<&str> {
        Some(&self.municipality)
    }
    fn debtor_id(&self) -> Option<&str> {
        Some(&self.debtor_id)
    }
    fn claim_ids(&self) -> Vec<&str> {
        self.claim_ids.iter().map(String::as_str).collect()
    }
}

/// A recorded distraint: its municipality, debtor and claims.
impl Subject for DistraintRecorded {
    fn municipality(&self) -> Option<&str> {
        Some(&self.municipality)
    }
    fn debtor_id(&self) -> Option<&str> {
        Some(&self.debtor_id)
    }
    fn claim_ids(&self) -> Vec<&str> {
        self.claim_ids.iter().map(String::as_str).collect()
    }
}

/// A campaign sent: its municipality and every claim it names (many debtors, so no single one).
impl Subject for CampaignSent {
    fn municipality(&self) -> Option<&str> {
        Some(&self.municipality)
    }
    fn claim_ids(&self) -> Vec<&str> {
        self.debtors
            .iter()
            .flat_map(|d| d.claim_ids.iter().map(String::as_str))
            .collect()
    }
}

/// The claim it opens is the guarantor's.
impl Subject for RecoveryRaised {
    fn municipality(&self) -> Option<&str> {
        Some(&self.municipality)
    }
    fn debtor_id(&self) -> Option<&str> {
        Some(&self.guarantor.id)
    }
}

/// A counselling case's hold names the applicant as invoicing's debtor.
macro_rules! about_debtor {
    ($($t:ty),* $(,)?) => {$(
        impl Subject for $t {
            fn municipality(&self) -> Option<&str> {
                Some(&self.municipality)
            }
            fn debtor_id(&self) -> Option<&str> {
                Some(&self.debtor_id)
            }
        }
    )*};
}

about_debtor!(
    DunningHeld,
    DunningReleased,
    CaseworkerAlerted,
    RefundRequested
);

/// Names only its guarantee: the municipality is the registration's.
impl Subject for GuaranteeChanged {}

impl Subject for DayOpened {}

/// Names only its refund: invoicing finds the debtor from it.
impl Subject for RefundConfirmed {}

impl Subject for InvoiceIssued {
    fn municipality(&self) -> Option<&str> {
        Some(&self.municipality)
    }
    fn debtor_id(&self) -> Option<&str> {
        Some(&self.debtor.id)
    }
}

/// The erased debtor.
impl Subject for DebtorErased {
    fn municipality(&self) -> Option<&str> {
        Some(&self.municipality)
    }
    fn debtor_id(&self) -> Option<&str> {
        Some(&self.debtor_id)
    }
}

impl Subject for DebtorUpdated {
    fn municipality(&self) -> Option<&str> {
        Some(&self.municipality)
    }
    fn debtor_id(&self) -> Option<&str> {
        Some(&self.debtor.id)
    }
}

impl Subject for PaymentApplied {
    fn municipality(&self) -> Option<&str> {
        Some(&self.municipality)
    }
    fn debtor_id(&self) -> Option<&str> {
        Some(&self.debtor_id)
    }
    fn claim_ids(&self) -> Vec<&str> {
        self.allocations
            .iter()
            .map(|a| a.claim_id.as_str())
            .collect()
    }
}

/// The debtor a notification is for: the recipient when it is a debtor, else the debtor it
/// concerns (a guarantor's letter about a debtor's claim).
impl Subject for NotificationRequested {
    fn municipality(&self) -> Option<&str> {
        Some(&self.municipality)
    }
    fn debtor_id(&self) -> Option<&str> {
        match &self.recipient {
            Recipient::Debtor { debtor_id } => Some(debtor_id),
            Recipient::Party(_) => self.related.debtor_id.as_deref(),
        }
    }
    fn claim_ids(&self) -> Vec<&str> {
        self.related.claim_ids.iter().map(String::as_str).collect()
    }
}

/// A credit note names its invoice only; invoicing finds the claim.
impl Subject for InvoiceCredited {}
