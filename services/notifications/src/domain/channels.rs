//! Channel choice: which of a template's configured channels can reach this recipient, and how.
//!
//! - **Letter**: `strictly_confidential` → the `protected` route, no address printed; else a
//!   company or a debtor with `digital_post: true` → `digital_post` (it needs the national id);
//!   else `print` (it needs the postal address). A party (not a debtor) is reached by digital
//!   post when the request gives its national id, else by print when it gives an address.
//! - **SMS**: a mobile number the gateway can take (see [`msisdn`]).
//! - **E-mail**: an e-mail address.
//!
//! A channel that cannot be used gets a reason (never personal data); the others still go.

use crate::config::Channel;
use crate::domain::contact::Contact;
use restance_contracts::messages::{AddressProtection, LetterChannel};
use restance_kernel::PartyKind;

/// How one channel will be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// A letter by this route.
    Letter(LetterChannel),
    /// An SMS to this MSISDN (digits, no `+`).
    Sms(String),
    /// An e-mail to the contact's address.
    Email,
}

/// For each configured channel: the route, or why it cannot be used. `sms_enabled`: an SMS
/// gateway is configured (without one, SMS deliveries fail at once with that reason).
pub fn plan_routes(
    channels: &[Channel],
    contact: &Contact,
    sms_enabled: bool,
) -> Vec<(Channel, Result<Route, String>)> {
    channels
        .iter()
        .map(|&c| {
            let route = match c {
                Channel::Letter => letter_channel(contact).map(Route::Letter),
                Channel::Sms if !sms_enabled => Err(
                    "SMS is switched off in this installation (no sms.url configured)".to_owned(),
                ),
                Channel::Sms => match &contact.phone {
                    None => Err("no mobile number is known for the recipient".to_owned()),
                    Some(p) => msisdn(p.expose()).map(Route::Sms),
                },
                Channel::Email => match &contact.email {
                    None => Err("no e-mail address is known for the recipient".to_owned()),
                    Some(e) if !plausible_email(e.expose()) => {
                        Err("the recipient's e-mail address is not usable".to_owned())
                    }
                    Some(_) => Ok(Route::Email),
                },
            };
            (c, route)
        })
        .collect()
}

/// The letter route for a contact (see the module documentation).
pub fn letter_channel(contact: &Contact) -> Result<LetterChannel, String> {
    if contact.protection == AddressProtection::StrictlyConfidential {
        return Ok(LetterChannel::Protected);
    }
    let has_id = contact.national_id.is_some();
    let has_address = contact.address.is_some();
    // A party: digital post when the producer gave the mailbox owner's id.
    let exempt = match contact.digital_post {
        Some(flag) => contact.kind != PartyKind::Company && !flag,
        None => false,
    };
    match (exempt, has_id, has_address) {
        (false, true, _) => Ok(LetterChannel::DigitalPost),
        (_, _, true) => Ok(LetterChannel::Print),
        (false, false, false) => {
            Err("no national id for digital post and no postal address for print".to_owned())
        }
        (true, _, false) => Err(
            "the recipient is exempt from digital post and has no postal address for print"
                .to_owned(),
        ),
    }
}

/// The MSISDN (digits without `+`) of an E.164 number the SMS gateway can take; numbers of our
/// three countries must have their national length (Denmark +45 and Norway +47: 8 digits,
/// Greenland +299: 6). The reason never repeats the number.
pub fn msisdn(phone: &str) -> Result<String, String> {
    let digits = phone.trim().strip_prefix('+').ok_or_else(|| {
        "the recipient's phone number is not in international form (+ and country code)".to_owned()
    })?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) || !(8..=15).contains(&digits.len()) {
        return Err("the recipient's phone number is not a valid E.164 number".to_owned());
    }
    let national = |prefix: &str, len: usize, country: &str| -> Option<Result<(), String>> {
        digits.strip_prefix(prefix).map(|rest| {
            if rest.len() == len {
                Ok(())
            } else {
                Err(format!(
                    "the recipient's phone number is not a valid {country} number (+{prefix} and {len} digits)"
                ))
            }
        })
    };
    if let Some(check) = national("45", 8, "Danish")
        .or_else(|| national("47", 8, "Norwegian"))
        .or_else(|| national("299", 6, "Greenlandic"))
    {
        check?;
    }
    if digits.starts_with('0') {
        return Err("the recipient's phone number has no valid country code".to_owned());
    }
    Ok(digits.to_owned())
}

fn plausible_email(e: &str) -> bool {
    e.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && domain.contains('.') && !domain.contains('@')
    }) && !e.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use restance_contracts::messages::Address;
    use restance_kernel::{Country, NationalId, Redacted};

    fn person() -> Contact {
        Contact {
            debtor_id: Some("P-1".into()),
            kind: PartyKind::Person,
            national_id: Some(Redacted(
                NationalId::parse(Country::Dk, PartyKind::Person, "0101901234").expect("cpr"),
            )),
            name: Redacted("Ane Hansen".into()),
            address: Some(Address {
                lines: vec!["Parkvej 1".into()],
                postcode: "8660".into(),
                city: "Skanderborg".into(),
                country: Country::Dk,
            }),
            email: Some(Redacted("ane@example.org".into())),
            phone: Some(Redacted("+4512345678".into())),
            language: None,
            digital_post: Some(true),
            protection: AddressProtection::None,
        }
    }

    #[test]
    fn a_citizen_with_digital_post_gets_digital_post_and_an_exempt_one_print() {
        let mut c = person();
        assert_eq!(letter_channel(&c), Ok(LetterChannel::DigitalPost));
        c.digital_post = Some(false);
        assert_eq!(letter_channel(&c), Ok(LetterChannel::Print));
        c.address = None;
        assert!(letter_channel(&c).expect_err("nothing").contains("exempt"));
    }

    #[test]
    fn companies_always_get_digital_post() {
        let mut c = person();
        c.kind = PartyKind::Company;
        c.digital_post = Some(false);
        assert_eq!(letter_channel(&c), Ok(LetterChannel::DigitalPost));
    }

    #[test]
    fn a_strictly_confidential_address_goes_by_the_protected_route() {
        let mut c = person();
        c.protection = AddressProtection::StrictlyConfidential;
        c.digital_post = Some(false);
        assert_eq!(letter_channel(&c), Ok(LetterChannel::Protected));
        c.protection = AddressProtection::Confidential;
        assert_eq!(letter_channel(&c), Ok(LetterChannel::Print));
    }

    #[test]
    fn a_person_given_as_a_party_keeps_their_protection() {
        use restance_contracts::messages::Party;
        let c = person();
        let party = Party {
            name: c.name.clone(),
            party_kind: PartyKind::Person,
            national_id: None,
            address: c.address.clone(),
            email: None,
            phone: None,
            language: None,
            address_protection: Some(AddressProtection::StrictlyConfidential),
        };
        let contact = Contact::from_party(&party);
        assert_eq!(contact.protection, AddressProtection::StrictlyConfidential);
        assert_eq!(letter_channel(&contact), Ok(LetterChannel::Protected));
        let company = Party {
            party_kind: PartyKind::Company,
            address_protection: None,
            ..party
        };
        assert_eq!(
            Contact::from_party(&company).protection,
            AddressProtection::None
        );
    }

    #[test]
    fn a_party_gets_digital_post_with_a_national_id_else_print() {
        let mut c = person();
        c.digital_post = None;
        assert_eq!(letter_channel(&c), Ok(LetterChannel::DigitalPost));
        c.national_id = None;
        assert_eq!(letter_channel(&c), Ok(LetterChannel::Print));
        c.address = None;
        assert!(letter_channel(&c).is_err());
    }

    #[test]
    fn phone_numbers_are_checked_per_country_and_reasons_do_not_repeat_them() {
        assert_eq!(msisdn("+4512345678"), Ok("4512345678".to_owned()));
        assert_eq!(msisdn("+4791234567"), Ok("4791234567".to_owned()));
        assert_eq!(msisdn("+299123456"), Ok("299123456".to_owned()));
        assert_eq!(msisdn("+46701234567"), Ok("46701234567".to_owned()));
        for bad in [
            "4512345678",
            "+451234567",
            "+45 1234 5678",
            "+2991234567",
            "+0123456789",
        ] {
            let why = msisdn(bad).expect_err(bad);
            assert!(!why.contains("1234"), "{why}");
        }
        assert!(msisdn("+451234567").expect_err("short").contains("Danish"));
    }

    #[test]
    fn every_channel_gets_a_route_or_a_reason() {
        let mut c = person();
        c.phone = None;
        c.email = None;
        let plan = plan_routes(&[Channel::Letter, Channel::Sms, Channel::Email], &c, true);
        assert_eq!(plan[0].1, Ok(Route::Letter(LetterChannel::DigitalPost)));
        assert!(plan[1].1.as_ref().expect_err("sms").contains("mobile"));
        assert!(plan[2].1.as_ref().expect_err("email").contains("e-mail"));
        let plan = plan_routes(&[Channel::Sms], &person(), false);
        assert!(
            plan[0]
                .1
                .as_ref()
                .expect_err("off")
                .contains("switched off")
        );
        let plan = plan_routes(&[Channel::Sms, Channel::Email], &person(), true);
        assert_eq!(plan[0].1, Ok(Route::Sms("4512345678".into())));
        assert_eq!(plan[1].1, Ok(Route::Email));
    }
}
