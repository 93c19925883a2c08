//! From our reporting service: the arrears reports for the finance committee and the council.

use restance_kernel::BusinessDate;
use serde::{Deserialize, Serialize};

use crate::check::Problems;
use crate::{Message, Problem, Validate};

/// How many files one report may list.
const MAX_FILES: usize = 20;

/// One file of a published report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportFile {
    /// The file name, e.g. `arrears-0746-2027-01.xlsx`.
    pub name: String,
    /// Its media type, e.g. `application/vnd.openxmlformats-officedocument.spreadsheetml.sheet`.
    pub media_type: String,
    /// Where it is, relative to the documents directory (also served by reporting's
    /// `GET /api/v1/reports/{report_id}/{name}`).
    pub path: String,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
}

/// `reporting.report.published.v1`: a report was produced and its files written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportPublished {
    /// The report's id, `<kind>-<municipality>-<as_of>` (natural key: one report per kind,
    /// municipality and as-of date).
    pub report_id: String,
    /// `monthly` (finance committee), `quarterly` (council); other services' report kinds (e.g.
    /// `guarantee_quarterly`) plug in with their own snake_case name.
    pub kind: String,
    /// Municipality code.
    pub municipality: String,
    /// The date the figures are as of (the last day of the period).
    pub as_of: BusinessDate,
    /// The files, at least one.
    pub files: Vec<ReportFile>,
}

impl Message for ReportPublished {
    const TYPE: &'static str = "reporting.report.published.v1";
}

impl Validate for ReportPublished {
    fn validate(&self) -> Vec<Problem> {
        let mut p = Problems::new();
        p.id("data.report_id", &self.report_id);
        p.id("data.municipality", &self.municipality);
        if self.kind.is_empty()
            || self.kind.len() > 64
            || !self
                .kind
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            p.add("data.kind", "must be a snake_case name, e.g. monthly");
        }
        if self.files.is_empty() {
            p.add("data.files", "must list at least one file");
        }
        if self.files.len() > MAX_FILES {
            p.add("data.files", format!("must list at most {MAX_FILES} files"));
        }
        for (i, f) in self.files.iter().enumerate() {
            p.text(&format!("data.files[{i}].name"), &f.name);
            if f.name.contains('/') || f.name.contains('\\') || f.name.starts_with('.') {
                p.add(
                    format!("data.files[{i}].name"),
                    "must be a plain file name (no directories)",
                );
            }
            p.text(&format!("data.files[{i}].media_type"), &f.media_type);
            p.text(&format!("data.files[{i}].path"), &f.path);
            if f.path.starts_with('/') || f.path.split(['/', '\\']).any(|part| part == "..") {
                p.add(
                    format!("data.files[{i}].path"),
                    "must be relative to the documents directory, without ..",
                );
            }
            if f.sha256.len() != 64
                || !f
                    .sha256
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                p.add(
                    format!("data.files[{i}].sha256"),
                    "must be 64 lowercase hex digits",
                );
            }
        }
        p.into_vec()
    }
}
