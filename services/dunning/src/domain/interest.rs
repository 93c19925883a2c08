//! Default interest: which periods a claim owes interest for, and how much.
//!
//! **Periods.** Period `n` (1, 2, …) runs from the day after `due + (n−1) months` to
//! `due + n months`, each boundary computed from the due date (31 January → 28 February → 31
//! March), so the periods are contiguous and never drift.
//!
//! **Rules** (DOMAIN.md, "Rules and parameters"):
//! - `monthly_started` (Danish municipal claims, 1 % per started month): a period is owed on its
//!   first day — the month has started — at `rate` % of the open principal;
//! - `annual_over_reference` (renteloven; Norway's forsinkelsesrente = policy rate + 8): assessed
//!   the day after the period ends, principal × (reference + margin) % × days / 365 (actual days,
//!   365-day year).
//!
//! Each period is assessed at most once (`interest_id` = claim + first day); the rate is that of
//! the policy version in force on the period's first day. Interest is on the principal open when
//! it is assessed (after a skipped day, missed periods are caught up at today's principal).
//! **Holds**: a period whose first day falls in a hold that does not let interest run
//! (`interest_continues_during`) is not charged (`monthly_started`); under `annual_over_reference`
//! the held days are left out. **Limitation**: no interest from the limitation date on, none at
//! all once the claim's limitation date has passed (not even back interest for earlier periods),
//! and none for a period whose own interest would be statute-barred when first assessed.
//! **Threshold**: a policy's `threshold.min_interest` leaves out a period's charge below it.
//! **Rounding**: to øre, half away from zero ([`Money::round_from`], the kernel's one rounding
//! rule). Decimal arithmetic only.

use chrono::Months;
use restance_kernel::{BusinessDate, Money};
use rust_decimal::Decimal;

use crate::domain::policy::{Policy, PolicyVersion, RateUnit};
use crate::domain::view::{ClaimState, Hold};

/// One interest period of a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InterestPeriod {
    /// 1 for the first month after the due date.
    pub number: u32,
    /// First day.
    pub from: BusinessDate,
    /// Last day (inclusive).
    pub to: BusinessDate,
}

impl InterestPeriod {
    /// Number of days in the period.
    pub fn days(&self) -> i64 {
        self.from.days_until(self.to) + 1
    }
}

/// Interest owed for one period, ready to publish as `dunning.interest.assessed.v1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterestCharge {
    /// The period.
    pub period: InterestPeriod,
    /// The rate in percent per `unit`, with at least two decimals (`1.00`, `12.50`).
    pub rate: Decimal,
    /// Per started month or per year.
    pub unit: RateUnit,
    /// Days charged (the period's days less held days; for `monthly_started` all of them).
    pub days: u32,
    /// The principal the interest was computed on.
    pub principal: Money,
    /// The interest, rounded to øre; always positive.
    pub amount: Money,
    /// The policy version in force on the period's first day.
    pub version: u32,
}

fn add_months(date: BusinessDate, months: u32) -> Option<BusinessDate> {
    date.as_naive()
        .checked_add_months(Months::new(months))
        .map(BusinessDate::from)
}

/// Period `number` (≥ 1) of a claim due on `due`.
pub fn period(due: BusinessDate, number: u32) -> Option<InterestPeriod> {
    let start = add_months(due, number.checked_sub(1)?)?;
    Some(InterestPeriod {
        number,
        from: start.checked_add_days(1)?,
        to: add_months(due, number)?,
    })
}

/// The number of the period that contains `day` (the first period for days up to its end).
pub fn period_number_on(due: BusinessDate, day: BusinessDate) -> u32 {
    let months = (i64::from(day.year()) - i64::from(due.year())) * 12 + i64::from(day.month())
        - i64::from(due.month());
    let mut n = u32::try_from(months.max(1)).unwrap_or(1);
    while n > 1 && period(due, n).is_some_and(|p| p.from > day) {
        n -= 1;
    }
    while period(due, n).is_some_and(|p| p.to < day) {
        n += 1;
    }
    n
}

/// The day a period's interest is assessed: its first day per started month, the day after it
/// ends per year.
pub fn assessed_on(unit: RateUnit, period: &InterestPeriod) -> Option<BusinessDate> {
    match unit {
        RateUnit::PerStartedMonth => Some(period.from),
        RateUnit::PerYear => period.to.checked_add_days(1),
    }
}

/// The first period not yet settled by an earlier assessment: periods up to the last assessed
/// one were either assessed or, deterministically, not owed.
fn first_open_period(claim: &ClaimState) -> u32 {
    claim
        .history
        .interest_assessed
        .iter()
        .max()
        .map_or(1, |last| period_number_on(claim.due_date, *last) + 1)
}

/// True if interest may be charged on the claim at all.
fn accrues(claim: &ClaimState, policy: &Policy) -> bool {
    claim.is_active()
        && claim.balance.principal.is_positive()
        && claim.history.write_off_proposed.is_none()
        && policy
            .versions
            .iter()
            .any(|v| v.interest.rate_percent().is_some())
}

/// True if `day` is in a hold that stops interest under `version`.
fn interest_held(version: &PolicyVersion, holds: &[&Hold], day: BusinessDate) -> bool {
    holds
        .iter()
        .any(|h| h.active_on(day) && !version.interest_continues_during.contains(&h.kind))
}

/// Every interest charge the claim owes on `today` and has not been assessed: `holds` are
/// the holds covering the claim, `limitation` its limitation date.
pub fn due_charges(
    claim: &ClaimState,
    holds: &[&Hold],
    policy: &Policy,
    limitation: BusinessDate,
    today: BusinessDate,
) -> Vec<InterestCharge> {
    let mut charges = Vec::new();
    if !accrues(claim, policy) || today >= limitation {
        return charges;
    }
    let mut n = first_open_period(claim);
    while let Some(p) = period(claim.due_date, n) {
        if p.from >= limitation || p.from > today {
            break;
        }
        n += 1;
        let Some(version) = policy.version_on(p.from) else {
            continue;
        };
        let Some((rate, unit)) = version.interest.rate_percent() else {
            continue;
        };
        let Some(on) = assessed_on(unit, &p) else {
            continue;
        };
        if on > today
            || claim.history.interest_assessed_for(p.from)
            || interest_barred(claim, on, version.limitation_years, today)
        {
            continue;
        }
        if let Some(charge) = charge(claim, holds, version, p, rate, unit, limitation)
            && version
                .threshold
                .as_ref()
                .and_then(|t| t.min_interest)
                .is_none_or(|min| charge.amount >= min)
        {
            charges.push(charge);
        }
    }
    charges
}

/// True if the interest of a period that fell due on `owed_from` is itself statute-barred on
/// `today` (DOMAIN.md, Limitation: each interest amount has its own limitation, from the day it
/// is owed or the debtor's later acknowledgement). Dunning that first looks at an old claim
/// late never assesses such back interest.
fn interest_barred(
    claim: &ClaimState,
    owed_from: BusinessDate,
    years: u32,
    today: BusinessDate,
) -> bool {
    let start = [Some(owed_from), claim.last_acknowledged]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(owed_from);
    years
        .checked_mul(12)
        .and_then(|m| start.as_naive().checked_add_months(Months::new(m)))
        .is_none_or(|barred| BusinessDate::from(barred) <= today)
}

/// The interest for one period, or `None` if nothing is owed for it.
fn charge(
    claim: &ClaimState,
    holds: &[&Hold],
    version: &PolicyVersion,
    period: InterestPeriod,
    rate: Decimal,
    unit: RateUnit,
    limitation: BusinessDate,
) -> Option<InterestCharge> {
    let principal = claim.balance.principal;
    if !rate.is_sign_positive() || rate.is_zero() {
        return None;
    }
    let (days, raw) = match unit {
        RateUnit::PerStartedMonth => {
            if interest_held(version, holds, period.from) {
                return None;
            }
            let days = u32::try_from(period.days()).ok()?;
            let raw = principal
                .as_decimal()
                .checked_mul(rate)?
                .checked_div(Decimal::ONE_HUNDRED)?;
            (days, raw)
        }
        RateUnit::PerYear => {
            let days = chargeable_days(version, holds, &period, limitation);
            let raw = principal
                .as_decimal()
                .checked_mul(rate)?
                .checked_mul(Decimal::from(days))?
                .checked_div(Decimal::from(36_500))?;
            (days, raw)
        }
    };
    let amount = Money::try_round_from(raw).ok()?;
    amount.is_positive().then(|| InterestCharge {
        period,
        rate: at_least_two_decimals(rate),
        unit,
        days,
        principal,
        amount,
        version: version.version,
    })
}

/// Days of the period before the limitation date that are not in an interest-stopping hold.
fn chargeable_days(
    version: &PolicyVersion,
    holds: &[&Hold],
    period: &InterestPeriod,
    limitation: BusinessDate,
) -> u32 {
    let mut days = 0;
    let mut day = period.from;
    while day <= period.to && day < limitation {
        if !interest_held(version, holds, day) {
            days += 1;
        }
        match day.checked_add_days(1) {
            Some(next) => day = next,
            None => break,
        }
    }
    days
}

/// `1` → `1.00`; `12.125` stays.
fn at_least_two_decimals(rate: Decimal) -> Decimal {
    let mut r = rate;
    if r.scale() < 2 {
        r.rescale(2);
    }
    r
}

/// The next day after `today` on which the claim may owe interest, if any.
pub fn next_assessment_after(
    claim: &ClaimState,
    policy: &Policy,
    limitation: BusinessDate,
    today: BusinessDate,
) -> Option<BusinessDate> {
    if !accrues(claim, policy) || today >= limitation {
        return None;
    }
    let mut n = first_open_period(claim).max(period_number_on(claim.due_date, today));
    while let Some(p) = period(claim.due_date, n) {
        if p.from >= limitation {
            return None;
        }
        n += 1;
        let unit = policy
            .version_on(p.from)
            .and_then(|v| v.interest.rate_percent())
            .map(|(_, unit)| unit);
        // a period without a rule may get one from a later version: its first day is then the
        // earliest the answer can change
        let on = match unit {
            Some(unit) => assessed_on(unit, &p)?,
            None => p.from,
        };
        if on > today && !claim.history.interest_assessed_for(p.from) {
            return Some(on);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::policy::InterestRule;
    use crate::domain::view::{
        CategoryFlags, ClaimBalance, ClaimHistory, ClaimStatus, HoldKind, Scope,
    };
    use restance_kernel::Currency;

    fn d(s: &str) -> BusinessDate {
        s.parse().expect("test date")
    }

    fn m(s: &str) -> Money {
        Money::parse(s).expect("test money")
    }

    fn claim(due: &str, principal: &str) -> ClaimState {
        ClaimState {
            claim_id: "C-1".into(),
            category: "other".into(),
            flags: CategoryFlags::default(),
            office: "main".into(),
            currency: Currency::Dkk,
            due_date: d(due),
            balance: ClaimBalance {
                principal: m(principal),
                ..ClaimBalance::default()
            },
            payment_reference: None,
            status: ClaimStatus::Open,
            last_acknowledged: None,
            prepayment: false,
            direct_debit: false,
            history: ClaimHistory::default(),
        }
    }

    fn policy(rule: InterestRule, continues: Vec<HoldKind>) -> Policy {
        Policy {
            name: String::new(),
            jurisdiction: "j".into(),
            versions: vec![PolicyVersion {
                version: 1,
                effective_from: d("2020-01-01"),
                steps: vec![],
                interest: rule,
                interest_continues_during: continues,
                special_consideration: None,
                limitation_years: 3,
                transfer: Default::default(),
                threshold: None,
                write_off_notice: false,
                pre_due_notice: None,
            }],
        }
    }

    fn monthly() -> InterestRule {
        InterestRule::MonthlyStarted {
            rate_percent: Decimal::ONE,
        }
    }

    fn annual(reference: i64, margin: i64) -> InterestRule {
        InterestRule::AnnualOverReference {
            reference_rate_percent: Decimal::new(reference, 2),
            margin_percent: Decimal::new(margin, 2),
        }
    }

    #[test]
    fn periods_are_contiguous_months_counted_from_the_due_date() {
        let due = d("2027-01-31");
        let p: Vec<_> = (1..=4).map(|n| period(due, n).expect("period")).collect();
        assert_eq!((p[0].from, p[0].to), (d("2027-02-01"), d("2027-02-28")));
        assert_eq!((p[1].from, p[1].to), (d("2027-03-01"), d("2027-03-31")));
        assert_eq!((p[2].from, p[2].to), (d("2027-04-01"), d("2027-04-30")));
        assert_eq!((p[3].from, p[3].to), (d("2027-05-01"), d("2027-05-31")));
        for w in p.windows(2) {
            assert_eq!(w[0].to.add_days(1), w[1].from);
        }
        assert_eq!(period_number_on(due, d("2027-03-15")), 2);
        assert_eq!(period_number_on(due, d("2027-02-01")), 1);
        assert_eq!(period_number_on(due, d("2027-01-10")), 1);
        assert_eq!(period_number_on(due, d("2027-05-31")), 4);
    }

    #[test]
    fn danish_interest_is_one_percent_per_started_month_from_the_day_after_due() {
        let c = claim("2026-12-15", "2150.00");
        let p = policy(monthly(), vec![]);
        let lim = d("2029-12-15");
        assert!(due_charges(&c, &[], &p, lim, d("2026-12-15")).is_empty());
        let first = due_charges(&c, &[], &p, lim, d("2026-12-16"));
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].amount, m("21.50"));
        assert_eq!(first[0].rate.to_string(), "1.00");
        assert_eq!(
            (first[0].period.from, first[0].period.to),
            (d("2026-12-16"), d("2027-01-15"))
        );
        let caught_up = due_charges(&c, &[], &p, lim, d("2027-02-16"));
        assert_eq!(
            caught_up.len(),
            3,
            "three started months: Dec 16, Jan 16, Feb 16"
        );
        assert_eq!(
            next_assessment_after(&c, &p, lim, d("2026-12-16")),
            Some(d("2027-01-16")),
            "the next period starts a month later"
        );
    }

    #[test]
    fn an_assessed_period_is_never_charged_again() {
        let mut c = claim("2026-12-15", "2150.00");
        let p = policy(monthly(), vec![]);
        let lim = d("2029-12-15");
        c.history.interest_assessed.push(d("2026-12-16"));
        let charges = due_charges(&c, &[], &p, lim, d("2027-01-16"));
        assert_eq!(charges.len(), 1);
        assert_eq!(charges[0].period.from, d("2027-01-16"));
        assert_eq!(
            next_assessment_after(&c, &p, lim, d("2027-01-10")),
            Some(d("2027-01-16"))
        );
    }

    #[test]
    fn interest_rounds_half_away_from_zero_to_oere() {
        let c = claim("2026-12-15", "0.50");
        let p = policy(monthly(), vec![]);
        let charges = due_charges(&c, &[], &p, d("2029-12-15"), d("2026-12-16"));
        assert_eq!(charges[0].amount, m("0.01"), "0.005 rounds up");
        let tiny = claim("2026-12-15", "0.49");
        assert!(due_charges(&tiny, &[], &p, d("2029-12-15"), d("2026-12-16")).is_empty());
    }

    #[test]
    fn annual_interest_is_charged_per_day_after_the_period_ends() {
        // 10 000 × 12 % × 31 / 365 = 101.917… → 101.92
        let c = claim("2026-12-15", "10000.00");
        let p = policy(annual(400, 800), vec![]);
        let lim = d("2029-12-15");
        assert!(due_charges(&c, &[], &p, lim, d("2027-01-15")).is_empty());
        let charges = due_charges(&c, &[], &p, lim, d("2027-01-16"));
        assert_eq!(charges.len(), 1);
        assert_eq!(charges[0].days, 31);
        assert_eq!(charges[0].amount, m("101.92"));
        assert_eq!(charges[0].rate.to_string(), "12.00");
        assert_eq!(
            next_assessment_after(&c, &p, lim, d("2027-01-15")),
            Some(d("2027-01-16"))
        );
    }

    #[test]
    fn a_deferral_stops_interest_unless_the_policy_lets_it_run() {
        let c = claim("2026-12-15", "10000.00");
        let deferral = Hold {
            hold_id: "D-1".into(),
            kind: HoldKind::Deferral,
            scope: Scope::Debtor,
            from: d("2026-12-20"),
            until: Some(d("2027-01-09")),
        };
        let holds = [&deferral];
        let stopped = policy(annual(400, 800), vec![HoldKind::Plan]);
        let charges = due_charges(&c, &holds, &stopped, d("2029-12-15"), d("2027-01-16"));
        assert_eq!(charges[0].days, 10, "31 days less 21 held");
        let runs = policy(annual(400, 800), vec![HoldKind::Deferral]);
        let charges = due_charges(&c, &holds, &runs, d("2029-12-15"), d("2027-01-16"));
        assert_eq!(charges[0].days, 31);
        let monthly_stopped = policy(monthly(), vec![]);
        let early = Hold {
            from: d("2026-12-16"),
            ..deferral.clone()
        };
        assert!(
            due_charges(
                &c,
                &[&early],
                &monthly_stopped,
                d("2029-12-15"),
                d("2026-12-20")
            )
            .is_empty(),
            "the month started during the deferral"
        );
    }

    #[test]
    fn no_interest_from_the_limitation_date_or_on_closed_claims() {
        let c = claim("2026-12-15", "1000.00");
        let p = policy(monthly(), vec![]);
        let charges = due_charges(&c, &[], &p, d("2027-02-01"), d("2027-01-20"));
        assert_eq!(
            charges.len(),
            2,
            "Dec 16 and Jan 16 start before the limitation date"
        );
        assert!(
            due_charges(&c, &[], &p, d("2027-02-01"), d("2027-06-01")).is_empty(),
            "no back interest once the limitation date has passed (issue 22, item 10)"
        );
        assert_eq!(
            next_assessment_after(&c, &p, d("2027-02-01"), d("2027-01-20")),
            None
        );
        let mut settled = c.clone();
        settled.status = ClaimStatus::Settled;
        assert!(due_charges(&settled, &[], &p, d("2029-12-15"), d("2027-06-01")).is_empty());
        let none = policy(InterestRule::None, vec![]);
        assert!(due_charges(&c, &[], &none, d("2029-12-15"), d("2027-06-01")).is_empty());
        assert_eq!(
            next_assessment_after(&c, &none, d("2029-12-15"), d("2027-06-01")),
            None
        );
    }
}
