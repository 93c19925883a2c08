//! The seeded flow: debtors, invoices (with the bad-input campaign), payments, the race claims,
//! which debtors a caseworker makes an agreement with, the family-reunification guarantees
//! with the benefits paid and the changes that end them (what each must recover), and the
//! debt-counselling applications to Kristiansand (each one case, reviewed as suitable).

use aho_corasick::AhoCorasick;
use restance_system_tests::PERSONAL_DATA;
use restance_system_tests::hostile::{self, Hostile, UNICODE_NAMES};
use restance_system_tests::{envelope, invoice_due};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashSet};

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

// ------------------------------------------------------------------ debt counselling

/// A debt-counselling application of the flow: the applicant is a person of their own (a
/// Norwegian fødselsnummer, no debtor of any invoice, so no dunning hold meets the dunning
/// checks), income reported (no calls before the review), sent from the web form.
pub struct CounsellingCase {
    pub application_id: String,
    pub applicant: Debtor,
    /// `selfservice.counselling.applied.v1`, sent in the ingest phase with the invoices.
    pub message: Value,
}

/// The date the applications are dated: the flow's first business day ([`crate::drive::DAY0`]),
/// or today where that is still ahead — counselling refuses an application dated in the future
/// (after tomorrow by the wall clock), and the flow's days lie in December 2026 and January 2027
/// whatever the date it runs on. The same for every run of one suite (the flow is made once).
pub fn applied_date() -> String {
    let today = chrono::Utc::now()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string();
    today.min(crate::drive::DAY0.to_owned())
}

/// A valid Norwegian fødselsnummer born in the 1900s: ddmmyy, an individual number 000–499
/// (the 1900s for any year), and both modulus-11 check digits (weights 3,7,6,1,8,9,4,5,2 and
/// 5,4,3,2,7,6,5,4,3,2); an individual number for which either would be 10 is skipped. None
/// is in `used` (which it joins).
pub fn norwegian_national_id(rng: &mut Rng, used: &mut HashSet<String>) -> String {
    let control = |digits: &[u64], weights: &[u64]| -> Option<u64> {
        let sum: u64 = digits.iter().zip(weights).map(|(d, w)| d * w).sum();
        match 11 - sum % 11 {
            11 => Some(0),
            10 => None,
            k => Some(k),
        }
    };
    loop {
        let (dd, mm, yy) = (rng.range(1, 28), rng.range(1, 12), rng.range(0, 99));
        let individual = rng.range(0, 499);
        let mut d: Vec<u64> = format!("{dd:02}{mm:02}{yy:02}{individual:03}")
            .bytes()
            .map(|b| u64::from(b - b'0'))
            .collect();
        let Some(k1) = control(&d, &[3, 7, 6, 1, 8, 9, 4, 5, 2]) else {
            continue;
        };
        d.push(k1);
        let Some(k2) = control(&d, &[5, 4, 3, 2, 7, 6, 5, 4, 3, 2]) else {
            continue;
        };
        d.push(k2);
        let id: String = d.iter().map(u64::to_string).collect();
        if used.insert(id.clone()) {
            return id;
        }
    }
}

/// C = max(3, N/50) applications for debt counselling in Kristiansand (4204), each by a person
/// of their own (`first_person`: the number [`person`] numbers the first applicant with, after
/// the debtors and the guarantors), and a copy of the first under another message id.
fn applications(
    rng: &mut Rng,
    n: usize,
    tag: &str,
    first_person: usize,
) -> (Vec<CounsellingCase>, Value) {
    let count = (n / 50).max(3);
    let applied = applied_date();
    let mut used = HashSet::new();
    let mut out = Vec::with_capacity(count);
    for k in 0..count {
        let mut applicant = person(rng, first_person + k, tag, &format!("{tag}-GRP-{k}"));
        applicant.national_id = norwegian_national_id(rng, &mut used);
        applicant.phone = Some(format!("+47{}", rng.range(90_000_000, 99_999_999)));
        let application_id = format!("{tag}-GR-{k}");
        let mut data = json!({"application_id":application_id,"municipality":"4204",
            "channel":"web","applied_date":applied,
            "applicant":{"id":applicant.id,"national_id":applicant.national_id,
                "name":applicant.name,
                "address":{"lines":[applicant.street],"postcode":"4611","city":"Kristiansand",
                    "country":"NO"},
                "email":applicant.email,"language":"nb","digital_post":rng.chance(70),
                "address_protection":"none"},
            "answers":{"income_reported":true,"household_adults":1,
                "household_children":rng.range(0, 3),"debt_register_consent":false,
                "monthly_income":"24000.00","monthly_expenses":"21500.00"}});
        if let Some(p) = &applicant.phone {
            data["applicant"]["phone"] = json!(p);
        }
        let message = envelope(
            "/selfservice/web",
            &format!("{tag}-cns-{k}"),
            "selfservice.counselling.applied.v1",
            data,
        );
        out.push(CounsellingCase {
            application_id,
            applicant,
            message,
        });
    }
    let duplicate = envelope(
        "/selfservice/web",
        &format!("{tag}-cns-0-again"),
        "selfservice.counselling.applied.v1",
        out[0].message["data"].clone(),
    );
    (out, duplicate)
}

// ------------------------------------------------------------------ guarantees

/// The business day the changes that end guarantees are processed on: the flow opens it (and
/// waits until guarantee has it) before it publishes them, so it is the day recovery is raised
/// (`recovery::on_ending` takes the last business day opened) and the day limitation counts to.
pub const RAISE_DAY: &str = crate::drive::DAY0;
/// Three years before [`RAISE_DAY`]: a payment made before it is time-barred on the raise day.
/// The flow's payments stay weeks away from it on either side, so the rule's shift of a period
/// ending on a non-business day never decides one.
pub const BARRED_BEFORE: &str = "2023-12-16";
/// The one guarantee-held-by bank of the flow.
const BANK: &str = "Fællesbanken A/S";

/// What a guarantee of the flow must come to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuaranteeEnd {
    /// Ended with something recoverable: the case `raised` for this many øre — a claim in
    /// invoicing, the guarantor's notice and the bank's hold-and-pay letter.
    Raised(i64),
    /// Ended with nothing recoverable: the bank's release letter, the case `closed`.
    Released,
    /// Not ended: no case.
    InForce,
}

/// A family-reunification guarantee of the flow: the resident is the guarantor (a person of
/// the flow's own, with a national id, name and street), the spouse a national id.
pub struct GuaranteeCase {
    pub guarantee_id: String,
    pub guarantor: Debtor,
    pub spouse_national_id: String,
    pub expected: GuaranteeEnd,
    /// `immigration.guarantee.registered.v1`, sent on the registration day.
    pub registration: Value,
    /// `immigration.guarantee.changed.v1` lowering the amount, before the ending.
    pub reduction: Option<Value>,
    /// `immigration.guarantee.changed.v1` that ends the guarantee.
    pub ending: Option<Value>,
}

impl GuaranteeCase {
    /// The recovery case an ended guarantee opens (`<guarantee_id>/R1`).
    pub fn case_id(&self) -> String {
        format!("{}/R1", self.guarantee_id)
    }
}

/// A benefit paid, with the classification it must be stored with in the end.
pub struct BenefitCase {
    pub benefit_id: String,
    pub classification: &'static str,
    /// `benefits.benefit.paid.v1`.
    pub message: Value,
}

/// Who a benefit is paid to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Recipient {
    Spouse,
    Resident,
}

fn day(y: u64, m: u64, d: u64) -> String {
    format!("{y:04}-{m:02}-{d:02}")
}

fn kroner(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

/// A national id no other person of the flow has (a CPR number: ddmmyy and four digits).
fn unique_national_id(rng: &mut Rng, used: &mut HashSet<String>) -> String {
    loop {
        let id = format!(
            "{:02}{:02}{:02}{}",
            rng.range(1, 28),
            rng.range(1, 12),
            rng.range(40, 99),
            rng.range(1000, 9999)
        );
        if used.insert(id.clone()) {
            return id;
        }
    }
}

/// G = max(4, N/25) guarantees in Skanderborg (0746), by number `k` mod 6:
///
/// | k mod 6 | benefits paid                                                       | change (before the raise day) | outcome |
/// |---|---|---|---|
/// | 0 | to the spouse: 2–4 in time, 1–2 time-barred, 1 under another law; 1 to the resident | divorce | raised: the ones in time |
/// | 1 | none | moved away | released |
/// | 2 | to the spouse, all time-barred (classified recoverable, nothing left to recover) | death | released |
/// | 3 | to the spouse, 4 in time above the amount; the amount reduced to 15,000.00 first | binding period expired | raised: capped at 15,000.00 |
/// | 4 | to the spouse and the resident (maintenance requirement: the resident's is reported) | none | in force, no case |
/// | 5 | to the spouse before the registration, under another law, and after the ending; 1 to the resident | divorce | released |
///
/// and max(2, G/3) benefits to people without a guarantee (`no_guarantee`). The expected
/// amount follows the service's rule from the flow's own inputs: the spouse's payments under
/// aktivloven or integrationsloven, paid on or after the registration and before the ending,
/// not time-barred on the raise day, capped at the guarantee's amount that day.
#[allow(clippy::too_many_lines)] // the guarantees built kind by kind
fn guarantees(
    rng: &mut Rng,
    n: usize,
    tag: &str,
    debtors: &[Debtor],
) -> (Vec<GuaranteeCase>, Vec<BenefitCase>, Vec<String>) {
    let count = (n / 25).max(4);
    let mut used: HashSet<String> = debtors.iter().map(|d| d.national_id.clone()).collect();
    let mut cases = Vec::with_capacity(count);
    let mut benefits = Vec::new();
    let mut seq = 0usize;
    let mut benefit = |benefits: &mut Vec<BenefitCase>,
                       recipient: &str,
                       law: &str,
                       amount: i64,
                       paid: &str,
                       classification: &'static str| {
        let benefit_id = format!("{tag}-YD-{seq}");
        let message = envelope(
            "/benefits/yds",
            &format!("{tag}-gben-{seq}"),
            "benefits.benefit.paid.v1",
            json!({"benefit_id":benefit_id,"municipality":"0746",
                   "recipient_national_id":recipient,"law":law,"amount":kroner(amount),
                   "paid_date":paid}),
        );
        seq += 1;
        benefits.push(BenefitCase {
            benefit_id,
            classification,
            message,
        });
    };
    for k in 0..count {
        let kind = k % 6;
        let guarantee_id = format!("{tag}-SIK-{k}");
        let mut guarantor = person(rng, debtors.len() + k, tag, &format!("{tag}-GAR-{k}"));
        while !used.insert(guarantor.national_id.clone()) {
            guarantor = person(rng, debtors.len() + k, tag, &format!("{tag}-GAR-{k}"));
        }
        let spouse = unique_national_id(rng, &mut used);
        let (reg_year, reg_month) = if kind == 5 {
            (2024, 3)
        } else {
            (2022, rng.range(3, 9))
        };
        let reg_day = rng.range(1, 28);
        let registered_on = day(reg_year, reg_month, reg_day);
        let amount: i64 = if kind == 3 {
            5_000_000
        } else {
            [5_000_000, 7_500_000, 10_000_000, 12_000_000]
                [usize::try_from(rng.range(0, 3)).unwrap_or(0)]
        };
        let reduced: Option<(String, i64)> = (kind == 3).then(|| (day(2025, 6, 2), 1_500_000));
        let maintenance = kind == 4;
        let reason = match kind {
            0 | 5 => Some("divorce"),
            1 => Some("moved_away"),
            2 => Some("death"),
            3 => Some("binding_period_expired"),
            _ => None,
        };
        let ends = reason.map(|r| (r, day(2026, 12, rng.range(1, 9))));
        // The benefits: (recipient, law, øre, paid date).
        let mut paid: Vec<(Recipient, &str, i64, String)> = Vec::new();
        let law = |rng: &mut Rng| {
            if rng.chance(50) {
                "aktivloven"
            } else {
                "integrationsloven"
            }
        };
        let in_time =
            |rng: &mut Rng| day(rng.range(2024, 2026), rng.range(1, 11), rng.range(1, 28));
        let barred = |rng: &mut Rng| day(2023, rng.range(1, 10), rng.range(1, 28));
        let some = |rng: &mut Rng| i64::try_from(rng.range(2_000, 9_000)).unwrap_or(2_000) * 100;
        match kind {
            0 => {
                for _ in 0..rng.range(2, 4) {
                    let (l, a, d) = (law(rng), some(rng), in_time(rng));
                    paid.push((Recipient::Spouse, l, a, d));
                }
                for _ in 0..rng.range(1, 2) {
                    let (l, a, d) = (law(rng), some(rng), barred(rng));
                    paid.push((Recipient::Spouse, l, a, d));
                }
                let (a, d) = (some(rng), in_time(rng));
                paid.push((Recipient::Spouse, "other", a, d));
                let (l, a, d) = (law(rng), some(rng), in_time(rng));
                paid.push((Recipient::Resident, l, a, d));
            }
            2 => {
                for _ in 0..2 {
                    let (l, a, d) = (law(rng), some(rng), barred(rng));
                    paid.push((Recipient::Spouse, l, a, d));
                }
            }
            3 => {
                for _ in 0..4 {
                    let (l, a, d) = (
                        law(rng),
                        i64::try_from(rng.range(6_000, 9_000)).unwrap_or(6_000) * 100,
                        in_time(rng),
                    );
                    paid.push((Recipient::Spouse, l, a, d));
                }
            }
            4 => {
                for _ in 0..2 {
                    let (l, a, d) = (law(rng), some(rng), in_time(rng));
                    paid.push((Recipient::Spouse, l, a, d));
                }
                let (l, a, d) = (law(rng), some(rng), in_time(rng));
                paid.push((Recipient::Resident, l, a, d));
            }
            5 => {
                for m in [1, 2] {
                    let (l, a, d) = (law(rng), some(rng), day(2024, m, rng.range(1, 28)));
                    paid.push((Recipient::Spouse, l, a, d));
                }
                let (a, d) = (some(rng), day(2025, rng.range(1, 11), rng.range(1, 28)));
                paid.push((Recipient::Spouse, "other", a, d));
                // after the ending (1–9 December): classified recoverable when it arrives,
                // classified again when the divorce is reported
                let (l, a, d) = (law(rng), some(rng), day(2026, 12, rng.range(10, 15)));
                paid.push((Recipient::Spouse, l, a, d));
                let (l, a, d) = (law(rng), some(rng), in_time(rng));
                paid.push((Recipient::Resident, l, a, d));
            }
            _ => {}
        }
        // The service's rule, from the flow's own inputs.
        let mut recoverable = 0i64;
        for (who, l, a, d) in &paid {
            let in_force = *d >= registered_on && ends.as_ref().is_none_or(|(_, e)| d < e);
            let recoverable_law = *l != "other";
            let class = if *who == Recipient::Spouse && recoverable_law && in_force {
                if d.as_str() >= BARRED_BEFORE {
                    recoverable += a;
                }
                "recoverable"
            } else if in_force && maintenance {
                "reported"
            } else {
                "not_recoverable"
            };
            let to = match who {
                Recipient::Spouse => spouse.as_str(),
                Recipient::Resident => guarantor.national_id.as_str(),
            };
            benefit(&mut benefits, to, l, *a, d.as_str(), class);
        }
        let cap = match &reduced {
            Some((from, to)) if from.as_str() <= RAISE_DAY => *to,
            _ => amount,
        };
        let expected = match ends {
            None => GuaranteeEnd::InForce,
            Some(_) if recoverable.min(cap) > 0 => GuaranteeEnd::Raised(recoverable.min(cap)),
            Some(_) => GuaranteeEnd::Released,
        };
        let mut registration = envelope(
            "/immigration/uds",
            &format!("{tag}-greg-{k}"),
            "immigration.guarantee.registered.v1",
            json!({"guarantee_id":guarantee_id,"municipality":"0746",
                "resident_national_id":guarantor.national_id,"spouse_national_id":spouse,
                "person_id":format!("PID-{tag}-{k}"),
                "guarantor":{"id":guarantor.id,"kind":"person","national_id":guarantor.national_id,
                    "name":guarantor.name,
                    "address":{"lines":[guarantor.street],"postcode":"8660","city":"Skanderborg","country":"DK"},
                    "language":"da","digital_post":rng.chance(70),"address_protection":"none"},
                "bank":{"name":BANK,"reg_no":"5301",
                    "email":"sikkerhedsstillelse@faellesbanken.example",
                    "address":{"lines":["Holmens Kanal 2"],"postcode":"1060","city":"København K","country":"DK"}},
                "amount":kroner(amount),
                "binding_period_end":day(reg_year + 6, reg_month, reg_day),
                "maintenance_requirement":maintenance}),
        );
        // The day the authority registered it: the guarantee is in force from this date.
        registration["time"] = json!(format!("{registered_on}T09:00:00Z"));
        let change = |id: String, data: Value| {
            envelope(
                "/immigration/uds",
                &id,
                "immigration.guarantee.changed.v1",
                data,
            )
        };
        let reduction = reduced.map(|(from, to)| {
            change(
                format!("{tag}-gred-{k}"),
                json!({"guarantee_id":guarantee_id,"reason":"amount_reduced",
                       "effective_date":from,"new_amount":kroner(to)}),
            )
        });
        let ending = ends.map(|(reason, effective)| {
            change(
                format!("{tag}-gend-{k}"),
                json!({"guarantee_id":guarantee_id,"reason":reason,"effective_date":effective}),
            )
        });
        cases.push(GuaranteeCase {
            guarantee_id,
            guarantor,
            spouse_national_id: spouse,
            expected,
            registration,
            reduction,
            ending,
        });
    }
    let mut strangers = Vec::new();
    for _ in 0..(count / 3).max(2) {
        let stranger = unique_national_id(rng, &mut used);
        let paid = day(2026, rng.range(1, 11), rng.range(1, 28));
        let amount = i64::try_from(rng.range(2_000, 9_000)).unwrap_or(2_000) * 100;
        benefit(
            &mut benefits,
            &stranger,
            "aktivloven",
            amount,
            &paid,
            "no_guarantee",
        );
        strangers.push(stranger);
    }
    (cases, benefits, strangers)
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
