//! ISO 20022 camt.054 (BankToCustomerDebitCreditNotification), versions 001.02 to 001.08, as
//! Danish and Norwegian banks send it.
//!
//! The root element and its namespace are checked first (quick-xml's namespace-resolving
//! reader), then the document is read with serde into the few elements used here — every one
//! optional, so that a missing element is reported below with its path instead of as a serde
//! error. Per notification (`Ntfctn`) the account (`Acct/Id/IBAN` or `Othr/Id`) names the
//! municipality; each booked credit entry (`Ntry`, `CdtDbtInd` CRDT, status BOOK) gives one
//! payment per transaction (`NtryDtls/TxDtls`), or one for the entry when it has no details.
//! Debits, reversals and entries not booked are skipped with the reason.
//!
//! This file holds the elements read and the reading of the file (its root's version, its
//! encoding, the serde pass); `camt/entries.rs` walks the document it gives.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use indicatif::ProgressBar;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use serde::Deserialize;

use super::{Accounts, BankFile, Counting, Format, Location, Problem};

mod entries;

use entries::Reader;

/// The namespace of camt.054 without its version: `…camt.054.001.02` to `.08` are read.
const NAMESPACE_PREFIX: &str = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.";
/// The versions read.
const VERSIONS: std::ops::RangeInclusive<u32> = 2..=8;
/// Stop listing a file's problems after this many.
const MAX_PROBLEMS: usize = 50;

// The elements read, named as in the standard (serde matches local names, any prefix).

#[derive(Debug, Deserialize)]
struct Document {
    #[serde(rename = "BkToCstmrDbtCdtNtfctn")]
    notification: Option<Notification>,
}

#[derive(Debug, Deserialize)]
struct Notification {
    #[serde(rename = "Ntfctn", default)]
    notifications: Vec<Ntfctn>,
}

#[derive(Debug, Deserialize)]
struct Ntfctn {
    #[serde(rename = "Acct")]
    account: Option<Account>,
    #[serde(rename = "TxsSummry")]
    summary: Option<TxsSummry>,
    #[serde(rename = "Ntry", default)]
    entries: Vec<Ntry>,
}

#[derive(Debug, Deserialize)]
struct Account {
    #[serde(rename = "Id")]
    id: Option<AccountId>,
}

#[derive(Debug, Deserialize)]
struct AccountId {
    #[serde(rename = "IBAN")]
    iban: Option<String>,
    #[serde(rename = "Othr")]
    other: Option<Other>,
}

#[derive(Debug, Deserialize)]
struct Other {
    #[serde(rename = "Id")]
    id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TxsSummry {
    #[serde(rename = "TtlCdtNtries")]
    credits: Option<NumberAndSum>,
}

#[derive(Debug, Deserialize)]
struct NumberAndSum {
    #[serde(rename = "NbOfNtries")]
    count: Option<String>,
    #[serde(rename = "Sum")]
    sum: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Ntry {
    #[serde(rename = "NtryRef")]
    entry_ref: Option<String>,
    #[serde(rename = "Amt")]
    amount: Option<Amount>,
    #[serde(rename = "CdtDbtInd")]
    credit_debit: Option<String>,
    #[serde(rename = "RvslInd")]
    reversal: Option<String>,
    #[serde(rename = "Sts")]
    status: Option<Status>,
    #[serde(rename = "BookgDt")]
    booking_date: Option<DateChoice>,
    #[serde(rename = "ValDt")]
    value_date: Option<DateChoice>,
    #[serde(rename = "AcctSvcrRef")]
    servicer_ref: Option<String>,
    #[serde(rename = "NtryDtls", default)]
    details: Vec<NtryDtls>,
}

#[derive(Debug, Deserialize)]
struct Amount {
    #[serde(rename = "@Ccy")]
    currency: Option<String>,
    #[serde(rename = "$text")]
    value: Option<String>,
}

/// `<Sts>BOOK</Sts>` up to .06, `<Sts><Cd>BOOK</Cd></Sts>` from .07.
#[derive(Debug, Deserialize)]
struct Status {
    #[serde(rename = "$text")]
    text: Option<String>,
    #[serde(rename = "Cd")]
    code: Option<String>,
    #[serde(rename = "Prtry")]
    proprietary: Option<String>,
}

impl Status {
    fn code(&self) -> Option<&str> {
        self.code
            .as_deref()
            .or(self.text.as_deref())
            .or(self.proprietary.as_deref())
            .map(str::trim)
    }
}

#[derive(Debug, Deserialize)]
struct DateChoice {
    #[serde(rename = "Dt")]
    date: Option<String>,
    #[serde(rename = "DtTm")]
    date_time: Option<String>,
}

#[derive(Debug, Deserialize)]
struct NtryDtls {
    #[serde(rename = "TxDtls", default)]
    transactions: Vec<TxDtls>,
}

#[derive(Debug, Deserialize)]
struct TxDtls {
    #[serde(rename = "Refs")]
    refs: Option<Refs>,
    #[serde(rename = "Amt")]
    amount: Option<Amount>,
    #[serde(rename = "CdtDbtInd")]
    credit_debit: Option<String>,
    #[serde(rename = "AmtDtls")]
    amount_details: Option<AmtDtls>,
    #[serde(rename = "RltdPties")]
    parties: Option<RltdPties>,
    #[serde(rename = "RmtInf")]
    remittance: Option<RmtInf>,
}

#[derive(Debug, Deserialize)]
struct Refs {
    #[serde(rename = "AcctSvcrRef")]
    servicer_ref: Option<String>,
    #[serde(rename = "EndToEndId")]
    end_to_end: Option<String>,
}

#[derive(Debug, Deserialize)]
struct AmtDtls {
    #[serde(rename = "TxAmt")]
    transaction: Option<TxAmt>,
}

#[derive(Debug, Deserialize)]
struct TxAmt {
    #[serde(rename = "Amt")]
    amount: Option<Amount>,
}

#[derive(Debug, Deserialize)]
struct RltdPties {
    #[serde(rename = "Dbtr")]
    debtor: Option<Party>,
}

/// Up to .07 the debtor's fields are in `Dbtr`; from .08 in `Dbtr/Pty`.
#[derive(Debug, Deserialize)]
struct Party {
    #[serde(rename = "Nm")]
    name: Option<String>,
    #[serde(rename = "Id")]
    id: Option<PartyId>,
    #[serde(rename = "Pty")]
    party: Option<Box<Party>>,
}

#[derive(Debug, Deserialize)]
struct PartyId {
    #[serde(rename = "PrvtId")]
    private: Option<PartyOthers>,
    #[serde(rename = "OrgId")]
    organisation: Option<PartyOthers>,
}

#[derive(Debug, Deserialize)]
struct PartyOthers {
    #[serde(rename = "Othr", default)]
    others: Vec<Other>,
}

#[derive(Debug, Deserialize)]
struct RmtInf {
    #[serde(rename = "Ustrd", default)]
    unstructured: Vec<String>,
    #[serde(rename = "Strd", default)]
    structured: Vec<Strd>,
}

#[derive(Debug, Deserialize)]
struct Strd {
    #[serde(rename = "CdtrRefInf")]
    creditor_ref: Option<CdtrRefInf>,
}

#[derive(Debug, Deserialize)]
struct CdtrRefInf {
    #[serde(rename = "Ref")]
    reference: Option<String>,
}

/// Reads and checks a camt.054 file.
pub fn read(
    path: &Path,
    name: &str,
    accounts: &Accounts<'_>,
    bar: &ProgressBar,
) -> Result<BankFile, Vec<Problem>> {
    let at = |at: &str, message: String| Problem {
        location: Location {
            file: name.to_owned(),
            at: at.to_owned(),
        },
        message,
    };
    let open = || {
        File::open(path)
            .map(|f| BufReader::with_capacity(1 << 16, f))
            .map_err(|e| vec![at("", format!("cannot open: {e}"))])
    };
    let version = root_version(open()?).map_err(|(where_, message)| vec![at(&where_, message)])?;
    // A file declared in another encoding than UTF-8 (ISO-8859-1 from some Danish banks) is
    // decoded first; quick-xml's serde reads UTF-8.
    let decoded = {
        let mut reader = quick_xml::Reader::from_reader(open()?);
        let mut buf = Vec::new();
        match reader.read_event_into(&mut buf) {
            Ok(Event::Decl(decl)) => match decl.encoder() {
                Some(encoding) if encoding.name() != "UTF-8" => {
                    let bytes = std::fs::read(path)
                        .map_err(|e| vec![at("", format!("cannot read: {e}"))])?;
                    bar.inc(bytes.len() as u64);
                    let (text, _, malformed) = encoding.decode(&bytes);
                    if malformed {
                        return Err(vec![at(
                            "",
                            format!(
                                "not valid {} text, as its declaration says",
                                encoding.name()
                            ),
                        )]);
                    }
                    Some(text.into_owned())
                }
                _ => None,
            },
            _ => None,
        }
    };
    let parsed = match &decoded {
        Some(text) => quick_xml::de::from_str::<Document>(text),
        None => quick_xml::de::from_reader(BufReader::new(Counting::new(open()?, bar.clone()))),
    };
    let document: Document = parsed.map_err(|e| {
        // serde's error has no position: find it with a plain pass when it is XML's
        let (where_, why) = match syntax_error(open().ok()) {
            Some((line, why)) => (format!("line {line}"), why),
            None => (String::new(), e.to_string()),
        };
        vec![at(
            &where_,
            format!("not a readable camt.054 document: {why}"),
        )]
    })?;
    let mut reader = Reader {
        file: name,
        accounts,
        payments: Vec::new(),
        skipped: Vec::new(),
        problems: Vec::new(),
    };
    let root = "Document/BkToCstmrDbtCdtNtfctn";
    match document.notification {
        None => reader.problem(root, "missing: not a BkToCstmrDbtCdtNtfctn".to_owned()),
        Some(n) if n.notifications.is_empty() => {
            reader.problem(
                &format!("{root}/Ntfctn"),
                "missing: no notification".to_owned(),
            );
        }
        Some(n) => {
            // Each notification, and each entry, is dropped once read: the payments take its place.
            for (i, ntfctn) in n.notifications.into_iter().enumerate() {
                reader.notification(&format!("{root}/Ntfctn[{}]", i + 1), ntfctn);
                if reader.problems.len() >= MAX_PROBLEMS {
                    reader.problem(
                        "",
                        format!("more problems not listed (stopped after {MAX_PROBLEMS})"),
                    );
                    break;
                }
            }
        }
    }
    if reader.problems.is_empty() {
        Ok(BankFile {
            file: name.to_owned(),
            format: Format::Camt054(format!("camt.054.001.{version:02}")),
            payments: reader.payments,
            skipped: reader.skipped,
        })
    } else {
        Err(reader.problems)
    }
}

/// The version of a camt.054 root (`Document` in `…camt.054.001.NN`), or where and why not.
fn root_version(input: impl std::io::BufRead) -> Result<u32, (String, String)> {
    let mut reader = quick_xml::NsReader::from_reader(input);
    let mut buf = Vec::new();
    let failure = loop {
        match reader.read_resolved_event_into(&mut buf) {
            Ok((ns, Event::Start(start) | Event::Empty(start))) => {
                let local = {
                    let name = start.local_name();
                    let name: &str = name.as_ref();
                    name.to_owned()
                };
                let namespace = match ns {
                    ResolveResult::Bound(ns) => {
                        let ns: &str = ns.as_ref();
                        ns.to_owned()
                    }
                    _ => String::new(),
                };
                let version = namespace
                    .strip_prefix(NAMESPACE_PREFIX)
                    .and_then(|v| v.parse::<u32>().ok())
                    .filter(|v| VERSIONS.contains(v));
                return match version {
                    Some(v) if local == "Document" => Ok(v),
                    _ => Err((
                        local.clone(),
                        format!(
                            "the root element is {local} in namespace {}: expected Document in \
                             {NAMESPACE_PREFIX}02 to .08 (camt.054, a debit/credit notification)",
                            if namespace.is_empty() {
                                "(none)"
                            } else {
                                &namespace
                            }
                        ),
                    )),
                };
            }
            Ok((_, Event::Eof)) => {
                return Err((String::new(), "no root element: not XML".to_owned()));
            }
            Ok(_) => {}
            Err(e) => break e,
        }
        buf.clear();
    };
    Err((
        String::new(),
        format!(
            "not well-formed XML at byte {}: {failure}",
            reader.error_position()
        ),
    ))
}

/// The line and reason of the first XML syntax error, if the file has one.
fn syntax_error(input: Option<BufReader<File>>) -> Option<(u64, String)> {
    use std::io::{Read, Seek};
    let mut input = input?;
    let mut reader = quick_xml::Reader::from_reader(&mut input);
    let mut buf = Vec::new();
    let (position, why) = loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Eof) => return None,
            Ok(_) => {}
            Err(e) => break (reader.error_position(), e.to_string()),
        }
        buf.clear();
    };
    input.rewind().ok()?;
    let mut head = Vec::new();
    input.take(position).read_to_end(&mut head).ok()?;
    let line = 1 + head.iter().filter(|b| **b == b'\n').count() as u64;
    Some((line, why))
}
