//! The routine's rules, step by step, and properties over random runs.

use super::*;
use proptest::prelude::*;
use restance_kernel::Country;

fn d(s: &str) -> BusinessDate {
    s.parse().expect("test date")
}

fn no() -> BusinessCalendar {
    BusinessCalendar::new(Country::No)
}

fn docs() -> Vec<String> {
    vec!["Skattemelding".into(), "Lønnsslipper".into()]
}

struct Fixture {
    cal: BusinessCalendar,
    timers: Timers,
    documents: Vec<String>,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            cal: no(),
            timers: Timers::default(),
            documents: docs(),
        }
    }
    fn rules(&self) -> Rules<'_> {
        Rules {
            cal: &self.cal,
            timers: &self.timers,
            documents: &self.documents,
        }
    }
}

fn opened(channel: ApplicationChannel, no_income: bool, on: &str) -> Case {
    Case::open(Opening {
        case_id: "GR-4204-1".into(),
        counsellor: "EG".into(),
        routine: Routine::Ordinary,
        channel,
        on: d(on),
        no_income,
        register_consent: true,
        budget: None,
        assigned: "born on day 7".into(),
        previous_case_id: None,
    })
}

fn templates(effects: &[Effect]) -> Vec<&'static str> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Notify { template, .. } => Some(*template),
            _ => None,
        })
        .collect()
}

fn meeting(at: &str) -> NewMeeting {
    NewMeeting {
        at: NaiveDateTime::parse_from_str(at, "%Y-%m-%d %H:%M").expect("test time"),
        place: "Rådhusgata 18".into(),
        interpreter: Some("arabisk".into()),
    }
}

/// A case reviewed as suitable on 2027-03-01 (a Monday), documents complete.
fn documented(f: &Fixture) -> Case {
    let mut c = opened(ApplicationChannel::Web, false, "2027-03-01");
    c.review(
        d("2027-03-01"),
        Decision::Suitable { meeting: None },
        "EG",
        &f.rules(),
    )
    .expect("review");
    c.documents(d("2027-03-03"), &docs(), &[], true, "EG", &f.rules())
        .expect("documents");
    c
}

#[test]
fn an_unclarified_application_needs_two_calls_and_two_business_days_before_the_reply() {
    let f = Fixture::new();
    let mut c = opened(ApplicationChannel::Web, true, "2027-03-01");
    assert_eq!(c.unclarified, ["no income reported"]);
    let e = c.review(
        d("2027-03-01"),
        Decision::Suitable { meeting: None },
        "EG",
        &f.rules(),
    );
    assert!(
        matches!(e, Err(Refused::Reply(ReplyRefused::CallFirst { tried: 0 }))),
        "{e:?}"
    );
    c.log_call(d("2027-03-01"), CallOutcome::NoAnswer, "EG", &f.rules())
        .expect("call");
    c.log_call(d("2027-03-04"), CallOutcome::Voicemail, "EG", &f.rules())
        .expect("call");
    assert_eq!(c.tasks(d("2027-03-05"), &f.rules())[0].due, d("2027-03-08"));
    let e = c.review(
        d("2027-03-05"),
        Decision::Suitable { meeting: None },
        "EG",
        &f.rules(),
    );
    assert!(
        matches!(e, Err(Refused::Reply(ReplyRefused::Wait { .. }))),
        "{e:?}"
    );
    let sent = c
        .review(
            d("2027-03-08"),
            Decision::Suitable { meeting: None },
            "EG",
            &f.rules(),
        )
        .expect("reply");
    assert_eq!(templates(&sent), [REPLY]);
    let Effect::Notify { data, key, .. } = &sent[0] else {
        panic!("a letter")
    };
    // nobody answered: the reply carries a deadline to get in touch (10 business days)
    assert_eq!(data["contact_by"], json!("2027-03-22"));
    assert_eq!(data["documents"][0]["text"], "Skattemelding");
    assert_eq!(key, "1:counselling_reply");
    assert_eq!(c.phase, Phase::Documentation);
    assert_eq!(
        c.calls
            .iter()
            .filter(|x| x.purpose == CallPurpose::Review)
            .count(),
        2
    );
}

#[test]
fn another_application_while_the_case_works_is_recorded_once_as_contact() {
    let f = Fixture::new();
    let mut c = opened(ApplicationChannel::Web, false, "2027-03-01");
    c.review(
        d("2027-03-01"),
        Decision::Suitable { meeting: None },
        "EG",
        &f.rules(),
    )
    .expect("reply");
    assert!(c.another_application(
        d("2027-03-10"),
        "/selfservice/web\nA-9",
        ApplicationChannel::Paper
    ));
    assert!(
        !c.another_application(
            d("2027-03-11"),
            "/selfservice/web\nA-9",
            ApplicationChannel::Paper
        ),
        "once"
    );
    assert_eq!(c.last_contact, d("2027-03-10"));
    assert!(
        c.timeline
            .last()
            .is_some_and(|e| e.text.contains("new information?"))
    );
    c.close(
        d("2027-03-12"),
        CloseReason::Withdrawn,
        "trukket",
        "EG",
        &f.rules(),
    )
    .expect("closed");
    assert!(
        !c.another_application(
            d("2027-03-13"),
            "/selfservice/web\nA-10",
            ApplicationChannel::Web
        ),
        "a closed case takes none"
    );
}

#[test]
fn a_clear_application_gets_the_reply_at_once_without_a_deadline() {
    let f = Fixture::new();
    let mut c = opened(ApplicationChannel::Web, false, "2027-03-01");
    let sent = c
        .review(
            d("2027-03-01"),
            Decision::Suitable { meeting: None },
            "EG",
            &f.rules(),
        )
        .expect("reply");
    let Effect::Notify { data, .. } = &sent[0] else {
        panic!("a letter")
    };
    assert!(data.get("contact_by").is_none());
    assert!(
        c.review(
            d("2027-03-02"),
            Decision::Suitable { meeting: None },
            "EG",
            &f.rules()
        )
        .is_err()
    );
}

#[test]
fn a_drop_in_applicant_gets_the_meeting_invitation_and_its_sms() {
    let f = Fixture::new();
    let mut c = opened(ApplicationChannel::DropIn, false, "2027-03-01");
    assert!(
        c.review(
            d("2027-03-01"),
            Decision::Suitable { meeting: None },
            "EG",
            &f.rules()
        )
        .is_err()
    );
    let sent = c
        .review(
            d("2027-03-01"),
            Decision::Suitable {
                meeting: Some(meeting("2027-03-10 10:00")),
            },
            "EG",
            &f.rules(),
        )
        .expect("invitation");
    assert_eq!(templates(&sent), [MEETING_INVITATION, MEETING_CONFIRMATION]);
    let Effect::Notify { data, .. } = &sent[0] else {
        panic!("a letter")
    };
    assert_eq!(data["meeting"]["at"], "2027-03-10T10:00");
    assert_eq!(data["interpreter"], "arabisk");
    assert_eq!(c.phase, Phase::Meeting);
}

#[test]
fn not_suitable_sends_guidance_and_closes_with_the_note() {
    let f = Fixture::new();
    let mut c = opened(ApplicationChannel::Web, true, "2027-03-01");
    c.log_call(d("2027-03-01"), CallOutcome::Answered, "EG", &f.rules())
        .expect("call");
    let empty = c.clone().review(
        d("2027-03-01"),
        Decision::NotSuitable {
            refer_to: "NAV".into(),
            note: " ".into(),
        },
        "EG",
        &f.rules(),
    );
    assert!(empty.is_err(), "a closing note is required");
    let sent = c
        .review(
            d("2027-03-01"),
            Decision::NotSuitable {
                refer_to: "NAV Kristiansand".into(),
                note: "Sosialhjelp først".into(),
            },
            "EG",
            &f.rules(),
        )
        .expect("guidance");
    assert_eq!(templates(&sent), [GUIDANCE]);
    assert!(sent.contains(&Effect::WorkEnded) && sent.contains(&Effect::Closed));
    let Effect::Notify { data, .. } = &sent[0] else {
        panic!("a letter")
    };
    assert_eq!(data["refer_to"], "NAV Kristiansand");
    assert_eq!(data["matters"][0]["text"], "no income reported");
    assert_eq!(c.phase, Phase::Closed);
    assert_eq!(c.close_reason, Some(CloseReason::NotSuitable));
    assert_eq!(c.closing_note.as_deref(), Some("Sosialhjelp først"));
}

#[test]
fn missing_documents_get_their_letter_and_a_meeting_waits_for_them() {
    let f = Fixture::new();
    let mut c = opened(ApplicationChannel::Web, false, "2027-03-01");
    c.review(
        d("2027-03-01"),
        Decision::Suitable { meeting: None },
        "EG",
        &f.rules(),
    )
    .expect("reply");
    let sent = c
        .documents(
            d("2027-03-03"),
            &["Skattemelding".into()],
            &["Lønnsslipper".into()],
            false,
            "EG",
            &f.rules(),
        )
        .expect("documents");
    assert_eq!(templates(&sent), [MISSING_DOCUMENTATION]);
    let Effect::Notify { data, .. } = &sent[0] else {
        panic!("a letter")
    };
    assert_eq!(data["respond_by"], json!("2027-03-24"));
    assert!(
        c.schedule_meeting(d("2027-03-03"), meeting("2027-03-10 10:00"), "EG")
            .is_err()
    );
    c.documents(
        d("2027-03-04"),
        &["Lønnsslipper".into()],
        &[],
        true,
        "EG",
        &f.rules(),
    )
    .expect("complete");
    let sent = c
        .schedule_meeting(d("2027-03-04"), meeting("2027-03-10 10:00"), "EG")
        .expect("meeting");
    assert_eq!(templates(&sent), [MEETING_CONFIRMATION]);
    assert!(
        c.schedule_meeting(d("2027-03-04"), meeting("2027-03-11 10:00"), "EG")
            .is_err(),
        "one at a time"
    );
}

#[test]
fn the_reminder_goes_the_business_day_before_once() {
    let f = Fixture::new();
    let mut c = documented(&f);
    // a Monday meeting: reminded on the Friday
    c.schedule_meeting(d("2027-03-04"), meeting("2027-03-15 09:00"), "EG")
        .expect("meeting");
    assert_eq!(
        c.next_timer(d("2027-03-04"), &f.rules()),
        Some(d("2027-03-12"))
    );
    assert!(templates(&c.day(d("2027-03-11"), &f.rules())).is_empty());
    assert_eq!(
        templates(&c.day(d("2027-03-12"), &f.rules())),
        [MEETING_REMINDER]
    );
    assert!(
        templates(&c.day(d("2027-03-15"), &f.rules())).is_empty(),
        "once"
    );
    let mut both = Fixture::new();
    both.timers.meeting_reminders = vec![ReminderDay::BusinessDayBefore, ReminderDay::SameDay];
    let mut c = documented(&both);
    c.schedule_meeting(d("2027-03-04"), meeting("2027-03-15 09:00"), "EG")
        .expect("meeting");
    assert_eq!(
        templates(&c.day(d("2027-03-12"), &both.rules())),
        [MEETING_REMINDER]
    );
    assert_eq!(
        templates(&c.day(d("2027-03-15"), &both.rules())),
        [MEETING_REMINDER]
    );
}

#[test]
fn no_contact_brings_calls_then_the_sms_then_closing() {
    let f = Fixture::new();
    let mut c = opened(ApplicationChannel::Web, false, "2027-03-01");
    c.review(
        d("2027-03-01"),
        Decision::Suitable { meeting: None },
        "EG",
        &f.rules(),
    )
    .expect("reply");
    // 15 business days after the last contact (the application on 1 March): 22 March
    let quiet = c.next_timer(d("2027-03-01"), &f.rules()).expect("a timer");
    assert_eq!(quiet, d("2027-03-22"));
    assert!(c.day(d("2027-03-19"), &f.rules()).is_empty());
    assert_eq!(c.watch, Watch::Quiet);
    c.day(quiet, &f.rules());
    assert_eq!(c.watch, Watch::CallsDue { since: quiet });
    assert_eq!(c.tasks(quiet, &f.rules())[0].kind, "call");
    assert!(
        c.log_call(quiet, CallOutcome::NoAnswer, "EG", &f.rules())
            .expect("call")
            .is_empty()
    );
    let sent = c
        .log_call(d("2027-03-23"), CallOutcome::NoAnswer, "EG", &f.rules())
        .expect("call");
    assert_eq!(templates(&sent), [CONTACT_REQUEST]);
    let Watch::SmsSent { close_on, .. } = c.watch else {
        panic!("{:?}", c.watch)
    };
    // Easter 2027: 25, 26, 29 March are holidays in Norway
    assert_eq!(close_on, f.cal.add_business_days(d("2027-03-23"), 10));
    assert!(c.day(close_on.add_days(-1), &f.rules()).is_empty());
    let sent = c.day(close_on, &f.rules());
    assert_eq!(templates(&sent), [CASE_CLOSED]);
    assert!(sent.contains(&Effect::Closed));
    assert_eq!(c.close_reason, Some(CloseReason::NoContact));
    assert!(
        c.closing_note
            .as_deref()
            .is_some_and(|n| n.contains("no contact"))
    );
}

#[test]
fn contact_in_the_round_without_documents_brings_the_warning_then_closing() {
    let f = Fixture::new();
    let mut c = opened(ApplicationChannel::Web, false, "2027-03-01");
    c.review(
        d("2027-03-01"),
        Decision::Suitable { meeting: None },
        "EG",
        &f.rules(),
    )
    .expect("reply");
    c.day(d("2027-03-22"), &f.rules());
    let sent = c
        .log_call(d("2027-03-22"), CallOutcome::Answered, "EG", &f.rules())
        .expect("call");
    assert_eq!(templates(&sent), [CLOSURE_WARNING]);
    let Watch::Warned { close_on, .. } = c.watch else {
        panic!("{:?}", c.watch)
    };
    // contact before the deadline stops it
    let mut saved = c.clone();
    saved
        .documents(
            close_on.add_days(-1),
            &["Lønnsslipper".into()],
            &[],
            false,
            "EG",
            &f.rules(),
        )
        .expect("documents");
    assert_eq!(saved.watch, Watch::Quiet);
    assert!(saved.day(close_on, &f.rules()).is_empty());
    let sent = c.day(close_on, &f.rules());
    assert!(sent.contains(&Effect::Closed));
    assert_eq!(c.close_reason, Some(CloseReason::NoFollowUp));
}

#[test]
fn a_missed_meeting_brings_the_warning_after_the_quiet_period() {
    let f = Fixture::new();
    let mut c = documented(&f);
    c.schedule_meeting(d("2027-03-04"), meeting("2027-03-08 09:00"), "EG")
        .expect("meeting");
    assert!(
        c.meeting_outcome(d("2027-03-05"), MeetingOutcome::Missed, "EG")
            .is_err(),
        "not before the day"
    );
    c.meeting_outcome(d("2027-03-08"), MeetingOutcome::Missed, "EG")
        .expect("missed");
    let due = c.next_timer(d("2027-03-08"), &f.rules()).expect("timer");
    let sent = c.day(due, &f.rules());
    assert_eq!(templates(&sent), [CLOSURE_WARNING]);
}

#[test]
fn debt_mapping_to_the_schedule_and_closing_with_the_two_month_tail() {
    let f = Fixture::new();
    let mut c = opened(ApplicationChannel::Web, false, "2027-03-01");
    c.review(
        d("2027-03-01"),
        Decision::Suitable { meeting: None },
        "EG",
        &f.rules(),
    )
    .expect("reply");
    let creditor = || NewCreditor {
        name: "Lindorff".into(),
        reference: Some("L-1".into()),
        address: None,
        email: Some("post@lindorff.example".into()),
    };
    assert!(
        c.add_creditor(d("2027-03-02"), creditor(), "EG", &f.rules())
            .is_err(),
        "power of attorney first"
    );
    c.documents(d("2027-03-02"), &docs(), &[], true, "EG", &f.rules())
        .expect("poa");
    let sent = c
        .add_creditor(d("2027-03-02"), creditor(), "EG", &f.rules())
        .expect("creditor");
    assert_eq!(templates(&sent), [DEBT_REQUEST]);
    let Effect::Notify { to, data, .. } = &sent[0] else {
        panic!("a letter")
    };
    assert_eq!(*to, To::Creditor(0));
    assert_eq!(data["answer_by"], json!("2027-05-03")); // 2 May 2027 is a Sunday
    assert!(
        c.add_creditor(d("2027-03-02"), creditor(), "EG", &f.rules())
            .is_err(),
        "twice"
    );
    assert_eq!(c.phase, Phase::Mapping);
    assert!(
        c.creditor_answer(d("2027-03-20"), 3, Vec::new(), "EG")
            .is_err(),
        "not on the case"
    );
    assert!(
        c.close(
            d("2027-03-20"),
            CloseReason::Completed,
            "ferdig",
            "EG",
            &f.rules()
        )
        .is_err(),
        "no schedule yet"
    );
    let item = DebtItem {
        source: super::super::schedule::Source::Creditor,
        creditor: "Lindorff".into(),
        reference: Some("L-1".into()),
        kind: "forbrukslån".into(),
        balance: Money::parse("12000.00").expect("money"),
        interest: Money::parse("1200.00").expect("money"),
        monthly_cost: Money::parse("900.00").expect("money"),
    };
    c.creditor_answer(d("2027-03-20"), 0, vec![item], "EG")
        .expect("answer");
    let tasks = c.tasks(d("2027-03-22"), &f.rules());
    let kinds: Vec<(&str, BusinessDate)> = tasks.iter().map(|t| (t.kind.as_str(), t.due)).collect();
    // every creditor answered: the schedule is due; the register's data a month after opening
    assert_eq!(
        kinds,
        [("schedule", d("2027-03-22")), ("register", d("2027-04-01"))]
    );
    let sent = c
        .send_schedule(d("2027-03-22"), Vec::new(), "NOK", "EG")
        .expect("schedule");
    let Effect::Notify { data, .. } = &sent[0] else {
        panic!("a letter")
    };
    assert_eq!(data["totals"]["balance"], "12000.00");
    assert!(
        c.close(
            d("2027-03-23"),
            CloseReason::Completed,
            "",
            "EG",
            &f.rules()
        )
        .is_err(),
        "a note is required"
    );
    assert!(
        c.close(
            d("2027-03-23"),
            CloseReason::NoContact,
            "x",
            "EG",
            &f.rules()
        )
        .is_err()
    );
    let sent = c
        .close(
            d("2027-03-23"),
            CloseReason::Completed,
            "Gjelden er kartlagt",
            "EG",
            &f.rules(),
        )
        .expect("close");
    assert_eq!(templates(&sent), [CREDITOR_CLOSING, CASE_CLOSED]);
    assert!(sent.contains(&Effect::WorkEnded) && !sent.contains(&Effect::Closed));
    assert_eq!(c.phase, Phase::Closing);
    assert_eq!(c.power_of_attorney_ended_on, Some(d("2027-03-23")));
    assert_eq!(c.close_on, Some(d("2027-05-24")));
    assert!(
        c.log_call(d("2027-03-24"), CallOutcome::Answered, "EG", &f.rules())
            .is_err(),
        "a new application is needed"
    );
    assert!(c.day(d("2027-05-21"), &f.rules()).is_empty());
    assert_eq!(c.day(d("2027-05-24"), &f.rules()), [Effect::Closed]);
    assert_eq!(c.phase, Phase::Closed);
    assert!(c.day(d("2027-06-01"), &f.rules()).is_empty());
}

#[derive(Debug, Clone)]
enum Op {
    Days(u8),
    Call(bool),
    Documents,
    Meeting(u8),
    Outcome(bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1u8..20).prop_map(Op::Days),
        3 => any::<bool>().prop_map(Op::Call),
        1 => Just(Op::Documents),
        1 => (0u8..15).prop_map(Op::Meeting),
        1 => any::<bool>().prop_map(Op::Outcome),
    ]
}

proptest! {
    /// Whatever happens, over every business day in between:
    /// - a case never closes without a closing note, and closes at most once;
    /// - it closes for no contact only after the contact SMS and `sms_close_days` business
    ///   days, for no follow-up only after the warning and `warning_close_days`;
    /// - the inactivity clock never fires earlier than `quiet_days` business days after the
    ///   last contact.
    #[test]
    fn the_routine_never_closes_early_or_silently(ops in proptest::collection::vec(op(), 1..40)) {
        let f = Fixture::new();
        let r = f.rules();
        let mut c = opened(ApplicationChannel::Web, false, "2027-01-04");
        c.review(d("2027-01-04"), Decision::Suitable { meeting: None }, "EG", &r).expect("reply");
        let mut today = d("2027-01-04");
        let mut closed = 0;
        let mut sms_on: Option<BusinessDate> = None;
        let mut warned_on: Option<BusinessDate> = None;
        let mut check = |c: &Case, effects: &[Effect], today: BusinessDate, sms_on: &mut Option<BusinessDate>, warned_on: &mut Option<BusinessDate>, last_contact: BusinessDate| -> Result<(), TestCaseError> {
            for e in effects {
                if let Effect::Notify { template, .. } = e {
                    if *template == CONTACT_REQUEST { *sms_on = Some(today); }
                    if *template == CLOSURE_WARNING { *warned_on = Some(today); }
                }
                if *e == Effect::Closed {
                    closed += 1;
                    prop_assert!(c.closing_note.is_some());
                    match c.close_reason {
                        Some(CloseReason::NoContact) => {
                            let s = sms_on.expect("the SMS went first");
                            prop_assert!(today >= f.cal.add_business_days(s, f.timers.sms_close_days));
                        }
                        Some(CloseReason::NoFollowUp) => {
                            let w = warned_on.expect("the warning went first");
                            prop_assert!(today >= f.cal.add_business_days(w, f.timers.warning_close_days));
                        }
                        other => prop_assert!(false, "unexpected reason {other:?}"),
                    }
                }
            }
            if let Watch::CallsDue { since } = c.watch {
                prop_assert!(since >= f.cal.add_business_days(last_contact, f.timers.quiet_days) || since >= last_contact);
            }
            Ok(())
        };
        for o in ops {
            let last_contact = c.last_contact;
            let effects = match o {
                Op::Days(n) => {
                    let mut all = Vec::new();
                    for _ in 0..n {
                        today = f.cal.next_business_day_after(today);
                        let lc = c.last_contact;
                        let e = c.day(today, &r);
                        check(&c, &e, today, &mut sms_on, &mut warned_on, lc)?;
                        all.extend(e);
                    }
                    let _ = all;
                    continue;
                }
                Op::Call(answered) => c.log_call(today, if answered { CallOutcome::Answered } else { CallOutcome::NoAnswer }, "EG", &r).unwrap_or_default(),
                Op::Documents => c.documents(today, &["x".into()], &[], true, "EG", &r).unwrap_or_default(),
                Op::Meeting(k) => {
                    let at = today.add_days(i64::from(k)).as_naive().and_hms_opt(10, 0, 0).expect("time");
                    c.schedule_meeting(today, NewMeeting { at, place: "p".into(), interpreter: None }, "EG").unwrap_or_default()
                }
                Op::Outcome(held) => {
                    let _ = c.meeting_outcome(today, if held { MeetingOutcome::Held } else { MeetingOutcome::Missed }, "EG");
                    Vec::new()
                }
            };
            check(&c, &effects, today, &mut sms_on, &mut warned_on, last_contact)?;
        }
        prop_assert!(closed <= 1);
        prop_assert_eq!(c.phase.is_active(), c.closing_note.is_none());
    }
}
