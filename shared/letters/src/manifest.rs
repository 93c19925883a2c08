//! `templates/manifest.toml`: which templates exist, which parts each has (letter, SMS, e-mail),
//! whether the letter is attached to the e-mail, and the data fields each needs with their types.
//!
//! The field list drives two things: [`TemplateSpec::check_data`] (what is missing or ill-typed,
//! as `data.claims[0].amount: …` lines) and [`TemplateSpec::view`] (the data with amounts, dates
//! and times written out for the letter's language, which is what templates print).

use std::collections::BTreeMap;

use restance_kernel::{BusinessDate, Currency, Language, Money, PaymentReference};
use serde::Deserialize;
use serde_json::Value;

use crate::format::{self, Medium};

/// The parts a template can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// The PDF letter (`<lang>/<id>.typ`).
    Letter,
    /// SMS text (`<lang>/<id>.sms.txt`).
    Sms,
    /// E-mail subject line (`<lang>/<id>.email-subject.txt`).
    EmailSubject,
    /// E-mail plain text body (`<lang>/<id>.email.txt`).
    EmailText,
    /// E-mail HTML body (`<lang>/<id>.email.html`).
    EmailHtml,
}

impl Part {
    /// The file of this part for template `id`, relative to a language folder.
    pub fn file_name(self, id: &str) -> String {
        match self {
            Part::Letter => format!("{id}.typ"),
            Part::Sms => format!("{id}.sms.txt"),
            Part::EmailSubject => format!("{id}.email-subject.txt"),
            Part::EmailText => format!("{id}.email.txt"),
            Part::EmailHtml => format!("{id}.email.html"),
        }
    }
}

/// The manifest file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestFile {
    templates: BTreeMap<String, TemplateFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateFile {
    /// What the template is for (documentation).
    #[allow(dead_code)]
    description: String,
    parts: Vec<Part>,
    #[serde(default)]
    attach_pdf: bool,
    #[serde(default)]
    fields: BTreeMap<String, String>,
}

/// One template as the manifest declares it.
#[derive(Debug, Clone)]
pub struct TemplateSpec {
    /// The template id, e.g. `reminder_1`.
    pub id: String,
    /// Its parts, sorted.
    pub parts: Vec<Part>,
    /// Whether notifications attaches the PDF letter to the e-mail.
    pub attach_pdf: bool,
    /// Its data fields, parents before children.
    pub fields: Vec<Field>,
}

/// A data field: where it is, what it must be, whether it may be absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// As written in the manifest, e.g. `claims[].amount`.
    pub path: String,
    segments: Vec<Segment>,
    /// What kind of value.
    pub kind: Kind,
    /// May be absent or `null`.
    pub optional: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Each,
}

/// The value types a data field can have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A non-empty string printed as is.
    Text,
    /// An amount as a JSON string (`"1234.50"`), printed in the local format.
    Money,
    /// A date `YYYY-MM-DD`, printed written out.
    Date,
    /// A local date and time `YYYY-MM-DDTHH:MM`, printed written out.
    DateTime,
    /// `"DKK"` or `"NOK"`: how the template's amounts are printed.
    Currency,
    /// A FI-kort +71 OCR line with the creditor number, `+71<id+creditor<` (check digit verified).
    OcrLine,
    /// A Norwegian KID (MOD10 or MOD11 check verified).
    Kid,
    /// A whole number.
    Integer,
    /// `true` or `false`.
    Bool,
    /// An array of objects (at least one element unless optional).
    List,
    /// An object with its own fields.
    Object,
    /// One of these codes (the template words them per language).
    OneOf(Vec<String>),
}

impl Kind {
    fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "text" => Kind::Text,
            "money" => Kind::Money,
            "date" => Kind::Date,
            "datetime" => Kind::DateTime,
            "currency" => Kind::Currency,
            "ocr_line" => Kind::OcrLine,
            "kid" => Kind::Kid,
            "integer" => Kind::Integer,
            "bool" => Kind::Bool,
            "list" => Kind::List,
            "object" => Kind::Object,
            other if other.contains('|') => {
                let codes: Vec<String> = other.split('|').map(|c| c.trim().to_owned()).collect();
                if codes.iter().any(|c| c.is_empty()) {
                    return None;
                }
                Kind::OneOf(codes)
            }
            _ => return None,
        })
    }

    fn expectation(&self) -> String {
        match self {
            Kind::Text => "must be a non-empty string".to_owned(),
            Kind::Money => "must be an amount as a string like \"1234.50\"".to_owned(),
            Kind::Date => "must be a date like \"2026-12-15\"".to_owned(),
            Kind::DateTime => "must be a local date and time like \"2026-12-15T09:30\"".to_owned(),
            Kind::Currency => "must be \"DKK\" or \"NOK\"".to_owned(),
            Kind::OcrLine => {
                "must be a FI-kort +71 line with a valid check digit and the creditor number, like \"+71<000000067097535+85412345<\"".to_owned()
            }
            Kind::Kid => "must be a KID (2–25 digits) with a valid MOD10 or MOD11 check digit".to_owned(),
            Kind::Integer => "must be a whole number".to_owned(),
            Kind::Bool => "must be true or false".to_owned(),
            Kind::List => "must be a list with at least one entry".to_owned(),
            Kind::Object => "must be an object".to_owned(),
            Kind::OneOf(codes) => format!("must be one of {}", codes.join(", ")),
        }
    }

    /// Whether `value` (not null) is of this kind.
    fn accepts(&self, value: &Value, optional: bool) -> bool {
        match (self, value) {
            (Kind::Text, Value::String(s)) => !s.trim().is_empty(),
            (Kind::Money, Value::String(s)) => Money::parse(s).is_ok(),
            (Kind::Date, Value::String(s)) => s.parse::<BusinessDate>().is_ok(),
            (Kind::DateTime, Value::String(s)) => format::parse_date_time(s).is_some(),
            (Kind::Currency, Value::String(s)) => s.parse::<Currency>().is_ok(),
            (Kind::OcrLine, Value::String(s)) => {
                s.starts_with("+71<")
                    && matches!(
                        PaymentReference::parse_fik(s),
                        Ok(PaymentReference::Fik {
                            creditor: Some(_),
                            ..
                        })
                    )
            }
            (Kind::Kid, Value::String(s)) => PaymentReference::parse_kid(s).is_ok(),
            (Kind::Integer, Value::Number(n)) => n.is_i64() || n.is_u64(),
            (Kind::Bool, Value::Bool(_)) => true,
            (Kind::List, Value::Array(items)) => {
                (optional || !items.is_empty()) && items.iter().all(Value::is_object)
            }
            (Kind::Object, Value::Object(_)) => true,
            (Kind::OneOf(codes), Value::String(s)) => codes.iter().any(|c| c == s),
            _ => false,
        }
    }
}

/// Parses the manifest text; every problem in it is listed.
pub fn parse(text: &str) -> Result<Vec<TemplateSpec>, Vec<String>> {
    let file: ManifestFile =
        toml::from_str(text).map_err(|e| vec![format!("manifest.toml: {e}")])?;
    let mut problems = Vec::new();
    let mut specs = Vec::new();
    for (id, template) in file.templates {
        let at = format!("manifest.toml: templates.{id}");
        if id.is_empty()
            || !id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            problems.push(format!(
                "{at}: a template id may only contain a-z, 0-9 and _"
            ));
        }
        let mut parts = template.parts.clone();
        parts.sort();
        parts.dedup();
        if parts.is_empty() {
            problems.push(format!("{at}.parts: at least one part is needed"));
        }
        let has = |p: Part| parts.contains(&p);
        if has(Part::EmailText) != has(Part::EmailSubject)
            || (has(Part::EmailHtml) && !has(Part::EmailText))
        {
            problems.push(format!(
                "{at}.parts: an e-mail needs email_subject and email_text (email_html is optional)"
            ));
        }
        if template.attach_pdf && !(has(Part::Letter) && has(Part::EmailText)) {
            problems.push(format!(
                "{at}.attach_pdf: only a template with a letter and an e-mail can attach it"
            ));
        }
        let mut fields = Vec::new();
        for (path, kind) in &template.fields {
            match parse_field(path, kind) {
                Ok(field) => fields.push(field),
                Err(why) => problems.push(format!("{at}.fields.\"{path}\": {why}")),
            }
        }
        // Parents first, so that checks and formatting meet a container before its contents.
        fields.sort_by_key(|f| f.segments.len());
        for field in &fields {
            if let Some(parent) = parent_path(&field.segments) {
                let parent_kind = fields
                    .iter()
                    .find(|f| f.segments == parent.0)
                    .map(|f| &f.kind);
                let wanted = if parent.1 { Kind::List } else { Kind::Object };
                if parent_kind != Some(&wanted) {
                    problems.push(format!(
                        "{at}.fields.\"{}\": its parent must be declared as {}",
                        field.path,
                        if parent.1 { "list" } else { "object" }
                    ));
                }
            }
        }
        let money = fields.iter().any(|f| f.kind == Kind::Money);
        let currency = fields
            .iter()
            .any(|f| f.kind == Kind::Currency && f.path == "currency");
        if money && !currency {
            problems.push(format!(
                "{at}.fields: a template with amounts needs a \"currency\" field (type currency)"
            ));
        }
        if has(Part::Letter)
            && !fields
                .iter()
                .any(|f| f.path == "legal_basis" && f.kind == Kind::Text && !f.optional)
        {
            problems.push(format!(
                "{at}.fields: every letter states its legal basis: declare legal_basis = \"text\""
            ));
        }
        specs.push(TemplateSpec {
            id,
            parts,
            attach_pdf: template.attach_pdf,
            fields,
        });
    }
    if problems.is_empty() {
        Ok(specs)
    } else {
        Err(problems)
    }
}

fn parse_field(path: &str, kind: &str) -> Result<Field, String> {
    let (kind_text, optional) = match kind.strip_suffix('?') {
        Some(k) => (k, true),
        None => (kind, false),
    };
    let kind = Kind::parse(kind_text.trim()).ok_or_else(|| {
        format!("unknown type {kind:?} (text, money, date, datetime, currency, ocr_line, kid, integer, bool, list, object or a|b|c, with ? when optional)")
    })?;
    let mut segments = Vec::new();
    for piece in path.split('.') {
        let (name, each) = match piece.strip_suffix("[]") {
            Some(name) => (name, true),
            None => (piece, false),
        };
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(
                "a field path is names of a-z, 0-9 and _ joined by '.', with [] after a list"
                    .to_owned(),
            );
        }
        segments.push(Segment::Key(name.to_owned()));
        if each {
            segments.push(Segment::Each);
        }
    }
    if segments.last() == Some(&Segment::Each) {
        return Err(
            "a path cannot end in []: declare the list itself and then its entries' fields"
                .to_owned(),
        );
    }
    Ok(Field {
        path: path.to_owned(),
        segments,
        kind,
        optional,
    })
}

/// The parent's segments and whether the parent is a list (`claims[].x` → `claims`, true).
fn parent_path(segments: &[Segment]) -> Option<(Vec<Segment>, bool)> {
    let (_, before) = segments.split_last()?;
    match before.last()? {
        Segment::Each => Some((before[..before.len() - 1].to_vec(), true)),
        Segment::Key(_) => Some((before.to_vec(), false)),
    }
}

impl TemplateSpec {
    /// Whether the template has `part`.
    pub fn has(&self, part: Part) -> bool {
        self.parts.contains(&part)
    }

    /// The field declared at this dotted path (`[]` for list entries), if any.
    pub fn field(&self, path: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.path == path)
    }

    /// Every problem with `data` for this template: `data.<path>: required` or what it must be.
    pub fn check_data(&self, data: &Value) -> Vec<String> {
        if !data.is_object() {
            return vec!["data: must be an object with the template's fields".to_owned()];
        }
        let mut problems = Vec::new();
        for field in &self.fields {
            for (path, value) in locate(data, &field.segments) {
                match value {
                    None | Some(Value::Null) if field.optional => {}
                    None | Some(Value::Null) => problems.push(format!("data.{path}: required")),
                    Some(v) if !field.kind.accepts(v, field.optional) => {
                        problems.push(format!("data.{path}: {}", field.kind.expectation()));
                    }
                    Some(_) => {}
                }
            }
        }
        if problems.is_empty()
            && self.fields.iter().any(|f| f.kind == Kind::Money)
            && data.get("currency").is_none_or(Value::is_null)
            && self
                .fields
                .iter()
                .filter(|f| f.kind == Kind::Money)
                .any(|f| {
                    locate(data, &f.segments)
                        .iter()
                        .any(|(_, v)| v.is_some_and(|v| !v.is_null()))
                })
        {
            problems.push("data.currency: required to print amounts".to_owned());
        }
        problems
    }

    /// `data` as the templates print it: amounts, dates and times written out for `language`
    /// (call [`TemplateSpec::check_data`] first; values that do not parse are left as they are).
    pub fn view(&self, data: &Value, language: Language, medium: Medium) -> Value {
        let currency = data
            .get("currency")
            .and_then(Value::as_str)
            .and_then(|c| c.parse::<Currency>().ok());
        let mut view = data.clone();
        for field in &self.fields {
            let format = |value: &mut Value| {
                let Value::String(s) = value else { return };
                let written = match &field.kind {
                    Kind::Money => Money::parse(s)
                        .ok()
                        .zip(currency)
                        .map(|(m, c)| format::money(m, c, language, medium)),
                    Kind::Date => s
                        .parse::<BusinessDate>()
                        .ok()
                        .map(|d| format::date(d, language)),
                    Kind::DateTime => format::parse_date_time(s)
                        .map(|(d, h, m)| format::date_time(d, h, m, language)),
                    Kind::OcrLine => PaymentReference::parse_fik(s).ok().map(|r| r.ocr_line()),
                    _ => None,
                };
                if let Some(written) = written {
                    *value = Value::String(written);
                }
            };
            apply(&mut view, &field.segments, &format);
        }
        view
    }
}

/// Every value at `segments` in `data` with its concrete path (`claims[1].amount`); `None`
/// where the last key is absent. Nothing when a container on the way is missing or of the wrong
/// type (its own field reports that).
fn locate<'a>(data: &'a Value, segments: &[Segment]) -> Vec<(String, Option<&'a Value>)> {
    let mut found = Vec::new();
    locate_into(data, segments, String::new(), &mut found);
    found
}

fn locate_into<'a>(
    value: &'a Value,
    segments: &[Segment],
    path: String,
    found: &mut Vec<(String, Option<&'a Value>)>,
) {
    let Some((first, rest)) = segments.split_first() else {
        found.push((path, Some(value)));
        return;
    };
    match first {
        Segment::Key(key) => {
            let Value::Object(map) = value else { return };
            let path = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            match map.get(key) {
                Some(Value::Null) | None if !rest.is_empty() => {}
                Some(child) => locate_into(child, rest, path, found),
                None => found.push((path, None)),
            }
        }
        Segment::Each => {
            let Value::Array(items) = value else { return };
            for (i, item) in items.iter().enumerate() {
                locate_into(item, rest, format!("{path}[{i}]"), found);
            }
        }
    }
}

fn apply(value: &mut Value, segments: &[Segment], f: &impl Fn(&mut Value)) {
    let Some((first, rest)) = segments.split_first() else {
        f(value);
        return;
    };
    match (first, value) {
        (Segment::Key(key), Value::Object(map)) => {
            if let Some(child) = map.get_mut(key) {
                apply(child, rest, f);
            }
        }
        (Segment::Each, Value::Array(items)) => {
            for item in items {
                apply(item, rest, f);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const MANIFEST: &str = r#"
        [templates.reminder_1]
        description = "First reminder"
        parts = ["letter", "sms", "email_subject", "email_text", "email_html"]
        attach_pdf = true
        [templates.reminder_1.fields]
        claims = "list"
        "claims[].invoice_id" = "text"
        "claims[].due_date" = "date"
        "claims[].amount" = "money"
        total = "money"
        currency = "currency"
        pay_by = "date"
        payment = "object"
        "payment.ocr_line" = "ocr_line?"
        "payment.kid" = "kid?"
        legal_basis = "text"
        supply = "water|heat?"
        meeting = "datetime?"
    "#;

    fn spec() -> TemplateSpec {
        parse(MANIFEST).expect("valid manifest").remove(0)
    }

    fn good() -> Value {
        json!({
            "claims": [{"invoice_id": "DAY-1", "due_date": "2026-11-15", "amount": "1234.50"}],
            "total": "1234.50", "currency": "DKK", "pay_by": "2026-12-15",
            "payment": {"ocr_line": "+71<000000067097535+85412345<"},
            "legal_basis": "opkrævningsloven § 6", "meeting": "2026-12-10T09:30"
        })
    }

    #[test]
    fn good_data_has_no_problems() {
        assert_eq!(spec().check_data(&good()), Vec::<String>::new());
    }

    #[test]
    fn a_missing_field_is_reported_as_required() {
        let mut data = good();
        data.as_object_mut().map(|m| m.remove("claims"));
        data.as_object_mut().map(|m| m.remove("legal_basis"));
        assert_eq!(
            spec().check_data(&data),
            ["data.claims: required", "data.legal_basis: required"]
        );
    }

    #[test]
    fn ill_typed_fields_say_what_they_must_be_with_their_position() {
        let mut data = good();
        data["claims"] = json!([
            {"invoice_id": "DAY-1", "due_date": "2026-11-15", "amount": "1234.50"},
            {"invoice_id": "", "due_date": "15-11-2026", "amount": 12.5}
        ]);
        data["payment"]["ocr_line"] = json!("+71<026840149965327+85412345<");
        data["supply"] = json!("gas");
        data["currency"] = json!("EUR");
        assert_eq!(
            spec().check_data(&data),
            [
                "data.currency: must be \"DKK\" or \"NOK\"",
                "data.supply: must be one of water, heat",
                "data.payment.ocr_line: must be a FI-kort +71 line with a valid check digit and the creditor number, like \"+71<000000067097535+85412345<\"",
                "data.claims[1].amount: must be an amount as a string like \"1234.50\"",
                "data.claims[1].due_date: must be a date like \"2026-12-15\"",
                "data.claims[1].invoice_id: must be a non-empty string",
            ]
        );
        assert_eq!(
            spec().check_data(&json!([])),
            ["data: must be an object with the template's fields"]
        );
        data = good();
        data["claims"] = json!([]);
        assert_eq!(
            spec().check_data(&data),
            ["data.claims: must be a list with at least one entry"]
        );
    }

    #[test]
    fn the_view_writes_amounts_dates_and_times_for_the_language() {
        let view = spec().view(&good(), Language::Da, Medium::Text);
        assert_eq!(view["claims"][0]["amount"], "1.234,50 kr.");
        assert_eq!(view["claims"][0]["due_date"], "15. november 2026");
        assert_eq!(view["pay_by"], "15. december 2026");
        assert_eq!(view["meeting"], "10. december 2026 kl. 09.30");
        assert_eq!(view["claims"][0]["invoice_id"], "DAY-1");
        let mut nok = good();
        nok["currency"] = json!("NOK");
        let view = spec().view(&nok, Language::Nb, Medium::Text);
        assert_eq!(view["total"], "kr 1 234,50");
        assert_eq!(view["pay_by"], "15. desember 2026");
    }

    #[test]
    fn manifest_mistakes_are_all_listed() {
        let bad = r#"
            [templates.x]
            description = "x"
            parts = ["letter", "email_text"]
            attach_pdf = false
            [templates.x.fields]
            "claims[].amount" = "money"
            total = "moneyy"
            "a.b" = "text"
        "#;
        let problems = parse(bad).expect_err("problems");
        assert_eq!(
            problems,
            [
                "manifest.toml: templates.x.parts: an e-mail needs email_subject and email_text (email_html is optional)",
                "manifest.toml: templates.x.fields.\"total\": unknown type \"moneyy\" (text, money, date, datetime, currency, ocr_line, kid, integer, bool, list, object or a|b|c, with ? when optional)",
                "manifest.toml: templates.x.fields.\"a.b\": its parent must be declared as object",
                "manifest.toml: templates.x.fields.\"claims[].amount\": its parent must be declared as list",
                "manifest.toml: templates.x.fields: a template with amounts needs a \"currency\" field (type currency)",
                "manifest.toml: templates.x.fields: every letter states its legal basis: declare legal_basis = \"text\"",
            ]
        );
    }
}
