//! `calendar.day.opened.v1`: the business day. In the day's transaction, in this order:
//!
//! 1. **The date** is recorded (`business_days`): "today" for the API and for the changes
//!    processed until the next day opens.
//! 2. **Endings that have come** ([`raise_ended`]): a guarantee with no recovery case whose
//!    ending is on or before the day — a change reported ahead of its effective date, or the end
//!    of the binding period without any change — opens its case now
//!    ([`super::recovery::open_case`], `Trigger::GuaranteeEnded`, by the service), under the
//!    guarantee's row lock and its people's locks, as the change handler does. An SQL prefilter
//!    ([`daily::ended_without_case`]) finds them without loading every guarantee.
//! 3. **The limitation watch** ([`watch_limitation`]): for every guarantee with no case and a
//!    recoverable payment that may expire within the window (SQL prefilter on the paid date,
//!    [`daily::watch_candidates`]), [`crate::domain::watch()`]; each payment of an alert is
//!    alerted **once** (`watch_alerts`, keyed by guarantee and benefit): the municipality's
//!    administrator gets one e-mail (`guarantee_expiry_alert`, notification id
//!    `guarantee:<guarantee>:guarantee_expiry_alert:<day>`) with the payments first alerted that
//!    day, their deadlines, the amount at risk and the earliest deadline. With no administrator
//!    configured the alert is recorded all the same (the API can show it), a warning is logged
//!    and `restance_guarantee_watch_alerts_total{outcome="no_administrator"}` counted. Because
//!    the domain's window always reaches the day before the next business day, a payment whose
//!    deadline falls on a weekend or holiday is alerted on the business day before it: nothing
//!    recoverable expires without its alert (`tests/daily.rs` proves it over the broker).
//! 4. **The daily file** ([`daily_file`]): the reports to the immigration service of the
//!    previous business days not yet in a file become one CSV ([`crate::daily_file::csv`]) in
//!    `report_files` under the day; a day with nothing to report makes no file.
//!
//! 5. **Retention** ([`super::retention`]): the personal data of the guarantees that ended more
//!    than the period ago, their cases all ended, is erased.
//!
//! Everything is keyed, so a redelivered day does nothing twice.

use std::collections::{BTreeMap, BTreeSet};

use restance_bus::{Effects, HandlerError, Outcome};
use restance_contracts::messages::{NotificationRequested, Related};
use restance_kernel::{BusinessDate, Money};
use sea_orm::DatabaseTransaction;
use serde_json::json;

use crate::domain::{Actor, Alert, Limitation, Trigger, watch};
use crate::metrics;
use crate::state::Shared;
use crate::store::queries::daily::{self, AlertedPayment};
use crate::store::queries::{benefits, days, guarantees, word};

/// The administrator's e-mail when recoverable payments are about to expire.
pub const EXPIRY_ALERT: &str = "guarantee_expiry_alert";

/// Records the day opened and does the day's work (see the module documentation).
pub async fn open(
    shared: &Shared,
    tx: &DatabaseTransaction,
    effects: &mut Effects,
    day: BusinessDate,
    message_id: &str,
) -> Result<Outcome, HandlerError> {
    days::record(tx, day).await?;
    let raised = raise_ended(shared, tx, effects, day, message_id).await?;
    let alerted = watch_limitation(shared, tx, effects, day).await?;
    let filed = daily_file(tx, day).await?;
    super::quarterly::on_day(shared, tx, effects, day).await?;
    let erased = super::retention::erase_due(tx, &shared.retention, day).await?;
    tracing::info!(%day, raised, alerted, filed, erased, "business day opened");
    Ok(Outcome::Done)
}

/// Opens the case of every guarantee with no case whose ending is on or before `day`; the
/// number of cases opened.
pub async fn raise_ended(
    shared: &Shared,
    tx: &DatabaseTransaction,
    effects: &mut Effects,
    day: BusinessDate,
    message_id: &str,
) -> Result<usize, HandlerError> {
    let mut opened = 0;
    for id in daily::ended_without_case(tx, day).await? {
        let Some(stored) = guarantees::find_for_update(tx, &id).await? else {
            continue;
        };
        let people = [
            stored.resident_national_id.expose().as_str(),
            stored.spouse_national_id.expose().as_str(),
        ];
        guarantees::lock_people(tx, &stored.municipality, &people).await?;
        let guarantee = guarantees::load(tx, &stored).await?;
        let ending = guarantee.ending();
        if ending.from > day {
            continue;
        }
        let case = super::recovery::open_case(
            shared,
            tx,
            effects,
            super::recovery::Opening {
                stored: &stored,
                guarantee: &guarantee,
                trigger: Trigger::GuaranteeEnded(ending.cause),
                by: Actor::Service,
                on: day,
                message_id,
            },
        )
        .await?;
        if case.is_some() {
            opened += 1;
            tracing::info!(guarantee_id = %id, cause = %ending.cause, ends = %ending.from, %day,
                "the guarantee's ending has come: recovery case opened by the business day");
        }
    }
    Ok(opened)
}

/// The paid dates whose payments may have a deadline between `day` and `until` under any of
/// `limitation`'s rules: a year is 365 or 366 days, and a deadline moved to the business day
/// before lies at most a few days (10 allowed) before the period's end. Payments paid outside
/// are expired, or expire after the window, whatever the rule.
pub fn candidate_paid_dates(
    limitation: &Limitation,
    day: BusinessDate,
    until: BusinessDate,
) -> (BusinessDate, BusinessDate) {
    let years = limitation.rules().iter().map(|r| i64::from(r.years));
    let most = years.clone().max().unwrap_or(3);
    let least = years.min().unwrap_or(3);
    let from = day.checked_add_days(-366 * most).unwrap_or(day);
    let to = until.checked_add_days(10 - 365 * least).unwrap_or(until);
    (from, to)
}

/// The limitation watch of `day`; the number of payments alerted for the first time.
pub async fn watch_limitation(
    shared: &Shared,
    tx: &DatabaseTransaction,
    effects: &mut Effects,
    day: BusinessDate,
) -> Result<usize, HandlerError> {
    let until = crate::domain::horizon(shared.limitation.calendar(), day, shared.watch.within_days);
    let (from, to) = candidate_paid_dates(&shared.limitation, day, until);
    let mut at_risk: BTreeMap<String, Money> = shared
        .config
        .municipalities
        .keys()
        .map(|m| (m.clone(), Money::ZERO))
        .collect();
    let mut first_alerts = 0;
    for id in daily::watch_candidates(tx, from, to).await? {
        let Some(stored) = guarantees::find(tx, &id).await? else {
            continue;
        };
        let guarantee = guarantees::load(tx, &stored).await?;
        let linked = benefits::of_guarantee(tx, &id).await?;
        let payments = crate::http::recoverable_payments(&guarantee, &linked);
        let Some(alert) = watch(
            &guarantee,
            &payments,
            false,
            &shared.limitation,
            shared.watch,
            day,
        ) else {
            continue;
        };
        let total = at_risk
            .entry(stored.municipality.clone())
            .or_insert(Money::ZERO);
        *total = Money::from_minor(
            total
                .to_minor()
                .saturating_add(alert.at_risk.amount_at_risk.to_minor()),
        );
        let before: BTreeSet<String> = daily::alerted(tx, &id).await?.into_iter().collect();
        let new = new_payments(&alert, &before);
        if new.is_empty() {
            continue;
        }
        let contact = shared
            .config
            .municipalities
            .get(&stored.municipality)
            .and_then(|m| m.administrator.clone());
        let notification_id = alert_notification_id(&id, day);
        let mut recorded = Vec::new();
        for p in &new {
            let sent = contact.as_ref().map(|_| notification_id.as_str());
            if daily::record_alert(tx, &id, &stored.municipality, day, p, sent).await? {
                recorded.push(p.clone());
            }
        }
        if recorded.is_empty() {
            continue;
        }
        first_alerts += recorded.len();
        let Some(contact) = contact else {
            metrics::watch_alert("no_administrator");
            tracing::warn!(guarantee_id = %id, municipality = %stored.municipality,
                payments = recorded.len(), amount_at_risk = %alert.at_risk.amount_at_risk,
                first_deadline = %alert.first_deadline,
                "recoverable payments are about to expire and no guarantee administrator is \
                 configured to be told (set guarantee.municipalities.\"<code>\".administrator); \
                 the alert is recorded");
            continue;
        };
        let guarantor = stored.guarantor.expose()["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let request = NotificationRequested {
            notification_id,
            municipality: stored.municipality.clone(),
            office: shared.office_of(&stored.municipality),
            template: EXPIRY_ALERT.to_owned(),
            language: contact.language,
            recipient: contact.recipient(),
            data: alert_data(&alert, &guarantor, &recorded, &linked_laws(&alert)),
            related: Related {
                service: Some(crate::SERVICE.to_owned()),
                claim_ids: Vec::new(),
                debtor_id: None,
                case_id: None,
            },
            attachments: Vec::new(),
        };
        effects.emit(request)?;
        metrics::watch_alert("sent");
        tracing::info!(guarantee_id = %id, payments = recorded.len(),
            amount_at_risk = %alert.at_risk.amount_at_risk, first_deadline = %alert.first_deadline,
            "the administrator is alerted: recoverable payments are about to expire");
    }
    for (municipality, amount) in &at_risk {
        metrics::amount_at_risk(municipality, *amount);
    }
    Ok(first_alerts)
}

/// The payments of `alert` not alerted before (`before`: their benefit ids), oldest first.
pub fn new_payments(alert: &Alert, before: &BTreeSet<String>) -> Vec<AlertedPayment> {
    alert
        .at_risk
        .expiring
        .iter()
        .filter(|l| !before.contains(&l.benefit_id))
        .map(|l| AlertedPayment {
            benefit_id: l.benefit_id.clone(),
            deadline: l.deadline.raise_by,
            amount: l.amount,
        })
        .collect()
}

/// The alert e-mail's notification id: one per guarantee and day (the payments first alerted
/// that day), the same on a redelivery.
pub fn alert_notification_id(guarantee_id: &str, day: BusinessDate) -> String {
    format!("guarantee:{guarantee_id}:{EXPIRY_ALERT}:{day}")
}

fn linked_laws(alert: &Alert) -> BTreeMap<String, String> {
    alert
        .at_risk
        .expiring
        .iter()
        .map(|l| (l.benefit_id.clone(), word(&l.law)))
        .collect()
}

/// The `guarantee_expiry_alert` data: the guarantee, its guarantor's name, the payments first
/// alerted (with their deadlines), the amount at risk and the earliest deadline. No national
/// id, no address.
pub fn alert_data(
    alert: &Alert,
    guarantor: &str,
    payments: &[AlertedPayment],
    laws: &BTreeMap<String, String>,
) -> serde_json::Value {
    let law_of = |id: &str| laws.get(id).cloned().unwrap_or_default();
    let listed: Vec<serde_json::Value> = payments
        .iter()
        .map(|p| {
            let paid = alert
                .at_risk
                .expiring
                .iter()
                .find(|l| l.benefit_id == p.benefit_id)
                .map(|l| l.paid_date);
            json!({
                "benefit_id": p.benefit_id,
                "law": law_of(&p.benefit_id),
                "paid_date": paid,
                "amount": p.amount,
                "deadline": p.deadline,
            })
        })
        .collect();
    let summary = payments
        .iter()
        .map(|p| {
            format!(
                "{} ({}): {} DKK, {}",
                p.benefit_id,
                law_of(&p.benefit_id),
                p.amount,
                p.deadline
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let mut data = json!({
        "guarantee_id": alert.guarantee_id,
        "payments": listed,
        "payment_count": payments.len(),
        "payments_summary": summary,
        "expiring_total": alert.at_risk.expiring_total,
        "amount_at_risk": alert.at_risk.amount_at_risk,
        "currency": "DKK",
        "first_deadline": alert.first_deadline,
        "watch_date": alert.at_risk.on,
    });
    if !guarantor.trim().is_empty() {
        data["guarantor"] = json!(guarantor);
    }
    data
}

/// The daily file of `day`: the reports of the previous business days not in a file yet, as one
/// CSV; the number of reports filed.
pub async fn daily_file(
    tx: &DatabaseTransaction,
    day: BusinessDate,
) -> Result<usize, HandlerError> {
    let reports = daily::unfiled_before(tx, day).await?;
    if reports.is_empty() {
        return Ok(0);
    }
    let csv = crate::daily_file::csv(&reports);
    let ids: Vec<String> = reports.iter().map(|r| r.report_id.clone()).collect();
    if !daily::insert_file(tx, day, &csv, &ids).await? {
        return Ok(0);
    }
    metrics::report_file(ids.len());
    tracing::info!(%day, rows = ids.len(), "the daily file of benefit reports is made");
    Ok(ids.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AtRisk, BenefitLaw, Deadline, PaymentLine};
    use restance_kernel::{BusinessCalendar, Country};

    fn d(s: &str) -> BusinessDate {
        s.parse().expect("date")
    }

    fn line(id: &str, paid: &str, deadline: &str, amount: i64) -> PaymentLine {
        PaymentLine {
            benefit_id: id.into(),
            law: BenefitLaw::Aktivloven,
            paid_date: d(paid),
            amount: Money::from_minor(amount),
            deadline: Deadline {
                period_ends: d(deadline),
                raise_by: d(deadline),
            },
            expired: false,
            recovered: Money::from_minor(amount),
        }
    }

    fn alert() -> Alert {
        Alert {
            guarantee_id: "G-1".into(),
            first_deadline: d("2027-03-01"),
            at_risk: AtRisk {
                on: d("2027-01-04"),
                expiring: vec![
                    line("B-1", "2024-03-01", "2027-03-01", 750_000),
                    line("B-2", "2024-03-15", "2027-03-15", 10_000),
                ],
                expiring_total: Money::from_minor(760_000),
                amount_at_risk: Money::from_minor(760_000),
            },
        }
    }

    #[test]
    fn every_payment_that_may_expire_within_the_window_is_a_candidate() {
        let limitation = Limitation::danish(BusinessCalendar::new(Country::Dk));
        let day = d("2027-01-04");
        let until = crate::domain::horizon(limitation.calendar(), day, 60);
        let (from, to) = candidate_paid_dates(&limitation, day, until);
        // every paid date whose deadline is in [day, until] lies in [from, to]
        let mut paid = d("2023-01-01");
        while paid <= d("2024-12-31") {
            let deadline = limitation.deadline(paid).raise_by;
            if day <= deadline && deadline <= until {
                assert!(
                    from <= paid && paid <= to,
                    "{paid} ({deadline}) not in {from}..{to}"
                );
            }
            paid = paid.add_days(1);
        }
        assert!(
            to < d("2024-03-20") && from > d("2023-12-31"),
            "{from}..{to}"
        );
    }

    #[test]
    fn only_payments_not_alerted_before_are_new() {
        let before: BTreeSet<String> = ["B-1".to_owned()].into_iter().collect();
        let new = new_payments(&alert(), &before);
        assert_eq!(new.len(), 1);
        assert_eq!(new[0].benefit_id, "B-2");
        assert_eq!(new[0].deadline, d("2027-03-15"));
        assert_eq!(new_payments(&alert(), &BTreeSet::new()).len(), 2);
    }

    #[test]
    fn the_alert_names_the_payments_the_amount_and_the_first_deadline_and_no_person() {
        let a = alert();
        let new = new_payments(&a, &BTreeSet::new());
        let data = alert_data(&a, "Jonas Kristensen", &new, &linked_laws(&a));
        assert_eq!(data["guarantee_id"], "G-1");
        assert_eq!(data["guarantor"], "Jonas Kristensen");
        assert_eq!(data["payment_count"], 2);
        assert_eq!(data["payments"][0]["benefit_id"], "B-1");
        assert_eq!(data["payments"][0]["law"], "aktivloven");
        assert_eq!(data["payments"][0]["paid_date"], "2024-03-01");
        assert_eq!(data["payments"][0]["deadline"], "2027-03-01");
        assert_eq!(data["amount_at_risk"], "7600.00");
        assert_eq!(data["first_deadline"], "2027-03-01");
        assert_eq!(
            data["payments_summary"],
            "B-1 (aktivloven): 7500.00 DKK, 2027-03-01; B-2 (aktivloven): 100.00 DKK, 2027-03-15"
        );
        assert_eq!(
            alert_notification_id("G-1", d("2027-01-04")),
            "guarantee:G-1:guarantee_expiry_alert:2027-01-04"
        );
        let no_name = alert_data(&a, " ", &new, &linked_laws(&a));
        assert!(no_name.get("guarantor").is_none());
    }
}
