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

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use indicatif::ProgressBar;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use restance_contracts::{MAX_TEXT_CHARS, PaymentChannel, PaymentReceived};
use restance_kernel::{BusinessDate, Currency, Money, Municipality, Redacted};
use serde::Deserialize;

use super::{
    Accounts, BankFile, BankPayment, Counting, Format, Location, Problem, Reference, Skipped,
    payment_envelope, payment_ids, read_reference,
};

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

/// Walks the document, collecting payments, skipped entries and problems.
struct Reader<'a, 'c> {
    file: &'a str,
    accounts: &'a Accounts<'c>,
    payments: Vec<BankPayment>,
    skipped: Vec<Skipped>,
    problems: Vec<Problem>,
}

impl<'c> Reader<'_, 'c> {
    fn location(&self, at: &str) -> Location {
        Location {
            file: self.file.to_owned(),
            at: at.to_owned(),
        }
    }

    fn problem(&mut self, at: &str, message: String) {
        let location = self.location(at);
        self.problems.push(Problem { location, message });
    }

    fn skip(&mut self, at: &str, reason: String) {
        let location = self.location(at);
        self.skipped.push(Skipped { location, reason });
    }

    fn notification(&mut self, path: &str, mut n: Ntfctn) {
        let id = n.account.as_ref().and_then(|a| a.id.as_ref());
        let (account, account_path) = match id {
            Some(AccountId {
                iban: Some(iban), ..
            }) => (iban.trim().to_owned(), format!("{path}/Acct/Id/IBAN")),
            Some(AccountId {
                other: Some(Other { id: Some(other) }),
                ..
            }) => (other.trim().to_owned(), format!("{path}/Acct/Id/Othr/Id")),
            _ => {
                self.problem(
                    &format!("{path}/Acct/Id"),
                    "missing: the account (IBAN or Othr/Id) names the municipality".to_owned(),
                );
                return;
            }
        };
        let (code, municipality) = match self.accounts.municipality(&account) {
            Ok(found) => found,
            Err(why) => {
                self.problem(&account_path, why);
                return;
            }
        };
        let account_key: String = account.chars().filter(|c| !c.is_whitespace()).collect();
        if let Some(credits) = n.summary.as_ref().and_then(|s| s.credits.as_ref()) {
            self.check_summary(path, credits, &n);
        }
        for (i, entry) in std::mem::take(&mut n.entries).into_iter().enumerate() {
            let entry_path = format!("{path}/Ntry[{}]", i + 1);
            self.entry(&entry_path, &entry, code, municipality, &account_key);
        }
    }

    /// `TxsSummry/TtlCdtNtries`, where the bank gives it, must agree with the credit entries.
    fn check_summary(&mut self, path: &str, credits: &NumberAndSum, n: &Ntfctn) {
        let at = format!("{path}/TxsSummry/TtlCdtNtries");
        let credit_entries: Vec<&Ntry> = n
            .entries
            .iter()
            .filter(|e| e.credit_debit.as_deref().map(str::trim) == Some("CRDT"))
            .collect();
        if let Some(count) = &credits.count
            && count.trim().parse::<usize>().ok() != Some(credit_entries.len())
        {
            self.problem(
                &format!("{at}/NbOfNtries"),
                format!(
                    "says {} credit entries but the notification has {}",
                    count.trim(),
                    credit_entries.len()
                ),
            );
        }
        if let Some(sum) = &credits.sum {
            let stated = Money::parse(sum.trim());
            let actual = Money::checked_sum(credit_entries.iter().filter_map(|e| {
                e.amount
                    .as_ref()
                    .and_then(|a| a.value.as_deref())
                    .and_then(|v| Money::parse(v.trim()).ok())
            }));
            if stated.ok() != actual {
                self.problem(
                    &format!("{at}/Sum"),
                    format!(
                        "says {} but the credit entries sum to {}",
                        sum.trim(),
                        actual.map_or("more than can be summed".to_owned(), |m| m.to_string())
                    ),
                );
            }
        }
    }

    fn entry(
        &mut self,
        path: &str,
        entry: &Ntry,
        code: &str,
        municipality: &Municipality,
        account: &str,
    ) {
        let status = entry.status.as_ref().and_then(Status::code);
        match entry.credit_debit.as_deref().map(str::trim) {
            Some("CRDT") => {}
            Some("DBIT") => {
                self.skip(
                    path,
                    "a debit (CdtDbtInd DBIT): money out, not a payment in".into(),
                );
                return;
            }
            Some(other) => {
                self.problem(
                    &format!("{path}/CdtDbtInd"),
                    format!("{other}: expected CRDT or DBIT"),
                );
                return;
            }
            None => {
                self.problem(&format!("{path}/CdtDbtInd"), "missing".into());
                return;
            }
        }
        if entry.reversal.as_deref().map(str::trim) == Some("true") {
            self.skip(
                path,
                "a reversal (RvslInd true) of an earlier entry: book it by hand".into(),
            );
            return;
        }
        match status {
            Some("BOOK") => {}
            Some(other) => {
                self.skip(path, format!("status {other}, not BOOK: not booked yet"));
                return;
            }
            None => {
                self.problem(&format!("{path}/Sts"), "missing".into());
                return;
            }
        }
        let Some(entry_amount) =
            self.amount(&format!("{path}/Amt"), entry.amount.as_ref(), municipality)
        else {
            return;
        };
        let Some(booking_date) = self.date(path, entry) else {
            return;
        };
        let entry_ref = entry
            .servicer_ref
            .as_deref()
            .or(entry.entry_ref.as_deref())
            .map(str::trim)
            .filter(|r| !r.is_empty());
        let Some(entry_ref) = entry_ref else {
            self.problem(
                &format!("{path}/AcctSvcrRef"),
                "missing, and no NtryRef either: the entry needs the bank's reference for a \
                 payment id that is the same on every import"
                    .into(),
            );
            return;
        };
        let transactions: Vec<&TxDtls> = entry
            .details
            .iter()
            .flat_map(|d| d.transactions.iter())
            .collect();
        if transactions.is_empty() {
            self.payment(
                path,
                Payment {
                    key: format!("camt|{account}|{entry_ref}|"),
                    amount: entry_amount,
                    booking_date,
                    transaction: None,
                },
                code,
                municipality,
            );
            return;
        }
        // Each transaction is its own payment; their amounts must add up to the entry's.
        let mut sum = Some(Money::ZERO);
        let mut read = Vec::with_capacity(transactions.len());
        for (i, tx) in transactions.iter().copied().enumerate() {
            let tx_path = format!("{path}/NtryDtls/TxDtls[{}]", i + 1);
            if let Some(indicator) = tx.credit_debit.as_deref().map(str::trim)
                && indicator != "CRDT"
            {
                self.problem(
                    &format!("{tx_path}/CdtDbtInd"),
                    format!("{indicator} in a credit entry"),
                );
                return;
            }
            let amount = match (
                &tx.amount,
                tx.amount_details
                    .as_ref()
                    .and_then(|d| d.transaction.as_ref())
                    .and_then(|t| t.amount.as_ref()),
            ) {
                (Some(amount), _) => {
                    self.amount(&format!("{tx_path}/Amt"), Some(amount), municipality)
                }
                (None, Some(amount)) => self.amount(
                    &format!("{tx_path}/AmtDtls/TxAmt/Amt"),
                    Some(amount),
                    municipality,
                ),
                (None, None) if transactions.len() == 1 => Some(entry_amount),
                (None, None) => {
                    self.problem(
                        &format!("{tx_path}/Amt"),
                        "missing: an entry with several transactions needs each one's amount"
                            .into(),
                    );
                    None
                }
            };
            let Some(amount) = amount else { return };
            sum = sum.and_then(|s| s.checked_add(amount));
            // The bank's reference for the transaction, else its place in the entry (with the
            // payer's end-to-end id, which is not unique on its own).
            let refs = tx.refs.as_ref();
            let tx_ref = refs
                .and_then(|r| r.servicer_ref.as_deref())
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map_or_else(
                    || {
                        let e2e = refs.and_then(|r| r.end_to_end.as_deref()).unwrap_or("");
                        format!("#{}/{}", i + 1, e2e.trim())
                    },
                    str::to_owned,
                );
            read.push((tx_path, tx, amount, tx_ref));
        }
        if sum != Some(entry_amount) {
            self.problem(
                &format!("{path}/Amt"),
                format!(
                    "{entry_amount} but its transactions (NtryDtls/TxDtls) sum to {}",
                    sum.map_or("more than can be summed".to_owned(), |s| s.to_string())
                ),
            );
            return;
        }
        for (tx_path, tx, amount, tx_ref) in read {
            self.payment(
                &tx_path,
                Payment {
                    key: format!("camt|{account}|{entry_ref}|{tx_ref}"),
                    amount,
                    booking_date,
                    transaction: Some(tx),
                },
                code,
                municipality,
            );
        }
    }

    fn payment(&mut self, path: &str, p: Payment<'_>, code: &str, municipality: &Municipality) {
        let (payment_id, event_id) = payment_ids("camt", &p.key);
        let mut reference = None;
        let mut texts: Vec<String> = Vec::new();
        let mut payer_name = None;
        let mut payer_id = None;
        if let Some(tx) = p.transaction {
            if let Some(rmt) = &tx.remittance {
                for (i, strd) in rmt.structured.iter().enumerate() {
                    let Some(raw) = strd
                        .creditor_ref
                        .as_ref()
                        .and_then(|c| c.reference.as_deref())
                    else {
                        continue;
                    };
                    let ref_path = format!("{path}/RmtInf/Strd[{}]/CdtrRefInf/Ref", i + 1);
                    match read_reference(raw, municipality) {
                        Ok(Reference::Payment(r)) if reference.is_none() => reference = Some(r),
                        Ok(Reference::Payment(r) | Reference::Rf(r) | Reference::Other(r)) => {
                            texts.push(r);
                        }
                        Err(why) => {
                            self.problem(&ref_path, why);
                            return;
                        }
                    }
                }
                texts.extend(
                    rmt.unstructured
                        .iter()
                        .map(|t| t.trim().to_owned())
                        .filter(|t| !t.is_empty()),
                );
            }
            if let Some(debtor) = tx.parties.as_ref().and_then(|p| p.debtor.as_ref()) {
                let party = debtor.party.as_deref().unwrap_or(debtor);
                payer_name = party
                    .name
                    .as_deref()
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(|n| Redacted(bounded(n)));
                payer_id = party
                    .id
                    .as_ref()
                    .and_then(|id| id.private.as_ref().or(id.organisation.as_ref()))
                    .and_then(|o| o.others.iter().find_map(|o| o.id.as_deref()))
                    .map(str::trim)
                    .filter(|id| !id.is_empty())
                    .map(|id| Redacted(bounded(id)));
            }
        }
        let channel = match (&reference, municipality.currency) {
            (Some(_), Currency::Dkk) => PaymentChannel::Fik,
            (Some(_), Currency::Nok) => PaymentChannel::Kid,
            (None, _) => PaymentChannel::Transfer,
        };
        let text = (!texts.is_empty()).then(|| Redacted(bounded(&texts.join(" / "))));
        let payment = PaymentReceived {
            payment_id,
            municipality: code.to_owned(),
            amount: p.amount,
            currency: municipality.currency,
            booking_date: p.booking_date,
            payment_reference: reference,
            payer_national_id: payer_id,
            payer_name,
            text,
            channel,
        };
        match payment_envelope(event_id, payment) {
            Ok(envelope) => {
                let location = self.location(path);
                self.payments.push(BankPayment { location, envelope });
            }
            Err(why) => self.problem(path, why),
        }
    }

    /// A positive amount in the municipality's currency.
    fn amount(
        &mut self,
        path: &str,
        amount: Option<&Amount>,
        municipality: &Municipality,
    ) -> Option<Money> {
        let Some(amount) = amount else {
            self.problem(path, "missing".into());
            return None;
        };
        let currency = amount.currency.as_deref().map(str::trim).unwrap_or("");
        let Ok(parsed_currency) = currency.parse::<Currency>() else {
            self.problem(
                &format!("{path}/@Ccy"),
                if currency.is_empty() {
                    "missing: the amount's currency".to_owned()
                } else {
                    format!("currency {currency}: only DKK and NOK accounts are booked")
                },
            );
            return None;
        };
        if parsed_currency != municipality.currency {
            self.problem(
                &format!("{path}/@Ccy"),
                format!(
                    "currency {currency}, but {} bills in {}",
                    municipality.name, municipality.currency
                ),
            );
            return None;
        }
        let value = amount.value.as_deref().map(str::trim).unwrap_or("");
        match Money::parse(value) {
            Ok(m) if m.is_positive() => Some(m),
            Ok(m) => {
                self.problem(
                    path,
                    format!("amount {m}: a payment must be more than zero"),
                );
                None
            }
            Err(e) => {
                self.problem(
                    path,
                    format!(
                        "amount {value:?} is not a decimal amount with at most two decimals ({e})"
                    ),
                );
                None
            }
        }
    }

    /// `BookgDt` (else `ValDt`): `Dt`, or the date part of `DtTm`.
    fn date(&mut self, path: &str, entry: &Ntry) -> Option<BusinessDate> {
        let (choice, element) = match (&entry.booking_date, &entry.value_date) {
            (Some(d), _) => (d, "BookgDt"),
            (None, Some(d)) => (d, "ValDt"),
            (None, None) => {
                self.problem(&format!("{path}/BookgDt"), "missing (and no ValDt)".into());
                return None;
            }
        };
        let (text, sub) = match (&choice.date, &choice.date_time) {
            (Some(d), _) => (d.trim(), "Dt"),
            (None, Some(dt)) => (dt.trim().get(..10).unwrap_or(dt.trim()), "DtTm"),
            (None, None) => {
                self.problem(&format!("{path}/{element}"), "missing Dt or DtTm".into());
                return None;
            }
        };
        match text.parse::<BusinessDate>() {
            Ok(d) => Some(d),
            Err(_) => {
                self.problem(
                    &format!("{path}/{element}/{sub}"),
                    format!("{text:?} is not a date (YYYY-MM-DD)"),
                );
                None
            }
        }
    }
}

/// Free text cut to what the contract carries: a payment is never refused for its text.
fn bounded(text: &str) -> String {
    text.chars().take(MAX_TEXT_CHARS).collect()
}

/// One payment about to be built.
struct Payment<'t> {
    key: String,
    amount: Money,
    booking_date: BusinessDate,
    transaction: Option<&'t TxDtls>,
}
