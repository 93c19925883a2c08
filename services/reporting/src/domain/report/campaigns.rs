//! The outcome of the campaigns sent in a report's period (issue 22, item 5): per campaign
//! (`dunning.campaign.sent.v1`), how many of the debtors it was sent to have paid, agreed or not
//! responded, from reporting's own state as of the report's date.
//!
//! The rule, per debtor and the claims the campaign listed for them:
//! - **paid**: every listed claim is settled as of the report's date;
//! - else **agreed**: a payment plan or deferral covering one of the listed claims began on or
//!   after the day the campaign was sent (and by the report's date);
//! - else **no response**.

use restance_kernel::{BusinessDate, Language};
use serde::{Deserialize, Serialize};

/// What became of one debtor a campaign was sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CampaignResponse {
    /// Every listed claim settled.
    Paid,
    /// A plan or deferral on a listed claim begun since the campaign.
    Agreed,
    /// Neither.
    NoResponse,
}

/// The rule: `settled` says, per listed claim, whether it is settled as of the report's date;
/// `agreed` whether an agreement covering one of them began on or after the sent date.
pub fn response(settled: &[bool], agreed: bool) -> CampaignResponse {
    if !settled.is_empty() && settled.iter().all(|s| *s) {
        CampaignResponse::Paid
    } else if agreed {
        CampaignResponse::Agreed
    } else {
        CampaignResponse::NoResponse
    }
}

/// One campaign sent in the period and its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignOutcome {
    /// The campaign (`cmp-…`).
    pub campaign_id: String,
    /// `company_notice`, `settlement_visit`, `direct_debit` or `information`.
    pub kind: String,
    /// The day it was sent.
    pub sent_date: BusinessDate,
    /// The debtors it was sent to.
    pub debtors: u64,
    /// Of them, paid.
    pub paid: u64,
    /// Of them, agreed (and not paid).
    pub agreed: u64,
    /// Of them, no response.
    pub no_response: u64,
}

impl CampaignOutcome {
    /// Adds one debtor's response.
    pub fn count(&mut self, r: CampaignResponse) {
        self.debtors += 1;
        match r {
            CampaignResponse::Paid => self.paid += 1,
            CampaignResponse::Agreed => self.agreed += 1,
            CampaignResponse::NoResponse => self.no_response += 1,
        }
    }
}

/// A campaign kind's name in the report's language (the stored name when unknown).
pub fn campaign_kind_label(kind: &str, language: Language) -> &str {
    use Language::*;
    match (kind, language) {
        ("company_notice", Da) => "Varsel til virksomheder",
        ("company_notice", Kl) => "Suliffeqarfinnut nalunaarut",
        ("company_notice", Nb) => "Varsel til virksomheter",
        ("company_notice", En) => "Company notice",
        ("settlement_visit", Da) => "Afviklingsbesøg",
        ("settlement_visit", Kl) => "Akiliisitsiniarluni ornigunneq",
        ("settlement_visit", Nb) => "Oppgjørsbesøk",
        ("settlement_visit", En) => "Settlement visit",
        ("direct_debit", Da) => "Tilmelding til Betalingsservice",
        ("direct_debit", Kl) => "Betalingsservice-mut nalunaarneq",
        ("direct_debit", Nb) => "Påmelding til AvtaleGiro",
        ("direct_debit", En) => "Direct debit drive",
        ("information", Da) => "Information",
        ("information", Kl) => "Paasissutissiineq",
        ("information", Nb) => "Informasjon",
        ("information", En) => "Information",
        (other, _) => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paid_needs_every_listed_claim_settled_and_wins_over_an_agreement() {
        assert_eq!(response(&[true, true], true), CampaignResponse::Paid);
        assert_eq!(response(&[true, false], true), CampaignResponse::Agreed);
        assert_eq!(
            response(&[true, false], false),
            CampaignResponse::NoResponse
        );
        assert_eq!(response(&[], false), CampaignResponse::NoResponse);
        let mut o = CampaignOutcome {
            campaign_id: "cmp-1".into(),
            kind: "information".into(),
            sent_date: "2027-02-02".parse().expect("date"),
            debtors: 0,
            paid: 0,
            agreed: 0,
            no_response: 0,
        };
        for r in [
            response(&[true], false),
            response(&[false], true),
            response(&[false], false),
        ] {
            o.count(r);
        }
        assert_eq!((o.debtors, o.paid, o.agreed, o.no_response), (3, 1, 1, 1));
        assert_eq!(
            campaign_kind_label("direct_debit", Language::Nb),
            "Påmelding til AvtaleGiro"
        );
    }
}
