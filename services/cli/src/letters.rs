//! `restance letters preview`: renders a template's sample data to a PDF, as the notifications
//! service would render it, so that a municipality can see its letters before go-live.
//!
//! With `--municipality` the letterhead comes from the catalog (`[catalog.municipalities."…".sender]`)
//! and the sample's currency and payment block are replaced by that municipality's own (+71 OCR
//! line with its creditor number, or a KID and its account), so the preview is what its citizens get.

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use restance_kernel::{Catalog, Language, PaymentReference};
use restance_letters::{Letterhead, Part, Renderer, TextPart};
use serde_json::{Value, json};

use crate::cli::LettersPreviewArgs;

/// The claim sequence number of the sample payment reference.
const SAMPLE_SEQUENCE: u64 = 6_709_753;

/// What a preview produced.
#[derive(Debug)]
pub enum Preview {
    /// A PDF was written.
    Letter {
        /// Where.
        path: PathBuf,
        /// Its pages.
        pages: u32,
        /// The language rendered.
        language: Language,
    },
    /// The template has no letter (e.g. `report_ready`): its text parts, rendered.
    TextOnly {
        /// The language rendered.
        language: Language,
        /// `(part, text)` for each part it has.
        parts: Vec<(TextPart, String)>,
    },
}

/// Renders the preview; `templates` is the configured templates folder unless `--templates` is given.
pub fn preview(
    catalog: &Catalog,
    templates: &Path,
    args: &LettersPreviewArgs,
) -> anyhow::Result<Preview> {
    let municipality = args
        .municipality
        .as_deref()
        .map(|code| {
            catalog.municipality(code).ok_or_else(|| {
                anyhow!(
                    "municipality {code} is not in the catalog (configured: {})",
                    catalog
                        .municipalities
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
        })
        .transpose()?;
    if let (Some(m), Some(office)) = (municipality, args.office.as_deref())
        && !m.has_office(office)
    {
        return Err(anyhow!(
            "office {office} is not an office of {} (its offices: {})",
            m.name,
            m.offices.keys().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    let language = args
        .lang
        .or(municipality.map(|m| m.language))
        .unwrap_or(Language::Da);
    let dir = args.templates.as_deref().unwrap_or(templates);
    let renderer = Renderer::load(dir)?;
    let spec = renderer.spec(&args.template)?;
    let mut input = renderer.sample_input(&args.template, language)?;
    if let Some(m) = municipality {
        input.letterhead = Letterhead::from_catalog(m, args.office.as_deref());
        if let Value::Object(data) = &mut input.data {
            if data.contains_key("currency") {
                data.insert("currency".to_owned(), json!(m.currency.code()));
            }
            if data.contains_key("payment") {
                let reference = m
                    .payment_reference(SAMPLE_SEQUENCE)
                    .with_context(|| format!("{} cannot issue a payment reference", m.name))?;
                let mut payment = serde_json::Map::new();
                match reference {
                    PaymentReference::Kid(kid) => {
                        payment.insert("kid".to_owned(), json!(kid.as_str()));
                    }
                    fik @ PaymentReference::Fik { .. } => {
                        payment.insert("ocr_line".to_owned(), json!(fik.ocr_line()));
                    }
                }
                if let Some(account) = &m.sender.bank_account {
                    payment.insert("account".to_owned(), json!(account));
                }
                data.insert("payment".to_owned(), Value::Object(payment));
            }
        }
    }
    if args.protected {
        input.recipient = None;
    }
    if !spec.has(Part::Letter) {
        let mut parts = Vec::new();
        for part in [TextPart::Sms, TextPart::EmailSubject, TextPart::EmailText] {
            if let Some(text) = renderer.render_text(&args.template, language, part, &input)? {
                parts.push((part, text));
            }
        }
        return Ok(Preview::TextOnly { language, parts });
    }
    let pdf = renderer.render_pdf(&args.template, language, &input)?;
    let path = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}-{language}.pdf", args.template)));
    std::fs::write(&path, &pdf.bytes)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(Preview::Letter {
        path,
        pages: pdf.pages,
        language,
    })
}
