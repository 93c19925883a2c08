//! The Norwegian OCR giro file (Nets, formerly BBS): 80-character records, format code `NY`.
//!
//! A transmission (record 10 … 89) holds assignments (20 … 88) of the OCR giro service (service
//! code 09); each payment is an amount item 1 (30: transaction type, transaction number,
//! settlement date DDMMYY, amount in øre, KID right-aligned) followed by amount item 2 (31: the
//! same transaction number, form number, the payer's account), and for the free-text types an
//! amount item 3 (32). The end records repeat the number of transactions and records and the sum
//! of the amounts: they must match what the file holds, or the file is refused (truncated,
//! joined badly, edited). Positions below are the specification's, 1-based.

use std::io::{BufRead, BufReader};
use std::path::Path;

use indicatif::ProgressBar;
use restance_contracts::{PaymentChannel, PaymentReceived};
use restance_kernel::{BusinessDate, Currency, Money, Municipality, Redacted};

use super::{
    Accounts, BankFile, BankPayment, Counting, Format, Location, Problem, Skipped,
    payment_envelope, read_kid,
};

/// The length of every record.
pub const RECORD_LEN: usize = 80;

/// Field `from..=to` (1-based, as in the specification) of a record known to be 80 ASCII bytes.
fn field(record: &str, from: usize, to: usize) -> &str {
    &record[from - 1..to]
}

/// A number field of digits only.
fn number(record: &str, from: usize, to: usize) -> Result<u64, String> {
    let f = field(record, from, to);
    if f.bytes().all(|b| b.is_ascii_digit()) {
        f.parse::<u64>()
            .map_err(|_| format!("positions {from}-{to} ({f:?}) are not a number"))
    } else {
        Err(format!("positions {from}-{to} ({f:?}) must be digits only"))
    }
}

/// DDMMYY at `from..from+5` (years 00–99 are 2000–2099).
fn date(record: &str, from: usize) -> Result<BusinessDate, String> {
    let f = field(record, from, from + 5);
    let parts = (
        f[0..2].parse::<u32>(),
        f[2..4].parse::<u32>(),
        f[4..6].parse::<i32>(),
    );
    match parts {
        (Ok(d), Ok(m), Ok(y)) if f.bytes().all(|b| b.is_ascii_digit()) => {
            BusinessDate::new(2000 + y, m, d).ok_or_else(|| {
                format!("positions {from}-{} ({f}) is not a date (DDMMYY)", from + 5)
            })
        }
        _ => Err(format!(
            "positions {from}-{} ({f:?}) is not a date (DDMMYY)",
            from + 5
        )),
    }
}

/// The assignment being read.
struct Assignment {
    line: usize,
    number: u64,
    account: String,
    code: String,
    municipality: Municipality,
    transactions: u64,
    records: u64,
    sum: i128,
    /// The amount item 1 waiting for its item 2: line, transaction number, the payment.
    pending: Option<Pending>,
}

struct Pending {
    line: usize,
    transaction_number: u64,
    transaction_type: u64,
    booking_date: BusinessDate,
    amount: i64,
    kid: Option<String>,
}

/// Reads and checks an OCR giro file.
pub fn read(
    path: &Path,
    name: &str,
    accounts: &Accounts<'_>,
    bar: &ProgressBar,
) -> Result<BankFile, Vec<Problem>> {
    let file = std::fs::File::open(path).map_err(|e| {
        vec![Problem {
            location: Location {
                file: name.to_owned(),
                at: String::new(),
            },
            message: format!("cannot open: {e}"),
        }]
    })?;
    let input = BufReader::with_capacity(1 << 16, Counting::new(file, bar.clone()));
    parse(input, name, accounts)
}

/// Reads an OCR giro transmission from `input` (`name` is used in messages).
pub fn parse(
    input: impl BufRead,
    name: &str,
    accounts: &Accounts<'_>,
) -> Result<BankFile, Vec<Problem>> {
    let problem = |line: usize, message: String| {
        vec![Problem {
            location: Location {
                file: name.to_owned(),
                at: if line == 0 {
                    String::new()
                } else {
                    format!("line {line}")
                },
            },
            message,
        }]
    };
    let mut reader = Transmission::new(name, accounts);
    let mut last_line = 0;
    for (i, line) in input.split(b'\n').enumerate() {
        let n = i + 1;
        let raw = line.map_err(|e| problem(n, format!("cannot read: {e}")))?;
        let raw = raw.strip_suffix(b"\r").unwrap_or(&raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        last_line = n;
        if reader.ended {
            return Err(problem(
                n,
                "a record after the transmission end (record type 89)".into(),
            ));
        }
        let record = checked_record(raw, n).map_err(|e| problem(n, e))?;
        reader
            .record(n, record)
            .map_err(|(line, e)| problem(line, e))?;
    }
    if last_line == 0 {
        return Err(problem(0, "the file is empty".into()));
    }
    if !reader.ended {
        return Err(problem(
            last_line,
            "the file ends without a transmission end (record type 89): truncated?".into(),
        ));
    }
    Ok(BankFile {
        file: name.to_owned(),
        format: Format::OcrGiro,
        payments: reader.payments,
        skipped: reader.skipped,
    })
}

/// Line `n` as a record: 80 ASCII characters with the format code `NY`.
fn checked_record(raw: &[u8], n: usize) -> Result<&str, String> {
    let Ok(record) = std::str::from_utf8(raw) else {
        return Err("not text: OCR giro records are ASCII".into());
    };
    if record.len() != RECORD_LEN || !record.is_ascii() {
        return Err(format!(
            "a record is {RECORD_LEN} ASCII characters, this one has {}{}",
            record.chars().count(),
            if n == 1 {
                ": not an OCR giro file?"
            } else {
                ""
            }
        ));
    }
    if field(record, 1, 2) != "NY" {
        return Err(format!(
            "format code {:?}, expected NY (positions 1-2){}",
            field(record, 1, 2),
            if n == 1 { ": not an OCR giro file" } else { "" }
        ));
    }
    Ok(record)
}

/// A refusal: the line it is about and why.
type Refusal = (usize, String);

/// The transmission being read, record by record.
struct Transmission<'a> {
    name: &'a str,
    accounts: &'a Accounts<'a>,
    /// (transmission number, data recipient) once the start record (10) was read.
    start: Option<(u64, u64)>,
    ended: bool,
    assignment: Option<Assignment>,
    transactions: u64,
    records: u64,
    sum: i128,
    payments: Vec<BankPayment>,
    skipped: Vec<Skipped>,
}

impl<'a> Transmission<'a> {
    fn new(name: &'a str, accounts: &'a Accounts<'a>) -> Self {
        Self {
            name,
            accounts,
            start: None,
            ended: false,
            assignment: None,
            transactions: 0,
            records: 0,
            sum: 0,
            payments: Vec::new(),
            skipped: Vec::new(),
        }
    }

    /// Record `record` of line `n`.
    fn record(&mut self, n: usize, record: &str) -> Result<(), Refusal> {
        let at = |e: String| (n, e);
        let service = field(record, 3, 4);
        let record_type = field(record, 7, 8);
        self.records += 1;
        if let Some(a) = self.assignment.as_mut() {
            a.records += 1;
        }
        match record_type {
            "10" => self.start_transmission(record, service).map_err(at),
            _ if self.start.is_none() => Err(at(format!(
                "record type {record_type} before the transmission start: the first record \
                 must be type 10"
            ))),
            "20" => self.start_assignment(n, record, service).map_err(at),
            "30" => self.amount_item_1(n, record).map_err(at),
            "31" => self.amount_item_2(n, record),
            "32" => self.amount_item_3(record).map_err(at),
            "88" => self.end_assignment(record).map_err(at),
            "89" => self.end_transmission(record).map_err(at),
            other => Err(at(format!(
                "record type {other}: OCR giro has 10, 20, 30, 31, 32, 88 and 89"
            ))),
        }
    }

    fn start_transmission(&mut self, record: &str, service: &str) -> Result<(), String> {
        if self.start.is_some() {
            return Err("a second transmission start (10)".into());
        }
        if service != "00" {
            return Err(format!(
                "service code {service} in a transmission start, expected 00"
            ));
        }
        self.start = Some((number(record, 17, 23)?, number(record, 24, 31)?));
        Ok(())
    }

    fn start_assignment(&mut self, n: usize, record: &str, service: &str) -> Result<(), String> {
        if let Some(a) = &self.assignment {
            return Err(format!(
                "assignment start (20) inside the assignment begun on line {} (no end record 88)",
                a.line
            ));
        }
        if service != "09" {
            return Err(format!(
                "service code {service}: only OCR giro (09) is read"
            ));
        }
        let number_ = number(record, 18, 24)?;
        let account = field(record, 25, 35).to_owned();
        let (code, municipality) = self
            .accounts
            .municipality(&account)
            .map_err(|e| format!("assignment account: {e}"))?;
        if municipality.currency != Currency::Nok {
            return Err(format!(
                "assignment account is {}'s, which bills in {}: OCR giro is NOK",
                municipality.name, municipality.currency
            ));
        }
        self.assignment = Some(Assignment {
            line: n,
            number: number_,
            account,
            code: code.to_owned(),
            municipality: municipality.clone(),
            transactions: 0,
            records: 1,
            sum: 0,
            pending: None,
        });
        Ok(())
    }

    /// Amount item 1 (30): the payment, waiting for its item 2.
    fn amount_item_1(&mut self, n: usize, record: &str) -> Result<(), String> {
        let Some(a) = self.assignment.as_mut() else {
            return Err(outside_assignment("30"));
        };
        let transaction_type = number(record, 5, 6)?;
        let transaction_number = number(record, 9, 15)?;
        if let Some(p) = &a.pending {
            return Err(format!(
                "amount item 1 (30) while the one on line {} still waits for its amount item 2 (31)",
                p.line
            ));
        }
        let booking_date = date(record, 16)?;
        let sign = field(record, 32, 32);
        let magnitude = number(record, 33, 49)?;
        let magnitude = i64::try_from(magnitude).map_err(|_| "amount out of range".to_owned())?;
        let amount = match sign {
            "-" => -magnitude,
            "0" | " " => magnitude,
            other => return Err(format!("sign {other:?} at position 32: expected 0 or -")),
        };
        let kid = field(record, 50, 74).trim();
        a.transactions += 1;
        a.sum += i128::from(amount);
        a.pending = Some(Pending {
            line: n,
            transaction_number,
            transaction_type,
            booking_date,
            amount,
            kid: (!kid.is_empty()).then(|| kid.to_owned()),
        });
        Ok(())
    }

    /// Amount item 2 (31): completes the pending payment (a reversal is skipped).
    fn amount_item_2(&mut self, n: usize, record: &str) -> Result<(), Refusal> {
        let at = |e: String| (n, e);
        let Some(a) = self.assignment.as_mut() else {
            return Err(at(outside_assignment("31")));
        };
        number(record, 5, 6).map_err(at)?;
        let transaction_number = number(record, 9, 15).map_err(at)?;
        let Some(p) = a.pending.take() else {
            return Err(at(
                "amount item 2 (31) without an amount item 1 (30) before it".into(),
            ));
        };
        if p.transaction_number != transaction_number {
            return Err(at(format!(
                "transaction number {transaction_number} but the amount item 1 on line {} has {}",
                p.line, p.transaction_number
            )));
        }
        let (transmission_number, _) = self.start.unwrap_or((0, 0));
        let location = Location {
            file: self.name.to_owned(),
            at: format!("line {}", p.line),
        };
        match p.transaction_type {
            18 | 20 => self.skipped.push(Skipped {
                location,
                reason: format!(
                    "a reversal (transaction type {}): book it by hand",
                    p.transaction_type
                ),
            }),
            _ => {
                let key = format!(
                    "ocr|{}|{transmission_number}|{}|{transaction_number}",
                    a.account, a.number
                );
                let envelope = payment(&key, &p, a).map_err(|e| (p.line, e))?;
                self.payments.push(BankPayment { location, envelope });
            }
        }
        Ok(())
    }

    /// Amount item 3 (32): free text for types 20/21; nothing here uses it.
    fn amount_item_3(&self, record: &str) -> Result<(), String> {
        if self.assignment.is_none() {
            return Err(outside_assignment("32"));
        }
        number(record, 5, 6)?;
        number(record, 9, 15)?;
        Ok(())
    }

    fn end_assignment(&mut self, record: &str) -> Result<(), String> {
        let Some(a) = self.assignment.take() else {
            return Err("assignment end (88) without a start (20)".into());
        };
        if let Some(p) = &a.pending {
            return Err(format!(
                "the amount item 1 on line {} has no amount item 2 (31)",
                p.line
            ));
        }
        check_totals(record, "assignment", a.transactions, a.records, a.sum)?;
        self.transactions += a.transactions;
        self.sum += a.sum;
        Ok(())
    }

    fn end_transmission(&mut self, record: &str) -> Result<(), String> {
        if let Some(a) = &self.assignment {
            return Err(format!(
                "transmission end (89) inside the assignment begun on line {} (no end record 88)",
                a.line
            ));
        }
        check_totals(
            record,
            "transmission",
            self.transactions,
            self.records,
            self.sum,
        )?;
        self.ended = true;
        Ok(())
    }
}

fn outside_assignment(record_type: &str) -> String {
    format!("amount item ({record_type}) outside an assignment (20 … 88)")
}

/// The counts and sum of an end record (88 or 89) against what was read.
fn check_totals(
    record: &str,
    what: &str,
    transactions: u64,
    records: u64,
    sum: i128,
) -> Result<(), String> {
    let stated_transactions = number(record, 9, 16)?;
    let stated_records = number(record, 17, 24)?;
    let stated_sum = number(record, 25, 41)?;
    if stated_transactions != transactions {
        return Err(format!(
            "the {what} end says {stated_transactions} transactions but the {what} has \
             {transactions}"
        ));
    }
    if stated_records != records {
        return Err(format!(
            "the {what} end says {stated_records} records but the {what} has {records}"
        ));
    }
    if i128::from(stated_sum) != sum {
        return Err(format!(
            "the {what} end says the amounts sum to {} but they sum to {}",
            Money::from_minor(i64::try_from(stated_sum).unwrap_or(i64::MAX)),
            i64::try_from(sum).map_or("more than can be shown".to_owned(), |s| Money::from_minor(
                s
            )
            .to_string())
        ));
    }
    Ok(())
}

/// The event for one amount item.
fn payment(
    key: &str,
    p: &Pending,
    a: &Assignment,
) -> Result<restance_contracts::Envelope<PaymentReceived>, String> {
    if p.amount <= 0 {
        return Err(format!(
            "amount {}: a payment must be more than zero",
            Money::from_minor(p.amount)
        ));
    }
    let reference = match &p.kid {
        Some(kid) => Some(read_kid(kid, &a.municipality)?),
        None => None,
    };
    let (payment_id, event_id) = super::payment_ids("ocr", key);
    let payment = PaymentReceived {
        payment_id,
        municipality: a.code.clone(),
        amount: Money::from_minor(p.amount),
        currency: Currency::Nok,
        booking_date: p.booking_date,
        channel: if reference.is_some() {
            PaymentChannel::Kid
        } else {
            PaymentChannel::Transfer
        },
        payment_reference: reference,
        payer_national_id: None,
        payer_name: None,
        text: None::<Redacted<String>>,
    };
    payment_envelope(event_id, payment)
}
