//! Campaigns (issue 22, item 5): the rules, as pure functions — what a campaign request must
//! say, which debtors it selects (the preview and, at approval, the fixed selection), and what
//! came of it (paid, agreed, no response).
//!
//! Decisions recorded here:
//! - **Arrears** are dunning's open claims that are not prepayments and were due before the
//!   last business date (past due on it); a debtor's arrears are the sum of those claims' open
//!   principal, fees and interest. `min_arrears` compares with that sum.
//! - **A company notice selects companies only**, whatever `debtor_kind` says (seed 000: the
//!   uniform notice to every company debtor); the other kinds select both unless told.
//! - **Outcome** per debtor sent to: `paid` when every selected claim has been settled since,
//!   else `agreed` when a plan or deferral covering one of them starts on or after the send
//!   date, else `no_response`.

use std::collections::BTreeMap;

use restance_kernel::{BusinessDate, Money, PartyKind};
use serde::{Deserialize, Serialize};

/// The campaign kinds shipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignKind {
    /// The uniform notice to all company debtors with a deadline (seed 000).
    CompanyNotice,
    /// Notice to the citizens in arrears in a settlement before a visit; meetings offered.
    SettlementVisit,
    /// How to sign up for Betalingsservice / AvtaleGiro; the citizens' service.
    DirectDebit,
    /// General consequences and debt advice.
    Information,
}

impl CampaignKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignKind::CompanyNotice => "company_notice",
            CampaignKind::SettlementVisit => "settlement_visit",
            CampaignKind::DirectDebit => "direct_debit",
            CampaignKind::Information => "information",
        }
    }
}

/// Whom a campaign selects.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Selection {
    /// The collection office (for a settlement visit: the settlement's office).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub office: Option<String>,
    /// One arrears category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Persons or companies only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debtor_kind: Option<PartyKind>,
    /// Only debtors with at least these arrears.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_arrears: Option<Money>,
}

/// The visit of a settlement-visit campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Visit {
    /// The visit days.
    pub dates: Vec<BusinessDate>,
    /// Where the caseworkers receive.
    pub place: String,
    /// Meeting slots offered on each day, e.g. `"09:00-12:00, 13:00-15:00"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slots: Option<String>,
}

/// A channel a campaign asks for (notifications' configuration decides in the end).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignChannel {
    /// The letter.
    Letter,
    /// The SMS.
    Sms,
}

/// `POST /api/v1/campaigns`' body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignSpec {
    /// The kind.
    pub kind: CampaignKind,
    /// Municipality code.
    pub municipality: String,
    /// Whom it selects.
    #[serde(default)]
    pub selection: Selection,
    /// Pay or agree by (company notice: required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<BusinessDate>,
    /// The visit (settlement visit: required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit: Option<Visit>,
    /// Channels asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<Vec<CampaignChannel>>,
    /// The caseworkers' title for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

fn text_ok(s: &str, max: usize) -> bool {
    !s.trim().is_empty() && s.chars().count() <= max && !s.chars().any(char::is_control)
}

impl CampaignSpec {
    /// What is wrong with the request on `day` (the last business date), if anything.
    pub fn problems(&self, day: Option<BusinessDate>) -> Vec<String> {
        let mut p = Vec::new();
        if !text_ok(&self.municipality, 100) {
            p.push("municipality must be 1–100 characters".to_owned());
        }
        if let Some(office) = &self.selection.office
            && !text_ok(office, 100)
        {
            p.push("selection.office must be 1–100 characters".to_owned());
        }
        if let Some(category) = &self.selection.category
            && !text_ok(category, 100)
        {
            p.push("selection.category must be 1–100 characters".to_owned());
        }
        if self.selection.min_arrears.is_some_and(|m| m.is_negative()) {
            p.push("selection.min_arrears must not be negative".to_owned());
        }
        if let Some(title) = &self.title
            && !text_ok(title, 200)
        {
            p.push("title must be 1–200 characters".to_owned());
        }
        if let Some(channels) = &self.channels
            && channels.is_empty()
        {
            p.push("channels must name letter, sms or both".to_owned());
        }
        match self.kind {
            CampaignKind::CompanyNotice => {
                if self.deadline.is_none() {
                    p.push("deadline is required for a company_notice".to_owned());
                }
                if self.selection.debtor_kind == Some(PartyKind::Person) {
                    p.push(
                        "a company_notice selects companies: debtor_kind must be company or absent"
                            .to_owned(),
                    );
                }
            }
            CampaignKind::SettlementVisit => {
                match &self.visit {
                    None => {
                        p.push("visit {dates, place} is required for a settlement_visit".to_owned())
                    }
                    Some(v) => {
                        if v.dates.is_empty() || v.dates.len() > 30 {
                            p.push("visit.dates must list 1–30 dates".to_owned());
                        }
                        if !text_ok(&v.place, 200) {
                            p.push("visit.place must be 1–200 characters".to_owned());
                        }
                        if let Some(slots) = &v.slots
                            && !text_ok(slots, 200)
                        {
                            p.push("visit.slots must be 1–200 characters".to_owned());
                        }
                        if let Some(day) = day
                            && v.dates.iter().any(|d| *d <= day)
                        {
                            p.push(format!(
                                "visit.dates must be after the last business date {day}"
                            ));
                        }
                        if self.selection.office.is_none() {
                            p.push("selection.office (the settlement) is required for a settlement_visit".to_owned());
                        }
                    }
                }
            }
            CampaignKind::DirectDebit | CampaignKind::Information => {}
        }
        if self.kind != CampaignKind::SettlementVisit && self.visit.is_some() {
            p.push("visit is only for a settlement_visit".to_owned());
        }
        if let (Some(deadline), Some(day)) = (self.deadline, day)
            && deadline <= day
        {
            p.push(format!(
                "deadline must be after the last business date {day}"
            ));
        }
        p
    }

    /// The debtor kind selected: a company notice always selects companies.
    pub fn debtor_kind(&self) -> Option<PartyKind> {
        match self.kind {
            CampaignKind::CompanyNotice => Some(PartyKind::Company),
            _ => self.selection.debtor_kind,
        }
    }
}

/// A claim as selection reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrearsClaim {
    /// Claim id.
    pub claim_id: String,
    /// The debtor.
    pub debtor_id: String,
    /// Person or company.
    pub debtor_kind: PartyKind,
    /// Category key.
    pub category: String,
    /// Collection office.
    pub office: String,
    /// Due date.
    pub due_date: BusinessDate,
    /// Open principal, fees and interest.
    pub open: Money,
    /// Open (not settled, written off or transferred).
    pub is_open: bool,
    /// A prepayment claim (never arrears).
    pub prepayment: bool,
}

/// One debtor selected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelectedDebtor {
    /// The debtor.
    pub debtor_id: String,
    /// The claims in arrears the campaign is about, sorted.
    pub claim_ids: Vec<String>,
    /// Their open amount together.
    pub arrears: Money,
}

/// The debtors a campaign selects on `day` from the municipality's claims, by debtor id.
pub fn select(
    spec: &CampaignSpec,
    day: BusinessDate,
    claims: &[ArrearsClaim],
) -> Vec<SelectedDebtor> {
    let kind = spec.debtor_kind();
    let mut by_debtor: BTreeMap<&str, SelectedDebtor> = BTreeMap::new();
    for c in claims {
        let arrears = c.is_open && !c.prepayment && c.due_date < day && c.open.is_positive();
        let wanted = kind.is_none_or(|k| k == c.debtor_kind)
            && spec
                .selection
                .office
                .as_ref()
                .is_none_or(|o| *o == c.office)
            && spec
                .selection
                .category
                .as_ref()
                .is_none_or(|k| *k == c.category);
        if !(arrears && wanted) {
            continue;
        }
        let entry = by_debtor
            .entry(c.debtor_id.as_str())
            .or_insert_with(|| SelectedDebtor {
                debtor_id: c.debtor_id.clone(),
                claim_ids: Vec::new(),
                arrears: Money::ZERO,
            });
        entry.claim_ids.push(c.claim_id.clone());
        entry.arrears = entry.arrears.checked_add(c.open).unwrap_or(entry.arrears);
    }
    by_debtor
        .into_values()
        .filter(|d| spec.selection.min_arrears.is_none_or(|m| d.arrears >= m))
        .map(|mut d| {
            d.claim_ids.sort();
            d
        })
        .collect()
}

/// The preview: how many debtors and their arrears together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preview {
    /// Debtors selected.
    pub debtors: u64,
    /// Their arrears together.
    pub total: Money,
}

/// The preview of a selection.
pub fn preview(selected: &[SelectedDebtor]) -> Preview {
    Preview {
        debtors: selected.len() as u64,
        total: selected
            .iter()
            .fold(Money::ZERO, |t, d| t.checked_add(d.arrears).unwrap_or(t)),
    }
}

/// What came of a campaign for one debtor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    /// Every selected claim settled since.
    Paid,
    /// A plan or deferral from the send date.
    Agreed,
    /// Neither.
    NoResponse,
}

/// An agreement (plan or deferral) as the outcome reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreement {
    /// When it starts.
    pub from: BusinessDate,
    /// The claims it covers (none: all of the debtor's).
    pub claim_ids: Option<Vec<String>>,
}

/// One debtor's response: `settled` says per selected claim whether it is settled now.
pub fn response(
    sent: BusinessDate,
    claim_ids: &[String],
    settled: &dyn Fn(&str) -> bool,
    agreements: &[Agreement],
) -> Response {
    if !claim_ids.is_empty() && claim_ids.iter().all(|c| settled(c)) {
        return Response::Paid;
    }
    let agreed = agreements.iter().any(|a| {
        a.from >= sent
            && a.claim_ids
                .as_ref()
                .is_none_or(|ids| ids.iter().any(|i| claim_ids.contains(i)))
    });
    if agreed {
        Response::Agreed
    } else {
        Response::NoResponse
    }
}

/// The outcome of a campaign.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// Debtors sent to.
    pub sent: u64,
    /// Of them: paid.
    pub paid: u64,
    /// Agreed.
    pub agreed: u64,
    /// No response.
    pub no_response: u64,
}

/// Counts the responses.
pub fn outcome(responses: impl IntoIterator<Item = Response>) -> Outcome {
    let mut o = Outcome::default();
    for r in responses {
        o.sent += 1;
        match r {
            Response::Paid => o.paid += 1,
            Response::Agreed => o.agreed += 1,
            Response::NoResponse => o.no_response += 1,
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> BusinessDate {
        s.parse().expect("date")
    }

    fn m(s: &str) -> Money {
        Money::parse(s).expect("money")
    }

    fn claim(id: &str, debtor: &str, kind: PartyKind, due: &str, open: &str) -> ArrearsClaim {
        ArrearsClaim {
            claim_id: id.into(),
            debtor_id: debtor.into(),
            debtor_kind: kind,
            category: "rent".into(),
            office: "sarfannguit".into(),
            due_date: d(due),
            open: m(open),
            is_open: true,
            prepayment: false,
        }
    }

    fn spec(kind: CampaignKind) -> CampaignSpec {
        CampaignSpec {
            kind,
            municipality: "0955".into(),
            selection: Selection::default(),
            deadline: None,
            visit: None,
            channels: None,
            title: None,
        }
    }

    #[test]
    fn selection_takes_past_due_open_non_prepayment_claims_per_debtor() {
        let mut prepaid = claim("c4", "p2", PartyKind::Person, "2026-11-01", "50.00");
        prepaid.prepayment = true;
        let mut settled = claim("c5", "p2", PartyKind::Person, "2026-11-01", "70.00");
        settled.is_open = false;
        let claims = vec![
            claim("c1", "p1", PartyKind::Person, "2026-11-01", "100.00"),
            claim("c2", "p1", PartyKind::Person, "2026-11-15", "200.00"),
            claim("c3", "p1", PartyKind::Person, "2026-12-07", "999.00"), // due today: not past due
            prepaid,
            settled,
            claim("c6", "f1", PartyKind::Company, "2026-10-01", "400.00"),
        ];
        let all = select(&spec(CampaignKind::Information), d("2026-12-07"), &claims);
        assert_eq!(
            all,
            vec![
                SelectedDebtor {
                    debtor_id: "f1".into(),
                    claim_ids: vec!["c6".into()],
                    arrears: m("400.00")
                },
                SelectedDebtor {
                    debtor_id: "p1".into(),
                    claim_ids: vec!["c1".into(), "c2".into()],
                    arrears: m("300.00")
                },
            ]
        );
        assert_eq!(
            preview(&all),
            Preview {
                debtors: 2,
                total: m("700.00")
            }
        );
        let companies = select(&spec(CampaignKind::CompanyNotice), d("2026-12-07"), &claims);
        assert_eq!(companies.len(), 1);
        assert_eq!(companies[0].debtor_id, "f1");
        let mut min = spec(CampaignKind::Information);
        min.selection.min_arrears = Some(m("350.00"));
        assert_eq!(select(&min, d("2026-12-07"), &claims).len(), 1);
        let mut office = spec(CampaignKind::Information);
        office.selection.office = Some("other".into());
        assert!(select(&office, d("2026-12-07"), &claims).is_empty());
    }

    #[test]
    fn requests_are_checked_per_kind() {
        let day = Some(d("2026-12-07"));
        assert_eq!(
            spec(CampaignKind::CompanyNotice).problems(day),
            vec!["deadline is required for a company_notice"]
        );
        let mut visit = spec(CampaignKind::SettlementVisit);
        assert_eq!(visit.problems(day).len(), 1);
        visit.visit = Some(Visit {
            dates: vec![d("2026-12-01")],
            place: "Bygdekontoret".into(),
            slots: None,
        });
        visit.selection.office = Some("sarfannguit".into());
        assert_eq!(
            visit.problems(day),
            vec!["visit.dates must be after the last business date 2026-12-07"]
        );
        assert!(spec(CampaignKind::DirectDebit).problems(day).is_empty());
    }

    #[test]
    fn outcome_counts_paid_before_agreed() {
        let sent = d("2026-12-07");
        let ids = vec!["c1".to_owned(), "c2".to_owned()];
        let all_settled = |_: &str| true;
        let one_settled = |c: &str| c == "c1";
        let plan = Agreement {
            from: d("2026-12-10"),
            claim_ids: Some(vec!["c2".into()]),
        };
        let old_plan = Agreement {
            from: d("2026-11-01"),
            claim_ids: None,
        };
        assert_eq!(
            response(sent, &ids, &all_settled, std::slice::from_ref(&plan)),
            Response::Paid
        );
        assert_eq!(
            response(sent, &ids, &one_settled, &[plan]),
            Response::Agreed
        );
        assert_eq!(
            response(sent, &ids, &one_settled, &[old_plan]),
            Response::NoResponse
        );
        assert_eq!(
            outcome([
                Response::Paid,
                Response::Agreed,
                Response::NoResponse,
                Response::Paid
            ]),
            Outcome {
                sent: 4,
                paid: 2,
                agreed: 1,
                no_response: 1
            }
        );
    }
}
