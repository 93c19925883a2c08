//! Who may send each message type: an allow-list of CloudEvents `source` patterns per type.
//!
//! Whoever can publish on the broker chooses the envelope's `source`, and a service acts on what
//! a message says: a `dunning.write_off.approved.v1` writes a claim off, a
//! `calendar.day.opened.v1` runs a business day. So every message a service consumes must come
//! from a source its type allows, or it is dead-lettered with the reason
//! `unexpected source <source> for <type> (allowed: …)` before its body is decoded — a
//! rejection, never retried. The runtime puts this check on every router ([`sender_check`]), so
//! no service has code of its own for it.
//!
//! `[senders]`: keys are message types, values lists of patterns.
//! - `/restance/dunning`: exactly this source;
//! - `/billing/*`: a trailing `*` matches one or more characters — any source that starts with
//!   `/billing/` and goes on (`/billing/daycare`, `/billing/water/2026`), not `/billing/` itself.
//!   A lone `*` allows any source.
//!
//! A `*` anywhere else, an empty pattern, whitespace or control characters in one, and a key
//! that is not a message type of the contract are refused at start. Matching is exact and
//! case-sensitive. A type named in the file replaces its default; a type left out keeps it; an
//! empty list refuses every sender of that type.
//!
//! The defaults ([`default_senders`]) are who publishes each type per the bus contract
//! (`shared/contracts/asyncapi.yaml`): a Restance service publishes its own events as
//! `/restance/<service>` (the runtime sets it); upstream systems as `/billing/…`, `/bank/…`,
//! `/benefits/…`, `/immigration/…`; `restance day open` (the CronJob and an operator by hand) as
//! `/restance/calendar`. Not by the type's prefix: `notifications.notification.requested.v1` comes
//! from every service that writes to debtors.

use restance_bus::router::Screen;
use restance_bus::{Inbound, Rejection};
use restance_contracts::messages::{
    BenefitPaid, BenefitReported, CampaignSent, CaseClosed, CaseOpened, CaseworkerAlerted,
    ClaimBalanceChanged, ClaimHandedOver, ClaimOpened, ClaimReleased, ClaimSettled,
    ClaimTransferred, ClaimWrittenOff, CounsellingApplied, DayOpened, DebtorErased, DebtorUpdated,
    DeferralEnded, DeferralGranted, DeliveryFailed, DistraintRecorded, DunningHeld,
    DunningReleased, EmailSent, FeeAssessed, GuaranteeChanged, GuaranteeRegistered,
    InterestAssessed, InvoiceCredited, InvoiceIssued, LetterReady, MeetingHeld, MeetingMissed,
    MeetingScheduled, NotificationRequested, PaymentApplied, PaymentReceived, PaymentUnmatched,
    PlanCompleted, PlanCreated, PlanDefaulted, PrepaymentExpired, PrepaymentSettled,
    RecoveryRaised, RefundConfirmed, RefundRequested, ReminderIssued, ReportPublished, SmsSent,
    SupplyRestorationRequested, SupplySuspensionRequested, WriteOffApproved, WriteOffProposed,
    is_rejected_type,
};
use restance_contracts::{Message, Problem, known_types};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// `[senders]`: for a message type, the `source` patterns allowed to send it; a type not named
/// keeps its default ([`default_senders`]).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct SendersSettings {
    /// Message type → patterns, as configured.
    pub configured: BTreeMap<String, Vec<String>>,
}

impl SendersSettings {
    /// Every problem with the configured lists: a key that is not a message type, a pattern
    /// that cannot be read.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (message_type, patterns) in &self.configured {
            if !known_types().contains(&message_type.as_str()) {
                out.push(format!(
                    "senders.\"{message_type}\": not a message type of the bus contract \
                     (shared/contracts/asyncapi.yaml)"
                ));
            }
            for (i, text) in patterns.iter().enumerate() {
                if let Err(e) = SourcePattern::parse(text) {
                    out.push(format!("senders.\"{message_type}\"[{i}]: {text:?} {e}"));
                }
            }
        }
        out
    }
}

/// One allowed `source`: exactly a source, or every source that extends a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourcePattern {
    /// `/restance/dunning`: this source only.
    Exact(String),
    /// `/billing/*`: a source that starts with `/billing/` and has at least one more character.
    Prefix(String),
}

impl SourcePattern {
    /// Reads a pattern (see the [module docs](self)); the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.is_empty() {
            return Err(
                "is empty: a pattern names a source, e.g. /restance/dunning or /billing/*".into(),
            );
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("holds a space or a control character".into());
        }
        match text.find('*') {
            None => Ok(Self::Exact(text.to_owned())),
            Some(i) if i + 1 == text.len() => Ok(Self::Prefix(text[..i].to_owned())),
            Some(_) => Err(
                "has a * before its end: a * may only end a pattern (a prefix, e.g. /billing/*)"
                    .into(),
            ),
        }
    }

    /// Whether `source` is allowed by this pattern.
    pub fn matches(&self, source: &str) -> bool {
        match self {
            Self::Exact(s) => source == s,
            Self::Prefix(p) => source.len() > p.len() && source.starts_with(p.as_str()),
        }
    }
}

impl fmt::Display for SourcePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(s) => f.write_str(s),
            Self::Prefix(p) => write!(f, "{p}*"),
        }
    }
}

const DUNNING: &[&str] = &["/restance/dunning"];
const INVOICING: &[&str] = &["/restance/invoicing"];
const AGREEMENTS: &[&str] = &["/restance/agreements"];
const NOTIFICATIONS: &[&str] = &["/restance/notifications"];
const REPORTING: &[&str] = &["/restance/reporting"];
const GUARANTEE: &[&str] = &["/restance/guarantee"];
const COUNSELLING: &[&str] = &["/restance/counselling"];

/// Who publishes `message_type` per the bus contract: the patterns allowed when `[senders]`
/// does not name it (none for a type the contract does not know).
pub fn default_senders(message_type: &str) -> Vec<String> {
    let fixed: &[&str] = match message_type {
        InvoiceIssued::TYPE | InvoiceCredited::TYPE => &["/billing/*"],
        PaymentReceived::TYPE | RefundConfirmed::TYPE => &["/bank/*"],
        BenefitPaid::TYPE => &["/benefits/*"],
        GuaranteeRegistered::TYPE | GuaranteeChanged::TYPE => &["/immigration/*"],
        // the municipality's self-service web forms
        CounsellingApplied::TYPE => &["/selfservice/*"],
        // `restance day open`: the CronJob, or an operator opening a day by hand.
        DayOpened::TYPE => &["/restance/calendar"],
        FeeAssessed::TYPE
        | InterestAssessed::TYPE
        | ReminderIssued::TYPE
        | ClaimTransferred::TYPE
        | ClaimHandedOver::TYPE
        | CaseworkerAlerted::TYPE
        | SupplySuspensionRequested::TYPE
        | SupplyRestorationRequested::TYPE
        | WriteOffProposed::TYPE
        | WriteOffApproved::TYPE
        | DistraintRecorded::TYPE
        | CampaignSent::TYPE => DUNNING,
        ClaimOpened::TYPE
        | ClaimBalanceChanged::TYPE
        | ClaimSettled::TYPE
        | ClaimWrittenOff::TYPE
        | PaymentApplied::TYPE
        | PaymentUnmatched::TYPE
        | PrepaymentSettled::TYPE
        | PrepaymentExpired::TYPE
        | RefundRequested::TYPE
        | DebtorUpdated::TYPE
        | DebtorErased::TYPE => INVOICING,
        // A command to notifications, from every service that writes to debtors.
        NotificationRequested::TYPE => &[
            "/restance/dunning",
            "/restance/agreements",
            "/restance/guarantee",
            "/restance/reporting",
            "/restance/counselling",
        ],
        LetterReady::TYPE | SmsSent::TYPE | EmailSent::TYPE | DeliveryFailed::TYPE => NOTIFICATIONS,
        PlanCreated::TYPE
        | PlanDefaulted::TYPE
        | PlanCompleted::TYPE
        | DeferralGranted::TYPE
        | DeferralEnded::TYPE
        | MeetingScheduled::TYPE
        | MeetingHeld::TYPE
        | MeetingMissed::TYPE
        | ClaimReleased::TYPE => AGREEMENTS,
        ReportPublished::TYPE => REPORTING,
        RecoveryRaised::TYPE | BenefitReported::TYPE => GUARANTEE,
        CaseOpened::TYPE | CaseClosed::TYPE | DunningHeld::TYPE | DunningReleased::TYPE => {
            COUNSELLING
        }
        t if is_rejected_type(t) => {
            let service = t.split('.').next().unwrap_or_default();
            return vec![format!("/restance/{service}")];
        }
        _ => &[],
    };
    fixed.iter().map(|s| (*s).to_owned()).collect()
}

/// The allow-lists in force: the configured ones over the defaults.
#[derive(Debug, Clone)]
pub struct Senders {
    allowed: BTreeMap<String, Vec<SourcePattern>>,
}

impl Senders {
    /// The lists of `settings` over [`default_senders`]. A pattern that cannot be read allows
    /// nothing ([`SendersSettings::problems`] refuses it at start).
    pub fn new(settings: &SendersSettings) -> Self {
        let parse = |texts: &[String]| -> Vec<SourcePattern> {
            texts
                .iter()
                .filter_map(|t| SourcePattern::parse(t).ok())
                .collect()
        };
        let mut allowed: BTreeMap<String, Vec<SourcePattern>> = known_types()
            .iter()
            .map(|t| ((*t).to_owned(), parse(&default_senders(t))))
            .collect();
        for (message_type, texts) in &settings.configured {
            allowed.insert(message_type.clone(), parse(texts));
        }
        Self { allowed }
    }

    /// The patterns allowed to send `message_type` (none for a type nobody configured).
    pub fn allowed(&self, message_type: &str) -> &[SourcePattern] {
        self.allowed.get(message_type).map_or(&[], Vec::as_slice)
    }

    /// Admits a `message_type` from `source` if one of its patterns matches; otherwise the
    /// rejection says who sent it and who may.
    pub fn check(&self, message_type: &str, source: &str) -> Result<(), Rejection> {
        let allowed = self.allowed(message_type);
        if allowed.iter().any(|p| p.matches(source)) {
            return Ok(());
        }
        let list = if allowed.is_empty() {
            "none".to_owned()
        } else {
            allowed
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let reason = format!("unexpected source {source} for {message_type} (allowed: {list})");
        Err(Rejection {
            problems: vec![Problem::new(
                "source",
                format!(
                    "{source} may not send {message_type}; allowed: {list} \
                     (senders.\"{message_type}\" in the configuration)"
                ),
            )],
            reason,
        })
    }
}

/// The [`Screen`] every router gets: a message whose `source` its type does not allow is
/// rejected before it is decoded.
pub fn sender_check(settings: &SendersSettings) -> Screen {
    let senders = Senders::new(settings);
    Arc::new(move |msg: &Inbound| senders.check(msg.message_type(), &msg.envelope.source))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(text: &str) -> SourcePattern {
        SourcePattern::parse(text).expect("a valid pattern")
    }

    #[test]
    fn an_exact_pattern_matches_only_its_source() {
        let p = pattern("/restance/dunning");
        assert!(p.matches("/restance/dunning"));
        for other in [
            "/restance/dunning/",
            "/restance/dunningx",
            "/restance/Dunning",
            "/restance/dunnin",
            "/restance/invoicing",
            "",
        ] {
            assert!(!p.matches(other), "{other:?}");
        }
    }

    #[test]
    fn a_trailing_star_matches_every_longer_source_with_the_prefix() {
        let p = pattern("/billing/*");
        assert_eq!(p, SourcePattern::Prefix("/billing/".into()));
        for ok in ["/billing/daycare", "/billing/water/2026", "/billing/x"] {
            assert!(p.matches(ok), "{ok}");
        }
        for not in [
            "/billing/",
            "/billing",
            "/billingx/daycare",
            "/bank/nets",
            "billing/x",
        ] {
            assert!(!p.matches(not), "{not}");
        }
        assert!(
            pattern("*").matches("/anything"),
            "a lone * allows any source"
        );
        assert_eq!(p.to_string(), "/billing/*");
    }

    #[test]
    fn a_pattern_that_cannot_be_meant_is_refused_with_why() {
        for (bad, why) in [
            ("", "is empty"),
            ("/billing/*/x", "may only end a pattern"),
            ("*/dunning", "may only end a pattern"),
            ("/billing/**", "may only end a pattern"),
            ("/restance/ dunning", "space"),
            ("/restance/\u{1b}dunning", "control"),
        ] {
            let e = SourcePattern::parse(bad).expect_err(bad);
            assert!(e.contains(why), "{bad:?}: {e}");
        }
    }

    #[test]
    fn every_type_of_the_contract_has_its_publishers_by_default() {
        for t in known_types() {
            assert!(!default_senders(t).is_empty(), "{t} has no default senders");
        }
        let senders = Senders::new(&SendersSettings::default());
        let ok = |t: &str, s: &str| senders.check(t, s).is_ok();
        assert!(ok("dunning.write_off.approved.v1", "/restance/dunning"));
        assert!(!ok("dunning.write_off.approved.v1", "/restance/invoicing"));
        assert!(!ok("dunning.write_off.approved.v1", "/billing/daycare"));
        assert!(ok("dunning.claim.handed_over.v1", "/restance/dunning"));
        assert!(!ok("dunning.claim.handed_over.v1", "/restance/invoicing"));
        assert!(ok("calendar.day.opened.v1", "/restance/calendar"));
        assert!(!ok("calendar.day.opened.v1", "/restance/cli"));
        assert!(ok("billing.invoice.issued.v1", "/billing/daycare"));
        assert!(!ok("billing.invoice.issued.v1", "/bank/nets"));
        assert!(ok("bank.payment.received.v1", "/bank/nets"));
        assert!(!ok("bank.payment.received.v1", "/restance/invoicing"));
        for s in [
            "/restance/dunning",
            "/restance/agreements",
            "/restance/reporting",
        ] {
            assert!(ok("notifications.notification.requested.v1", s), "{s}");
        }
        assert!(!ok(
            "notifications.notification.requested.v1",
            "/restance/notifications"
        ));
        assert!(ok("dunning.message.rejected.v1", "/restance/dunning"));
        assert!(!ok("a.type.nobody.knows.v1", "/restance/dunning"));
    }

    #[test]
    fn the_reason_names_the_source_the_type_and_who_may_send_it() {
        let senders = Senders::new(&SendersSettings::default());
        let r = senders
            .check("dunning.write_off.approved.v1", "/billing/daycare")
            .expect_err("not dunning");
        assert_eq!(
            r.reason,
            "unexpected source /billing/daycare for dunning.write_off.approved.v1 \
             (allowed: /restance/dunning)"
        );
        let r = senders
            .check("notifications.notification.requested.v1", "/x")
            .expect_err("not a service that writes to debtors");
        assert_eq!(
            r.reason,
            "unexpected source /x for notifications.notification.requested.v1 (allowed: \
             /restance/dunning, /restance/agreements, /restance/guarantee, /restance/reporting, \
             /restance/counselling)"
        );
    }

    #[test]
    fn a_configured_list_replaces_the_default_of_its_type_only() {
        let settings = SendersSettings {
            configured: [
                (
                    "bank.payment.received.v1".to_owned(),
                    vec!["/bank/nets".to_owned()],
                ),
                ("billing.invoice.credited.v1".to_owned(), vec![]),
            ]
            .into(),
        };
        assert!(settings.problems().is_empty(), "{:?}", settings.problems());
        let senders = Senders::new(&settings);
        assert!(
            senders
                .check("bank.payment.received.v1", "/bank/nets")
                .is_ok()
        );
        assert!(
            senders
                .check("bank.payment.received.v1", "/bank/other")
                .is_err()
        );
        let r = senders
            .check("billing.invoice.credited.v1", "/billing/daycare")
            .expect_err("an empty list refuses everyone");
        assert!(r.reason.ends_with("(allowed: none)"), "{}", r.reason);
        assert!(
            senders
                .check("billing.invoice.issued.v1", "/billing/daycare")
                .is_ok(),
            "other types keep their defaults"
        );
    }

    #[test]
    fn a_configured_list_that_cannot_be_used_is_listed_with_where() {
        let settings = SendersSettings {
            configured: [
                (
                    "dunning.write_off.aproved.v1".to_owned(),
                    vec!["/restance/dunning".to_owned()],
                ),
                (
                    "bank.payment.received.v1".to_owned(),
                    vec!["/bank/*".to_owned(), "/bank/*/x".to_owned()],
                ),
            ]
            .into(),
        };
        let problems = settings.problems().join("\n");
        assert!(
            problems.contains("senders.\"dunning.write_off.aproved.v1\": not a message type")
                && problems.contains("senders.\"bank.payment.received.v1\"[1]: \"/bank/*/x\""),
            "{problems}"
        );
    }

    /// The shipped `[senders]` reads with its dotted keys whole, names only inbound types, and
    /// says what the defaults say (the file documents them; the code holds them without it).
    #[test]
    fn the_shipped_lists_are_the_defaults() {
        let shipped =
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/restance.toml");
        let settings = crate::Settings::load_from("dunning", Some(&shipped), false)
            .expect("shipped config is valid");
        let configured = &settings.senders.configured;
        assert!(
            configured.len() >= 20,
            "the shipped file lists the inbound types: {configured:?}"
        );
        for (message_type, patterns) in configured {
            assert_eq!(
                patterns,
                &default_senders(message_type),
                "{message_type}: the file and the defaults disagree"
            );
        }
        assert_eq!(
            configured.get("dunning.write_off.approved.v1"),
            Some(&vec!["/restance/dunning".to_owned()])
        );
    }
}
