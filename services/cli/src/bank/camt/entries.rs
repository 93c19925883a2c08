//! The walk over a read camt.054 document: each notification's account and summary, and each
//! entry mapped to payments, a skipped entry with its reason, or problems with their path.

use restance_contracts::{MAX_TEXT_CHARS, PaymentChannel, PaymentReceived};
use restance_kernel::{BusinessDate, Currency, Money, Municipality, Redacted};

use crate::bank::{
    Accounts, BankPayment, Location, Problem, Reference, Skipped, payment_envelope, payment_ids,
    read_reference,
};

use super::{AccountId, Amount, Ntfctn, Ntry, NumberAndSum, Other, Status, TxDtls};

/// Walks the document, collecting payments, skipped entries and problems.
pub(super) struct Reader<'a, 'c> {
    pub(super) file: &'a str,
    pub(super) accounts: &'a Accounts<'c>,
    pub(super) payments: Vec<BankPayment>,
    pub(super) skipped: Vec<Skipped>,
    pub(super) problems: Vec<Problem>,
}

impl<'c> Reader<'_, 'c> {
    fn location(&self, at: &str) -> Location {
        Location {
            file: self.file.to_owned(),
            at: at.to_owned(),
        }
    }

    pub(super) fn problem(&mut self, at: &str, message: String) {
        let location = self.location(at);
        self.problems.push(Problem { location, message });
    }

    fn skip(&mut self, at: &str, reason: String) {
        let location = self.location(at);
        self.skipped.push(Skipped { location, reason });
    }

    pub(super) fn notification(&mut self, path: &str, mut n: Ntfctn) {
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

    /// True for a booked credit (money in) that is not a reversal; anything else is skipped or
    /// a problem, recorded here.
    fn booked_credit(&mut self, path: &str, entry: &Ntry) -> bool {
        let status = entry.status.as_ref().and_then(Status::code);
        match entry.credit_debit.as_deref().map(str::trim) {
            Some("CRDT") => {}
            Some("DBIT") => {
                self.skip(
                    path,
                    "a debit (CdtDbtInd DBIT): money out, not a payment in".into(),
                );
                return false;
            }
            Some(other) => {
                self.problem(
                    &format!("{path}/CdtDbtInd"),
                    format!("{other}: expected CRDT or DBIT"),
                );
                return false;
            }
            None => {
                self.problem(&format!("{path}/CdtDbtInd"), "missing".into());
                return false;
            }
        }
        if entry.reversal.as_deref().map(str::trim) == Some("true") {
            self.skip(
                path,
                "a reversal (RvslInd true) of an earlier entry: book it by hand".into(),
            );
            return false;
        }
        match status {
            Some("BOOK") => {}
            Some(other) => {
                self.skip(path, format!("status {other}, not BOOK: not booked yet"));
                return false;
            }
            None => {
                self.problem(&format!("{path}/Sts"), "missing".into());
                return false;
            }
        }
        true
    }

    // Long: the entry read in the standard's element order (amount, date, references, then its transactions), each problem with its path.
    /// One entry: a payment, or one per transaction of its details (their amounts must add up
    /// to the entry's), each with an id that is the same on every import of the file.
    fn entry(
        &mut self,
        path: &str,
        entry: &Ntry,
        code: &str,
        municipality: &Municipality,
        account: &str,
    ) {
        if !self.booked_credit(path, entry) {
            return;
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
