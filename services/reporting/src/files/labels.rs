//! The words on the report files — titles, sheet names, column headings, notes — in the
//! municipality's language (Danish, Greenlandic, Norwegian bokmål, English).
//!
//! One table per language so a translator reviews one block. The Greenlandic texts are a best
//! effort not yet reviewed by a native speaker; Greenlandic municipalities that prefer Danish
//! reports configure `language = "da"`.

use restance_kernel::Language;

use crate::domain::report::ReportKind;

/// Every fixed text of the report files in one language.
#[derive(Debug, Clone, Copy)]
pub struct Labels {
    /// Title of a monthly report.
    pub monthly_title: &'static str,
    /// Title of a quarterly report.
    pub quarterly_title: &'static str,
    /// Title of a follow-up report on an extra date (e.g. a budget follow-up).
    pub follow_up_title: &'static str,
    /// Sheet name of "measures taken".
    pub sheet_measures: &'static str,
    /// Column: measure taken.
    pub measure: &'static str,
    /// Column: the same period 12 months earlier.
    pub same_period_last_year: &'static str,
    /// A measure the system does not record yet (not the same as 0).
    pub not_recorded: &'static str,
    /// Outstanding prepayments (reported apart, not arrears).
    pub prepayments: &'static str,
    /// Note under the measures: what "not recorded" means.
    pub note_measures: &'static str,
    /// The members of a consolidated report.
    pub members: &'static str,
    /// Column: change (a count).
    pub change: &'static str,
    /// Heading of the campaign outcome section.
    pub campaigns: &'static str,
    /// Its columns: campaign, kind, sent date, debtors sent to, paid, agreed, no response.
    pub campaign_columns: [&'static str; 7],
    /// Title of an office's daily arrears list.
    pub list_title: &'static str,
    /// Sheet name of the list's rows.
    pub sheet_list: &'static str,
    /// Sheet name of the list's totals by category and age.
    pub sheet_list_totals: &'static str,
    /// Column: the claim's id.
    pub claim_id: &'static str,
    /// Column: the debtor's id.
    pub debtor_id: &'static str,
    /// Column: the due date.
    pub due_date: &'static str,
    /// "Municipality".
    pub municipality: &'static str,
    /// "Period".
    pub period: &'static str,
    /// "As of" (the period's last day).
    pub as_of: &'static str,
    /// "Compared with" (the same date 12 months earlier).
    pub compared_with: &'static str,
    /// "Currency".
    pub currency: &'static str,
    /// "Produced on" (the business day).
    pub generated_on: &'static str,
    /// "Report id".
    pub report_id: &'static str,
    /// Sheet (and section) name of the category table.
    pub sheet_arrears: &'static str,
    /// Sheet name of the state table.
    pub sheet_states: &'static str,
    /// Sheet name of the office table.
    pub sheet_offices: &'static str,
    /// Sheet name of the age table.
    pub sheet_ages: &'static str,
    /// Sheet name of the period's flows.
    pub sheet_period: &'static str,
    /// Sheet name of the month-end history.
    pub sheet_history: &'static str,
    /// Sheet name of the generated summary.
    pub sheet_summary: &'static str,
    /// Column: category.
    pub category: &'static str,
    /// Column: state.
    pub state: &'static str,
    /// Column: office.
    pub office: &'static str,
    /// Column: days overdue.
    pub age: &'static str,
    /// Column prefix: total arrears (followed by the date).
    pub total_arrears: &'static str,
    /// Column: principal.
    pub principal: &'static str,
    /// Column: fees.
    pub fees: &'static str,
    /// Column: interest.
    pub interest: &'static str,
    /// Column: number of claims.
    pub claims: &'static str,
    /// Column: number of debtors.
    pub debtors: &'static str,
    /// Column: change in kroner.
    pub change_amount: &'static str,
    /// Column: change in per cent.
    pub change_percent: &'static str,
    /// Column: share of the total.
    pub share: &'static str,
    /// The total row.
    pub total: &'static str,
    /// Column: number (of claims, of payments).
    pub count: &'static str,
    /// Column: amount.
    pub amount: &'static str,
    /// Flow: claims transferred to state collection.
    pub transfers: &'static str,
    /// Flow: claims written off.
    pub write_offs: &'static str,
    /// Flow: claims that fell into arrears.
    pub new_arrears: &'static str,
    /// Flow: payments applied.
    pub payments: &'static str,
    /// Flow: payments made by direct debit.
    pub payments_by_direct_debit: &'static str,
    /// The arrears now on direct debit.
    pub direct_debit: &'static str,
    /// The direct-debit share of the arrears.
    pub direct_debit_share: &'static str,
    /// Column: month-end.
    pub month_end: &'static str,
    /// Title of the history chart.
    pub history_chart: &'static str,
    /// Title of the category chart.
    pub category_chart: &'static str,
    /// Note under the tables: a debtor with arrears in several rows counts once in the total.
    pub note_debtors: &'static str,
    /// Note under the tables: a blank comparison means no figures for that date.
    pub note_blank: &'static str,
}

impl Labels {
    /// The labels in `language`.
    pub const fn of(language: Language) -> &'static Labels {
        match language {
            Language::Da => &DA,
            Language::Kl => &KL,
            Language::Nb => &NB,
            Language::En => &EN,
        }
    }

    /// The title of a report of this kind.
    pub const fn title(&self, kind: ReportKind) -> &'static str {
        match kind {
            ReportKind::Monthly => self.monthly_title,
            ReportKind::Quarterly => self.quarterly_title,
            ReportKind::FollowUp => self.follow_up_title,
        }
    }
}

const DA: Labels = Labels {
    monthly_title: "Månedsrapport: restancer pr. kategori",
    quarterly_title: "Kvartalsrapport: restancer pr. kategori",
    follow_up_title: "Opfølgning: restancer pr. kategori",
    sheet_measures: "Tiltag",
    measure: "Tiltag",
    same_period_last_year: "Samme periode året før",
    not_recorded: "ikke registreret",
    prepayments: "Udestående forudbetalinger (ikke restancer)",
    note_measures: "Ikke registreret: tiltaget registreres endnu ikke i systemet; det er ikke det samme som 0.",
    members: "Kommuner",
    change: "Ændring",
    campaigns: "Kampagnernes resultat (betalt, aftale, intet svar)",
    campaign_columns: [
        "Kampagne",
        "Art",
        "Sendt",
        "Skyldnere",
        "Betalt",
        "Aftale",
        "Intet svar",
    ],
    list_title: "Restanceliste",
    sheet_list: "Restanceliste",
    sheet_list_totals: "Kategori og alder",
    claim_id: "Krav-id",
    debtor_id: "Skyldner-id",
    due_date: "Forfaldsdato",
    municipality: "Kommune",
    period: "Periode",
    as_of: "Opgjort pr.",
    compared_with: "Sammenlignet med",
    currency: "Valuta",
    generated_on: "Dannet",
    report_id: "Rapport-id",
    sheet_arrears: "Restancer",
    sheet_states: "Status",
    sheet_offices: "Kontorer",
    sheet_ages: "Alder",
    sheet_period: "Perioden",
    sheet_history: "Udvikling",
    sheet_summary: "Resumé",
    category: "Kategori",
    state: "Status",
    office: "Kontor",
    age: "Dage over forfald",
    total_arrears: "Restancer",
    principal: "Hovedstol",
    fees: "Gebyrer",
    interest: "Renter",
    claims: "Krav",
    debtors: "Skyldnere",
    change_amount: "Ændring kr.",
    change_percent: "Ændring %",
    share: "Andel",
    total: "I alt",
    count: "Antal",
    amount: "Beløb",
    transfers: "Overdraget til inddrivelse",
    write_offs: "Afskrevet",
    new_arrears: "Nye restancer",
    payments: "Indbetalinger",
    payments_by_direct_debit: "Heraf via Betalingsservice",
    direct_debit: "Restancer tilmeldt Betalingsservice",
    direct_debit_share: "Andel tilmeldt Betalingsservice",
    month_end: "Månedsultimo",
    history_chart: "Restancer i alt ved månedsultimo",
    category_chart: "Restancer pr. kategori",
    note_debtors: "Skyldnere i alt tæller hver skyldner én gang, også med restancer i flere rækker.",
    note_blank: "Tom sammenligning: ingen tal for datoen.",
};

const KL: Labels = Labels {
    monthly_title: "Qaammammut nalunaarusiaq: akiitsut immikkoortunut",
    quarterly_title: "Qaammatinut pingasunut nalunaarusiaq: akiitsut immikkoortunut",
    follow_up_title: "Malinnaaneq: akiitsut immikkoortunut",
    sheet_measures: "Iliuusissat",
    measure: "Iliuuseq",
    same_period_last_year: "Siorna piffissami assingani",
    not_recorded: "nalunaarsorneqanngilaq",
    prepayments: "Siumoortumik akiliutissat akilerneqanngitsut (akiitsuunngitsut)",
    note_measures: "Nalunaarsorneqanngilaq: iliuuseq suli systemimi nalunaarsorneqanngilaq; 0-mut assigiinngilaq.",
    members: "Kommunit",
    change: "Allanngorneq",
    campaigns: "Kampagnit inernerat (akilerneqarpoq, isumaqatigiissut, akissuteqanngilaq)",
    campaign_columns: [
        "Kampagne",
        "Suussusia",
        "Nassiunneqarpoq",
        "Akiitsullit",
        "Akilerneqarpoq",
        "Isumaqatigiissut",
        "Akissuteqanngilaq",
    ],
    list_title: "Akiitsunik allattorsimaffik",
    sheet_list: "Akiitsut",
    sheet_list_totals: "Immikkoortut ukiuilu",
    claim_id: "Akiligassap normua",
    debtor_id: "Akiliisussap normua",
    due_date: "Akiligassap ulloa",
    municipality: "Kommuni",
    period: "Piffissaq",
    as_of: "Ulloq",
    compared_with: "Sanilliussaq",
    currency: "Aningaasaq",
    generated_on: "Suliarineqarpoq",
    report_id: "Nalunaarusiap normua",
    sheet_arrears: "Akiitsut",
    sheet_states: "Inissisimaneq",
    sheet_offices: "Allaffiit",
    sheet_ages: "Kinguaattoorneq",
    sheet_period: "Piffissaq",
    sheet_history: "Ineriartorneq",
    sheet_summary: "Eqikkaaneq",
    category: "Immikkoortoq",
    state: "Inissisimaneq",
    office: "Allaffik",
    age: "Ulluni kinguaattoorneq",
    total_arrears: "Akiitsut",
    principal: "Akiligassaq",
    fees: "Akitsuutit",
    interest: "Erniat",
    claims: "Akiligassat",
    debtors: "Akiliisussat",
    change_amount: "Allanngorneq kr.",
    change_percent: "Allanngorneq %",
    share: "Agguaqatigiissinneq",
    total: "Katillugit",
    count: "Amerlassusaat",
    amount: "Aningaasat",
    transfers: "Akiligassanik katersuisartunut ingerlateqqitat",
    write_offs: "Peerneqartut",
    new_arrears: "Akiitsut nutaat",
    payments: "Akiliutit",
    payments_by_direct_debit: "Taakkunannga Betalingsservice aqqutigalugu",
    direct_debit: "Akiitsut Betalingsservice-mut nalunaarsorsimasut",
    direct_debit_share: "Betalingsservice-mut nalunaarsorsimasut agguaqatigiissinneq",
    month_end: "Qaammatip naanera",
    history_chart: "Akiitsut katillugit qaammatip naanerani",
    category_chart: "Akiitsut immikkoortunut",
    note_debtors: "Akiliisussat katillugit ataasiarlutik kisinneqarput.",
    note_blank: "Sanilliussassaqanngilaq: ullormut kisitsisaqanngilaq.",
};

const NB: Labels = Labels {
    monthly_title: "Månedsrapport: restanser per kategori",
    quarterly_title: "Kvartalsrapport: restanser per kategori",
    follow_up_title: "Oppfølging: restanser per kategori",
    sheet_measures: "Tiltak",
    measure: "Tiltak",
    same_period_last_year: "Samme periode året før",
    not_recorded: "ikke registrert",
    prepayments: "Utestående forskuddsbetalinger (ikke restanser)",
    note_measures: "Ikke registrert: tiltaket registreres ennå ikke i systemet; det er ikke det samme som 0.",
    members: "Kommuner",
    change: "Endring",
    campaigns: "Kampanjenes resultat (betalt, avtale, ikke svar)",
    campaign_columns: [
        "Kampanje",
        "Art",
        "Sendt",
        "Skyldnere",
        "Betalt",
        "Avtale",
        "Ikke svar",
    ],
    list_title: "Restanseliste",
    sheet_list: "Restanseliste",
    sheet_list_totals: "Kategori og alder",
    claim_id: "Krav-id",
    debtor_id: "Skyldner-id",
    due_date: "Forfallsdato",
    municipality: "Kommune",
    period: "Periode",
    as_of: "Per",
    compared_with: "Sammenlignet med",
    currency: "Valuta",
    generated_on: "Laget",
    report_id: "Rapport-id",
    sheet_arrears: "Restanser",
    sheet_states: "Status",
    sheet_offices: "Kontorer",
    sheet_ages: "Alder",
    sheet_period: "Perioden",
    sheet_history: "Utvikling",
    sheet_summary: "Sammendrag",
    category: "Kategori",
    state: "Status",
    office: "Kontor",
    age: "Dager etter forfall",
    total_arrears: "Restanser",
    principal: "Hovedstol",
    fees: "Gebyrer",
    interest: "Renter",
    claims: "Krav",
    debtors: "Skyldnere",
    change_amount: "Endring kr",
    change_percent: "Endring %",
    share: "Andel",
    total: "Sum",
    count: "Antall",
    amount: "Beløp",
    transfers: "Overført til statlig innkreving",
    write_offs: "Avskrevet",
    new_arrears: "Nye restanser",
    payments: "Innbetalinger",
    payments_by_direct_debit: "Herav med AvtaleGiro",
    direct_debit: "Restanser med AvtaleGiro",
    direct_debit_share: "Andel med AvtaleGiro",
    month_end: "Månedsslutt",
    history_chart: "Samlede restanser ved månedsslutt",
    category_chart: "Restanser per kategori",
    note_debtors: "Skyldnere i sum teller hver skyldner én gang, også med restanser i flere rader.",
    note_blank: "Tom sammenligning: ingen tall for datoen.",
};

const EN: Labels = Labels {
    monthly_title: "Monthly report: arrears by category",
    quarterly_title: "Quarterly report: arrears by category",
    follow_up_title: "Follow-up report: arrears by category",
    sheet_measures: "Measures",
    measure: "Measure taken",
    same_period_last_year: "Same period a year earlier",
    not_recorded: "not recorded",
    prepayments: "Outstanding prepayments (not arrears)",
    note_measures: "Not recorded: the system does not record this measure yet; it is not the same as 0.",
    members: "Municipalities",
    change: "Change",
    campaigns: "Campaign outcome (paid, agreed, no response)",
    campaign_columns: [
        "Campaign",
        "Kind",
        "Sent",
        "Debtors",
        "Paid",
        "Agreed",
        "No response",
    ],
    list_title: "Arrears list",
    sheet_list: "Arrears list",
    sheet_list_totals: "Category and age",
    claim_id: "Claim id",
    debtor_id: "Debtor id",
    due_date: "Due date",
    municipality: "Municipality",
    period: "Period",
    as_of: "As of",
    compared_with: "Compared with",
    currency: "Currency",
    generated_on: "Produced on",
    report_id: "Report id",
    sheet_arrears: "Arrears",
    sheet_states: "States",
    sheet_offices: "Offices",
    sheet_ages: "Age",
    sheet_period: "Period",
    sheet_history: "History",
    sheet_summary: "Summary",
    category: "Category",
    state: "State",
    office: "Office",
    age: "Days overdue",
    total_arrears: "Arrears",
    principal: "Principal",
    fees: "Fees",
    interest: "Interest",
    claims: "Claims",
    debtors: "Debtors",
    change_amount: "Change",
    change_percent: "Change %",
    share: "Share",
    total: "Total",
    count: "Number",
    amount: "Amount",
    transfers: "Transferred to state collection",
    write_offs: "Written off",
    new_arrears: "New arrears",
    payments: "Payments",
    payments_by_direct_debit: "Of which by direct debit",
    direct_debit: "Arrears on direct debit",
    direct_debit_share: "Share on direct debit",
    month_end: "Month-end",
    history_chart: "Total arrears at month-end",
    category_chart: "Arrears by category",
    note_debtors: "Total debtors counts each debtor once, even with arrears in several rows.",
    note_blank: "Blank comparison: no figures for that date.",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sheet_name_is_a_valid_excel_sheet_name_in_every_language() {
        for language in [Language::Da, Language::Kl, Language::Nb, Language::En] {
            let l = Labels::of(language);
            let names = [
                l.sheet_arrears,
                l.sheet_states,
                l.sheet_offices,
                l.sheet_ages,
                l.sheet_period,
                l.sheet_history,
                l.sheet_summary,
                l.sheet_measures,
            ];
            for name in names {
                assert!(name.chars().count() <= 31, "{name} is too long");
                assert!(
                    !name.contains(['[', ']', ':', '*', '?', '/', '\\']),
                    "{name}"
                );
            }
            let mut unique = names.to_vec();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), names.len(), "{language}: sheet names repeat");
        }
    }
}
