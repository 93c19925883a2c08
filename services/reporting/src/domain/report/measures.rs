//! "Measures taken" (seed 000: *redegørelse over forløb af restancetiltag*): what the collection
//! office did in the report's period, counted, against the same period 12 months earlier — and
//! the prepayments that are outstanding (not arrears: seed 000 introduced prepayment so that
//! nobody falls into arrears for a permit).
//!
//! Where each count comes from (the bus events reporting consumes, stamped with the business
//! date they were applied on, like every other change):
//!
//! | measure | event | counts |
//! |---|---|---|
//! | reminders | `dunning.reminder.issued.v1` whose template is not `meeting_offer` | letters (one letter may name several claims) |
//! | meetings offered | `dunning.reminder.issued.v1` with template `meeting_offer` | letters; an offer dunning's social gate sends outside the step sequence is not published as a reminder and is not counted |
//! | fees | `dunning.fee.assessed.v1` | fees |
//! | meetings held | `agreements.meeting.held.v1` | meetings |
//! | plans made | `agreements.plan.created.v1` for a plan reporting has not seen (a revision is not a new plan) | plans |
//! | plans broken | `agreements.plan.defaulted.v1` of a plan not ended already | plans |
//! | deferrals | `agreements.deferral.granted.v1` for a deferral reporting has not seen | deferrals |
//! | transfers | `dunning.claim.handed_over.v1` | claims (the flows' count) |
//! | distraints | `dunning.distraint.recorded.v1` (the caseworker recorded the municipality's own distraint) | distraints (one per case, however many claims it names; a repeat naming only claims already under distraint is not counted again) |
//! | write-offs | `invoicing.claim.written_off.v1` | claims (the flows' count) |
//! | campaigns | `dunning.campaign.sent.v1` (a second caseworker approved the campaign and its notices went out) | campaigns (one per campaign, however many debtors; a redelivery is not counted again); each one's outcome is its own section ([`super::campaigns`]) |
//!
//! A measure without an event is shown as "not recorded", never as 0: a zero would tell the
//! council nothing was done. When its event comes, the measure gets a route that counts it
//! (`Measure::recorded` then says `true`), and the stored daily counts fill the row from then
//! on. The comparison with 12 months earlier is blank ("no figures") when that period began
//! before reporting's first business day: a part of a period would be a false comparison.

use restance_kernel::{Language, Money};
use serde::{Deserialize, Serialize};

/// One kind of measure the collection office takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Reminder letters (and notices sent as a dunning step).
    Reminders,
    /// Meeting offers sent as a dunning step (sættemøde).
    MeetingsOffered,
    /// Fees assessed.
    Fees,
    /// Meetings held with the citizen.
    MeetingsHeld,
    /// Payment plans made.
    PlansMade,
    /// Payment plans broken (defaulted).
    PlansBroken,
    /// Deferrals granted (henstand).
    Deferrals,
    /// Claims transferred to state collection.
    Transfers,
    /// Distraints made by the municipality (udlæg).
    Distraints,
    /// Claims written off.
    WriteOffs,
    /// Campaigns sent (company notice, settlement visit, direct debit, information).
    Campaigns,
}

impl Measure {
    /// Every measure, in the order the report lists them.
    pub const ALL: [Measure; 11] = [
        Measure::Reminders,
        Measure::MeetingsOffered,
        Measure::Fees,
        Measure::MeetingsHeld,
        Measure::PlansMade,
        Measure::PlansBroken,
        Measure::Deferrals,
        Measure::Transfers,
        Measure::Distraints,
        Measure::WriteOffs,
        Measure::Campaigns,
    ];

    /// The snake_case name used in storage and the files.
    pub const fn as_str(self) -> &'static str {
        match self {
            Measure::Reminders => "reminders",
            Measure::MeetingsOffered => "meetings_offered",
            Measure::Fees => "fees",
            Measure::MeetingsHeld => "meetings_held",
            Measure::PlansMade => "plans_made",
            Measure::PlansBroken => "plans_broken",
            Measure::Deferrals => "deferrals",
            Measure::Transfers => "transfers",
            Measure::Distraints => "distraints",
            Measure::WriteOffs => "write_offs",
            Measure::Campaigns => "campaigns",
        }
    }

    /// The measure a stored name stands for.
    pub fn parse(s: &str) -> Option<Measure> {
        Measure::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// Whether reporting receives an event for it. `false`: the report says "not recorded".
    /// Set to `true` in the same change that routes the measure's event (see the module
    /// documentation).
    pub const fn recorded(self) -> bool {
        // Every measure has its event now (campaigns: `dunning.campaign.sent.v1`).
        let _ = self;
        true
    }

    /// Whether its count comes from the flows (claims transferred / written off) rather than
    /// the daily measure counts.
    pub const fn from_flows(self) -> bool {
        matches!(self, Measure::Transfers | Measure::WriteOffs)
    }

    /// What `dunning.reminder.issued.v1` with this template counts as.
    pub fn of_letter(template: &str) -> Measure {
        if template == "meeting_offer" {
            Measure::MeetingsOffered
        } else {
            Measure::Reminders
        }
    }

    /// The row's name in the report's language.
    pub fn label(self, language: Language) -> &'static str {
        use Language::*;
        use Measure::*;
        match (self, language) {
            (Reminders, Da) => "Rykkere",
            (Reminders, Kl) => "Eqqaasitsissutit",
            (Reminders, Nb) => "Purringer",
            (Reminders, En) => "Reminders",
            (MeetingsOffered, Da) => "Tilbud om sættemøde",
            (MeetingsOffered, Kl) => "Ataatsimeeqatigiinnissamik neqeroorutit",
            (MeetingsOffered, Nb) => "Tilbud om møte",
            (MeetingsOffered, En) => "Meetings offered",
            (Fees, Da) => "Gebyrer pålagt",
            (Fees, Kl) => "Akitsuutit",
            (Fees, Nb) => "Gebyrer ilagt",
            (Fees, En) => "Fees charged",
            (MeetingsHeld, Da) => "Sættemøder holdt",
            (MeetingsHeld, Kl) => "Ataatsimeeqatigiinnerit",
            (MeetingsHeld, Nb) => "Møter holdt",
            (MeetingsHeld, En) => "Meetings held",
            (PlansMade, Da) => "Afdragsordninger indgået",
            (PlansMade, Kl) => "Akiliisarnissamik isumaqatigiissutit",
            (PlansMade, Nb) => "Betalingsavtaler inngått",
            (PlansMade, En) => "Payment plans made",
            (PlansBroken, Da) => "Afdragsordninger misligholdt",
            (PlansBroken, Kl) => "Akiliisarnissamik isumaqatigiissutit unitsinneqartut",
            (PlansBroken, Nb) => "Betalingsavtaler misligholdt",
            (PlansBroken, En) => "Payment plans broken",
            (Deferrals, Da) => "Henstand bevilget",
            (Deferrals, Kl) => "Kinguartitsinerit",
            (Deferrals, Nb) => "Betalingsutsettelser innvilget",
            (Deferrals, En) => "Deferrals granted",
            (Transfers, Da) => "Krav overdraget til inddrivelse",
            (Transfers, Kl) => "Akiligassat katersuisartunut ingerlateqqitat",
            (Transfers, Nb) => "Krav overført til statlig innkreving",
            (Transfers, En) => "Claims transferred to state collection",
            (Distraints, Da) => "Udlæg foretaget af kommunen",
            (Distraints, Kl) => "Kommunip arsaarinera",
            (Distraints, Nb) => "Utlegg tatt av kommunen",
            (Distraints, En) => "Distraints by the municipality",
            (WriteOffs, Da) => "Krav afskrevet",
            (WriteOffs, Kl) => "Akiligassat peerneqartut",
            (WriteOffs, Nb) => "Krav avskrevet",
            (WriteOffs, En) => "Claims written off",
            (Campaigns, Da) => "Kampagner",
            (Campaigns, Kl) => "Kampagnit",
            (Campaigns, Nb) => "Kampanjer",
            (Campaigns, En) => "Campaigns",
        }
    }
}

/// One row of "measures taken": the count in the period and in the same period a year earlier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeasureRow {
    /// The measure.
    pub measure: Measure,
    /// In the report's period; `None`: not recorded (no event for it yet).
    pub now: Option<u64>,
    /// In the same period 12 months earlier; `None`: not recorded, or that period began before
    /// reporting's first business day (no figures).
    pub then: Option<u64>,
}

impl MeasureRow {
    /// `now − then`, when both are known.
    pub fn change(&self) -> Option<i64> {
        let now = i64::try_from(self.now?).ok()?;
        let then = i64::try_from(self.then?).ok()?;
        now.checked_sub(then)
    }
}

/// The measures of a period and of the one compared with, in [`Measure::ALL`] order: `now` and
/// `then` give a measure's count (`then` is `None` when there are no figures for that period);
/// a measure that is not [`Measure::recorded`] gets `None` on both sides whatever they say.
pub fn measure_rows(
    now: impl Fn(Measure) -> u64,
    then: Option<&dyn Fn(Measure) -> u64>,
) -> Vec<MeasureRow> {
    Measure::ALL
        .into_iter()
        .map(|measure| {
            if measure.recorded() {
                MeasureRow {
                    measure,
                    now: Some(now(measure)),
                    then: then.map(|t| t(measure)),
                }
            } else {
                MeasureRow {
                    measure,
                    now: None,
                    then: None,
                }
            }
        })
        .collect()
}

/// The prepayment claims outstanding at the end of the as-of date (not arrears; reported apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Prepayments {
    /// Unpaid prepayment claims.
    pub claims: u64,
    /// What is open on them.
    pub amount: Money,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_meeting_offer_letter_is_a_meeting_offered_and_every_other_letter_a_reminder() {
        assert_eq!(
            Measure::of_letter("meeting_offer"),
            Measure::MeetingsOffered
        );
        assert_eq!(Measure::of_letter("reminder_2"), Measure::Reminders);
        assert_eq!(
            Measure::of_letter("company_final_notice"),
            Measure::Reminders
        );
    }

    #[test]
    fn every_measure_is_recorded_and_campaigns_compare_with_a_year_earlier() {
        let rows = measure_rows(|_| 0, Some(&|_| 0));
        assert_eq!(rows.len(), Measure::ALL.len());
        for row in rows {
            assert_eq!((row.now, row.then), (Some(0), Some(0)), "{row:?}");
        }
        assert!(Measure::Campaigns.recorded());
        assert!(!Measure::Campaigns.from_flows());
        let rows = measure_rows(
            |m| u64::from(m == Measure::Campaigns) * 2,
            Some(&|m| u64::from(m == Measure::Campaigns)),
        );
        let row = rows
            .iter()
            .find(|r| r.measure == Measure::Campaigns)
            .expect("campaigns");
        assert_eq!(
            (row.now, row.then, row.change()),
            (Some(2), Some(1), Some(1))
        );
    }

    #[test]
    fn distraints_are_counted_against_the_same_period_a_year_earlier() {
        assert!(Measure::Distraints.recorded());
        assert!(!Measure::Distraints.from_flows());
        let rows = measure_rows(
            |m| u64::from(m == Measure::Distraints) * 3,
            Some(&|m| u64::from(m == Measure::Distraints)),
        );
        let row = rows
            .iter()
            .find(|r| r.measure == Measure::Distraints)
            .expect("distraints");
        assert_eq!(
            (row.now, row.then, row.change()),
            (Some(3), Some(1), Some(2))
        );
        let blank = measure_rows(|_| 2, None);
        let row = blank
            .iter()
            .find(|r| r.measure == Measure::Distraints)
            .expect("distraints");
        assert_eq!((row.now, row.then), (Some(2), None));
    }

    #[test]
    fn without_figures_for_the_earlier_period_the_comparison_is_blank() {
        let rows = measure_rows(|m| if m == Measure::Fees { 7 } else { 1 }, None);
        let fees = rows
            .iter()
            .find(|r| r.measure == Measure::Fees)
            .expect("fees");
        assert_eq!((fees.now, fees.then, fees.change()), (Some(7), None, None));
        let with_then = measure_rows(|_| 3, Some(&|_| 5));
        assert_eq!(with_then[0].change(), Some(-2));
    }

    #[test]
    fn every_measure_has_a_stored_name_and_a_label_in_every_language() {
        for m in Measure::ALL {
            assert_eq!(Measure::parse(m.as_str()), Some(m));
            for l in [Language::Da, Language::Kl, Language::Nb, Language::En] {
                assert!(!m.label(l).is_empty());
            }
        }
    }
}
