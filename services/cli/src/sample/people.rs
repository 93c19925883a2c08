//! Who the sample debtors are: names, streets, towns, phone numbers and e-mail addresses that
//! look like Denmark, Greenland and Norway. All of it is made up; e-mail domains are reserved
//! example domains, so nothing here reaches a real mailbox.

use rand::Rng;
use rand::seq::IndexedRandom;
use restance_kernel::{Country, Municipality};

/// Name and address material of one country.
pub(crate) struct Locale {
    pub male: &'static [&'static str],
    pub female: &'static [&'static str],
    pub surnames: &'static [&'static str],
    pub streets: &'static [&'static str],
    /// Company name patterns; `{s}` is a surname, `{t}` a town.
    pub companies: &'static [&'static str],
    /// International prefix and the first digits a mobile number may start with.
    pub phone_prefix: &'static str,
    pub phone_first: &'static [char],
    pub phone_digits: usize,
}

const DK: Locale = Locale {
    male: &[
        "Anders",
        "Mads",
        "Rasmus",
        "Jens",
        "Søren",
        "Mikkel",
        "Lars",
        "Frederik",
        "Peter",
        "Niels",
        "Christian",
        "Kasper",
        "Jonas",
        "Emil",
        "Oliver",
        "Bjørn",
    ],
    female: &[
        "Ane", "Mette", "Anne", "Camilla", "Sofie", "Louise", "Maria", "Ida", "Freja", "Emma",
        "Hanne", "Karen", "Line", "Signe", "Julie", "Åse",
    ],
    surnames: &[
        "Hansen",
        "Jensen",
        "Nielsen",
        "Pedersen",
        "Andersen",
        "Christensen",
        "Larsen",
        "Sørensen",
        "Rasmussen",
        "Jørgensen",
        "Petersen",
        "Madsen",
        "Kristensen",
        "Olsen",
        "Thomsen",
        "Møller",
        "Kjær",
        "Lund",
        "Holm",
        "Østergaard",
    ],
    streets: &[
        "Adelgade",
        "Vestergade",
        "Østergade",
        "Parkvej",
        "Skovvej",
        "Søvej",
        "Nørregade",
        "Kirkevej",
        "Stationsvej",
        "Birkevej",
        "Egevej",
        "Bøgevej",
        "Engvej",
        "Ringvejen",
        "Møllevej",
        "Åvej",
        "Toftevej",
        "Lupinvej",
        "Grønnegade",
        "Vængevej",
    ],
    companies: &[
        "{s} & Søn ApS",
        "{t} Tømrer- og Snedkerforretning ApS",
        "{s}s Vognmandsforretning",
        "{t} Auto ApS",
        "Nordvest Byg A/S",
        "Skovbo Ejendomme A/S",
        "Grønt Køkken I/S",
        "{s} Rengøring ApS",
        "{t} Bageri ApS",
        "{s} El-service A/S",
    ],
    phone_prefix: "+45",
    phone_first: &['2', '3', '4', '5', '6', '7', '8', '9'],
    phone_digits: 8,
};

const GL: Locale = Locale {
    male: &[
        "Aqqaluk", "Malik", "Inuk", "Kunuk", "Hans", "Nuka", "Pavia", "Ole", "Jens", "Kaali",
        "Minik", "Niels", "Salik", "Ujarak",
    ],
    female: &[
        "Nivi",
        "Ane",
        "Pipaluk",
        "Naja",
        "Paninnguaq",
        "Aviaja",
        "Ivalo",
        "Arnaq",
        "Karen",
        "Sara",
        "Najaaraq",
        "Malu",
        "Ulloriaq",
    ],
    surnames: &[
        "Kleist",
        "Lynge",
        "Olsen",
        "Petersen",
        "Berthelsen",
        "Kreutzmann",
        "Heilmann",
        "Motzfeldt",
        "Egede",
        "Kristiansen",
        "Poulsen",
        "Rosing",
        "Fleischer",
        "Enoksen",
        "Jeremiassen",
        "Korneliussen",
    ],
    streets: &[
        "Aqqusinersuaq",
        "Kongevejen",
        "Fiskervej",
        "Paamiut Aqqutaa",
        "Nikkorsuit",
        "Qiviarfik",
        "Kaassassuk",
        "Illorput",
        "Sanaavik",
        "Ulkebugten",
        "Kaaliip Aqqutaa",
        "Avannarliit",
    ],
    companies: &[
        "{t} Fiskeri ApS",
        "Qeqqata Byg A/S",
        "Arctic Entreprise ApS",
        "{s} Entreprise ApS",
        "{t} Taxa ApS",
        "Sila Service ApS",
        "{s} Fangst og Fiskeri",
        "Nunatta Transport A/S",
    ],
    phone_prefix: "+299",
    phone_first: &['2', '4', '5'],
    phone_digits: 6,
};

const NO: Locale = Locale {
    male: &[
        "Ola", "Jakob", "Lars", "Sindre", "Håkon", "Magnus", "Henrik", "Ole", "Emil", "Kristian",
        "Sander", "Tobias", "Even", "Øyvind",
    ],
    female: &[
        "Kari", "Ingrid", "Nora", "Emma", "Sigrid", "Ingeborg", "Sara", "Maja", "Hanne", "Marit",
        "Solveig", "Åse", "Thea", "Ida",
    ],
    surnames: &[
        "Hansen",
        "Johansen",
        "Olsen",
        "Larsen",
        "Andersen",
        "Pedersen",
        "Nilsen",
        "Kristiansen",
        "Jensen",
        "Karlsen",
        "Haugen",
        "Berg",
        "Dahl",
        "Lie",
        "Solberg",
        "Håland",
        "Tveit",
        "Åsland",
        "Eikeland",
        "Fjeld",
    ],
    streets: &[
        "Dronningens gate",
        "Markens gate",
        "Tollbodgata",
        "Kirkegata",
        "Elvegata",
        "Vestre Strandgate",
        "Skippergata",
        "Rådhusgata",
        "Lundsvei",
        "Gimlevegen",
        "Søgneveien",
        "Solsletta",
        "Bjørnestien",
        "Fjellveien",
    ],
    companies: &[
        "{s} Rør AS",
        "Sørlandet Elektro AS",
        "{t} Bygg AS",
        "Agder Transport AS",
        "{s} Eiendom AS",
        "Kystbakeriet AS",
        "{s} Regnskap DA",
        "{t} Maskin ENK",
    ],
    phone_prefix: "+47",
    phone_first: &['4', '9'],
    phone_digits: 8,
};

/// The locale of a country.
pub(crate) fn locale(country: Country) -> &'static Locale {
    match country {
        Country::Dk => &DK,
        Country::Gl => &GL,
        Country::No => &NO,
    }
}

/// A place a debtor can live, and the collection office that usually handles it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Town {
    pub postcode: String,
    pub city: String,
    /// A settlement (bygd) served by the town's post office, printed as an extra address line.
    pub settlement: Option<String>,
    /// The office key that handles debtors here, if the municipality has such an office.
    pub office: Option<String>,
}

impl Town {
    fn new(postcode: &str, city: &str, settlement: Option<&str>, office: Option<&str>) -> Town {
        Town {
            postcode: postcode.to_owned(),
            city: city.to_owned(),
            settlement: settlement.map(str::to_owned),
            office: office.map(str::to_owned),
        }
    }

    /// The name to use in a company name: the settlement if any, else the town.
    pub fn place_name(&self) -> &str {
        self.settlement.as_deref().unwrap_or(&self.city)
    }
}

/// Towns of the municipalities in the shipped configuration; any other municipality gets the
/// town of its letter sender.
pub(crate) fn towns(code: &str, m: &Municipality) -> Vec<Town> {
    let t = Town::new;
    match code {
        "0746" => vec![
            t("8660", "Skanderborg", None, None),
            t("8660", "Skanderborg", None, None),
            t("8680", "Ry", None, None),
            t("8464", "Galten", None, None),
            t("8362", "Hørning", None, None),
            t("8670", "Låsby", None, None),
        ],
        "0957" => vec![
            t("3911", "Sisimiut", None, Some("sisimiut")),
            t("3911", "Sisimiut", None, Some("sisimiut")),
            t("3911", "Sisimiut", Some("Sarfannguit"), Some("sisimiut")),
            t("3911", "Sisimiut", Some("Itilleq"), Some("sisimiut")),
            t("3910", "Kangerlussuaq", None, Some("sisimiut")),
            t("3912", "Maniitsoq", None, Some("maniitsoq")),
            t("3912", "Maniitsoq", None, Some("maniitsoq")),
            t("3912", "Maniitsoq", Some("Kangaamiut"), Some("maniitsoq")),
            t("3912", "Maniitsoq", Some("Atammik"), Some("maniitsoq")),
            t("3912", "Maniitsoq", Some("Napasoq"), Some("maniitsoq")),
        ],
        "4204" => vec![
            t("4608", "Kristiansand S", None, None),
            t("4614", "Kristiansand S", None, None),
            t("4626", "Kristiansand S", None, None),
            t("4631", "Kristiansand S", None, None),
            t("4640", "Søgne", None, None),
            t("4645", "Nodeland", None, None),
        ],
        _ => vec![Town::new(&m.sender.postcode, &m.sender.city, None, None)],
    }
}

/// A street address line: a street and number, sometimes a floor; in a Greenlandic settlement
/// the house number (`B-845`).
pub(crate) fn street_line(rng: &mut impl Rng, country: Country, town: &Town) -> String {
    let locale = locale(country);
    if country == Country::Gl && (town.settlement.is_some() || rng.random_range(0..4) == 0) {
        return format!("B-{}", rng.random_range(100..2000));
    }
    let street = pick(rng, locale.streets);
    let number = rng.random_range(1..120);
    match (country, rng.random_range(0..6)) {
        (Country::Dk, 0) => format!("{street} {number}, {}. th.", rng.random_range(1..5)),
        (Country::Dk, 1) => format!("{street} {number}, st. tv."),
        (Country::No, 0) => format!("{street} {number}{}", pick(rng, &["A", "B", "C"])),
        (Country::No, 1) => format!("{street} {number}, H0{}01", rng.random_range(1..5)),
        _ => format!("{street} {number}"),
    }
}

/// A mobile number in E.164 form.
pub(crate) fn phone(rng: &mut impl Rng, country: Country) -> String {
    let locale = locale(country);
    let mut out = String::from(locale.phone_prefix);
    out.push(*pick(rng, locale.phone_first));
    for _ in 1..locale.phone_digits {
        out.push(char::from(b'0' + rng.random_range(0..10u8)));
    }
    out
}

/// An e-mail address on a reserved example domain, made from a name.
pub(crate) fn person_email(rng: &mut impl Rng, first: &str, surname: &str) -> String {
    let domain = pick(rng, &["example.org", "example.net", "example.com"]);
    match rng.random_range(0..3) {
        0 => format!("{}.{}@{domain}", ascii_slug(first), ascii_slug(surname)),
        1 => format!("{}{}@{domain}", ascii_slug(first), rng.random_range(1..100)),
        _ => format!(
            "{}{}@{domain}",
            ascii_slug(first).chars().next().unwrap_or('x'),
            ascii_slug(surname)
        ),
    }
}

/// A company's address: `post@<name>.example`.
pub(crate) fn company_email(name: &str) -> String {
    let words: Vec<String> = name
        .split_whitespace()
        .filter(|w| !matches!(*w, "ApS" | "A/S" | "I/S" | "AS" | "DA" | "ENK" | "&" | "og"))
        .map(ascii_slug)
        .filter(|w| !w.is_empty())
        .collect();
    format!("post@{}.example", words.join("-"))
}

/// Lower-case ASCII for an address: æ→ae, ø→oe, å→aa, other letters without accents dropped.
pub(crate) fn ascii_slug(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        match c {
            'a'..='z' | '0'..='9' => out.push(c),
            'æ' => out.push_str("ae"),
            'ø' => out.push_str("oe"),
            'å' => out.push_str("aa"),
            'é' | 'è' => out.push('e'),
            'ĸ' => out.push('q'),
            _ => {}
        }
    }
    out
}

/// A uniformly chosen element of a non-empty table.
pub(crate) fn pick<'a, T>(rng: &mut impl Rng, items: &'a [T]) -> &'a T {
    // Every table in this module is a non-empty constant, so `choose` never returns None.
    items.choose(rng).unwrap_or(&items[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_plain_ascii_on_reserved_domains() {
        assert_eq!(ascii_slug("Søren Ærø-Åsland"), "soerenaeroeaasland");
        assert_eq!(
            company_email("Hansen & Søn ApS"),
            "post@hansen-soen.example"
        );
    }
}
