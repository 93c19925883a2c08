//! The text parts (SMS, e-mail subject, text and HTML): a tiny `{{field.path}}` substitution.
//!
//! `{{data.total}}` is replaced by the value at that path of the letter's view (amounts and dates
//! already written out); `{{recipient.name|borger}}` falls back to the text after `|` when the
//! value is absent or null. Only strings, numbers and booleans can be printed. In HTML every
//! substituted value is escaped; the template's own markup is not touched.

use serde_json::Value;

/// How substituted values are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// As is (SMS, subject, plain text).
    None,
    /// HTML-escaped (`&`, `<`, `>`, `"`, `'`).
    Html,
}

/// Why a text part could not be filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubstituteError {
    /// `{{` without a closing `}}`.
    Unclosed {
        /// 1-based line of the opening braces.
        line: usize,
    },
    /// The path has no value and no fallback.
    Missing {
        /// The path as written.
        path: String,
    },
    /// The value is a list or an object.
    NotPrintable {
        /// The path as written.
        path: String,
    },
}

impl std::fmt::Display for SubstituteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SubstituteError::Unclosed { line } => {
                write!(f, "line {line}: '{{{{' is not closed with '}}}}'")
            }
            SubstituteError::Missing { path } => write!(
                f,
                "{{{{{path}}}}} has no value (give it in the data, or write {{{{{path}|fallback}}}})"
            ),
            SubstituteError::NotPrintable { path } => write!(
                f,
                "{{{{{path}}}}} is a list or an object; only single values can be printed"
            ),
        }
    }
}

/// Fills in every `{{path}}` of `template` from `view`.
pub fn substitute(template: &str, view: &Value, escape: Escape) -> Result<String, SubstituteError> {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            let line = template[..template.len() - rest.len() + start]
                .matches('\n')
                .count()
                + 1;
            return Err(SubstituteError::Unclosed { line });
        };
        let inner = after[..end].trim();
        let (path, fallback) = match inner.split_once('|') {
            Some((p, f)) => (p.trim(), Some(f)),
            None => (inner, None),
        };
        let printed = match lookup(view, path) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::Bool(b)) => b.to_string(),
            Some(Value::Array(_) | Value::Object(_)) => {
                return Err(SubstituteError::NotPrintable {
                    path: path.to_owned(),
                });
            }
            Some(Value::Null) | None => match fallback {
                Some(f) => f.to_owned(),
                None => {
                    return Err(SubstituteError::Missing {
                        path: path.to_owned(),
                    });
                }
            },
        };
        match escape {
            Escape::None => out.push_str(&printed),
            Escape::Html => push_html_escaped(&mut out, &printed),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The value at a dotted path; list entries by number (`data.claims.0.amount`).
fn lookup<'a>(view: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(view, |value, key| match value {
        Value::Object(map) => map.get(key),
        Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

/// Appends `s` with the five HTML special characters escaped.
pub fn push_html_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn view() -> Value {
        json!({
            "letterhead": {"municipality": "Skanderborg Kommune", "phone": "+45 87 94 70 00"},
            "recipient": null,
            "data": {"total": "1.234,50 kr.", "count": 3, "claims": [{"text": "Dagtilbud <dec> & \"mad\""}]},
        })
    }

    #[test]
    fn fields_are_filled_in_by_path() {
        let text = "{{letterhead.municipality}}: betal {{ data.total }} ({{data.count}} krav).";
        assert_eq!(
            substitute(text, &view(), Escape::None),
            Ok("Skanderborg Kommune: betal 1.234,50 kr. (3 krav).".to_owned())
        );
        assert_eq!(
            substitute("no fields", &view(), Escape::Html),
            Ok("no fields".to_owned())
        );
    }

    #[test]
    fn html_escapes_the_values_but_not_the_template() {
        assert_eq!(
            substitute("<p>{{data.claims.0.text}}</p>", &view(), Escape::Html),
            Ok("<p>Dagtilbud &lt;dec&gt; &amp; &quot;mad&quot;</p>".to_owned())
        );
        assert_eq!(
            substitute("{{data.claims.0.text}}", &view(), Escape::None),
            Ok("Dagtilbud <dec> & \"mad\"".to_owned())
        );
    }

    #[test]
    fn an_absent_value_takes_the_fallback_or_is_an_error() {
        assert_eq!(
            substitute("Kære {{recipient.name|borger}}", &view(), Escape::None),
            Ok("Kære borger".to_owned())
        );
        assert_eq!(
            substitute("{{data.fee}}", &view(), Escape::None),
            Err(SubstituteError::Missing {
                path: "data.fee".to_owned()
            })
        );
        assert_eq!(
            substitute("{{data.claims}}", &view(), Escape::None),
            Err(SubstituteError::NotPrintable {
                path: "data.claims".to_owned()
            })
        );
        assert_eq!(
            substitute("a\nb {{data.total", &view(), Escape::None),
            Err(SubstituteError::Unclosed { line: 2 })
        );
        assert_eq!(
            SubstituteError::Missing {
                path: "data.fee".to_owned()
            }
            .to_string(),
            "{{data.fee}} has no value (give it in the data, or write {{data.fee|fallback}})"
        );
    }
}
