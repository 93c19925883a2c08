//! What a benefit paid means for the guarantees: recover it, report it, or only count it.
//!
//! For every `benefits.benefit.paid.v1` the service finds the municipality's guarantees in which
//! the recipient is the spouse or the resident, and [`classify`] decides:
//!
//! - **recoverable** — paid to the *spouse* of a guarantee in force on the paid date, under
//!   aktivloven (lov om aktiv socialpolitik) or integrationsloven: the guarantee under
//!   udlændingeloven § 9, stk. 5 secures the public purse against exactly those benefits to the
//!   reunified spouse;
//! - **report** to the immigration service — paid to the spouse *or* the resident of a guarantee
//!   in force on the paid date whose permit carries a maintenance requirement (forsørgelseskrav),
//!   under any law (seed 004: "alle ydelser"; the duty to report is udlændingeloven § 9,
//!   stk. 23, as the seed cites it); receiving public benefits may cost the permit, so the
//!   authority must know. One benefit can be both recoverable and reported;
//! - **no guarantee** — the recipient is in no guarantee: counted, not an error;
//! - **not recoverable** — linked to a guarantee, but paid under another law, to the resident,
//!   outside the guarantee's period, or already covered by another guarantee.
//!
//! The domain never sees a national id: the service looks the recipient up (by the national ids
//! the registrations carry) and passes each guarantee found with the recipient's [`Role`] in it.
//! Matching ids stays where the ids are stored, and this module stays free of personal data.

use restance_contracts::BenefitLaw;
use restance_kernel::BusinessDate;
use serde::{Deserialize, Serialize};

use crate::domain::guarantee::Guarantee;

/// Who the recipient of a benefit is in a guarantee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The reunified spouse (the guarantee covers benefits paid to them).
    Spouse,
    /// The resident who provided the guarantee.
    Resident,
}

/// A guarantee the recipient of a benefit is part of, and as whom.
#[derive(Debug, Clone, Copy)]
pub struct Link<'a> {
    /// The recipient's role in it.
    pub role: Role,
    /// The guarantee.
    pub guarantee: &'a Guarantee,
}

/// What [`classify`] reads about a benefit paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaidBenefit {
    /// The act it was paid under.
    pub law: BenefitLaw,
    /// The day it was paid.
    pub paid_date: BusinessDate,
}

/// Whether a benefit paid under `law` can be recovered from a guarantee at all: aktivloven and
/// integrationsloven, the two acts udlændingeloven § 9, stk. 5 names.
pub fn is_recoverable_law(law: BenefitLaw) -> bool {
    matches!(law, BenefitLaw::Aktivloven | BenefitLaw::Integrationsloven)
}

/// Why a benefit linked to a guarantee is not recovered from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotRecoverableReason {
    /// Paid under a law other than aktivloven or integrationsloven.
    OtherLaw,
    /// Paid to the resident: the guarantee covers the spouse's benefits.
    PaidToResident,
    /// Paid before the guarantee was registered or after it ended.
    OutsideGuaranteePeriod,
    /// Another guarantee in force for the same spouse recovers it (a payment is recovered once).
    CoveredByAnotherGuarantee,
}

/// A guarantee the benefit is not recovered from, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotRecoverable {
    /// The guarantee.
    pub guarantee_id: String,
    /// The recipient's role in it.
    pub role: Role,
    /// Why not.
    pub reason: NotRecoverableReason,
}

/// A benefit to report to the immigration service under a guarantee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The guarantee whose maintenance requirement makes it reportable (its PersonID goes in the
    /// report).
    pub guarantee_id: String,
    /// Who received the benefit.
    pub role: Role,
}

/// Everything a benefit paid means. Every linked guarantee is either [`recoverable_from`] or in
/// [`not_recoverable`], exactly once; reports come on top.
///
/// [`recoverable_from`]: Classification::recoverable_from
/// [`not_recoverable`]: Classification::not_recoverable
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Classification {
    /// The guarantee the payment is recovered from, if any (at most one).
    pub recoverable_from: Option<String>,
    /// The reports to the immigration service.
    pub reports: Vec<Report>,
    /// The linked guarantees it is not recovered from, with the reason.
    pub not_recoverable: Vec<NotRecoverable>,
}

impl Classification {
    /// True when the recipient is in no guarantee ("no guarantee": counted, not an error).
    pub fn is_no_guarantee(&self) -> bool {
        self.recoverable_from.is_none() && self.not_recoverable.is_empty()
    }

    /// True when a report to the immigration service is due.
    pub fn is_reported(&self) -> bool {
        !self.reports.is_empty()
    }
}

/// Classifies `benefit` against the guarantees the recipient is linked to (see the module
/// documentation for the rules). If the spouse is in more than one guarantee in force that day,
/// the one registered first recovers the payment (it was the first to be given for the spouse;
/// ties by id) and the others say [`NotRecoverableReason::CoveredByAnotherGuarantee`]. The
/// same guarantee linked twice in the same role counts once.
pub fn classify(benefit: &PaidBenefit, links: &[Link<'_>]) -> Classification {
    let mut links: Vec<&Link<'_>> = links.iter().collect();
    links.sort_by(|a, b| {
        (
            a.guarantee.registration().registered_on,
            a.guarantee.id(),
            a.role,
        )
            .cmp(&(
                b.guarantee.registration().registered_on,
                b.guarantee.id(),
                b.role,
            ))
    });
    links.dedup_by(|a, b| a.guarantee.id() == b.guarantee.id() && a.role == b.role);

    let mut out = Classification::default();
    for link in links {
        let guarantee = link.guarantee;
        let in_force = guarantee.in_force_on(benefit.paid_date);
        if in_force && guarantee.maintenance_requirement() {
            out.reports.push(Report {
                guarantee_id: guarantee.id().to_owned(),
                role: link.role,
            });
        }
        let reason = if !is_recoverable_law(benefit.law) {
            Some(NotRecoverableReason::OtherLaw)
        } else if link.role == Role::Resident {
            Some(NotRecoverableReason::PaidToResident)
        } else if !in_force {
            Some(NotRecoverableReason::OutsideGuaranteePeriod)
        } else if out.recoverable_from.is_some() {
            Some(NotRecoverableReason::CoveredByAnotherGuarantee)
        } else {
            None
        };
        match reason {
            Some(reason) => out.not_recoverable.push(NotRecoverable {
                guarantee_id: guarantee.id().to_owned(),
                role: link.role,
                reason,
            }),
            None => out.recoverable_from = Some(guarantee.id().to_owned()),
        }
    }
    out
}

/// How often the recipient of a recoverable benefit gets the guidance letter saying the amount
/// will be recovered from the guarantee (seed 004: the caseworker must tell the citizen).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuidanceLetters {
    /// Once per guarantee: with its first recoverable payment.
    #[default]
    OncePerGuarantee,
    /// With every recoverable payment.
    PerPayment,
}

impl GuidanceLetters {
    /// Whether a recoverable payment gets a guidance letter, given whether one was already sent
    /// for the same guarantee.
    pub fn is_due(self, already_sent_for_guarantee: bool) -> bool {
        match self {
            GuidanceLetters::OncePerGuarantee => !already_sent_for_guarantee,
            GuidanceLetters::PerPayment => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::guarantee::tests::{d, registration};
    use crate::domain::guarantee::{Change, Registration};
    use proptest::prelude::*;
    use restance_contracts::GuaranteeChangeReason;

    fn g(id: &str, registered_on: &str, maintenance: bool) -> Guarantee {
        Guarantee::register(
            id,
            Registration {
                registered_on: d(registered_on),
                maintenance_requirement: maintenance,
                ..registration()
            },
        )
        .expect("valid")
    }

    fn paid(law: BenefitLaw, date: &str) -> PaidBenefit {
        PaidBenefit {
            law,
            paid_date: d(date),
        }
    }

    fn spouse(guarantee: &Guarantee) -> Link<'_> {
        Link {
            role: Role::Spouse,
            guarantee,
        }
    }

    fn resident(guarantee: &Guarantee) -> Link<'_> {
        Link {
            role: Role::Resident,
            guarantee,
        }
    }

    #[test]
    fn a_benefit_to_the_spouse_under_aktivloven_is_recoverable_and_reported() {
        let g1 = g("G-1", "2024-01-15", true);
        let c = classify(&paid(BenefitLaw::Aktivloven, "2025-03-01"), &[spouse(&g1)]);
        assert_eq!(c.recoverable_from.as_deref(), Some("G-1"));
        assert_eq!(
            c.reports,
            [Report {
                guarantee_id: "G-1".into(),
                role: Role::Spouse
            }]
        );
        assert!(c.not_recoverable.is_empty());
        assert!(!c.is_no_guarantee());
        assert!(c.is_reported());
    }

    #[test]
    fn integrationsloven_is_recoverable_too_but_not_reported_without_a_maintenance_requirement() {
        let g1 = g("G-1", "2024-01-15", false);
        let c = classify(
            &paid(BenefitLaw::Integrationsloven, "2025-03-01"),
            &[spouse(&g1)],
        );
        assert_eq!(c.recoverable_from.as_deref(), Some("G-1"));
        assert!(!c.is_reported());
    }

    #[test]
    fn a_benefit_to_the_resident_is_reported_under_a_maintenance_requirement_only() {
        let with = g("G-1", "2024-01-15", true);
        let c = classify(
            &paid(BenefitLaw::Aktivloven, "2025-03-01"),
            &[resident(&with)],
        );
        assert_eq!(c.recoverable_from, None);
        assert_eq!(
            c.not_recoverable[0].reason,
            NotRecoverableReason::PaidToResident
        );
        assert_eq!(c.reports[0].role, Role::Resident);

        let without = g("G-2", "2024-01-15", false);
        let c = classify(
            &paid(BenefitLaw::Aktivloven, "2025-03-01"),
            &[resident(&without)],
        );
        assert!(!c.is_reported());
        assert!(!c.is_no_guarantee(), "linked, so not 'no guarantee'");
    }

    #[test]
    fn another_law_is_reported_but_not_recovered() {
        let g1 = g("G-1", "2024-01-15", true);
        let c = classify(&paid(BenefitLaw::Other, "2025-03-01"), &[spouse(&g1)]);
        assert_eq!(c.recoverable_from, None);
        assert_eq!(c.not_recoverable[0].reason, NotRecoverableReason::OtherLaw);
        assert!(c.is_reported());
    }

    #[test]
    fn a_benefit_for_someone_without_a_guarantee_is_only_counted() {
        let c = classify(&paid(BenefitLaw::Aktivloven, "2025-03-01"), &[]);
        assert!(c.is_no_guarantee());
        assert!(!c.is_reported());
        assert_eq!(c, Classification::default());
    }

    #[test]
    fn a_benefit_outside_the_guarantees_period_is_neither_recovered_nor_reported() {
        let mut g1 = g("G-1", "2024-01-15", true);
        g1.apply(Change::ending(
            GuaranteeChangeReason::Divorce,
            d("2026-05-01"),
        ))
        .expect("valid");
        for date in ["2024-01-14", "2026-05-01", "2030-01-01"] {
            let c = classify(&paid(BenefitLaw::Aktivloven, date), &[spouse(&g1)]);
            assert_eq!(c.recoverable_from, None, "{date}");
            assert_eq!(
                c.not_recoverable[0].reason,
                NotRecoverableReason::OutsideGuaranteePeriod
            );
            assert!(!c.is_reported(), "{date}");
        }
        let last_day = classify(&paid(BenefitLaw::Aktivloven, "2026-04-30"), &[spouse(&g1)]);
        assert_eq!(last_day.recoverable_from.as_deref(), Some("G-1"));
    }

    #[test]
    fn two_guarantees_for_one_spouse_recover_once_from_the_first_registered() {
        let older = g("G-9", "2024-01-15", false);
        let newer = g("G-1", "2025-01-15", true);
        let c = classify(
            &paid(BenefitLaw::Aktivloven, "2025-03-01"),
            &[spouse(&newer), spouse(&older), spouse(&older)],
        );
        assert_eq!(c.recoverable_from.as_deref(), Some("G-9"));
        assert_eq!(
            c.not_recoverable,
            [NotRecoverable {
                guarantee_id: "G-1".into(),
                role: Role::Spouse,
                reason: NotRecoverableReason::CoveredByAnotherGuarantee
            }]
        );
        assert_eq!(c.reports.len(), 1, "G-1 has the maintenance requirement");
    }

    #[test]
    fn the_guidance_letter_goes_once_per_guarantee_or_with_every_payment() {
        assert!(GuidanceLetters::OncePerGuarantee.is_due(false));
        assert!(!GuidanceLetters::OncePerGuarantee.is_due(true));
        assert!(GuidanceLetters::PerPayment.is_due(true));
        assert_eq!(
            GuidanceLetters::default(),
            GuidanceLetters::OncePerGuarantee
        );
    }

    fn arb_law() -> impl Strategy<Value = BenefitLaw> {
        prop_oneof![
            Just(BenefitLaw::Aktivloven),
            Just(BenefitLaw::Integrationsloven),
            Just(BenefitLaw::Other)
        ]
    }

    proptest! {
        #[test]
        fn every_linked_guarantee_is_accounted_for_once(
            specs in proptest::collection::vec((0i64..1_000, any::<bool>(), any::<bool>()), 0..6),
            law in arb_law(),
            paid_offset in 0i64..3_000,
            twice in any::<bool>(),
        ) {
            let guarantees: Vec<Guarantee> = specs
                .iter()
                .enumerate()
                .map(|(i, (offset, maintenance, _))| {
                    g(&format!("G-{i}"), &d("2024-01-15").add_days(*offset).to_string(), *maintenance)
                })
                .collect();
            let mut links: Vec<Link<'_>> = guarantees
                .iter()
                .zip(&specs)
                .map(|(guarantee, (_, _, is_spouse))| Link {
                    role: if *is_spouse { Role::Spouse } else { Role::Resident },
                    guarantee,
                })
                .collect();
            let distinct = links.len();
            if twice {
                links.extend(links.clone());
            }
            let benefit = paid(law, &d("2024-01-15").add_days(paid_offset).to_string());
            let c = classify(&benefit, &links);
            let accounted = c.not_recoverable.len() + usize::from(c.recoverable_from.is_some());
            prop_assert_eq!(accounted, distinct);
            prop_assert_eq!(links.is_empty(), c.is_no_guarantee());
            if let Some(id) = &c.recoverable_from {
                prop_assert!(is_recoverable_law(law));
                let link = links.iter().find(|l| l.guarantee.id() == id).expect("linked");
                prop_assert_eq!(link.role, Role::Spouse);
                prop_assert!(link.guarantee.in_force_on(benefit.paid_date));
            } else {
                // Nothing recovered although a spouse's guarantee was in force: only another law.
                let any_spouse_in_force = links.iter().any(|l| l.role == Role::Spouse && l.guarantee.in_force_on(benefit.paid_date));
                prop_assert!(!any_spouse_in_force || !is_recoverable_law(law));
            }
            prop_assert!(c.reports.len() <= distinct);
            for r in &c.reports {
                let linked = links.iter().find(|l| l.guarantee.id() == r.guarantee_id && l.role == r.role);
                prop_assert!(linked.is_some_and(|l| l.guarantee.maintenance_requirement() && l.guarantee.in_force_on(benefit.paid_date)));
            }
        }
    }
}
