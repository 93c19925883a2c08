//! The harmonised letters: one set of templates per language (da, kl, nb, en) used by every
//! office, rendered to A4 PDF with typst, plus the SMS and e-mail text parts.
//!
//! Where things are:
//! - `templates/manifest.toml` declares each template's parts and data fields ([`manifest`]);
//! - `templates/common/letter.typ` is the shared layout (letterhead, address window, claims table,
//!   amount due, FIK/KID payment block, page numbers, legal basis); `templates/<lang>/<id>.typ`
//!   holds the words; `templates/<lang>/<id>.sms.txt` etc. the text parts ([`text`]);
//! - amounts and dates are written out per language in [`format`] before any template sees them;
//! - [`Renderer`] loads and checks everything once and renders letters from any thread.
//!
//! Nothing here reads the clock: the letter date is typst's "today" and the PDF's date.

#![warn(missing_docs)]

pub mod format;
pub mod input;
pub mod manifest;
pub mod text;
mod world;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use restance_kernel::Language;
use serde_json::{Value, json};

pub use input::{LetterInput, Letterhead, RecipientBlock};
pub use manifest::{Part, TemplateSpec};
pub use world::EVICT_EVERY;

/// The allocator for a process that renders letters: set it with `#[global_allocator]` in the
/// binary (`restance-notifications`, `bench-letters`). Typst allocates and frees heavily from
/// every rendering thread; with glibc's allocator ~13 % of the rendering CPU went to
/// `malloc`/`free` and two threads reached 1.6× one thread. With mimalloc the rate on two
/// cores rose ~10 % at the same peak RSS (docs/performance.md, "Letters").
pub use mimalloc::MiMalloc as Allocator;

use format::Medium;
use text::Escape;
use world::Typesetter;

/// The template ids the other services rely on; the manifest must declare each of them.
pub const TEMPLATE_IDS: [&str; 37] = [
    "pre_due_notice",
    "reminder_1",
    "reminder_2",
    "meeting_offer",
    "meeting_reminder",
    "meeting_confirmation",
    "payment_plan_confirmation",
    "plan_instalment_reminder",
    "deferral_confirmation",
    "assignment_confirmation",
    "transferred_to_collection",
    "company_final_notice",
    "supply_suspension_notice",
    "distraint_notice",
    "write_off_notice",
    "campaign_notice",
    "campaign_office_list",
    "report_ready",
    "guarantee_bank_hold",
    "guarantee_bank_release",
    "guarantee_case_settled",
    "guarantee_notice",
    "guarantee_guidance",
    "guarantee_statement",
    "guarantee_expiry_alert",
    "counselling_reply",
    "counselling_guidance",
    "counselling_meeting_invitation",
    "counselling_missing_documentation",
    "counselling_meeting_confirmation",
    "counselling_meeting_reminder",
    "counselling_contact_request",
    "counselling_closure_warning",
    "counselling_debt_request",
    "counselling_debt_feedback",
    "counselling_creditor_closing",
    "counselling_case_closed",
];

/// Every language the template set must be complete in.
pub const LANGUAGES: [Language; 4] = [Language::Da, Language::Kl, Language::Nb, Language::En];

/// A text part of a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextPart {
    /// The SMS text.
    Sms,
    /// The e-mail's subject line.
    EmailSubject,
    /// The e-mail's plain-text body.
    EmailText,
    /// The e-mail's HTML body.
    EmailHtml,
}

impl TextPart {
    /// The manifest part it is.
    pub const fn part(self) -> Part {
        match self {
            TextPart::Sms => Part::Sms,
            TextPart::EmailSubject => Part::EmailSubject,
            TextPart::EmailText => Part::EmailText,
            TextPart::EmailHtml => Part::EmailHtml,
        }
    }

    const ALL: [TextPart; 4] = [
        TextPart::Sms,
        TextPart::EmailSubject,
        TextPart::EmailText,
        TextPart::EmailHtml,
    ];
}

/// A rendered letter.
#[derive(Clone)]
pub struct RenderedPdf {
    /// The PDF file (A4, fonts embedded).
    pub bytes: Vec<u8>,
    /// Its number of pages.
    pub pages: u32,
}

impl fmt::Debug for RenderedPdf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "RenderedPdf {{ {} bytes, {} page(s) }}",
            self.bytes.len(),
            self.pages
        )
    }
}

/// Why templates could not be loaded or a letter not rendered. No message contains personal data.
#[derive(Debug, thiserror::Error)]
pub enum LetterError {
    /// The template folder is incomplete or a template does not render its sample data.
    #[error(
        "the templates in {dir} cannot be used ({} problem(s)); fix them and start again:\n  {}",
        problems.len(),
        problems.join("\n  ")
    )]
    Load {
        /// The template folder.
        dir: PathBuf,
        /// Every problem found, one per line.
        problems: Vec<String>,
    },
    /// No template with this id.
    #[error("unknown template {template:?}; the templates are: {known}")]
    UnknownTemplate {
        /// The id asked for.
        template: String,
        /// The ids that exist, comma-separated.
        known: String,
    },
    /// The template has no letter (e.g. `report_ready` is e-mail only).
    #[error("template {template} has no letter (its parts: {parts}); send it by e-mail or SMS")]
    NoLetter {
        /// The template id.
        template: String,
        /// Its parts.
        parts: String,
    },
    /// The data lacks required fields or has ill-typed ones.
    #[error(
        "the data for template {template} is not usable: {}; see templates/manifest.toml for its fields",
        problems.join("; ")
    )]
    InvalidData {
        /// The template id.
        template: String,
        /// One `data.<path>: …` line per problem.
        problems: Vec<String>,
    },
    /// Typst could not compile or export the letter.
    #[error("template {template} ({language}) did not render: {message}")]
    Typst {
        /// The template id.
        template: String,
        /// The language.
        language: Language,
        /// Typst's errors with file and line.
        message: String,
    },
    /// A text part could not be filled in.
    #[error("template {template} ({language}) {part:?}: {message}")]
    Text {
        /// The template id.
        template: String,
        /// The language.
        language: Language,
        /// Which part.
        part: TextPart,
        /// What is wrong.
        message: String,
    },
}

/// The loaded, checked template set: fonts, parsed templates, text parts and sample data.
/// `Send + Sync`; share one in an `Arc` and render from any thread.
pub struct Renderer {
    dir: PathBuf,
    specs: BTreeMap<String, TemplateSpec>,
    texts: HashMap<(String, Language, TextPart), String>,
    samples: HashMap<(String, Language), LetterInput>,
    typesetter: Typesetter,
}

impl fmt::Debug for Renderer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Renderer")
            .field("dir", &self.dir)
            .field("templates", &self.specs.keys().collect::<Vec<_>>())
            .field("typesetter", &self.typesetter)
            .finish()
    }
}

impl Renderer {
    /// Loads every template of every language from `dir` (`RESTANCE__TEMPLATES__DIR`, default
    /// `templates`), checks that the set is complete (every template in da, kl, nb and en) and
    /// that each renders its sample data; every problem is listed in the error.
    pub fn load(dir: &Path) -> Result<Renderer, LetterError> {
        let fail = |problems: Vec<String>| LetterError::Load {
            dir: dir.to_path_buf(),
            problems,
        };
        let manifest_path = dir.join("manifest.toml");
        let manifest_text = std::fs::read_to_string(&manifest_path).map_err(|e| {
            fail(vec![format!(
                "{}: {e} (is RESTANCE__TEMPLATES__DIR the templates folder?)",
                manifest_path.display()
            )])
        })?;
        let specs = manifest::parse(&manifest_text).map_err(fail)?;
        let specs: BTreeMap<String, TemplateSpec> =
            specs.into_iter().map(|s| (s.id.clone(), s)).collect();
        let mut problems = Vec::new();
        for id in TEMPLATE_IDS {
            if !specs.contains_key(id) {
                problems.push(format!(
                    "manifest.toml: template {id} is missing (the services send it)"
                ));
            }
        }

        // Every part of every template in every language.
        let mut texts = HashMap::new();
        let mut sources = Vec::new();
        for language in LANGUAGES {
            let lang = language.code();
            for spec in specs.values() {
                for part in &spec.parts {
                    let file = format!("{lang}/{}", part.file_name(&spec.id));
                    match std::fs::read_to_string(dir.join(&file)) {
                        Ok(text) => {
                            if let Some(text_part) =
                                TextPart::ALL.into_iter().find(|t| t.part() == *part)
                            {
                                texts.insert((spec.id.clone(), language, text_part), text);
                            }
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                            problems.push(format!("{file}: missing"));
                        }
                        Err(e) => problems.push(format!("{file}: {e}")),
                    }
                }
            }
            sources.extend(typst_files(dir, lang, &mut problems));
        }
        sources.extend(typst_files(dir, "common", &mut problems));
        let samples = load_samples(dir, &specs, &mut problems);
        if !problems.is_empty() {
            return Err(fail(problems));
        }
        let typesetter = Typesetter::new(sources).map_err(fail)?;
        if !typesetter.has_source("/common/letter.typ") {
            return Err(fail(vec!["common/letter.typ: missing".to_owned()]));
        }
        let renderer = Renderer {
            dir: dir.to_path_buf(),
            specs,
            texts,
            samples,
            typesetter,
        };
        let problems = renderer.check_samples();
        if problems.is_empty() {
            Ok(renderer)
        } else {
            Err(fail(problems))
        }
    }

    /// Renders every template's sample in every language (on all cores); the problems found.
    fn check_samples(&self) -> Vec<String> {
        let work: Vec<(&String, Language)> = self
            .specs
            .keys()
            .flat_map(|id| LANGUAGES.into_iter().map(move |l| (id, l)))
            .collect();
        let threads = std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(1)
            .min(work.len().max(1));
        let chunk = work.len().div_ceil(threads).max(1);
        let mut problems: Vec<String> = std::thread::scope(|scope| {
            let handles: Vec<_> = work
                .chunks(chunk)
                .map(|chunk| scope.spawn(move || self.check_sample_chunk(chunk)))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| {
                    h.join()
                        .unwrap_or_else(|_| vec!["a sample render panicked".to_owned()])
                })
                .collect()
        });
        // The samples' layouts are not reused by real letters; without this a fresh
        // notifications service kept ~155 MiB resident until its first letters evicted them.
        Typesetter::evict(0);
        problems.sort();
        problems
    }

    fn check_sample_chunk(&self, chunk: &[(&String, Language)]) -> Vec<String> {
        let mut problems = Vec::new();
        for (id, language) in chunk {
            let at = format!("samples/{id}.json ({language})");
            let input = match self.sample_input(id, *language) {
                Ok(input) => input,
                Err(e) => {
                    problems.push(format!("{at}: {e}"));
                    continue;
                }
            };
            if self.has_part(id, Part::Letter)
                && let Err(e) = self.render_pdf(id, *language, &input)
            {
                problems.push(format!("{language}/{id}.typ: {e}"));
            }
            // Each template's layout is its own; keep only what the next one shares.
            Typesetter::evict(1);
            for part in TextPart::ALL {
                if let Err(e) = self.render_text(id, *language, part, &input) {
                    problems.push(format!("{language}/{}: {e}", part.part().file_name(id)));
                }
            }
        }
        problems
    }

    /// The template ids, sorted.
    pub fn template_ids(&self) -> Vec<&str> {
        self.specs.keys().map(String::as_str).collect()
    }

    /// Whether a template with this id exists.
    pub fn has_template(&self, id: &str) -> bool {
        self.specs.contains_key(id)
    }

    /// The manifest entry of a template: its parts, fields and whether the PDF goes with e-mail.
    pub fn spec(&self, template: &str) -> Result<&TemplateSpec, LetterError> {
        self.specs
            .get(template)
            .ok_or_else(|| LetterError::UnknownTemplate {
                template: template.chars().take(64).collect(),
                known: self.template_ids().join(", "),
            })
    }

    fn has_part(&self, template: &str, part: Part) -> bool {
        self.specs.get(template).is_some_and(|s| s.has(part))
    }

    /// Problems with `data` for this template (missing or ill-typed fields), e.g.
    /// `["data.claims: required"]`; an unknown template is one problem too.
    pub fn check_data(&self, template: &str, data: &Value) -> Vec<String> {
        match self.spec(template) {
            Ok(spec) => spec.check_data(data),
            Err(e) => vec![e.to_string()],
        }
    }

    /// Renders the letter to an A4 PDF. Errors: unknown template, a template without a letter,
    /// unusable data, typst errors (with the template file and line).
    pub fn render_pdf(
        &self,
        template: &str,
        language: Language,
        input: &LetterInput,
    ) -> Result<RenderedPdf, LetterError> {
        let spec = self.spec(template)?;
        if !spec.has(Part::Letter) {
            return Err(LetterError::NoLetter {
                template: template.to_owned(),
                parts: parts_list(spec),
            });
        }
        let view = self.view(spec, language, input, Medium::Pdf)?;
        let bytes = serde_json::to_vec(&view).map_err(|e| LetterError::Typst {
            template: template.to_owned(),
            language,
            message: format!("the input could not be written as JSON: {e}"),
        })?;
        let main = format!("/{}/{template}.typ", language.code());
        let typeset = self
            .typesetter
            .render(&main, bytes, input.letter_date, &input.reference)
            .map_err(|message| LetterError::Typst {
                template: template.to_owned(),
                language,
                message,
            })?;
        Ok(RenderedPdf {
            bytes: typeset.bytes,
            pages: u32::try_from(typeset.pages).unwrap_or(u32::MAX),
        })
    }

    /// Renders a text part; `Ok(None)` when the template has no such part (e.g. no SMS text).
    /// SMS and subject come back on one line without trailing space.
    pub fn render_text(
        &self,
        template: &str,
        language: Language,
        part: TextPart,
        input: &LetterInput,
    ) -> Result<Option<String>, LetterError> {
        let spec = self.spec(template)?;
        let Some(source) = self.texts.get(&(template.to_owned(), language, part)) else {
            return Ok(None);
        };
        let view = self.view(spec, language, input, Medium::Text)?;
        let escape = match part {
            TextPart::EmailHtml => Escape::Html,
            _ => Escape::None,
        };
        let filled = text::substitute(source, &view, escape).map_err(|e| LetterError::Text {
            template: template.to_owned(),
            language,
            part,
            message: e.to_string(),
        })?;
        Ok(Some(match part {
            TextPart::Sms | TextPart::EmailSubject => {
                filled.split_whitespace().collect::<Vec<_>>().join(" ")
            }
            TextPart::EmailText | TextPart::EmailHtml => format!("{}\n", filled.trim_end()),
        }))
    }

    /// The sample input shipped with a template (`templates/samples/<id>.json` over
    /// `templates/samples/_base.json`), for previews, tests and benchmarks.
    pub fn sample_input(
        &self,
        template: &str,
        language: Language,
    ) -> Result<LetterInput, LetterError> {
        self.spec(template)?;
        self.samples
            .get(&(template.to_owned(), language))
            .cloned()
            .ok_or_else(|| LetterError::UnknownTemplate {
                template: template.to_owned(),
                known: self.template_ids().join(", "),
            })
    }

    /// What templates print: the letterhead, the recipient (or null), the written-out letter
    /// date, the reference, and the data with amounts and dates written out for `language`.
    fn view(
        &self,
        spec: &TemplateSpec,
        language: Language,
        input: &LetterInput,
        medium: Medium,
    ) -> Result<Value, LetterError> {
        let problems = spec.check_data(&input.data);
        if !problems.is_empty() {
            return Err(LetterError::InvalidData {
                template: spec.id.clone(),
                problems,
            });
        }
        Ok(json!({
            "lang": language.code(),
            "template": spec.id,
            "letterhead": input.letterhead,
            "recipient": input.recipient,
            "letter_date": format::date(input.letter_date, language),
            "reference": input.reference,
            "data": spec.view(&input.data, language, medium),
        }))
    }
}

fn parts_list(spec: &TemplateSpec) -> String {
    spec.parts
        .iter()
        .map(|p| format!("{p:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `.typ` files of one folder as `(virtual path, text)`.
fn typst_files(dir: &Path, folder: &str, problems: &mut Vec<String>) -> Vec<(String, String)> {
    let entries = match std::fs::read_dir(dir.join(folder)) {
        Ok(entries) => entries,
        Err(e) => {
            problems.push(format!("{folder}/: {e}"));
            return Vec::new();
        }
    };
    let mut files = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".typ") {
            continue;
        }
        match std::fs::read_to_string(entry.path()) {
            Ok(text) => files.push((format!("/{folder}/{name}"), text)),
            Err(e) => problems.push(format!("{folder}/{name}: {e}")),
        }
    }
    files
}

/// Reads `samples/_base.json` (per language: letterhead, recipient, common data) and
/// `samples/<id>.json` (`data` plus per-language overrides under `languages`), merged in that
/// order; data fields the template does not declare are dropped.
fn load_samples(
    dir: &Path,
    specs: &BTreeMap<String, TemplateSpec>,
    problems: &mut Vec<String>,
) -> HashMap<(String, Language), LetterInput> {
    let read = |name: &str, problems: &mut Vec<String>| -> Option<Value> {
        let path = dir.join("samples").join(name);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| {
                problems.push(if e.kind() == std::io::ErrorKind::NotFound {
                    format!("samples/{name}: missing (every template needs sample data)")
                } else {
                    format!("samples/{name}: {e}")
                })
            })
            .ok()?;
        serde_json::from_str(&text)
            .map_err(|e| problems.push(format!("samples/{name}: {e}")))
            .ok()
    };
    let mut samples = HashMap::new();
    let Some(base) = read("_base.json", problems) else {
        return samples;
    };
    for spec in specs.values() {
        let Some(mut sample) = read(&format!("{}.json", spec.id), problems) else {
            continue;
        };
        let overrides = sample
            .as_object_mut()
            .and_then(|m| m.remove("languages"))
            .unwrap_or(Value::Null);
        for language in LANGUAGES {
            let lang = language.code();
            let mut merged = base.get(lang).cloned().unwrap_or_else(|| json!({}));
            merge(&mut merged, &sample);
            if let Some(over) = overrides.get(lang) {
                merge(&mut merged, over);
            }
            // The base gives every sample a currency and a payment block; keep only what this
            // template declares, so that a preview shows exactly what the template gets.
            if let Some(Value::Object(data)) = merged.get_mut("data") {
                data.retain(|key, _| spec.field(key).is_some());
            }
            match serde_json::from_value::<LetterInput>(merged) {
                Ok(input) => {
                    samples.insert((spec.id.clone(), language), input);
                }
                Err(e) => problems.push(format!("samples/{}.json ({lang}): {e}", spec.id)),
            }
        }
    }
    samples
}

/// Deep merge for samples: objects key by key, lists entry by entry (so a language can add the
/// `text` of each claim), anything else in `over` replaces `into`.
fn merge(into: &mut Value, over: &Value) {
    match (into, over) {
        (Value::Array(into), Value::Array(over)) => {
            for (i, value) in over.iter().enumerate() {
                match into.get_mut(i) {
                    Some(existing) => merge(existing, value),
                    None => into.push(value.clone()),
                }
            }
        }
        (Value::Object(into), Value::Object(over)) => {
            for (key, value) in over {
                match into.get_mut(key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        into.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (into, over) => *into = over.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_renderer_can_be_shared_between_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Renderer>();
        shareable::<std::sync::Arc<Renderer>>();
    }

    #[test]
    fn samples_merge_objects_and_lists_and_replace_the_rest() {
        let mut base = json!({"data": {"currency": "DKK", "payment": {"ocr_line": "x"},
            "claims": [{"amount": "1.00"}, {"amount": "2.00"}]}, "reference": "a"});
        merge(
            &mut base,
            &json!({"data": {"payment": {"account": "y"}, "claims": [{"text": "t1"}, {"text": "t2"}, 3]},
                "reference": "b"}),
        );
        assert_eq!(
            base,
            json!({"data": {"currency": "DKK", "payment": {"ocr_line": "x", "account": "y"},
                "claims": [{"amount": "1.00", "text": "t1"}, {"amount": "2.00", "text": "t2"}, 3]},
                "reference": "b"})
        );
    }
}
