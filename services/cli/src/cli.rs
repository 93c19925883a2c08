//! The command line as clap sees it: every command, option and its `--help` text.

use clap::{Args, Parser, Subcommand};
use restance_kernel::{BusinessDate, Language};
use std::path::PathBuf;

/// restance — the operator's command line for Restance.
///
/// Reads the same configuration as the services: the file named by RESTANCE_CONFIG (default
/// config/restance.toml) and RESTANCE__SECTION__KEY environment variables, e.g.
/// RESTANCE__BUS__URL and RESTANCE__BUS__EXCHANGE.
#[derive(Debug, Parser)]
#[command(name = "restance", version, propagate_version = true)]
pub struct Cli {
    /// Configuration file (default: config/restance.toml in the current directory).
    #[arg(long, global = true, env = "RESTANCE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Publish CloudEvents from JSON lines (a file or stdin) to the bus, with confirms.
    ///
    /// One envelope per line; blank lines and lines starting with '#' are skipped. Every line is
    /// checked against the contract first and each invalid one is reported with its line number.
    /// Exits non-zero if any line was not published.
    Publish(PublishArgs),
    /// Write realistic sample messages as JSON lines to stdout (pipe them into `publish`).
    #[command(subcommand)]
    Sample(SampleCommand),
    /// The business day.
    #[command(subcommand)]
    Day(DayCommand),
    /// Inspect and replay dead letters (`<exchange>.<service>.dead`).
    #[command(subcommand)]
    Dead(DeadCommand),
    /// Show a debtor's claims from invoicing's API.
    Claims(ClaimsArgs),
    /// Retention of personal data: what each service would erase.
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// The harmonised letters (templates/): preview them as PDF.
    #[command(subcommand)]
    Letters(LettersCommand),
    /// Arrears reporting: load the history the first reports compare with.
    #[command(subcommand)]
    Reporting(ReportingCommand),
    /// Watch events on the exchange that no service here consumes (a test exchange's):
    /// `open` a tap before they are published, `read` it afterwards.
    #[command(subcommand)]
    Tap(TapCommand),
    /// Bank files in: camt.054 and OCR giro files become bank.payment.received.v1.
    #[command(subcommand)]
    Bank(BankCommand),
}

/// `restance bank …`.
#[derive(Debug, Subcommand)]
pub enum BankCommand {
    /// Publish the payments in bank files: ISO 20022 camt.054 (001.02 to 001.08, Danish and
    /// Norwegian banks) and Nets OCR giro (Norway).
    ///
    /// Every file is read and checked first; any problem (a file that is not what it claims,
    /// a bad amount or currency, a +71/KID/RF reference whose check digit fails, OCR totals that
    /// do not match) is listed with the file and line or element, and nothing is published.
    /// The account a file is for names the municipality (its sender.bank_account in the
    /// catalog). Each payment's id comes from the bank's own reference, so importing a file
    /// again, or two files that overlap, books nothing twice.
    Import(BankImportArgs),
    /// Write a generated bank file to stdout (for tests and measurements).
    #[command(hide = true)]
    Sample(BankSampleArgs),
}

/// `restance bank import`.
#[derive(Debug, Args)]
pub struct BankImportArgs {
    /// The bank files (camt.054 XML or OCR giro).
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Read, check and print the summary; publish nothing and do not connect.
    #[arg(long)]
    pub dry_run: bool,
    /// The municipality (its code) for a file whose account is not a configured
    /// sender.bank_account; a configured account must be this municipality's.
    #[arg(long, value_name = "CODE")]
    pub municipality: Option<String>,
    /// Payments per confirmed batch.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub batch: u32,
}

/// The kind of bank file `restance bank sample` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BankFileKind {
    /// ISO 20022 camt.054.
    Camt054,
    /// Nets OCR giro (a Norwegian municipality).
    Ocr,
}

/// `restance bank sample`.
#[derive(Debug, Args)]
pub struct BankSampleArgs {
    /// The file format.
    #[arg(long, value_enum, default_value_t = BankFileKind::Camt054)]
    pub format: BankFileKind,
    /// How many entries (camt) or payments (OCR).
    #[arg(long, default_value_t = 100)]
    pub entries: u64,
    /// The municipality whose account receives them; default: the first configured (camt),
    /// the first Norwegian one (OCR).
    #[arg(long, value_name = "CODE")]
    pub municipality: Option<String>,
    /// camt.054.001.NN: 2 to 8.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(2..=8))]
    pub camt_version: u32,
    /// The booking date; default: today.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date: Option<BusinessDate>,
    #[command(flatten)]
    pub seed: SeedArgs,
}

/// `restance tap …`.
#[derive(Debug, Subcommand)]
pub enum TapCommand {
    /// Declare the queue `<exchange>.tap.<NAME>` bound to the given message types (it expires
    /// after an hour unused, and keeps at most 10,000 messages).
    Open {
        /// The tap's name (a-z, 0-9, '-').
        name: String,
        /// A routing key (message type) to catch; in a pattern `*` is one dot-separated word,
        /// `#` any number (`counselling.case.#`).
        #[arg(long = "key", value_name = "TYPE", required = true)]
        keys: Vec<String>,
    },
    /// Take and print what the tap caught since (and remove it from the tap); fields with
    /// personal data are shown as "(personal data)".
    Read {
        /// The tap's name.
        name: String,
        /// At most this many events.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// One envelope per line as JSON (still redacted) instead of the readable form.
        #[arg(long)]
        json: bool,
    },
}

/// `restance publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// JSON lines to publish; `-` or nothing reads stdin.
    #[arg(value_name = "FILE|-")]
    pub file: Option<PathBuf>,
    /// Publish lines that fail the contract check too (they are still reported) — for testing
    /// how the services handle bad input.
    #[arg(long)]
    pub allow_invalid: bool,
    /// Only check the lines; publish nothing and do not connect.
    #[arg(long, conflicts_with = "allow_invalid")]
    pub check: bool,
    /// Route every line with this key instead of its `type` (lines whose type cannot be read
    /// need it under --allow-invalid).
    #[arg(long, value_name = "KEY")]
    pub routing_key: Option<String>,
    /// Messages per confirmed batch.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub batch: u32,
    /// When stderr is not a terminal: seconds between progress lines.
    #[arg(long, default_value_t = 5, value_name = "SECONDS")]
    pub progress_every: u64,
}

/// `restance sample …`.
#[derive(Debug, Subcommand)]
pub enum SampleCommand {
    /// `billing.invoice.issued.v1` envelopes across the configured municipalities, offices and
    /// categories, with realistic debtors (valid CPR/CVR/fødselsnummer/org.nr), reused across
    /// invoices with the same details every time.
    Invoices(SampleInvoicesArgs),
    /// `bank.payment.received.v1` for a fraction of the invoices in a file: most pay the exact
    /// amount with the payer's national id (matched by payer and amount), some pay a wrong
    /// amount (left unmatched).
    Payments(SamplePaymentsArgs),
    /// One line per class of bad input, each after a `# class (stage): …` comment line.
    ///
    /// Stages: `decode` (not a readable CloudEvent), `contract` (the message fails its
    /// contract), `config` (valid contract, but invoicing refuses it against the configuration).
    /// Publish them with `restance publish --allow-invalid --routing-key billing.invoice.issued.v1`.
    Bad(SampleBadArgs),
    /// Guarantee recovery's traffic (seed 004): family-reunification guarantees
    /// (`immigration.guarantee.registered.v1`), benefits paid to the spouses and others
    /// (`benefits.benefit.paid.v1`), and on the start date the changes that end some of them
    /// (`immigration.guarantee.changed.v1`: divorce, moving away, death) — in publishing order.
    Guarantees(SampleGuaranteesArgs),
    /// Debt counselling's traffic (seed 003): applications from the self-service web form
    /// (`selfservice.counselling.applied.v1`) for each Norwegian municipality — every other one
    /// with an income reported (the counsellor can reply at once), the others without (the
    /// counsellor calls first).
    Counselling(SampleCounsellingArgs),
}

/// `restance sample counselling`.
#[derive(Debug, Args)]
pub struct SampleCounsellingArgs {
    /// How many applications per Norwegian municipality.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub count: u32,
    #[command(flatten)]
    pub seed: SeedArgs,
    /// Only this municipality (its code, e.g. 4204); default: every Norwegian one configured.
    #[arg(long, value_name = "CODE")]
    pub municipality: Option<String>,
    /// The day the applications were submitted; default: today. restance-counselling refuses
    /// an application dated after today.
    #[arg(long, alias = "start", alias = "start-date", value_name = "YYYY-MM-DD")]
    pub applied_date: Option<BusinessDate>,
}

/// `restance sample guarantees`.
#[derive(Debug, Args)]
pub struct SampleGuaranteesArgs {
    /// How many guarantees per Danish municipality.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub count: u32,
    #[command(flatten)]
    pub seed: SeedArgs,
    /// Only this municipality (its code, e.g. 0746); default: every Danish one configured.
    #[arg(long, value_name = "CODE")]
    pub municipality: Option<String>,
    /// The day the changes arrive (benefits are paid before it); default: today.
    #[arg(long, alias = "start", value_name = "YYYY-MM-DD")]
    pub start_date: Option<BusinessDate>,
}

/// Options every sample command shares.
#[derive(Debug, Args)]
pub struct SeedArgs {
    /// Seed for the random generator: the same seed (and options) gives the same output, byte
    /// for byte. Without it a seed is chosen and printed to stderr.
    #[arg(long)]
    pub seed: Option<u64>,
}

/// `restance sample invoices`.
#[derive(Debug, Args)]
pub struct SampleInvoicesArgs {
    /// How many invoices.
    #[arg(long, default_value_t = 100)]
    pub count: u64,
    #[command(flatten)]
    pub seed: SeedArgs,
    /// Only this municipality (its code, e.g. 0746); default: all configured ones.
    #[arg(long, value_name = "CODE")]
    pub municipality: Option<String>,
    /// The first issue date; default: today (local time zone).
    #[arg(long, alias = "start", value_name = "YYYY-MM-DD")]
    pub start_date: Option<BusinessDate>,
    /// Issue dates spread over this many days from the start date (moved to business days).
    #[arg(long, default_value_t = 28, value_parser = clap::value_parser!(u32).range(1..=3660))]
    pub days: u32,
    /// Also write payments for this fraction (0–1) of the invoices, after all invoices.
    #[arg(long, value_name = "FRACTION", value_parser = parse_fraction)]
    pub with_payments: Option<f64>,
}

/// `restance sample payments`.
#[derive(Debug, Args)]
pub struct SamplePaymentsArgs {
    /// A file of invoice lines (as written by `sample invoices`); other lines are ignored.
    #[arg(long = "for", value_name = "FILE")]
    pub for_file: PathBuf,
    /// The fraction (0–1) of the invoices that get a payment.
    #[arg(long, default_value_t = 0.5, value_parser = parse_fraction)]
    pub fraction: f64,
    #[command(flatten)]
    pub seed: SeedArgs,
}

/// `restance sample bad`.
#[derive(Debug, Args)]
pub struct SampleBadArgs {
    #[command(flatten)]
    pub seed: SeedArgs,
    /// The municipality the otherwise valid invoices belong to; default: the first configured.
    #[arg(long, value_name = "CODE")]
    pub municipality: Option<String>,
    /// Issue date of the otherwise valid invoices; default: today (local time zone).
    #[arg(long, alias = "start", value_name = "YYYY-MM-DD")]
    pub start_date: Option<BusinessDate>,
}

/// `restance day …`.
#[derive(Debug, Subcommand)]
pub enum DayCommand {
    /// Publish `calendar.day.opened.v1`: every service runs its daily work for that date once.
    ///
    /// The event id is `day-<date>`, so opening the same day twice is a no-op downstream.
    ///
    /// A date that is not a business day in every configured municipality's calendar (a
    /// weekend, a public holiday) is refused unless `--force` is given; the command says first
    /// what it is about to do (date, exchange, broker).
    Open {
        /// The business date; default: today in the local time zone (TZ).
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: Option<BusinessDate>,
        /// Open the date even where it is not a business day.
        #[arg(long, conflicts_with = "if_business_day")]
        force: bool,
        /// On a day that is not a business day, say so and exit 0 without opening it (the
        /// Kubernetes CronJob runs with this every morning).
        #[arg(long)]
        if_business_day: bool,
    },
}

/// `restance dead …`.
#[derive(Debug, Subcommand)]
pub enum DeadCommand {
    /// List dead letters without disturbing them (read unacknowledged, then returned).
    List {
        /// Only this service's dead queue; default: every service.
        #[arg(long, value_name = "SERVICE")]
        service: Option<String>,
        /// At most this many messages per queue.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Show the whole reason instead of its first 100 characters.
        #[arg(long)]
        wide: bool,
    },
    /// Republish dead letters to the main exchange with their original routing key.
    ///
    /// Each dead letter is acknowledged (removed) only after its republish is confirmed; one
    /// without a readable original routing key stays where it is.
    Replay {
        /// The service whose dead queue to replay.
        #[arg(long, value_name = "SERVICE")]
        service: String,
        /// Only the message with this id (repeatable).
        #[arg(
            long = "id",
            value_name = "ID",
            required_unless_present = "all",
            conflicts_with = "all"
        )]
        ids: Vec<String>,
        /// Every message in the queue.
        #[arg(long)]
        all: bool,
    },
}

/// `restance claims`.
#[derive(Debug, Args)]
pub struct ClaimsArgs {
    /// The debtor id as the billing systems send it (e.g. P-77).
    pub debtor_id: String,
    /// Only claims of this municipality.
    #[arg(long, value_name = "CODE")]
    pub municipality: Option<String>,
    /// Invoicing's base URL.
    #[arg(
        long,
        env = "RESTANCE_INVOICING_URL",
        default_value = "http://127.0.0.1:8081"
    )]
    pub url: String,
    /// Bearer token for the API (needed when invoicing has api.tokens configured).
    #[arg(long, env = "RESTANCE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Print the API's JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `restance retention …`.
#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    /// Show what retention would erase on a business date, per service: debtors (or cases) past
    /// the configured period ([retention]), the records holding their personal data, the oldest
    /// and newest date their last claim ended, and how many were erased so far. Counts and
    /// dates only. Each service's GET /api/v1/retention/preview; needs a token with the admin
    /// role.
    Preview(RetentionPreviewArgs),
}

/// `restance retention preview`.
#[derive(Debug, Args)]
pub struct RetentionPreviewArgs {
    /// The business date to preview; default: each service's last business date.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date: Option<chrono::NaiveDate>,
    /// Invoicing's base URL.
    #[arg(
        long,
        env = "RESTANCE_INVOICING_URL",
        default_value = "http://127.0.0.1:8081"
    )]
    pub invoicing_url: String,
    /// Notifications' base URL.
    #[arg(
        long,
        env = "RESTANCE_NOTIFICATIONS_URL",
        default_value = "http://127.0.0.1:8085"
    )]
    pub notifications_url: String,
    /// Counselling's base URL (its closed cases).
    #[arg(
        long,
        env = "RESTANCE_COUNSELLING_URL",
        default_value = "http://127.0.0.1:8087"
    )]
    pub counselling_url: String,
    /// Guarantee's base URL (its ended guarantees).
    #[arg(
        long,
        env = "RESTANCE_GUARANTEE_URL",
        default_value = "http://127.0.0.1:8084"
    )]
    pub guarantee_url: String,
    /// Bearer token with the admin role.
    #[arg(long, env = "RESTANCE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Print the services' JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `restance reporting …`.
#[derive(Debug, Subcommand)]
pub enum ReportingCommand {
    /// Upload earlier month-end balances (CSV) to restance-reporting, so the first reports
    /// already have their 12-months-earlier column.
    ///
    /// Columns (`;`-separated, UTF-8, the header names them in any order):
    /// municipality;office;category;as_of;principal;fees;interest;claims;debtors — amounts with a
    /// decimal comma or point, as_of a month's last day. The service checks every row against
    /// the catalog: one bad row and nothing is imported (every bad row is listed with its line
    /// number). Importing a date again replaces it. Needs a token with the admin role.
    ImportHistory(ImportHistoryArgs),
}

/// `restance reporting import-history`.
#[derive(Debug, Args)]
pub struct ImportHistoryArgs {
    /// The CSV file.
    #[arg(value_name = "FILE.csv")]
    pub file: PathBuf,
    /// Reporting's base URL.
    #[arg(
        long,
        env = "RESTANCE_REPORTING_URL",
        default_value = "http://127.0.0.1:8086"
    )]
    pub url: String,
    /// Bearer token with the admin role.
    #[arg(long, env = "RESTANCE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

/// `restance letters …`.
#[derive(Debug, Subcommand)]
pub enum LettersCommand {
    /// Render a template's sample data (templates/samples/<id>.json) to a PDF, with a
    /// municipality's letterhead and payment reference when --municipality is given.
    ///
    /// Every template is checked first (the whole set must load); prints the pages and the path.
    Preview(LettersPreviewArgs),
}

/// `restance letters preview`.
#[derive(Debug, Args)]
pub struct LettersPreviewArgs {
    /// The template id, e.g. reminder_1, reminder_2, meeting_offer, payment_plan_confirmation.
    pub template: String,
    /// The language: da, kl, nb or en; default: the municipality's language, else da.
    #[arg(long, value_name = "da|kl|nb|en")]
    pub lang: Option<Language>,
    /// The municipality (its code, e.g. 0746) whose letterhead, currency and payment reference
    /// are used; default: the sample's own letterhead.
    #[arg(long, value_name = "CODE")]
    pub municipality: Option<String>,
    /// The office (its key, e.g. maniitsoq) named in the letterhead.
    #[arg(long, value_name = "KEY", requires = "municipality")]
    pub office: Option<String>,
    /// Print the letter as if the address were protected (no address, protected-route note).
    #[arg(long)]
    pub protected: bool,
    /// Where to write the PDF; default: <template>-<lang>.pdf in the current directory.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The templates folder; default: templates.dir of the configuration (RESTANCE__TEMPLATES__DIR).
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
}

/// A probability between 0 and 1.
fn parse_fraction(s: &str) -> Result<f64, String> {
    let value: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number like 0.3"))?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{s} is not between 0 and 1"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn replay_needs_an_id_or_all() {
        assert!(Cli::try_parse_from(["restance", "dead", "replay", "--service", "x"]).is_err());
        assert!(
            Cli::try_parse_from(["restance", "dead", "replay", "--service", "x", "--all"]).is_ok()
        );
        assert!(
            Cli::try_parse_from([
                "restance",
                "dead",
                "replay",
                "--service",
                "x",
                "--id",
                "a",
                "--id",
                "b"
            ])
            .is_ok()
        );
    }

    #[test]
    fn a_fraction_is_between_zero_and_one() {
        assert_eq!(parse_fraction("0.25"), Ok(0.25));
        assert!(parse_fraction("1.5").is_err());
        assert!(parse_fraction("x").is_err());
    }
}
