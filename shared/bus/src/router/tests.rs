//! The router against a probe service on an in-memory SQLite transaction.

use super::*;
use restance_contracts::Envelope;
use restance_contracts::messages::{DayOpened, InvoiceCredited, PaymentReceived};
use serde_json::{Value, json};
use std::sync::Mutex;

/// A service that records what the router hands it.
#[derive(Default)]
struct Probe {
    log: Mutex<Vec<String>>,
}

impl Probe {
    fn note(&self, s: impl Into<String>) {
        self.log.lock().expect("log").push(s.into());
    }
    fn log(&self) -> Vec<String> {
        self.log.lock().expect("log").clone()
    }
}

impl Consume for Probe {
    const SERVICE: &'static str = "probe";
    type Key = String;
    type Batch<'t> = Vec<String>;

    fn key_of(&self, about: &dyn Subject) -> Option<String> {
        about.municipality().map(str::to_owned)
    }

    fn admit_of(&self, about: &dyn Subject) -> Result<(), Rejection> {
        match about.municipality() {
            Some("999") => Err(Rejection::new("data.municipality: 999 is not served")),
            _ => Ok(()),
        }
    }

    async fn begin<'t>(
        &'t self,
        _tx: &'t DatabaseTransaction,
        planned: &Planned<'_, String>,
    ) -> Result<Vec<String>, HandlerError> {
        self.note(format!(
            "begin {} keys={:?} days={}",
            planned.messages().len(),
            planned.keys(),
            planned.contains::<DayOpened>()
        ));
        Ok(Vec::new())
    }

    async fn finish<'t>(
        &'t self,
        _tx: &'t DatabaseTransaction,
        batch: Vec<String>,
        handled: &[Handled<'_, String>],
        _effects: &mut Effects,
    ) -> Result<(), HandlerError> {
        let summary: Vec<String> = handled
            .iter()
            .map(|h| {
                let how = if h.done {
                    "done"
                } else if h.rejected {
                    "rejected"
                } else {
                    "other"
                };
                format!("{}:{how}", h.message_type)
            })
            .collect();
        self.note(format!("finish seen={batch:?} {}", summary.join(",")));
        Ok(())
    }
}

impl On<DayOpened> for Probe {
    async fn on(&self, cx: &mut Cx<'_, '_, Self>, d: DayOpened) -> Result<Outcome, HandlerError> {
        cx.batch.push(format!("day {}", d.date));
        self.note(format!("day {}", d.date));
        Ok(Outcome::Done)
    }
}

impl On<InvoiceCredited> for Probe {
    async fn on(
        &self,
        cx: &mut Cx<'_, '_, Self>,
        c: InvoiceCredited,
    ) -> Result<Outcome, HandlerError> {
        self.note(format!(
            "credit {} from {}",
            c.credit_id, cx.inbound.envelope.source
        ));
        Ok(Outcome::Rejected(Rejection::new(
            "credit refused by the handler",
        )))
    }
}

impl OnRun<PaymentReceived> for Probe {
    async fn on_run(
        &self,
        _tx: &DatabaseTransaction,
        batch: &mut Vec<String>,
        _effects: &mut Effects,
        run: Vec<(&Inbound, PaymentReceived)>,
    ) -> Result<Vec<Outcome>, HandlerError> {
        let ids: Vec<&str> = run.iter().map(|(_, p)| p.payment_id.as_str()).collect();
        batch.push(format!("run {}", ids.join("+")));
        self.note(format!("run {}", ids.join("+")));
        Ok(run.iter().map(|_| Outcome::Done).collect())
    }
}

fn routes() -> Routes<Probe> {
    Routes::new()
        .on::<DayOpened>()
        .on::<InvoiceCredited>()
        .on_run::<PaymentReceived>()
}

fn router(probe: Arc<Probe>) -> Router<Probe> {
    routes().serve(probe)
}

fn msg(ty: &str, data: Value) -> Inbound {
    let envelope: Envelope<Value> = Envelope::new_with_type("/test/upstream", ty, data);
    Inbound::from_envelope(envelope)
}

fn day(date: &str) -> Inbound {
    msg(DayOpened::TYPE, json!({ "date": date }))
}

fn payment(id: &str, municipality: &str) -> Inbound {
    msg(
        PaymentReceived::TYPE,
        json!({ "payment_id": id, "municipality": municipality, "amount": "10.00",
                "currency": "DKK", "booking_date": "2026-12-16", "channel": "transfer" }),
    )
}

fn credit(id: &str) -> Inbound {
    msg(
        InvoiceCredited::TYPE,
        json!({ "invoice_id": "INV-1", "credit_id": id, "amount": "5.00", "reason": "error" }),
    )
}

async fn handle(router: &Router<Probe>, batch: &[Inbound]) -> Vec<Outcome> {
    let db = sea_orm::Database::connect("sqlite::memory:")
        .await
        .expect("sqlite");
    let tx = sea_orm::TransactionTrait::begin(&db).await.expect("tx");
    let mut effects = Effects::new("/restance/probe");
    router
        .handle(&tx, batch, &mut effects)
        .await
        .expect("handled")
}

fn reason(o: &Outcome) -> String {
    match o {
        Outcome::Rejected(r) => r.reason.clone(),
        other => format!("{other:?}"),
    }
}

#[test]
fn the_bindings_are_the_routed_types_and_a_type_routed_twice_is_a_wiring_mistake() {
    let r = routes();
    assert_eq!(
        r.message_types(),
        vec![
            "bank.payment.received.v1".to_owned(),
            "billing.invoice.credited.v1".to_owned(),
            "calendar.day.opened.v1".to_owned()
        ]
    );
    let sub = r.subscription(Some("work"));
    assert_eq!(sub.service, "probe");
    assert_eq!(sub.purpose.as_deref(), Some("work"));
    assert_eq!(sub.message_types.len(), 3);
    let twice = std::panic::catch_unwind(|| routes().on::<DayOpened>());
    assert!(twice.is_err());
}

#[tokio::test]
async fn every_message_gets_its_outcome_in_order_and_the_service_sees_the_batch_once() {
    let probe = Arc::new(Probe::default());
    let r = router(probe.clone());
    let batch = vec![
        payment("P1", "101"),
        payment("P2", "147"),
        msg("billing.invoice.unknown.v1", json!({})),
        payment("P3", "101"),
        msg(PaymentReceived::TYPE, json!({ "payment_id": "P4" })),
        payment("P5", "999"),
        day("2026-12-16"),
        credit("C1"),
        payment("P6", "101"),
    ];
    let outcomes = handle(&r, &batch).await;
    let reasons: Vec<String> = outcomes.iter().map(reason).collect();
    assert_eq!(reasons[0], "Done");
    assert_eq!(reasons[1], "Done");
    assert_eq!(
        reasons[2],
        "probe does not handle billing.invoice.unknown.v1"
    );
    assert_eq!(reasons[3], "Done");
    assert!(
        reasons[4].contains("data"),
        "a decode failure names the field: {}",
        reasons[4]
    );
    assert_eq!(reasons[5], "data.municipality: 999 is not served");
    assert_eq!(reasons[6], "Done");
    assert_eq!(reasons[7], "credit refused by the handler");
    assert_eq!(reasons[8], "Done");
    assert_eq!(
        probe.log(),
        vec![
            // Only admitted messages are planned; keys distinct and in key order.
            "begin 6 keys=[\"101\", \"147\"] days=true".to_owned(),
            // A rejected message between two payments splits their run.
            "run P1+P2".to_owned(),
            "run P3".to_owned(),
            "day 2026-12-16".to_owned(),
            "credit C1 from /test/upstream".to_owned(),
            "run P6".to_owned(),
            "finish seen=[\"run P1+P2\", \"run P3\", \"day 2026-12-16\", \"run P6\"] \
             bank.payment.received.v1:done,bank.payment.received.v1:done,\
             billing.invoice.unknown.v1:rejected,bank.payment.received.v1:done,\
             bank.payment.received.v1:rejected,bank.payment.received.v1:rejected,\
             calendar.day.opened.v1:done,billing.invoice.credited.v1:rejected,\
             bank.payment.received.v1:done"
                .to_owned(),
        ]
    );
}

#[tokio::test]
async fn a_batch_of_nothing_but_bad_messages_still_begins_and_finishes() {
    let probe = Arc::new(Probe::default());
    let r = router(probe.clone());
    let outcomes = handle(&r, &[msg(DayOpened::TYPE, json!({ "date": "not a date" }))]).await;
    assert!(matches!(outcomes.as_slice(), [Outcome::Rejected(_)]));
    assert_eq!(
        probe.log(),
        vec![
            "begin 0 keys=[] days=false".to_owned(),
            "finish seen=[] calendar.day.opened.v1:rejected".to_owned()
        ]
    );
}

#[tokio::test]
async fn an_admission_rule_rejects_before_any_lock_and_the_service_never_sees_the_message() {
    let probe = Arc::new(Probe::default());
    let late: Admission =
        Arc::new(
            |msg: &Inbound, value: &dyn Any| match value.downcast_ref::<DayOpened>() {
                Some(d) if d.date.to_string().as_str() > "2026-12-31" => Err(Rejection::new(
                    format!("{}: {} is too far ahead", msg.message_type(), d.date),
                )),
                _ => Ok(()),
            },
        );
    let r = router(probe.clone()).admitting(late);
    let outcomes = handle(
        &r,
        &[day("2026-12-16"), day("2030-01-01"), payment("P1", "101")],
    )
    .await;
    let reasons: Vec<String> = outcomes.iter().map(reason).collect();
    assert_eq!(
        reasons,
        vec![
            "Done".to_owned(),
            "calendar.day.opened.v1: 2030-01-01 is too far ahead".to_owned(),
            "Done".to_owned()
        ]
    );
    assert_eq!(
        probe.log()[0],
        "begin 2 keys=[\"101\"] days=true",
        "the rejected day is not planned"
    );
    assert!(!probe.log().iter().any(|l| l.contains("2030")));
}

#[tokio::test]
async fn a_screen_rejects_on_the_envelope_before_decoding_and_the_service_never_sees_it() {
    let probe = Arc::new(Probe::default());
    let senders: Screen = Arc::new(|msg: &Inbound| {
        if msg.envelope.source == "/test/upstream" {
            Ok(())
        } else {
            Err(Rejection::new(format!(
                "unexpected source {} for {}",
                msg.envelope.source,
                msg.message_type()
            )))
        }
    });
    let r = router(probe.clone()).screening(senders);
    let from = |source: &str, mut m: Inbound| {
        m.envelope.source = source.to_owned();
        m
    };
    // The second would not decode and the third names a municipality the service refuses: the
    // screen's reason wins, since it runs first.
    let outcomes = handle(
        &r,
        &[
            day("2026-12-16"),
            from(
                "/elsewhere",
                msg(DayOpened::TYPE, json!({ "date": "not a date" })),
            ),
            from("/elsewhere", payment("P9", "999")),
            payment("P1", "101"),
        ],
    )
    .await;
    let reasons: Vec<String> = outcomes.iter().map(reason).collect();
    assert_eq!(
        reasons,
        vec![
            "Done".to_owned(),
            "unexpected source /elsewhere for calendar.day.opened.v1".to_owned(),
            "unexpected source /elsewhere for bank.payment.received.v1".to_owned(),
            "Done".to_owned()
        ]
    );
    assert_eq!(
        probe.log()[0],
        "begin 2 keys=[\"101\"] days=true",
        "the screened messages are not planned"
    );
    assert!(!probe.log().iter().any(|l| l.contains("P9")));
}
