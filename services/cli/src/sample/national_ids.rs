//! Valid national ids for sample debtors: CPR with a date part and century digit that agree,
//! fødselsnummer with both control digits, CVR and organisasjonsnummer with their modulus-11
//! check. Every number is confirmed by the kernel's parser before it is used.

use chrono::{Datelike, NaiveDate};
use rand::Rng;
use restance_kernel::{NationalId, NationalIdKind};

/// A CPR number for someone born on `birth` (1858–2057); the last digit is even for women.
pub(crate) fn cpr(rng: &mut impl Rng, birth: NaiveDate, female: bool) -> NationalId {
    // CPR-kontoret's table: the 7th digit tells the century together with the year.
    let year = birth.year();
    let century_digits: &[u32] = match year {
        1900..=1936 => &[0, 1, 2, 3],
        1937..=1999 => &[0, 1, 2, 3, 4, 9],
        2000..=2036 => &[4, 5, 6, 7, 8, 9],
        2037..=2057 => &[5, 6, 7, 8],
        _ => &[5, 6, 7, 8], // 1858–1899
    };
    loop {
        let seventh = century_digits[rng.random_range(0..century_digits.len())];
        let last = rng.random_range(0..5) * 2 + u32::from(!female);
        let text = format!(
            "{:02}{:02}{:02}{seventh}{:02}{last}",
            birth.day(),
            birth.month(),
            year.rem_euclid(100),
            rng.random_range(0..100)
        );
        if let Ok(id) = NationalId::parse_as(NationalIdKind::Cpr, &text) {
            return id;
        }
    }
}

/// A Norwegian fødselsnummer for someone born on `birth` (1900–2039); the third digit of the
/// individual number is even for women.
pub(crate) fn fodselsnummer(rng: &mut impl Rng, birth: NaiveDate, female: bool) -> NationalId {
    let individual_range = if birth.year() >= 2000 {
        500..1000
    } else {
        0..500
    };
    loop {
        let mut individual: u32 = rng.random_range(individual_range.clone());
        if individual.is_multiple_of(2) != female {
            individual = if individual + 1 < individual_range.end {
                individual + 1
            } else {
                individual - 1
            };
        }
        let base = format!(
            "{:02}{:02}{:02}{individual:03}",
            birth.day(),
            birth.month(),
            birth.year().rem_euclid(100)
        );
        let digits = digits(&base);
        let Some(k1) = mod11_control(weighted(&digits, &[3, 7, 6, 1, 8, 9, 4, 5, 2])) else {
            continue;
        };
        let mut with_k1 = digits.clone();
        with_k1.push(k1);
        let Some(k2) = mod11_control(weighted(&with_k1, &[5, 4, 3, 2, 7, 6, 5, 4, 3, 2])) else {
            continue;
        };
        if let Ok(id) =
            NationalId::parse_as(NationalIdKind::Fodselsnummer, &format!("{base}{k1}{k2}"))
        {
            return id;
        }
    }
}

/// A Danish/Greenlandic CVR number (8 digits, weights 2,7,6,5,4,3,2,1, sum divisible by 11).
pub(crate) fn cvr(rng: &mut impl Rng) -> NationalId {
    loop {
        let mut d = vec![rng.random_range(1..10u32)];
        d.extend((0..6).map(|_| rng.random_range(0..10u32)));
        let last = (11 - weighted(&d, &[2, 7, 6, 5, 4, 3, 2]) % 11) % 11;
        if last == 10 {
            continue;
        }
        d.push(last);
        if let Ok(id) = NationalId::parse_as(NationalIdKind::Cvr, &text(&d)) {
            return id;
        }
    }
}

/// A Norwegian organisasjonsnummer (9 digits starting with 8 or 9, modulus-11 control digit).
pub(crate) fn organisasjonsnummer(rng: &mut impl Rng) -> NationalId {
    loop {
        let mut d = vec![if rng.random_bool(0.5) { 8 } else { 9 }];
        d.extend((0..7).map(|_| rng.random_range(0..10u32)));
        let Some(control) = mod11_control(weighted(&d, &[3, 2, 7, 6, 5, 4, 3, 2])) else {
            continue;
        };
        d.push(control);
        if let Ok(id) = NationalId::parse_as(NationalIdKind::Organisasjonsnummer, &text(&d)) {
            return id;
        }
    }
}

fn digits(s: &str) -> Vec<u32> {
    s.bytes().map(|b| u32::from(b - b'0')).collect()
}

fn text(d: &[u32]) -> String {
    d.iter().map(u32::to_string).collect()
}

fn weighted(d: &[u32], weights: &[u32]) -> u32 {
    d.iter().zip(weights).map(|(d, w)| d * w).sum()
}

/// 11 − (sum mod 11), where 11 → 0 and 10 → no valid digit.
fn mod11_control(sum: u32) -> Option<u32> {
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        k => Some(k),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn generated_ids_carry_the_birth_date_and_gender_they_were_made_for() {
        let mut rng = StdRng::seed_from_u64(7);
        for (y, m, d) in [(1940, 1, 1), (1999, 12, 31), (2000, 2, 29), (2006, 7, 15)] {
            let birth = NaiveDate::from_ymd_opt(y, m, d).expect("date");
            for female in [false, true] {
                let c = cpr(&mut rng, birth, female);
                assert_eq!(c.birth_date(), Some(birth));
                let last = c.as_str().as_bytes()[9] - b'0';
                assert_eq!(last.is_multiple_of(2), female);

                let f = fodselsnummer(&mut rng, birth, female);
                assert_eq!(f.birth_date(), Some(birth));
                let third = f.as_str().as_bytes()[8] - b'0';
                assert_eq!(third.is_multiple_of(2), female);
            }
        }
        for _ in 0..200 {
            assert_eq!(cvr(&mut rng).kind(), NationalIdKind::Cvr);
            assert_eq!(
                organisasjonsnummer(&mut rng).kind(),
                NationalIdKind::Organisasjonsnummer
            );
        }
    }
}
