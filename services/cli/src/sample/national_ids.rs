//! Valid national ids for sample debtors: CPR with a date part and century digit that agree,
//! fødselsnummer with both control digits, CVR and organisasjonsnummer with their modulus-11
//! check.
//!
//! The check-digit rules live in the kernel only: a generator here draws candidates with the
//! right date, century and gender digits and keeps the first one `NationalId::parse_as`
//! accepts (about one in 11 for CVR and org.nr, one in 120 for a fødselsnummer — microseconds).

use chrono::{Datelike, NaiveDate};
use rand::Rng;
use restance_kernel::{NationalId, NationalIdKind};

/// The first candidate the kernel accepts as a number of `kind`.
fn first_valid(kind: NationalIdKind, mut candidate: impl FnMut() -> String) -> NationalId {
    loop {
        if let Ok(id) = NationalId::parse_as(kind, &candidate()) {
            return id;
        }
    }
}

/// `n` random decimal digits.
fn digits(rng: &mut impl Rng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

/// `DDMMYY` of a birth date.
fn date_part(birth: NaiveDate) -> String {
    format!(
        "{:02}{:02}{:02}",
        birth.day(),
        birth.month(),
        birth.year().rem_euclid(100)
    )
}

/// A CPR number for someone born on `birth` (1858–2057); the last digit is even for women.
pub(crate) fn cpr(rng: &mut impl Rng, birth: NaiveDate, female: bool) -> NationalId {
    // CPR-kontoret's table: the 7th digit tells the century together with the year.
    let century_digits: &[u32] = match birth.year() {
        1900..=1936 => &[0, 1, 2, 3],
        1937..=1999 => &[0, 1, 2, 3, 4, 9],
        2000..=2036 => &[4, 5, 6, 7, 8, 9],
        _ => &[5, 6, 7, 8], // 1858–1899 and 2037–2057
    };
    first_valid(NationalIdKind::Cpr, || {
        let seventh = century_digits[rng.random_range(0..century_digits.len())];
        let last = rng.random_range(0..5) * 2 + u32::from(!female);
        format!("{}{seventh}{}{last}", date_part(birth), digits(rng, 2))
    })
}

/// A Norwegian fødselsnummer for someone born on `birth` (1900–2039); the third digit of the
/// individual number is even for women.
pub(crate) fn fodselsnummer(rng: &mut impl Rng, birth: NaiveDate, female: bool) -> NationalId {
    // Individual numbers 000–499 are the 1900s, 500–999 the 2000s (to 2039).
    let first = if birth.year() >= 2000 { 5..10 } else { 0..5 };
    first_valid(NationalIdKind::Fodselsnummer, || {
        let individual = format!(
            "{}{}{}",
            rng.random_range(first.clone()),
            rng.random_range(0..10),
            rng.random_range(0..5) * 2 + u32::from(!female)
        );
        format!("{}{individual}{}", date_part(birth), digits(rng, 2))
    })
}

/// A Danish/Greenlandic CVR number (8 digits, the first not 0).
pub(crate) fn cvr(rng: &mut impl Rng) -> NationalId {
    first_valid(NationalIdKind::Cvr, || {
        format!("{}{}", rng.random_range(1..10), digits(rng, 7))
    })
}

/// A Norwegian organisasjonsnummer (9 digits; registered units start with 8 or 9).
pub(crate) fn organisasjonsnummer(rng: &mut impl Rng) -> NationalId {
    first_valid(NationalIdKind::Organisasjonsnummer, || {
        format!("{}{}", rng.random_range(8..10), digits(rng, 8))
    })
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
