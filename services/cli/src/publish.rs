//! `restance publish`: JSON lines of CloudEvents onto the bus, checked first, with confirms.
//!
//! A reader thread reads and checks the lines ([`check_line`]: `decode_envelope` then
//! `validate_dynamic`, the same checks a consumer makes) while the async side publishes them in
//! batches through the shared [`ConfirmedPublisher`]. Every message is `mandatory`: a message no
//! queue is bound for comes back as an error instead of vanishing. The body goes out byte for
//! byte as it was read.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use restance_bus::{BusSettings, ConfirmedPublisher, OutgoingMessage};
use restance_contracts::{decode_envelope, validate_dynamic};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

use crate::broker;

/// The longest AMQP short string (message id, type, routing key).
const MAX_SHORT_STRING: usize = 255;

/// Where the lines come from.
#[derive(Debug, Clone)]
pub enum Input {
    /// Standard input.
    Stdin,
    /// A file.
    File(PathBuf),
}

/// How progress is shown on stderr.
#[derive(Debug, Clone, Copy)]
pub enum ProgressMode {
    /// An indicatif bar (stderr is a terminal).
    Bar,
    /// A line every so often (stderr is a log).
    Every(Duration),
    /// Nothing (tests).
    Off,
}

/// `restance publish` options.
#[derive(Debug, Clone)]
pub struct PublishOptions {
    /// Messages per confirmed batch.
    pub batch_size: usize,
    /// Publish lines that fail the check too.
    pub allow_invalid: bool,
    /// Check only: no connection, nothing published.
    pub check_only: bool,
    /// Route every line with this key instead of its type.
    pub routing_key: Option<String>,
    /// Progress on stderr.
    pub progress: ProgressMode,
}

/// What a publish run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishSummary {
    /// Message lines read (blank and `#` lines not counted).
    pub lines: u64,
    /// Lines that failed the check.
    pub invalid: u64,
    /// Messages the broker confirmed.
    pub published: u64,
    /// Wall-clock time from the first line to the last confirm.
    pub elapsed: Duration,
    /// Why publishing stopped before the end of the input, if it did.
    pub stopped: Option<String>,
    /// The first [`MAX_PROBLEMS`] problems, as `(line number, what)`: invalid lines and
    /// messages the broker refused.
    pub problems: Vec<(u64, String)>,
}

/// How many line problems a summary keeps (all are printed as they happen).
pub const MAX_PROBLEMS: usize = 1000;

impl PublishSummary {
    /// Lines read but not published (invalid ones included, unless published anyway).
    pub fn not_published(&self) -> u64 {
        self.lines.saturating_sub(self.published)
    }

    /// Published messages per second.
    pub fn rate(&self) -> u64 {
        per_second(self.published, self.elapsed)
    }

    /// Shows a problem with a line now and keeps it (up to [`MAX_PROBLEMS`]).
    fn problem(&mut self, progress: &Progress, line: u64, what: String) {
        progress.println(&format!("line {line}: {what}"));
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push((line, what));
        }
    }
}

/// One line after the check.
#[derive(Debug, Clone)]
pub enum Checked {
    /// A valid message, ready to publish.
    Valid(OutgoingMessage),
    /// It fails the check; `message` is what `--allow-invalid` would publish, or why it cannot.
    Invalid {
        /// The reason, as a consumer would write it in the dead-letter header.
        reason: String,
        /// The message to publish anyway, or why there is none.
        message: Result<OutgoingMessage, String>,
    },
}

/// Checks one line (without its newline) as a consumer would, and builds the message for it.
pub fn check_line(line: &[u8], routing_key: Option<&str>) -> Checked {
    match decode_envelope(line) {
        Ok(envelope) => {
            let message = outgoing(
                line,
                Some(&envelope.id),
                Some(&envelope.r#type),
                routing_key,
            );
            match (validate_dynamic(&envelope.r#type, &envelope.data), message) {
                (Ok(()), Ok(message)) => Checked::Valid(message),
                (Ok(()), Err(why)) => Checked::Invalid {
                    reason: why.clone(),
                    message: Err(why),
                },
                (Err(err), message) => Checked::Invalid {
                    reason: err.reason(),
                    message,
                },
            }
        }
        Err(err) => {
            // What can still be read, so that --allow-invalid can route and identify it.
            let value: Option<Value> = serde_json::from_slice(line).ok();
            let attribute = |name: &str| {
                value
                    .as_ref()
                    .and_then(|v| v.get(name))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            };
            Checked::Invalid {
                reason: err.reason(),
                message: outgoing(
                    line,
                    attribute("id").as_deref(),
                    attribute("type").as_deref(),
                    routing_key,
                ),
            }
        }
    }
}

fn outgoing(
    body: &[u8],
    id: Option<&str>,
    message_type: Option<&str>,
    routing_key: Option<&str>,
) -> Result<OutgoingMessage, String> {
    let short = |s: &&str| !s.is_empty() && s.len() <= MAX_SHORT_STRING;
    let message_type = message_type.filter(short);
    let key = routing_key
        .or(message_type)
        .ok_or_else(|| "it has no readable type to route by; pass --routing-key".to_owned())?;
    if !short(&key) {
        return Err(format!(
            "the routing key must be 1 to {MAX_SHORT_STRING} bytes"
        ));
    }
    // An unreadable line gets the id a consumer would give it: the hash of its bytes.
    let message_id = id.filter(short).map_or_else(
        || format!("sha256:{}", hex::encode(Sha256::digest(body))),
        str::to_owned,
    );
    Ok(OutgoingMessage {
        exchange: None,
        routing_key: key.to_owned(),
        message_id,
        message_type: message_type.unwrap_or(key).to_owned(),
        headers: BTreeMap::new(),
        body: body.to_vec(),
        // An operator's publish must reach a queue: unroutable is an error, not a silent drop.
        mandatory: true,
    })
}

/// A line read and checked by the reader thread.
struct Item {
    line: u64,
    /// Bytes of input consumed up to and including this line.
    offset: u64,
    checked: Checked,
}

/// Reads, checks and publishes every line of `input`; see the module docs.
pub async fn publish(
    input: Input,
    bus: &BusSettings,
    options: &PublishOptions,
) -> anyhow::Result<PublishSummary> {
    let (reader, total_bytes): (Box<dyn BufRead + Send>, Option<u64>) = match &input {
        Input::Stdin => (Box::new(BufReader::new(std::io::stdin())), None),
        Input::File(path) => {
            let file = File::open(path)
                .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
            let len = file.metadata().ok().map(|m| m.len());
            (Box::new(BufReader::with_capacity(1 << 16, file)), len)
        }
    };
    let publisher = if options.check_only {
        None
    } else {
        Some(broker::publisher(bus).await?)
    };

    let batch_size = options.batch_size.max(1);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Item>(batch_size * 2);
    let routing_key = options.routing_key.clone();
    let reading = std::thread::spawn(move || read_lines(reader, routing_key.as_deref(), &tx));

    let started = Instant::now();
    let mut progress = Progress::new(options.progress, options.check_only, total_bytes);
    let mut summary = PublishSummary::default();
    let mut batch: Vec<(u64, OutgoingMessage)> = Vec::with_capacity(batch_size);
    let mut offset = 0;
    while let Some(item) = rx.recv().await {
        summary.lines += 1;
        match item.checked {
            Checked::Valid(message) => batch.push((item.line, message)),
            Checked::Invalid { reason, message } => {
                summary.invalid += 1;
                summary.problem(&progress, item.line, reason);
                match message {
                    Ok(message) if options.allow_invalid => batch.push((item.line, message)),
                    Err(why) if options.allow_invalid => {
                        summary.problem(&progress, item.line, format!("not published: {why}"));
                    }
                    _ => {}
                }
            }
        }
        if (batch.len() >= batch_size || options.check_only)
            && let Err(stop) =
                flush(publisher.as_ref(), bus, &mut batch, &mut summary, &progress).await
        {
            summary.stopped = Some(format!("stopped after line {}: {stop}", item.line));
            break;
        }
        offset = item.offset;
        progress.update(&summary, offset, started.elapsed());
    }
    if summary.stopped.is_none()
        && let Err(stop) = flush(publisher.as_ref(), bus, &mut batch, &mut summary, &progress).await
    {
        summary.stopped = Some(stop);
    }
    drop(rx);
    progress.update(&summary, offset, started.elapsed());
    progress.finish();
    if let Some(publisher) = &publisher {
        publisher.close().await;
    }
    summary.elapsed = started.elapsed();
    if summary.stopped.is_some() {
        // The reader may be blocked on a slow stdin; it stops at its next line, or with us.
        return Ok(summary);
    }
    match reading.join() {
        Ok(Ok(())) => {}
        Ok(Err(err)) => {
            summary.stopped = Some(format!(
                "reading the input failed after {} lines: {err}",
                summary.lines
            ));
        }
        Err(_) => anyhow::bail!("the reader thread panicked"),
    }
    Ok(summary)
}

/// Publishes the batch (or, when only checking, drops it) and reports refused messages.
async fn flush(
    publisher: Option<&ConfirmedPublisher>,
    bus: &BusSettings,
    batch: &mut Vec<(u64, OutgoingMessage)>,
    summary: &mut PublishSummary,
    progress: &Progress,
) -> Result<(), String> {
    let Some(publisher) = publisher else {
        batch.clear();
        return Ok(());
    };
    if batch.is_empty() {
        return Ok(());
    }
    let messages: Vec<OutgoingMessage> = batch.iter().map(|(_, m)| m.clone()).collect();
    let outcome = broker::publish_confirmed(publisher, &messages)
        .await
        .map_err(|err| broker::explain(bus, &err))?;
    let mut confirmed = 0;
    let mut first_refusal = None;
    for ((line, _), refused) in batch.iter().zip(outcome) {
        match refused {
            None => confirmed += 1,
            Some(err) => {
                let why = broker::explain(bus, &err);
                summary.problem(progress, *line, format!("not published: {why}"));
                first_refusal.get_or_insert(why);
            }
        }
    }
    summary.published += confirmed;
    let whole_batch_refused = confirmed == 0 && batch.len() > 1;
    batch.clear();
    match first_refusal {
        // Every message refused: the rest of the input would most likely fare the same, one
        // slow round trip per message; stop and let the operator fix the cause.
        Some(why) if whole_batch_refused => {
            Err(format!("no message of the batch was accepted: {why}"))
        }
        _ => Ok(()),
    }
}

/// Reads lines, skips blank and `#` lines, checks the rest and hands them over in order.
fn read_lines(
    mut reader: Box<dyn BufRead + Send>,
    routing_key: Option<&str>,
    tx: &tokio::sync::mpsc::Sender<Item>,
) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(4096);
    let mut line = 0u64;
    let mut offset = 0u64;
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf)?;
        if n == 0 {
            return Ok(());
        }
        line += 1;
        offset += n as u64;
        let text = trim_newline(&buf);
        if is_skipped(text) {
            continue;
        }
        let item = Item {
            line,
            offset,
            checked: check_line(text, routing_key),
        };
        if tx.blocking_send(item).is_err() {
            // The publishing side stopped (and says why).
            return Ok(());
        }
    }
}

fn trim_newline(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Blank lines and `#` comments are not messages.
pub fn is_skipped(line: &[u8]) -> bool {
    match line.iter().position(|b| !b.is_ascii_whitespace()) {
        None => true,
        Some(first) => line[first] == b'#',
    }
}

fn per_second(count: u64, elapsed: Duration) -> u64 {
    let millis = elapsed.as_millis().max(1);
    u64::try_from(u128::from(count) * 1000 / millis).unwrap_or(u64::MAX)
}

/// Progress on stderr: a bar at a terminal, a line every so often in a log.
struct Progress {
    mode: ProgressMode,
    check_only: bool,
    bar: Option<ProgressBar>,
    last_line: Instant,
}

impl Progress {
    fn new(mode: ProgressMode, check_only: bool, total_bytes: Option<u64>) -> Self {
        let bar = match mode {
            ProgressMode::Bar => Some(match total_bytes {
                Some(total) => ProgressBar::new(total).with_style(
                    ProgressStyle::with_template(
                        "{spinner} [{elapsed_precise}] [{wide_bar}] {percent:>3}% {msg}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                ),
                None => ProgressBar::new_spinner().with_style(
                    ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                ),
            }),
            ProgressMode::Every(_) | ProgressMode::Off => None,
        };
        if let Some(bar) = &bar {
            bar.enable_steady_tick(Duration::from_millis(200));
        }
        Self {
            mode,
            check_only,
            bar,
            last_line: Instant::now(),
        }
    }

    fn update(&mut self, summary: &PublishSummary, offset: u64, elapsed: Duration) {
        let text = if self.check_only {
            format!(
                "{} checked, {} invalid, {}/s",
                summary.lines,
                summary.invalid,
                per_second(summary.lines, elapsed)
            )
        } else {
            format!(
                "{} published, {} invalid, {}/s",
                summary.published,
                summary.invalid,
                per_second(summary.published, elapsed)
            )
        };
        match self.mode {
            ProgressMode::Bar => {
                if let Some(bar) = &self.bar {
                    bar.set_position(offset);
                    bar.set_message(text);
                }
            }
            ProgressMode::Every(every) => {
                if self.last_line.elapsed() >= every {
                    self.last_line = Instant::now();
                    eprintln!("publish: {text}");
                }
            }
            ProgressMode::Off => {}
        }
    }

    /// A message about one line, above the bar.
    fn println(&self, message: &str) {
        match (&self.bar, self.mode) {
            (Some(bar), _) => bar.suspend(|| eprintln!("{message}")),
            (None, ProgressMode::Off) => {}
            (None, _) => eprintln!("{message}"),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_blank_lines_are_not_messages() {
        assert!(is_skipped(b""));
        assert!(is_skipped(b"   \t"));
        assert!(is_skipped(b"  # a comment"));
        assert!(!is_skipped(b"{\"id\":1}"));
        assert_eq!(trim_newline(b"abc\r\n"), b"abc");
    }

    #[test]
    fn an_unreadable_line_can_only_be_routed_with_a_routing_key() {
        match check_line(b"not json", None) {
            Checked::Invalid {
                reason,
                message: Err(why),
            } => {
                assert!(reason.starts_with("not JSON"), "{reason}");
                assert!(why.contains("--routing-key"), "{why}");
            }
            other => panic!("expected an unroutable invalid line, got {other:?}"),
        }
        match check_line(b"not json", Some("billing.invoice.issued.v1")) {
            Checked::Invalid { message: Ok(m), .. } => {
                assert_eq!(m.routing_key, "billing.invoice.issued.v1");
                assert!(m.message_id.starts_with("sha256:"));
                assert!(m.mandatory);
                assert_eq!(m.body, b"not json");
            }
            other => panic!("expected a routable invalid line, got {other:?}"),
        }
    }

    #[test]
    fn the_rate_never_divides_by_zero() {
        assert_eq!(per_second(500, Duration::from_millis(250)), 2000);
        assert_eq!(per_second(5, Duration::ZERO), 5000);
    }
}
