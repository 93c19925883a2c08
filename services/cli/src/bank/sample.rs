//! Generated bank files (`restance bank sample`, hidden): a camt.054 or an OCR giro file for a
//! configured municipality's account with as many entries as asked, the same for the same seed.
//! For tests (the totals round-trip) and for measuring an import of 100,000 entries.

use std::io::Write;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use restance_kernel::{
    BusinessDate, Currency, FikId, Kid, KidScheme, Money, Municipality, PaymentReference,
};

/// What a generated file holds, to compare an import with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    /// Payments (credit transactions).
    pub payments: u64,
    /// Their sum.
    pub sum: Money,
    /// Entries that are not payments (debits).
    pub skipped: u64,
}

/// The IBAN of the municipality's `sender.bank_account` (country from its country code).
pub fn iban_of(municipality: &Municipality) -> Option<String> {
    let digits: String = municipality
        .sender
        .bank_account
        .as_deref()?
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let country = match municipality.country {
        restance_kernel::Country::Dk => "DK",
        restance_kernel::Country::Gl => "GL",
        restance_kernel::Country::No => "NO",
    };
    let mut rest = 0u32;
    for c in format!("{digits}{country}00").chars() {
        let v = c.to_digit(36)?;
        rest = if v >= 10 {
            (rest * 100 + v) % 97
        } else {
            (rest * 10 + v) % 97
        };
    }
    Some(format!("{country}{:02}{digits}", 98 - rest))
}

const PAYERS: &[&str] = &[
    "Anna Jensen",
    "Lars Nielsen",
    "Aputsiaq Lynge",
    "Ingrid Hansen",
    "Ole Pedersen",
    "Kari Nordmann",
    "Mette Larsen",
    "Nivi Olsen",
];

fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::escape(s)
}

/// The reference the `seq`th payment quotes, as a bank reports it.
fn reference(municipality: &Municipality, seq: u64, rng: &mut StdRng) -> Option<String> {
    match municipality.currency {
        Currency::Dkk => {
            let id = FikId::from_sequence(seq).ok()?;
            Some(
                match (&municipality.creditor_number, rng.random_range(0..3)) {
                    (Some(c), 0) => PaymentReference::Fik {
                        id,
                        creditor: Some(c.clone()),
                    }
                    .ocr_line(),
                    _ => id.as_str().to_owned(),
                },
            )
        }
        Currency::Nok => {
            let (width, scheme) = municipality
                .kid
                .map_or((15, KidScheme::Mod10), |k| (k.width, k.scheme));
            Kid::from_sequence(seq, width, scheme)
                .ok()
                .map(|k| k.as_str().to_owned())
        }
    }
}

// Long: the XML document written top to bottom in the standard's element order (the entries are decided first: the summary precedes them).
/// Writes a camt.054.001.`version` notification of `entries` entries for `municipality`
/// (whose bank account must be configured) booked on `date`.
pub fn camt054(
    out: &mut impl Write,
    municipality: &Municipality,
    version: u32,
    entries: u64,
    seed: u64,
    date: BusinessDate,
) -> anyhow::Result<Expected> {
    let iban = iban_of(municipality).ok_or_else(|| {
        anyhow::anyhow!(
            "{} has no sender.bank_account configured",
            municipality.name
        )
    })?;
    let mut rng = StdRng::seed_from_u64(seed);
    let ccy = municipality.currency.code();
    let run = rng.random::<u32>();
    let mut expected = Expected {
        payments: 0,
        sum: Money::ZERO,
        skipped: 0,
    };
    // Decide everything first: the summary comes before the entries.
    struct Entry {
        credit: bool,
        transactions: Vec<(Money, Option<String>, &'static str, bool)>,
    }
    let mut plan = Vec::with_capacity(usize::try_from(entries).unwrap_or(0));
    let mut seq = u64::from(run % 1000) * 1_000_000;
    let (mut credits, mut credit_sum) = (0u64, Money::ZERO);
    for _ in 0..entries {
        let credit = rng.random_range(0..20) != 0;
        let n = if credit && rng.random_range(0..10) == 0 {
            rng.random_range(2..=4)
        } else {
            1
        };
        let mut transactions = Vec::with_capacity(n);
        for _ in 0..n {
            seq += 1;
            let amount = Money::from_minor(rng.random_range(100..=2_500_000));
            let reference = if rng.random_range(0..8) == 0 {
                None
            } else {
                reference(municipality, seq, &mut rng)
            };
            let payer = PAYERS[rng.random_range(0..PAYERS.len())];
            transactions.push((amount, reference, payer, rng.random_bool(0.3)));
        }
        let sum = Money::checked_sum(transactions.iter().map(|t| t.0)).unwrap_or(Money::ZERO);
        if credit {
            credits += 1;
            credit_sum = credit_sum.checked_add(sum).unwrap_or(credit_sum);
            expected.payments += n as u64;
            expected.sum = expected.sum.checked_add(sum).unwrap_or(expected.sum);
        } else {
            expected.skipped += 1;
        }
        plan.push(Entry {
            credit,
            transactions,
        });
    }
    let ns = format!("urn:iso:std:iso:20022:tech:xsd:camt.054.001.{version:02}");
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(out, r#"<Document xmlns="{ns}">"#)?;
    writeln!(out, "  <BkToCstmrDbtCdtNtfctn>")?;
    writeln!(
        out,
        "    <GrpHdr><MsgId>SAMPLE-{run:08X}</MsgId><CreDtTm>{date}T06:00:00</CreDtTm></GrpHdr>"
    )?;
    writeln!(out, "    <Ntfctn>")?;
    writeln!(out, "      <Id>NTF-{run:08X}</Id>")?;
    writeln!(out, "      <CreDtTm>{date}T06:00:00</CreDtTm>")?;
    writeln!(
        out,
        "      <Acct><Id><IBAN>{iban}</IBAN></Id><Ccy>{ccy}</Ccy></Acct>"
    )?;
    writeln!(
        out,
        "      <TxsSummry><TtlCdtNtries><NbOfNtries>{credits}</NbOfNtries><Sum>{credit_sum}</Sum></TtlCdtNtries></TxsSummry>"
    )?;
    let status = if version >= 7 {
        "<Sts><Cd>BOOK</Cd></Sts>"
    } else {
        "<Sts>BOOK</Sts>"
    };
    for (i, entry) in plan.iter().enumerate() {
        let sum = Money::checked_sum(entry.transactions.iter().map(|t| t.0)).unwrap_or(Money::ZERO);
        let indicator = if entry.credit { "CRDT" } else { "DBIT" };
        writeln!(out, "      <Ntry>")?;
        writeln!(out, "        <NtryRef>{}</NtryRef>", i + 1)?;
        writeln!(out, r#"        <Amt Ccy="{ccy}">{sum}</Amt>"#)?;
        writeln!(out, "        <CdtDbtInd>{indicator}</CdtDbtInd>")?;
        writeln!(out, "        {status}")?;
        writeln!(out, "        <BookgDt><Dt>{date}</Dt></BookgDt>")?;
        writeln!(out, "        <ValDt><Dt>{date}</Dt></ValDt>")?;
        writeln!(
            out,
            "        <AcctSvcrRef>{run:08X}-{:08}</AcctSvcrRef>",
            i + 1
        )?;
        writeln!(
            out,
            "        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>DMCT</SubFmlyCd></Fmly></Domn></BkTxCd>"
        )?;
        writeln!(out, "        <NtryDtls>")?;
        for (j, (amount, reference, payer, text)) in entry.transactions.iter().enumerate() {
            writeln!(out, "          <TxDtls>")?;
            writeln!(
                out,
                "            <Refs><AcctSvcrRef>{run:08X}-{:08}-{}</AcctSvcrRef><EndToEndId>NOTPROVIDED</EndToEndId></Refs>",
                i + 1,
                j + 1
            )?;
            if version >= 4 {
                writeln!(out, r#"            <Amt Ccy="{ccy}">{amount}</Amt>"#)?;
                writeln!(out, "            <CdtDbtInd>{indicator}</CdtDbtInd>")?;
            }
            writeln!(
                out,
                r#"            <AmtDtls><TxAmt><Amt Ccy="{ccy}">{amount}</Amt></TxAmt></AmtDtls>"#
            )?;
            if version >= 8 {
                writeln!(
                    out,
                    "            <RltdPties><Dbtr><Pty><Nm>{}</Nm></Pty></Dbtr></RltdPties>",
                    escape(payer)
                )?;
            } else {
                writeln!(
                    out,
                    "            <RltdPties><Dbtr><Nm>{}</Nm></Dbtr></RltdPties>",
                    escape(payer)
                )?;
            }
            write!(out, "            <RmtInf>")?;
            if *text || reference.is_none() {
                write!(out, "<Ustrd>Betaling {}</Ustrd>", i + 1)?;
            }
            if let Some(r) = reference {
                write!(
                    out,
                    "<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp><Ref>{}</Ref></CdtrRefInf></Strd>",
                    escape(r)
                )?;
            }
            writeln!(out, "</RmtInf>")?;
            writeln!(out, "          </TxDtls>")?;
        }
        writeln!(out, "        </NtryDtls>")?;
        writeln!(out, "      </Ntry>")?;
    }
    writeln!(out, "    </Ntfctn>")?;
    writeln!(out, "  </BkToCstmrDbtCdtNtfctn>")?;
    writeln!(out, "</Document>")?;
    Ok(expected)
}

/// Writes an OCR giro transmission of one assignment with `entries` KID payments to the
/// Norwegian `municipality`'s account, settled on `date`.
pub fn ocr_giro(
    out: &mut impl Write,
    municipality: &Municipality,
    entries: u64,
    seed: u64,
    date: BusinessDate,
) -> anyhow::Result<Expected> {
    let account: String = municipality
        .sender
        .bank_account
        .as_deref()
        .unwrap_or("")
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    if account.len() != 11 || municipality.currency != Currency::Nok {
        anyhow::bail!(
            "{} has no 11-digit Norwegian sender.bank_account: OCR giro is for a Norwegian account",
            municipality.name
        );
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let transmission = rng.random_range(1..10_000_000u32);
    let assignment = rng.random_range(1..10_000_000u32);
    let ddmmyy = date.as_naive().format("%d%m%y").to_string();
    let mut seq = u64::from(transmission) * 100;
    let mut sum: i64 = 0;
    writeln!(
        out,
        "NY000010{:08}{transmission:07}{:08}{}",
        8080,
        12_345_678,
        "0".repeat(49)
    )?;
    writeln!(
        out,
        "NY090020{:09}{assignment:07}{account}{}",
        1,
        "0".repeat(45)
    )?;
    for n in 1..=entries {
        seq += 1;
        let amount = rng.random_range(100..=2_500_000i64);
        sum += amount;
        let kid = reference(municipality, seq, &mut rng).unwrap_or_default();
        let serial = n % 100_000;
        // centre 01, day code 01, partial settlement 1, sign 0, card issuer and filler zeros
        writeln!(
            out,
            "NY091030{n:07}{ddmmyy}01011{serial:05}0{amount:017}{kid:>25}000000"
        )?;
        writeln!(
            out,
            "NY091031{n:07}{:010}{:09}{}{ddmmyy}{:011}{}",
            rng.random_range(0..10_000_000_000u64),
            1,
            "0".repeat(7),
            rng.random_range(0..100_000_000_000u64),
            "0".repeat(22)
        )?;
    }
    let records = entries * 2 + 2;
    writeln!(
        out,
        "NY090088{entries:08}{records:08}{sum:017}{ddmmyy}{ddmmyy}{ddmmyy}{}",
        "0".repeat(21)
    )?;
    writeln!(
        out,
        "NY000089{entries:08}{:08}{sum:017}{ddmmyy}{}",
        records + 2,
        "0".repeat(33)
    )?;
    Ok(Expected {
        payments: entries,
        sum: Money::from_minor(sum),
        skipped: 0,
    })
}
