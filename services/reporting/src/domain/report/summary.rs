//! The generated summary: a few sentences on the largest movements, in the report's language.

use super::SUMMARY_MOVEMENTS;
use super::figures::{CategoryRow, Change};
use super::format::Fmt;
use super::model::Report;
use restance_kernel::Language;

impl Report {
    /// A few sentences on the largest movements, in the report's language: the total and its
    /// change, the [`SUMMARY_MOVEMENTS`] largest increases and decreases by category (in kroner;
    /// ties keep catalog order), categories without history, and the period's transfers and
    /// write-offs. Deterministic: the same report always gives the same text.
    pub fn summary(&self) -> Vec<String> {
        let t = Texts::of(self.language);
        let fmt = Fmt {
            language: self.language,
            currency: self.currency,
        };
        let mut lines = Vec::new();

        let now = self.total_now();
        let total_then = self.total_then();
        match &total_then {
            Some(then) => {
                let change = Change::between(now.total, then.total);
                let change_text = if change.amount.is_zero() {
                    t.unchanged.to_owned()
                } else {
                    let direction = if change.amount.is_positive() {
                        t.increase
                    } else {
                        t.decrease
                    };
                    let mut text = format!("{direction} {}", fmt.money(change.amount.abs()));
                    if let Some(p) = change.percent {
                        text.push_str(&format!(" ({})", fmt.percent(p.abs())));
                    }
                    text
                };
                lines.push(
                    t.total_compared
                        .replace("{as_of}", &fmt.date(self.as_of))
                        .replace("{now}", &fmt.money(now.total))
                        .replace("{compare}", &fmt.date(self.compare_as_of))
                        .replace("{then}", &fmt.money(then.total))
                        .replace("{change}", &change_text),
                );
            }
            None => lines.push(
                t.total_alone
                    .replace("{as_of}", &fmt.date(self.as_of))
                    .replace("{now}", &fmt.money(now.total))
                    .replace("{compare}", &fmt.date(self.compare_as_of)),
            ),
        }

        let changes: Vec<(&CategoryRow, Change)> = self
            .categories
            .iter()
            .filter_map(|row| row.change().map(|c| (row, c)))
            .collect();
        let mut increases: Vec<&(&CategoryRow, Change)> = changes
            .iter()
            .filter(|(_, c)| c.amount.is_positive())
            .collect();
        increases.sort_by_key(|(_, change)| std::cmp::Reverse(change.amount));
        let mut decreases: Vec<&(&CategoryRow, Change)> = changes
            .iter()
            .filter(|(_, c)| c.amount.is_negative())
            .collect();
        decreases.sort_by_key(|(_, change)| change.amount);
        for (heading, list) in [
            (t.largest_increases, increases),
            (t.largest_decreases, decreases),
        ] {
            if list.is_empty() {
                continue;
            }
            let items: Vec<String> = list
                .iter()
                .take(SUMMARY_MOVEMENTS)
                .map(|(row, change)| format!("{} {}", row.name, fmt.signed_change(change)))
                .collect();
            lines.push(format!("{heading}: {}.", items.join("; ")));
        }

        let without: Vec<&str> = self
            .categories
            .iter()
            .filter(|row| row.then.is_none() && total_then.is_some())
            .map(|row| row.name.as_str())
            .collect();
        if !without.is_empty() {
            lines.push(format!("{}: {}.", t.without_history, without.join(", ")));
        }

        lines.push(
            t.flows
                .replace("{start}", &fmt.date(self.period_start))
                .replace("{end}", &fmt.date(self.as_of))
                .replace("{transfers}", &fmt.claims(self.flows.transfers.count, &t))
                .replace(
                    "{transfers_amount}",
                    &fmt.money(self.flows.transfers.amount),
                )
                .replace("{write_offs}", &fmt.claims(self.flows.write_offs.count, &t))
                .replace(
                    "{write_offs_amount}",
                    &fmt.money(self.flows.write_offs.amount),
                ),
        );
        // Danish amounts end in "kr.", which already ends the sentence.
        lines
            .into_iter()
            .map(|line| line.replace("kr..", "kr."))
            .collect()
    }
}

impl Fmt {
    fn claims(&self, n: u64, t: &Texts) -> String {
        if n == 1 {
            format!("1 {}", t.claim)
        } else {
            format!("{n} {}", t.claims)
        }
    }
}

/// The summary's sentences in one language. `{…}` are filled in by [`Report::summary`].
struct Texts {
    total_compared: &'static str,
    total_alone: &'static str,
    /// Followed by the change's absolute amount and percentage.
    increase: &'static str,
    decrease: &'static str,
    unchanged: &'static str,
    largest_increases: &'static str,
    largest_decreases: &'static str,
    without_history: &'static str,
    flows: &'static str,
    claim: &'static str,
    claims: &'static str,
}

impl Texts {
    fn of(language: Language) -> Texts {
        match language {
            Language::Da => Texts {
                total_compared: "Restancerne i alt var {now} pr. {as_of} mod {then} pr. {compare}: {change}.",
                total_alone: "Restancerne i alt var {now} pr. {as_of}. Der er ingen sammenligningstal pr. {compare}.",
                increase: "en stigning på",
                decrease: "et fald på",
                unchanged: "uændret",
                largest_increases: "Største stigninger",
                largest_decreases: "Største fald",
                without_history: "Uden sammenligningstal",
                flows: "Overdraget til inddrivelse i perioden {start}–{end}: {transfers}, {transfers_amount}. Afskrevet: {write_offs}, {write_offs_amount}.",
                claim: "krav",
                claims: "krav",
            },
            // Greenlandic: best effort, reviewed by no native speaker yet; numbers as in Danish.
            Language::Kl => Texts {
                total_compared: "Akiitsut katillugit {as_of}: {now} ({compare}: {then}); {change}.",
                total_alone: "Akiitsut katillugit {as_of}: {now}. {compare}: sanilliussassaqanngilaq.",
                increase: "qaffariaat",
                decrease: "appariaat",
                unchanged: "allanngorsimanngilaq",
                largest_increases: "Qaffariarnerit annerpaat",
                largest_decreases: "Appariarnerit annerpaat",
                without_history: "Sanilliussassaqanngitsut",
                flows: "Piffissami {start}–{end} akiligassanik katersuisartunut ingerlateqqitat: {transfers}, {transfers_amount}. Peerneqartut: {write_offs}, {write_offs_amount}.",
                claim: "akiligassaq",
                claims: "akiligassat",
            },
            Language::Nb => Texts {
                total_compared: "Samlede restanser var {now} per {as_of} mot {then} per {compare}: {change}.",
                total_alone: "Samlede restanser var {now} per {as_of}. Det finnes ingen sammenligningstall per {compare}.",
                increase: "en økning på",
                decrease: "en nedgang på",
                unchanged: "uendret",
                largest_increases: "Største økninger",
                largest_decreases: "Største nedganger",
                without_history: "Uten sammenligningstall",
                flows: "Overført til statlig innkreving i perioden {start}–{end}: {transfers}, {transfers_amount}. Avskrevet: {write_offs}, {write_offs_amount}.",
                claim: "krav",
                claims: "krav",
            },
            Language::En => Texts {
                total_compared: "Total arrears were {now} at {as_of} against {then} at {compare}: {change}.",
                total_alone: "Total arrears were {now} at {as_of}. There are no comparative figures for {compare}.",
                increase: "an increase of",
                decrease: "a decrease of",
                unchanged: "unchanged",
                largest_increases: "Largest increases",
                largest_decreases: "Largest decreases",
                without_history: "Without comparative figures",
                flows: "Transferred to state collection in the period {start} to {end}: {transfers}, {transfers_amount}. Written off: {write_offs}, {write_offs_amount}.",
                claim: "claim",
                claims: "claims",
            },
        }
    }
}
