//! `restance day open`: publishes `calendar.day.opened.v1`, the start of a business day.
//!
//! The event id is `day-<date>` from source `/restance/calendar`, so opening the same day twice
//! (a retried CronJob, an operator and the CronJob) is one event downstream: `(source, id)` is
//! the idempotency key.

use chrono::{DateTime, Utc};
use restance_bus::{BusSettings, OutgoingMessage};
use restance_contracts::{DayOpened, Envelope};
use restance_kernel::BusinessDate;

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

/// Publishes the opening of `date` with a confirm; the broker must route it to a queue.
pub async fn open(bus: &BusSettings, date: BusinessDate) -> anyhow::Result<Envelope<DayOpened>> {
    let envelope = day_opened(date, Utc::now());
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
