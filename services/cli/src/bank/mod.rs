//! `restance bank import`: bank files in — ISO 20022 camt.054 notifications ([`camt`]) and the
//! Norwegian OCR giro file ([`ocr`]) become `bank.payment.received.v1`.
//!
//! All or nothing: every file is read and checked first ([`read_files`]); one problem anywhere
//! (a file that is not what it claims, a bad amount or currency, a reference whose check digit
//! fails, OCR totals that do not add up) and nothing is published. Only then is every payment
//! published with publisher confirms ([`publish`]).
//!
//! Each payment's id and its CloudEvent id come from the bank's own reference for the entry
//! (account + AcctSvcrRef in camt, account + transmission + assignment + transaction number in
//! OCR; see [`payment_ids`]), so importing a file twice, or two files that overlap, books
//! nothing twice: invoicing keeps one payment per `(municipality, payment_id)` and drops a
//! second `(source, id)`.
//!
//! The account a file is for names the municipality: the digits of its IBAN's domestic part
//! (or of its domestic account number) are those of a municipality's `sender.bank_account` in
//! the catalog — the account its letters tell debtors to pay to.
//!
//! Nothing here prints a payer's name, national id or account: the summary has counts, amounts,
//! the municipality's own account and where in the file each skipped entry is.

pub mod camt;
pub mod ocr;
pub mod sample;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use restance_bus::{BusSettings, OutgoingMessage};
use restance_contracts::{Envelope, PaymentReceived, Validate};
use restance_kernel::{
    BusinessDate, Catalog, Currency, Kid, KidScheme, Money, Municipality, PaymentReference,
};
use sha2::{Digest, Sha256};

use crate::broker;

/// The envelope source of every payment imported from a bank file.
pub const SOURCE: &str = "/bank/file-import";

/// Where a problem or a skipped entry is: the file and a line (OCR) or element path (camt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file as given on the command line.
    pub file: String,
    /// `line 12` or `Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[3]/Amt`.
    pub at: String,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.at.is_empty() {
            f.write_str(&self.file)
        } else {
            write!(f, "{}: {}", self.file, self.at)
        }
    }
}

/// Something in a file that stops the import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where.
    pub location: Location,
    /// What is wrong, for the operator.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// An entry that is not a payment in (a debit, a reversal, not yet booked): left out, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Where.
    pub location: Location,
    /// Why it is not imported.
    pub reason: String,
}

/// One payment read from a file, ready to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct BankPayment {
    /// Where in the file it was.
    pub location: Location,
    /// The event.
    pub envelope: Envelope<PaymentReceived>,
}

/// What kind of file it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// ISO 20022 camt.054 of this version, e.g. `camt.054.001.02`.
    Camt054(String),
    /// Nets OCR giro (format NY, service 09).
    OcrGiro,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Format::Camt054(version) => f.write_str(version),
            Format::OcrGiro => f.write_str("OCR giro"),
        }
    }
}

/// A file read and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct BankFile {
    /// The file as given.
    pub file: String,
    /// Its format.
    pub format: Format,
    /// The payments in it, in file order.
    pub payments: Vec<BankPayment>,
    /// The entries left out.
    pub skipped: Vec<Skipped>,
}

impl BankFile {
    /// Number of payments and their sum, per currency.
    pub fn totals(&self) -> BTreeMap<Currency, (u64, Money)> {
        totals(self.payments.iter())
    }
}

fn totals<'a>(payments: impl Iterator<Item = &'a BankPayment>) -> BTreeMap<Currency, (u64, Money)> {
    let mut out: BTreeMap<Currency, (u64, Money)> = BTreeMap::new();
    for p in payments {
        let entry = out
            .entry(p.envelope.data.currency)
            .or_insert((0, Money::ZERO));
        entry.0 += 1;
        entry.1 = entry
            .1
            .checked_add(p.envelope.data.amount)
            .unwrap_or(entry.1);
    }
    out
}

/// How a file's account is turned into a municipality.
#[derive(Debug, Clone)]
pub struct Accounts<'a> {
    catalog: &'a Catalog,
    /// Digits of each municipality's `sender.bank_account` → its code.
    by_digits: BTreeMap<String, String>,
    /// `--municipality`: for an account the catalog does not name.
    fallback: Option<String>,
}

impl<'a> Accounts<'a> {
    /// Accounts from the catalog; `fallback` (a configured municipality's code) is used for an
    /// account the catalog does not know.
    pub fn new(catalog: &'a Catalog, fallback: Option<&str>) -> anyhow::Result<Self> {
        if let Some(code) = fallback
            && catalog.municipality(code).is_none()
        {
            anyhow::bail!(
                "--municipality {code} is not a configured municipality (configured: {})",
                catalog
                    .municipalities
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let by_digits = catalog
            .municipalities
            .iter()
            .filter_map(|(code, m)| {
                let digits = digits_of(m.sender.bank_account.as_deref()?);
                (!digits.is_empty()).then(|| (digits, code.clone()))
            })
            .collect();
        Ok(Self {
            catalog,
            by_digits,
            fallback: fallback.map(str::to_owned),
        })
    }

    /// The municipality whose account `account` is: an IBAN (its check digits must hold) or a
    /// domestic account number, compared by digits with the configured accounts.
    pub fn municipality(&self, account: &str) -> Result<(&'a str, &'a Municipality), String> {
        let domestic = domestic_part(account)?;
        let code = match self.by_digits.get(&digits_of(&domestic)) {
            Some(code) => {
                if let Some(fallback) = &self.fallback
                    && fallback != code
                {
                    return Err(format!(
                        "account {account} is municipality {code}'s, not {fallback}'s \
                         (--municipality)"
                    ));
                }
                code.as_str()
            }
            None => match &self.fallback {
                Some(code) => code.as_str(),
                None => {
                    return Err(format!(
                        "account {account} is not the bank account of any configured \
                         municipality (catalog.municipalities.<code>.sender.bank_account); \
                         pass --municipality CODE if the file is for one"
                    ));
                }
            },
        };
        self.catalog
            .municipalities
            .get_key_value(code)
            .map(|(code, m)| (code.as_str(), m))
            .ok_or_else(|| format!("municipality {code} is not configured"))
    }
}

/// Only the ASCII digits of `s`.
fn digits_of(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// The domestic account of an IBAN (check digits verified) or the account number as given.
fn domestic_part(account: &str) -> Result<String, String> {
    let compact: String = account
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    if compact.is_empty() {
        return Err("the account is empty".to_owned());
    }
    let looks_like_iban = compact.len() > 4
        && compact.as_bytes()[..2].iter().all(u8::is_ascii_uppercase)
        && compact.as_bytes()[2..4].iter().all(u8::is_ascii_digit);
    if !looks_like_iban {
        return Ok(compact);
    }
    if !compact.bytes().all(|b| b.is_ascii_alphanumeric()) || mod97(&compact) != Some(1) {
        return Err(format!(
            "account {account} is not a valid IBAN (its check digits do not match)"
        ));
    }
    Ok(compact[4..].to_owned())
}

/// ISO 7064 MOD 97-10 of an IBAN or RF reference: the first four characters moved to the end,
/// letters as 10–35; `None` for characters other than A–Z, 0–9.
fn mod97(s: &str) -> Option<u32> {
    let (head, tail) = s.split_at(4.min(s.len()));
    let mut rest = 0u32;
    for c in tail.chars().chain(head.chars()) {
        let v = c.to_digit(36)?;
        rest = if v >= 10 {
            (rest * 100 + v) % 97
        } else {
            (rest * 10 + v) % 97
        };
    }
    Some(rest)
}

/// The payment id and the CloudEvent id for the bank's own key of an entry: both from the
/// SHA-256 of the key, so the same entry always gets the same ids.
pub fn payment_ids(prefix: &str, key: &str) -> (String, String) {
    let digest = Sha256::digest(key.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    let uuid = uuid::Builder::from_custom_bytes(bytes).into_uuid();
    (format!("{prefix}-{}", uuid.simple()), uuid.to_string())
}

/// The envelope's time: noon UTC on the booking date, so that the same entry gives the same
/// bytes on every import.
fn booking_instant(date: BusinessDate) -> DateTime<Utc> {
    date.as_naive()
        .and_hms_opt(12, 0, 0)
        .unwrap_or_default()
        .and_utc()
}

/// How a structured creditor reference reads, for the municipality's country.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// A +71 or KID the contract carries (the check digit holds).
    Payment(String),
    /// An ISO 11649 RF creditor reference (check digits hold): kept as text, not matched by
    /// reference (bank.payment.received.v1 carries +71 and KID only).
    Rf(String),
    /// A reference of some other form: kept as text.
    Other(String),
}

/// Reads a creditor reference as the bank reported it; a +71/KID/RF whose check digits fail is
/// an error (the file is corrupt, or the payer mistyped and the bank did not check).
pub fn read_reference(raw: &str, municipality: &Municipality) -> Result<Reference, String> {
    let t = raw.trim();
    if t.is_empty() {
        return Err("the creditor reference is empty".to_owned());
    }
    let upper = t.to_ascii_uppercase();
    if upper.starts_with("RF") && upper.len() > 4 && upper[2..4].bytes().all(|b| b.is_ascii_digit())
    {
        let compact: String = upper.chars().filter(|c| !c.is_whitespace()).collect();
        return if compact.len() <= 25 && mod97(&compact) == Some(1) {
            Ok(Reference::Rf(compact))
        } else {
            Err(format!(
                "RF creditor reference {t} fails its check digits (ISO 11649)"
            ))
        };
    }
    match municipality.currency {
        Currency::Dkk => {
            let fik_like = t.starts_with("+71")
                || t.starts_with("71/")
                || t.bytes().all(|b| b.is_ascii_digit());
            if !fik_like {
                return Ok(Reference::Other(t.to_owned()));
            }
            PaymentReference::parse_fik(t)
                .map(|_| Reference::Payment(t.to_owned()))
                .map_err(|e| format!("FI-kort +71 reference {t}: {e}"))
        }
        Currency::Nok => {
            let body = t.strip_suffix('-').unwrap_or(t);
            if !body.bytes().all(|b| b.is_ascii_digit()) {
                return Ok(Reference::Other(t.to_owned()));
            }
            read_kid(t, municipality).map(Reference::Payment)
        }
    }
}

/// A KID checked with the municipality's scheme (MOD10 or MOD11 when none is configured).
pub fn read_kid(kid: &str, municipality: &Municipality) -> Result<String, String> {
    let parsed = match municipality.kid {
        Some(settings) => Kid::parse_with_scheme(kid, settings.scheme),
        None => Kid::parse(kid),
    };
    parsed.map(|k| k.as_str().to_owned()).map_err(|e| {
        let scheme = municipality
            .kid
            .map_or("MOD10 or MOD11".to_owned(), |s| match s.scheme {
                KidScheme::Mod10 => "MOD10, as configured".to_owned(),
                KidScheme::Mod11 => "MOD11, as configured".to_owned(),
            });
        format!("KID {kid}: {e} ({scheme})")
    })
}

/// Builds the envelope and checks it against the contract (a problem there is the file's).
fn payment_envelope(
    id: String,
    payment: PaymentReceived,
) -> Result<Envelope<PaymentReceived>, String> {
    let problems = payment.validate();
    if let Some(first) = problems.first() {
        return Err(format!("not a valid bank.payment.received.v1: {first}"));
    }
    let time = booking_instant(payment.booking_date);
    Ok(Envelope::with_id(id, SOURCE, time, payment))
}

/// Reads and checks every file; every problem in every file, or all of them read.
pub fn read_files(
    paths: &[PathBuf],
    accounts: &Accounts<'_>,
    progress: &dyn Fn(&Path) -> ProgressBar,
) -> Result<Vec<BankFile>, Vec<Problem>> {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for path in paths {
        let bar = progress(path);
        match read_file(path, accounts, &bar) {
            Ok(file) => files.push(file),
            Err(mut found) => problems.append(&mut found),
        }
        bar.finish_and_clear();
    }
    if problems.is_empty() {
        // The same entry in two files (or twice in one) is published once.
        let mut seen = std::collections::HashSet::new();
        for file in &mut files {
            file.payments
                .retain(|p| seen.insert(p.envelope.data.payment_id.clone()));
        }
        Ok(files)
    } else {
        Err(problems)
    }
}

/// Reads one file: camt.054 when it starts like XML, else OCR giro.
pub fn read_file(
    path: &Path,
    accounts: &Accounts<'_>,
    bar: &ProgressBar,
) -> Result<BankFile, Vec<Problem>> {
    let name = path.display().to_string();
    let whole = |message: String| {
        vec![Problem {
            location: Location {
                file: name.clone(),
                at: String::new(),
            },
            message,
        }]
    };
    let mut head = [0u8; 512];
    let n = {
        use std::io::Read;
        let mut file = std::fs::File::open(path).map_err(|e| whole(format!("cannot open: {e}")))?;
        file.read(&mut head)
            .map_err(|e| whole(format!("cannot read: {e}")))?
    };
    if n == 0 {
        return Err(whole(
            "the file is empty: neither camt.054 nor OCR giro".to_owned(),
        ));
    }
    let start = head[..n]
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .unwrap_or(&head[..n]);
    let first = start.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'<') {
        camt::read(path, &name, accounts, bar)
    } else {
        ocr::read(path, &name, accounts, bar)
    }
}

/// A byte-counting reader that moves a progress bar.
pub(crate) struct Counting<R> {
    inner: R,
    bar: ProgressBar,
}

impl<R> Counting<R> {
    pub(crate) fn new(inner: R, bar: ProgressBar) -> Self {
        Self { inner, bar }
    }
}

impl<R: std::io::Read> std::io::Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bar.inc(n as u64);
        Ok(n)
    }
}

/// A bar over a file's bytes while it is read (hidden unless `visible`).
pub fn file_bar(path: &Path, visible: bool) -> ProgressBar {
    if !visible {
        return ProgressBar::hidden();
    }
    let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let bar = ProgressBar::new(len).with_style(
        ProgressStyle::with_template("{spinner} reading {msg} [{wide_bar}] {percent:>3}%")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(path.display().to_string());
    bar
}

/// Skipped entries listed one by one per file in the summary; the rest are counted by reason.
pub const MAX_SKIPPED_SHOWN: usize = 100;

/// The summary printed before publishing (and for `--dry-run`): no personal data.
pub fn render_summary(files: &[BankFile], catalog: &Catalog) -> String {
    let mut out = String::new();
    for f in files {
        let municipalities: std::collections::BTreeSet<&str> = f
            .payments
            .iter()
            .map(|p| p.envelope.data.municipality.as_str())
            .collect();
        let names: Vec<String> = municipalities
            .iter()
            .map(|code| match catalog.municipality(code) {
                Some(m) => format!("{code} {}", m.name),
                None => (*code).to_owned(),
            })
            .collect();
        out.push_str(&format!(
            "{} ({}): {} payment(s){}{}; {} skipped\n",
            f.file,
            f.format,
            f.payments.len(),
            if names.is_empty() {
                String::new()
            } else {
                format!(" to {}", names.join(", "))
            },
            render_totals(&f.totals()),
            f.skipped.len()
        ));
        for s in f.skipped.iter().take(MAX_SKIPPED_SHOWN) {
            out.push_str(&format!("  skipped {}: {}\n", s.location.at, s.reason));
        }
        if f.skipped.len() > MAX_SKIPPED_SHOWN {
            let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
            for s in &f.skipped[MAX_SKIPPED_SHOWN..] {
                *reasons.entry(s.reason.as_str()).or_default() += 1;
            }
            for (reason, n) in reasons {
                out.push_str(&format!("  … and {n} more skipped: {reason}\n"));
            }
        }
    }
    let all = totals(files.iter().flat_map(|f| f.payments.iter()));
    let count: u64 = all.values().map(|(n, _)| n).sum();
    let skipped: usize = files.iter().map(|f| f.skipped.len()).sum();
    out.push_str(&format!(
        "total: {} file(s), {count} payment(s){}; {skipped} skipped\n",
        files.len(),
        render_totals(&all)
    ));
    out
}

fn render_totals(totals: &BTreeMap<Currency, (u64, Money)>) -> String {
    if totals.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = totals
        .iter()
        .map(|(currency, (n, sum))| format!("{currency} {sum} ({n})"))
        .collect();
    format!(": {}", parts.join(", "))
}

/// What publishing did.
#[derive(Debug, Clone, Default)]
pub struct Published {
    /// Payments the broker confirmed.
    pub confirmed: u64,
    /// Payments it refused or that were not sent, with why (first few).
    pub failed: Vec<(Location, String)>,
    /// Payments not confirmed.
    pub not_confirmed: u64,
    /// Why publishing stopped early, if it did.
    pub stopped: Option<String>,
    /// Time taken.
    pub elapsed: Duration,
}

/// Publishes every payment with confirms, `batch` at a time.
pub async fn publish(
    files: &[BankFile],
    bus: &BusSettings,
    batch: usize,
    show_progress: bool,
) -> anyhow::Result<Published> {
    let payments: Vec<&BankPayment> = files.iter().flat_map(|f| f.payments.iter()).collect();
    let started = Instant::now();
    let publisher = broker::publisher(bus).await?;
    let bar = if show_progress {
        ProgressBar::new(payments.len() as u64).with_style(
            ProgressStyle::with_template(
                "{spinner} publishing [{elapsed_precise}] [{wide_bar}] {pos}/{len}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        )
    } else {
        ProgressBar::hidden()
    };
    let mut out = Published::default();
    for chunk in payments.chunks(batch.max(1)) {
        let mut messages = Vec::with_capacity(chunk.len());
        for p in chunk {
            let mut message = OutgoingMessage::from_envelope(&p.envelope)?;
            // No queue bound means no invoicing to book it: an error, not a silent loss.
            message.mandatory = true;
            messages.push(message);
        }
        match broker::publish_confirmed(&publisher, &messages).await {
            Ok(outcome) => {
                for (p, refused) in chunk.iter().zip(outcome) {
                    match refused {
                        None => out.confirmed += 1,
                        Some(err) => {
                            out.not_confirmed += 1;
                            if out.failed.len() < 20 {
                                out.failed
                                    .push((p.location.clone(), broker::explain(bus, &err)));
                            }
                        }
                    }
                }
            }
            Err(err) => {
                out.stopped = Some(broker::explain(bus, &err));
                break;
            }
        }
        bar.set_position(out.confirmed + out.not_confirmed);
    }
    bar.finish_and_clear();
    publisher.close().await;
    out.not_confirmed = payments.len() as u64 - out.confirmed;
    out.elapsed = started.elapsed();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_iban_is_checked_and_gives_its_domestic_account() {
        assert_eq!(
            domestic_part("DK58 7000 0001 2345 67").as_deref(),
            Ok("70000001234567")
        );
        let wrong = domestic_part("DK59 7000 0001 2345 67").expect_err("bad check digits");
        assert!(wrong.contains("not a valid IBAN"), "{wrong}");
        assert_eq!(
            domestic_part("3000.12.34567").as_deref(),
            Ok("3000.12.34567")
        );
    }

    #[test]
    fn the_same_key_gives_the_same_ids_and_another_key_others() {
        let a = payment_ids("camt", "camt|70000001234567|REF1|1");
        assert_eq!(a, payment_ids("camt", "camt|70000001234567|REF1|1"));
        assert_ne!(a, payment_ids("camt", "camt|70000001234567|REF1|2"));
        assert!(a.0.starts_with("camt-") && a.0.len() == 37, "{}", a.0);
        assert_eq!(a.1.len(), 36);
    }

    #[test]
    fn rf_references_are_checked_with_mod97() {
        assert_eq!(mod97("RF18539007547034"), Some(1));
        assert_ne!(mod97("RF19539007547034"), Some(1));
    }
}
