//! The services of the flow, its phases, and the faults that strike them.

/// The services of the flow, by index. Every one runs `--replicas` processes.
pub const SERVICES: [&str; 7] = [
    "invoicing",
    "dunning",
    "agreements",
    "notifications",
    "reporting",
    "guarantee",
    "counselling",
];
pub const INV: usize = 0;
pub const DUN: usize = 1;
pub const AGR: usize = 2;
pub const NOT: usize = 3;
pub const REP: usize = 4;
pub const GUA: usize = 5;
pub const CNS: usize = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Invoices (and the bad input) arrive.
    Ingest,
    /// Payments on the claims' FIK lines arrive.
    Payments,
    /// Fees, interest charges and part payments on the same claims at the same time.
    Race,
    /// The changes that end guarantees arrive: each ended guarantee's recovery is raised (a
    /// claim in invoicing, the guarantor's notice, the bank's hold letter) or released.
    Guarantees,
    /// Caseworkers make plans, deferrals and meetings over agreements' API.
    Agreements,
    /// A caseworker reviews every debt-counselling case as suitable over counselling's API:
    /// each review's reply letter is requested and delivered.
    Reviews,
    /// The first reminder day: letters and SMS.
    Day1,
    /// The second reminder day: fees, interest, the meeting reminders, the month-end and
    /// quarter-end reports and their e-mails.
    Day2,
}

#[derive(Debug, Clone, Copy)]
pub enum Fault {
    None,
    /// `kill -9` of one replica of a service, from outside, at a random moment of the phase.
    Kill9(usize, Phase),
    /// One replica aborts at a crash point (`RESTANCE_CRASH_AT`), on a random pass.
    Crash(usize, &'static str, u64),
    /// An outbox relay dies between confirm and delete: invoicing's or dunning's, by run.
    RelayCrash,
    /// Every replica of a service in turn: SIGTERM, drain, start again, ready — as
    /// `kubectl rollout restart` replaces the pods of a deployment.
    Rolling(usize, Phase),
    /// One replica's broker connections are closed by the broker while the others run.
    CutReplica(usize, Phase),
    BrokerRestart(Phase),
    ConnectionDrop(Phase),
    PostgresRestart(Phase),
    MemoryAlarm(Phase),
    DiskAlarm(Phase),
}

pub struct Scenario {
    pub name: &'static str,
    pub fault: Fault,
    pub what: &'static str,
}

pub fn phase_of(f: Fault) -> Option<Phase> {
    match f {
        Fault::Kill9(_, p)
        | Fault::Rolling(_, p)
        | Fault::CutReplica(_, p)
        | Fault::BrokerRestart(p)
        | Fault::ConnectionDrop(p)
        | Fault::PostgresRestart(p)
        | Fault::MemoryAlarm(p)
        | Fault::DiskAlarm(p) => Some(p),
        _ => None,
    }
}

#[allow(clippy::too_many_lines)] // a table
pub fn scenarios() -> Vec<Scenario> {
    use Fault::*;
    use Phase::*;
    let s = |name, fault, what| Scenario { name, fault, what };
    vec![
        s("control", None, "no fault: the reference outcome"),
        s(
            "kill-invoicing",
            Kill9(INV, Ingest),
            "kill -9 of one invoicing replica while invoices arrive",
        ),
        s(
            "kill-invoicing-payments",
            Kill9(INV, Payments),
            "kill -9 of one invoicing replica while payments arrive",
        ),
        s(
            "kill-invoicing-race",
            Kill9(INV, Race),
            "kill -9 of one invoicing replica during the fee/interest/payment race",
        ),
        s(
            "invoicing-before-commit",
            Crash(INV, "consumer.before_commit", 12),
            "an invoicing replica dies with a batch written, not committed",
        ),
        s(
            "invoicing-after-commit",
            Crash(INV, "consumer.after_commit", 12),
            "an invoicing replica dies after commit, before the ack",
        ),
        s(
            "kill-dunning",
            Kill9(DUN, Day1),
            "kill -9 of one dunning replica during the daily run",
        ),
        s(
            "dunning-before-commit",
            Crash(DUN, "consumer.before_commit", 12),
            "a dunning replica dies with a batch written, not committed",
        ),
        s(
            "dunning-after-commit",
            Crash(DUN, "consumer.after_commit", 12),
            "a dunning replica dies after commit, before the ack",
        ),
        s(
            "dunning-run-before-commit",
            Crash(DUN, "dunning.run.before_commit", 2),
            "a dunning replica's daily run dies with a chunk's decisions written, not committed",
        ),
        s(
            "dunning-run-after-commit",
            Crash(DUN, "dunning.run.after_commit", 2),
            "a dunning replica's daily run dies right after committing a chunk",
        ),
        s(
            "kill-agreements",
            Kill9(AGR, Agreements),
            "kill -9 of one agreements replica while caseworkers make plans, deferrals and meetings",
        ),
        s(
            "kill-notifications",
            Kill9(NOT, Day1),
            "kill -9 of one notifications replica while letters and SMS go out",
        ),
        s(
            "notifications-before-commit",
            Crash(NOT, "consumer.before_commit", 8),
            "a notifications replica dies with requests written, not committed",
        ),
        s(
            "notifications-after-commit",
            Crash(NOT, "consumer.after_commit", 8),
            "a notifications replica dies after commit, before the ack",
        ),
        s(
            "notifications-after-send",
            Crash(NOT, "notifications.after_send", 40),
            "a notifications replica dies after the gateway accepted an SMS, before recording it",
        ),
        s(
            "notifications-after-email",
            Crash(NOT, "notifications.after_send_email", 2),
            "crash point right after the SMTP server accepted an e-mail, before the outcome is committed (the e-mail goes again with the same Message-ID: counted apart)",
        ),
        s(
            "kill-reporting",
            Kill9(REP, Day2),
            "kill -9 of one reporting replica while the month-end reports are made",
        ),
        s(
            "kill-guarantee",
            Kill9(GUA, Guarantees),
            "kill -9 of one guarantee replica while the changes that end guarantees raise recovery",
        ),
        s(
            "guarantee-before-commit",
            Crash(GUA, "consumer.before_commit", 12),
            "a guarantee replica dies with a batch written, not committed",
        ),
        s(
            "guarantee-after-commit",
            Crash(GUA, "consumer.after_commit", 12),
            "a guarantee replica dies after commit, before the ack",
        ),
        s(
            "kill-counselling",
            Kill9(CNS, Reviews),
            "kill -9 of one counselling replica while a caseworker reviews the debt-counselling cases",
        ),
        s(
            "counselling-before-commit",
            Crash(CNS, "consumer.before_commit", 12),
            "a counselling replica dies with a batch written, not committed",
        ),
        s(
            "counselling-after-commit",
            Crash(CNS, "consumer.after_commit", 12),
            "a counselling replica dies after commit, before the ack",
        ),
        s(
            "relay-mid-publish",
            RelayCrash,
            "an outbox relay dies after the confirms, before deleting the rows",
        ),
        s(
            "rolling-restart-invoicing",
            Rolling(INV, Ingest),
            "every invoicing replica restarted in turn (kubectl rollout restart) while invoices arrive",
        ),
        s(
            "rolling-restart-dunning",
            Rolling(DUN, Day1),
            "every dunning replica restarted in turn during the daily run",
        ),
        s(
            "rolling-restart-notifications",
            Rolling(NOT, Day1),
            "every notifications replica restarted in turn while letters and SMS go out",
        ),
        s(
            "cut-invoicing-replica",
            CutReplica(INV, Ingest),
            "one invoicing replica's broker connections closed while invoices arrive",
        ),
        s(
            "cut-dunning-replica",
            CutReplica(DUN, Day1),
            "one dunning replica's broker connections closed during the daily run",
        ),
        s(
            "broker-restart",
            BrokerRestart(Ingest),
            "rabbitmqctl stop_app / start_app while invoices arrive",
        ),
        s(
            "broker-restart-day",
            BrokerRestart(Day1),
            "rabbitmqctl stop_app / start_app during the daily run",
        ),
        s(
            "connection-drop",
            ConnectionDrop(Ingest),
            "rabbitmqctl close_all_connections while invoices arrive",
        ),
        s(
            "postgres-restart",
            PostgresRestart(Ingest),
            "pg_ctlcluster restart -m immediate while invoices arrive",
        ),
        s(
            "postgres-restart-day",
            PostgresRestart(Day1),
            "pg_ctlcluster restart -m immediate during the daily run",
        ),
        s(
            "memory-alarm",
            MemoryAlarm(Ingest),
            "broker memory alarm (publishers blocked) while invoices arrive",
        ),
        s(
            "disk-alarm",
            DiskAlarm(Day1),
            "broker disk alarm (publishers blocked) during the daily run",
        ),
    ]
}
