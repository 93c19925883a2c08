//! `restance tap open|read`: a look at the events on the exchange — what a service published
//! that no other service here consumes (e.g. `counselling.case.opened.v1`), for a test exchange
//! such as the demo's.
//!
//! `open NAME --key KEY…` declares the queue `<exchange>.tap.<NAME>` and binds it to the keys
//! (message types, or topic patterns: `*` is one dot-separated word, `#` any number of them, so
//! `counselling.case.#` and not `counselling.case.*` catches `counselling.case.opened.v1`). It is
//! a classic durable queue (a broker restart does not lose what it caught) that the broker
//! deletes after an hour unused and that keeps at most 10,000 messages, so a forgotten tap does
//! not fill the broker. `read NAME` takes what arrived since and prints each
//! envelope — type, id, source, time, the data — removing them from the tap.
//!
//! Events carry personal data in places (an applicant, a debtor). What `read` prints has every
//! field named like personal data (`national_id`, `name`, `address`, `email`, `phone`, …)
//! replaced by `"(personal data)"`, and any national id left in a value masked
//! ([`crate::dead::mask_national_ids`]).

use lapin::options::{BasicAckOptions, BasicGetOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use restance_bus::{BusSettings, Topology};
use serde_json::Value;

use crate::{broker, dead};

/// How long an unused tap lives (ms).
const EXPIRES_MS: i32 = 60 * 60 * 1000;
/// The most messages a tap keeps (the oldest are dropped beyond it).
const MAX_LENGTH: i32 = 10_000;

/// What replaces a personal-data field in what `read` prints.
pub const REDACTED: &str = "(personal data)";

/// Field names whose values are personal data wherever they occur in an event.
const PERSONAL: &[&str] = &[
    "national_id",
    "resident_national_id",
    "spouse_national_id",
    "recipient_national_id",
    "payer_national_id",
    "name",
    "address",
    "email",
    "phone",
];

/// The tap's queue name, `<exchange>.tap.<name>`; the name is 1–40 of `a-z 0-9 -`.
pub fn queue_name(exchange: &str, name: &str) -> anyhow::Result<String> {
    if name.is_empty()
        || name.len() > 40
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        anyhow::bail!("a tap's name is 1–40 characters of a-z, 0-9 and '-' (got {name:?})");
    }
    Ok(format!("{exchange}.tap.{name}"))
}

/// An event as `read` shows it: personal-data fields replaced (see the module docs).
pub fn redact(value: &Value) -> Value {
    match value {
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| {
                    let shown = if PERSONAL.contains(&k.as_str()) && !v.is_null() {
                        Value::String(REDACTED.to_owned())
                    } else {
                        redact(v)
                    };
                    (k.clone(), shown)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        other => other.clone(),
    }
}

async fn connect(bus: &BusSettings) -> anyhow::Result<lapin::Connection> {
    restance_bus::connection::connect(bus, "restance-cli-tap")
        .await
        .map_err(|e| broker::unreachable(bus, &e))
}

/// Declares the tap `name` bound to `keys` (again: the same queue, more bindings). Returns the
/// queue's name.
pub async fn open(bus: &BusSettings, name: &str, keys: &[String]) -> anyhow::Result<String> {
    let queue = queue_name(&bus.exchange, name)?;
    let conn = connect(bus).await?;
    Topology::new(bus.exchange.clone())
        .ensure_exchanges(&conn)
        .await
        .map_err(|e| anyhow::anyhow!("exchange {}: {e}", bus.exchange))?;
    let channel = conn.create_channel().await?;
    let mut args = FieldTable::default();
    args.insert(
        ShortString::from("x-queue-type"),
        AMQPValue::LongString("classic".into()),
    );
    args.insert("x-expires".into(), AMQPValue::LongInt(EXPIRES_MS));
    args.insert("x-max-length".into(), AMQPValue::LongInt(MAX_LENGTH));
    channel
        .queue_declare(
            queue.as_str().into(),
            QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            args,
        )
        .await
        .map_err(|e| anyhow::anyhow!("cannot declare the tap {queue}: {e}"))?;
    for key in keys {
        channel
            .queue_bind(
                queue.as_str().into(),
                bus.exchange.as_str().into(),
                key.as_str().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|e| anyhow::anyhow!("cannot bind the tap {queue} to {key}: {e}"))?;
    }
    let _ = channel.close(200, "tap open".into()).await;
    let _ = conn.close(200, "done".into()).await;
    Ok(queue)
}

/// Takes up to `limit` events from the tap `name`, redacted, in arrival order. `None`: there is
/// no such tap (never opened on this exchange, or expired).
pub async fn read(bus: &BusSettings, name: &str, limit: u32) -> anyhow::Result<Option<Vec<Value>>> {
    let queue = queue_name(&bus.exchange, name)?;
    let conn = connect(bus).await?;
    let channel = conn.create_channel().await?;
    let passive = QueueDeclareOptions {
        passive: true,
        ..Default::default()
    };
    match channel
        .queue_declare(queue.as_str().into(), passive, FieldTable::default())
        .await
    {
        Ok(_) => {}
        Err(e) if matches!(e.kind(), lapin::ErrorKind::ProtocolError(p) if p.get_id() == 404) => {
            let _ = conn.close(200, "done".into()).await;
            return Ok(None);
        }
        Err(e) => anyhow::bail!("cannot read the tap {queue}: {e}"),
    }
    let mut out = Vec::new();
    while out.len() < usize::try_from(limit).unwrap_or(usize::MAX) {
        let Some(got) = channel
            .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: false })
            .await
            .map_err(|e| anyhow::anyhow!("reading {queue} failed: {e}"))?
        else {
            break;
        };
        let d = got.delivery;
        let event = match serde_json::from_slice::<Value>(&d.data) {
            Ok(v) => redact(&v),
            Err(_) => serde_json::json!({
                "type": d.properties.kind().as_ref().map(|k| k.as_str().to_owned()),
                "unreadable": format!("not JSON ({} bytes)", d.data.len()),
            }),
        };
        out.push(event);
        d.acker
            .ack(BasicAckOptions::default())
            .await
            .map_err(|e| anyhow::anyhow!("acknowledging on {queue} failed: {e}"))?;
    }
    let _ = channel.close(200, "tap read".into()).await;
    let _ = conn.close(200, "done".into()).await;
    Ok(Some(out))
}

/// One event for a person: `type  id  from source  at time`, then its data, indented, with any
/// national id masked.
pub fn render(event: &Value) -> String {
    let s = |k: &str| event.get(k).and_then(Value::as_str).unwrap_or("-");
    let data = event
        .get("data")
        .map(|d| serde_json::to_string_pretty(d).unwrap_or_default())
        .unwrap_or_default();
    let mut out = format!(
        "{}  id {}  from {}  at {}\n",
        s("type"),
        s("id"),
        s("source"),
        s("time")
    );
    for line in data.lines() {
        out.push_str("    ");
        out.push_str(line);
        out.push('\n');
    }
    dead::mask_national_ids(&out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn personal_data_is_replaced_wherever_it_is() {
        let event = json!({"type":"selfservice.counselling.applied.v1","data":{
            "application_id":"A-1","applicant":{"id":"P-1","national_id":"07038510007",
            "name":"Ola Nordmann","address":{"lines":["Markens gate 12"]},"phone":"+4791234567",
            "email":"ola@example.org","digital_post":true},"answers":{"income_reported":true}}});
        let shown = redact(&event).to_string();
        for secret in [
            "07038510007",
            "Ola Nordmann",
            "Markens gate",
            "+4791234567",
            "ola@",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("\"application_id\":\"A-1\""));
        assert!(shown.contains("\"digital_post\":true"));
    }

    #[test]
    fn a_national_id_in_a_value_is_masked_in_the_rendering() {
        let event = json!({"type":"x.y.v1","id":"1","source":"/s","time":"t",
            "data":{"case_id":"case-07038510007"}});
        let text = render(&event);
        assert!(!text.contains("07038510007"), "{text}");
        assert!(text.starts_with("x.y.v1  id 1  from /s  at t\n"), "{text}");
    }

    #[test]
    fn a_tap_name_is_checked() {
        assert_eq!(
            queue_name("restance-demo", "counselling").expect("ok"),
            "restance-demo.tap.counselling"
        );
        assert!(queue_name("x", "").is_err());
        assert!(queue_name("x", "Big Name").is_err());
        assert!(queue_name("x", &"a".repeat(41)).is_err());
    }
}
