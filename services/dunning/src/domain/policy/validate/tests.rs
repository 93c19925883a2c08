use super::*;

const CATALOG: &str = r#"
[categories.other]
name = "Other"
[categories.daycare]
name = "Daycare"
special_consideration = true
social_caseworker = true
[categories.water]
name = "Water"
supply_closure_allowed = true
[categories.rent]
name = "Rent"
private_law = true

[municipalities."0746"]
name = "Skanderborg Kommune"
country = "DK"
currency = "DKK"
language = "da"
creditor_number = "85412345"
categories = ["other", "daycare", "water", "rent"]
offices.main = { name = "Opkrævningen" }
sender = { name = "S", address_lines = ["A"], postcode = "8660", city = "S", phone = "1", email = "a@b.c" }
"#;

const VALID: &str = r#"
[jurisdictions.dk]
country = "DK"
transfer_authority = "gaeldsstyrelsen"
[[jurisdictions.dk.tables]]
effective_from = "2020-01-01"
fee = "250.00"
fee_cap = "250.00"
fee_legal_basis = "gebyrloven § 6, stk. 1"
transfer_min_balance = "100.00"

[jurisdictions.dk_private]
country = "DK"
private_law = true
transfer_authority = "gaeldsstyrelsen"
[[jurisdictions.dk_private.tables]]
effective_from = "2020-01-01"
fee = "100.00"
fee_cap = "100.00"
fee_legal_basis = "renteloven § 9 b"
max_fee_reminders = 3
min_days_between_fees = 10
first_fee_min_days_after_due = 7
transfer_min_balance = "100.00"

[policies.standard]
jurisdiction = "dk"
[[policies.standard.versions]]
version = 1
effective_from = "2020-01-01"
interest = { kind = "monthly_started", rate_percent = "1" }
steps = [
{ after_due_days = 7, action = { kind = "reminder", template = "reminder_1" } },
{ after_previous_days = 14, action = { kind = "reminder", template = "reminder_2", fee = true, transfer_notice = true } },
{ after_previous_days = 14, action = { kind = "transfer", notice_min_days = 10 } },
]

[policies.special]
jurisdiction = "dk"
[[policies.special.versions]]
version = 1
effective_from = "2020-01-01"
interest = { kind = "none" }
special_consideration = { meeting_wait_days = 14 }
steps = [
{ after_due_days = 7, action = { kind = "reminder", template = "reminder_1" } },
{ after_previous_days = 7, only_for = "person", action = { kind = "meeting_offer" } },
{ after_previous_days = 14, action = { kind = "reminder", template = "reminder_2", fee = true, transfer_notice = true } },
]

[policies.supply]
jurisdiction = "dk"
[[policies.supply.versions]]
version = 1
effective_from = "2020-01-01"
interest = { kind = "none" }
steps = [
{ after_due_days = 7, action = { kind = "reminder", template = "reminder_1" } },
{ after_previous_days = 7, action = { kind = "supply_suspension_notice" } },
{ after_previous_days = 14, action = { kind = "supply_suspension", notice_min_days = 14 } },
]

[policies.rent]
jurisdiction = "dk_private"
[[policies.rent.versions]]
version = 1
effective_from = "2020-01-01"
interest = { kind = "annual_over_reference", reference_rate_percent = "1.75", margin_percent = "8" }
steps = [
{ after_due_days = 7, action = { kind = "reminder", template = "reminder_1", fee = true } },
{ after_previous_days = 10, action = { kind = "reminder", template = "reminder_2", fee = true } },
]

[municipalities."0746"]
default = "standard"
categories = { daycare = "special", water = "supply", rent = "rent" }
"#;

fn catalog() -> Catalog {
    toml::from_str(CATALOG).expect("test catalog parses")
}

fn valid() -> Policies {
    toml::from_str(VALID).expect("test policies parse")
}

/// The problems after `change`; asserts one of them starts with `expected`.
fn problem_after(change: impl FnOnce(&mut Policies), expected: &str) -> Vec<String> {
    let mut p = valid();
    change(&mut p);
    let problems = p.validate(Some(&catalog())).expect_err("a problem");
    assert!(
        problems.iter().any(|x| x.starts_with(expected)),
        "expected {expected:?} in {problems:#?}"
    );
    problems
}

fn steps<'a>(p: &'a mut Policies, id: &str) -> &'a mut Vec<Step> {
    &mut p.policies.get_mut(id).expect("policy").versions[0].steps
}

#[test]
fn the_test_configuration_is_valid() {
    assert_eq!(valid().validate(Some(&catalog())), Ok(()));
    assert_eq!(valid().validate(None), Ok(()));
}

#[test]
fn an_empty_configuration_says_what_is_missing() {
    let problems = Policies::default().validate(None).expect_err("empty");
    assert_eq!(problems.len(), 3, "{problems:?}");
}

#[test]
fn a_fee_above_its_cap_is_refused() {
    problem_after(
        |p| p.jurisdictions.get_mut("dk").expect("dk").tables[0].fee = "250.01".parse().expect("m"),
        "dunning.jurisdictions.dk.tables[0].fee: 250.01 is above the cap 250.00",
    );
}

#[test]
fn a_table_without_cap_is_refused() {
    problem_after(
        |p| p.jurisdictions.get_mut("dk").expect("dk").tables[0].fee_cap = None,
        "dunning.jurisdictions.dk.tables[0]: no fee cap",
    );
}

#[test]
fn an_authority_of_another_country_is_refused() {
    problem_after(
        |p| {
            p.jurisdictions
                .get_mut("dk")
                .expect("dk")
                .transfer_authority = super::super::TransferAuthority::Skattestyrelsen;
        },
        "dunning.jurisdictions.dk.transfer_authority: skattestyrelsen does not take claims from DK",
    );
}

#[test]
fn steps_out_of_order_are_refused() {
    problem_after(
        |p| {
            let s = steps(p, "standard");
            s[1].after_previous_days = None;
            s[1].after_due_days = Some(5);
        },
        "dunning.policies.standard.versions[0].steps[1].after_due_days: 5 is before steps[0]",
    );
}

#[test]
fn a_step_needs_exactly_one_timing() {
    problem_after(
        |p| steps(p, "standard")[0].after_previous_days = Some(3),
        "dunning.policies.standard.versions[0].steps[0]: set exactly one of",
    );
    problem_after(
        |p| steps(p, "standard")[0].after_due_days = None,
        "dunning.policies.standard.versions[0].steps[0]: set exactly one of",
    );
}

#[test]
fn nothing_may_fall_due_on_the_due_date_itself() {
    problem_after(
        |p| steps(p, "standard")[0].after_due_days = Some(0),
        "dunning.policies.standard.versions[0].steps[0]: would fall due on the due date itself",
    );
}

#[test]
fn an_unknown_template_is_refused() {
    problem_after(
        |p| {
            steps(p, "standard")[0].action = StepAction::Reminder {
                template: "reminder_3".into(),
                channels: vec![],
                fee: false,
                transfer_notice: false,
            };
        },
        "dunning.policies.standard.versions[0].steps[0].action.template: unknown template \"reminder_3\"",
    );
}

#[test]
fn a_transfer_needs_a_reminder_and_a_notice_before_it() {
    problem_after(
        |p| {
            if let StepAction::Reminder {
                transfer_notice, ..
            } = &mut steps(p, "standard")[1].action
            {
                *transfer_notice = false;
            }
        },
        "dunning.policies.standard.versions[0].steps[2]: no written notice of transfer precedes it",
    );
    problem_after(
        |p| {
            steps(p, "standard").drain(0..2);
        },
        "dunning.policies.standard.versions[0].steps[0]: a transfer comes after the reminder procedure",
    );
}

#[test]
fn a_suspension_needs_its_notice_before_it() {
    problem_after(
        |p| {
            steps(p, "supply").remove(1);
        },
        "dunning.policies.supply.versions[0].steps[1]: no supply_suspension_notice step precedes",
    );
}

#[test]
fn supply_steps_only_for_categories_that_allow_closure() {
    problem_after(
        |p| {
            p.municipalities
                .get_mut("0746")
                .expect("0746")
                .categories
                .insert("other".into(), "supply".into());
        },
        "dunning.municipalities.\"0746\".categories.other: policy supply has supply suspension steps but category other does not allow supply closure",
    );
}

#[test]
fn versions_must_not_overlap() {
    problem_after(
        |p| {
            let policy = p.policies.get_mut("standard").expect("standard");
            let mut second = policy.versions[0].clone();
            second.version = 2;
            policy.versions.push(second);
        },
        "dunning.policies.standard.versions[1].effective_from: 2020-01-01 is not after versions[0] (2020-01-01): the versions overlap",
    );
    problem_after(
        |p| {
            let policy = p.policies.get_mut("standard").expect("standard");
            let mut second = policy.versions[0].clone();
            second.effective_from = "2027-01-01".parse().expect("date");
            policy.versions.push(second);
        },
        "dunning.policies.standard.versions[1].version: 1 must be greater than versions[0].version (1)",
    );
}

#[test]
fn a_category_a_municipality_bills_needs_a_policy() {
    problem_after(
        |p| p.municipalities.get_mut("0746").expect("0746").default = None,
        "dunning.municipalities.\"0746\": missing default: category other is billed by 0746",
    );
}

#[test]
fn unknown_policies_categories_and_municipalities_are_named() {
    problem_after(
        |p| {
            p.municipalities
                .get_mut("0746")
                .expect("0746")
                .categories
                .insert("parking".into(), "nope".into());
        },
        "dunning.municipalities.\"0746\".categories.parking: unknown policy \"nope\"",
    );
    problem_after(
        |p| {
            p.municipalities
                .get_mut("0746")
                .expect("0746")
                .categories
                .insert("parking".into(), "standard".into());
        },
        "dunning.municipalities.\"0746\".categories.parking: unknown category",
    );
    problem_after(
        |p| {
            p.municipalities
                .insert("0999".into(), super::super::Assignment::default());
        },
        "dunning.municipalities.\"0999\": municipality 0999 is not in the catalog",
    );
    problem_after(
        |p| {
            p.policies
                .get_mut("standard")
                .expect("standard")
                .jurisdiction = "xx".into()
        },
        "dunning.policies.standard.jurisdiction: unknown jurisdiction \"xx\"",
    );
}

#[test]
fn a_private_law_category_needs_a_private_law_jurisdiction() {
    problem_after(
        |p| {
            p.municipalities
                .get_mut("0746")
                .expect("0746")
                .categories
                .insert("rent".into(), "standard".into());
        },
        "dunning.municipalities.\"0746\".categories.rent: rent is a private-law category but policy standard uses a public-law jurisdiction",
    );
}

#[test]
fn a_special_consideration_category_needs_a_meeting_offer_before_the_first_fee() {
    problem_after(
        |p| {
            steps(p, "special").remove(1);
        },
        "dunning.policies.special.versions[0].steps: category daycare (dunning.municipalities.\"0746\".categories.daycare) needs a meeting_offer step before the first fee",
    );
    problem_after(
        |p| {
            p.policies.get_mut("special").expect("special").versions[0].special_consideration =
                None;
        },
        "dunning.policies.special.versions[0].special_consideration: missing",
    );
}

#[test]
fn fee_bearing_reminders_respect_the_number_spacing_and_first_day_of_the_law() {
    problem_after(
        |p| steps(p, "rent")[1].after_previous_days = Some(9),
        "dunning.policies.rent.versions[0].steps[1].action.fee: at least 10 days must pass after the fee of steps[0]",
    );
    problem_after(
        |p| steps(p, "rent")[0].after_due_days = Some(6),
        "dunning.policies.rent.versions[0].steps[0].action.fee: the first fee may be charged no earlier than 7 days after due",
    );
    problem_after(
        |p| {
            let s = steps(p, "rent");
            for _ in 0..2 {
                let extra = s[1].clone();
                s.push(extra);
            }
        },
        "dunning.policies.rent.versions[0].steps[3].action.fee: fee-bearing reminder number 4 for a person, but the jurisdiction's tables[0] allows at most 3",
    );
}

#[test]
fn a_policy_of_another_country_is_refused() {
    problem_after(
        |p| p.jurisdictions.get_mut("dk").expect("dk").country = restance_kernel::Country::No,
        "dunning.municipalities.\"0746\".default: policy standard uses jurisdiction dk (NO) but municipality 0746 is in DK",
    );
}

#[test]
fn a_transfer_rule_and_threshold_are_checked() {
    let first = |p: &mut Policies| {
        let id = p.policies.keys().next().expect("a policy").clone();
        p.policies.get_mut(&id).expect("policy").versions[0].clone()
    };
    let id = valid().policies.keys().next().expect("a policy").clone();
    let path = format!("dunning.policies.{id}.versions[0]");
    let id2 = id.clone();
    problem_after(
        move |p| {
            let mut v = first(p);
            v.transfer.only_unwilling_or_defaulting = true;
            p.policies.get_mut(&id2).expect("policy").versions[0] = v;
        },
        &format!("{path}.transfer.only_unwilling_or_defaulting: needs mode"),
    );
    let id3 = id.clone();
    problem_after(
        move |p| {
            let mut v = first(p);
            v.threshold = Some(crate::domain::policy::Threshold {
                below: "0.00".parse().expect("m"),
                min_interest: None,
                source: " ".into(),
            });
            p.policies.get_mut(&id3).expect("policy").versions[0] = v;
        },
        &format!("{path}.threshold.below: must be more than 0.00"),
    );
}
