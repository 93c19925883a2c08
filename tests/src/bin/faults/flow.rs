//! The seeded flow: debtors, invoices (with the bad-input campaign), payments, the race claims,
//! which debtors a caseworker makes an agreement with, the family-reunification guarantees
//! with the benefits paid and the changes that end them (what each must recover), and the
//! debt-counselling applications to Kristiansand (each one case, reviewed as suitable). The
//! guarantees are generated in `flow/guarantees.rs`, the applications in `flow/counselling.rs`.

use aho_corasick::AhoCorasick;
use restance_system_tests::PERSONAL_DATA;
use restance_system_tests::hostile::{self, Hostile, UNICODE_NAMES};
use restance_system_tests::invoice_due;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashSet};

mod counselling;
mod guarantees;

use counselling::applications;
#[cfg(test)]
pub use counselling::norwegian_national_id;
pub use counselling::{CounsellingCase, applied_date};
use guarantees::guarantees;
pub use guarantees::{BenefitCase, GuaranteeCase, GuaranteeEnd};

// ------------------------------------------------------------------ seeded randomness

/// SplitMix64: small, seedable, good enough to place faults and shape data.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

// ------------------------------------------------------------------ the generated flow

pub struct Debtor {
    pub id: String,
    pub national_id: String,
    pub phone: Option<String>,
    pub street: String,
    pub email: String,
    pub name: String,
}

/// Rounds of fee + interest charge + part payment on each race claim.
pub const RACE_ROUNDS: usize = 5;
/// A race claim's amount, and each round's fee, interest and part payment, in øre.
pub const RACE_OPENING: i64 = 1_000_000;
pub const RACE_FEE: i64 = 10_000;
pub const RACE_INTEREST: i64 = 1_000;
pub const RACE_PAYMENT: i64 = 6_000;

/// What a caseworker agrees with a debtor whose claims are all unpaid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agreement {
    /// Two monthly instalments from 4 January: a confirmation letter.
    Plan,
    /// Deferred until 29 January (acute social situation): a confirmation letter.
    Deferral,
    /// A meeting on 6 January: an SMS confirmation at once and an SMS reminder the business
    /// day before (the second reminder day). Only debtors with a phone number.
    Meeting,
}

impl Agreement {
    /// The templates the agreement makes notifications requests of, each once.
    pub fn templates(self) -> &'static [&'static str] {
        match self {
            Agreement::Plan => &["payment_plan_confirmation"],
            Agreement::Deferral => &["deferral_confirmation"],
            Agreement::Meeting => &["meeting_confirmation", "meeting_reminder"],
        }
    }
}

/// A claim of the race phase: two per debtor (so the same debtor's claims race too), due
/// after the flow's last day (dunning leaves them alone), and [`RACE_ROUNDS`] rounds of a
/// fee, an interest charge and a part payment published at once.
pub struct RaceClaim {
    pub invoice_id: String,
    pub debtor_id: String,
}

pub struct Flow {
    pub invoices: Vec<Value>,
    /// invoice_id → amount in minor units (every invoice, the race claims' too).
    pub amounts: BTreeMap<String, i64>,
    /// invoice_id → the share paid: 0 none, 100 full, else partial, 101 an overpayment (the
    /// race claims are not here: they are paid in the race).
    pub pay_share: BTreeMap<String, u64>,
    pub debtors: Vec<Debtor>,
    pub hostile: Vec<Hostile>,
    pub race: Vec<RaceClaim>,
    /// debtor_id → the agreement a caseworker makes with them.
    pub agreements: BTreeMap<String, Agreement>,
    /// debtor_id → their invoices.
    pub invoices_of: BTreeMap<String, Vec<String>>,
    /// The family-reunification guarantees, with what each must come to.
    pub guarantees: Vec<GuaranteeCase>,
    /// The benefits paid (to spouses, residents and strangers), with their classification.
    pub benefits: Vec<BenefitCase>,
    /// People without a guarantee who receive benefits (national ids).
    pub strangers: Vec<String>,
    /// The debt-counselling applications to Kristiansand (4204), one case each.
    pub applications: Vec<CounsellingCase>,
    /// A second `selfservice.counselling.applied.v1` of the first application: another message
    /// id, the same data — it must not open a second case.
    pub duplicate_application: Value,
    /// What the log scan looks for, built once per flow.
    pub scan: LogScan,
}

/// The generated personal data a service log must never hold: national ids and phone numbers
/// as digit runs, and one automaton for every street, e-mail address and name and the fixtures'
/// personal data. One `contains` per string instead took minutes per log at 50,000 invoices
/// (33,333 debtors × three strings × every log of every run).
pub struct LogScan {
    numbers: HashSet<String>,
    texts: AhoCorasick,
    /// What each of `texts`' patterns is, by pattern index.
    kinds: Vec<&'static str>,
}

impl LogScan {
    /// `debtors`: everyone with a national id, phone, street, e-mail and name (the debtors, the
    /// guarantors and the counselling applicants); `more_ids`: national ids of people known by nothing else (spouses,
    /// strangers paid benefits).
    fn new<'a>(
        debtors: impl Iterator<Item = &'a Debtor>,
        more_ids: impl Iterator<Item = &'a String>,
    ) -> anyhow::Result<Self> {
        let mut numbers: HashSet<String> = more_ids.cloned().collect();
        let mut texts: BTreeMap<&str, &'static str> = BTreeMap::new();
        for d in debtors {
            numbers.insert(d.national_id.clone());
            if let Some(p) = &d.phone {
                numbers.insert(p.trim_start_matches('+').to_owned());
                numbers.insert(p.get(3..).unwrap_or(p).to_owned());
            }
            texts
                .entry(&d.street)
                .or_insert("a street address of a generated debtor");
            texts
                .entry(&d.email)
                .or_insert("an e-mail address of a generated debtor");
            texts
                .entry(&d.name)
                .or_insert("a name of a generated debtor");
        }
        for p in PERSONAL_DATA {
            texts.insert(p, "the fixtures' personal data");
        }
        texts.retain(|t, _| !t.is_empty());
        let automaton = AhoCorasick::new(texts.keys())?;
        Ok(Self {
            numbers,
            texts: automaton,
            kinds: texts.into_values().collect(),
        })
    }
}

const STREETS: &[&str] = &[
    "Skovbrynet",
    "Kirkevej",
    "Møllegade",
    "Strandvejen",
    "Bakkedraget",
    "Egevænget",
    "Fasanvej",
    "Lærkevej",
    "Rosenhaven",
    "Solsikkevej",
];
const FIRST: &[&str] = &[
    "Mette", "Jonas", "Freja", "Mikkel", "Ida", "Rasmus", "Sofie", "Emil",
];
const LAST: &[&str] = &[
    "Kristensen",
    "Thomsen",
    "Mortensen",
    "Bertelsen",
    "Lauridsen",
    "Vestergaard",
];

#[allow(clippy::too_many_lines)] // the flow built part by part, in the order its parts are published
pub fn generate(seed: u64, n: usize, tag: &str) -> anyhow::Result<Flow> {
    let mut rng = Rng(seed);
    let debtor_count = (n * 2 / 3).max(1);
    let mut debtors: Vec<Debtor> = (0..debtor_count)
        .map(|i| person(&mut rng, i, tag, &format!("{tag}-D{i}")))
        .collect();
    let mut invoices = Vec::with_capacity(n);
    let mut amounts = BTreeMap::new();
    let mut pay_share = BTreeMap::new();
    for i in 0..n {
        let d = &debtors[rng.range(0, debtor_count as u64 - 1) as usize];
        let kroner = rng.range(100, 4000);
        let ore = if rng.chance(30) { rng.range(1, 99) } else { 0 };
        let amount = format!("{kroner}.{ore:02}");
        let invoice_id = format!("{tag}-INV-{i}");
        let mut e = invoice_due(
            &format!("{tag}-e{i}"),
            &invoice_id,
            "other",
            &d.id,
            &amount,
            "2026-12-15",
        );
        let digital_post = !rng.chance(30);
        dress(&mut e, d, digital_post);
        amounts.insert(
            invoice_id.clone(),
            i64::try_from(kroner * 100 + ore).unwrap_or(0),
        );
        let share = match rng.range(0, 99) {
            0..=11 => 0,
            12..=16 => rng.range(10, 90),
            17..=18 => 101,
            _ => 100,
        };
        pay_share.insert(invoice_id, share);
        invoices.push(e);
    }
    // The race: two claims for each of its own debtors.
    let race_claims = (n / 15).clamp(10, 400) & !1;
    let mut race = Vec::new();
    for k in 0..race_claims / 2 {
        let d = person(&mut rng, debtors.len(), tag, &format!("{tag}-R{k}"));
        for ab in ["A", "B"] {
            let invoice_id = format!("{tag}-RACE-{k}{ab}");
            let amount = format!("{}.00", RACE_OPENING / 100);
            let mut e = invoice_due(
                &format!("{tag}-r{k}{ab}"),
                &invoice_id,
                "other",
                &d.id,
                &amount,
                "2027-02-26",
            );
            e["data"]["issue_date"] = json!("2026-12-01");
            dress(&mut e, &d, false);
            amounts.insert(invoice_id.clone(), RACE_OPENING);
            race.push(RaceClaim {
                invoice_id,
                debtor_id: d.id.clone(),
            });
            invoices.push(e);
        }
        debtors.push(d);
    }
    let mut invoices_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in &invoices {
        if let (Some(d), Some(i)) = (
            e["data"]["debtor"]["id"].as_str(),
            e["data"]["invoice_id"].as_str(),
        ) {
            invoices_of
                .entry(d.to_owned())
                .or_default()
                .push(i.to_owned());
        }
    }
    // Agreements with debtors who paid nothing at all, in turn a plan, a deferral and a meeting
    // (a meeting only with a phone number for its SMS), for at most a third of them.
    let race_debtors: BTreeSet<&str> = race.iter().map(|r| r.debtor_id.as_str()).collect();
    let unpaid: Vec<&Debtor> = debtors
        .iter()
        .filter(|d| !race_debtors.contains(d.id.as_str()))
        .filter(|d| {
            invoices_of
                .get(&d.id)
                .is_some_and(|is| is.iter().all(|i| pay_share.get(i) == Some(&0)))
        })
        .collect();
    let limit = (unpaid.len() / 3).clamp(3, 60).min(unpaid.len());
    let mut agreements = BTreeMap::new();
    for (k, d) in unpaid.iter().take(limit).enumerate() {
        let kind = match (k % 3, d.phone.is_some()) {
            (0, _) | (2, false) => Agreement::Plan,
            (1, _) => Agreement::Deferral,
            _ => Agreement::Meeting,
        };
        agreements.insert(d.id.clone(), kind);
    }
    let (guarantees, benefits, strangers) = guarantees(&mut rng, n, tag, &debtors);
    let (applications, duplicate_application) =
        applications(&mut rng, n, tag, debtors.len() + guarantees.len());
    let scan = LogScan::new(
        debtors
            .iter()
            .chain(guarantees.iter().map(|g| &g.guarantor))
            .chain(applications.iter().map(|a| &a.applicant)),
        guarantees
            .iter()
            .map(|g| &g.spouse_national_id)
            .chain(&strangers),
    )?;
    Ok(Flow {
        invoices,
        amounts,
        pay_share,
        debtors,
        hostile: hostile::campaign(tag),
        race,
        agreements,
        invoices_of,
        guarantees,
        benefits,
        strangers,
        applications,
        duplicate_application,
        scan,
    })
}

/// A generated person: national id, phone (80 %), street, e-mail, name.
fn person(rng: &mut Rng, i: usize, tag: &str, id: &str) -> Debtor {
    let dd = rng.range(1, 28);
    let mm = rng.range(1, 12);
    let yy = rng.range(40, 99);
    let serial = rng.range(1000, 9999);
    let name = if i % 97 == 5 {
        UNICODE_NAMES[i % UNICODE_NAMES.len()].to_owned()
    } else {
        format!(
            "{} {}",
            FIRST[rng.range(0, FIRST.len() as u64 - 1) as usize],
            LAST[rng.range(0, LAST.len() as u64 - 1) as usize]
        )
    };
    Debtor {
        id: id.to_owned(),
        national_id: format!("{dd:02}{mm:02}{yy:02}{serial}"),
        phone: (!rng.chance(20)).then(|| format!("+45{}", rng.range(20_000_000, 99_999_999))),
        street: format!(
            "{} {}",
            STREETS[rng.range(0, STREETS.len() as u64 - 1) as usize],
            rng.range(1, 180)
        ),
        email: format!("debtor{i}.{tag}@example.org"),
        name,
    }
}

/// Puts `d`'s personal data into an invoice's debtor block.
fn dress(e: &mut Value, d: &Debtor, digital_post: bool) {
    let debtor = &mut e["data"]["debtor"];
    debtor["national_id"] = json!(d.national_id);
    debtor["name"] = json!(d.name);
    debtor["address"]["lines"] = json!([d.street]);
    debtor["email"] = json!(d.email);
    debtor["digital_post"] = json!(digital_post);
    match &d.phone {
        Some(p) => debtor["phone"] = json!(p),
        None => {
            debtor.as_object_mut().map(|o| o.remove("phone"));
        }
    }
}

/// Personal data of the generated debtors found in a log (none expected).
pub fn personal_data_hits(log: &str, flow: &Flow) -> Vec<String> {
    let scan = &flow.scan;
    let mut hits = BTreeSet::new();
    // Digit runs: national ids (also written ddmmyy-ssss), phone numbers with or without +45.
    let bytes = log.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len()
                && (bytes[i].is_ascii_digit() || (bytes[i] == b'-' && i - start == 6))
            {
                i += 1;
            }
            let run: String = log[start..i].chars().filter(char::is_ascii_digit).collect();
            if run.len() >= 8 && scan.numbers.contains(&run) {
                hits.insert("a national id or phone number of a generated debtor".to_owned());
            }
        } else {
            i += 1;
        }
    }
    // Overlapping, so that a street hides no other string that overlaps it (as `contains` would).
    for m in scan.texts.find_overlapping_iter(log) {
        if let Some(kind) = scan.kinds.get(m.pattern().as_usize()) {
            hits.insert((*kind).to_owned());
        }
    }
    hits.into_iter().collect()
}
