//! `restance sample`: realistic, reproducible test traffic.
//!
//! [`InvoiceSampler`] writes `billing.invoice.issued.v1` envelopes across the configured
//! municipalities, offices and categories. Its debtors are made once and reused — a person often
//! has several invoices — and a debtor id always carries exactly the same debtor block. Every
//! choice comes from one `StdRng` seeded by the caller, envelope ids included, so a seed and the
//! same options give the same output byte for byte; ids, invoice numbers and debtor ids carry a
//! run tag derived from the seed, so two different seeds never collide on a natural key.
//!
//! [`payments::PaymentSampler`] pays some of those invoices and [`bad::bad_samples`] breaks one
//! in every way the contract and the configuration forbid.

pub mod bad;
pub mod counselling;
pub mod guarantees;
mod lines;
mod national_ids;
pub mod payments;
mod people;

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use restance_contracts::{Address, AddressProtection, Debtor, Envelope, InvoiceIssued};
use restance_kernel::{
    BusinessCalendar, BusinessDate, Catalog, Country, Language, Money, Municipality, PartyKind,
    Redacted,
};

use people::{Town, pick};

/// A sample envelope's `id`: a UUID made from the generator's bytes, so it follows the seed.
pub(crate) fn uuid_from(rng: &mut StdRng) -> String {
    uuid::Builder::from_random_bytes(rng.random())
        .into_uuid()
        .to_string()
}

/// Six hex digits that mark everything one run writes (derived from the seed).
pub(crate) fn run_tag(rng: &mut StdRng) -> String {
    format!("{:06X}", rng.random::<u32>() >> 8)
}

/// `date` at `hour`:00 UTC plus `seconds`.
pub(crate) fn instant(date: BusinessDate, hour: u32, seconds: u32) -> DateTime<Utc> {
    let start = date
        .as_naive()
        .and_hms_opt(hour, 0, 0)
        .unwrap_or_default()
        .and_utc();
    start + chrono::Duration::seconds(i64::from(seconds))
}

/// A due date 14 to 30 days after `issue` that is a business day of `calendar`.
pub(crate) fn due_date(
    rng: &mut impl Rng,
    calendar: &BusinessCalendar,
    issue: BusinessDate,
) -> BusinessDate {
    let target = issue.add_days(rng.random_range(14..=30));
    if calendar.is_business_day(target) {
        return target;
    }
    let earlier = calendar.previous_business_day(target);
    if issue.days_until(earlier) >= 14 {
        earlier
    } else {
        calendar.next_business_day_after(target)
    }
}

/// One municipality as the sampler bills it.
struct Place<'a> {
    code: &'a str,
    municipality: &'a Municipality,
    towns: Vec<Town>,
    /// Category keys with their weights (only those with weight > 0).
    categories: Vec<(&'a str, u32)>,
}

/// A debtor and the office that handles them (a Greenlandic settlement's own office).
#[derive(Debug, Clone)]
struct SampleDebtor {
    debtor: Debtor,
    office: Option<String>,
}

/// Writes realistic `billing.invoice.issued.v1` envelopes; see the module docs.
pub struct InvoiceSampler<'a> {
    catalog: &'a Catalog,
    places: Vec<Place<'a>>,
    rng: StdRng,
    run: String,
    start: BusinessDate,
    days: u32,
    invoices: u64,
    debtors: Vec<SampleDebtor>,
    /// Indices into `debtors` per (place, kind).
    pools: BTreeMap<(usize, PartyKind), Vec<usize>>,
    /// National ids handed out, so two debtors never share one.
    national_ids: HashSet<String>,
}

impl std::fmt::Debug for InvoiceSampler<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InvoiceSampler")
            .field("run", &self.run)
            .field("invoices", &self.invoices)
            .field("debtors", &self.debtors.len())
            .finish_non_exhaustive()
    }
}

/// What to sample.
#[derive(Debug, Clone)]
pub struct SampleOptions {
    /// The generator's seed.
    pub seed: u64,
    /// Only this municipality code; `None`: every configured municipality.
    pub municipality: Option<String>,
    /// The first issue date.
    pub start_date: BusinessDate,
    /// Issue dates fall on business days within this many days from the start date.
    pub days: u32,
}

impl<'a> InvoiceSampler<'a> {
    /// A sampler over the catalog's municipalities (or the one asked for).
    pub fn new(catalog: &'a Catalog, options: &SampleOptions) -> anyhow::Result<Self> {
        let mut places = Vec::new();
        for (code, m) in &catalog.municipalities {
            if options.municipality.as_ref().is_some_and(|c| c != code) {
                continue;
            }
            let categories: Vec<(&str, u32)> = m
                .categories
                .iter()
                .filter(|key| catalog.category(key).is_some())
                .map(|key| (key.as_str(), lines::category_weight(key, m.country)))
                .filter(|(_, weight)| *weight > 0)
                .collect();
            if categories.is_empty() {
                if options.municipality.is_some() {
                    anyhow::bail!(
                        "municipality {code} bills no category the sampler can use (its categories: {})",
                        m.categories.join(", ")
                    );
                }
                continue;
            }
            places.push(Place {
                code,
                municipality: m,
                towns: people::towns(code, m),
                categories,
            });
        }
        if places.is_empty() {
            match &options.municipality {
                Some(code) => anyhow::bail!(
                    "municipality {code} is not configured; configured: {}",
                    configured_municipalities(catalog)
                ),
                None => anyhow::bail!("the configuration has no municipality to bill"),
            }
        }
        let mut rng = StdRng::seed_from_u64(options.seed);
        let run = run_tag(&mut rng);
        Ok(Self {
            catalog,
            places,
            rng,
            run,
            start: options.start_date,
            days: options.days.max(1),
            invoices: 0,
            debtors: Vec::new(),
            pools: BTreeMap::new(),
            national_ids: HashSet::new(),
        })
    }

    /// The tag in this run's ids (six hex digits derived from the seed).
    pub fn run_tag(&self) -> &str {
        &self.run
    }

    /// The next invoice.
    pub fn next_invoice(&mut self) -> Envelope<InvoiceIssued> {
        self.invoices += 1;
        let place_idx = self.rng.random_range(0..self.places.len());
        let (code, m) = {
            let p = &self.places[place_idx];
            (p.code, p.municipality)
        };
        let category = self.pick_category(place_idx);
        let kind = if self.rng.random_range(0..100) < lines::company_percent(category) {
            PartyKind::Company
        } else {
            PartyKind::Person
        };
        let debtor_idx = self.debtor_for(place_idx, kind);
        let office = match &self.debtors[debtor_idx].office {
            Some(office) if m.has_office(office) => office.clone(),
            _ => {
                let keys: Vec<&String> = m.offices.keys().collect();
                (*pick(&mut self.rng, &keys)).clone()
            }
        };
        let calendar = m.calendar();
        let offset = self.rng.random_range(0..self.days);
        let issue = calendar.next_business_day_on_or_after(self.start.add_days(i64::from(offset)));
        let due = due_date(&mut self.rng, &calendar, issue);
        let category_name = self
            .catalog
            .category(category)
            .map_or(category, |c| c.name.as_str());
        let lines = lines::invoice_lines(
            &mut self.rng,
            category,
            category_name,
            m.country,
            kind,
            issue,
        );
        let amount = Money::checked_sum(lines.iter().map(|l| l.amount)).unwrap_or(Money::ZERO);
        let prepayment = category == "building_permit" && self.rng.random_range(0..100) < 85;
        let direct_debit =
            !prepayment && lines::recurring(category) && self.rng.random_range(0..100) < 20;
        let invoice = InvoiceIssued {
            invoice_id: format!(
                "{}-{code}-{}-{:06}",
                lines::invoice_prefix(category),
                self.run,
                self.invoices
            ),
            municipality: code.to_owned(),
            office,
            category: category.to_owned(),
            debtor: self.debtors[debtor_idx].debtor.clone(),
            currency: m.currency,
            lines,
            amount,
            issue_date: issue,
            due_date: due,
            payment_reference: None,
            prepayment,
            direct_debit,
        };
        let id = uuid_from(&mut self.rng);
        let time = instant(issue, 5, self.rng.random_range(0..3600));
        Envelope::with_id(id, format!("/billing/{category}"), time, invoice)
    }

    fn pick_category(&mut self, place_idx: usize) -> &'a str {
        let categories = &self.places[place_idx].categories;
        let total: u32 = categories.iter().map(|(_, w)| w).sum();
        let mut roll = self.rng.random_range(0..total);
        for (key, weight) in categories {
            if roll < *weight {
                return key;
            }
            roll -= weight;
        }
        categories[0].0
    }

    /// An existing debtor of this kind in this municipality (often), or a new one.
    fn debtor_for(&mut self, place_idx: usize, kind: PartyKind) -> usize {
        let reuse = self.rng.random_range(0..100) < 60;
        if let Some(pool) = self.pools.get(&(place_idx, kind))
            && reuse
            && !pool.is_empty()
        {
            return *pick(&mut self.rng, pool);
        }
        let debtor = match kind {
            PartyKind::Person => self.new_person(place_idx),
            PartyKind::Company => self.new_company(place_idx),
        };
        self.debtors.push(debtor);
        let idx = self.debtors.len() - 1;
        self.pools.entry((place_idx, kind)).or_default().push(idx);
        idx
    }

    fn new_person(&mut self, place_idx: usize) -> SampleDebtor {
        let place = &self.places[place_idx];
        let (code, country) = (place.code, place.municipality.country);
        let locale = people::locale(country);
        let rng = &mut self.rng;
        let female = rng.random_bool(0.5);
        let firsts = if female { locale.female } else { locale.male };
        let first = *pick(rng, firsts);
        let mut name = first.to_owned();
        if rng.random_range(0..100) < 25 {
            let middle = *pick(rng, firsts);
            if middle != first {
                name = format!("{first} {middle}");
            }
        }
        let mut surname = (*pick(rng, locale.surnames)).to_owned();
        if rng.random_range(0..100) < 15 {
            let second = *pick(rng, locale.surnames);
            if second != surname {
                surname = format!("{surname} {second}");
            }
        }
        let full_name = format!("{name} {surname}");
        let Some(earliest) = NaiveDate::from_ymd_opt(1940, 1, 1) else {
            unreachable!("1940-01-01 is a date")
        };
        let birth = earliest + chrono::Days::new(rng.random_range(0..24_100));
        let national_id = loop {
            let id = match country {
                Country::Dk | Country::Gl => national_ids::cpr(rng, birth, female),
                Country::No => national_ids::fodselsnummer(rng, birth, female),
            };
            if self.national_ids.insert(id.as_str().to_owned()) {
                break id;
            }
        };
        let town = pick(rng, &place.towns).clone();
        let address = address(rng, country, &town);
        let email = (rng.random_range(0..100) < 70).then(|| {
            let last = surname.split(' ').next_back().unwrap_or(&surname);
            Redacted(people::person_email(rng, first, last))
        });
        let phone = (rng.random_range(0..100) < 80).then(|| Redacted(people::phone(rng, country)));
        let roll = rng.random_range(0..100);
        let language = match country {
            Country::Dk if roll < 30 => None,
            Country::Dk if roll < 95 => Some(Language::Da),
            Country::Gl if roll < 50 => Some(Language::Kl),
            Country::Gl if roll < 95 => Some(Language::Da),
            Country::No if roll < 30 => None,
            Country::No if roll < 96 => Some(Language::Nb),
            _ => Some(Language::En),
        };
        // Exempted from Digital Post (DK/GL) or reserved against digital mail (NO): on paper.
        let digital_percent = match country {
            Country::Dk => 90,
            Country::Gl => 55,
            Country::No => 88,
        };
        let digital_post = rng.random_range(0..100) < digital_percent;
        let protection = match rng.random_range(0..1000) {
            0..15 => AddressProtection::Confidential,
            15..20 => AddressProtection::StrictlyConfidential,
            _ => AddressProtection::None,
        };
        let serial = self.debtors.len() + 1;
        SampleDebtor {
            debtor: Debtor {
                id: format!("P-{code}-{}-{serial:05}", self.run),
                kind: PartyKind::Person,
                national_id: Redacted(national_id),
                name: Redacted(full_name),
                address,
                email,
                phone,
                language,
                digital_post,
                address_protection: protection,
            },
            office: town.office,
        }
    }

    fn new_company(&mut self, place_idx: usize) -> SampleDebtor {
        let place = &self.places[place_idx];
        let (code, country, language) = (
            place.code,
            place.municipality.country,
            place.municipality.language,
        );
        let locale = people::locale(country);
        let rng = &mut self.rng;
        let town = pick(rng, &place.towns).clone();
        let surname = *pick(rng, locale.surnames);
        let name = pick(rng, locale.companies)
            .replace("{s}", surname)
            .replace("{t}", town.place_name());
        let national_id = loop {
            let id = match country {
                Country::Dk | Country::Gl => national_ids::cvr(rng),
                Country::No => national_ids::organisasjonsnummer(rng),
            };
            if self.national_ids.insert(id.as_str().to_owned()) {
                break id;
            }
        };
        let address = address(rng, country, &town);
        let phone = (rng.random_range(0..100) < 60).then(|| Redacted(people::phone(rng, country)));
        let language = rng.random_bool(0.5).then_some(language);
        let serial = self.debtors.len() + 1;
        SampleDebtor {
            debtor: Debtor {
                id: format!("C-{code}-{}-{serial:05}", self.run),
                kind: PartyKind::Company,
                national_id: Redacted(national_id),
                email: Some(Redacted(people::company_email(&name))),
                name: Redacted(name),
                address,
                phone,
                language,
                // Companies receive their mail digitally (DOMAIN.md).
                digital_post: true,
                address_protection: AddressProtection::None,
            },
            office: town.office,
        }
    }
}

fn address(rng: &mut impl Rng, country: Country, town: &Town) -> Address {
    let mut lines = vec![people::street_line(rng, country, town)];
    if let Some(settlement) = &town.settlement {
        lines.push(settlement.clone());
    }
    Address {
        lines,
        postcode: town.postcode.clone(),
        city: town.city.clone(),
        country,
    }
}

/// `0746 (Skanderborg Kommune), …` for error messages.
pub(crate) fn configured_municipalities(catalog: &Catalog) -> String {
    catalog
        .municipalities
        .iter()
        .map(|(code, m)| format!("{code} ({})", m.name))
        .collect::<Vec<_>>()
        .join(", ")
}
