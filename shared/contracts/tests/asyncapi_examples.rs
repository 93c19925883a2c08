//! `asyncapi.yaml` and the Rust types describe the same contract: every channel is a known type,
//! every known type has a channel, and every example decodes, validates and round-trips through
//! its Rust type unchanged.

use std::collections::BTreeSet;

use restance_contracts::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn document() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/asyncapi.yaml");
    let text = std::fs::read_to_string(path).expect("asyncapi.yaml is readable");
    serde_norway::from_str(&text).expect("asyncapi.yaml is YAML")
}

fn object<'a>(v: &'a Value, what: &str) -> &'a serde_json::Map<String, Value> {
    v.as_object()
        .unwrap_or_else(|| panic!("{what} is a mapping"))
}

/// `null` members are the same as absent ones on the wire; we write neither for `None`.
fn without_nulls(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// Deserialises `data` as `T`, checks it is valid, and serialises it again.
fn through<T: DeserializeOwned + Serialize + Validate>(data: &Value) -> Value {
    let message: T =
        serde_json::from_value(data.clone()).unwrap_or_else(|e| panic!("deserialises: {e}"));
    assert_eq!(message.validate(), Vec::<Problem>::new());
    serde_json::to_value(&message).expect("serialises")
}

/// The round trip through the Rust type named by `type_` — one arm per message type, so a new
/// type without an arm fails on its example.
fn round_trip(type_: &str, data: &Value) -> Value {
    match type_ {
        InvoiceIssued::TYPE => through::<InvoiceIssued>(data),
        InvoiceCredited::TYPE => through::<InvoiceCredited>(data),
        PaymentReceived::TYPE => through::<PaymentReceived>(data),
        BenefitPaid::TYPE => through::<BenefitPaid>(data),
        GuaranteeRegistered::TYPE => through::<GuaranteeRegistered>(data),
        GuaranteeChanged::TYPE => through::<GuaranteeChanged>(data),
        RecoveryRaised::TYPE => through::<RecoveryRaised>(data),
        BenefitReported::TYPE => through::<BenefitReported>(data),
        DayOpened::TYPE => through::<DayOpened>(data),
        FeeAssessed::TYPE => through::<FeeAssessed>(data),
        InterestAssessed::TYPE => through::<InterestAssessed>(data),
        ClaimOpened::TYPE => through::<ClaimOpened>(data),
        ClaimBalanceChanged::TYPE => through::<ClaimBalanceChanged>(data),
        ClaimSettled::TYPE => through::<ClaimSettled>(data),
        ClaimWrittenOff::TYPE => through::<ClaimWrittenOff>(data),
        PaymentApplied::TYPE => through::<PaymentApplied>(data),
        PaymentUnmatched::TYPE => through::<PaymentUnmatched>(data),
        PrepaymentSettled::TYPE => through::<PrepaymentSettled>(data),
        DebtorUpdated::TYPE => through::<DebtorUpdated>(data),
        DebtorErased::TYPE => through::<DebtorErased>(data),
        ReminderIssued::TYPE => through::<ReminderIssued>(data),
        ClaimTransferred::TYPE => through::<ClaimTransferred>(data),
        ClaimHandedOver::TYPE => through::<ClaimHandedOver>(data),
        CaseworkerAlerted::TYPE => through::<CaseworkerAlerted>(data),
        SupplySuspensionRequested::TYPE => through::<SupplySuspensionRequested>(data),
        SupplyRestorationRequested::TYPE => through::<SupplyRestorationRequested>(data),
        WriteOffProposed::TYPE => through::<WriteOffProposed>(data),
        WriteOffApproved::TYPE => through::<WriteOffApproved>(data),
        DistraintRecorded::TYPE => through::<DistraintRecorded>(data),
        CampaignSent::TYPE => through::<CampaignSent>(data),
        NotificationRequested::TYPE => through::<NotificationRequested>(data),
        LetterReady::TYPE => through::<LetterReady>(data),
        SmsSent::TYPE => through::<SmsSent>(data),
        EmailSent::TYPE => through::<EmailSent>(data),
        DeliveryFailed::TYPE => through::<DeliveryFailed>(data),
        PlanCreated::TYPE => through::<PlanCreated>(data),
        PlanDefaulted::TYPE => through::<PlanDefaulted>(data),
        PlanCompleted::TYPE => through::<PlanCompleted>(data),
        DeferralGranted::TYPE => through::<DeferralGranted>(data),
        DeferralEnded::TYPE => through::<DeferralEnded>(data),
        MeetingScheduled::TYPE => through::<MeetingScheduled>(data),
        MeetingHeld::TYPE => through::<MeetingHeld>(data),
        MeetingMissed::TYPE => through::<MeetingMissed>(data),
        ClaimReleased::TYPE => through::<ClaimReleased>(data),
        ReportPublished::TYPE => through::<ReportPublished>(data),
        CounsellingApplied::TYPE => through::<CounsellingApplied>(data),
        CaseOpened::TYPE => through::<CaseOpened>(data),
        CaseClosed::TYPE => through::<CaseClosed>(data),
        DunningHeld::TYPE => through::<DunningHeld>(data),
        DunningReleased::TYPE => through::<DunningReleased>(data),
        PrepaymentExpired::TYPE => through::<PrepaymentExpired>(data),
        RefundRequested::TYPE => through::<RefundRequested>(data),
        RefundConfirmed::TYPE => through::<RefundConfirmed>(data),
        t if is_rejected_type(t) => through::<MessageRejected>(data),
        other => panic!("no Rust type for {other}: add an arm here and to the registry"),
    }
}

/// `(component name, example payload)` for every example of every message.
fn examples(doc: &Value) -> Vec<(String, Value)> {
    let messages = object(&doc["components"]["messages"], "components.messages");
    let mut out = Vec::new();
    for (name, message) in messages {
        let examples = message["examples"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} has examples"));
        assert!(!examples.is_empty(), "{name} has an example");
        for example in examples {
            out.push((name.clone(), example["payload"].clone()));
        }
    }
    out
}

#[test]
fn the_channels_are_exactly_the_known_types() {
    let doc = document();
    let channels = object(&doc["channels"], "channels");
    let addresses: BTreeSet<&str> = channels
        .values()
        .map(|c| c["address"].as_str().expect("every channel has an address"))
        .collect();
    let known: BTreeSet<&str> = known_types().iter().copied().collect();
    assert_eq!(addresses, known);
    assert_eq!(channels.len(), known_types().len(), "one channel per type");
}

#[test]
fn every_channel_refers_to_a_message_with_an_example_of_its_type() {
    let doc = document();
    let messages = object(&doc["components"]["messages"], "components.messages");
    for (key, channel) in object(&doc["channels"], "channels") {
        let address = channel["address"].as_str().expect("address");
        for (_, reference) in object(&channel["messages"], "channel messages") {
            let target = reference["$ref"].as_str().expect("a $ref");
            let name = target
                .strip_prefix("#/components/messages/")
                .expect("a component message");
            let message = messages
                .get(name)
                .unwrap_or_else(|| panic!("{key}: {name} exists"));
            let example_types: Vec<&str> = message["examples"]
                .as_array()
                .expect("examples")
                .iter()
                .map(|e| e["payload"]["type"].as_str().expect("an example type"))
                .collect();
            // Each service's rejection channel shares one message; its example names one service.
            let covered = example_types.contains(&address)
                || (is_rejected_type(address) && example_types.iter().all(|t| is_rejected_type(t)));
            assert!(
                covered,
                "{key}: no example of {address} in {name} ({example_types:?})"
            );
            if !is_rejected_type(address) {
                assert_eq!(
                    message["name"].as_str(),
                    Some(address),
                    "{name}: name is the routing key"
                );
            }
        }
    }
}

#[test]
fn every_example_decodes_validates_and_round_trips() {
    let doc = document();
    let all = examples(&doc);
    assert_eq!(all.len(), 60);
    for (name, payload) in all {
        let bytes = serde_json::to_vec(&payload).expect("serialises");
        let envelope = decode_envelope(&bytes).unwrap_or_else(|e| panic!("{name}: {}", e.reason()));
        let type_ = envelope.r#type.clone();
        assert!(
            known_types().contains(&type_.as_str()),
            "{name}: {type_} is known"
        );
        validate_dynamic(&type_, &envelope.data)
            .unwrap_or_else(|e| panic!("{name}: {}", e.reason()));

        let data = round_trip(&type_, &envelope.data);
        assert_eq!(
            data,
            without_nulls(&payload["data"]),
            "{name}: data round-trips"
        );

        let again = serde_json::to_value(&envelope).expect("envelope serialises");
        assert_eq!(
            without_nulls(&again),
            without_nulls(&payload),
            "{name}: envelope round-trips"
        );
    }
}

#[test]
fn the_invoice_example_is_the_design_example() {
    let doc = document();
    let example = &doc["components"]["messages"]["InvoiceIssued"]["examples"][0]["payload"]["data"];
    let design: Value = serde_json::from_str(
        r#"{"invoice_id":"DAY-2026-12-000123","municipality":"0746","office":"main","category":"daycare",
 "debtor":{"id":"P-77","kind":"person","national_id":"0101901234","name":"Ane Hansen",
   "address":{"lines":["Parkvej 1"],"postcode":"8660","city":"Skanderborg","country":"DK"},
   "email":"ane@example.org","phone":"+4512345678","language":"da","digital_post":true,
   "address_protection":"none"},
 "currency":"DKK","lines":[{"text":"Daycare December","amount":"2150.00"}],"amount":"2150.00",
 "issue_date":"2026-12-01","due_date":"2026-12-15","payment_reference":null,
 "prepayment":false,"direct_debit":false}"#,
    )
    .expect("DESIGN.md example is JSON");
    assert_eq!(example, &design);
}
