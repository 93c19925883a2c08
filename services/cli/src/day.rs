//! `restance day open`: publishes `calendar.day.opened.v1`, the start of a business day.
//!
//! The event id is `day-<date>` from source `/restance/calendar`, so opening the same day twice
//! (a retried CronJob, an operator and the CronJob) is one event downstream: `(source, id)` is
//! the idempotency key. It is the one source the services take a day from (`[senders]`,
//! `restance_runtime::senders`): a day from any other is dead-lettered as an "unexpected source".

use chrono::{DateTime, Utc, Weekday};
use restance_bus::{BusSettings, OutgoingMessage};
use restance_contracts::{DayOpened, Envelope};
use restance_kernel::{BusinessDate, Catalog};

use crate::broker;

/// The envelope source of day openings.
pub const SOURCE: &str = "/restance/calendar";

/// The event that opens `date`; `now` only fills the informational `time`.
pub fn day_opened(date: BusinessDate, now: DateTime<Utc>) -> Envelope<DayOpened> {
    Envelope::with_id(format!("day-{date}"), SOURCE, now, DayOpened { date })
}

/// Today's date in the local time zone (`TZ`; the CronJob sets Europe/Copenhagen).
pub fn today() -> BusinessDate {
    BusinessDate::from_naive(chrono::Local::now().date_naive())
}

/// A configured municipality for which `date` is not a business day, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    /// The municipality's code, e.g. `0746`.
    pub municipality: String,
    /// Its name.
    pub name: String,
    /// "Sunday", "Saturday" or the public holiday's name.
    pub reason: String,
}

/// Every configured municipality whose calendar has `date` as a weekend day or a public holiday
/// (empty: a business day everywhere, safe to open).
pub fn closed_on(catalog: &Catalog, date: BusinessDate) -> Vec<Closed> {
    catalog
        .municipalities
        .iter()
        .filter_map(|(code, m)| {
            let calendar = m.calendar();
            if calendar.is_business_day(date) {
                return None;
            }
            let reason = match date.weekday() {
                Weekday::Sat => "Saturday".to_owned(),
                Weekday::Sun => "Sunday".to_owned(),
                _ => calendar
                    .holiday_name(date)
                    .unwrap_or("a public holiday")
                    .to_owned(),
            };
            Some(Closed {
                municipality: code.clone(),
                name: m.name.clone(),
                reason,
            })
        })
        .collect()
}

/// One line naming where and why `date` is not a business day.
pub fn describe_closed(date: BusinessDate, closed: &[Closed]) -> String {
    let places: Vec<String> = closed
        .iter()
        .map(|c| format!("{} {} ({})", c.municipality, c.name, c.reason))
        .collect();
    format!(
        "{date} ({:?}) is not a business day in {}",
        date.weekday(),
        places.join(", ")
    )
}

/// Publishes the opening of `date` with a confirm; the broker must route it to a queue.
pub async fn open(bus: &BusSettings, date: BusinessDate) -> anyhow::Result<Envelope<DayOpened>> {
    // a new trace per opening: every service's handling of the day continues it, so an
    // operator follows the day's work by the trace id the command prints
    let root = restance_bus::trace::SpanContext::new_root();
    let envelope = day_opened(date, Utc::now()).with_trace(root.traceparent.to_string(), None);
    let mut message = OutgoingMessage::from_envelope(&envelope)?;
    message.mandatory = true;
    let publisher = broker::publisher(bus).await?;
    let result = broker::publish_confirmed(&publisher, std::slice::from_ref(&message)).await;
    publisher.close().await;
    match result {
        Ok(outcome) => match outcome.into_iter().next().flatten() {
            None => Ok(envelope),
            Some(refused) => Err(anyhow::anyhow!(
                "day {date} was not opened: {}",
                broker::explain(bus, &refused)
            )),
        },
        Err(err) => Err(anyhow::anyhow!(
            "day {date} was not opened: {}",
            broker::explain(bus, &err)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use restance_contracts::{Message, decode_envelope, validate_dynamic};

    fn catalog() -> Catalog {
        let file =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/restance.toml");
        restance_runtime::Settings::load_from(crate::SETTINGS_NAME, Some(&file), false)
            .expect("the shipped config")
            .catalog
    }

    fn date(y: i32, m: u32, d: u32) -> BusinessDate {
        BusinessDate::new(y, m, d).expect("date")
    }

    #[test]
    fn a_sunday_is_closed_everywhere_and_a_wednesday_nowhere() {
        let catalog = catalog();
        let sunday = closed_on(&catalog, date(2026, 12, 6));
        assert_eq!(sunday.len(), catalog.municipalities.len());
        assert!(sunday.iter().all(|c| c.reason == "Sunday"), "{sunday:?}");
        let line = describe_closed(date(2026, 12, 6), &sunday);
        assert!(
            line.starts_with("2026-12-06 (Sun) is not a business day in 0746 "),
            "{line}"
        );
        assert!(closed_on(&catalog, date(2026, 12, 16)).is_empty());
    }

    #[test]
    fn a_national_holiday_closes_only_that_country() {
        let catalog = catalog();
        // 17 May, Norway's constitution day, is a Wednesday in 2028
        let closed = closed_on(&catalog, date(2028, 5, 17));
        assert!(!closed.is_empty());
        for c in &closed {
            let country = catalog.municipalities[&c.municipality].country;
            assert_eq!(country, restance_kernel::Country::No, "{c:?}");
            assert_eq!(c.reason, "Grunnlovsdag", "{c:?}");
        }
        // Greenland's national day, 21 June (a Monday in 2027), closes Greenland only
        let closed = closed_on(&catalog, date(2027, 6, 21));
        assert!(
            closed
                .iter()
                .all(|c| catalog.municipalities[&c.municipality].country
                    == restance_kernel::Country::Gl),
            "{closed:?}"
        );
    }

    #[test]
    fn opening_a_day_twice_is_the_same_event() {
        let date = BusinessDate::new(2026, 12, 16).expect("date");
        let first = day_opened(date, Utc::now());
        let again = day_opened(date, Utc::now() + chrono::Duration::hours(1));
        assert_eq!(first.idempotency_key(), again.idempotency_key());
        assert_eq!(first.id, "day-2026-12-16");
        assert_eq!(first.r#type, DayOpened::TYPE);

        let bytes = first.to_json_bytes().expect("serialises");
        let decoded = decode_envelope(&bytes).expect("a CloudEvent");
        validate_dynamic(&decoded.r#type, &decoded.data).expect("valid");
        assert_eq!(decoded.data["date"], "2026-12-16");
    }
}
